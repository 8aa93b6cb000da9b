/* CSV input: what is accepted, how columns are matched to a model, and that every kind of bad
 * input gets an error naming file, line and column instead of numbers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "models/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

static char path[64];

static void write_file(const char *bytes, size_t length)
{
    snprintf(path, sizeof path, "/tmp/glassbox-test-%d.csv", (int)getpid());
    FILE *file = fopen(path, "wb");
    assert_non_null(file);
    fwrite(bytes, 1, length, file);
    fclose(file);
}

static gbx_status read_text(const char *text, const gbx_model *model, gbx_data **out,
                            gbx_error *error)
{
    write_file(text, strlen(text));
    gbx_status status = gbx_data_read_csv(path, model, out, error);
    remove(path);
    return status;
}

static void expect_error(const char *text, const gbx_model *model, const char *fragment)
{
    gbx_data *data = NULL;
    gbx_error error = {0};
    gbx_status status = read_text(text, model, &data, &error);
    if (status == GBX_OK) fail_msg("accepted bad input: %s", text);
    assert_null(data);
    if (!strstr(error.message, fragment))
        fail_msg("message \"%s\" lacks \"%s\"", error.message, fragment);
    assert_non_null(strstr(error.message, path)); /* names the file */
}

static void test_quoting_crlf_bom_and_missing(void **state)
{
    (void)state;
    const char text[] = "\xEF\xBB\xBF\"a\",\"b, with comma\",c\r\n"
                        "1,\"2\",3e-1\r\n"
                        "\"\",NA,nan\r\n"
                        "null, -4.5 ,NaN\r\n"
                        "\r\n"
                        "inf,-1E+3,\"7\"";
    gbx_data *data;
    gbx_error error;
    assert_int_equal(read_text(text, NULL, &data, &error), GBX_OK);
    assert_int_equal(gbx_data_rows(data), 4); /* the blank line is skipped */
    assert_int_equal(gbx_data_columns(data), 3);
    assert_string_equal(gbx_data_column_name(data, 0), "a");
    assert_string_equal(gbx_data_column_name(data, 1), "b, with comma");
    const double *v = gbx_data_values(data);
    assert_true(v[0] == 1 && v[1] == 2 && v[2] == 0.3);
    assert_true(isnan(v[3]) && isnan(v[4]) && isnan(v[5]));
    assert_true(isnan(v[6]) && v[7] == -4.5 && isnan(v[8]));
    assert_true(isinf(v[9]) && v[10] == -1000 && v[11] == 7);
    gbx_data_free(data);
}

static gbx_model *model_with_names(const char *const *names, size_t count)
{
    gbx_model *model = gbx_model_alloc("test");
    model->features = count;
    model->feature_names = calloc(count, sizeof(char *));
    for (size_t i = 0; i < count; i++) model->feature_names[i] = gbx_strdup(names[i]);
    return model;
}

static void test_quoted_newline_counts_lines(void **state)
{
    (void)state;
    /* The bad cell is on physical line 5 because a quoted field spans two lines. */
    const char *names[] = {"x"};
    gbx_model *model = model_with_names(names, 1);
    expect_error("x,note\n1,\"two\nlines\"\n2,ok\nzz,fine\n", model, ":5:1: column \"x\"");
    gbx_model_free(model);
}

static void test_bad_inputs_name_the_place(void **state)
{
    (void)state;
    expect_error("", NULL, "empty");
    expect_error("a,b\n1,2\n3\n", NULL, ":3:2: row has 1 fields, the header has 2");
    expect_error("a,b\n1,2,3\n", NULL, ":2:3: row has more fields");
    expect_error("a,b\n1,x7\n", NULL, ":2:2: column \"b\": expected a number, found \"x7\"");
    expect_error("a,b\n1,0x10\n", NULL, "expected a number");
    expect_error("a,b\n1,\"2\n", NULL, "quoted field is not closed");
    expect_error("a,b\n1,\"2\"x\n", NULL, "after a closing quote");
    expect_error("a,b\n", NULL, "no data rows");
    /* A number beyond a double's range is refused, not read as infinity. */
    expect_error("a,b\n1,1e400\n", NULL, ":2:2: column \"b\": expected a number, found \"1e400\" "
                 "(beyond a double's range)");
    expect_error("a,b\n1,-1e999\n", NULL, "beyond a double's range");
    /* A NUL byte inside a field would have ended it early: "1\0" read as 1. */
    static const char with_nul[] = "a,b\n1\0,0\n";
    write_file(with_nul, sizeof with_nul - 1);
    gbx_data *data = NULL;
    gbx_error error;
    assert_int_not_equal(gbx_data_read_csv(path, NULL, &data, &error), GBX_OK);
    remove(path);
    assert_null(data);
    assert_non_null(strstr(error.message, ":2:1: column \"a\": a NUL byte inside the field"));
}

