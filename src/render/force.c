/* Force (shap's static force plot) for one row: the features that raise the output push from
 * the left as one red block ending at the prediction f(x), those that lower it push from the
 * right as one blue block starting there; the largest sit next to f(x). The base value is
 * where the red block starts plus the blue block's length. Segments wide enough carry their
 * feature's name and value underneath. */
#include "plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BAND_Y 96.0
#define BAND_HEIGHT 20.0

gbx_status plot_force(const plot_request *request, gbx_error *error)
{
    const gbx_explanation_document *d = request->document;
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
        /* Each block from f(x) outward, the largest value first. */
        for (int side = 0; side < 2; side++) {
            double at = prediction;
            int labelled = 0;
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
                const gbx_feature_info *info = gbx_feature_metadata_find(request->features,
                                                                         d->feature_names[f]);
                long column = plot_column(d, f);
                const char *name = gbx_feature_display(info, d->feature_names[f]);
                if (column >= 0 && !isnan(d->data[r * d->columns + (size_t)column])) {
                    gbx_feature_format(info, d->data[r * d->columns + (size_t)column], number,
                                       sizeof number);
                    snprintf(text, sizeof text, "%s = %s", name, number);
                } else {
                    snprintf(text, sizeof text, "%s", name);
                }
                /* Labels alternate between two lines, so each may be twice its segment. */
                plot_fit(c, text, 8.5, fmax(2 * (x1 - x0) - 6, 0));
                if (x1 - x0 > 12)
                    canvas_text(c, (x0 + x1) / 2, BAND_Y + BAND_HEIGHT + 13 + 11 * (labelled++ % 2),
                                text, 8.5, 0, CANVAS_CENTRE, colour, "label");
                at = next;
            }
        }
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
        snprintf(text, sizeof text, "base value E[f(X)] = %s", number);
        canvas_text(c, bx, BAND_Y + BAND_HEIGHT + 50, text, 9, 0, CANVAS_CENTRE, CANVAS_MUTED,
                    "base-label");
        canvas_text(c, 16, height - 12, "red: raises the output, blue: lowers it", 8.5, 0,
                    CANVAS_LEFT, CANVAS_MUTED, "legend");
        status = plot_close(request, c, error);
    }
    free(magnitude);
    free(order);
    return status;
}
