/* The HTML report, read back as text: it fetches nothing, holds every row in its table and a
 * section for each chosen row, draws the same plots as `glassbox plot`, states the
 * provenance and additivity it read, samples the beeswarm, groups one-hot columns, and
 * refuses bad requests without touching an existing file. (tests/report/ opens it in
 * Chromium.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "glassbox.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPLANATION "/tmp/glassbox-test-report.json"
#define REPORT "/tmp/glassbox-test-report.html"

static size_t rows;
static gbx_feature_metadata *metadata; /* examples/credit_features.json */

static int write_explanation(void **state)
{
    (void)state;
    gbx_error error;
    gbx_model *model;
    gbx_data *data;
    gbx_explainer_options options;
    gbx_explainer_options_init(&options);
    gbx_explainer *explainer;
    gbx_explanation *explanation;
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
    rows = gbx_data_rows(data);
    if (gbx_feature_metadata_read("examples/credit_features.json", &metadata, &error)) {
        fprintf(stderr, "%s\n", error.message);
        return 1;
    }
    gbx_explanation_free(explanation);
    gbx_explainer_free(explainer);
    gbx_data_free(data);
    gbx_model_free(model);
    return 0;
}

static int clean_up(void **state)
{
    (void)state;
    remove(EXPLANATION);
    remove(REPORT);
    gbx_feature_metadata_free(metadata);
    return 0;
}

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

static size_t occurrences(const char *text, const char *what)
{
    size_t count = 0;
    for (const char *at = strstr(text, what); at; at = strstr(at + 1, what)) count++;
    return count;
}

/* The text between the first `start` after `from` and the next `end`, copied. */
static char *between(const char *from, const char *start, const char *end)
{
    const char *a = strstr(from, start);
    assert_non_null(a);
    a += strlen(start);
    const char *b = strstr(a, end);
    assert_non_null(b);
    char *copy = malloc((size_t)(b - a) + 1);
    memcpy(copy, a, (size_t)(b - a));
    copy[b - a] = 0;
    return copy;
}

