/* Force (shap's static force plot) for one row: the features that raise the output push from
 * the left as one red block ending at the prediction f(x), those that lower it push from the
 * right as one blue block starting there; the largest sit next to f(x). The base value is
 * where the red block starts plus the blue block's length. Segments wide enough carry their
 * feature's name and value underneath.
 *
 * Over many rows (shap's stacked force plot, drawn static) each row is a column: the raising
 * values stack down from its f(x), the lowering ones up from it, each feature at the same
 * place in every column (by mean |value|, the largest next to f(x), beyond max_display - 1
 * folded into one segment at the far end), so a feature reads as a band across the rows. The
 * rows are ordered by similarity, by output or as in the file; at most 1,000 are drawn,
 * evenly spaced, and the subtitle says so. */
#include "plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BAND_Y 96.0
#define BAND_HEIGHT 20.0

#define MAX_COLUMNS 1000
#define STACK_TOP 64.0
#define STACK_HEIGHT 260.0

/* A lighter tone of a colour, for alternate bands. */
static canvas_colour lighter(canvas_colour c)
{
    return (canvas_colour){c.r + (1 - c.r) * 0.4, c.g + (1 - c.g) * 0.4, c.b + (1 - c.b) * 0.4};
}

static gbx_status plot_force_rows(const plot_request *request, gbx_error *error)
{
    const gbx_explanation *d = request->document;
    size_t M = d->features, K = d->outputs, k = request->output, first, last;
    plot_rows(request, &first, &last);
    size_t n = last - first, columns = n > MAX_COLUMNS ? MAX_COLUMNS : n;
    size_t limit = request->options->max_display ? request->options->max_display : 10;
    size_t shown = M <= limit ? M : limit - 1;
    size_t *rows = gbx_malloc_array(columns, sizeof(size_t)), *order = gbx_malloc_array(M, sizeof(size_t));
    double *importance = gbx_calloc(M, sizeof(double)), *line = gbx_malloc_array(2 * columns, sizeof(double));
    gbx_explanation *sampled = NULL;
    gbx_status status = rows && order && importance && line ? GBX_OK
                                                            : gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    /* Above the limit, every n/columns-th row, then ordered among themselves. */
    for (size_t i = 0; status == GBX_OK && i < columns; i++) rows[i] = first + i * n / columns;
    plot_request view = *request;
    gbx_plot_options drawn_rows;
    if (status == GBX_OK && columns < n) {
        status = gbx_explanation_subset(d, rows, columns, &sampled, error);
        if (status == GBX_OK) {
            drawn_rows = *request->options;
            drawn_rows.row = 0;
            drawn_rows.rows_last = columns;
            view.document = d = sampled;
            view.options = &drawn_rows;
        }
    }
    if (status == GBX_OK)
        status = plot_order_rows(&view, columns < n ? 0 : first, columns < n ? columns : last,
                                 rows, error);
    canvas *c = NULL;
    if (status == GBX_OK) {
        for (size_t i = 0; i < columns; i++)
            for (size_t f = 0; f < M; f++) importance[f] += fabs(d->values[(rows[i] * K + k) * M + f]);
        plot_order(importance, M, order);
        double low = INFINITY, high = -INFINITY;
        for (size_t i = 0; i < columns; i++) {
            const double *v = d->values + (rows[i] * K + k) * M;
            double raised = 0, lowered = 0, p = d->predictions[rows[i] * K + k];
            for (size_t f = 0; f < M; f++) {
                if (v[f] > 0) raised += v[f];
                else lowered -= v[f];
            }
            low = fmin(low, fmin(p - raised, d->base_values[rows[i] * K + k]));
            high = fmax(high, fmax(p + lowered, d->base_values[rows[i] * K + k]));
        }
        if (!(high > low)) high = low + 1;
        double room = (high - low) * 0.04;
        low -= room, high += room;
        double width = 760, height = STACK_TOP + STACK_HEIGHT + 60, left = 70, right = width - 20;
        double bottom = STACK_TOP + STACK_HEIGHT, column_width = (right - left) / (double)columns;
        status = plot_open(&view, width, height, &c, error);
        if (status == GBX_OK) {
            plot_axis axis = {low, high, bottom, STACK_TOP}; /* vertical: y grows downward */
            char title[256], text[600];
            snprintf(title, sizeof title, "Rows %zu to %zu: %s (%s)%s", first, last - 1,
                     d->output_names[k], plot_unit(d),
                     K > 1 && !request->chosen ? ", the first output" : "");
            canvas_text(c, 16, 24, title, 13, 1, CANVAS_LEFT, CANVAS_TEXT, "title");
            const char *how = request->options->order ? request->options->order : "similarity";
            snprintf(text, sizeof text, "%zu%s rows, ordered %s", columns,
                     columns < n ? " evenly spaced" : "",
                     strcmp(how, "original") == 0 ? "as in the file"
                     : strcmp(how, "output") == 0 ? "by output" : "by similarity");
            canvas_text(c, 16, 42, text, 10, 0, CANVAS_LEFT, CANVAS_MUTED, "subtitle");
            for (size_t i = 0; i < columns; i++) {
                const double *v = d->values + (rows[i] * K + k) * M;
                double p = d->predictions[rows[i] * K + k], x = left + (double)i * column_width;
                for (int side = 0; side < 2; side++) {
                    double at = p, rest = 0;
                    for (size_t j = 0; j <= shown && j <= M; j++) {
                        double value;
                        if (j < shown) value = v[order[j]];
                        else {
                            for (size_t r = shown; r < M; r++)
                                if (side == 0 ? v[order[r]] > 0 : v[order[r]] < 0) rest += v[order[r]];
                            value = rest;
                        }
                        if (side == 0 ? !(value > 0) : !(value < 0)) continue;
                        double next = at - value; /* raising values stack down, lowering up */
                        canvas_colour colour = side == 0 ? CANVAS_RAISES : CANVAS_LOWERS;
                        if (j % 2) colour = lighter(colour);
                        canvas_rect(c, x, plot_x(&axis, fmax(at, next)), column_width,
                                    plot_x(&axis, fmin(at, next)) - plot_x(&axis, fmax(at, next)), colour,
                                    side == 0 ? "segment raises" : "segment lowers");
                        at = next;
                    }
                }
                line[2 * i] = x + column_width / 2;
                line[2 * i + 1] = plot_x(&axis, p);
            }
            canvas_polyline(c, line, (int)columns, CANVAS_TEXT, 1.2, "prediction");
            double base = d->base_values[rows[0] * K + k];
            canvas_line(c, left, plot_x(&axis, base), right, plot_x(&axis, base), CANVAS_TEXT, 0.8, 1, "base");
            char label[96], number[32];
            plot_number(base, number, sizeof number);
            snprintf(label, sizeof label, "base value %s", number);
            canvas_text(c, right, STACK_TOP - 10, label, 9, 0, CANVAS_RIGHT, CANVAS_TEXT,
                        "base-label");
            snprintf(label, sizeof label, "%s (%s)", d->output_names[k], plot_unit(d));
            plot_draw_vertical_axis(c, left - 4, bottom, STACK_TOP, low, high, NULL);
            canvas_text(c, 16, STACK_TOP - 10, label, 9, 0, CANVAS_LEFT, CANVAS_MUTED, "axis-title");
            /* Which band is which: the features from f(x) outward, in both colours. */
            size_t used = (size_t)snprintf(text, sizeof text, "Bands from f(x) outward: ");
            for (size_t j = 0; j < shown && used + 170 < sizeof text; j++)
                used += (size_t)snprintf(text + used, sizeof text - used, "%s%s", j ? ", " : "",
                                         plot_feature_label(&view, order[j]));
            if (shown < M && used + 40 < sizeof text)
                snprintf(text + used, sizeof text - used, ", then %zu others", M - shown);
            plot_fit(c, text, sizeof text, 8.5, width - 32);
            canvas_text(c, 16, bottom + 24, text, 8.5, 0, CANVAS_LEFT, CANVAS_MUTED, "legend");
            canvas_text(c, 16, bottom + 40, "red: raises the output, blue: lowers it; the line "
                        "is each row's f(x), the dashed rule the base value", 8.5, 0, CANVAS_LEFT, CANVAS_MUTED, "legend");
            status = plot_close(&view, c, error);
        }
    }
    gbx_explanation_free(sampled);
    free(rows), free(order), free(importance), free(line);
    return status;
}

