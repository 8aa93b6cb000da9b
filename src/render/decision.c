/* Decision (shap's decision plot) for one row or many: each row is a line that starts at the
 * base value at the bottom and climbs through the features, moving sideways by each value,
 * to end at its prediction at the top. Features are ordered by mean |value| over the rows
 * drawn, the largest at the top; beyond max_display - 1 the rest are folded into the bottom
 * step. Lines are coloured by their prediction, low (blue) to high (red), so rows that end
 * alike and the features where they part are easy to follow. */
#include "plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROW_HEIGHT 24.0
#define TOP 64.0
#define BOTTOM 64.0

gbx_status plot_decision(const plot_request *request, gbx_error *error)
{
    const gbx_explanation *d = request->document;
    size_t M = d->features, K = d->outputs, k = request->output, first, last;
    plot_rows(request, &first, &last);
    size_t rows = last - first, limit = request->options->max_display ? request->options->max_display : 10;
    size_t shown = M <= limit ? M : limit - 1, steps = shown + (shown < M);
    double *importance = gbx_calloc(M, sizeof(double)), *points = gbx_malloc_array(2 * (steps + 1), sizeof(double));
    size_t *order = gbx_malloc_array(M, sizeof(size_t));
    char (*labels)[164] = gbx_malloc_array(steps, sizeof *labels);
    if (!importance || !points || !order || !labels) {
        free(importance), free(points), free(order), free(labels);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    for (size_t r = first; r < last; r++)
        for (size_t f = 0; f < M; f++) importance[f] += fabs(d->values[(r * K + k) * M + f]);
    plot_order(importance, M, order);
    /* Step s counts from the top: s < shown is feature order[s], the last the folded rest. */
    for (size_t s = 0; s < shown; s++) {
        size_t f = order[s];
        long column = plot_column(d, f);
        const gbx_feature_info *info = gbx_feature_metadata_find(request->features, d->feature_names[f]);
        if (rows == 1 && column >= 0 && !isnan(d->data[first * d->columns + (size_t)column])) {
            char number[96];
            gbx_feature_format(info, d->data[first * d->columns + (size_t)column], number, sizeof number);
            snprintf(labels[s], 160, "%s = %s", plot_feature_label(request, f), number);
        } else {
            snprintf(labels[s], 160, "%s", plot_feature_label(request, f));
        }
    }
    if (steps > shown) snprintf(labels[shown], 160, "%zu other features", M - shown);
    /* The range every line reaches, and the predictions' range for the colours. */
    double low = INFINITY, high = -INFINITY, lowest = INFINITY, highest = -INFINITY;
    for (size_t r = first; r < last; r++) {
        const double *v = d->values + (r * K + k) * M;
        double running = d->base_values[r * K + k], rest = 0;
        for (size_t i = shown; i < M; i++) rest += v[order[i]];
        low = fmin(low, running), high = fmax(high, running);
        for (size_t s = steps; s-- > 0;) {
            running += s < shown ? v[order[s]] : rest;
            low = fmin(low, running), high = fmax(high, running);
        }
        lowest = fmin(lowest, d->predictions[r * K + k]);
        highest = fmax(highest, d->predictions[r * K + k]);
    }
    canvas *c = NULL;
    double width = 680, height = TOP + (double)steps * ROW_HEIGHT + BOTTOM, label_width = 0;
    gbx_status status = plot_open(request, width, height, &c, error);
    if (status == GBX_OK) label_width = plot_fit_labels(c, labels, steps, 260);
    if (status == GBX_OK) {
        plot_axis axis = plot_axis_for(low, high, 24 + label_width, width - 30);
        double bottom = TOP + (double)steps * ROW_HEIGHT;
        char title[256], unit[96], number[32];
        if (rows == 1)
            snprintf(title, sizeof title, "Row %zu: %s (%s)%s", first, d->output_names[k],
                     plot_unit(d), K > 1 && !request->chosen ? ", the first output" : "");
        else
            snprintf(title, sizeof title, "Rows %zu to %zu: %s (%s)%s", first, last - 1,
                     d->output_names[k], plot_unit(d),
                     K > 1 && !request->chosen ? ", the first output" : "");
        canvas_text(c, 16, 24, title, 13, 1, CANVAS_LEFT, CANVAS_TEXT, "title");
        for (size_t s = 0; s < steps; s++) {
            double y = TOP + (double)s * ROW_HEIGHT;
            canvas_line(c, axis.left, y + ROW_HEIGHT, axis.right, y + ROW_HEIGHT, CANVAS_RULE, 0.3,
                        1, "row-rule");
            canvas_text(c, 16 + label_width, y + ROW_HEIGHT / 2 + 3.5, labels[s], 10, 0,
                        CANVAS_RIGHT, s < shown ? CANVAS_TEXT : CANVAS_MUTED, "label");
        }
        /* The base value (the same for every row of most methods: that of the first). */
        double base_x = plot_x(&axis, d->base_values[first * K + k]);
        canvas_line(c, base_x, TOP, base_x, bottom, CANVAS_MUTED, 0.8, 1, "base");
        for (size_t r = first; r < last; r++) {
            const double *v = d->values + (r * K + k) * M;
            double running = d->base_values[r * K + k], rest = 0;
            for (size_t i = shown; i < M; i++) rest += v[order[i]];
            points[0] = plot_x(&axis, running);
            points[1] = bottom;
            for (size_t s = steps, p = 1; s-- > 0; p++) {
                running += s < shown ? v[order[s]] : rest;
                points[2 * p] = plot_x(&axis, running);
                points[2 * p + 1] = TOP + (double)s * ROW_HEIGHT;
            }
            double t = highest > lowest ? (d->predictions[r * K + k] - lowest) / (highest - lowest) : 0.5;
            canvas_polyline(c, points, (int)steps + 1, rows == 1 ? CANVAS_TEXT : canvas_blend(t),
                            rows == 1 ? 1.6 : 1.0, "decision");
        }
        snprintf(unit, sizeof unit, "%s (%s)", d->output_names[k], plot_unit(d));
        plot_draw_axis(c, &axis, bottom + 4, unit);
        if (rows == 1) {
            plot_number(d->predictions[first * K + k], number, sizeof number);
            snprintf(title, sizeof title, "f(x) = %s", number);
            canvas_text(c, points[2 * steps], TOP - 6, title, 10, 1, CANVAS_CENTRE, CANVAS_TEXT,
                        "prediction-label");
        } else {
            canvas_text(c, 16, height - 12, "each line a row, coloured by its prediction: blue "
                        "low, red high", 8.5, 0, CANVAS_LEFT, CANVAS_MUTED, "legend");
        }
        plot_number(d->base_values[first * K + k], number, sizeof number);
        snprintf(title, sizeof title, "base value %s", number);
        canvas_text(c, base_x, bottom + 48, title, 9, 0, CANVAS_CENTRE, CANVAS_MUTED, "base-label");
        status = plot_close(request, c, error);
    }
    free(importance), free(points), free(order), free(labels);
    return status;
}
