/* Dependence (shap's dependence/scatter plot): one feature's value per row against that row's
 * value of the feature in the data, so the shape of the model's response shows; each dot is
 * coloured by a second feature's value (blue low to red high between its 5th and 95th
 * percentiles). Without --color the second feature is the one shap's
 * approximate_interactions ranks first: the rows sorted by the feature, cut into runs of
 * min(n/10, 50), and the |correlation| between the values and the other feature (or its
 * missingness) summed over the runs. Ties in the sort keep row order, where numpy's sort
 * does not promise one, so on data with many equal values the choice can differ from shap's. */
#include "plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOP 72.0
#define PLOT_HEIGHT 300.0
#define LEFT 80.0
#define RADIUS 2.4

static int by_value(const void *a, const void *b, void *column)
{
    const double *x = column;
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    /* Missing values sort last, as numpy's argsort puts NaN. */
    int ni = isnan(x[i]), nj = isnan(x[j]);
    if (ni != nj) return ni - nj;
    if (!ni && x[i] != x[j]) return x[i] < x[j] ? -1 : 1;
    return i < j ? -1 : i > j;
}

/* |Pearson correlation| of a[n] and b[n]; 0 when either is constant or holds a NaN, the runs
 * shap skips (its np.std(...) > 0 test is false for both). */
static double correlation(const double *a, const double *b, size_t n)
{
    double ma = 0, mb = 0;
    for (size_t i = 0; i < n; i++) ma += a[i], mb += b[i];
    ma /= (double)n, mb /= (double)n;
    double sab = 0, saa = 0, sbb = 0;
    for (size_t i = 0; i < n; i++) {
        sab += (a[i] - ma) * (b[i] - mb);
        saa += (a[i] - ma) * (a[i] - ma);
        sbb += (b[i] - mb) * (b[i] - mb);
    }
    return saa > 0 && sbb > 0 ? fabs(sab / sqrt(saa * sbb)) : 0;
}

/* The feature that interacts most with `feature` by shap's heuristic, or -1 (no candidate). */
static long strongest_interaction(const plot_request *request, size_t feature, size_t column,
                                  gbx_status *status, gbx_error *error)
{
    const gbx_explanation *d = request->document;
    size_t n = d->rows, M = d->features, K = d->outputs, k = request->output;
    size_t *sorted = gbx_malloc_array(n, sizeof(size_t));
    double *x = gbx_malloc_array(n, sizeof(double)), *reference = gbx_malloc_array(n, sizeof(double));
    double *other = gbx_malloc_array(n, sizeof(double)), *missing = gbx_malloc_array(n, sizeof(double));
    long best = -1;
    if (!sorted || !x || !reference || !other || !missing) {
        *status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    } else {
        for (size_t r = 0; r < n; r++) x[r] = d->data[r * d->columns + column], sorted[r] = r;
        qsort_r(sorted, n, sizeof *sorted, by_value, x);
        for (size_t i = 0; i < n; i++) reference[i] = d->values[(sorted[i] * K + k) * M + feature];
        size_t run = n / 10 < 50 ? n / 10 : 50;
        if (run < 1) run = 1;
        double strongest = -1;
        for (size_t g = 0; g < M; g++) {
            long j = plot_column(d, g);
            if (g == feature || j < 0) continue;
            double total = 0, missing_total = 0, magnitude = 0, missing_count = 0;
            for (size_t i = 0; i < n; i++) {
                other[i] = d->data[sorted[i] * d->columns + (size_t)j];
                missing[i] = isnan(other[i]);
                magnitude += fabs(other[i]);
                missing_count += missing[i];
            }
            for (size_t start = 0; start < n; start += run) {
                size_t length = start + run <= n ? run : n - start;
                if (!(magnitude < 1e-8)) total += correlation(reference + start, other + start, length);
                if (missing_count >= 1e-8)
                    missing_total += correlation(reference + start, missing + start, length);
            }
            double score = fmax(total, missing_total);
            if (score > strongest) strongest = score, best = (long)g;
        }
    }
    free(sorted), free(x), free(reference), free(other), free(missing);
    return best;
}

