/* Plots: their geometry read back from the SVG (bars chain from the base value to the
 * prediction, lengths in proportion to the values, labels the feature names in order), PNGs
 * that are not blank and hold both colours, PDFs, and clear errors. The explanation is the
 * bundled credit model's TreeSHAP, written by the library as `glassbox explain` writes it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "glassbox.h"
#include "render/canvas.h"

#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPLANATION "/tmp/glassbox-test-plots.json"

static gbx_explanation *explanation;
static gbx_model *model;
static gbx_data *data;

static int write_explanation(void **state)
{
    (void)state;
    gbx_error error;
    gbx_explainer_options options;
    gbx_explainer_options_init(&options);
    gbx_explainer *explainer;
    gbx_explanation_writer *writer;
    gbx_writer_options writing = {1, "json", 1};
    if (gbx_model_load("examples/credit_model.json", &model, &error) ||
        gbx_data_read_csv("examples/data/german_credit.csv", model, &data, &error) ||
        gbx_explainer_create(model, &options, &explainer, &error) ||
        gbx_explainer_explain(explainer, data, &explanation, &error) ||
        gbx_explanation_writer_open(EXPLANATION, explainer, &writing, &writer, &error) ||
        gbx_explanation_writer_write(writer, explanation, &error) ||
        gbx_explanation_writer_close(writer, &error)) {
        fprintf(stderr, "%s\n", error.message);
        return 1;
    }
    gbx_explainer_free(explainer);
    return 0;
}

static int clean_up(void **state)
{
    (void)state;
    gbx_explanation_free(explanation);
    gbx_data_free(data);
    gbx_model_free(model);
    remove(EXPLANATION);
    return 0;
}

/* ---- reading the SVG back ------------------------------------------------------------------ */

typedef struct {
    char role[64];
    double x, y, width, height, x1;
    char text[200];
} element;

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)size + 1);
    assert_int_equal(fread(text, 1, (size_t)size, f), (size_t)size);
    text[size] = 0;
    fclose(f);
    return text;
}

static double attribute(const char *start, const char *name)
{
    char key[32];
    snprintf(key, sizeof key, " %s=\"", name);
    const char *at = strstr(start, key), *end = strchr(start, '>');
    return at && at < end ? atof(at + strlen(key)) : NAN;
}

/* Every element of the given tag whose class starts with `role`, in file order. */
static size_t elements(const char *svg, const char *tag, const char *role, element *out,
                       size_t capacity)
{
    char opening[64];
    snprintf(opening, sizeof opening, "<%s class=\"%s", tag, role);
    size_t count = 0;
    for (const char *at = strstr(svg, opening); at && count < capacity;
         at = strstr(at + 1, opening)) {
        element *e = &out[count++];
        memset(e, 0, sizeof *e);
        const char *klass = at + strlen(tag) + 9, *quote = strchr(klass, '"');
        snprintf(e->role, sizeof e->role, "%.*s", (int)(quote - klass), klass);
        e->x = attribute(at, "x");
        e->y = attribute(at, "y");
        e->width = attribute(at, "width");
        e->height = attribute(at, "height");
        e->x1 = attribute(at, "x1");
        const char *body = strchr(at, '>') + 1, *close = strchr(body, '<');
        snprintf(e->text, sizeof e->text, "%.*s", (int)(close - body), body);
    }
    return count;
}