static void test_columns_matched_by_name(void **state)
{
    (void)state;
    const char *names[] = {"age", "income"};
    gbx_model *model = model_with_names(names, 2);
    gbx_data *data;
    gbx_error error;
    /* Any order; the text column "label" is ignored (never parsed). */
    assert_int_equal(read_text("label,income,age\nGood,100,30\nBad,200,40\n", model, &data, &error),
                     GBX_OK);
    const double *v = gbx_data_values(data);
    assert_true(v[0] == 30 && v[1] == 100 && v[2] == 40 && v[3] == 200);
    assert_string_equal(gbx_data_column_name(data, 0), "age");
    gbx_data_free(data);
    expect_error("age,salary\n1,2\n", model, "column \"income\" (feature 1 of the model) is missing");
    expect_error("age,income,age\n1,2,3\n", model, "appears twice");
    gbx_model_free(model);
}

static void test_columns_by_position_without_names(void **state)
{
    (void)state;
    gbx_model *model = gbx_model_alloc("test");
    model->features = 2;
    gbx_data *data;
    gbx_error error;
    assert_int_equal(read_text("p,q,r\n1,2,text\n", model, &data, &error), GBX_OK);
    assert_int_equal(gbx_data_columns(data), 2);
    assert_true(gbx_data_values(data)[1] == 2);
    gbx_data_free(data);
    expect_error("p\n1\n", model, "has 1 columns, the model expects 2");
    gbx_model_free(model);
}

static void test_streaming_chunks(void **state)
{
    (void)state;
    char text[64 * 1024];
    size_t length = (size_t)sprintf(text, "x,y\n");
    for (int i = 0; i < 2500; i++) length += (size_t)sprintf(text + length, "%d,%d\n", i, -i);
    write_file(text, length);
    gbx_data_reader *reader;
    gbx_error error;
    assert_int_equal(gbx_data_reader_open(path, NULL, &reader, &error), GBX_OK);
    size_t total = 0, chunks = 0;
    gbx_data *chunk;
    while (gbx_data_reader_next(reader, 1000, &chunk, &error) == GBX_OK && chunk) {
        assert_true(gbx_data_values(chunk)[0] == (double)total);
        total += gbx_data_rows(chunk);
        chunks++;
        gbx_data_free(chunk);
    }
    uint64_t done, size;
    gbx_data_reader_progress(reader, &done, &size);
    assert_int_equal(done, length);
    assert_int_equal(size, length);
    assert_int_equal(total, 2500);
    assert_int_equal(chunks, 3);
    gbx_data_reader_free(reader);
    remove(path);
}

/* Sampling keeps file order, draws exactly k distinct rows, and depends only on the seed. */
static void test_sample(void **state)
{
    (void)state;
    double values[1000];
    for (size_t i = 0; i < 1000; i++) values[i] = (double)i;
    gbx_data *data = NULL, *a = NULL, *b = NULL, *c = NULL, *all = NULL;
    gbx_error error;
    assert_int_equal(gbx_data_create(1000, 1, values, NULL, &data, &error), GBX_OK);
    assert_int_equal(gbx_data_sample(data, 100, 7, &a, &error), GBX_OK);
    assert_int_equal(gbx_data_sample(data, 100, 7, &b, &error), GBX_OK);
    assert_int_equal(gbx_data_sample(data, 100, 8, &c, &error), GBX_OK);
    assert_int_equal(gbx_data_sample(data, 5000, 7, &all, &error), GBX_OK);
    assert_int_equal(gbx_data_rows(a), 100);
    assert_int_equal(gbx_data_rows(all), 1000);
    double sum = 0;
    for (size_t i = 1; i < 100; i++) {
        assert_true(gbx_data_values(a)[i] > gbx_data_values(a)[i - 1]);
        sum += gbx_data_values(a)[i];
    }
    assert_true(sum > 30000 && sum < 70000); /* spread over the file, not its head */
    assert_memory_equal(gbx_data_values(a), gbx_data_values(b), 100 * sizeof(double));
    assert_memory_not_equal(gbx_data_values(a), gbx_data_values(c), 100 * sizeof(double));
    assert_memory_equal(gbx_data_values(all), values, sizeof values);
    gbx_data_free(a);
    gbx_data_free(b);
    gbx_data_free(c);
    gbx_data_free(all);
    gbx_data_free(data);
}

/* k-means on three well separated clouds of 5, 3 and 2 points: three centres, each at the data
 * values nearest its cloud's mean (shap.kmeans's rounding), weighing 0.5, 0.3 and 0.2; a
 * missing value takes its column's mean for the clustering and never becomes a coordinate. */
