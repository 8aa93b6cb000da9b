/* Bar: global importance, the mean absolute value of each feature over every row of one
 * output, largest on top; beyond max_display - 1 features the rest are summed into one "Sum of
 * N other features" bar, as shap's bar plot does. */
#include "plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define ROW_HEIGHT 22.0
#define TOP 48.0
#define BOTTOM 56.0

gbx_status plot_bar(const plot_request *request, gbx_error *error)
{
    const gbx_explanation_document *d = request->document;
    size_t M = d->features, K = d->outputs, k = request->output, n = d->rows;
    size_t limit = request->options->max_display ? request->options->max_display : 10;
    double *importance = gbx_calloc(M, sizeof(double));
    size_t *order = gbx_malloc_array(M, sizeof(size_t));
    char (*labels)[164] = gbx_malloc_array(M <= limit ? M : limit, sizeof *labels);
    if (!importance || !order || !labels) {
        free(importance);
        free(order);
        free(labels);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    size_t shown, bars = plot_rank_features(request, importance, order, labels, &shown);
    double rest = 0;
    for (size_t i = shown; i < M; i++) rest += importance[order[i]];

    canvas *c = NULL;
    double width = 640, height = TOP + (double)bars * ROW_HEIGHT + BOTTOM, label_width = 0;
    gbx_status status = plot_open(request, width, height, &c, error);
    for (size_t b = 0; status == GBX_OK && b < bars; b++) {
        plot_fit(c, labels[b], 10, 260);
        double w = canvas_text_width(c, labels[b], 10, 0);
        if (w > label_width) label_width = w;
    }
    if (status == GBX_OK) {
        double high = importance[order[0]];
        if (rest > high) high = rest;
        /* Bars start at zero: the axis begins there, not a little before. */
        plot_axis axis = plot_axis_for(0, high, 24 + label_width, width - 60);
        axis.low = 0;
        char title[256], number[32], unit[96];
        snprintf(title, sizeof title, "Mean |value| over %zu rows: %s (%s)%s", n,
                 d->output_names[k], plot_unit(d),
                 K > 1 && !request->chosen ? ", the first output" : "");
        canvas_text(c, 16, 24, title, 13, 1, CANVAS_LEFT, CANVAS_TEXT, "title");
        for (size_t b = 0; b < bars; b++) {
            double value = b < shown ? importance[order[b]] : rest;
            double y = TOP + (double)b * ROW_HEIGHT, x1 = plot_x(&axis, value);
            canvas_rect(c, axis.left, y + 4, x1 - axis.left, ROW_HEIGHT - 8, CANVAS_RAISES,
                        b < shown ? "bar" : "bar rest");
            plot_number(value, number, sizeof number);
            canvas_text(c, x1 + 4, y + ROW_HEIGHT / 2 + 3.5, number, 9, 0, CANVAS_LEFT,
                        CANVAS_RAISES, "value");
            canvas_text(c, 16 + label_width, y + ROW_HEIGHT / 2 + 3.5, labels[b], 10, 0,
                        CANVAS_RIGHT, b < shown ? CANVAS_TEXT : CANVAS_MUTED, "label");
        }
        snprintf(unit, sizeof unit, "mean |value| (%s)", plot_unit(d));
        plot_draw_axis(c, &axis, TOP + (double)bars * ROW_HEIGHT + 4, unit);
        status = plot_close(request, c, error);
    }
    free(importance);
    free(order);
    free(labels);
    return status;
}