/* The features of a row ordered by |value| (ties by index), as the plots order them. */
static void by_magnitude(const double *values, size_t M, size_t *order)
{
    for (size_t i = 0; i < M; i++) order[i] = i;
    for (size_t i = 0; i < M; i++)
        for (size_t j = i + 1; j < M; j++)
            if (fabs(values[order[j]]) > fabs(values[order[i]])) {
                size_t t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
}

static void test_waterfall_chains_from_base_to_prediction(void **state)
{
    (void)state;
    const char *path = "/tmp/glassbox-test-waterfall.svg";
    gbx_plot_options options;
    gbx_plot_options_init(&options);
    options.row = 3;
    options.max_display = 8;
    gbx_error error;
    assert_int_equal(gbx_plot(EXPLANATION, &options, path, &error), GBX_OK);
    char *svg = read_text(path);
    element bars[16], labels[16], base[1], prediction[1];
    size_t n = elements(svg, "rect", "bar", bars, 16);
    assert_int_equal(n, 8);
    assert_int_equal(elements(svg, "text", "label", labels, 16), 8);
    assert_int_equal(elements(svg, "line", "base", base, 1), 1);
    assert_int_equal(elements(svg, "line", "prediction", prediction, 1), 1);

    size_t M = gbx_explanation_features(explanation);
    const double *values = gbx_explanation_values(explanation) + 3 * M;
    size_t *order = malloc(M * sizeof *order);
    by_magnitude(values, M, order);
    double expected[8], rest = 0;
    for (size_t b = 0; b < 7; b++) expected[b] = values[order[b]];
    for (size_t i = 7; i < M; i++) rest += values[order[i]];
    expected[7] = rest;
    /* Labels (drawn from the bottom, like the bars): the largest on top, named as the data's
     * columns, and the folded rest at the bottom. */
    for (size_t b = 0; b < 7; b++) {
        char prefix[128];
        snprintf(prefix, sizeof prefix, "%s = ", gbx_model_feature_name(model, order[b]));
        assert_memory_equal(labels[7 - b].text, prefix, strlen(prefix));
    }
    char folded[64];
    snprintf(folded, sizeof folded, "%zu other features", M - 7);
    assert_string_equal(labels[0].text, folded);
    /* The bars are drawn from the bottom (bars[7 - b] is the b-th from the top): each starts
     * where the one below ended, from the base value's rule to the prediction's. */
    for (size_t i = 0; i + 1 < 8; i++) assert_true(bars[i].y > bars[i + 1].y);
    double scale = bars[7].width / fabs(expected[0]), at = base[0].x1;
    for (size_t b = 8; b-- > 0;) {
        const element *bar = &bars[7 - b];
        int raises = expected[b] > 0;
        assert_string_equal(bar->role, raises ? "bar raises" : "bar lowers");
        double start = raises ? bar->x : bar->x + bar->width;
        double end = raises ? bar->x + bar->width : bar->x;
        if (fabs(start - at) > 0.02) fail_msg("bar %zu starts at %.2f, not %.2f", b, start, at);
        if (fabs(bar->width - scale * fabs(expected[b])) > 0.03)
            fail_msg("bar %zu is %.2f long for %.6f (%.2f per unit)", b, bar->width,
                     expected[b], scale);
        at = end;
    }
    assert_true(fabs(at - prediction[0].x1) <= 0.03);
    free(order);
    free(svg);
    remove(path);
}

static void test_bar_lengths_follow_mean_magnitude(void **state)
{
    (void)state;
    const char *path = "/tmp/glassbox-test-bar.svg";
    gbx_plot_options options;
    gbx_plot_options_init(&options);
    options.kind = "bar";
    gbx_error error;
    assert_int_equal(gbx_plot(EXPLANATION, &options, path, &error), GBX_OK);
    char *svg = read_text(path);
    element bars[16], labels[16];
    assert_int_equal(elements(svg, "rect", "bar", bars, 16), 10);
    assert_int_equal(elements(svg, "text", "label", labels, 16), 10);
    size_t n = gbx_explanation_rows(explanation), M = gbx_explanation_features(explanation);
    double *mean = calloc(M, sizeof *mean);
    for (size_t r = 0; r < n; r++)
        for (size_t f = 0; f < M; f++) mean[f] += fabs(gbx_explanation_values(explanation)[r * M + f]) / (double)n;
    size_t *order = malloc(M * sizeof *order);
    by_magnitude(mean, M, order);
    double rest = 0;
    for (size_t i = 9; i < M; i++) rest += mean[order[i]];
    double scale = bars[0].width / mean[order[0]];
    for (size_t b = 0; b < 10; b++) {
        double value = b < 9 ? mean[order[b]] : rest;
        assert_true(fabs(bars[b].x - bars[0].x) < 1e-9); /* every bar starts at zero */
        if (fabs(bars[b].width - scale * value) > 0.03)
            fail_msg("bar %zu is %.2f long for %.6f", b, bars[b].width, value);
        if (b < 9) assert_string_equal(labels[b].text, gbx_model_feature_name(model, order[b]));
    }
    assert_string_equal(labels[9].text, "Sum of 52 other features");
    free(mean);
    free(order);
    free(svg);
    remove(path);
}

/* Force: the raising values make one red block ending at f(x), the lowering ones a blue
 * block starting there, each segment as long as its value, largest next to f(x); the base
 * value sits where the blocks' lengths say. */
static void test_force_blocks_meet_at_prediction(void **state)
{
    (void)state;
    const char *path = "/tmp/glassbox-test-force.svg";
    gbx_plot_options options;
    gbx_plot_options_init(&options);
    options.kind = "force";
    options.row = 3;
    gbx_error error;
    assert_int_equal(gbx_plot(EXPLANATION, &options, path, &error), GBX_OK);
    char *svg = read_text(path);
    size_t M = gbx_explanation_features(explanation);
    const double *values = gbx_explanation_values(explanation) + 3 * M;
    size_t *order = malloc(M * sizeof *order);
    by_magnitude(values, M, order);
    element raises[80], lowers[80], prediction[1], base[1];
    size_t up = elements(svg, "rect", "segment raises", raises, 80);
    size_t down = elements(svg, "rect", "segment lowers", lowers, 80);
    assert_int_equal(elements(svg, "line", "prediction", prediction, 1), 1);
    assert_int_equal(elements(svg, "line", "base", base, 1), 1);
    size_t positive = 0, negative = 0;
    for (size_t f = 0; f < M; f++) positive += values[f] > 0, negative += values[f] < 0;
    assert_int_equal(up, positive);
    assert_int_equal(down, negative);
    /* Segments are drawn largest first from f(x) outward on each side. */
    double at = prediction[0].x1, total_down = 0;
    size_t i = 0, j = 0;
    for (size_t rank = 0; rank < M; rank++) {
        double v = values[order[rank]];
        if (v > 0) {
            const element *s = &raises[i++];
            if (fabs(s->x + s->width - at) > 0.02) fail_msg("red segment %zu does not touch", i);
            at = s->x;
        }
    }
    at = prediction[0].x1;
    for (size_t rank = 0; rank < M; rank++) {
        double v = values[order[rank]];
        if (v < 0) {
            const element *s = &lowers[j++];
            if (fabs(s->x - at) > 0.02) fail_msg("blue segment %zu does not touch", j);
            at = s->x + s->width;
            total_down += s->width;
        }
    }
    /* Lengths in proportion to the values, one scale for both colours (from the largest
     * raising value, the first red segment). */
    double largest_up = 0;
    for (size_t rank = 0; rank < M && largest_up == 0; rank++)
        if (values[order[rank]] > 0) largest_up = values[order[rank]];
    double scale = raises[0].width / largest_up;
    i = j = 0;
    for (size_t rank = 0; rank < M; rank++) {
        double v = values[order[rank]];
        const element *s = v > 0 ? &raises[i++] : v < 0 ? &lowers[j++] : NULL;
        if (s && fabs(s->width - scale * fabs(v)) > 0.03)
            fail_msg("segment for %.6f is %.2f long (%.2f per unit)", v, s->width, scale);
    }
    /* The base value: where the red block starts, moved right by the blue block's length. */
    assert_true(fabs(base[0].x1 - (raises[up - 1].x + total_down)) < 0.05);
    free(order);
    free(svg);
    remove(path);
}

/* Beeswarm: one dot per row and feature drawn, at its value on the axis (the dots' order
 * along the axis is the values' order), the highest feature value in red. */
static void test_beeswarm_places_every_row(void **state)
{
    (void)state;
    const char *path = "/tmp/glassbox-test-beeswarm.svg";
    gbx_plot_options options;
    gbx_plot_options_init(&options);
    options.kind = "beeswarm";
    options.max_display = 4;
    gbx_error error;
    assert_int_equal(gbx_plot(EXPLANATION, &options, path, &error), GBX_OK);
    char *svg = read_text(path);
    size_t n = gbx_explanation_rows(explanation), M = gbx_explanation_features(explanation);
    /* Circles carry cx, not x: count them and read the first row of dots (the top feature). */
    size_t circles = 0;
    for (const char *at = strstr(svg, "<circle class=\"dot\""); at; at = strstr(at + 1, "<circle class=\"dot\""))
        circles++;
    assert_int_equal(circles, 4 * n);
    double *cx = malloc(n * sizeof *cx), *value = malloc(n * sizeof *value);
    char (*fill)[8] = malloc(n * sizeof *fill);
    const char *at = svg;
    for (size_t i = 0; i < n; i++) {
        at = strstr(at + 1, "<circle class=\"dot\"");
        cx[i] = atof(strstr(at, "cx=\"") + 4);
        memcpy(fill[i], strstr(at, "fill=\"") + 6, 7);
        fill[i][7] = 0;
    }
    double *mean = calloc(M, sizeof *mean);
    for (size_t r = 0; r < n; r++)
        for (size_t f = 0; f < M; f++) mean[f] += fabs(gbx_explanation_values(explanation)[r * M + f]);
    size_t *order = malloc(M * sizeof *order);
    by_magnitude(mean, M, order);
    /* The dots are drawn in value order (ties by row): the i-th dot is the row with the i-th
     * value, and the positions are one linear map of the values. */
    size_t *rows = malloc(n * sizeof *rows);
    for (size_t r = 0; r < n; r++) {
        rows[r] = r;
        value[r] = gbx_explanation_values(explanation)[r * M + order[0]];
    }
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && (value[rows[j - 1]] > value[rows[j]]); j--) {
            size_t t = rows[j];
            rows[j] = rows[j - 1];
            rows[j - 1] = t;
        }
    double low = value[rows[0]], high = value[rows[n - 1]];
    double slope = (cx[n - 1] - cx[0]) / (high - low);
    assert_true(slope > 0);
    for (size_t i = 0; i < n; i++)
        if (fabs(cx[i] - (cx[0] + slope * (value[rows[i]] - low))) > 0.02)
            fail_msg("dot %zu at %.2f for %.6f", i, cx[i], value[rows[i]]);
    /* The row with the feature's largest value is drawn red, the smallest blue. */
    size_t largest = 0, smallest = 0;
    const double *x = gbx_data_values(data);
    for (size_t r = 1; r < n; r++) {
        if (x[r * M + order[0]] > x[largest * M + order[0]]) largest = r;
        if (x[r * M + order[0]] < x[smallest * M + order[0]]) smallest = r;
    }
    for (size_t i = 0; i < n; i++) {
        if (rows[i] == largest) assert_string_equal(fill[i], "#ff0051");
        if (rows[i] == smallest) assert_string_equal(fill[i], "#008bfb");
    }
    free(rows);
    free(cx);
    free(value);
    free(fill);
    free(mean);
    free(order);
    free(svg);
    remove(path);
}

