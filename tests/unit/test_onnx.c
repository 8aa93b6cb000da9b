/* ONNX: every committed fixture in tests/conformance/fixtures/onnx (networks exported by
 * PyTorch and Keras, models converted by skl2onnx) must reproduce onnxruntime's outputs, and
 * files glassbox cannot run must fail with the message the fixture names. Fixtures come from
 * tests/conformance/generate_onnx.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "glassbox.h"
#include "core/core.h"
#include "io/image.h"
#include "models/model.h"

#include <json-c/json.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIXTURES "tests/conformance/fixtures/onnx/"

/* float32 networks against onnxruntime: kernels sum in different orders. */
#define OUTPUT_TOLERANCE 1e-5

static json_object *member(json_object *o, const char *key)
{
    json_object *v = NULL;
    json_object_object_get_ex(o, key, &v);
    return v;
}

static gbx_data *read_csv(const char *file, const gbx_model *model)
{
    char path[512];
    snprintf(path, sizeof path, FIXTURES "%s", file);
    gbx_data *data = NULL;
    gbx_error error;
    if (gbx_data_read_csv(path, model, &data, &error) != GBX_OK) fail_msg("%s", error.message);
    return data;
}

static const char *reference_file(json_object *fixture, const char *key)
{
    json_object *r = member(member(fixture, "references"), key);
    return r ? json_object_get_string(member(r, "file")) : NULL;
}

static gbx_model *load(json_object *fixture)
{
    char path[512];
    snprintf(path, sizeof path, FIXTURES "%s", json_object_get_string(member(fixture, "model")));
    gbx_model *model = NULL;
    gbx_error error;
    if (gbx_model_load(path, &model, &error) != GBX_OK)
        fail_msg("%s: %s", json_object_get_string(member(fixture, "name")), error.message);
    return model;
}

static void expect_close(const char *name, const char *what, size_t index, double actual,
                         double expected, double tolerance)
{
    if (!(fabs(actual - expected) <= tolerance * fmax(1.0, fabs(expected))))
        fail_msg("%s: %s %zu is %.9g; the reference gives %.9g", name, what, index, actual,
                 expected);
}

static gbx_explanation *explain(const gbx_model *model, const gbx_data *data, gbx_method method,
                                const gbx_data *background, gbx_error *error)
{
    gbx_explainer_options options;
    gbx_explainer_options_init(&options);
    options.method = method;
    options.background = background;
    gbx_explainer *explainer = NULL;
    gbx_explanation *explanation = NULL;
    if (gbx_explainer_create(model, &options, &explainer, error) == GBX_OK)
        gbx_explainer_explain(explainer, data, &explanation, error);
    gbx_explainer_free(explainer);
    return explanation;
}

/* shap's values ([n*K rows] x M) and expected values against glassbox's, and additivity. */
static void check_shap(json_object *fixture, const char *key, const gbx_model *model,
                       const gbx_data *data, gbx_method method, const gbx_data *background)
{
    const char *name = json_object_get_string(member(fixture, "name"));
    const char *file = reference_file(fixture, key);
    if (!file) return;
    gbx_error error;
    /* A reference may cover the first rows only. */
    json_object *rows = member(member(member(fixture, "references"), key), "rows");
    gbx_data *head = NULL;
    if (rows)
        assert_int_equal(gbx_data_create((size_t)json_object_get_int(rows), gbx_data_columns(data),
                                         gbx_data_values(data), NULL, &head, &error), GBX_OK);
    gbx_explanation *e = explain(model, head ? head : data, method, background, &error);
    gbx_data_free(head);
    if (!e) fail_msg("%s: %s: %s", name, key, error.message);
    gbx_data *reference = read_csv(file, NULL);
    size_t n = gbx_explanation_rows(e), K = gbx_explanation_outputs(e),
           M = gbx_explanation_features(e);
    assert_int_equal(gbx_data_rows(reference), n * K);
    assert_int_equal(gbx_data_columns(reference), M);
    json_object *expected = member(member(member(fixture, "references"), key), "expected");
    const double *values = gbx_explanation_values(e), *base = gbx_explanation_base_values(e);
    for (size_t rk = 0; rk < n * K; rk++) {
        double sum = base[rk];
        for (size_t f = 0; f < M; f++) {
            sum += values[rk * M + f];
            expect_close(name, key, rk * M + f, values[rk * M + f],
                         gbx_data_values(reference)[rk * M + f], 1e-5);
        }
        expect_close(name, "expected value", rk, base[rk],
                     json_object_get_double(json_object_array_get_idx(expected, rk % K)), 1e-5);
        expect_close(name, "additivity", rk, sum, gbx_explanation_predictions(e)[rk], 1e-9);
    }
    gbx_data_free(reference);
    gbx_explanation_free(e);
}

