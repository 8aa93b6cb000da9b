/* Beeswarm (shap's summary plot): one row of dots per feature, each dot a row of the data at
 * its value's position, coloured by the feature's own value from low (blue) to high (red)
 * between its 5th and 95th percentiles; grey where the value is missing or the feature is a
 * group of columns. Features by mean |value|, the rest summed into one row. Dots that would
 * overlap are stacked up and down from the row's centre line. */
#include "plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROW_HEIGHT 30.0
#define TOP 48.0
#define BOTTOM 56.0
#define RADIUS 2.2

/* Rows by their dot's value, ties by row. */
static int by_dot(const void *a, const void *b, void *values)
{
    const double *v = values;
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    if (v[i] != v[j]) return v[i] < v[j] ? -1 : 1;
    return i < j ? -1 : i > j;
}

gbx_status plot_beeswarm(const plot_request *request, gbx_error *error)
{
    const gbx_explanation *d = request->document;
    size_t M = d->features, K = d->outputs, k = request->output, n = d->rows;
    size_t limit = request->options->max_display ? request->options->max_display : 10;
    double *importance = gbx_calloc(M, sizeof(double));
    size_t *order = gbx_malloc_array(M, sizeof(size_t));
    double *dots = gbx_malloc_array(n, sizeof(double)), *shade = gbx_malloc_array(n, sizeof(double));
    double *scratch = gbx_malloc_array(n, sizeof(double));
    size_t *by_value = gbx_malloc_array(n, sizeof(size_t));
    int *stack = NULL;
    char (*labels)[164] = gbx_malloc_array(M <= limit ? M : limit, sizeof *labels);
    if (!importance || !order || !dots || !shade || !scratch || !by_value || !labels) {
        free(importance), free(order), free(dots), free(shade), free(scratch), free(by_value);
        free(labels);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    size_t shown, rows_drawn = plot_rank_features(request, importance, order, labels, &shown);
    /* The value range over every dot drawn (the folded row's sums included). */
    double low = INFINITY, high = -INFINITY;
    for (size_t r = 0; r < n; r++) {
        double rest = 0;
        for (size_t i = 0; i < M; i++) {
            double v = d->values[(r * K + k) * M + order[i]];
            if (i < shown) low = fmin(low, v), high = fmax(high, v);
            else rest += v;
        }
        if (shown < M) low = fmin(low, rest), high = fmax(high, rest);
    }

    canvas *c = NULL;
    double width = 680, height = TOP + (double)rows_drawn * ROW_HEIGHT + BOTTOM, label_width = 0;
    gbx_status status = plot_open(request, width, height, &c, error);
    if (status == GBX_OK) label_width = plot_fit_labels(c, labels, rows_drawn, 240);
    size_t bins = 0;
    if (status == GBX_OK) {
        plot_axis axis = plot_axis_for(low, high, 24 + label_width, width - 90);
        bins = plot_slot((axis.right - axis.left) / (2 * RADIUS), 4096) + 2;
        if (!(stack = gbx_malloc_array(bins, sizeof(int)))) {
            canvas_discard(c);
            status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
        } else {
            char title[256], unit[96];
            snprintf(title, sizeof title, "Values over %zu rows: %s (%s)%s", n, d->output_names[k],
                     plot_unit(d), K > 1 && !request->chosen ? ", the first output" : "");
            canvas_text(c, 16, 24, title, 13, 1, CANVAS_LEFT, CANVAS_TEXT, "title");
            double zero = plot_x(&axis, 0);
            canvas_line(c, zero, TOP, zero, TOP + (double)rows_drawn * ROW_HEIGHT, CANVAS_RULE,
                        0.8, 0, "zero");
            for (size_t b = 0; b < rows_drawn; b++) {
                double centre = TOP + ((double)b + 0.5) * ROW_HEIGHT;
                for (size_t r = 0; r < n; r++) {
                    double rest = 0;
                    for (size_t i = shown; b >= shown && i < M; i++)
                        rest += d->values[(r * K + k) * M + order[i]];
                    dots[r] = b < shown ? d->values[(r * K + k) * M + order[b]] : rest;
                }
                /* The feature's own values, when it is one of the data's columns. */
                long column = b < shown ? plot_column(d, order[b]) : -1;
                for (size_t r = 0; r < n; r++)
                    shade[r] = column >= 0 ? d->data[r * d->columns + (size_t)column] : NAN;
                double p5 = 0, p95 = 1;
                if (column >= 0) plot_colour_range(d, (size_t)column, scratch, &p5, &p95);
                /* Stacking: dots in value order; each takes the next free level of its bin. */
                for (size_t r = 0; r < n; r++) by_value[r] = r;
                qsort_r(by_value, n, sizeof *by_value, by_dot, dots);
                memset(stack, 0, bins * sizeof(int));
                int levels = (int)((ROW_HEIGHT / 2 - RADIUS) / (1.6 * RADIUS));
                for (size_t i = 0; i < n; i++) {
                    size_t r = by_value[i];
                    double x = plot_x(&axis, dots[r]);
                    size_t bin = plot_slot((x - axis.left) / (2 * RADIUS), bins);
                    int level = stack[bin]++ % (2 * levels + 1);
                    double offset = (level % 2 ? -1 : 1) * ((level + 1) / 2) * 1.6 * RADIUS;
                    canvas_colour colour = isnan(shade[r]) ? CANVAS_MUTED
                                           : canvas_blend((shade[r] - p5) / (p95 - p5));
                    canvas_circle(c, x, centre + offset, RADIUS, colour, "dot");
                }
                canvas_text(c, 16 + label_width, centre + 3.5, labels[b], 10, 0, CANVAS_RIGHT,
                            b < shown ? CANVAS_TEXT : CANVAS_MUTED, "label");
            }
            /* The colour scale: feature value, low to high. */
            double bar_x = width - 50, bar_top = TOP + 10, bar_bottom = TOP + (double)rows_drawn * ROW_HEIGHT - 10;
            for (int s = 0; s < 50; s++) {
                double y0 = bar_bottom - (bar_bottom - bar_top) * (s + 1) / 50.0;
                canvas_rect(c, bar_x, y0, 8, (bar_bottom - bar_top) / 50.0 + 0.3,
                            canvas_blend(s / 49.0), "scale");
            }
            canvas_text(c, bar_x + 4, bar_top - 16, "Feature value", 9, 0, CANVAS_CENTRE,
                        CANVAS_MUTED, "scale-title");
            canvas_text(c, bar_x + 4, bar_top - 4, "High", 9, 0, CANVAS_CENTRE, CANVAS_MUTED, "scale-label");
            canvas_text(c, bar_x + 4, bar_bottom + 12, "Low", 9, 0, CANVAS_CENTRE, CANVAS_MUTED, "scale-label");
            snprintf(unit, sizeof unit, "value (%s): effect on the output", plot_unit(d));
            plot_draw_axis(c, &axis, TOP + (double)rows_drawn * ROW_HEIGHT + 4, unit);
            status = plot_close(request, c, error);
        }
    }
    free(importance), free(order), free(dots), free(shade), free(scratch), free(by_value);
    free(stack);
    free(labels);
    return status;
}