/* PNG: the right size, and not blank: both shap colours are there, and ink covers a fair part
 * of the picture. */
static void test_png_and_pdf_are_drawn(void **state)
{
    (void)state;
    gbx_plot_options options;
    gbx_plot_options_init(&options);
    options.row = 3;
    gbx_error error;
    assert_int_equal(gbx_plot(EXPLANATION, &options, "/tmp/glassbox-test-waterfall.png", &error),
                     GBX_OK);
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    assert_true(png_image_begin_read_from_file(&image, "/tmp/glassbox-test-waterfall.png"));
    image.format = PNG_FORMAT_RGB;
    unsigned char *pixels = malloc(PNG_IMAGE_SIZE(image));
    assert_true(png_image_finish_read(&image, NULL, pixels, 0, NULL));
    assert_int_equal(image.width, 1280);
    size_t inked = 0, red = 0, blue = 0, count = (size_t)image.width * image.height;
    for (size_t p = 0; p < count; p++) {
        const unsigned char *px = pixels + 3 * p;
        inked += px[0] < 250 || px[1] < 250 || px[2] < 250;
        red += px[0] > 240 && px[1] < 20 && px[2] > 60 && px[2] < 100;
        blue += px[0] < 20 && px[1] > 120 && px[1] < 160 && px[2] > 230;
    }
    assert_true(inked > count / 20);
    assert_true(red > 1000 && blue > 1000);
    free(pixels);
    remove("/tmp/glassbox-test-waterfall.png");
    options.kind = "bar";
    assert_int_equal(gbx_plot(EXPLANATION, &options, "/tmp/glassbox-test-bar.pdf", &error), GBX_OK);
    char *pdf = read_text("/tmp/glassbox-test-bar.pdf");
    assert_memory_equal(pdf, "%PDF-", 5);
    free(pdf);
    remove("/tmp/glassbox-test-bar.pdf");
}

/* The points of every polyline with the given class, in file order: points[i][2p], [2p+1]. */
static size_t polylines(const char *svg, const char *role, double (*points)[2 * 80], size_t *count,
                        size_t capacity)
{
    char opening[64];
    snprintf(opening, sizeof opening, "<polyline class=\"%s\" points=\"", role);
    size_t lines = 0;
    for (const char *at = strstr(svg, opening); at && lines < capacity; at = strstr(at + 1, opening)) {
        const char *p = at + strlen(opening);
        size_t n = 0;
        while (*p != '"' && n < 80) {
            char *end;
            points[lines][2 * n] = strtod(p, &end);
            points[lines][2 * n + 1] = strtod(end + 1, &end);
            n++;
            p = *end == ' ' ? end + 1 : end;
        }
        count[lines++] = n;
    }
    return lines;
}

/* Decision: each row's line starts at the base value at the bottom and ends at its prediction
 * at the top, each step as wide as the feature's value on one scale, features by mean |value|
 * over the rows drawn (the largest at the top), the rest folded into the first step. */
static void test_decision_lines_climb_to_predictions(void **state)
{
    (void)state;
    const char *path = "/tmp/glassbox-test-decision.svg";
    gbx_plot_options options;
    gbx_plot_options_init(&options);
    options.kind = "decision";
    options.row = 20;
    options.rows_last = 30;
    gbx_error error;
    assert_int_equal(gbx_plot(EXPLANATION, &options, path, &error), GBX_OK);
    char *svg = read_text(path);
    static double points[16][2 * 80];
    size_t counts[16];
    assert_int_equal(polylines(svg, "decision", points, counts, 16), 10);
    size_t M = gbx_explanation_features(explanation);
    const double *values = gbx_explanation_values(explanation);
    double *mean = calloc(M, sizeof *mean);
    for (size_t r = 20; r < 30; r++)
        for (size_t f = 0; f < M; f++) mean[f] += fabs(values[r * M + f]);
    size_t *order = malloc(M * sizeof *order);
    by_magnitude(mean, M, order);
    element base[1], labels[16];
    assert_int_equal(elements(svg, "line", "base", base, 1), 1);
    assert_int_equal(elements(svg, "text", "label", labels, 16), 10);
    for (size_t s = 0; s < 9; s++) assert_string_equal(labels[s].text, gbx_model_feature_name(model, order[s]));
    /* One scale for every step of every line, from the widest line. */
    double scale = 0, widest = 0;
    for (size_t i = 0; i < 10; i++) {
        double span = fabs(gbx_explanation_predictions(explanation)[20 + i] -
                           gbx_explanation_base_values(explanation)[20 + i]);
        if (span > widest) widest = span, scale = fabs(points[i][20] - points[i][0]) / span;
    }
    for (size_t i = 0; i < 10; i++) {
        size_t r = 20 + i;
        assert_int_equal(counts[i], 11);
        assert_true(fabs(points[i][0] - base[0].x1) < 0.02);   /* starts at the base value */
        assert_true(points[i][1] > points[i][21]);             /* climbs */
        double rest = 0;
        for (size_t j = 9; j < M; j++) rest += values[r * M + order[j]];
        for (size_t p = 1; p <= 10; p++) {
            double step = p == 1 ? rest : values[r * M + order[10 - p]];
            if (fabs(points[i][2 * p] - points[i][2 * p - 2] - scale * step) > 0.05)
                fail_msg("row %zu, step %zu: %.2f for %.6f", r, p, points[i][2 * p] - points[i][2 * p - 2], step);
        }
        /* The end: base + every value = the prediction, on the same scale. */
        double prediction = gbx_explanation_predictions(explanation)[r];
        double base_value = gbx_explanation_base_values(explanation)[r];
        if (fabs(points[i][20] - points[i][0] - scale * (prediction - base_value)) > 0.05)
            fail_msg("row %zu ends %.2f from the base for %.6f", r, points[i][20] - points[i][0],
                     prediction - base_value);
    }
    free(mean);
    free(order);
    free(svg);
    remove(path);
}

/* Force over rows: each row a column whose red segments stack down from its f(x) and blue
 * ones up from it, each as tall as its value; the prediction line passes through every
 * column's f(x); "output" order sorts the columns by prediction. */
/* The force plot's labels never overlap: over 40 rows, the labels on each line, measured as
 * the canvas measures them, keep apart; a shortened label keeps its whole text as a tooltip
 * (they collided and were cut: "No checking account = 04 to 7 = 1", "Savin..."). */