/* One gradient method against captum's attributions: every output of the reference's rows. */
static void check_captum(json_object *fixture, const char *key, const gbx_model *model,
                         const gbx_data *data, gbx_explainer_options *options, double tolerance)
{
    const char *name = json_object_get_string(member(fixture, "name"));
    const char *file = reference_file(fixture, key);
    if (!file) return;
    gbx_data *reference = read_csv(file, NULL);
    size_t K = gbx_model_outputs(model), M = gbx_model_features(model);
    size_t n = gbx_data_rows(reference) / K;
    gbx_data *head;
    gbx_error error;
    assert_int_equal(gbx_data_create(n, M, gbx_data_values(data), NULL, &head, &error), GBX_OK);
    gbx_explainer *explainer = NULL;
    gbx_explanation *e = NULL;
    if (gbx_explainer_create(model, options, &explainer, &error) ||
        gbx_explainer_explain(explainer, head, &e, &error))
        fail_msg("%s: %s: %s", name, key, error.message);
    const double *values = gbx_explanation_values(e), *expected = gbx_data_values(reference);
    double error_sum = 0, reference_sum = 0, worst = 0;
    for (size_t rk = 0; rk < n * K; rk++) {
        double scale = 1e-6;
        for (size_t f = 0; f < M; f++) scale = fmax(scale, fabs(expected[rk * M + f]));
        for (size_t f = 0; f < M; f++) {
            double gap = values[rk * M + f] - expected[rk * M + f];
            error_sum += gap * gap;
            worst = fmax(worst, fabs(gap) / scale);
            reference_sum += expected[rk * M + f] * expected[rk * M + f];
            if (options->method != GBX_METHOD_GRADIENT_SHAP && !(fabs(gap) <= tolerance * scale))
                fail_msg("%s: %s value %zu is %.9g; captum gives %.9g", name, key, rk * M + f,
                         values[rk * M + f], expected[rk * M + f]);
        }
    }
    print_message("%s: %s worst gap %.2e of the row's largest value\n", name, key, worst);
    /* Gradient shap samples: the whole attribution matrix within `tolerance` (relative). */
    if (options->method == GBX_METHOD_GRADIENT_SHAP) {
        double relative = sqrt(error_sum / reference_sum);
        print_message("%s: %s relative error %.4f\n", name, key, relative);
        if (!(relative <= tolerance)) fail_msg("%s: %s differs by %.3f", name, key, relative);
    }
    json_object *expected_value = member(member(member(fixture, "references"), key), "expected");
    for (size_t rk = 0; expected_value && rk < n * K; rk++)
        expect_close(name, "expected value", rk, gbx_explanation_base_values(e)[rk],
                     json_object_get_double(json_object_array_get_idx(expected_value, rk % K)),
                     tolerance);
    char delta_key[64];
    snprintf(delta_key, sizeof delta_key, "%s_delta", key);
    const char *delta_file = reference_file(fixture, delta_key);
    if (delta_file) {
        gbx_data *deltas = read_csv(delta_file, NULL);
        const double *mine = gbx_explanation_convergence_deltas(e);
        assert_non_null(mine);
        for (size_t rk = 0; rk < n * K; rk++) {
            double scale = 1e-6;
            for (size_t f = 0; f < M; f++) scale = fmax(scale, fabs(expected[rk * M + f]));
            expect_close(name, delta_key, rk, mine[rk] / scale, gbx_data_values(deltas)[rk] / scale,
                         10 * tolerance);
        }
        gbx_data_free(deltas);
    }
    gbx_explanation_free(e);
    gbx_explainer_free(explainer);
    gbx_data_free(head);
    gbx_data_free(reference);
}

static void check_gradient_methods(json_object *fixture, const gbx_model *model,
                                   const gbx_data *data, const gbx_data *background)
{
    gbx_explainer_options options;
    gbx_explainer_options_init(&options);
    options.method = GBX_METHOD_INTEGRATED_GRADIENTS;
    check_captum(fixture, "captum_ig", model, data, &options, 1e-4);
    gbx_data *mean = NULL;
    gbx_error error;
    if (background) {
        assert_int_equal(gbx_data_mean(background, &mean, &error), GBX_OK);
        options.background = mean;
        options.integration = GBX_INTEGRATION_RIEMANN_TRAPEZOID;
        check_captum(fixture, "captum_ig_trapezoid_mean", model, data, &options, 1e-4);
    }
    gbx_explainer_options_init(&options);
    options.method = GBX_METHOD_SALIENCY;
    check_captum(fixture, "captum_saliency", model, data, &options, 1e-4);
    options.method = GBX_METHOD_INPUT_X_GRADIENT;
    check_captum(fixture, "captum_input_x_gradient", model, data, &options, 1e-4);
    options.method = GBX_METHOD_GRADIENT_SHAP;
    options.background = background;
    /* Two independent estimates of the same expectation (captum drew 4000 per row). */
    options.samples = 1024;
    options.seed = 1;
    check_captum(fixture, "captum_gradient_shap", model, data, &options, 0.1);
    gbx_explainer_options_init(&options);
    options.method = GBX_METHOD_DEEP;
    options.background = background;
    check_captum(fixture, "captum_deeplift_shap", model, data, &options, 1e-4);
    check_captum(fixture, "shap_deep", model, data, &options, 1e-4);
    /* captum's layer methods at the fixture's embedding, summed per token. */
    json_object *layer = member(fixture, "layer");
    if (layer) {
        gbx_explainer_options_init(&options);
        options.method = GBX_METHOD_INTEGRATED_GRADIENTS;
        options.layer = json_object_get_string(layer);
        check_captum(fixture, "captum_layer_ig", model, data, &options, 1e-4);
        options.method = GBX_METHOD_DEEP;
        options.background = background;
        check_captum(fixture, "captum_layer_deeplift_shap", model, data, &options, 1e-4);
    }
    json_object *cam = member(member(fixture, "references"), "captum_grad_cam");
    if (cam) {
        gbx_explainer_options_init(&options);
        options.method = GBX_METHOD_GRAD_CAM;
        options.layer = json_object_get_string(member(cam, "layer"));
        check_captum(fixture, "captum_grad_cam", model, data, &options, 1e-4);
    }
    gbx_data_free(mean);
}

static void check_outputs(json_object *fixture)
{
    const char *name = json_object_get_string(member(fixture, "name"));
    gbx_model *model = load(fixture);
    size_t K = gbx_model_outputs(model);
    assert_int_equal(K, json_object_get_int(member(fixture, "outputs")));
    assert_int_equal(gbx_model_features(model), json_object_get_int(member(fixture, "features")));
    gbx_data *data = read_csv(json_object_get_string(member(fixture, "data")), model);
    size_t n = gbx_data_rows(data);
    double *predictions = malloc(n * K * sizeof(double));
    gbx_error error;
    /* "outputs": onnxruntime's values in glassbox's convention (transformed); "margin":
     * scikit-learn's decision_function (raw). */
    const char *keys[] = {"outputs", "margin"};
    for (int raw = 0; raw < 2; raw++) {
        const char *file = reference_file(fixture, keys[raw]);
        if (!file) continue;
        gbx_data *reference = read_csv(file, NULL);
        assert_int_equal(gbx_data_rows(reference), n);
        assert_int_equal(gbx_data_columns(reference), K);
        if (gbx_model_predict(model, data, raw, predictions, &error))
            fail_msg("%s: %s", name, error.message);
        for (size_t i = 0; i < n * K; i++)
            expect_close(name, keys[raw], i, predictions[i], gbx_data_values(reference)[i],
                         OUTPUT_TOLERANCE);
        gbx_data_free(reference);
    }
    /* Same numbers at any thread count: blocks of rows are fixed, not split per thread. */
    double *again = malloc(n * K * sizeof(double));
    assert_int_equal(gbx_model_predict(model, data, 0, predictions, &error), GBX_OK);
    int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    assert_int_equal(gbx_model_predict(model, data, 0, again, &error), GBX_OK);
    omp_set_num_threads(threads);
    assert_memory_equal(predictions, again, n * K * sizeof(double));
    free(again);
    free(predictions);

    json_object *background_file = member(fixture, "background");
    gbx_data *background = background_file ? read_csv(json_object_get_string(background_file), model)
                                           : NULL;
    check_shap(fixture, "shap_linear", model, data, GBX_METHOD_LINEAR, background);
    check_shap(fixture, "shap_tree", model, data, GBX_METHOD_TREE, NULL);
    check_shap(fixture, "shap_interventional", model, data, GBX_METHOD_TREE_INTERVENTIONAL,
               background);
    check_shap(fixture, "exact_interventional", model, data, GBX_METHOD_TREE_INTERVENTIONAL,
               background);
    check_gradient_methods(fixture, model, data, background);
    json_object *tree_error = member(fixture, "tree_error");
    if (tree_error) {
        assert_null(explain(model, data, GBX_METHOD_TREE, NULL, &error));
        if (!strstr(error.message, json_object_get_string(tree_error)))
            fail_msg("%s: message \"%s\" lacks \"%s\"", name, error.message,
                     json_object_get_string(tree_error));
    }
    gbx_data_free(background);
    gbx_data_free(data);
    gbx_model_free(model);
}

