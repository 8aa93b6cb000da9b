/* ONNX: every committed fixture in tests/conformance/fixtures/onnx (networks exported by
 * PyTorch and Keras, models converted by skl2onnx) must reproduce onnxruntime's outputs, and
 * files glassbox cannot run must fail with the message the fixture names. Fixtures come from
 * tests/conformance/generate_onnx.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "glassbox.h"
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

static void check_outputs(json_object *fixture)
{
    const char *name = json_object_get_string(member(fixture, "name"));
    gbx_model *model = load(fixture);
    size_t K = gbx_model_outputs(model);
    assert_int_equal(K, json_object_get_int(member(fixture, "outputs")));
    assert_int_equal(gbx_model_features(model), json_object_get_int(member(fixture, "features")));
    gbx_data *data = read_csv(json_object_get_string(member(fixture, "data")), model);
    gbx_data *reference = read_csv(reference_file(fixture, "outputs"), NULL);
    size_t n = gbx_data_rows(data);
    assert_int_equal(gbx_data_rows(reference), n);
    assert_int_equal(gbx_data_columns(reference), K);
    double *predictions = malloc(n * K * sizeof(double));
    gbx_error error;
    if (gbx_model_predict(model, data, 1, predictions, &error)) fail_msg("%s: %s", name, error.message);
    for (size_t i = 0; i < n * K; i++) {
        double expected = gbx_data_values(reference)[i];
        if (!(fabs(predictions[i] - expected) <= OUTPUT_TOLERANCE * fmax(1.0, fabs(expected))))
            fail_msg("%s: output %zu (row %zu) is %.9g; onnxruntime gives %.9g", name, i, i / K,
                     predictions[i], expected);
    }
    /* Same numbers at any thread count: blocks of rows are fixed, not split per thread. */
    double *again = malloc(n * K * sizeof(double));
    int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    assert_int_equal(gbx_model_predict(model, data, 1, again, &error), GBX_OK);
    omp_set_num_threads(threads);
    assert_memory_equal(predictions, again, n * K * sizeof(double));
    free(again);
    free(predictions);
    gbx_data_free(reference);
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
    assert_true(checked >= 4);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_fixture),
        cmocka_unit_test(test_truncated_files),
        cmocka_unit_test(test_missing_value_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
