/* Bar: global importance, the mean absolute value of each feature over every row of one
 * output, largest on top; beyond max_display - 1 features the rest are summed into one "Sum of
 * N other features" bar, as shap's bar plot does.
 *
 * With a cohort column, one bar per cohort in each feature's row, so groups of rows can be
 * compared (shap's bar plot of cohorts): a cohort per value when the column has at most six,
 * else its quartiles, and one for rows where it is missing. Features keep the order of the
 * mean over every row. */
#include "plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROW_HEIGHT 22.0
#define TOP 48.0
#define BOTTOM 56.0

#define MAX_COHORTS 6

/* Okabe and Ito's colour-blind-safe palette. */
static const canvas_colour cohort_colours[MAX_COHORTS + 1] = {
    {0.0, 0.447, 0.698}, {0.902, 0.624, 0.0}, {0.0, 0.620, 0.451}, {0.800, 0.475, 0.655},
    {0.337, 0.706, 0.914}, {0.835, 0.369, 0.0}, {0.6, 0.6, 0.6}};

typedef struct {
    size_t count;                 /* cohorts, the missing one included */
    char labels[MAX_COHORTS + 1][400];
    size_t sizes[MAX_COHORTS + 1];
    int *of_row;                  /* [rows] */
} cohorts;