static void test_every_fixture(void **state)
{
    (void)state;
    json_object *manifest = json_object_from_file(FIXTURES "manifest.json");
    assert_non_null(manifest);
    json_object *fixtures = member(manifest, "fixtures");
    size_t count = json_object_array_length(fixtures), checked = 0;
    for (size_t i = 0; i < count; i++) {
        json_object *fixture = json_object_array_get_idx(fixtures, i);
        const char *name = json_object_get_string(member(fixture, "name"));
        print_message("fixture %s\n", name);
        json_object *expect_error = member(fixture, "expect_error");
        if (expect_error) {
            char path[512];
            snprintf(path, sizeof path, FIXTURES "%s", json_object_get_string(member(fixture, "model")));
            gbx_model *model = NULL;
            gbx_error error;
            assert_int_not_equal(gbx_model_load(path, &model, &error), GBX_OK);
            assert_null(model);
            if (!strstr(error.message, json_object_get_string(expect_error)))
                fail_msg("%s: message \"%s\" lacks \"%s\"", name, error.message,
                         json_object_get_string(expect_error));
            continue;
        }
        if (reference_file(fixture, "outputs")) {
            check_outputs(fixture);
            checked++;
        }
    }
    assert_true(checked >= 11);
    json_object_put(manifest);
}

/* Every prefix of a real model file is either refused with a message or loads; never a crash
 * (the fuzz target goes further). */
static void test_truncated_files(void **state)
{
    (void)state;
    FILE *file = fopen(FIXTURES "torch_credit_mlp.onnx", "rb");
    assert_non_null(file);
    static char bytes[1 << 16];
    size_t length = fread(bytes, 1, sizeof bytes, file);
    fclose(file);
    assert_true(length > 1000 && length < sizeof bytes);
    size_t refused = 0;
    for (size_t cut = 1; cut < length; cut += 97) {
        gbx_model *model = NULL;
        gbx_error error;
        gbx_status status = gbx_model_load_buffer("cut.onnx", bytes, cut, &model, &error);
        if (status == GBX_OK) {
            gbx_model_free(model);
        } else {
            assert_non_null(strstr(error.message, "cut.onnx"));
            refused++;
        }
    }
    assert_true(refused > 0);
}

/* A network has no rule for missing values: a NaN input is an error naming the row. */
static void test_missing_value_is_an_error(void **state)
{
    (void)state;
    gbx_model *model = NULL;
    gbx_error error;
    assert_int_equal(gbx_model_load(FIXTURES "torch_op_zoo.onnx", &model, &error), GBX_OK);
    double rows[2 * 12] = {0};
    rows[12 + 5] = NAN;
    gbx_data *data;
    assert_int_equal(gbx_data_create(2, 12, rows, NULL, &data, &error), GBX_OK);
    double out[2 * 4];
    assert_int_not_equal(gbx_model_predict(model, data, 0, out, &error), GBX_OK);
    assert_non_null(strstr(error.message, "row 2"));
    gbx_data_free(data);
    gbx_model_free(model);
}

/* The same Keras network from .keras, .h5 and ONNX: the same predictions and SHAP values. */
static void test_keras_formats_agree(void **state)
{
    (void)state;
    const char *files[] = {FIXTURES "keras_credit.keras", FIXTURES "keras_credit.h5",
                           FIXTURES "keras_credit.onnx"};
    gbx_model *models[3];
    gbx_error error;
    for (int m = 0; m < 3; m++)
        if (gbx_model_load(files[m], &models[m], &error)) fail_msg("%s", error.message);
    gbx_data *all = read_csv("keras_credit.data.csv", models[0]), *rows, *background;
    size_t M = gbx_data_columns(all);
    assert_int_equal(gbx_data_create(5, M, gbx_data_values(all), NULL, &rows, &error), GBX_OK);
    assert_int_equal(gbx_data_create(20, M, gbx_data_values(all) + 50 * M, NULL, &background,
                                     &error), GBX_OK);
    double predictions[3][100];
    gbx_explanation *explanations[3];
    for (int m = 0; m < 3; m++) {
        assert_int_equal(gbx_model_predict(models[m], all, 0, predictions[m], &error), GBX_OK);
        gbx_explainer_options options;
        gbx_explainer_options_init(&options);
        options.method = GBX_METHOD_PERMUTATION;
        options.background = background;
        options.max_evals = 500;
        options.seed = 3;
        gbx_explainer *explainer;
        assert_int_equal(gbx_explainer_create(models[m], &options, &explainer, &error), GBX_OK);
        assert_int_equal(gbx_explainer_explain(explainer, rows, &explanations[m], &error), GBX_OK);
        gbx_explainer_free(explainer);
    }
    for (int m = 1; m < 3; m++) {
        for (size_t r = 0; r < 100; r++)
            expect_close(files[m], "prediction", r, predictions[m][r], predictions[0][r], 1e-6);
        for (size_t i = 0; i < 5 * M; i++)
            expect_close(files[m], "SHAP value", i, gbx_explanation_values(explanations[m])[i],
                         gbx_explanation_values(explanations[0])[i], 1e-5);
    }
    for (int m = 0; m < 3; m++) {
        gbx_explanation_free(explanations[m]);
        gbx_model_free(models[m]);
    }
    gbx_data_free(background);
    gbx_data_free(rows);
    gbx_data_free(all);
}