static void test_force_labels_do_not_overlap(void **state)
{
    (void)state;
    const char *path = "/tmp/glassbox-test-force-labels.svg";
    canvas *measure;
    gbx_error error;
    assert_int_equal(canvas_open(CANVAS_SVG, 1, 10, 10, &measure, &error), GBX_OK);
    size_t shortened = 0;
    for (size_t row = 0; row < 40; row++) {
        gbx_plot_options options;
        gbx_plot_options_init(&options);
        options.kind = "force";
        options.row = row;
        assert_int_equal(gbx_plot(EXPLANATION, &options, path, &error), GBX_OK);
        char *svg = read_text(path);
        double left[64], right[64], y[64];
        size_t count = 0;
        for (const char *at = strstr(svg, "<text class=\"label\""); at && count < 64;
             at = strstr(at + 1, "<text class=\"label\"")) {
            const char *body = strchr(at, '>') + 1;
            if (strncmp(body, "<title>", 7) == 0) {
                body = strstr(body, "</title>") + 8;
                shortened++;
            }
            char text[256];
            snprintf(text, sizeof text, "%.*s", (int)(strchr(body, '<') - body), body);
            double width = canvas_text_width(measure, text, 8.5, 0), x = attribute(at, "x");
            left[count] = x - width / 2, right[count] = x + width / 2, y[count] = attribute(at, "y");
            for (size_t other = 0; other < count; other++)
                if (y[other] == y[count] && left[count] < right[other] - 0.5 &&
                    left[other] < right[count] - 0.5)
                    fail_msg("row %zu: label \"%s\" overlaps another on its line", row, text);
            count++;
        }
        assert_true(count > 0);
        free(svg);
    }
    assert_true(shortened > 0); /* the tooltips are there where text was cut */
    canvas_discard(measure);
    remove(path);
}

static void test_force_rows_stack_at_predictions(void **state)
{
    (void)state;
    const char *path = "/tmp/glassbox-test-force-rows.svg";
    gbx_plot_options options;
    gbx_plot_options_init(&options);
    options.kind = "force";
    options.row = 40;
    options.rows_last = 60;
    options.order = "output";
    gbx_error error;
    assert_int_equal(gbx_plot(EXPLANATION, &options, path, &error), GBX_OK);
    char *svg = read_text(path);
    static double line[1][2 * 80];
    size_t count;
    assert_int_equal(polylines(svg, "prediction", line, &count, 1), 1);
    assert_int_equal(count, 20);
    static element segments[2000];
    size_t n = elements(svg, "rect", "segment", segments, 2000);
    size_t M = gbx_explanation_features(explanation);
    const double *values = gbx_explanation_values(explanation);
    const double *predictions = gbx_explanation_predictions(explanation);
    /* The columns by prediction, ascending (ties by row). */
    size_t rows[20];
    for (size_t i = 0; i < 20; i++) rows[i] = 40 + i;
    for (size_t i = 1; i < 20; i++)
        for (size_t j = i; j > 0 && predictions[rows[j - 1]] > predictions[rows[j]]; j--) {
            size_t t = rows[j];
            rows[j] = rows[j - 1];
            rows[j - 1] = t;
        }
    double column_width = segments[0].width, left = segments[0].x, scale = 0;
    for (size_t i = 0; i < 20; i++) {
        double raised = 0, lowered = 0, red = 0, blue = 0, red_top = INFINITY, blue_bottom = -INFINITY;
        for (size_t f = 0; f < M; f++) {
            double v = values[rows[i] * M + f];
            if (v > 0) raised += v;
            else lowered -= v;
        }
        for (size_t e = 0; e < n; e++) {
            if (fabs(segments[e].x - (left + (double)i * column_width)) > 0.02) continue;
            if (strcmp(segments[e].role, "segment raises") == 0) {
                red += segments[e].height;
                red_top = fmin(red_top, segments[e].y);
            } else {
                blue += segments[e].height;
                blue_bottom = fmax(blue_bottom, segments[e].y + segments[e].height);
            }
        }
        if (i == 0) scale = red / raised;
        if (fabs(red - scale * raised) > 0.05 || fabs(blue - scale * lowered) > 0.05)
            fail_msg("column %zu (row %zu): %.2f red for %.5f, %.2f blue for %.5f", i, rows[i],
                     red, raised, blue, lowered);
        /* Both stacks meet at the line's point for this column, at f(x). */
        if (raised > 0) assert_true(fabs(red_top - line[0][2 * i + 1]) < 0.05);
        if (lowered > 0) assert_true(fabs(blue_bottom - line[0][2 * i + 1]) < 0.05);
        if (i > 0) assert_true(line[0][2 * i + 1] <= line[0][2 * i - 1] + 1e-9); /* rising output */
    }
    free(svg);
    options.order = "sideways";
    assert_int_equal(gbx_plot(EXPLANATION, &options, path, &error), GBX_ERR_USAGE);
    assert_non_null(strstr(error.message, "similarity, output or original"));
    options.order = NULL;
    options.rows_last = 100000;
    assert_int_equal(gbx_plot(EXPLANATION, &options, path, &error), GBX_ERR_USAGE);
    remove(path);
}

/* Dependence: on a hand-made explanation where feature a's value is x_a times (x_c - 4.5),
 * the colouring feature chosen is c (not b, which is noise and comes first); dots sit at
 * (x_a, value) on two linear axes, coloured by x_c; --color none draws them in one colour. */
static void test_dependence_finds_the_interaction(void **state)
{
    (void)state;
    const char *json = "/tmp/glassbox-test-dependence.json", *path = "/tmp/glassbox-test-dependence.svg";
    enum { N = 300 };
    static double x[N][3], v[N][3];
    unsigned long long seed = 7;
    FILE *f = fopen(json, "w");
    fprintf(f, "{\"format\": \"glassbox.explanation/1\", \"method\": \"test\", \"model\": {}, "
               "\"rows\": %d, \"feature_names\": [\"a\", \"b\", \"c\"], \"output_names\": [\"y\"]", N);
    for (int r = 0; r < N; r++) {
        for (int j = 0; j < 3; j++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            x[r][j] = (double)(seed >> 11) / 9007199254740992.0;
        }
        x[r][2] = floor(x[r][2] * 10);
        v[r][0] = x[r][0] * (x[r][2] - 4.5);
        v[r][1] = 0.1 * (x[r][1] - 0.5);
        v[r][2] = 0.01 * x[r][2];
    }
    const char *keys[] = {"values", "base_values", "predictions", "data"};
    for (int key = 0; key < 4; key++) {
        fprintf(f, ", \"%s\": [", keys[key]);
        for (int r = 0; r < N; r++) {
            double sum = v[r][0] + v[r][1] + v[r][2];
            if (key == 0) fprintf(f, "%s[[%.17g, %.17g, %.17g]]", r ? ", " : "", v[r][0], v[r][1], v[r][2]);
            if (key == 1) fprintf(f, "%s[0]", r ? ", " : "");
            if (key == 2) fprintf(f, "%s[%.17g]", r ? ", " : "", sum);
            if (key == 3) fprintf(f, "%s[%.17g, %.17g, %.17g]", r ? ", " : "", x[r][0], x[r][1], x[r][2]);
        }
        fputs("]", f);
    }
    fputs("}\n", f);
    fclose(f);
    gbx_plot_options options;
    gbx_plot_options_init(&options);
    options.kind = "dependence";
    options.feature = "a";
    gbx_error error;
    assert_int_equal(gbx_plot(json, &options, path, &error), GBX_OK);
    char *svg = read_text(path);
    assert_non_null(strstr(svg, ">coloured by c (its strongest interaction, as shap picks it)<"));
    double cx[N], cy[N];
    char fill[N][8];
    const char *at = svg;
    for (int r = 0; r < N; r++) {
        at = strstr(at + 1, "<circle class=\"dot\"");
        assert_non_null(at);
        cx[r] = atof(strstr(at, "cx=\"") + 4);
        cy[r] = atof(strstr(at, "cy=\"") + 4);
        memcpy(fill[r], strstr(at, "fill=\"") + 6, 7);
        fill[r][7] = 0;
    }
    assert_null(strstr(at + 1, "<circle class=\"dot\""));
    /* Two linear maps, fitted on rows 0 and 1, hold for every row (y grows downward). */
    double sx = (cx[1] - cx[0]) / (x[1][0] - x[0][0]), sy = (cy[1] - cy[0]) / (v[1][0] - v[0][0]);
    assert_true(sx > 0 && sy < 0);
    for (int r = 0; r < N; r++) {
        if (fabs(cx[r] - (cx[0] + sx * (x[r][0] - x[0][0]))) > 0.02) fail_msg("dot %d x", r);
        if (fabs(cy[r] - (cy[0] + sy * (v[r][0] - v[0][0]))) > 0.02) fail_msg("dot %d y", r);
        /* c is 0..9: at or below its 5th percentile blue, at or above its 95th red. */
        if (x[r][2] == 0) assert_string_equal(fill[r], "#008bfb");
        if (x[r][2] == 9) assert_string_equal(fill[r], "#ff0051");
    }
    free(svg);
    options.color = "b";
    assert_int_equal(gbx_plot(json, &options, path, &error), GBX_OK);
    svg = read_text(path);
    assert_non_null(strstr(svg, ">coloured by b<"));
    free(svg);
    options.color = "none";
    assert_int_equal(gbx_plot(json, &options, path, &error), GBX_OK);
    svg = read_text(path);
    assert_int_equal(strstr(svg, "fill=\"#ff0051\"") == NULL, 1);
    free(svg);
    options.color = "d";
    assert_int_equal(gbx_plot(json, &options, path, &error), GBX_ERR_USAGE);
    assert_non_null(strstr(error.message, "no feature \"d\""));
    remove(json);
    remove(path);
}

