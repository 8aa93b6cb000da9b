/* gbx_plot: reads the explanation file, picks the output and dispatches on the kind; and the
 * pieces the kinds share. */
#include "plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void gbx_plot_options_init(gbx_plot_options *options)
{
    memset(options, 0, sizeof *options);
    options->kind = "waterfall";
    options->output = -1;
    options->max_display = 10;
}

typedef struct {
    const char *name;
    gbx_status (*draw)(const plot_request *request, gbx_error *error);
} plot_kind;

static const plot_kind kinds[] = {{"waterfall", plot_waterfall}, {"bar", plot_bar},
                                  {"beeswarm", plot_beeswarm}, {"force", plot_force},
                                  {"decision", plot_decision}, {"dependence", plot_dependence},
                                  {"heatmap", plot_heatmap}, {"histogram", plot_histogram},
                                  {"image", plot_image}, {"text", plot_text}};

static const plot_kind *find_kind(const char *name, gbx_error *error)
{
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        if (strcmp(name, kinds[k].name) == 0) return &kinds[k];
    char names[200] = "";
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", k ? ", " : "",
                 kinds[k].name);
    gbx_fail(error, GBX_ERR_USAGE, "unknown plot kind \"%s\" (%s)", name, names);
    return NULL;
}

/* The output the options choose (by name or index; -1: the first), checked with the rows. */
static gbx_status choose(const gbx_explanation *e, const gbx_plot_options *options, long *output,
                         gbx_error *error)
{
    *output = options->output;
    if (options->output_name && (*output = gbx_explanation_output_index(e, options->output_name)) < 0)
        return gbx_fail(error, GBX_ERR_USAGE, "the explanation has no output named \"%s\" (its "
                        "first is \"%s\")", options->output_name, e->output_names[0]);
    if (*output >= 0 && (size_t)*output >= e->outputs)
        return gbx_fail(error, GBX_ERR_USAGE, "the explanation explains %zu output%s; there is no "
                        "output %ld", e->outputs, e->outputs == 1 ? "" : "s", *output);
    if (options->row >= e->rows || (options->rows_last > options->row && options->rows_last > e->rows))
        return gbx_fail(error, GBX_ERR_USAGE, "the explanation holds %zu rows (0 to %zu); there "
                        "is no row %zu", e->rows, e->rows - 1,
                        options->row >= e->rows ? options->row : options->rows_last - 1);
    return GBX_OK;
}

gbx_status gbx_plot_render(const gbx_explanation *explanation, const gbx_plot_options *options,
                           const char *format, char **bytes, size_t *size, gbx_error *error)
{
    if (!explanation || !options || !options->kind || !format || !bytes || !size)
        return gbx_fail(error, GBX_ERR_USAGE, "gbx_plot_render: NULL argument");
    *bytes = NULL;
    *size = 0;
    const plot_kind *kind = find_kind(options->kind, error);
    if (!kind) return GBX_ERR_USAGE;
    long output;
    plot_view view = {0};
    gbx_status status = choose(explanation, options, &output, error);
    if (status == GBX_OK)
        status = plot_view_open(explanation, options->features, options->audience, &view, error);
    if (status == GBX_OK) {
        plot_request request = {view.explanation, output >= 0 ? (size_t)output : 0, output >= 0,
                                options, options->features, view.labels, format, 0, bytes, size};
        status = kind->draw(&request, error);
    }
    plot_view_close(&view);
    return status;
}

gbx_status gbx_plot_explanation(const gbx_explanation *explanation,
                                const gbx_plot_options *options, const char *output_path,
                                gbx_error *error)
{
    if (!output_path) return gbx_fail(error, GBX_ERR_USAGE, "gbx_plot_explanation: NULL argument");
    static const char *const formats[] = {"svg", "png", "pdf", "html"};
    const char *dot = strrchr(output_path, '.'), *format = NULL;
    for (size_t f = 0; dot && f < sizeof formats / sizeof formats[0]; f++)
        if (strcasecmp(dot + 1, formats[f]) == 0) format = formats[f];
    if (!format)
        return gbx_fail(error, GBX_ERR_USAGE, "%s: plots are written as .svg, .png or .pdf (text "
                        "plots as .html)", output_path);
    char *bytes;
    size_t size;
    gbx_status status = gbx_plot_render(explanation, options, format, &bytes, &size, error);
    if (status == GBX_OK) status = gbx_write_file(output_path, bytes, size, error);
    free(bytes);
    return status;
}