/* The Keras text model (Embedding -> LSTM -> GRUs): its input is token ids, so gradients
 * are taken at the embedding's output, one attribution per token; Integrated Gradients adds
 * up there, while deep is refused at the recurrent layers, which have no DeepLIFT rule. */
static void test_text_layers(void **state)
{
    (void)state;
    gbx_model *model;
    gbx_error error;
    if (gbx_model_load(FIXTURES "keras_text.keras", &model, &error)) fail_msg("%s", error.message);
    gbx_data *data = read_csv("keras_text_keras.data.csv", model);
    gbx_data *background = read_csv("keras_text_keras.background.csv", model);
    gbx_explainer_options options;
    gbx_explainer_options_init(&options);
    options.method = GBX_METHOD_INTEGRATED_GRADIENTS;
    gbx_explainer *explainer = NULL;
    /* At the input, the ids reach the output only as indices. */
    assert_int_not_equal(gbx_explainer_create(model, &options, &explainer, &error), GBX_OK);
    assert_non_null(strstr(error.message, "options.layer"));
    options.layer = "no_such_layer";
    assert_int_not_equal(gbx_explainer_create(model, &options, &explainer, &error), GBX_OK);
    assert_non_null(strstr(error.message, "no_such_layer"));
    options.layer = "embedding";
    options.steps = 200;
    assert_int_equal(gbx_explainer_create(model, &options, &explainer, &error), GBX_OK);
    assert_int_equal(gbx_explainer_features(explainer), 16);
    assert_null(gbx_explainer_feature_name(explainer, 0)); /* tokens keep the columns' names */
    gbx_explanation *e;
    assert_int_equal(gbx_explainer_explain(explainer, data, &e, &error), GBX_OK);
    size_t n = gbx_explanation_rows(e), K = gbx_explanation_outputs(e);
    const double *deltas = gbx_explanation_convergence_deltas(e);
    for (size_t rk = 0; rk < n * K; rk++) {
        double change = gbx_explanation_predictions(e)[rk] - gbx_explanation_base_values(e)[rk];
        if (!(fabs(deltas[rk]) <= 1e-3 + 1e-2 * fabs(change)))
            fail_msg("row %zu: integrated gradients at the embedding miss f(x) - f(0) = %.6g by "
                     "%.3g", rk, change, deltas[rk]);
    }
    gbx_explanation_free(e);
    gbx_explainer_free(explainer);
    /* A layer whose elements are not columns: LAYER[i] names. */
    options.layer = "lstm";
    options.steps = 20;
    assert_int_equal(gbx_explainer_create(model, &options, &explainer, &error), GBX_OK);
    assert_int_equal(gbx_explainer_features(explainer), 16 * 12);
    assert_string_equal(gbx_explainer_feature_name(explainer, 13), "lstm[13]");
    gbx_explainer_free(explainer);
    gbx_explainer_options_init(&options);
    options.method = GBX_METHOD_DEEP;
    options.layer = "embedding";
    options.background = background;
    assert_int_not_equal(gbx_explainer_create(model, &options, &explainer, &error), GBX_OK);
    assert_non_null(strstr(error.message, "lies between \"embedding\""));
    assert_non_null(strstr(error.message, "no DeepLIFT rule"));
    gbx_explainer_options_init(&options);
    options.method = GBX_METHOD_SALIENCY;
    options.layer = "embedding";
    assert_int_not_equal(gbx_explainer_create(model, &options, &explainer, &error), GBX_OK);
    assert_non_null(strstr(error.message, "options.layer"));
    gbx_data_free(background);
    gbx_data_free(data);
    gbx_model_free(model);
}

/* A .npy array reads as the same rows as the CSV; a truncated or foreign file is refused. */
/* PNG and JPEG files read as PIL reads them (grey, and colour through convert("L")), scaled
 * as ToTensor, give onnxruntime's predictions; damaged files and non-image networks are
 * refused. */
static void test_image_input(void **state)
{
    (void)state;
    gbx_model *model;
    gbx_error error;
    assert_int_equal(gbx_model_load(FIXTURES "torch_fashion_cnn.onnx", &model, &error), GBX_OK);
    gbx_data *images = NULL;
    if (gbx_data_read_csv(FIXTURES "images", model, &images, &error)) fail_msg("%s", error.message);
    gbx_data *pixels = read_csv("fashion_images.pixels.csv", NULL);
    gbx_data *expected = read_csv("fashion_images.predictions.csv", NULL);
    size_t n = gbx_data_rows(pixels);
    assert_int_equal(gbx_data_rows(images), 6);
    assert_int_equal(n, 6);
    for (size_t j = 0; j < n * 784; j++)
        expect_close("images", "pixel", j, gbx_data_values(images)[j], gbx_data_values(pixels)[j],
                     1e-7);
    double predictions[60];
    assert_int_equal(gbx_model_predict(model, images, 0, predictions, &error), GBX_OK);
    for (size_t j = 0; j < n * 10; j++)
        expect_close("images", "prediction", j, predictions[j], gbx_data_values(expected)[j],
                     OUTPUT_TOLERANCE);
    /* One file, normalised per channel: (p / 255 * 255 - 100) / 50 = (p - 100) / 50. */
    gbx_pixel_options options;
    gbx_pixel_options_init(&options);
    options.scale = 1.0;
    for (int c = 0; c < 3; c++) options.mean[c] = 100, options.std[c] = 50;
    gbx_data *one = NULL;
    assert_int_equal(gbx_data_read(FIXTURES "images/fashion_1.png", model, &options, &one, &error),
                     GBX_OK);
    assert_int_equal(gbx_data_rows(one), 1);
    for (size_t j = 0; j < 784; j++)
        expect_close("fashion_1.png", "normalised pixel", j, gbx_data_values(one)[j],
                     (gbx_data_values(pixels)[784 + j] * 255.0 - 100) / 50, 1e-6);
    gbx_data_free(one);
    /* Damaged files: every cut of a PNG and of a JPEG is refused with the file named. */
    const char *sources[] = {FIXTURES "images/fashion_0.png", FIXTURES "images/fashion_3.jpg"};
    const char *cuts[] = {"/tmp/glassbox-test-cut.png", "/tmp/glassbox-test-cut.jpg"};
    for (int s = 0; s < 2; s++) {
        FILE *file = fopen(sources[s], "rb");
        static char bytes[20000];
        size_t length = fread(bytes, 1, sizeof bytes, file);
        fclose(file);
        for (size_t cut = 1; cut < length; cut += 1 + cut / 3) {
            file = fopen(cuts[s], "wb");
            fwrite(bytes, 1, cut, file);
            fclose(file);
            gbx_data *broken = NULL;
            if (gbx_data_read_csv(cuts[s], model, &broken, &error) == GBX_OK)
                fail_msg("%s cut at %zu bytes was read", sources[s], cut);
            assert_non_null(strstr(error.message, cuts[s]));
        }
        remove(cuts[s]);
    }
    /* Layouts: channels first or last, grey; a flat input is no image. */
    gbx_image_layout layout;
    int64_t chw[4] = {-1, 3, 32, 24}, hwc[4] = {-1, 32, 24, 3}, flat[2] = {-1, 784};
    assert_int_equal(gbx_image_layout_of(4, chw, &layout, &error), GBX_OK);
    assert_true(layout.channels_first && layout.channels == 3 && layout.height == 32 &&
                layout.width == 24);
    assert_int_equal(gbx_image_layout_of(4, hwc, &layout, &error), GBX_OK);
    assert_true(!layout.channels_first && layout.channels == 3 && layout.height == 32);
    assert_int_not_equal(gbx_image_layout_of(2, flat, &layout, &error), GBX_OK);
    gbx_model *credit;
    assert_int_equal(gbx_model_load(FIXTURES "torch_credit_mlp.onnx", &credit, &error), GBX_OK);
    assert_int_not_equal(gbx_data_read_csv(FIXTURES "images", credit, &images, &error), GBX_OK);
    assert_non_null(strstr(error.message, "images need a network"));
    gbx_model_free(credit);
    gbx_data_free(images);
    gbx_data_free(pixels);
    gbx_data_free(expected);
    gbx_model_free(model);
}