/* Bar by cohort: a 0/1 column makes two cohorts; each cohort's bar for a feature is the mean
 * |value| over that cohort's rows, on one scale; a column with many values is cut at its
 * quartiles; an unknown column is refused. */
static void test_bar_cohorts_average_their_rows(void **state)
{
    (void)state;
    const char *path = "/tmp/glassbox-test-cohorts.svg";
    gbx_plot_options options;
    gbx_plot_options_init(&options);
    options.kind = "bar";
    options.cohort = "Telephone";
    options.max_display = 4;
    gbx_error error;
    assert_int_equal(gbx_plot(EXPLANATION, &options, path, &error), GBX_OK);
    char *svg = read_text(path);
    size_t n = gbx_explanation_rows(explanation), M = gbx_explanation_features(explanation);
    const double *values = gbx_explanation_values(explanation), *x = gbx_data_values(data);
    long phone = -1;
    for (size_t j = 0; j < M; j++)
        if (strcmp(gbx_model_feature_name(model, j), "Telephone") == 0) phone = (long)j;
    assert_true(phone >= 0);
    element low[8], high[8];
    assert_int_equal(elements(svg, "rect", "bar cohort-0", low, 8), 4);
    assert_int_equal(elements(svg, "rect", "bar cohort-1", high, 8), 4);
    assert_int_equal(elements(svg, "rect", "bar cohort-2", high + 4, 4), 0);
    double mean[2][80] = {{0}}, overall[80] = {0};
    size_t size[2] = {0, 0};
    for (size_t r = 0; r < n; r++) size[x[r * M + (size_t)phone] != 0]++;
    for (size_t r = 0; r < n; r++)
        for (size_t f = 0; f < M; f++) {
            int g = x[r * M + (size_t)phone] != 0;
            mean[g][f] += fabs(values[r * M + f]) / (double)size[g];
            overall[f] += fabs(values[r * M + f]);
        }
    size_t order[80];
    by_magnitude(overall, M, order);
    double scale = low[0].width / mean[0][order[0]];
    for (size_t b = 0; b < 4; b++)
        for (int g = 0; g < 2; g++) {
            double expected = 0;
            for (size_t i = b; i < (b < 3 ? b + 1 : M); i++) expected += mean[g][order[i]];
            double got = (g ? high : low)[b].width;
            if (fabs(got - scale * expected) > 0.03)
                fail_msg("feature row %zu, cohort %d: %.2f for %.6f", b, g, got, expected);
        }
    char legend[64];
    snprintf(legend, sizeof legend, "Telephone = 0 (%zu rows)", size[0]);
    assert_non_null(strstr(svg, legend));
    free(svg);
    options.cohort = "Amount";
    assert_int_equal(gbx_plot(EXPLANATION, &options, path, &error), GBX_OK);
    svg = read_text(path);
    assert_int_equal(elements(svg, "rect", "bar cohort-3", low, 8), 4);
    assert_int_equal(elements(svg, "rect", "bar cohort-4", low, 8), 0);
    free(svg);
    options.cohort = "Height";
    assert_int_equal(gbx_plot(EXPLANATION, &options, path, &error), GBX_ERR_USAGE);
    assert_non_null(strstr(error.message, "no column \"Height\""));
    remove(path);
}

/* Heatmap, rows by output: f(x) rises along the line; each cell is white to red for a
 * positive value and white to blue for a negative one, as saturated as |value| over the
 * clipping level the subtitle states (at most 1). */