/* A segment's label: its place and its whole text. */
typedef struct {
    double x0, x1;
    char text[200];
    canvas_colour colour;
} force_label;

static int by_centre(const void *a, const void *b)
{
    const force_label *x = a, *y = b;
    double cx = x->x0 + x->x1, cy = y->x0 + y->x1;
    return cx < cy ? -1 : cx > cy;
}

#define LABEL_LINES 2
#define LABEL_GAP 6.0
#define LABEL_SIZE 8.5
#define LABEL_WIDEST 170.0

/* Lays the labels out under their segments, left to right, each on the first of two lines
 * where it clears the label before it: shortened (the whole text kept as a tooltip) where the
 * room is short, left out where there is none. No two labels overlap. */
static void place_labels(canvas *c, force_label *labels, size_t count, double width)
{
    qsort(labels, count, sizeof *labels, by_centre);
    double right_end[LABEL_LINES];
    for (int line = 0; line < LABEL_LINES; line++) right_end[line] = -1e9;
    for (size_t i = 0; i < count; i++) {
        force_label *label = &labels[i];
        double centre = (label->x0 + label->x1) / 2;
        char shown[200];
        snprintf(shown, sizeof shown, "%s", label->text);
        plot_fit(c, shown, sizeof shown, LABEL_SIZE, LABEL_WIDEST);
        double w = canvas_text_width(c, shown, LABEL_SIZE, 0);
        /* The line with the most room to the left of this segment's centre. */
        int best = 0;
        for (int line = 1; line < LABEL_LINES; line++)
            if (right_end[line] < right_end[best]) best = line;
        double room = 2 * (centre - (right_end[best] + LABEL_GAP));
        if (room < w) {
            if (room < 30) continue; /* no room: the segment stays unnamed */
            plot_fit(c, shown, sizeof shown, LABEL_SIZE, room);
            w = canvas_text_width(c, shown, LABEL_SIZE, 0);
        }
        double x = fmin(fmax(centre, 16 + w / 2), width - 16 - w / 2);
        if (x - w / 2 < right_end[best] + LABEL_GAP) continue;
        canvas_text_titled(c, x, BAND_Y + BAND_HEIGHT + 13 + 11 * best, shown,
                           strcmp(shown, label->text) != 0 ? label->text : NULL, LABEL_SIZE, 0,
                           CANVAS_CENTRE, label->colour, "label");
        right_end[best] = x + w / 2;
    }
}