static void test_npy_input(void **state)
{
    (void)state;
    gbx_model *model;
    gbx_error error;
    assert_int_equal(gbx_model_load(FIXTURES "torch_fashion_cnn.onnx", &model, &error), GBX_OK);
    gbx_data *array, *table = read_csv("torch_fashion_cnn.data.csv", model);
    if (gbx_data_read_csv(FIXTURES "torch_fashion_cnn.data.npy", model, &array, &error))
        fail_msg("%s", error.message);
    assert_int_equal(gbx_data_rows(array), 10);
    assert_int_equal(gbx_data_columns(array), 784);
    for (size_t j = 0; j < 10 * 784; j++)
        assert_true(gbx_data_values(array)[j] == (double)(float)gbx_data_values(table)[j]);
    FILE *file = fopen(FIXTURES "torch_fashion_cnn.data.npy", "rb");
    static char bytes[40000];
    size_t length = fread(bytes, 1, sizeof bytes, file);
    fclose(file);
    const char *cut = "/tmp/glassbox-test-cut.npy";
    size_t cuts[] = {5, 40, 100, length - 1};
    for (size_t c = 0; c < 4; c++) {
        file = fopen(cut, "wb");
        fwrite(bytes, 1, cuts[c], file);
        fclose(file);
        gbx_data *broken = NULL;
        assert_int_not_equal(gbx_data_read_csv(cut, model, &broken, &error), GBX_OK);
        assert_null(broken);
        assert_non_null(strstr(error.message, cut));
    }
    remove(cut);
    gbx_data_free(array);
    gbx_data_free(table);
    gbx_model_free(model);
}

/* Grad-CAM on Keras CNNs, channels last (square and not, one and three channels, two layer
 * shapes each), against TF's GradientTape (tests/conformance/generate_gradcam.py). The layer's
 * map was laid over the input as if it were [C, H, W]: vertical stripes, 100% off. */
/* One export of a Keras Grad-CAM fixture against TF's maps; the number of layers checked. */
static size_t check_grad_cam_export(const char *directory, json_object *fixture, gbx_data **data,
                                    json_object *export)
{
    char path[512];
    gbx_error error;
    gbx_model *model;
    snprintf(path, sizeof path, "%s%s", directory, json_object_get_string(member(export, "file")));
    if (gbx_model_load(path, &model, &error)) fail_msg("%s: %s", path, error.message);
    if (!*data) {
        snprintf(path, sizeof path, "%s%s", directory,
                 json_object_get_string(member(fixture, "data")));
        assert_int_equal(gbx_data_read_csv(path, model, data, &error), GBX_OK);
    }
    size_t checked = 0;
    json_object_object_foreach(member(export, "layers"), layer, name) {
        gbx_explainer_options options;
        gbx_explainer_options_init(&options);
        options.method = GBX_METHOD_GRAD_CAM;
        options.layer = json_object_get_string(name);
        options.output = GBX_OUTPUT_PREDICTED;
        gbx_explainer *explainer;
        gbx_explanation *explanation;
        if (gbx_explainer_create(model, &options, &explainer, &error) ||
            gbx_explainer_explain(explainer, *data, &explanation, &error))
            fail_msg("%s: %s", options.layer, error.message);
        snprintf(path, sizeof path, "%s%s", directory,
                 json_object_get_string(member(member(fixture, "references"), layer)));
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        size_t n = gbx_data_rows(*data), M = gbx_model_features(model);
        const double *values = gbx_explanation_values(explanation);
        const double *classes = gbx_explanation_classes(explanation);
        double largest = 0, worst = 0;
        for (size_t r = 0; r < n; r++) {
            assert_int_equal((long)classes[r], json_object_get_int(json_object_array_get_idx(
                                                   member(fixture, "predicted"), r)));
            for (size_t j = 0; j < M; j++) {
                double want;
                assert_int_equal(fscanf(f, j ? ",%lf" : "%lf", &want), 1);
                largest = fmax(largest, fabs(want));
                worst = fmax(worst, fabs(values[r * M + j] - want));
            }
        }
        fclose(f);
        /* float32 arithmetic in both: a millionth of the largest value. */
        if (worst > 1e-6 * fmax(largest, 1e-3))
            fail_msg("%s at %s: %.3g off TF's Grad-CAM (largest %.3g)",
                     json_object_get_string(member(export, "file")), layer, worst, largest);
        checked++;
        gbx_explanation_free(explanation);
        gbx_explainer_free(explainer);
    }
    gbx_model_free(model);
    return checked;
}