gbx_status gbx_plot(const char *explanation_path, const gbx_plot_options *options,
                    const char *output_path, gbx_error *error)
{
    if (!explanation_path) return gbx_fail(error, GBX_ERR_USAGE, "gbx_plot: NULL argument");
    gbx_explanation *explanation;
    gbx_status status = gbx_explanation_read(explanation_path, &explanation, error);
    if (status != GBX_OK) return status;
    status = gbx_plot_explanation(explanation, options, output_path, error);
    gbx_explanation_free(explanation);
    return status;
}

gbx_status plot_open(const plot_request *request, double width, double height, canvas **out,
                     gbx_error *error)
{
    canvas_format format;
    if (canvas_format_parse(request->format, &format) != GBX_OK)
        return gbx_fail(error, GBX_ERR_USAGE, "%s plots are drawn as svg, png or pdf, not \"%s\"",
                        request->options->kind, request->format);
    return canvas_open(format, request->inline_svg, width, height, out, error);
}

gbx_status plot_close(const plot_request *request, canvas *c, gbx_error *error)
{
    return canvas_close(c, request->bytes, request->length, error);
}

double plot_x(const plot_axis *axis, double value)
{
    return axis->left + (value - axis->low) / (axis->high - axis->low) * (axis->right - axis->left);
}

plot_axis plot_axis_for(double low, double high, double left, double right)
{
    if (!(high > low)) {
        double centre = isfinite(low) ? low : 0.0, half = fabs(centre) * 0.1 + 1e-3;
        low = centre - half;
        high = centre + half;
    }
    double room = (high - low) * 0.06;
    plot_axis axis = {low - room, high + room, left, right};
    return axis;
}

int plot_additive(const gbx_explanation *d)
{
    return strstr(d->parameters, "\"additive\": false") == NULL;
}

void plot_number(double value, char *out, size_t size)
{
    if (value == 0) value = 0; /* no "-0" */
    snprintf(out, size, "%.4g", value);
}

void plot_draw_axis(canvas *c, const plot_axis *axis, double y, const char *title)
{
    canvas_line(c, axis->left, y, axis->right, y, CANVAS_MUTED, 0.8, 0, "axis");
    double step = plot_step(axis->high - axis->low, 6);
    for (double tick = ceil(axis->low / step) * step; tick <= axis->high + step * 1e-9; tick += step) {
        double x = plot_x(axis, tick);
        char label[32];
        plot_number(fabs(tick) < step * 1e-9 ? 0.0 : tick, label, sizeof label);
        canvas_line(c, x, y, x, y + 4, CANVAS_MUTED, 0.8, 0, "tick");
        canvas_text(c, x, y + 15, label, 9, 0, CANVAS_CENTRE, CANVAS_MUTED, "tick-label");
    }
    if (title)
        canvas_text(c, (axis->left + axis->right) / 2, y + 32, title, 10, 0, CANVAS_CENTRE,
                    CANVAS_TEXT, "axis-title");
}

void plot_rows(const plot_request *request, size_t *first, size_t *last)
{
    const gbx_plot_options *o = request->options;
    *first = o->row;
    *last = o->rows_last > o->row ? o->rows_last : o->row + 1;
}

static int by_prediction(const void *a, const void *b, void *predictions)
{
    const double *p = predictions;
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    if (p[i] != p[j]) return p[i] < p[j] ? -1 : 1;
    return i < j ? -1 : i > j;
}

gbx_status plot_order_rows(const plot_request *request, size_t first, size_t last,
                           size_t *order, gbx_error *error)
{
    const gbx_explanation *d = request->document;
    const char *how = request->options->order ? request->options->order : "similarity";
    size_t n = last - first, K = d->outputs, k = request->output, M = d->features;
    for (size_t i = 0; i < n; i++) order[i] = first + i;
    if (strcmp(how, "original") == 0) return GBX_OK;
    if (strcmp(how, "output") != 0 && strcmp(how, "similarity") != 0)
        return gbx_fail(error, GBX_ERR_USAGE, "options.order is similarity, output or original, not "
                        "\"%s\"", how);
    double *predictions = gbx_malloc_array(d->rows, sizeof(double));
    if (!predictions) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    for (size_t r = 0; r < d->rows; r++) predictions[r] = d->predictions[r * K + k];
    qsort_r(order, n, sizeof *order, by_prediction, predictions);
    free(predictions);
    if (strcmp(how, "output") == 0) return GBX_OK;
    /* The path: from the lowest prediction, always on to the nearest row not yet visited
     * (squared distance between the value vectors; ties to the earlier row). */
    for (size_t i = 1; i < n; i++) {
        const double *from = d->values + (order[i - 1] * K + k) * M;
        size_t best = i;
        double nearest = INFINITY;
        for (size_t j = i; j < n; j++) {
            const double *to = d->values + (order[j] * K + k) * M;
            double distance = 0;
            for (size_t f = 0; f < M; f++) distance += (from[f] - to[f]) * (from[f] - to[f]);
            if (distance < nearest || (distance == nearest && order[j] < order[best]))
                nearest = distance, best = j;
        }
        size_t swap = order[i];
        order[i] = order[best];
        order[best] = swap;
    }
    return GBX_OK;
}