/* Splits the rows by the data column: its values, or its quartiles. */
static gbx_status split(const plot_request *request, long column, cohorts *out, gbx_error *error)
{
    const gbx_explanation *d = request->document;
    size_t n = d->rows, m = 0;
    double *sorted = gbx_malloc_array(n, sizeof(double));
    out->of_row = gbx_malloc_array(n, sizeof(int));
    if (!sorted || !out->of_row) {
        free(sorted);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    for (size_t r = 0; r < n; r++)
        if (!isnan(d->data[r * d->columns + (size_t)column])) sorted[m++] = d->data[r * d->columns + (size_t)column];
    qsort(sorted, m, sizeof *sorted, plot_ascending);
    double edges[MAX_COHORTS];
    size_t distinct = 0;
    for (size_t i = 0; i < m && distinct <= MAX_COHORTS; i++)
        if (i == 0 || sorted[i] != sorted[i - 1]) {
            if (distinct < MAX_COHORTS) edges[distinct] = sorted[i];
            distinct++;
        }
    int by_value = distinct <= MAX_COHORTS;
    size_t bins = by_value ? distinct : 4;
    if (!by_value)
        for (size_t q = 1; q < 4; q++) edges[q - 1] = sorted[(size_t)floor((double)q / 4 * (double)(m - 1))];
    const char *name = d->column_names[column];
    const gbx_feature_info *info = gbx_feature_metadata_find(request->features, name);
    const char *shown = gbx_feature_display(info, name);
    char a[96], b[96];
    for (size_t c = 0; c < bins; c++) {
        if (by_value) {
            gbx_feature_format(info, edges[c], a, sizeof a);
            snprintf(out->labels[c], sizeof out->labels[c], "%s = %s", shown, a);
            continue;
        }
        gbx_feature_format(info, edges[c ? c - 1 : 0], a, sizeof a);
        gbx_feature_format(info, edges[c < 3 ? c : 2], b, sizeof b);
        if (c == 0) snprintf(out->labels[c], sizeof out->labels[c], "%s < %s", shown, b);
        else if (c == 3) snprintf(out->labels[c], sizeof out->labels[c], "%s >= %s", shown, a);
        else snprintf(out->labels[c], sizeof out->labels[c], "%s %s to under %s", shown, a, b);
    }
    out->count = bins;
    memset(out->sizes, 0, sizeof out->sizes);
    for (size_t r = 0; r < n; r++) {
        double v = d->data[r * d->columns + (size_t)column];
        size_t c = 0;
        if (isnan(v)) {
            c = bins;
            out->count = bins + 1;
            snprintf(out->labels[bins], sizeof out->labels[bins], "%s missing", shown);
        } else if (by_value) {
            while (edges[c] != v) c++;
        } else {
            while (c < 3 && v >= edges[c]) c++;
        }
        out->of_row[r] = (int)c;
        out->sizes[c]++;
    }
    free(sorted);
    return GBX_OK;
}

static gbx_status plot_bar_cohorts(const plot_request *request, gbx_error *error)
{
    const gbx_explanation *d = request->document;
    size_t M = d->features, K = d->outputs, k = request->output, n = d->rows;
    long column = -1;
    for (size_t j = 0; d->data && j < d->columns; j++) {
        const char *name = d->column_names[j];
        if (strcmp(name, request->options->cohort) == 0 ||
            strcmp(gbx_feature_display(gbx_feature_metadata_find(request->features, name), name),
                   request->options->cohort) == 0)
            column = (long)j;
    }
    if (column < 0)
        return gbx_fail(error, GBX_ERR_USAGE, d->data ? "the explanation's data has no column \"%s\""
                        : "the explanation holds no data rows to split into cohorts",
                        request->options->cohort);
    size_t limit = request->options->max_display ? request->options->max_display : 10;
    cohorts groups = {0};
    double *importance = gbx_calloc(M, sizeof(double));
    double *means = gbx_calloc((MAX_COHORTS + 1) * M, sizeof(double)); /* [cohort][feature] */
    size_t *order = gbx_malloc_array(M, sizeof(size_t));
    char (*labels)[164] = gbx_malloc_array(M <= limit ? M : limit, sizeof *labels);
    gbx_status status = importance && means && order && labels ? split(request, column, &groups, error)
                                                               : gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    canvas *c = NULL;
    if (status == GBX_OK) {
        size_t shown, rows_drawn = plot_rank_features(request, importance, order, labels, &shown);
        for (size_t r = 0; r < n; r++)
            for (size_t f = 0; f < M; f++)
                means[(size_t)groups.of_row[r] * M + f] += fabs(d->values[(r * K + k) * M + f]) /
                                                           (double)groups.sizes[groups.of_row[r]];
        /* bar(g, b): cohort g's mean for row b (the last row sums the folded features). */
        double high = 0;
        for (size_t g = 0; g < groups.count; g++)
            for (size_t b = 0; b < rows_drawn; b++) {
                double v = 0;
                for (size_t i = b; i < (b < shown ? b + 1 : M); i++) v += means[g * M + order[i]];
                high = fmax(high, v);
            }
        double row_height = 8 + 9 * (double)groups.count;
        double width = 680, legend = 18 * (double)groups.count, label_width = 0;
        double height = TOP + (double)rows_drawn * row_height + BOTTOM + legend;
        status = plot_open(request, width, height, &c, error);
        if (status == GBX_OK) label_width = plot_fit_labels(c, labels, rows_drawn, 260);
        if (status == GBX_OK) {
            plot_axis axis = plot_axis_for(0, high, 24 + label_width, width - 60);
            axis.low = 0;
            char title[256], number[32], unit[96];
            snprintf(title, sizeof title, "Mean |value| by cohort of %s: %s (%s)%s",
                     gbx_feature_display(gbx_feature_metadata_find(request->features, d->column_names[column]),
                                         d->column_names[column]),
                     d->output_names[k], plot_unit(d), K > 1 && !request->chosen ? ", the first output" : "");
            canvas_text(c, 16, 24, title, 13, 1, CANVAS_LEFT, CANVAS_TEXT, "title");
            for (size_t b = 0; b < rows_drawn; b++) {
                double y = TOP + (double)b * row_height;
                for (size_t g = 0; g < groups.count; g++) {
                    double v = 0;
                    for (size_t i = b; i < (b < shown ? b + 1 : M); i++) v += means[g * M + order[i]];
                    double x1 = plot_x(&axis, v);
                    char role[32];
                    snprintf(role, sizeof role, "bar cohort-%zu", g);
                    canvas_rect(c, axis.left, y + 4 + 9 * (double)g, x1 - axis.left, 8,
                                cohort_colours[g < MAX_COHORTS ? g : MAX_COHORTS], role);
                    plot_number(v, number, sizeof number);
                    canvas_text(c, x1 + 3, y + 11 + 9 * (double)g, number, 7.5, 0, CANVAS_LEFT,
                                CANVAS_MUTED, "value");
                }
                canvas_text(c, 16 + label_width, y + row_height / 2 + 3.5, labels[b], 10, 0,
                            CANVAS_RIGHT, b < shown ? CANVAS_TEXT : CANVAS_MUTED, "label");
            }
            double bottom = TOP + (double)rows_drawn * row_height;
            snprintf(unit, sizeof unit, "mean |value| (%s)", plot_unit(d));
            plot_draw_axis(c, &axis, bottom + 4, unit);
            for (size_t g = 0; g < groups.count; g++) {
                double y = bottom + BOTTOM + 18 * (double)g;
                char text[440];
                canvas_rect(c, 24, y - 9, 10, 10, cohort_colours[g < MAX_COHORTS ? g : MAX_COHORTS], "legend-key");
                snprintf(text, sizeof text, "%s (%zu rows)", groups.labels[g], groups.sizes[g]);
                canvas_text(c, 40, y, text, 9.5, 0, CANVAS_LEFT, CANVAS_TEXT, "legend");
            }
            status = plot_close(request, c, error);
        }
    }
    free(groups.of_row), free(importance), free(means), free(order), free(labels);
    return status;
}

gbx_status plot_bar(const plot_request *request, gbx_error *error)
{
    if (request->options->cohort) return plot_bar_cohorts(request, error);
    const gbx_explanation *d = request->document;
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
    if (status == GBX_OK) label_width = plot_fit_labels(c, labels, bars, 260);
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