static void test_heatmap_colours_every_cell(void **state)
{
    (void)state;
    const char *path = "/tmp/glassbox-test-heatmap.svg";
    gbx_plot_options options;
    gbx_plot_options_init(&options);
    options.kind = "heatmap";
    options.order = "output";
    options.max_display = 5;
    gbx_error error;
    assert_int_equal(gbx_plot(EXPLANATION, &options, path, &error), GBX_OK);
    char *svg = read_text(path);
    size_t n = gbx_explanation_rows(explanation), M = gbx_explanation_features(explanation);
    const double *values = gbx_explanation_values(explanation);
    const double *predictions = gbx_explanation_predictions(explanation);
    static double line[1][2 * 80];
    size_t count;
    /* 1,000 rows: every one is a column (the sampling limit). */
    char *cells_start = strstr(svg, "<rect class=\"cell\"");
    assert_non_null(cells_start);
    size_t cells = 0;
    for (const char *at = cells_start; at; at = strstr(at + 1, "<rect class=\"cell\"")) cells++;
    assert_int_equal(cells, 5 * n);
    /* The f(x) line rises (its y falls) along the first 80 columns read. */
    assert_int_equal(polylines(svg, "prediction", line, &count, 1), 1);
    for (size_t i = 1; i < count; i++) assert_true(line[0][2 * i + 1] <= line[0][2 * i - 1] + 1e-9);
    const char *clip_text = strstr(svg, "colours clipped at |value| ");
    assert_non_null(clip_text);
    double clip = atof(clip_text + strlen("colours clipped at |value| "));
    assert_true(clip > 0);
    /* Rows by prediction (ties by row), features by mean |value|. */
    size_t *rows = malloc(n * sizeof *rows), *order = malloc(M * sizeof *order);
    double *mean = calloc(M, sizeof *mean);
    for (size_t r = 0; r < n; r++) {
        rows[r] = r;
        for (size_t f = 0; f < M; f++) mean[f] += fabs(values[r * M + f]);
    }
    by_magnitude(mean, M, order);
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && predictions[rows[j - 1]] > predictions[rows[j]]; j--) {
            size_t t = rows[j];
            rows[j] = rows[j - 1];
            rows[j - 1] = t;
        }
    const char *at = cells_start;
    for (size_t b = 0; b < 5; b++)
        for (size_t i = 0; i < n; i++, at = strstr(at + 1, "<rect class=\"cell\"")) {
            double v;
            if (b < 4) v = values[rows[i] * M + order[b]];
            else {
                v = 0;
                for (size_t j = 4; j < M; j++) v += values[rows[i] * M + order[j]];
            }
            unsigned red, green, blue;
            assert_int_equal(sscanf(strstr(at, "fill=\"#") + 7, "%2x%2x%2x", &red, &green, &blue), 3);
            double saturation = fmin(fabs(v) / clip, 1);
            if (v > 0) {
                assert_int_equal(red, 255);
                if (fabs((1 - green / 255.0) - saturation) > 0.01)
                    fail_msg("band %zu column %zu: green %u for %.5f", b, i, green, v);
            } else if (v < 0) {
                assert_true(red <= 255 && blue >= 250);
                if (fabs((1 - red / 255.0) - saturation) > 0.01)
                    fail_msg("band %zu column %zu: red %u for %.5f", b, i, red, v);
            }
        }
    /* The clipping level is the 99th percentile of the cells' |value| (to 4 digits). */
    double *magnitudes = malloc(5 * n * sizeof *magnitudes);
    for (size_t r = 0; r < n; r++) {
        double rest = 0;
        for (size_t j = 4; j < M; j++) rest += values[r * M + order[j]];
        for (size_t b = 0; b < 5; b++) magnitudes[b * n + r] = fabs(b < 4 ? values[r * M + order[b]] : rest);
    }
    for (size_t i = 1; i < 5 * n; i++) /* insertion sort: the test's own ordering */
        for (size_t j = i; j > 0 && magnitudes[j - 1] > magnitudes[j]; j--) {
            double t = magnitudes[j];
            magnitudes[j] = magnitudes[j - 1];
            magnitudes[j - 1] = t;
        }
    double expected_clip = magnitudes[(size_t)floor(0.99 * (double)(5 * n - 1))];
    if (fabs(clip - expected_clip) > 5e-4 * expected_clip)
        fail_msg("clipped at %.6g, the 99th percentile is %.6g", clip, expected_clip);
    free(magnitudes);
    free(rows), free(order), free(mean);
    free(svg);
    remove(path);
}

/* Writes a one-row explanation of an image input with the given shape, its pixels x and
 * values v (feature i = the flattened input's i-th value). */
static void write_image_explanation(const char *path, const char *shape, const double *x,
                                    const double *v, size_t n)
{
    FILE *f = fopen(path, "w");
    fprintf(f, "{\"format\": \"glassbox.explanation/1\", \"method\": \"test\", \"model\": "
               "{}, \"rows\": 1, \"input_shape\": %s, \"output_names\": [\"y\"], \"feature_names\": [",
            shape);
    for (size_t i = 0; i < n; i++) fprintf(f, "%s\"x%zu\"", i ? ", " : "", i);
    fputs("], \"values\": [[[", f);
    for (size_t i = 0; i < n; i++) fprintf(f, "%s%.17g", i ? ", " : "", v[i]);
    fputs("]]], \"base_values\": [[0]], \"predictions\": [[1]], \"data\": [[", f);
    for (size_t i = 0; i < n; i++) fprintf(f, "%s%.17g", i ? ", " : "", x[i]);
    fputs("]]}\n", f);
    fclose(f);
}

static void fill_of(const char *at, unsigned *rgb)
{
    assert_int_equal(sscanf(strstr(at, "fill=\"#") + 7, "%2x%2x%2x", &rgb[0], &rgb[1], &rgb[2]), 3);
}

/* Image: a grey 4 x 5 input (channels first) is drawn pixel by pixel in row order, its values
 * stretched to black..white; the attribution panel is white to red or blue by the value's
 * sign; a 2 x 3 RGB input with channels last keeps its colours; a tabular explanation is
 * refused. */
static void test_image_panels_follow_the_pixels(void **state)
{
    (void)state;
    const char *json = "/tmp/glassbox-test-image.json", *path = "/tmp/glassbox-test-image.svg";
    double x[20], v[20];
    for (int i = 0; i < 20; i++) {
        x[i] = (double)((i * 7) % 20) / 19.0 * 2 - 1; /* -1..1, shuffled */
        v[i] = (i % 3 == 0 ? -1 : 1) * (double)(i + 1);
    }
    write_image_explanation(json, "[1, 4, 5]", x, v, 20);
    gbx_plot_options options;
    gbx_plot_options_init(&options);
    options.kind = "image";
    gbx_error error;
    assert_int_equal(gbx_plot(json, &options, path, &error), GBX_OK);
    char *svg = read_text(path);
    element pixels[20], attributions[20], blends[20];
    assert_int_equal(elements(svg, "rect", "pixel", pixels, 20), 20);
    assert_int_equal(elements(svg, "rect", "attribution", attributions, 20), 20);
    assert_int_equal(elements(svg, "rect", "blend", blends, 20), 20);
    const char *at = strstr(svg, "<rect class=\"pixel\"");
    const char *mark = strstr(svg, "<rect class=\"attribution\"");
    for (int i = 0; i < 20; i++, at = strstr(at + 1, "<rect class=\"pixel\""),
             mark = strstr(mark + 1, "<rect class=\"attribution\"")) {
        /* Row-major positions on a square grid (each cell drawn 0.6 wider, to leave no seam). */
        double cell = pixels[0].width - 0.6;
        assert_true(fabs(pixels[i].x - (pixels[0].x + (i % 5) * cell)) < 0.02);
        assert_true(fabs(pixels[i].y - (pixels[0].y + (double)(i / 5) * cell)) < 0.02);
        unsigned rgb[3];
        fill_of(at, rgb);
        assert_int_equal(rgb[0], rgb[1]);
        assert_int_equal(rgb[1], rgb[2]);
        if (fabs(rgb[0] / 255.0 - (x[i] + 1) / 2) > 0.003) fail_msg("pixel %d: grey %u for %.3f", i, rgb[0], x[i]);
        fill_of(mark, rgb);
        if (v[i] > 0) assert_int_equal(rgb[0], 255);
        else assert_true(rgb[2] >= 250 && rgb[0] < 255);
    }
    free(svg);
    /* Channels last, three of them: the input keeps its colours. */
    double rgb_x[18], rgb_v[18];
    for (int i = 0; i < 18; i++) rgb_x[i] = i % 3 == 0 ? 1 : 0, rgb_v[i] = 1; /* pure red */
    rgb_x[17] = 0.5;
    write_image_explanation(json, "[2, 3, 3]", rgb_x, rgb_v, 18);
    assert_int_equal(gbx_plot(json, &options, path, &error), GBX_OK);
    svg = read_text(path);
    unsigned rgb[3];
    fill_of(strstr(svg, "<rect class=\"pixel\""), rgb);
    assert_true(rgb[0] == 255 && rgb[1] == 0 && rgb[2] == 0);
    free(svg);
    remove(json);
    assert_int_equal(gbx_plot(EXPLANATION, &options, path, &error), GBX_ERR_USAGE);
    assert_non_null(strstr(error.message, "no input_shape"));
    remove(path);
}