double plot_step(double span, double count)
{
    double raw = span / count, power = pow(10, floor(log10(raw)));
    return raw / power < 1.5 ? power : raw / power < 3.5 ? 2 * power
         : raw / power < 7.5 ? 5 * power : 10 * power;
}

void plot_draw_vertical_axis(canvas *c, double x, double y_bottom, double y_top, double low,
                             double high, const char *title)
{
    canvas_line(c, x, y_bottom, x, y_top, CANVAS_MUTED, 0.8, 0, "axis");
    double step = plot_step(high - low, 5);
    for (double tick = ceil(low / step) * step; tick <= high + step * 1e-9; tick += step) {
        double y = y_bottom - (tick - low) / (high - low) * (y_bottom - y_top);
        char label[32];
        plot_number(fabs(tick) < step * 1e-9 ? 0.0 : tick, label, sizeof label);
        canvas_line(c, x - 4, y, x, y, CANVAS_MUTED, 0.8, 0, "tick");
        canvas_text(c, x - 6, y + 3, label, 9, 0, CANVAS_RIGHT, CANVAS_MUTED, "tick-label");
    }
    if (title)
        canvas_text(c, x, y_top - 10, title, 9, 0, CANVAS_CENTRE, CANVAS_MUTED, "axis-title");
}

gbx_status plot_find_feature(const plot_request *request, const char *name, size_t *feature,
                             gbx_error *error)
{
    const gbx_explanation *d = request->document;
    for (int pass = 0; pass < 2; pass++)
        for (size_t f = 0; f < d->features; f++)
            if (strcmp(pass ? plot_feature_label(request, f) : d->feature_names[f], name) == 0) {
                *feature = f;
                return GBX_OK;
            }
    /* Most misses are a wrong case or part of a name: list the features that contain it. */
    char choices[600] = "";
    size_t used = 0, listed = 0;
    for (size_t f = 0; f < d->features && used + 80 < sizeof choices; f++)
        if (strcasestr(d->feature_names[f], name) ||
            strcasestr(plot_feature_label(request, f), name)) {
            used += (size_t)snprintf(choices + used, sizeof choices - used, "%s\"%s\"",
                                     listed++ ? ", " : "", d->feature_names[f]);
        }
    return gbx_fail(error, GBX_ERR_USAGE, "the explanation has no feature \"%s\"%s%s%s", name,
                    listed ? " (did you mean " : "", choices, listed ? "?)" : "");
}

gbx_status plot_view_open(const gbx_explanation *explanation, const gbx_feature_metadata *features,
                          gbx_audience audience, plot_view *out, gbx_error *error)
{
    *out = (plot_view){0};
    gbx_status status = gbx_explanation_for_audience(explanation, features, audience,
                                                     &out->explanation, error);
    uint8_t *sensitive = NULL, *columns = NULL;
    if (status == GBX_OK)
        status = gbx_audience_sensitive(out->explanation, features, &sensitive, &columns, error);
    const gbx_explanation *e = out->explanation;
    if (status == GBX_OK && !(out->labels = gbx_calloc(e->features ? e->features : 1, sizeof(char *))))
        status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    for (size_t f = 0; status == GBX_OK && f < e->features; f++) {
        const char *name = e->feature_names[f];
        const char *shown = gbx_feature_display(gbx_feature_metadata_find(features, name), name);
        int marked = audience == GBX_AUDIENCE_AUDITOR && sensitive[f];
        size_t size = strlen(shown) + 16;
        if (!(out->labels[f] = malloc(size))) status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
        else snprintf(out->labels[f], size, "%s%s", shown, marked ? " (sensitive)" : "");
    }
    free(sensitive), free(columns);
    if (status != GBX_OK) plot_view_close(out);
    return status;
}

void plot_view_close(plot_view *view)
{
    if (view->explanation) gbx_names_free(view->labels, view->explanation->features);
    gbx_explanation_free(view->explanation);
    *view = (plot_view){0};
}

const char *plot_feature_label(const plot_request *request, size_t f)
{
    if (request->labels) return request->labels[f];
    const char *column = request->document->feature_names[f];
    return gbx_feature_display(gbx_feature_metadata_find(request->features, column), column);
}

const char *plot_unit(const gbx_explanation *d)
{
    if (strcmp(d->output_space, "probability") == 0) return "probability";
    if (strcmp(d->output_space, "margin") == 0)
        return strstr(d->objective, "logistic") || strstr(d->objective, "binary") ||
                       strstr(d->objective, "softmax") || strstr(d->objective, "multiclass")
                   ? "log-odds" : "model output";
    if (strcmp(d->output_space, "logit_of_mean_probability") == 0) return "log-odds";
    return "model output";
}