static void test_kmeans(void **state)
{
    (void)state;
    const double values[] = {0, 0,  1, 0,  0, 1,  1, 1,  0.4, NAN,     /* around (0.5, 0.5) */
                             10, 10,  11, 10,  10, 11,                 /* around (10.3, 10.3) */
                             20, 0,  21, 1};                           /* around (20.5, 0.5) */
    gbx_data *data = NULL, *summary = NULL, *again = NULL;
    gbx_error error;
    assert_int_equal(gbx_data_create(10, 2, values, NULL, &data, &error), GBX_OK);
    assert_int_equal(gbx_data_summarise(data, GBX_SUMMARY_KMEANS, 3, -1, 1, &summary, &error), GBX_OK);
    assert_int_equal(gbx_data_rows(summary), 3);
    const double *centre = gbx_data_values(summary), *weight = gbx_data_weights(summary);
    assert_non_null(weight);
    int seen[3] = {0};
    for (size_t c = 0; c < 3; c++) {
        double x = centre[2 * c], y = centre[2 * c + 1];
        if (x < 5) { /* the missing y is imputed by its column mean 34/9, so the cloud's mean
                      * is (0.48, 1.16): nearest values 0.4 and 1 */
            assert_true(x == 0.4 && y == 1.0);
            assert_true(fabs(weight[c] - 0.5) < 1e-15);
            seen[0]++;
        } else if (x < 15) { /* mean (10.33, 10.33) */
            assert_true(x == 10 && y == 10);
            assert_true(fabs(weight[c] - 0.3) < 1e-15);
            seen[1]++;
        } else { /* mean (20.5, 0.5): ties go to the first value met */
            assert_true((x == 20 || x == 21) && (y == 0 || y == 1));
            assert_true(fabs(weight[c] - 0.2) < 1e-15);
            seen[2]++;
        }
    }
    assert_true(seen[0] == 1 && seen[1] == 1 && seen[2] == 1);
    assert_int_equal(gbx_data_summarise(data, GBX_SUMMARY_KMEANS, 3, -1, 1, &again, &error), GBX_OK);
    assert_memory_equal(gbx_data_values(again), centre, 6 * sizeof(double));
    gbx_data_free(again);
    gbx_data_free(summary);
    gbx_data_free(data);
}

/* Strata of 60, 30 and 10 rows share 10 rows as 6, 3 and 1, each row weighing its stratum's
 * share over its count; k-means per stratum weighs centres by their share of all rows; fewer
 * rows than strata is an error naming the column. */
static void test_stratified(void **state)
{
    (void)state;
    double values[200];
    for (size_t i = 0; i < 100; i++) {
        values[2 * i] = i < 60 ? 0 : i < 90 ? 1 : 2;
        values[2 * i + 1] = (double)i;
    }
    const char *names[] = {"region", "id"};
    gbx_data *data = NULL, *sample = NULL, *centres = NULL, *none = NULL;
    gbx_error error;
    assert_int_equal(gbx_data_create(100, 2, values, names, &data, &error), GBX_OK);
    assert_int_equal(gbx_data_summarise(data, GBX_SUMMARY_SAMPLE, 10, 0, 3, &sample, &error), GBX_OK);
    assert_int_equal(gbx_data_rows(sample), 10);
    size_t count[3] = {0};
    double total = 0;
    for (size_t r = 0; r < 10; r++) {
        size_t stratum = (size_t)gbx_data_values(sample)[2 * r];
        count[stratum]++;
        total += gbx_data_weights(sample)[r];
        assert_true(fabs(gbx_data_weights(sample)[r] - 0.1) < 1e-15);
        double id = gbx_data_values(sample)[2 * r + 1];
        assert_true(stratum == (id < 60 ? 0u : id < 90 ? 1u : 2u));
    }
    assert_true(count[0] == 6 && count[1] == 3 && count[2] == 1);
    assert_true(fabs(total - 1) < 1e-12);
    assert_int_equal(gbx_data_summarise(data, GBX_SUMMARY_KMEANS, 5, 0, 3, &centres, &error), GBX_OK);
    total = 0;
    for (size_t r = 0; r < gbx_data_rows(centres); r++) total += gbx_data_weights(centres)[r];
    assert_int_equal(gbx_data_rows(centres), 5);
    assert_true(fabs(total - 1) < 1e-12);
    assert_int_equal(gbx_data_summarise(data, GBX_SUMMARY_SAMPLE, 2, 0, 3, &none, &error),
                     GBX_ERR_USAGE);
    assert_non_null(strstr(error.message, "cannot represent the 3 strata of column 1 (\"region\")"));
    gbx_data_free(centres);
    gbx_data_free(sample);
    gbx_data_free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample),
        cmocka_unit_test(test_kmeans),
        cmocka_unit_test(test_stratified),
        cmocka_unit_test(test_quoting_crlf_bom_and_missing),
        cmocka_unit_test(test_quoted_newline_counts_lines),
        cmocka_unit_test(test_bad_inputs_name_the_place),
        cmocka_unit_test(test_columns_matched_by_name),
        cmocka_unit_test(test_columns_by_position_without_names),
        cmocka_unit_test(test_streaming_chunks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