/* Text: each token a span in its row's paragraph, its word from the vocabulary (the empty
 * padding entry left out), coloured by the sign of its value, the value kept; an id outside
 * the vocabulary and a non-HTML output are refused. */
static void test_text_highlights_tokens(void **state)
{
    (void)state;
    const char *json = "/tmp/glassbox-test-text.json", *path = "/tmp/glassbox-test-text.html";
    const char *words = "/tmp/glassbox-test-vocabulary.txt";
    FILE *f = fopen(json, "w");
    fputs("{\"format\": \"glassbox.explanation/1\", \"method\": \"test\", \"model\": {}, "
          "\"rows\": 2, \"feature_names\": [\"t0\", \"t1\", \"t2\", \"t3\"], \"output_names\": [\"y\"], "
          "\"values\": [[[1, -0.5, 0.25, 0]], [[0, 0, -2, 0.5]]], \"base_values\": [[0], [0]], "
          "\"predictions\": [[0.75], [-1.5]], \"data\": [[2, 0, 1, 3], [3, 3, 2, 4]]}", f);
    fclose(f);
    f = fopen(words, "w");
    fputs("\n[UNK]\nhello\n<world>\n", f);
    fclose(f);
    gbx_plot_options options;
    gbx_plot_options_init(&options);
    options.kind = "text";
    options.vocabulary = words;
    gbx_error error;
    assert_int_equal(gbx_plot(json, &options, path, &error), GBX_OK);
    char *html = read_text(path);
    assert_non_null(strstr(html, "Content-Security-Policy"));
    const char *row = strstr(html, "<p class=\"row\" data-row=\"0\">");
    assert_non_null(row);
    const char *end = strstr(row, "</p>");
    const char *expected_words[] = {"hello", "[UNK]", "&lt;world&gt;"};
    const double expected_values[] = {1, 0.25, 0};
    const char *at = row;
    for (int i = 0; i < 3; i++) {
        at = strstr(at + 1, "<span class=\"token\"");
        assert_non_null(at);
        assert_true(at < end);
        unsigned rgb[3];
        assert_int_equal(sscanf(strstr(at, "background:#") + 12, "%2x%2x%2x", &rgb[0], &rgb[1], &rgb[2]), 3);
        if (expected_values[i] > 0) assert_true(rgb[0] == 255 && rgb[1] < 255);
        else assert_true(rgb[0] == 255 && rgb[1] == 255 && rgb[2] == 255);
        assert_true(fabs(atof(strstr(at, "data-value=\"") + 12) - expected_values[i]) < 1e-12);
        char word[64];
        snprintf(word, sizeof word, ">%s</span>", expected_words[i]);
        assert_memory_equal(strchr(at, '>'), word, strlen(word));
    }
    const char *next = strstr(at + 1, "<span class=\"token\"");
    assert_true(!next || next > end); /* the padding token is left out */
    free(html);
    /* Row 1 has the id 4, which the vocabulary lacks: refused, nothing written. */
    remove(path);
    options.rows_last = 2;
    assert_int_equal(gbx_plot(json, &options, path, &error), GBX_ERR_USAGE);
    assert_non_null(strstr(error.message, "token 4 is not in the vocabulary"));
    assert_null(fopen(path, "r"));
    options.vocabulary = NULL;
    assert_int_equal(gbx_plot(json, &options, path, &error), GBX_OK);
    html = read_text(path);
    assert_non_null(strstr(html, ">4</span>"));
    free(html);
    assert_int_equal(gbx_plot(json, &options, "/tmp/glassbox-test-text.svg", &error), GBX_ERR_USAGE);
    assert_non_null(strstr(error.message, "written as .html"));
    remove(json), remove(words), remove(path);
}

/* Histogram: a feature with few values gets a bar per value, each as tall as its count; one
 * with many gets bins whose counts add up to the rows; the marked bar holds the row's value
 * and the marker is coloured by the sign of the row's value for the feature. */
static void test_histogram_counts_rows(void **state)
{
    (void)state;
    const char *path = "/tmp/glassbox-test-histogram.svg";
    size_t n = gbx_explanation_rows(explanation), M = gbx_explanation_features(explanation);
    const double *x = gbx_data_values(data), *values = gbx_explanation_values(explanation);
    long rate = -1, amount = -1;
    for (size_t j = 0; j < M; j++) {
        if (strcmp(gbx_model_feature_name(model, j), "InstallmentRatePercentage") == 0) rate = (long)j;
        if (strcmp(gbx_model_feature_name(model, j), "Amount") == 0) amount = (long)j;
    }
    assert_true(rate >= 0 && amount >= 0);
    gbx_plot_options options;
    gbx_plot_options_init(&options);
    options.kind = "histogram";
    options.row = 7;
    options.feature = "InstallmentRatePercentage";
    gbx_error error;
    assert_int_equal(gbx_plot(EXPLANATION, &options, path, &error), GBX_OK);
    char *svg = read_text(path);
    element bins[40], ticks[40], marker[1];
    size_t count = elements(svg, "rect", "bin", bins, 40);
    assert_int_equal(count, 4); /* the instalment rate is 1, 2, 3 or 4 */
    /* The value labels come first, then the count axis's. */
    assert_true(elements(svg, "text", "tick-label", ticks, 40) > 4);
    size_t per_value[5] = {0};
    for (size_t r = 0; r < n; r++) per_value[(size_t)x[r * M + (size_t)rate]]++;
    double per_row = bins[0].height / (double)per_value[1];
    for (size_t b = 0; b < 4; b++) {
        char label[8];
        snprintf(label, sizeof label, "%zu", b + 1);
        assert_string_equal(ticks[b].text, label);
        if (fabs(bins[b].height - per_row * (double)per_value[b + 1]) > 0.02)
            fail_msg("bar %zu is %.2f high for %zu rows", b, bins[b].height, per_value[b + 1]);
        assert_true(bins[b].x > (b ? bins[b - 1].x : 0));
    }
    size_t marked = (size_t)x[7 * M + (size_t)rate] - 1;
    assert_string_equal(bins[marked].role, "bin marked");
    for (size_t b = 0; b < 4; b++)
        if (b != marked) assert_string_equal(bins[b].role, "bin");
    assert_int_equal(elements(svg, "line", "marker", marker, 1), 1);
    const char *stroke = strstr(strstr(svg, "<line class=\"marker\""), "stroke=\"") + 8;
    assert_memory_equal(stroke, values[7 * M + (size_t)rate] >= 0 ? "#ff0051" : "#008bfb", 7);
    assert_true(marker[0].x1 > bins[marked].x && marker[0].x1 < bins[marked].x + bins[marked].width);
    free(svg);

    /* Many values: binned; the heights add up to every row, the marker inside its bar. */
    options.feature = "Amount";
    assert_int_equal(gbx_plot(EXPLANATION, &options, path, &error), GBX_OK);
    svg = read_text(path);
    count = elements(svg, "rect", "bin", bins, 40);
    assert_true(count >= 8 && count <= 30);
    double tallest = 0, total = 0;
    for (size_t b = 0; b < count; b++) total += bins[b].height, tallest = fmax(tallest, bins[b].height);
    size_t most = 0;
    double low = INFINITY, high = -INFINITY;
    for (size_t r = 0; r < n; r++) low = fmin(low, x[r * M + (size_t)amount]), high = fmax(high, x[r * M + (size_t)amount]);
    size_t *counts = calloc(count, sizeof *counts);
    for (size_t r = 0; r < n; r++) {
        size_t b = (size_t)fmin((double)count - 1, floor((x[r * M + (size_t)amount] - low) / (high - low) * (double)count));
        if (++counts[b] > most) most = counts[b];
    }
    for (size_t b = 0; b < count; b++)
        if (fabs(bins[b].height - tallest * (double)counts[b] / (double)most) > 0.02)
            fail_msg("bin %zu is %.2f high for %zu rows", b, bins[b].height, counts[b]);
    assert_true(fabs(total / tallest * (double)most - (double)n) < 0.5);
    assert_int_equal(elements(svg, "line", "marker", marker, 1), 1);
    size_t at = 0;
    for (size_t b = 0; b < count; b++)
        if (strcmp(bins[b].role, "bin marked") == 0) at = b;
    assert_true(marker[0].x1 >= bins[at].x - 0.5 && marker[0].x1 <= bins[at].x + bins[at].width + 0.5);
    free(counts);
    free(svg);
    remove(path);

    options.feature = "amount";
    assert_int_equal(gbx_plot(EXPLANATION, &options, path, &error), GBX_ERR_USAGE);
    assert_non_null(strstr(error.message, "no feature \"amount\" (did you mean \"Amount\""));
    options.feature = NULL;
    assert_int_equal(gbx_plot(EXPLANATION, &options, path, &error), GBX_ERR_USAGE);
    assert_non_null(strstr(error.message, "options.feature"));
}

