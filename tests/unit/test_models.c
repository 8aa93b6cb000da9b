/* Conformance: every committed fixture (models trained by XGBoost, LightGBM; references from
 * the libraries' own predict / pred_contribs / pred_interactions and shap's TreeExplainer) must
 * be reproduced. Fixtures come from tests/conformance/generate.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "glassbox.h"

#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIXTURES "tests/conformance/fixtures/"

/* Tolerances: XGBoost accumulates in float32, so its numbers carry ~1e-7 relative noise scaled
 * by the size of the margin; shap and LightGBM work in double. */
#define PREDICT_TOLERANCE 1e-6
#define VALUE_TOLERANCE 1e-5
#define ADDITIVITY_TOLERANCE 1e-9

typedef struct {
    size_t rows, columns;
    double *values;
} table;

static table read_table(const char *file)
{
    char path[512];
    snprintf(path, sizeof path, FIXTURES "%s", file);
    gbx_data *data = NULL;
    gbx_error error;
    if (gbx_data_read_csv(path, NULL, &data, &error) != GBX_OK) fail_msg("%s", error.message);
    table t = {gbx_data_rows(data), gbx_data_columns(data), NULL};
    t.values = malloc(t.rows * t.columns * sizeof(double));
    memcpy(t.values, gbx_data_values(data), t.rows * t.columns * sizeof(double));
    gbx_data_free(data);
    return t;
}

static json_object *member(json_object *o, const char *key)
{
    json_object *v = NULL;
    json_object_object_get_ex(o, key, &v);
    return v;
}

static const char *reference_file(json_object *fixture, const char *key)
{
    json_object *r = member(member(fixture, "references"), key);
    return r ? json_object_get_string(member(r, "file")) : NULL;
}

/* |actual - expected| <= tolerance * max(|expected|, scale) */
static void expect_close(const char *fixture, const char *what, size_t index, double actual,
                         double expected, double tolerance, double scale)
{
    double limit = tolerance * fmax(fabs(expected), scale);
    if (!(fabs(actual - expected) <= limit))
        fail_msg("%s: %s[%zu]: glassbox %.17g, reference %.17g (difference %.3g, limit %.3g)",
                 fixture, what, index, actual, expected, fabs(actual - expected), limit);
}

static double row_scale(const double *values, size_t count)
{
    double largest = 1e-3;
    for (size_t i = 0; i < count; i++) largest = fmax(largest, fabs(values[i]));
    return largest;
}

static gbx_explanation *explain(const gbx_model *model, const gbx_data *data,
                                gbx_explainer_options *options)
{
    gbx_explainer *explainer;
    gbx_explanation *explanation;
    gbx_error error;
    if (gbx_explainer_create(model, options, &explainer, &error)) fail_msg("%s", error.message);
    if (gbx_explainer_explain(explainer, data, &explanation, &error)) fail_msg("%s", error.message);
    gbx_explainer_free(explainer);
    return explanation;
}

/* Compares values [n][K][M] with a reference laid out as n*K rows of M (+1 bias) columns. */
static void compare_values(const char *name, const char *what, const gbx_explanation *e,
                           const table *reference, double scale_reference, int has_bias,
                           const double *expected_base)
{
    size_t n = gbx_explanation_rows(e), K = gbx_explanation_outputs(e),
           M = gbx_explanation_features(e);
    assert_int_equal(reference->rows, n * K);
    assert_int_equal(reference->columns, M + (has_bias ? 1 : 0));
    const double *values = gbx_explanation_values(e), *base = gbx_explanation_base_values(e);
    for (size_t rk = 0; rk < n * K; rk++) {
        const double *expected = reference->values + rk * reference->columns;
        double scale = row_scale(expected, M) * scale_reference;
        for (size_t f = 0; f < M; f++)
            expect_close(name, what, rk * M + f, values[rk * M + f], expected[f] * scale_reference,
                         VALUE_TOLERANCE, scale);
        if (has_bias)
            expect_close(name, "base value", rk, base[rk], expected[M] * scale_reference,
                         VALUE_TOLERANCE, scale);
        if (expected_base)
            expect_close(name, "expected value", rk, base[rk], expected_base[rk % K],
                         VALUE_TOLERANCE, 1.0);
    }
}