static void test_report_is_self_contained(void **state)
{
    (void)state;
    gbx_report_options options;
    gbx_report_options_init(&options);
    options.features = metadata;
    gbx_error error;
    assert_int_equal(gbx_report(EXPLANATION, &options, REPORT, &error), GBX_OK);
    char *html = read_text(REPORT);
    assert_memory_equal(html, "<!DOCTYPE html>", 15);
    assert_non_null(strstr(html, "Content-Security-Policy\" content=\"default-src 'none'"));
    /* Nothing is fetched: no src or href leaves the page, and every "http" is the SVG
     * namespace (or the policy's http-equiv). */
    assert_int_equal(occurrences(html, " src="), 0);
    assert_int_equal(occurrences(html, "href=\""), occurrences(html, "href=\"#"));
    assert_int_equal(occurrences(html, "http"),
                     occurrences(html, "xmlns=\"http://www.w3.org/2000/svg\"") + 1);
    assert_int_equal(occurrences(html, "http-equiv"), 1);
    assert_int_equal(occurrences(html, "<?xml"), 0);
    /* Every row in the table's data, a section for each of the first 100 rows, each with
     * a waterfall, a force plot and three histograms. */
    char *table = between(html, "<script type=\"application/json\" id=\"row-data\">", "</script>");
    assert_int_equal(occurrences(table, "\n["), rows);
    assert_int_equal(occurrences(table, ",1]"), 100);
    free(table);
    assert_int_equal(occurrences(html, "<article class=\"row-section\""), 100);
    assert_non_null(strstr(html, "id=\"row-0\""));
    assert_non_null(strstr(html, "id=\"row-99\""));
    assert_null(strstr(html, "id=\"row-100\""));
    assert_int_equal(occurrences(html, "<figure class=\"plot waterfall\">"), 100);
    assert_int_equal(occurrences(html, "<figure class=\"plot force\">"), 100);
    assert_int_equal(occurrences(html, "<figure class=\"plot histogram\">"), 300);
    assert_int_equal(occurrences(html, "<svg "), 2 + 500);
    assert_int_equal(occurrences(html, "<svg "), occurrences(html, "</svg>"));
    /* Provenance as the file says it, and the additivity error recomputed (TreeSHAP: tiny). */
    char *explanation = read_text(EXPLANATION);
    char *sha = between(explanation, "\"sha256\": \"", "\"");
    assert_int_equal(strlen(sha), 64);
    assert_non_null(strstr(html, sha));
    free(sha);
    free(explanation);
    assert_non_null(strstr(html, "<th>Method</th><td>tree</td>"));
    char *additivity = between(html, "<th>Additivity error</th><td>largest ", " ");
    assert_true(atof(additivity) < 1e-12);
    free(additivity);
    /* The bar plot is the one `glassbox plot bar` draws. */
    gbx_plot_options plot;
    gbx_plot_options_init(&plot);
    plot.kind = "bar";
    plot.features = metadata;
    plot.audience = GBX_AUDIENCE_ANALYST; /* as the report is drawn by default */
    assert_int_equal(gbx_plot(EXPLANATION, &plot, "/tmp/glassbox-test-report-bar.svg", &error), GBX_OK);
    char *bar = read_text("/tmp/glassbox-test-report-bar.svg");
    const char *svg = strstr(bar, "<svg ");
    assert_non_null(svg);
    char *inline_bar = between(html, "<figure class=\"plot bar\">", "</figure>");
    assert_string_equal(inline_bar, svg);
    free(inline_bar);
    free(bar);
    remove("/tmp/glassbox-test-report-bar.svg");
    /* The beeswarm: 1,000 rows are at the sampling limit, so every row is drawn. */
    char *beeswarm = between(html, "<figure class=\"plot beeswarm\">", "</figure>");
    assert_int_equal(occurrences(beeswarm, "<circle class=\"dot\""), 10 * rows);
    free(beeswarm);
    free(html);
}

static void test_report_options(void **state)
{
    (void)state;
    gbx_report_options options;
    gbx_report_options_init(&options);
    gbx_error error;
    gbx_explanation *explanation;
    gbx_groups *groups;
    assert_int_equal(gbx_explanation_read(EXPLANATION, &explanation, &error), GBX_OK);
    assert_int_equal(gbx_groups_read_for("examples/credit_groups.json", explanation, &groups,
                                         &error), GBX_OK);
    options.features = metadata;
    options.groups = groups;
    options.rows_first = 10;
    options.rows_last = 15;
    options.sample = 50;
    options.title = "Credit <decisions>";
    assert_int_equal(gbx_report_explanation(explanation, &options, REPORT, &error), GBX_OK);
    gbx_groups_free(groups);
    gbx_explanation_free(explanation);
    char *html = read_text(REPORT);
    assert_non_null(strstr(html, "<title>Credit &lt;decisions&gt;</title>"));
    /* One number per feature: the report says a group's is the sum of its columns'. */
    assert_non_null(strstr(html, "each group's value is the sum of its columns' values"));
    assert_int_equal(occurrences(html, "<article class=\"row-section\""), 5);
    assert_non_null(strstr(html, "id=\"row-10\""));
    assert_non_null(strstr(html, "id=\"row-14\""));
    assert_null(strstr(html, "id=\"row-15\""));
    /* A sampled beeswarm says so and draws a dot per sampled row and shown feature. */
    char *beeswarm = between(html, "<figure class=\"plot beeswarm\">", "</figure>");
    assert_int_equal(occurrences(beeswarm, "<circle class=\"dot\""), 10 * 50);
    assert_non_null(strstr(beeswarm, "Values over 50 rows"));
    free(beeswarm);
    assert_non_null(strstr(html, "shows 50 of the 1000 rows"));
    /* Groups: the bar plot ranks the one-hot group as one feature (its display name), and the
     * reasons name it once. */
    char *bar = between(html, "<figure class=\"plot bar\">", "</figure>");
    assert_non_null(strstr(bar, ">Checking account</text>"));
    assert_null(strstr(bar, "CheckingAccountStatus."));
    free(bar);
    assert_non_null(strstr(html, "<ol class=\"reasons\">"));
    assert_non_null(strstr(html, "Not used as reasons (sensitive): "));
    free(html);
}