/* Every kind drawn to PNG is the right size and not blank: ink covers a fair part of it. */
static void test_every_kind_renders_to_png(void **state)
{
    (void)state;
    static const char *const kinds[] = {"waterfall", "force", "decision", "bar", "beeswarm",
                                        "dependence", "heatmap", "histogram"};
    const char *path = "/tmp/glassbox-test-kind.png";
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        gbx_plot_options options;
        gbx_plot_options_init(&options);
        options.kind = kinds[i];
        options.row = 2;
        options.rows_last = strcmp(kinds[i], "decision") == 0 ? 40 : 0;
        options.feature = "Duration";
        gbx_error error;
        if (gbx_plot(EXPLANATION, &options, path, &error) != GBX_OK) fail_msg("%s: %s", kinds[i], error.message);
        png_image image;
        memset(&image, 0, sizeof image);
        image.version = PNG_IMAGE_VERSION;
        assert_true(png_image_begin_read_from_file(&image, path));
        image.format = PNG_FORMAT_GRAY;
        unsigned char *pixels = malloc(PNG_IMAGE_SIZE(image));
        assert_true(png_image_finish_read(&image, NULL, pixels, 0, NULL));
        assert_true(image.width >= 1000 && image.height >= 300);
        size_t inked = 0, count = (size_t)image.width * image.height;
        for (size_t p = 0; p < count; p++) inked += pixels[p] < 240;
        if (inked < count / 50) fail_msg("%s: only %zu of %zu pixels inked", kinds[i], inked, count);
        free(pixels);
    }
    remove(path);
}

static void test_bad_requests_are_refused(void **state)
{
    (void)state;
    gbx_plot_options options;
    gbx_plot_options_init(&options);
    gbx_error error;
    options.row = 5000;
    assert_int_equal(gbx_plot(EXPLANATION, &options, "/tmp/x.svg", &error), GBX_ERR_USAGE);
    assert_non_null(strstr(error.message, "there is no row 5000"));
    options.row = 0;
    options.kind = "pie";
    assert_int_equal(gbx_plot(EXPLANATION, &options, "/tmp/x.svg", &error), GBX_ERR_USAGE);
    assert_non_null(strstr(error.message, "unknown plot kind"));
    options.kind = "bar";
    assert_int_equal(gbx_plot(EXPLANATION, &options, "/tmp/x.gif", &error), GBX_ERR_USAGE);
    assert_non_null(strstr(error.message, ".svg, .png or .pdf"));
    options.output_name = "class_9";
    assert_int_equal(gbx_plot(EXPLANATION, &options, "/tmp/x.svg", &error), GBX_ERR_USAGE);
    assert_non_null(strstr(error.message, "no output named"));
    options.output_name = NULL;
    assert_int_not_equal(gbx_plot("examples/data/german_credit.csv", &options, "/tmp/x.svg",
                                  &error), GBX_OK);
    assert_non_null(strstr(error.message, "not a glassbox explanation file"));
    /* A file cut short is refused, and an existing plot is left as it was. */
    FILE *f = fopen("/tmp/x.svg", "w");
    fputs("kept", f);
    fclose(f);
    char *whole = read_text(EXPLANATION);
    f = fopen("/tmp/glassbox-test-cut.json", "w");
    fwrite(whole, 1, strlen(whole) / 2, f);
    fclose(f);
    assert_int_not_equal(gbx_plot("/tmp/glassbox-test-cut.json", &options, "/tmp/x.svg", &error),
                         GBX_OK);
    char *kept = read_text("/tmp/x.svg");
    assert_string_equal(kept, "kept");
    free(kept);
    free(whole);
    remove("/tmp/glassbox-test-cut.json");
    /* A missing value is allowed in the data rows only, never in the values. */
    f = fopen("/tmp/glassbox-test-null.json", "w");
    fputs("{\"format\": \"glassbox.explanation/1\", \"model\": {}, \"rows\": 1, "
          "\"feature_names\": [\"a\"], \"output_names\": [\"y\"], \"values\": [[[null]]], "
          "\"base_values\": [[0]], \"predictions\": [[0]]}", f);
    fclose(f);
    assert_int_not_equal(gbx_plot("/tmp/glassbox-test-null.json", &options, "/tmp/x.svg", &error),
                         GBX_OK);
    assert_non_null(strstr(error.message, "\"values\" holds something other than a finite number"));
    remove("/tmp/glassbox-test-null.json");
    remove("/tmp/x.svg");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_waterfall_chains_from_base_to_prediction),
        cmocka_unit_test(test_bar_lengths_follow_mean_magnitude),
        cmocka_unit_test(test_beeswarm_places_every_row),
        cmocka_unit_test(test_force_blocks_meet_at_prediction),
        cmocka_unit_test(test_histogram_counts_rows),
        cmocka_unit_test(test_decision_lines_climb_to_predictions),
        cmocka_unit_test(test_dependence_finds_the_interaction),
        cmocka_unit_test(test_heatmap_colours_every_cell),
        cmocka_unit_test(test_bar_cohorts_average_their_rows),
        cmocka_unit_test(test_image_panels_follow_the_pixels),
        cmocka_unit_test(test_text_highlights_tokens),
        cmocka_unit_test(test_force_labels_do_not_overlap),
        cmocka_unit_test(test_force_rows_stack_at_predictions),
        cmocka_unit_test(test_png_and_pdf_are_drawn),
        cmocka_unit_test(test_every_kind_renders_to_png),
        cmocka_unit_test(test_bad_requests_are_refused),
    };
    return cmocka_run_group_tests(tests, write_explanation, clean_up);
}