static void check_additivity(const char *name, const gbx_explanation *e)
{
    size_t n = gbx_explanation_rows(e), K = gbx_explanation_outputs(e),
           M = gbx_explanation_features(e);
    for (size_t rk = 0; rk < n * K; rk++) {
        double sum = gbx_explanation_base_values(e)[rk];
        for (size_t f = 0; f < M; f++) sum += gbx_explanation_values(e)[rk * M + f];
        expect_close(name, "local accuracy", rk, sum, gbx_explanation_predictions(e)[rk],
                     ADDITIVITY_TOLERANCE, 1.0);
    }
}

static void check_fixture(json_object *fixture)
{
    const char *name = json_object_get_string(member(fixture, "name"));
    char path[512];
    snprintf(path, sizeof path, FIXTURES "%s", json_object_get_string(member(fixture, "model")));
    gbx_model *model = NULL;
    gbx_error error;
    gbx_status status = gbx_model_load(path, &model, &error);
    json_object *expect_error = member(fixture, "expect_error");
    if (expect_error) {
        assert_int_not_equal(status, GBX_OK);
        if (!strstr(error.message, json_object_get_string(expect_error)))
            fail_msg("%s: message \"%s\" lacks \"%s\"", name, error.message,
                     json_object_get_string(expect_error));
        return;
    }
    if (status) fail_msg("%s: %s", name, error.message);
    size_t K = gbx_model_outputs(model), M = gbx_model_features(model);
    assert_int_equal(K, json_object_get_int(member(fixture, "outputs")));
    assert_int_equal(M, json_object_get_int(member(fixture, "features")));
    json_object *raw_scale_json = member(fixture, "library_raw_scale");
    double raw_scale = raw_scale_json ? json_object_get_double(raw_scale_json) : 1.0;

    snprintf(path, sizeof path, FIXTURES "%s", json_object_get_string(member(fixture, "data")));
    gbx_data *data;
    if (gbx_data_read_csv(path, model, &data, &error)) fail_msg("%s: %s", name, error.message);
    size_t n = gbx_data_rows(data);

    /* Predictions, transformed and raw. */
    double *predictions = malloc(n * K * sizeof(double));
    table reference = read_table(reference_file(fixture, "predict"));
    assert_int_equal(gbx_model_predict(model, data, 0, predictions, &error), GBX_OK);
    if (reference.columns == 1 && K > 1) { /* multi:softmax predicts the class */
        for (size_t r = 0; r < n; r++) {
            size_t best = 0;
            for (size_t k = 1; k < K; k++)
                if (predictions[r * K + k] > predictions[r * K + best]) best = k;
            assert_int_equal(best, (size_t)reference.values[r]);
        }
    } else {
        for (size_t i = 0; i < n * K; i++)
            expect_close(name, "predict", i, predictions[i], reference.values[i],
                         PREDICT_TOLERANCE, 1.0);
    }
    free(reference.values);
    reference = read_table(reference_file(fixture, "margin"));
    assert_int_equal(gbx_model_predict(model, data, 1, predictions, &error), GBX_OK);
    for (size_t i = 0; i < n * K; i++)
        expect_close(name, "margin", i, predictions[i], reference.values[i] * raw_scale,
                     PREDICT_TOLERANCE, 1.0);
    free(reference.values);
    free(predictions);

    /* Path-dependent TreeSHAP against the library's own contributions and shap. */
    gbx_explainer_options options;
    gbx_explainer_options_init(&options);
    options.method = GBX_METHOD_TREE;
    gbx_explanation *e = explain(model, data, &options);
    check_additivity(name, e);
    reference = read_table(reference_file(fixture, "contribs"));
    compare_values(name, "pred_contribs", e, &reference, raw_scale, 1, NULL);
    free(reference.values);
    const char *file = reference_file(fixture, "shap_tree");
    if (file) {
        reference = read_table(file);
        json_object *expected = member(member(member(fixture, "references"), "shap_tree"), "expected");
        double base[64];
        for (size_t k = 0; k < K; k++) base[k] = json_object_get_double(json_object_array_get_idx(expected, k));
        compare_values(name, "shap tree_path_dependent", e, &reference, 1.0, 0, base);
        free(reference.values);
    }
    gbx_explanation_free(e);

    /* Interaction values against XGBoost's pred_interactions. */
    file = reference_file(fixture, "interactions");
    if (file) {
        size_t rows = (size_t)json_object_get_int(
            member(member(member(fixture, "references"), "interactions"), "rows"));
        gbx_data *head;
        assert_int_equal(gbx_data_create(rows, M, gbx_data_values(data), NULL, &head, &error), GBX_OK);
        options.interactions = 1;
        e = explain(model, head, &options);
        options.interactions = 0;
        reference = read_table(file);
        assert_int_equal(reference.rows, rows * K * (M + 1));
        const double *phi = gbx_explanation_interactions(e);
        for (size_t rk = 0; rk < rows * K; rk++) {
            const double *expected = reference.values + rk * (M + 1) * (M + 1);
            double scale = row_scale(expected, (M + 1) * (M + 1));
            for (size_t i = 0; i < M; i++)
                for (size_t j = 0; j < M; j++)
                    expect_close(name, "pred_interactions", (rk * M + i) * M + j,
                                 phi[(rk * M + i) * M + j], expected[i * (M + 1) + j],
                                 VALUE_TOLERANCE, scale);
        }
        free(reference.values);
        gbx_explanation_free(e);
        gbx_data_free(head);
    }

    /* Interventional TreeSHAP against shap, raw and probability. */
    const char *spaces[] = {"shap_interventional", "shap_probability"};
    for (int s = 0; s < 2; s++) {
        file = reference_file(fixture, spaces[s]);
        if (!file) continue;
        gbx_data *background;
        snprintf(path, sizeof path, FIXTURES "%s",
                 json_object_get_string(member(fixture, "background")));
        if (gbx_data_read_csv(path, model, &background, &error)) fail_msg("%s", error.message);
        options.method = GBX_METHOD_TREE_INTERVENTIONAL;
        options.background = background;
        options.output_space = s ? GBX_SPACE_PROBABILITY : GBX_SPACE_RAW;
        e = explain(model, data, &options);
        check_additivity(name, e);
        reference = read_table(file);
        json_object *expected = member(member(member(fixture, "references"), spaces[s]), "expected");
        double base[64];
        for (size_t k = 0; k < K; k++) base[k] = json_object_get_double(json_object_array_get_idx(expected, k));
        compare_values(name, spaces[s], e, &reference, 1.0, 0, base);
        free(reference.values);
        gbx_explanation_free(e);
        gbx_data_free(background);
        options.background = NULL;
        options.output_space = GBX_SPACE_RAW;
        options.method = GBX_METHOD_TREE;
    }
    gbx_data_free(data);
    gbx_model_free(model);
}

