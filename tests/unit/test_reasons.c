/* Reasons on hand-made explanations: the ranking toward the adverse outcome, one-hot groups
 * summed and described by the column that is set, sensitive features never given as reasons
 * (their total reported apart), ties in feature order, rows with nothing adverse, and the
 * lower-is-adverse direction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "glassbox.h"
#include "io/explanation.h"
#include "io/features.h"

#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPLANATION "/tmp/glassbox-test-reasons.json"
#define METADATA "/tmp/glassbox-test-reasons-features.json"

static gbx_explanation *document;
static gbx_feature_metadata *metadata;

/* Features a, b, c, the one-hot pair d_x/d_y and the sensitive s; three rows: a clear ranking
 * with the sensitive feature the largest, a three-way tie, and a row where nothing is adverse. */
static int setup(void **state)
{
    (void)state;
    FILE *f = fopen(EXPLANATION, "w");
    fputs("{\"format\": \"glassbox.explanation/1\", \"method\": \"exact\", \"model\": {\"type\": "
          "\"plugin\", \"objective\": \"\", \"output\": \"raw\"}, \"rows\": 3,\n"
          "\"feature_names\": [\"a\", \"b\", \"c\", \"d_x\", \"d_y\", \"s\"],\n"
          "\"output_names\": [\"risk\"],\n"
          "\"values\": [[[0.5, 0.2, -0.3, 0.1, 0.15, 0.9]], [[0.2, 0.2, 0.2, 0, 0, 0]],"
          " [[-0.1, -0.2, 0, -0.05, 0, -0.4]]],\n"
          "\"base_values\": [[1], [1], [1]], \"predictions\": [[2.55], [1.6], [0.25]],\n"
          "\"data\": [[12, 3, 7, 1, 0, 40], [10, 2, 5, 0, 1, 30], [9, 1, 4, 1, 0, 50]]}\n", f);
    fclose(f);
    f = fopen(METADATA, "w");
    fputs("{\"features\": {\"a\": {\"display\": \"Amount\", \"unit\": \"DM\", \"format\": "
          "\"%.0f\", \"raises\": \"the amount is large\", \"lowers\": \"the amount is small\"},"
          " \"d_x\": {\"display\": \"Kind X\", \"raises\": \"the kind is X\"},"
          " \"d_y\": {\"display\": \"Kind Y\", \"raises\": \"the kind is Y\"},"
          " \"D\": {\"display\": \"Kind\"},"
          " \"s\": {\"display\": \"Age\", \"sensitive\": true, \"raises\": \"never said\"}}}\n", f);
    fclose(f);
    gbx_error error;
    if (gbx_explanation_read(EXPLANATION, &document, &error) ||
        gbx_feature_metadata_read(METADATA, &metadata, &error)) {
        fprintf(stderr, "%s\n", error.message);
        return 1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    gbx_explanation_free(document);
    gbx_feature_metadata_free(metadata);
    remove(EXPLANATION);
    remove(METADATA);
    return 0;
}

/* The reasons of explanation as JSON, parsed. */
static json_object *run_on(const gbx_explanation *explanation, gbx_reasons_options *o)
{
    char *text = NULL;
    size_t length = 0;
    FILE *out = open_memstream(&text, &length);
    o->features = metadata;
    gbx_error error;
    gbx_reasons *reasons = NULL;
    if (gbx_reasons_compute(explanation, o, &reasons, &error) != GBX_OK ||
        gbx_reasons_write(reasons, "json", out, &error) != GBX_OK)
        fail_msg("%s", error.message);
    gbx_reasons_free(reasons);
    fclose(out);
    json_object *parsed = json_tokener_parse(text);
    free(text);
    assert_non_null(parsed);
    return parsed;
}

static json_object *run(gbx_reasons_options *o)
{
    return run_on(document, o);
}

static json_object *get(json_object *o, const char *key)
{
    json_object *v = NULL;
    json_object_object_get_ex(o, key, &v);
    return v;
}

static const char *reason_field(json_object *root, size_t row, size_t rank, const char *key)
{
    json_object *rows = get(root, "rows");
    json_object *reasons = get(json_object_array_get_idx(rows, row), "reasons");
    return json_object_get_string(get(json_object_array_get_idx(reasons, rank), key));
}

static size_t reason_count(json_object *root, size_t row)
{
    return json_object_array_length(get(json_object_array_get_idx(get(root, "rows"), row), "reasons"));
}

static void test_ranking_masking_and_words(void **state)
{
    (void)state;
    gbx_reasons_options o;
    gbx_reasons_options_init(&o);
    o.audience = GBX_AUDIENCE_AUDITOR; /* who sees the sensitive total, named */
    json_object *root = run(&o);
    /* Row 0: s (0.9) is the largest but sensitive; then a, d_y, b, d_x. */
    assert_int_equal(reason_count(root, 0), 4);
    assert_string_equal(reason_field(root, 0, 0, "feature"), "a");
    assert_string_equal(reason_field(root, 0, 0, "reason"), "the amount is large");
    assert_string_equal(reason_field(root, 0, 0, "value"), "12 DM");
    assert_string_equal(reason_field(root, 0, 1, "feature"), "b");
    assert_string_equal(reason_field(root, 0, 2, "feature"), "d_y");
    /* d_y is 0 in this row: a dummy that is not set is named, not described by its sentence. */
    assert_string_equal(reason_field(root, 0, 2, "reason"), "Kind Y: no");
    json_object *masked = get(json_object_array_get_idx(get(root, "rows"), 0), "sensitive");
    assert_true(fabs(json_object_get_double(get(masked, "contribution")) - 0.9) < 1e-12);
    json_object *names = get(masked, "features");
    assert_true(json_object_is_type(names, json_type_array)); /* an array, not a joined string */
    assert_int_equal(json_object_array_length(names), 1);
    assert_string_equal(json_object_get_string(json_object_array_get_idx(names, 0)), "Age");
    for (size_t r = 0; r < 3; r++)
        for (size_t i = 0; i < reason_count(root, r); i++)
            assert_string_not_equal(reason_field(root, r, i, "feature"), "s");
    json_object_put(root);
    /* An analyst sees one protected entry and its total; an applicant nothing at all. */
    o.audience = GBX_AUDIENCE_ANALYST;
    root = run(&o);
    masked = get(json_object_array_get_idx(get(root, "rows"), 0), "sensitive");
    names = get(masked, "features");
    assert_int_equal(json_object_array_length(names), 1);
    assert_string_equal(json_object_get_string(json_object_array_get_idx(names, 0)),
                        "Protected attributes");
    assert_true(fabs(json_object_get_double(get(masked, "contribution")) - 0.9) < 1e-12);
    json_object_put(root);
    o.audience = GBX_AUDIENCE_APPLICANT;
    root = run(&o);
    for (size_t r = 0; r < 3; r++)
        assert_null(get(json_object_array_get_idx(get(root, "rows"), r), "sensitive"));
    assert_null(strstr(json_object_to_json_string(root), "Age"));
    assert_null(strstr(json_object_to_json_string(root), "0.9"));
    /* Row 1: a three-way tie, in the features' order. */
    assert_int_equal(reason_count(root, 1), 3);
    assert_string_equal(reason_field(root, 1, 0, "feature"), "a");
    assert_string_equal(reason_field(root, 1, 1, "feature"), "b");
    assert_string_equal(reason_field(root, 1, 2, "feature"), "c");
    /* Row 2: nothing pushed the output up. */
    assert_int_equal(reason_count(root, 2), 0);
    json_object_put(root);
}

static void test_groups_and_direction(void **state)
{
    (void)state;
    /* d_x and d_y as one reason "D" (0.25), said by the column that is set (d_x). */
    static const size_t group_of[6] = {0, 1, 2, 3, 3, 4};
    static const char *const names[5] = {"a", "b", "c", "D", "s"};
    gbx_groups *groups;
    gbx_error error;
    assert_int_equal(gbx_groups_create(6, group_of, names, 5, &groups, &error), GBX_OK);
    gbx_reasons_options o;
    gbx_reasons_options_init(&o);
    o.row = 0;
    o.top = 2;
    o.groups = groups;
    json_object *root = run(&o);
    assert_int_equal(reason_count(root, 0), 2);
    assert_string_equal(reason_field(root, 0, 0, "feature"), "a");
    assert_string_equal(reason_field(root, 0, 1, "feature"), "D");
    assert_string_equal(reason_field(root, 0, 1, "display"), "Kind");
    assert_string_equal(reason_field(root, 0, 1, "value"), "Kind X");
    assert_string_equal(reason_field(root, 0, 1, "reason"), "the kind is X");
    json_object_put(root);
    /* Lower is adverse: only c lowered row 0; the sensitive total counts toward lower. */
    o.groups = NULL;
    gbx_groups_free(groups);
    o.top = 0;
    o.adverse_lower = 1;
    o.audience = GBX_AUDIENCE_AUDITOR;
    root = run(&o);
    assert_int_equal(reason_count(root, 0), 1);
    assert_string_equal(reason_field(root, 0, 0, "feature"), "c");
    json_object *masked = get(json_object_array_get_idx(get(root, "rows"), 0), "sensitive");
    assert_true(fabs(json_object_get_double(get(masked, "contribution")) + 0.9) < 1e-12);
    json_object_put(root);
}

/* An explanation written by explain --groups (its "groups" naming each feature's columns):
 * spread back over the columns, a one-hot group's value goes to the column that is set (or is
 * shared when none is), and the reasons name the group by that column. */
static void test_grouped_explanation_is_read_per_column(void **state)
{
    (void)state;
    const char *path = "/tmp/glassbox-test-reasons-grouped.json";
    FILE *f = fopen(path, "w");
    fputs("{\"format\": \"glassbox.explanation/1\", \"method\": \"exact\", \"model\": {}, \"rows\": 2,\n"
          "\"feature_names\": [\"a\", \"D\"], \"groups\": {\"a\": [\"a\"], \"D\": [\"d_x\", \"d_y\"]},\n"
          "\"data_columns\": [\"a\", \"d_x\", \"d_y\"], \"output_names\": [\"risk\"],\n"
          "\"values\": [[[0.1, 0.4]], [[0.2, 0.6]]], \"base_values\": [[1], [1]],\n"
          "\"predictions\": [[1.5], [1.8]], \"data\": [[12, 0, 1], [10, 0, 0]]}\n", f);
    fclose(f);
    gbx_explanation *grouped, *columns;
    gbx_error error;
    assert_int_equal(gbx_explanation_read(path, &grouped, &error), GBX_OK);
    assert_non_null(grouped->group_of_column);
    assert_int_equal(grouped->group_of_column[0], 0);
    assert_int_equal(grouped->group_of_column[2], 1);
    assert_int_equal(gbx_explanation_spread_groups(grouped, &columns, &error), GBX_OK);
    assert_int_equal(columns->features, 3);
    assert_string_equal(columns->feature_names[1], "d_x");
    const double expected[2][3] = {{0.1, 0, 0.4}, {0.2, 0.3, 0.3}};
    for (size_t r = 0; r < 2; r++)
        for (size_t j = 0; j < 3; j++) assert_true(fabs(columns->values[r * 3 + j] - expected[r][j]) < 1e-15);
    /* The reasons of the grouped explanation are said per column. */
    gbx_reasons_options o;
    gbx_reasons_options_init(&o);
    o.row = 0;
    json_object *root = run_on(grouped, &o);
    assert_int_equal(reason_count(root, 0), 2);
    assert_string_equal(reason_field(root, 0, 0, "feature"), "D");
    assert_string_equal(reason_field(root, 0, 0, "value"), "Kind Y");
    assert_string_equal(reason_field(root, 0, 0, "reason"), "the kind is Y");
    json_object_put(root);
    /* Row 1 sets neither d_x nor d_y (a one-hot encoding's dropped level): the group is none
     * of them, never the first one. */
    o.row = 1;
    root = run_on(grouped, &o);
    assert_string_equal(reason_field(root, 0, 0, "feature"), "D");
    assert_string_equal(reason_field(root, 0, 0, "value"), "none of Kind X, Kind Y");
    assert_string_equal(reason_field(root, 0, 0, "reason"), "Kind: none of Kind X, Kind Y");
    json_object_put(root);
    gbx_explanation_free(columns);
    gbx_explanation_free(grouped);
    /* A spread group of columns that are not 0/1: no member is said to speak for it. */
    f = fopen(path, "w");
    fputs("{\"format\": \"glassbox.explanation/1\", \"method\": \"exact\", \"model\": {}, \"rows\": 2,\n"
          "\"feature_names\": [\"D\"], \"groups\": {\"D\": [\"d_x\", \"d_y\"]},\n"
          "\"data_columns\": [\"d_x\", \"d_y\"], \"output_names\": [\"risk\"],\n"
          "\"values\": [[[0.4]], [[0.6]]], \"base_values\": [[1], [1]],\n"
          "\"predictions\": [[1.4], [1.6]], \"data\": [[3, 0.5], [2, 7]]}\n", f);
    fclose(f);
    assert_int_equal(gbx_explanation_read(path, &grouped, &error), GBX_OK);
    assert_int_equal(gbx_explanation_spread_groups(grouped, &columns, &error), GBX_OK);
    o.row = 0;
    root = run_on(grouped, &o);
    assert_string_equal(reason_field(root, 0, 0, "feature"), "D");
    assert_string_equal(reason_field(root, 0, 0, "value"), "");
    assert_string_equal(reason_field(root, 0, 0, "reason"), "Kind");
    json_object_put(root);
    gbx_explanation_free(columns);
    gbx_explanation_free(grouped);
    /* A group naming a column twice, or a column in no group, is refused by name. */
    f = fopen(path, "w");
    fputs("{\"format\": \"glassbox.explanation/1\", \"model\": {}, \"rows\": 1, \"feature_names\": "
          "[\"a\", \"D\"], \"groups\": {\"a\": [\"a\"], \"D\": [\"d_x\"]}, \"data_columns\": "
          "[\"a\", \"d_x\", \"d_y\"], \"output_names\": [\"y\"], \"values\": [[[0, 0]]], "
          "\"base_values\": [[0]], \"predictions\": [[0]]}\n", f);
    fclose(f);
    assert_int_not_equal(gbx_explanation_read(path, &grouped, &error), GBX_OK);
    assert_non_null(strstr(error.message, "data column \"d_y\" is in no group"));
    remove(path);
}

static void test_bad_metadata_is_refused(void **state)
{
    (void)state;
    const char *cases[][2] = {
        {"{\"features\": {\"a\": {\"format\": \"%s\"}}}", "one number conversion"},
        {"{\"features\": {\"a\": {\"format\": \"%f %f\"}}}", "one number conversion"},
        {"{\"features\": {\"a\": {\"sensitive\": \"yes\"}}}", "true or false"},
        {"{\"features\": {\"a\": {\"display\": 3}}}", "must be a string"},
        {"{\"columns\": {}}", "\"features\""}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        FILE *f = fopen(METADATA ".bad", "w");
        fputs(cases[i][0], f);
        fclose(f);
        gbx_feature_metadata *bad = NULL;
        gbx_error error;
        assert_int_not_equal(gbx_feature_metadata_read(METADATA ".bad", &bad, &error), GBX_OK);
        assert_null(bad);
        if (!strstr(error.message, cases[i][1]))
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, error.message, cases[i][1]);
    }
    remove(METADATA ".bad");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ranking_masking_and_words),
        cmocka_unit_test(test_groups_and_direction),
        cmocka_unit_test(test_grouped_explanation_is_read_per_column),
        cmocka_unit_test(test_bad_metadata_is_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