/* Grad-CAM on channels-last networks, as Keras saves them and as tf2onnx exports them. */
static void test_keras_grad_cam(void **state)
{
    (void)state;
    const char *directory = "tests/conformance/fixtures/keras_gradcam/";
    char path[512];
    snprintf(path, sizeof path, "%smanifest.json", directory);
    json_object *manifest = json_object_from_file(path), *cases = member(manifest, "cases");
    assert_non_null(cases);
    size_t checked = 0;
    for (size_t c = 0; c < json_object_array_length(cases); c++) {
        json_object *fixture = json_object_array_get_idx(cases, c);
        json_object *exports = member(fixture, "models");
        gbx_data *data = NULL;
        for (size_t e = 0; e < json_object_array_length(exports); e++)
            checked += check_grad_cam_export(directory, fixture, &data,
                                             json_object_array_get_idx(exports, e));
        gbx_data_free(data);
    }
    /* Two networks, two layers each, two exports each. */
    assert_int_equal(checked, 12);
    json_object_put(manifest);
}

/* Deep on one Keras softmax network (a .keras file or its tf2onnx export), the worst
 * difference from the reference values (the fixture's member reference: shap-TensorFlow's, or
 * the float64 oracle's) over their largest; the rule as given. */
static double deep_softmax_error(const char *directory, json_object *fixture, const char *file,
                                 gbx_softmax_rule rule, const char *reference)
{
    char path[512];
    gbx_error error;
    gbx_model *model;
    gbx_data *data, *background;
    snprintf(path, sizeof path, "%s%s", directory, file);
    if (gbx_model_load(path, &model, &error)) fail_msg("%s: %s", path, error.message);
    snprintf(path, sizeof path, "%s%s", directory, json_object_get_string(member(fixture, "data")));
    assert_int_equal(gbx_data_read_csv(path, model, &data, &error), GBX_OK);
    snprintf(path, sizeof path, "%s%s", directory,
             json_object_get_string(member(fixture, "background")));
    assert_int_equal(gbx_data_read_csv(path, model, &background, &error), GBX_OK);
    gbx_explainer_options options;
    gbx_explainer_options_init(&options);
    options.method = GBX_METHOD_DEEP;
    options.background = background;
    options.softmax_rule = rule;
    gbx_explainer *explainer;
    gbx_explanation *explanation;
    if (gbx_explainer_create(model, &options, &explainer, &error) ||
        gbx_explainer_explain(explainer, data, &explanation, &error))
        fail_msg("%s: %s", file, error.message);
    size_t n = gbx_data_rows(data), M = gbx_model_features(model), K = gbx_model_outputs(model);
    assert_int_equal(K, json_object_get_int(member(fixture, "classes")));
    const double *values = gbx_explanation_values(explanation);
    const double *predictions = gbx_explanation_predictions(explanation);
    const double *base = gbx_explanation_base_values(explanation);
    snprintf(path, sizeof path, "%s%s", directory,
             json_object_get_string(member(fixture, reference)));
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    double largest = 0, worst = 0;
    for (size_t r = 0; r < n * K; r++) {
        double sum = 0;
        for (size_t j = 0; j < M; j++) {
            double want;
            assert_int_equal(fscanf(f, j ? ",%lf" : "%lf", &want), 1);
            largest = fmax(largest, fabs(want));
            worst = fmax(worst, fabs(values[r * M + j] - want));
            sum += values[r * M + j];
        }
        /* Either rule adds up to the prediction's distance from the expected output. */
        assert_true(fabs(sum - (predictions[r] - base[r])) < 1e-4);
    }
    fclose(f);
    gbx_explanation_free(explanation);
    gbx_explainer_free(explainer);
    gbx_data_free(background);
    gbx_data_free(data);
    gbx_model_free(model);
    return worst / largest;
}

/* DeepSHAP on Keras softmax heads follows shap's TensorFlow DeepExplainer, as a Keras file and
 * as a tf2onnx export; forced to the PyTorch rule, the same networks disagree with it. */
static void test_keras_deep_softmax(void **state)
{
    (void)state;
    const char *directory = "tests/conformance/fixtures/keras_deep/";
    char path[512];
    snprintf(path, sizeof path, "%smanifest.json", directory);
    json_object *manifest = json_object_from_file(path), *cases = member(manifest, "cases");
    assert_non_null(cases);
    size_t checked = 0, oracles = 0;
    for (size_t c = 0; c < json_object_array_length(cases); c++) {
        json_object *fixture = json_object_array_get_idx(cases, c);
        json_object *files = member(fixture, "models");
        for (size_t m = 0; m < json_object_array_length(files); m++, checked++) {
            const char *file = json_object_get_string(json_object_array_get_idx(files, m));
            /* float32 in both, through divisions by small differences: 1e-4 of the largest
             * value (a float64 oracle of the rule is as far from shap as glassbox). */
            double automatic = deep_softmax_error(directory, fixture, file, GBX_SOFTMAX_RULE_AUTO,
                                                  "shap");
            if (automatic > 1e-4) fail_msg("%s: %.3g of the largest value off shap-TF", file,
                                           automatic);
            assert_true(deep_softmax_error(directory, fixture, file, GBX_SOFTMAX_RULE_TENSORFLOW,
                                           "shap") == automatic);
            assert_true(deep_softmax_error(directory, fixture, file, GBX_SOFTMAX_RULE_PYTORCH,
                                           "shap") > 0.1);
            if (member(fixture, "oracle")) {
                double oracle = deep_softmax_error(directory, fixture, file,
                                                   GBX_SOFTMAX_RULE_AUTO, "oracle");
                if (oracle > 1e-4) fail_msg("%s: %.3g of the largest value off the float64 "
                                            "oracle", file, oracle);
                oracles++;
            }
        }
    }
    assert_int_equal(checked, 4);
    assert_int_equal(oracles, 2);
    json_object_put(manifest);
}

/* DeepSHAP on a PyTorch CNN with a softmax head follows shap's PyTorch DeepExplainer (the
 * rule glassbox picks for networks from PyTorch); forced to the TensorFlow rule, it does not. */
