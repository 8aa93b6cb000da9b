/* Histogram: one feature's distribution over the explanation's rows, with one row's value
 * marked, so a reader sees where that row stands among the others. A feature with few
 * distinct values (at most 12: counts, flags, categories) gets one bar per value; any other
 * gets equal-width bins between its smallest and largest value. The marked row's bar is
 * drawn darker, and the marker is red or blue as the feature raises or lowers that row's
 * output. Missing values are counted in the subtitle. */
#include "plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOP 70.0
#define PLOT_HEIGHT 200.0
#define LEFT 70.0
#define MAX_DISTINCT 12

typedef struct {
    int discrete;
    const double *values; /* discrete: the distinct values, ascending */
    size_t bins;
    double low, high;
} binning;

/* The bin of a value: its slot when discrete, else its equal-width interval (the largest
 * value closes the last one). */
static size_t bin_of(const binning *b, double value)
{
    if (b->discrete) {
        const double *at = bsearch(&value, b->values, b->bins, sizeof(double), plot_ascending);
        return at ? (size_t)(at - b->values) : 0;
    }
    if (!(b->high > b->low)) return 0;
    return plot_slot((value - b->low) / (b->high - b->low) * (double)b->bins, b->bins);
}

gbx_status plot_histogram(const plot_request *request, gbx_error *error)
{
    const gbx_explanation *d = request->document;
    size_t feature, n = d->rows, r = request->options->row, k = request->output;
    if (!request->options->feature)
        return gbx_fail(error, GBX_ERR_USAGE, "a histogram needs options.feature");
    gbx_status status = plot_find_feature(request, request->options->feature, &feature, error);
    if (status != GBX_OK) return status;
    long column = plot_column(d, feature);
    if (column < 0)
        return gbx_fail(error, GBX_ERR_USAGE, d->data
                        ? "\"%s\" is a group of columns; a histogram shows one column"
                        : "the explanation holds no data rows to count (written without them)",
                        d->feature_names[feature]);
    /* The finite values, sorted, and what is distinct among them. */
    double *sorted = gbx_malloc_array(n, sizeof(double));
    double bins_at[MAX_DISTINCT];
    size_t *counts = NULL;
    if (!sorted) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        double v = d->data[i * d->columns + (size_t)column];
        if (isfinite(v)) sorted[m++] = v;
    }
    if (!m) {
        free(sorted);
        return gbx_fail(error, GBX_ERR_USAGE, "\"%s\" is missing in every row",
                        d->feature_names[feature]);
    }
    qsort(sorted, m, sizeof *sorted, plot_ascending);
    size_t distinct = 0;
    for (size_t i = 0; i < m && distinct <= MAX_DISTINCT; i++)
        if (i == 0 || sorted[i] != sorted[i - 1]) {
            if (distinct < MAX_DISTINCT) bins_at[distinct] = sorted[i];
            distinct++;
        }
    int discrete = distinct <= MAX_DISTINCT;
    double low = sorted[0], high = sorted[m - 1];
    size_t bins = discrete ? distinct : (size_t)fmin(30, fmax(8, ceil(sqrt((double)m))));
    binning shape = {discrete, bins_at, bins, low, high};
    if (!(counts = gbx_calloc(bins, sizeof(size_t)))) {
        free(sorted);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < m; i++) counts[bin_of(&shape, sorted[i])]++;
    size_t tallest = 0;
    for (size_t b = 0; b < bins; b++)
        if (counts[b] > tallest) tallest = counts[b];
    double value = d->data[r * d->columns + (size_t)column];
    double effect = d->values[(r * d->outputs + k) * d->features + feature];
    const gbx_feature_info *info = gbx_feature_metadata_find(request->features,
                                                             d->feature_names[feature]);

    canvas *c = NULL;
    double width = 560, height = TOP + PLOT_HEIGHT + 60, right = width - 24;
    status = plot_open(request, width, height, &c, error);
    if (status == GBX_OK) {
        char title[256], text[256], number[96], shift[32];
        snprintf(title, sizeof title, "%s over %zu rows%s", plot_feature_label(request, feature), n,
                 d->outputs > 1 && !request->chosen ? " (values: the first output)" : "");
        canvas_text(c, 16, 24, title, 13, 1, CANVAS_LEFT, CANVAS_TEXT, "title");
        gbx_feature_format(info, value, number, sizeof number);
        plot_number(effect, shift, sizeof shift);
        snprintf(text, sizeof text, "Row %zu: %s, which %s %s (%s) by %s%s", r, number,
                 effect >= 0 ? "raises" : "lowers", d->output_names[k], plot_unit(d),
                 effect >= 0 ? "+" : "", shift);
        canvas_text(c, 16, 42, text, 10, 0, CANVAS_LEFT, CANVAS_TEXT, "subtitle");
        if (m < n) {
            snprintf(text, sizeof text, "%zu row%s missing, not counted", n - m, n - m == 1 ? "" : "s");
            canvas_text(c, right, 42, text, 9, 0, CANVAS_RIGHT, CANVAS_MUTED, "missing");
        }
        double bottom = TOP + PLOT_HEIGHT, per_count = PLOT_HEIGHT / (double)tallest;
        double slot = (right - LEFT) / (double)bins;
        plot_axis axis = {low, high > low ? high : low + 1, LEFT, right};
        size_t marked = isfinite(value) ? bin_of(&shape, value) : bins;
        for (size_t b = 0; b < bins; b++) {
            double x = LEFT + (double)b * slot, h = (double)counts[b] * per_count;
            canvas_colour fill = b == marked ? CANVAS_MUTED : CANVAS_RULE;
            canvas_rect(c, x + 0.5, bottom - h, slot - 1, h, fill, b == marked ? "bin marked" : "bin");
            if (discrete) {
                gbx_feature_format(info, bins_at[b], number, sizeof number);
                plot_fit(c, number, sizeof number, 9, slot - 2);
                canvas_text(c, x + slot / 2, bottom + 15, number, 9, 0, CANVAS_CENTRE,
                            CANVAS_MUTED, "tick-label");
            }
        }
        if (!discrete) plot_draw_axis(c, &axis, bottom, NULL);
        plot_draw_vertical_axis(c, LEFT - 6, bottom, bottom - PLOT_HEIGHT, 0, (double)tallest,
                                "rows");
        snprintf(text, sizeof text, "%s%s%s", plot_feature_label(request, feature),
                 info && info->unit ? " (" : "", info && info->unit ? info->unit : "");
        if (info && info->unit) strncat(text, ")", sizeof text - strlen(text) - 1);
        canvas_text(c, (LEFT + right) / 2, bottom + 34, text, 10, 0, CANVAS_CENTRE, CANVAS_TEXT,
                    "axis-title");
        if (isfinite(value)) {
            double x = discrete ? LEFT + ((double)marked + 0.5) * slot : plot_x(&axis, value);
            canvas_colour colour = effect >= 0 ? CANVAS_RAISES : CANVAS_LOWERS;
            canvas_line(c, x, bottom, x, TOP - 6, colour, 2, 0, "marker");
            snprintf(text, sizeof text, "row %zu", r);
            canvas_text(c, x, TOP - 10, text, 9, 1, x > right - 30 ? CANVAS_RIGHT : CANVAS_CENTRE,
                        colour, "marker-label");
        }
        status = plot_close(request, c, error);
    }
    free(sorted);
    free(counts);
    return status;
}
