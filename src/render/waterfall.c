/* Waterfall: one row's explanation as a chain of bars. From the base value at the bottom, each
 * feature moves the output by its value (red to the right when it raises it, blue to the left
 * when it lowers it) until the top bar ends at the prediction. The largest values are drawn
 * on top; beyond max_display - 1 features the rest are folded into one "N other features"
 * bar at the bottom, as shap's waterfall plot does. */
#include "plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROW_HEIGHT 24.0
#define TOP 56.0
#define BOTTOM 60.0

gbx_status plot_waterfall(const plot_request *request, gbx_error *error)
{
    const gbx_explanation *d = request->document;
    size_t M = d->features, K = d->outputs, r = request->options->row, k = request->output;
    size_t limit = request->options->max_display ? request->options->max_display : 10;
    const double *values = d->values + (r * K + k) * M;
    double base = d->base_values[r * K + k], prediction = d->predictions[r * K + k];
    double *magnitude = gbx_malloc_array(M, sizeof(double));
    size_t *order = gbx_malloc_array(M, sizeof(size_t));
    if (!magnitude || !order) {
        free(magnitude);
        free(order);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    for (size_t f = 0; f < M; f++) magnitude[f] = fabs(values[f]);
    plot_order(magnitude, M, order);
    /* Bars from the top: the shown features, then the folded rest. */
    size_t shown = M <= limit ? M : limit - 1, bars = shown + (shown < M);
    double rest = 0;
    for (size_t i = shown; i < M; i++) rest += values[order[i]];

    /* Labels ("Duration = 24") decide the left margin. */
    char (*labels)[164] /* 160 and room for plot_fit's ellipsis */ = gbx_malloc_array(bars, sizeof *labels);
    if (!labels) {
        free(magnitude);
        free(order);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    for (size_t b = 0; b < shown; b++) {
        size_t f = order[b];
        const gbx_feature_info *info = gbx_feature_metadata_find(request->features,
                                                                 d->feature_names[f]);
        const char *name = plot_feature_label(request, f);
        char number[96];
        /* The data's value when the feature is one of its columns (not a group of them). */
        long column = plot_column(d, f);
        double value = column >= 0 ? d->data[r * d->columns + (size_t)column] : NAN;
        if (!isnan(value)) {
            if (info) gbx_feature_format(info, value, number, sizeof number);
            else plot_number(value, number, sizeof number);
            snprintf(labels[b], 160, "%s = %s", name, number);
        } else {
            snprintf(labels[b], 160, "%s", name);
        }
    }
    if (bars > shown) snprintf(labels[shown], 160, "%zu other features", M - shown);

    canvas *c = NULL;
    double label_width = 0;
    double width = 640, height = TOP + (double)bars * ROW_HEIGHT + BOTTOM;
    gbx_status status = plot_open(request, width, height, &c, error);
    /* Long names are cut to keep room for the bars. */
    if (status == GBX_OK) label_width = plot_fit_labels(c, labels, bars, 260);
    if (status == GBX_OK) {
        /* The chain from the bottom bar (the folded rest, or the smallest shown) upward. */
        double low = fmin(base, prediction), high = fmax(base, prediction), running = base;
        for (size_t b = bars; b-- > 0;) {
            running += b < shown ? values[order[b]] : rest;
            low = fmin(low, running);
            high = fmax(high, running);
        }
        plot_axis axis = plot_axis_for(low, high, 24 + label_width, width - 70);
        char title[256], number[32];
        snprintf(title, sizeof title, "Row %zu: %s (%s)%s", r, d->output_names[k], plot_unit(d),
                 K > 1 && !request->chosen ? ", the first output" : "");
        canvas_text(c, 16, 24, title, 13, 1, CANVAS_LEFT, CANVAS_TEXT, "title");
        double bottom = TOP + (double)bars * ROW_HEIGHT;
        /* The base value and the prediction as dashed rules, labelled below and above. */
        canvas_line(c, plot_x(&axis, base), TOP - 6, plot_x(&axis, base), bottom, CANVAS_RULE, 0.8,
                    1, "base");
        canvas_line(c, plot_x(&axis, prediction), TOP - 6, plot_x(&axis, prediction), bottom,
                    CANVAS_RULE, 0.8, 1, "prediction");
        plot_number(prediction, number, sizeof number);
        char text[64];
        snprintf(text, sizeof text, "f(x) = %s", number);
        canvas_text(c, plot_x(&axis, prediction), TOP - 10, text, 10, 1, CANVAS_CENTRE,
                    CANVAS_TEXT, "prediction-label");
        running = base;
        for (size_t b = bars; b-- > 0;) {
            double value = b < shown ? values[order[b]] : rest, start = running;
            running += value;
            double y = TOP + (double)b * ROW_HEIGHT, x0 = plot_x(&axis, fmin(start, running));
            double x1 = plot_x(&axis, fmax(start, running));
            int raises = value > 0;
            canvas_colour colour = raises ? CANVAS_RAISES : CANVAS_LOWERS;
            canvas_rect(c, x0, y + 4, fmax(x1 - x0, 0.0), ROW_HEIGHT - 8, colour,
                        raises ? "bar raises" : "bar lowers");
            plot_number(value, number, sizeof number);
            snprintf(text, sizeof text, "%s%s", value > 0 ? "+" : "", number);
            /* The value beside the bar's head: right of a red bar, left of a blue one, unless
             * that would run into the labels. */
            int after = raises || x0 - 8 - canvas_text_width(c, text, 9, 0) < axis.left;
            canvas_text(c, after ? x1 + 4 : x0 - 4, y + ROW_HEIGHT / 2 + 3.5, text, 9, 0,
                        after ? CANVAS_LEFT : CANVAS_RIGHT, colour, "value");
            canvas_text(c, 16 + label_width, y + ROW_HEIGHT / 2 + 3.5, labels[b], 10, 0,
                        CANVAS_RIGHT, b < shown ? CANVAS_TEXT : CANVAS_MUTED, "label");
            if (b + 1 < bars) /* a faint rule between rows keeps long labels with their bars */
                canvas_line(c, 16, y + ROW_HEIGHT, width - 16, y + ROW_HEIGHT, CANVAS_RULE, 0.3,
                            0, "row-rule");
        }
        plot_number(base, number, sizeof number);
        /* An applicant's base holds the share of what is not shown: a starting point. */
        snprintf(text, sizeof text, "%s = %s", d->base_folded ? "starting point" : "E[f(X)]",
                 number);
        plot_draw_axis(c, &axis, bottom + 4, NULL);
        canvas_text(c, plot_x(&axis, base), bottom + 36, text, 10, 1, CANVAS_CENTRE, CANVAS_TEXT,
                    "base-label");
        status = plot_close(request, c, error);
    }
    free(labels);
    free(magnitude);
    free(order);
    return status;
}