/* A feature named to break out of the page's embedded JSON ("<!--<script>", "</script>") stays
 * inside it: no "<" in the rows' JSON island, and the text still reads back. */
static void test_names_cannot_break_the_json_island(void **state)
{
    (void)state;
    const char *path = "/tmp/glassbox-test-report-names.json";
    FILE *f = fopen(path, "w");
    fputs("{\"format\": \"glassbox.explanation/1\", \"method\": \"exact\", \"model\": {}, "
          "\"rows\": 1, \"feature_names\": [\"<!--<script>x\", \"</script><b>y\"], "
          "\"output_names\": [\"risk\"], \"values\": [[[0.7, 0.2]]], \"base_values\": [[0]], "
          "\"predictions\": [[0.9]]}", f);
    fclose(f);
    gbx_report_options options;
    gbx_report_options_init(&options);
    gbx_error error;
    assert_int_equal(gbx_report(path, &options, REPORT, &error), GBX_OK);
    char *html = read_text(REPORT);
    char *island = between(html, "<script type=\"application/json\" id=\"row-data\">", "</script>");
    assert_null(strchr(island, '<'));
    assert_non_null(strstr(island, "\\u003c!--\\u003cscript>x"));
    free(island);
    free(html);
    remove(path);
}

static void test_bad_reports_are_refused(void **state)
{
    (void)state;
    FILE *f = fopen(REPORT, "w");
    fputs("kept", f);
    fclose(f);
    gbx_report_options options;
    gbx_report_options_init(&options);
    gbx_error error;
    options.rows_first = 5000;
    assert_int_equal(gbx_report(EXPLANATION, &options, REPORT, &error), GBX_ERR_USAGE);
    assert_non_null(strstr(error.message, "no details for rows 5000"));
    options.rows_first = 0;
    /* The model alone evaluates the rows the explanation holds; rows that are not those are
     * refused. */
    gbx_model *model;
    gbx_data *other_rows;
    assert_int_equal(gbx_model_load("examples/credit_model.json", &model, &error), GBX_OK);
    assert_int_equal(gbx_data_read_csv("tests/conformance/fixtures/xgb_credit_binary.data.csv",
                                       model, &other_rows, &error), GBX_OK);
    options.model = model;
    options.data = other_rows;
    assert_int_equal(gbx_report(EXPLANATION, &options, REPORT, &error), GBX_ERR_MISMATCH);
    assert_non_null(strstr(error.message, "the rows that were explained"));
    options.model = NULL;
    options.data = NULL;
    gbx_data_free(other_rows);
    gbx_model_free(model);
    options.output_name = "class_3";
    assert_int_equal(gbx_report(EXPLANATION, &options, REPORT, &error), GBX_ERR_USAGE);
    assert_non_null(strstr(error.message, "no output named"));
    options.output_name = NULL;
    assert_int_not_equal(gbx_report("examples/credit_groups.json", &options, REPORT, &error),
                         GBX_OK);
    assert_non_null(strstr(error.message, "not a glassbox explanation file"));
    char *kept = read_text(REPORT);
    assert_string_equal(kept, "kept");
    free(kept);
    assert_int_equal(gbx_report(EXPLANATION, &options, "/nonexistent/r.html", &error), GBX_ERR_IO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_is_self_contained),
        cmocka_unit_test(test_report_options),
        cmocka_unit_test(test_names_cannot_break_the_json_island),
        cmocka_unit_test(test_bad_reports_are_refused),
    };
    return cmocka_run_group_tests(tests, write_explanation, clean_up);
}