static void test_every_fixture(void **state)
{
    (void)state;
    json_object *manifest = json_object_from_file(FIXTURES "manifest.json");
    assert_non_null(manifest);
    json_object *fixtures = member(manifest, "fixtures");
    size_t count = json_object_array_length(fixtures);
    assert_true(count >= 20);
    for (size_t i = 0; i < count; i++) {
        json_object *fixture = json_object_array_get_idx(fixtures, i);
        print_message("fixture %s\n", json_object_get_string(member(fixture, "name")));
        check_fixture(fixture);
    }
    json_object_put(manifest);
}

/* Indices of the 5 largest |values| (ties to the lower index). */
static void top_features(const double *values, size_t M, size_t top[5])
{
    for (int i = 0; i < 5; i++) {
        size_t best = M;
        for (size_t j = 0; j < M; j++) {
            int taken = 0;
            for (int k = 0; k < i; k++) taken |= top[k] == j;
            if (!taken && (best == M || fabs(values[j]) > fabs(values[best]))) best = j;
        }
        top[i] = best;
    }
}

/* The model-agnostic methods against shap on the black-box fixtures: exact and kernel (a model
 * seen only through its margin) against ExactExplainer, permutation within 5 of its standard
 * errors of those values, linear against LinearExplainer on a scikit-learn logistic
 * regression. */
#define BLACKBOX FIXTURES "blackbox/"

/* shap's PermutationExplainer and KernelExplainer on the same budget: both are estimates, so
 * glassbox's must lie within 5 combined standard errors of shap's (shap's spread taken as
 * glassbox's own at that budget: sqrt(2) times its standard error). */
