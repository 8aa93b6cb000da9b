/* Plots drawn from an explanation file: one file per kind, sharing the pieces here (choosing
 * the output, ordering features, the value axis). */
#ifndef GBX_PLOT_H
#define GBX_PLOT_H

#include "../io/explanation.h"
#include "../io/features.h"
#include "audience.h"
#include "canvas.h"
#include "glassbox.h"

/* What a plot kind needs: the explanation, the output it shows, the options, and where the
 * drawing goes: bytes of the format asked for, in memory. */
typedef struct {
    const gbx_explanation *document;
    size_t output;
    int chosen;    /* the output was asked for (otherwise the title says it is the first) */
    const gbx_plot_options *options;
    const gbx_feature_metadata *features; /* or NULL */
    char *const *labels; /* [features]: what each feature is called (plot_view), or NULL */
    const char *format; /* "svg", "png", "pdf", or "html" (text plots) */
    int inline_svg;     /* SVG for an HTML page: no XML declaration */
    char **bytes;       /* the drawing (the caller frees it) */
    size_t *length;
} plot_request;

/* An explanation as an audience may see it (audience.c), with its features' labels: display
 * names, marked "(sensitive)" for an auditor. */
typedef struct {
    gbx_explanation *explanation;
    char **labels; /* [explanation->features] */
} plot_view;
gbx_status plot_view_open(const gbx_explanation *explanation, const gbx_feature_metadata *features,
                          gbx_audience audience, plot_view *out, gbx_error *error);
void plot_view_close(plot_view *view);

/* A horizontal value axis mapped onto [left, right] points. */
typedef struct {
    double low, high, left, right;
} plot_axis;

/* The request's canvas, in its format. */
gbx_status plot_open(const plot_request *request, double width, double height, canvas **out,
                     gbx_error *error);
gbx_status plot_close(const plot_request *request, canvas *c, gbx_error *error);

double plot_x(const plot_axis *axis, double value);
/* An axis covering [low, high] with a little room on both sides. */
plot_axis plot_axis_for(double low, double high, double left, double right);
/* Ticks and their labels along the axis at height y. */
void plot_draw_axis(canvas *c, const plot_axis *axis, double y, const char *title);
/* Whether the values add up from the base value to the prediction: every method but the
 * gradient maps recorded as not additive (saliency, input x gradient, smoothgrad, grad-cam). */
int plot_additive(const gbx_explanation *document);
/* A number as plots write it: 4 significant digits, no trailing zeros. */
void plot_number(double value, char *out, size_t size);
/* What the explained output is called, for titles ("default: probability, log-odds..."). */
const char *plot_unit(const gbx_explanation *document);
/* Shortens text in place (ending it with an ellipsis) until it is at most width wide, within
 * its buffer of capacity bytes. */
void plot_fit(canvas *c, char *text, size_t capacity, double size, double width);
/* Fits each of count labels (164-byte buffers) within width at 10 points, as plot_fit does;
 * returns the widest, which sets a plot's left margin. */
double plot_fit_labels(canvas *c, char (*labels)[164], size_t count, double width);
/* The global plots' rows: importance[f] = mean |value| over the rows, order[] the features by
 * it, and the labels of the `shown` features drawn (max_display - 1 when there are more, the
 * last label then naming the folded rest); returns the rows drawn. labels holds
 * max_display entries of 164 bytes. */
size_t plot_rank_features(const plot_request *request, double *importance, size_t *order,
                          char (*labels)[164], size_t *shown);
/* The data column that explained feature f is (by name), or -1: no data, or a group. */
long plot_column(const gbx_explanation *document, size_t f);
/* The rows a plot draws: row..rows_last-1, or the one row. */
void plot_rows(const plot_request *request, size_t *first, size_t *last);
/* The rows first..last-1 in the order options->order asks: "similarity" (the default: a
 * nearest-neighbour path through the rows' values, from the lowest prediction, so alike
 * explanations sit side by side), "output" (by prediction, ascending) or "original". */
gbx_status plot_order_rows(const plot_request *request, size_t first, size_t last,
                           size_t *order, gbx_error *error);
/* The explained feature called name (its column or display name), or an error naming the
 * closest choices. */
gbx_status plot_find_feature(const plot_request *request, const char *name, size_t *feature,
                             gbx_error *error);
/* The feature's label: its display name. */
const char *plot_feature_label(const plot_request *request, size_t feature);
/* A round step (1, 2 or 5 times a power of ten) giving about `count` steps over span. */
double plot_step(double span, double count);
/* Ticks and labels of a vertical axis at x from low (at y_bottom) to high (at y_top). */
void plot_draw_vertical_axis(canvas *c, double x, double y_bottom, double y_top, double low,
                             double high, const char *title);
/* floor(position) as an index into count slots, clamped to them (NaN: 0); positions come
 * from values that may be huge, so the conversion must never overflow. */
size_t plot_slot(double position, size_t count);
/* qsort's comparison for doubles, ascending. */
int plot_ascending(const void *a, const void *b);
/* The range a colour scale of a data column spans: its finite values' 5th to 95th
 * percentiles (a column with one value, or none, gets a range it sits in the middle of).
 * scratch holds the rows. */
void plot_colour_range(const gbx_explanation *document, size_t column, double *scratch,
                       double *low, double *high);
/* Where colours of |value| reach full strength: the 99th percentile of magnitudes[n]
 * (sorted in place), else the largest, else 1. */
double plot_clip(double *magnitudes, size_t n);
/* Feature order by descending weight (ties by index), into order[features]. */
void plot_order(const double *weight, size_t features, size_t *order);

gbx_status plot_waterfall(const plot_request *request, gbx_error *error);
gbx_status plot_bar(const plot_request *request, gbx_error *error);
gbx_status plot_beeswarm(const plot_request *request, gbx_error *error);
gbx_status plot_force(const plot_request *request, gbx_error *error);
gbx_status plot_histogram(const plot_request *request, gbx_error *error);
gbx_status plot_decision(const plot_request *request, gbx_error *error);
gbx_status plot_dependence(const plot_request *request, gbx_error *error);
gbx_status plot_heatmap(const plot_request *request, gbx_error *error);
gbx_status plot_image(const plot_request *request, gbx_error *error);
gbx_status plot_text(const plot_request *request, gbx_error *error);

#endif