size_t plot_rank_features(const plot_request *request, double *importance, size_t *order,
                          char (*labels)[164], size_t *shown)
{
    const gbx_explanation *d = request->document;
    size_t M = d->features, K = d->outputs, k = request->output, n = d->rows;
    size_t limit = request->options->max_display ? request->options->max_display : 10;
    for (size_t f = 0; f < M; f++) importance[f] = 0;
    for (size_t r = 0; r < n; r++)
        for (size_t f = 0; f < M; f++) importance[f] += fabs(d->values[(r * K + k) * M + f]);
    for (size_t f = 0; f < M; f++) importance[f] /= (double)n;
    plot_order(importance, M, order);
    *shown = M <= limit ? M : limit - 1;
    for (size_t b = 0; b < *shown; b++) {
        snprintf(labels[b], 160, "%s", plot_feature_label(request, order[b]));
    }
    if (*shown < M) snprintf(labels[*shown], 160, "Sum of %zu other features", M - *shown);
    return *shown + (*shown < M);
}

long plot_column(const gbx_explanation *d, size_t f)
{
    /* Explained per column, feature f is column f: no search (a search per feature made the
     * wide plots quadratic). */
    if (d->data && f < d->columns && strcmp(d->column_names[f], d->feature_names[f]) == 0)
        return (long)f;
    for (size_t j = 0; d->data && j < d->columns; j++)
        if (strcmp(d->column_names[j], d->feature_names[f]) == 0) return (long)j;
    return -1;
}

double plot_fit_labels(canvas *c, char (*labels)[164], size_t count, double width)
{
    double widest = 0;
    for (size_t b = 0; b < count; b++) {
        plot_fit(c, labels[b], sizeof labels[b], 10, width);
        widest = fmax(widest, canvas_text_width(c, labels[b], 10, 0));
    }
    return widest;
}

size_t plot_slot(double position, size_t count)
{
    if (!(position >= 0) || count == 0) return 0;
    return position >= (double)(count - 1) ? count - 1 : (size_t)position;
}

void plot_fit(canvas *c, char *text, size_t capacity, double size, double width)
{
    size_t length = strlen(text);
    if (canvas_text_width(c, text, size, 0) <= width) return;
    while (length > 0) {
        /* Step back over a whole UTF-8 character, then add the ellipsis (3 bytes) where it
         * fits in the buffer. */
        do length--; while (length > 0 && ((unsigned char)text[length] & 0xC0) == 0x80);
        if (length + 4 > capacity) continue;
        memcpy(text + length, "\xe2\x80\xa6", 4);
        if (canvas_text_width(c, text, size, 0) <= width) return;
    }
}

int plot_ascending(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The p-th percentile of sorted[m], interpolated. */
static double percentile(const double *sorted, size_t m, double p)
{
    double at = p / 100.0 * (double)(m - 1);
    size_t below = (size_t)floor(at);
    return below + 1 < m ? sorted[below] + (at - (double)below) * (sorted[below + 1] - sorted[below])
                         : sorted[m - 1];
}

void plot_colour_range(const gbx_explanation *d, size_t column, double *scratch,
                       double *low, double *high)
{
    size_t m = 0;
    for (size_t r = 0; r < d->rows; r++)
        if (isfinite(d->data[r * d->columns + column])) scratch[m++] = d->data[r * d->columns + column];
    qsort(scratch, m, sizeof *scratch, plot_ascending);
    *low = m ? percentile(scratch, m, 5) : NAN;
    *high = m ? percentile(scratch, m, 95) : NAN;
    if (!(*high > *low)) { /* one value (or none): drawn mid-scale */
        *low = isnan(*low) ? 0 : *low - 1;
        *high = *low + 2;
    }
}

double plot_clip(double *magnitudes, size_t n)
{
    qsort(magnitudes, n, sizeof *magnitudes, plot_ascending);
    double clip = n ? magnitudes[(size_t)floor(0.99 * (double)(n - 1))] : 0;
    if (!(clip > 0)) clip = n && magnitudes[n - 1] > 0 ? magnitudes[n - 1] : 1;
    return clip;
}

static int by_weight(const void *a, const void *b, void *weights)
{
    const double *weight = weights;
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    if (weight[i] != weight[j]) return weight[i] > weight[j] ? -1 : 1;
    return i < j ? -1 : i > j;
}

void plot_order(const double *weight, size_t features, size_t *order)
{
    for (size_t f = 0; f < features; f++) order[f] = f;
    qsort_r(order, features, sizeof *order, by_weight, (void *)weight);
}