static void test_torch_deep_softmax(void **state)
{
    (void)state;
    const char *directory = "tests/conformance/fixtures/torch_deep/";
    char path[512];
    snprintf(path, sizeof path, "%smanifest.json", directory);
    json_object *manifest = json_object_from_file(path), *cases = member(manifest, "cases");
    assert_non_null(cases);
    json_object *fixture = json_object_array_get_idx(cases, 0);
    const char *file = json_object_get_string(json_object_array_get_idx(member(fixture, "models"), 0));
    double automatic = deep_softmax_error(directory, fixture, file, GBX_SOFTMAX_RULE_AUTO, "shap");
    if (automatic > 1e-4) fail_msg("%s: %.3g of the largest value off shap-PyTorch", file, automatic);
    assert_true(deep_softmax_error(directory, fixture, file, GBX_SOFTMAX_RULE_PYTORCH, "shap") ==
                automatic);
    assert_true(deep_softmax_error(directory, fixture, file, GBX_SOFTMAX_RULE_TENSORFLOW, "shap") > 0.1);
    json_object_put(manifest);
}

/* The worst difference of a model's predictions on a fixture's data from a CSV of expected
 * ones, relative to the larger of 1 and the expected value. */
static double prediction_error(const char *directory, json_object *fixture, gbx_model *model,
                               const char *expected)
{
    char path[512];
    gbx_error error;
    gbx_data *data;
    snprintf(path, sizeof path, "%s%s", directory, json_object_get_string(member(fixture, "data")));
    assert_int_equal(gbx_data_read_csv(path, model, &data, &error), GBX_OK);
    size_t n = gbx_data_rows(data), K = gbx_model_outputs(model);
    double *predictions = malloc(n * K * sizeof(double)), worst = 0;
    if (gbx_model_predict(model, data, 1, predictions, &error)) fail_msg("%s", error.message);
    snprintf(path, sizeof path, "%s%s", directory, expected);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    for (size_t j = 0; j < n * K; j++) {
        double want;
        assert_int_equal(fscanf(f, j % K ? ",%lf" : "%lf", &want), 1);
        worst = fmax(worst, fabs(predictions[j] - want) / fmax(1, fabs(want)));
    }
    fclose(f);
    free(predictions);
    gbx_data_free(data);
    return worst;
}

/* Integrated gradients (captum's defaults; at a layer and from a baseline file when given)
 * on a data file, the worst difference from a reference file's rows (row, output pairs) over
 * their largest. */
static double integrated_gradients_gap(gbx_model *model, const char *data_path,
                                       const char *baseline_path, const char *layer,
                                       const char *reference_path)
{
    gbx_error error;
    gbx_data *data, *baseline = NULL;
    assert_int_equal(gbx_data_read_csv(data_path, model, &data, &error), GBX_OK);
    if (baseline_path) assert_int_equal(gbx_data_read_csv(baseline_path, model, &baseline, &error), GBX_OK);
    gbx_explainer_options options;
    gbx_explainer_options_init(&options);
    options.method = GBX_METHOD_INTEGRATED_GRADIENTS;
    options.layer = layer;
    options.background = baseline;
    gbx_explainer *explainer;
    gbx_explanation *explanation;
    if (gbx_explainer_create(model, &options, &explainer, &error) ||
        gbx_explainer_explain(explainer, data, &explanation, &error))
        fail_msg("%s", error.message);
    size_t n = gbx_data_rows(data), M = gbx_model_features(model), K = gbx_model_outputs(model);
    const double *values = gbx_explanation_values(explanation);
    FILE *f = fopen(reference_path, "r");
    assert_non_null(f);
    double largest = 0, worst = 0;
    for (size_t j = 0; j < n * K * M; j++) {
        double want;
        assert_int_equal(fscanf(f, j % M ? ",%lf" : "%lf", &want), 1);
        largest = fmax(largest, fabs(want));
        worst = fmax(worst, fabs(values[j] - want));
    }
    fclose(f);
    gbx_explanation_free(explanation);
    gbx_explainer_free(explainer);
    gbx_data_free(baseline);
    gbx_data_free(data);
    return worst / largest;
}

/* SavedModel directories Keras 3 wrote (model.export, tf.saved_model.save): TensorFlow's own
 * predictions through the serving signature (every layer glassbox reads from .keras files);
 * shap-TensorFlow's DeepExplainer values, or for the recurrent networks (loops, unrolled) and
 * a dilated convolution (SpaceToBatchND) TensorFlow's integrated gradients; a branch on the
 * data refused by name. */
static void test_saved_models(void **state)
{
    (void)state;
    const char *directory = "tests/conformance/fixtures/saved_model/";
    char path[512];
    snprintf(path, sizeof path, "%smanifest.json", directory);
    json_object *manifest = json_object_from_file(path), *cases = member(manifest, "cases");
    assert_non_null(cases);
    size_t predicted = 0, deep = 0, gradients = 0, refused = 0;
    for (size_t c = 0; c < json_object_array_length(cases); c++) {
        json_object *fixture = json_object_array_get_idx(cases, c);
        const char *name = json_object_get_string(member(fixture, "model"));
        gbx_error error;
        gbx_model *model;
        snprintf(path, sizeof path, "%s%s", directory, name);
        gbx_status status = gbx_model_load(path, &model, &error);
        if (member(fixture, "expect_error")) {
            assert_int_equal(status, GBX_ERR_UNSUPPORTED);
            assert_non_null(strstr(error.message, json_object_get_string(member(fixture, "expect_error"))));
            assert_non_null(strstr(error.message, "tf2onnx"));
            refused++;
            continue;
        }
        if (status != GBX_OK) fail_msg("%s: %s", name, error.message);
        assert_string_equal(gbx_model_type(model), "savedmodel");
        double off = prediction_error(directory, fixture, model,
                                      json_object_get_string(member(fixture, "predictions")));
        if (off > 1e-6) fail_msg("%s: predictions %.3g off TensorFlow's", name, off);
        predicted++;
        const char *method = json_object_get_string(member(fixture, "method"));
        if (strcmp(method, "predict") == 0) {
            gbx_model_free(model);
        } else if (strcmp(method, "deep") == 0) {
            gbx_model_free(model);
            double automatic = deep_softmax_error(directory, fixture, name, GBX_SOFTMAX_RULE_AUTO,
                                                  "shap");
            if (automatic > 1e-4) fail_msg("%s: %.3g of the largest value off shap-TF", name, automatic);
            assert_true(deep_softmax_error(directory, fixture, name, GBX_SOFTMAX_RULE_PYTORCH,
                                           "shap") > 0.1);
            deep++;
        } else {
            char data[512], reference[512];
            snprintf(data, sizeof data, "%s%s", directory, json_object_get_string(member(fixture, "data")));
            snprintf(reference, sizeof reference, "%s%s", directory,
                     json_object_get_string(member(fixture, "reference")));
            double ig = integrated_gradients_gap(model, data, NULL, NULL, reference);
            if (ig > 1e-5) fail_msg("%s: %.3g of the largest value off TensorFlow's", name, ig);
            gbx_model_free(model);
            gradients++;
        }
    }
    assert_int_equal(predicted, 9);
    assert_int_equal(deep, 3);
    assert_int_equal(gradients, 3);
    assert_int_equal(refused, 1);
    json_object_put(manifest);
}

