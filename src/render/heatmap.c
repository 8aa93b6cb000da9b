/* Heatmap (shap's heatmap plot): a column per row and a band per feature, each cell coloured
 * by the value, blue below zero through white to red above, on one scale clipped at the
 * 99th percentile of |value| so a few large cells do not wash out the rest. Features by mean
 * |value| (the largest on top, the rest summed into one band), their mean |value| as bars on
 * the right, and each row's f(x) as a line above. Rows are ordered by similarity (default),
 * by output or as in the file; at most 1,000 are drawn, evenly spaced, and the subtitle says
 * so. */
#include "plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_COLUMNS 1000
#define TOP 60.0
#define LINE_HEIGHT 70.0
#define BAND_HEIGHT 22.0

gbx_status plot_heatmap(const plot_request *request, gbx_error *error)
{
    const gbx_explanation *full = request->document;
    size_t n = full->rows, columns = n > MAX_COLUMNS ? MAX_COLUMNS : n;
    size_t *rows = gbx_malloc_array(columns, sizeof(size_t));
    if (!rows) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < columns; i++) rows[i] = i * n / columns;
    gbx_explanation *sampled = NULL;
    gbx_status status = columns < n ? gbx_explanation_subset(full, rows, columns, &sampled, error)
                                    : GBX_OK;
    plot_request view = *request;
    if (sampled) view.document = sampled;
    const gbx_explanation *d = view.document;
    size_t M = d->features, K = d->outputs, k = request->output;
    if (status == GBX_OK) status = plot_order_rows(&view, 0, columns, rows, error);
    size_t limit = request->options->max_display ? request->options->max_display : 10;
    double *importance = gbx_calloc(M, sizeof(double)), *magnitudes = gbx_malloc_array(columns * limit, sizeof(double));
    double *line = gbx_malloc_array(2 * columns, sizeof(double)), *cells = gbx_malloc_array(columns * limit, sizeof(double));
    size_t *order = gbx_malloc_array(M, sizeof(size_t));
    char (*labels)[164] = gbx_malloc_array(limit, sizeof *labels);
    if (status == GBX_OK && (!importance || !magnitudes || !line || !cells || !order || !labels))
        status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    canvas *c = NULL;
    if (status == GBX_OK) {
        size_t shown, bands = plot_rank_features(&view, importance, order, labels, &shown);
        /* cells[b * columns + i]: band b's value in column i (the last band sums the rest). */
        double low = INFINITY, high = -INFINITY;
        for (size_t i = 0; i < columns; i++) {
            const double *v = d->values + (rows[i] * K + k) * M;
            double rest = 0;
            for (size_t j = shown; j < M; j++) rest += v[order[j]];
            for (size_t b = 0; b < bands; b++) {
                cells[b * columns + i] = b < shown ? v[order[b]] : rest;
                magnitudes[b * columns + i] = fabs(cells[b * columns + i]);
            }
            low = fmin(low, d->predictions[rows[i] * K + k]);
            high = fmax(high, d->predictions[rows[i] * K + k]);
        }
        double clip = plot_clip(magnitudes, bands * columns);
        double rest_importance = 0;
        for (size_t j = shown; j < M; j++) rest_importance += importance[order[j]];
        double width = 780, label_width = 0;
        double height = TOP + LINE_HEIGHT + (double)bands * BAND_HEIGHT + 80;
        status = plot_open(&view, width, height, &c, error);
        if (status == GBX_OK) label_width = plot_fit_labels(c, labels, bands, 200);
        if (status == GBX_OK) {
            double left = 24 + label_width, right = width - 110, column_width = (right - left) / (double)columns;
            double grid = TOP + LINE_HEIGHT, bottom = grid + (double)bands * BAND_HEIGHT;
            char title[256], text[256], number[32];
            snprintf(title, sizeof title, "Values over %zu rows: %s (%s)%s", n, d->output_names[k],
                     plot_unit(d), K > 1 && !request->chosen ? ", the first output" : "");
            canvas_text(c, 16, 24, title, 13, 1, CANVAS_LEFT, CANVAS_TEXT, "title");
            const char *how = request->options->order ? request->options->order : "similarity";
            plot_number(clip, number, sizeof number);
            snprintf(text, sizeof text, "%zu%s rows, ordered %s; colours clipped at |value| %s",
                     columns, columns < n ? " evenly spaced" : "",
                     strcmp(how, "original") == 0 ? "as in the file"
                     : strcmp(how, "output") == 0 ? "by output" : "by similarity", number);
            canvas_text(c, 16, 42, text, 10, 0, CANVAS_LEFT, CANVAS_MUTED, "subtitle");
            /* f(x) above the grid, on its own axis. */
            plot_axis output = plot_axis_for(low, high, grid - 8, TOP + 4); /* vertical */
            for (size_t i = 0; i < columns; i++) {
                line[2 * i] = left + ((double)i + 0.5) * column_width;
                line[2 * i + 1] = plot_x(&output, d->predictions[rows[i] * K + k]);
            }
            canvas_polyline(c, line, (int)columns, CANVAS_TEXT, 1.0, "prediction");
            canvas_text(c, 16 + label_width, (grid + TOP) / 2 + 3.5, "f(x)", 10, 1, CANVAS_RIGHT,
                        CANVAS_TEXT, "label");
            for (size_t b = 0; b < bands; b++) {
                double y = grid + (double)b * BAND_HEIGHT;
                for (size_t i = 0; i < columns; i++)
                    canvas_rect(c, left + (double)i * column_width, y, column_width + 0.05,
                                BAND_HEIGHT, canvas_diverging(cells[b * columns + i] / clip), "cell");
                canvas_text(c, 16 + label_width, y + BAND_HEIGHT / 2 + 3.5, labels[b], 10, 0,
                            CANVAS_RIGHT, b < shown ? CANVAS_TEXT : CANVAS_MUTED, "label");
                /* Mean |value| on the right, on one scale for every band. */
                double mean = b < shown ? importance[order[b]] : rest_importance;
                double longest = fmax(importance[order[0]], rest_importance);
                double bar = longest > 0 ? mean / longest * 70 : 0;
                canvas_rect(c, right + 10, y + 5, bar, BAND_HEIGHT - 10, CANVAS_MUTED, "importance");
            }
            canvas_text(c, right + 10, grid - 6, "mean |value|", 9, 0, CANVAS_LEFT, CANVAS_MUTED,
                        "axis-title");
            /* The colour scale under the grid. */
            for (int s = 0; s < 60; s++) {
                double x0 = left + (right - left) * 0.3 + (right - left) * 0.4 * s / 60.0;
                canvas_rect(c, x0, bottom + 14, (right - left) * 0.4 / 60.0 + 0.3, 8,
                            canvas_diverging(-1 + 2 * s / 59.0), "scale");
            }
            snprintf(text, sizeof text, "-%s", number);
            canvas_text(c, left + (right - left) * 0.3 - 4, bottom + 21, text, 9, 0, CANVAS_RIGHT,
                        CANVAS_MUTED, "scale-label");
            snprintf(text, sizeof text, "+%s", number);
            canvas_text(c, left + (right - left) * 0.7 + 4, bottom + 21, text, 9, 0, CANVAS_LEFT,
                        CANVAS_MUTED, "scale-label");
            snprintf(text, sizeof text, "value (%s): blue lowers the output, red raises it", plot_unit(d));
            canvas_text(c, (left + right) / 2, bottom + 40, text, 9, 0, CANVAS_CENTRE, CANVAS_MUTED,
                        "axis-title");
            status = plot_close(&view, c, error);
        }
    }
    gbx_explanation_free(sampled);
    free(rows), free(importance), free(magnitudes), free(line), free(cells), free(order), free(labels);
    return status;
}