static void check_sampled_references(const char *name, const gbx_model *model, const gbx_data *data,
                                     const gbx_data *background, json_object *references)
{
    const char *keys[] = {"shap_permutation", "shap_kernel"};
    gbx_method methods[] = {GBX_METHOD_PERMUTATION, GBX_METHOD_KERNEL};
    for (int m = 0; m < 2; m++) {
        json_object *meta = member(references, keys[m]);
        if (!meta) continue;
        char path[512];
        snprintf(path, sizeof path, "blackbox/%s", json_object_get_string(member(meta, "file")));
        table reference = read_table(path);
        gbx_explainer_options options;
        gbx_explainer_options_init(&options);
        options.method = methods[m];
        options.background = background;
        options.max_evals = (size_t)json_object_get_int64(member(meta, "max_evals"));
        options.seed = 5;
        gbx_explanation *e = explain(model, data, &options);
        check_additivity(name, e);
        const double *values = gbx_explanation_values(e);
        const double *errors = gbx_explanation_standard_errors(e);
        double worst = 0.0;
        for (size_t i = 0; i < reference.rows * reference.columns; i++) {
            if (!(errors[i] >= 0.0)) fail_msg("%s: %s standard error %g", name, keys[m], errors[i]);
            double z = fabs(values[i] - reference.values[i]) / (M_SQRT2 * errors[i] + 1e-9);
            if (z > worst) worst = z;
            if (!(z <= 5.0))
                fail_msg("%s: %s[%zu]: glassbox %g (standard error %g), shap %g", name, keys[m], i,
                         values[i], errors[i], reference.values[i]);
        }
        print_message("%s: %s within %.2f combined standard errors of shap\n", name, keys[m], worst);
        gbx_explanation_free(e);
        free(reference.values);
    }
}

/* KernelExplainer's l1_reg (num_features(K), aic, bic) with every coalition enumerated, so the
 * least-angle selection sees the same coalitions: the same features kept and the same values. */
static void check_l1_references(const char *name, const gbx_model *model, const gbx_data *data,
                                const gbx_data *background, json_object *references)
{
    const char *keys[] = {"shap_kernel_l1_num4", "shap_kernel_l1_aic", "shap_kernel_l1_bic"};
    gbx_kernel_l1 rules[] = {GBX_KERNEL_L1_NUM_FEATURES, GBX_KERNEL_L1_AIC, GBX_KERNEL_L1_BIC};
    for (int m = 0; m < 3; m++) {
        json_object *meta = member(references, keys[m]);
        if (!meta) continue;
        char path[512];
        snprintf(path, sizeof path, "blackbox/%s", json_object_get_string(member(meta, "file")));
        table reference = read_table(path);
        gbx_explainer_options options;
        gbx_explainer_options_init(&options);
        options.method = GBX_METHOD_KERNEL;
        options.background = background;
        options.kernel_l1 = rules[m];
        options.kernel_l1_features = 4;
        gbx_explanation *e = explain(model, data, &options);
        check_additivity(name, e);
        compare_values(name, keys[m], e, &reference, 1.0, 0, NULL);
        gbx_explanation_free(e);
        free(reference.values);
    }
}

/* lime's LimeTabularExplainer: both draw 5000 neighbours at random, so the weights differ by
 * sampling noise; the features they rank first must agree: at least 4 of the top 5 shared on
 * at least 80% of the rows, and the local fits' R^2 close. */
static void check_lime_reference(const char *name, const gbx_model *model, const gbx_data *data,
                                 const gbx_data *background, json_object *references)
{
    json_object *meta = member(references, "lime");
    if (!meta) return;
    char path[512];
    snprintf(path, sizeof path, "blackbox/%s", json_object_get_string(member(meta, "file")));
    table weights = read_table(path);
    snprintf(path, sizeof path, "blackbox/%s",
             json_object_get_string(member(member(references, "lime_fit"), "file")));
    table fit = read_table(path);
    gbx_explainer_options options;
    gbx_explainer_options_init(&options);
    options.method = GBX_METHOD_LIME;
    options.background = background;
    options.seed = 3;
    gbx_explanation *e = explain(model, data, &options);
    const double *values = gbx_explanation_values(e), *scores = gbx_explanation_scores(e);
    const double *local = gbx_explanation_local_predictions(e);
    const double *base = gbx_explanation_base_values(e);
    size_t M = weights.columns, rows = weights.rows, agreeing = 0;
    double score_gap = 0.0;
    for (size_t r = 0; r < rows; r++) {
        size_t ours[5], theirs[5], shared = 0;
        top_features(values + r * M, M, ours);
        top_features(weights.values + r * M, M, theirs);
        for (int i = 0; i < 5; i++)
            for (int j = 0; j < 5; j++) shared += ours[i] == theirs[j];
        agreeing += shared >= 4;
        score_gap += fabs(scores[r] - fit.values[r * 3 + 2]) / (double)rows;
        /* The local model adds up at the row: intercept + contributions = local prediction. */
        double sum = base[r];
        for (size_t j = 0; j < M; j++) sum += values[r * M + j];
        if (!(fabs(sum - local[r]) <= 1e-9)) fail_msg("%s: lime row %zu does not add up", name, r);
    }
    print_message("%s: lime top 5 agree (4 or 5 shared) on %zu of %zu rows; mean |R^2 gap| %.3f\n",
                  name, agreeing, rows, score_gap);
    if (!(agreeing * 5 >= rows * 4)) fail_msg("%s: lime top 5 agree on %zu of %zu rows", name, agreeing, rows);
    if (!(score_gap <= 0.05)) fail_msg("%s: lime R^2 differs by %.3f on average", name, score_gap);
    gbx_explanation_free(e);
    free(weights.values);
    free(fit.values);
}