gbx_status plot_dependence(const plot_request *request, gbx_error *error)
{
    const gbx_explanation *d = request->document;
    size_t n = d->rows, M = d->features, K = d->outputs, k = request->output, feature, colour_by = 0;
    if (!request->options->feature)
        return gbx_fail(error, GBX_ERR_USAGE, "a dependence plot needs options.feature");
    gbx_status status = plot_find_feature(request, request->options->feature, &feature, error);
    if (status != GBX_OK) return status;
    long column = plot_column(d, feature), colour_column = -1;
    if (column < 0)
        return gbx_fail(error, GBX_ERR_USAGE, d->data
                        ? "\"%s\" is a group of columns; a dependence plot needs one column"
                        : "the explanation holds no data rows (written without them)",
                        d->feature_names[feature]);
    const char *colour = request->options->color;
    int automatic = !colour;
    if (colour && strcmp(colour, "none") != 0) {
        if ((status = plot_find_feature(request, colour, &colour_by, error)) != GBX_OK) return status;
        if ((colour_column = plot_column(d, colour_by)) < 0)
            return gbx_fail(error, GBX_ERR_USAGE, "\"%s\" is a group of columns; options.color needs "
                            "one column", d->feature_names[colour_by]);
    } else if (automatic) {
        long chosen = strongest_interaction(request, feature, (size_t)column, &status, error);
        if (status != GBX_OK) return status;
        if (chosen >= 0) colour_by = (size_t)chosen, colour_column = plot_column(d, colour_by);
    }
    double *scratch = gbx_malloc_array(n, sizeof(double));
    if (!scratch) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    double x_low = INFINITY, x_high = -INFINITY, y_low = 0, y_high = 0;
    size_t missing = 0;
    for (size_t r = 0; r < n; r++) {
        double x = d->data[r * d->columns + (size_t)column], y = d->values[(r * K + k) * M + feature];
        if (isnan(x)) {
            missing++;
            continue;
        }
        x_low = fmin(x_low, x), x_high = fmax(x_high, x);
        y_low = fmin(y_low, y), y_high = fmax(y_high, y);
    }
    if (missing == n) {
        free(scratch);
        return gbx_fail(error, GBX_ERR_USAGE, "\"%s\" is missing in every row", d->feature_names[feature]);
    }
    double p5 = 0, p95 = 1;
    if (colour_column >= 0) plot_colour_range(d, (size_t)colour_column, scratch, &p5, &p95);
    canvas *c = NULL;
    double width = 620, height = TOP + PLOT_HEIGHT + 70, right = width - (colour_column >= 0 ? 90 : 30);
    status = plot_open(request, width, height, &c, error);
    if (status == GBX_OK) {
        double bottom = TOP + PLOT_HEIGHT;
        plot_axis x_axis = plot_axis_for(x_low, x_high, LEFT, right);
        plot_axis y_axis = plot_axis_for(y_low, y_high, bottom, TOP); /* vertical: y grows down */
        char title[256], text[256];
        snprintf(title, sizeof title, "%s: its effect on %s (%s)%s",
                 plot_feature_label(request, feature), d->output_names[k], plot_unit(d),
                 K > 1 && !request->chosen ? ", the first output" : "");
        canvas_text(c, 16, 24, title, 13, 1, CANVAS_LEFT, CANVAS_TEXT, "title");
        if (colour_column >= 0)
            snprintf(text, sizeof text, "coloured by %s%s", plot_feature_label(request, colour_by),
                     automatic ? " (its strongest interaction, as shap picks it)" : "");
        else
            snprintf(text, sizeof text, "%zu rows", n);
        canvas_text(c, 16, 42, text, 10, 0, CANVAS_LEFT, CANVAS_MUTED, "subtitle");
        double zero = plot_x(&y_axis, 0);
        canvas_line(c, LEFT, zero, right, zero, CANVAS_RULE, 0.8, 0, "zero");
        for (size_t r = 0; r < n; r++) {
            double x = d->data[r * d->columns + (size_t)column], y = d->values[(r * K + k) * M + feature];
            if (isnan(x)) continue;
            double shade = colour_column >= 0 ? d->data[r * d->columns + (size_t)colour_column] : NAN;
            canvas_colour fill = colour_column < 0 ? CANVAS_LOWERS
                                 : isnan(shade) ? CANVAS_MUTED : canvas_blend((shade - p5) / (p95 - p5));
            canvas_circle(c, plot_x(&x_axis, x), plot_x(&y_axis, y), RADIUS, fill, "dot");
        }
        plot_draw_axis(c, &x_axis, bottom + 4, NULL);
        const gbx_feature_info *info = gbx_feature_metadata_find(request->features, d->feature_names[feature]);
        snprintf(text, sizeof text, "%s%s%s%s", plot_feature_label(request, feature),
                 info && info->unit ? " (" : "", info && info->unit ? info->unit : "",
                 info && info->unit ? ")" : "");
        canvas_text(c, (LEFT + right) / 2, bottom + 36, text, 10, 0, CANVAS_CENTRE, CANVAS_TEXT,
                    "axis-title");
        plot_draw_vertical_axis(c, LEFT - 6, bottom, TOP, y_axis.low, y_axis.high, NULL);
        snprintf(text, sizeof text, "value (%s)", plot_unit(d));
        canvas_text(c, 16, TOP - 8, text, 9, 0, CANVAS_LEFT, CANVAS_MUTED, "axis-title");
        if (missing) {
            snprintf(text, sizeof text, "%zu row%s without a value not drawn", missing, missing == 1 ? "" : "s");
            canvas_text(c, right, bottom + 52, text, 9, 0, CANVAS_RIGHT, CANVAS_MUTED, "missing");
        }
        if (colour_column >= 0) {
            double bar_x = width - 50, bar_top = TOP + 16, bar_bottom = bottom - 10;
            for (int s = 0; s < 50; s++) {
                double y0 = bar_bottom - (bar_bottom - bar_top) * (s + 1) / 50.0;
                canvas_rect(c, bar_x, y0, 8, (bar_bottom - bar_top) / 50.0 + 0.3,
                            canvas_blend(s / 49.0), "scale");
            }
            snprintf(text, sizeof text, "%s", plot_feature_label(request, colour_by));
            plot_fit(c, text, sizeof text, 9, 80);
            canvas_text(c, bar_x + 4, bar_top - 16, text, 9, 0, CANVAS_CENTRE, CANVAS_MUTED, "scale-title");
            canvas_text(c, bar_x + 4, bar_top - 4, "High", 9, 0, CANVAS_CENTRE, CANVAS_MUTED, "scale-label");
            canvas_text(c, bar_x + 4, bar_bottom + 12, "Low", 9, 0, CANVAS_CENTRE, CANVAS_MUTED, "scale-label");
        }
        status = plot_close(request, c, error);
    }
    free(scratch);
    return status;
}