gbx_status plot_force(const plot_request *request, gbx_error *error)
{
    if (request->options->rows_last > request->options->row + 1)
        return plot_force_rows(request, error);
    const gbx_explanation *d = request->document;
    size_t M = d->features, K = d->outputs, r = request->options->row, k = request->output;
    const double *values = d->values + (r * K + k) * M;
    double prediction = d->predictions[r * K + k], base = d->base_values[r * K + k];
    double *magnitude = gbx_malloc_array(M, sizeof(double));
    size_t *order = gbx_malloc_array(M, sizeof(size_t));
    if (!magnitude || !order) {
        free(magnitude);
        free(order);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    double raised = 0, lowered = 0;
    for (size_t f = 0; f < M; f++) {
        magnitude[f] = fabs(values[f]);
        if (values[f] > 0) raised += values[f];
        else lowered -= values[f];
    }
    plot_order(magnitude, M, order);
    canvas *c = NULL;
    double width = 760, height = 190;
    gbx_status status = plot_open(request, width, height, &c, error);
    if (status == GBX_OK) {
        double low = fmin(prediction - raised, base), high = fmax(prediction + lowered, base);
        plot_axis axis = plot_axis_for(low, high, 30, width - 30);
        char title[256], number[32], text[200];
        snprintf(title, sizeof title, "Row %zu: %s (%s)%s", r, d->output_names[k], plot_unit(d),
                 K > 1 && !request->chosen ? ", the first output" : "");
        canvas_text(c, 16, 24, title, 13, 1, CANVAS_LEFT, CANVAS_TEXT, "title");
        plot_draw_axis(c, &axis, 50, NULL);
        /* Each block from f(x) outward, the largest value first; labels laid out after. */
        force_label *labels = gbx_calloc(M ? M : 1, sizeof *labels);
        size_t label_count = 0;
        if (!labels) status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
        for (int side = 0; side < 2 && status == GBX_OK; side++) {
            double at = prediction;
            for (size_t i = 0; i < M; i++) {
                size_t f = order[i];
                double v = values[f];
                if (side == 0 ? !(v > 0) : !(v < 0)) continue;
                double next = at - v; /* a raising value extends leftward, a lowering one right */
                double x0 = plot_x(&axis, fmin(at, next)), x1 = plot_x(&axis, fmax(at, next));
                canvas_colour colour = side == 0 ? CANVAS_RAISES : CANVAS_LOWERS;
                canvas_rect(c, x0, BAND_Y, x1 - x0, BAND_HEIGHT, colour,
                            side == 0 ? "segment raises" : "segment lowers");
                /* A white notch between segments shows where one feature ends. */
                canvas_line(c, side == 0 ? x0 : x1, BAND_Y, side == 0 ? x0 : x1,
                            BAND_Y + BAND_HEIGHT, (canvas_colour){1, 1, 1}, 1.0, 0, "notch");
                at = next;
                if (x1 - x0 <= 12) continue; /* too narrow to name */
                force_label *label = &labels[label_count++];
                label->x0 = x0, label->x1 = x1, label->colour = colour;
                const gbx_feature_info *info = gbx_feature_metadata_find(request->features,
                                                                         d->feature_names[f]);
                long column = plot_column(d, f);
                const char *name = plot_feature_label(request, f);
                if (column >= 0 && !isnan(d->data[r * d->columns + (size_t)column])) {
                    gbx_feature_format(info, d->data[r * d->columns + (size_t)column], number,
                                       sizeof number);
                    snprintf(label->text, sizeof label->text, "%s = %s", name, number);
                } else {
                    snprintf(label->text, sizeof label->text, "%s", name);
                }
            }
        }
        if (status == GBX_OK) place_labels(c, labels, label_count, width);
        free(labels);
        plot_number(prediction, number, sizeof number);
        snprintf(text, sizeof text, "f(x) = %s", number);
        double px = plot_x(&axis, prediction), bx = plot_x(&axis, base);
        canvas_line(c, px, BAND_Y - 6, px, BAND_Y + BAND_HEIGHT + 2, CANVAS_TEXT, 1.2, 0,
                    "prediction");
        canvas_text(c, px, BAND_Y - 10, text, 10, 1, CANVAS_CENTRE, CANVAS_TEXT,
                    "prediction-label");
        canvas_line(c, bx, BAND_Y + BAND_HEIGHT + 30, bx, BAND_Y + BAND_HEIGHT + 38, CANVAS_MUTED,
                    1, 0, "base");
        plot_number(base, number, sizeof number);
        snprintf(text, sizeof text, "%s = %s",
                 d->base_folded ? "starting point" : "base value E[f(X)]", number);
        canvas_text(c, bx, BAND_Y + BAND_HEIGHT + 50, text, 9, 0, CANVAS_CENTRE, CANVAS_MUTED,
                    "base-label");
        canvas_text(c, 16, height - 12, "red: raises the output, blue: lowers it", 8.5, 0,
                    CANVAS_LEFT, CANVAS_MUTED, "legend");
        if (status == GBX_OK) status = plot_close(request, c, error);
        else canvas_discard(c);
    }
    free(magnitude);
    free(order);
    return status;
}