static void check_blackbox(json_object *fixture)
{
    const char *name = json_object_get_string(member(fixture, "name"));
    char path[512];
    gbx_model *model = NULL;
    gbx_data *data = NULL, *background = NULL;
    gbx_error error;
    snprintf(path, sizeof path, BLACKBOX "%s", json_object_get_string(member(fixture, "model")));
    if (gbx_model_load(path, &model, &error)) fail_msg("%s", error.message);
    snprintf(path, sizeof path, BLACKBOX "%s", json_object_get_string(member(fixture, "data")));
    if (gbx_data_read_csv(path, model, &data, &error)) fail_msg("%s", error.message);
    snprintf(path, sizeof path, BLACKBOX "%s", json_object_get_string(member(fixture, "background")));
    if (gbx_data_read_csv(path, model, &background, &error)) fail_msg("%s", error.message);
    json_object *references = member(fixture, "references");
    const char *keys[] = {"shap_exact", "shap_linear"};
    gbx_method methods[] = {GBX_METHOD_EXACT, GBX_METHOD_LINEAR};
    for (int m = 0; m < 2; m++) {
        json_object *reference_meta = member(references, keys[m]);
        if (!reference_meta) continue;
        snprintf(path, sizeof path, "blackbox/%s", json_object_get_string(member(reference_meta, "file")));
        table reference = read_table(path); /* relative to FIXTURES */
        double base = json_object_get_double(json_object_array_get_idx(member(reference_meta, "expected"), 0));
        gbx_explainer_options options;
        gbx_explainer_options_init(&options);
        options.method = methods[m];
        options.background = background;
        gbx_explanation *e = explain(model, data, &options);
        check_additivity(name, e);
        compare_values(name, keys[m], e, &reference, 1.0, 0, &base);
        gbx_explanation_free(e);
        if (methods[m] == GBX_METHOD_EXACT) {
            /* KernelSHAP's default budget covers every coalition of 10 features: exact. */
            options.method = GBX_METHOD_KERNEL;
            e = explain(model, data, &options);
            check_additivity(name, e);
            compare_values(name, "kernel", e, &reference, 1.0, 0, &base);
            gbx_explanation_free(e);
            options.method = GBX_METHOD_PERMUTATION;
            options.max_evals = 4000;
            options.seed = 11;
            e = explain(model, data, &options);
            const double *values = gbx_explanation_values(e);
            const double *errors = gbx_explanation_standard_errors(e);
            for (size_t i = 0; i < reference.rows * reference.columns; i++)
                if (!(fabs(values[i] - reference.values[i]) <= 5 * errors[i] + 1e-5 * fabs(reference.values[i])))
                    fail_msg("%s: permutation[%zu] = %g, shap exact %g, standard error %g", name, i,
                             values[i], reference.values[i], errors[i]);
            gbx_explanation_free(e);
        }
        free(reference.values);
    }
    check_sampled_references(name, model, data, background, references);
    check_l1_references(name, model, data, background, references);
    check_lime_reference(name, model, data, background, references);
    gbx_data_free(background);
    gbx_data_free(data);
    gbx_model_free(model);
}

static void test_blackbox_fixtures(void **state)
{
    (void)state;
    json_object *manifest = json_object_from_file(BLACKBOX "manifest.json");
    assert_non_null(manifest);
    json_object *fixtures = member(manifest, "fixtures");
    assert_true(json_object_array_length(fixtures) >= 2);
    for (size_t i = 0; i < json_object_array_length(fixtures); i++) {
        json_object *fixture = json_object_array_get_idx(fixtures, i);
        print_message("black-box fixture %s\n", json_object_get_string(member(fixture, "name")));
        check_blackbox(fixture);
    }
    json_object_put(manifest);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_every_fixture),
                                       cmocka_unit_test(test_blackbox_fixtures)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