/* Transformer classifiers in a fixture folder: each export's outputs against its framework's,
 * and integrated gradients at its token embedding, one value per token, against the reference
 * (captum's LayerIntegratedGradients, or TensorFlow's with captum's rule). How many exports. */
static size_t check_transformer_exports(const char *directory)
{
    char path[512];
    snprintf(path, sizeof path, "%smanifest.json", directory);
    json_object *manifest = json_object_from_file(path), *cases = member(manifest, "cases");
    assert_non_null(cases);
    size_t checked = 0;
    for (size_t c = 0; c < json_object_array_length(cases); c++) {
        json_object *fixture = json_object_array_get_idx(cases, c);
        const char *name = json_object_get_string(member(fixture, "name"));
        gbx_error error;
        gbx_model *model;
        snprintf(path, sizeof path, "%s%s", directory, json_object_get_string(member(fixture, "model")));
        if (gbx_model_load(path, &model, &error)) fail_msg("%s: %s", name, error.message);
        json_object *data_name = member(manifest, "data");
        json_object_object_add(fixture, "data", json_object_get(data_name));
        double off = prediction_error(directory, fixture, model,
                                      json_object_get_string(member(fixture, "outputs")));
        if (off > 1e-5) fail_msg("%s: outputs %.3g off onnxruntime's", name, off);
        assert_int_equal(gbx_model_outputs(model), json_object_get_int(member(manifest, "classes")));
        char data[512], baseline[512], reference[512];
        snprintf(data, sizeof data, "%s%s", directory, json_object_get_string(data_name));
        snprintf(baseline, sizeof baseline, "%s%s", directory,
                 json_object_get_string(member(manifest, "baseline")));
        snprintf(reference, sizeof reference, "%s%s", directory,
                 json_object_get_string(member(manifest, "reference")));
        double gap = integrated_gradients_gap(model, data, baseline,
                                              json_object_get_string(member(fixture, "layer")),
                                              reference);
        if (gap > 1e-5) fail_msg("%s: %.3g of the largest value off the reference", name, gap);
        gbx_model_free(model);
        checked++;
    }
    json_object_put(manifest);
    return checked;
}

/* A stock nn.TransformerEncoder classifier as torch's two exporters write it (TorchScript,
 * dynamo; padding masks, position ids from Range, Mod, Where, Gelu on the way), and a Keras
 * encoder with MultiHeadAttention as model.export() and tf2onnx write it (Einsum, And,
 * ReduceProd, NotEqual). */
static void test_transformer_exports(void **state)
{
    (void)state;
    assert_int_equal(check_transformer_exports("tests/conformance/fixtures/transformer/"), 2);
    assert_int_equal(check_transformer_exports("tests/conformance/fixtures/keras_transformer/"), 2);
}

/* Operators transformer exports use, each in a small graph, against onnxruntime's outputs;
 * a range too long to hold is refused at load, and an operator glassbox lacks by its name and
 * node's. */
static void test_transformer_operators(void **state)
{
    (void)state;
    const char *directory = "tests/conformance/fixtures/onnx_ops/";
    char path[512];
    snprintf(path, sizeof path, "%smanifest.json", directory);
    json_object *manifest = json_object_from_file(path), *cases = member(manifest, "cases");
    assert_non_null(cases);
    size_t checked = 0, refused = 0;
    for (size_t c = 0; c < json_object_array_length(cases); c++) {
        json_object *fixture = json_object_array_get_idx(cases, c);
        const char *name = json_object_get_string(member(fixture, "name"));
        gbx_error error;
        gbx_model *model;
        snprintf(path, sizeof path, "%s%s", directory, json_object_get_string(member(fixture, "model")));
        gbx_status status = gbx_model_load(path, &model, &error);
        if (member(fixture, "expect_error")) {
            assert_int_equal(status, GBX_ERR_UNSUPPORTED);
            assert_non_null(strstr(error.message, json_object_get_string(member(fixture, "expect_error"))));
            refused++;
            continue;
        }
        if (status != GBX_OK) fail_msg("%s: %s", name, error.message);
        gbx_data *data;
        snprintf(path, sizeof path, "%s%s", directory,
                 json_object_get_string(member(manifest, "data")));
        assert_int_equal(gbx_data_read_csv(path, model, &data, &error), GBX_OK);
        size_t n = gbx_data_rows(data), K = gbx_model_outputs(model);
        double *predictions = malloc(n * K * sizeof(double));
        if (gbx_model_predict(model, data, 1, predictions, &error))
            fail_msg("%s: %s", name, error.message);
        snprintf(path, sizeof path, "%s%s", directory, json_object_get_string(member(fixture, "outputs")));
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        for (size_t j = 0; j < n * K; j++) {
            double want;
            assert_int_equal(fscanf(f, j % K ? ",%lf" : "%lf", &want), 1);
            if (fabs(predictions[j] - want) > 1e-6 * fmax(1, fabs(want)))
                fail_msg("%s: output %zu is %.9g; onnxruntime gives %.9g", name, j,
                         predictions[j], want);
        }
        fclose(f);
        free(predictions);
        gbx_data_free(data);
        gbx_model_free(model);
        checked++;
    }
    assert_int_equal(checked, 17);
    assert_int_equal(refused, 2);
    json_object_put(manifest);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_fixture),
        cmocka_unit_test(test_truncated_files),
        cmocka_unit_test(test_missing_value_is_an_error),
        cmocka_unit_test(test_keras_formats_agree),
        cmocka_unit_test(test_text_layers),
        cmocka_unit_test(test_npy_input),
        cmocka_unit_test(test_image_input),
        cmocka_unit_test(test_keras_grad_cam),
        cmocka_unit_test(test_keras_deep_softmax),
        cmocka_unit_test(test_torch_deep_softmax),
        cmocka_unit_test(test_transformer_operators),
        cmocka_unit_test(test_saved_models),
        cmocka_unit_test(test_transformer_exports),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
