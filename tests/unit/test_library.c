/* The library as a product, through glassbox.h alone (linked against the shared library):
 * method names and the method table, plots rendered in memory, the log callback, structured
 * reasons, explanations in memory (provenance, names, data) and read back from CSV. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "glassbox.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MODEL "examples/credit_model.json"
#define DATA "examples/data/german_credit.csv"
#define FEATURES "examples/credit_features.json"

static gbx_model *model;
static gbx_explanation *explanation; /* the first 20 applicants, path-dependent TreeSHAP */

static int setup(void **state)
{
    (void)state;
    gbx_error error;
    gbx_data_reader *reader = NULL;
    gbx_data *rows = NULL;
    gbx_explainer *explainer = NULL;
    gbx_explainer_options options;
    gbx_explainer_options_init(&options);
    int failed = gbx_model_load(MODEL, &model, &error) ||
                 gbx_data_reader_open(DATA, model, &reader, &error) ||
                 gbx_data_reader_next(reader, 20, &rows, &error) ||
                 gbx_explainer_create(model, &options, &explainer, &error) ||
                 gbx_explainer_explain(explainer, rows, &explanation, &error);
    if (failed) fprintf(stderr, "%s\n", error.message);
    /* The explanation outlives the explainer, the data and the reader that made it. */
    gbx_explainer_free(explainer);
    gbx_data_free(rows);
    gbx_data_reader_free(reader);
    return failed;
}

static int teardown(void **state)
{
    (void)state;
    gbx_explanation_free(explanation);
    gbx_model_free(model);
    return 0;
}

static void test_method_names_are_one_spelling(void **state)
{
    (void)state;
    const gbx_method all[] = {GBX_METHOD_AUTO, GBX_METHOD_TREE, GBX_METHOD_TREE_INTERVENTIONAL,
                              GBX_METHOD_EXACT, GBX_METHOD_PERMUTATION, GBX_METHOD_LINEAR,
                              GBX_METHOD_KERNEL, GBX_METHOD_LIME, GBX_METHOD_SALIENCY,
                              GBX_METHOD_INPUT_X_GRADIENT, GBX_METHOD_SMOOTHGRAD,
                              GBX_METHOD_INTEGRATED_GRADIENTS, GBX_METHOD_GRADIENT_SHAP,
                              GBX_METHOD_DEEP, GBX_METHOD_GRAD_CAM};
    for (size_t m = 0; m < sizeof all / sizeof all[0]; m++) {
        gbx_method parsed;
        const char *name = gbx_method_name(all[m]);
        assert_int_equal(gbx_method_parse(name, &parsed), GBX_OK);
        assert_int_equal(parsed, all[m]);
        for (size_t other = 0; other < m; other++)
            assert_string_not_equal(name, gbx_method_name(all[other]));
    }
    /* Files of glassbox 0.1 spelled some methods apart; they still parse. */
    const struct {
        const char *name;
        gbx_method method;
    } old[] = {{"tree_path_dependent", GBX_METHOD_TREE},
               {"tree_interventional", GBX_METHOD_TREE_INTERVENTIONAL},
               {"integrated_gradients", GBX_METHOD_INTEGRATED_GRADIENTS},
               {"grad_cam", GBX_METHOD_GRAD_CAM}};
    for (size_t i = 0; i < sizeof old / sizeof old[0]; i++) {
        gbx_method parsed;
        assert_int_equal(gbx_method_parse(old[i].name, &parsed), GBX_OK);
        assert_int_equal(parsed, old[i].method);
    }
    gbx_method parsed;
    assert_int_equal(gbx_method_parse("shapley", &parsed), GBX_ERR_USAGE);
    assert_int_equal(gbx_method_background(GBX_METHOD_KERNEL), 2);
    assert_int_equal(gbx_method_background(GBX_METHOD_INTEGRATED_GRADIENTS), 1);
    assert_int_equal(gbx_method_background(GBX_METHOD_TREE), 0);
    assert_int_equal(gbx_method_resolve(model, GBX_METHOD_AUTO, 0), GBX_METHOD_TREE);
    assert_int_equal(gbx_method_resolve(model, GBX_METHOD_AUTO, 1), GBX_METHOD_TREE_INTERVENTIONAL);
    assert_int_equal(gbx_method_resolve(model, GBX_METHOD_KERNEL, 0), GBX_METHOD_KERNEL);
}

static void test_explanation_carries_names_and_provenance(void **state)
{
    (void)state;
    const gbx_explanation *e = explanation;
    assert_int_equal(gbx_explanation_rows(e), 20);
    assert_int_equal(gbx_explanation_outputs(e), 1);
    assert_int_equal(gbx_explanation_features(e), gbx_model_features(model));
    assert_int_equal(gbx_explanation_columns(e), gbx_model_features(model));
    assert_string_equal(gbx_explanation_feature_name(e, 0), gbx_model_feature_name(model, 0));
    assert_null(gbx_explanation_feature_name(e, gbx_explanation_features(e)));
    assert_int_equal(gbx_explanation_output_index(e, gbx_explanation_output_name(e, 0)), 0);
    assert_int_equal(gbx_explanation_output_index(e, "no such output"), -1);
    assert_false(gbx_explanation_is_grouped(e));
    assert_int_equal(gbx_explanation_input_shape(e, NULL), 0);
    gbx_provenance p = gbx_explanation_provenance(e);
    assert_string_equal(p.method, "tree");
    assert_string_equal(p.version, GBX_VERSION);
    assert_string_equal(p.model_sha256, gbx_model_sha256(model));
    assert_string_equal(p.model_type, "xgboost");
    assert_string_equal(p.output_space, "margin");
    assert_non_null(strstr(p.parameters, "\"interactions\": false"));
    assert_string_equal(p.background_sha256, ""); /* path-dependent: no background */
    /* The explained rows are in the explanation, and the values add up. */
    const double *data = gbx_explanation_data(e), *values = gbx_explanation_values(e);
    assert_non_null(data);
    size_t M = gbx_explanation_features(e);
    for (size_t r = 0; r < 20; r++) {
        double sum = gbx_explanation_base_values(e)[r];
        for (size_t f = 0; f < M; f++) sum += values[r * M + f];
        assert_true(fabs(sum - gbx_explanation_predictions(e)[r]) < 1e-9);
    }
    assert_null(gbx_explanation_standard_errors(e));
    assert_null(gbx_explanation_interactions(e));
}

static void test_plots_render_in_memory(void **state)
{
    (void)state;
    gbx_plot_options options;
    gbx_plot_options_init(&options);
    options.kind = "waterfall";
    options.row = 3;
    const struct {
        const char *format, *magic;
    } formats[] = {{"svg", "<?xml"}, {"png", "\x89PNG"}, {"pdf", "%PDF"}};
    gbx_error error;
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        char *bytes = NULL;
        size_t size = 0;
        assert_int_equal(gbx_plot_render(explanation, &options, formats[i].format, &bytes, &size,
                                         &error), GBX_OK);
        assert_true(size > 100);
        assert_memory_equal(bytes, formats[i].magic, strlen(formats[i].magic));
        gbx_free(bytes);
    }
    char *bytes = NULL;
    size_t size = 0;
    assert_int_equal(gbx_plot_render(explanation, &options, "gif", &bytes, &size, &error),
                     GBX_ERR_USAGE);
    assert_null(bytes);
    assert_non_null(strstr(error.message, "svg, png or pdf"));
    options.row = 20;
    assert_int_equal(gbx_plot_render(explanation, &options, "svg", &bytes, &size, &error),
                     GBX_ERR_USAGE);
    assert_non_null(strstr(error.message, "there is no row 20"));
}

static void test_reasons_are_structured(void **state)
{
    (void)state;
    gbx_error error;
    gbx_feature_metadata *features;
    assert_int_equal(gbx_feature_metadata_read(FEATURES, &features, &error), GBX_OK);
    gbx_reasons_options options;
    gbx_reasons_options_init(&options);
    options.features = features;
    options.model = model; /* what-ifs at the rows the explanation holds */
    options.top = 3;
    gbx_reasons *reasons;
    assert_int_equal(gbx_reasons_compute(explanation, &options, &reasons, &error), GBX_OK);
    assert_int_equal(gbx_reasons_rows(reasons), 20);
    assert_null(gbx_reasons_row_at(reasons, 20));
    size_t what_ifs = 0;
    for (size_t i = 0; i < 20; i++) {
        const gbx_reasons_row *row = gbx_reasons_row_at(reasons, i);
        assert_int_equal(row->row, i);
        assert_true(row->count <= 3);
        assert_int_equal(row->sensitive_count, 0); /* an applicant is told nothing of them */
        assert_true(row->sensitive_total == 0);
        for (size_t r = 0; r < row->count; r++) {
            assert_true(row->reasons[r].contribution > 0); /* toward the adverse outcome */
            assert_string_not_equal(row->reasons[r].feature, "Age");
            if (r) assert_true(row->reasons[r].contribution <= row->reasons[r - 1].contribution);
            what_ifs += *row->reasons[r].what_if != '\0';
        }
    }
    assert_true(what_ifs > 0);
    gbx_reasons_free(reasons);
    /* An auditor sees the sensitive features named apart, an analyst one protected entry. */
    options.audience = GBX_AUDIENCE_AUDITOR;
    assert_int_equal(gbx_reasons_compute(explanation, &options, &reasons, &error), GBX_OK);
    const gbx_reasons_row *first = gbx_reasons_row_at(reasons, 0);
    assert_int_equal(first->sensitive_count, 7); /* Age, Foreign worker, the five Personal ones */
    assert_string_equal(first->sensitive[0], "Age");
    gbx_reasons_free(reasons);
    options.audience = GBX_AUDIENCE_ANALYST;
    assert_int_equal(gbx_reasons_compute(explanation, &options, &reasons, &error), GBX_OK);
    first = gbx_reasons_row_at(reasons, 0);
    assert_int_equal(first->sensitive_count, 1);
    assert_string_equal(first->sensitive[0], "Protected attributes");
    /* Written as JSON, CSV or text; anything else is refused. */
    char *text = NULL;
    size_t length = 0;
    FILE *out = open_memstream(&text, &length);
    assert_int_equal(gbx_reasons_write(reasons, "csv", out, &error), GBX_OK);
    assert_int_equal(gbx_reasons_write(reasons, "xml", out, &error), GBX_ERR_USAGE);
    fclose(out);
    assert_non_null(strstr(text, "row,rank,feature,display,contribution,value,reason,what_if\n"));
    free(text);
    gbx_reasons_free(reasons);
    /* A row that is not there, an output that is not there. */
    options.row = 20;
    assert_int_equal(gbx_reasons_compute(explanation, &options, &reasons, &error), GBX_ERR_USAGE);
    options.row = -1;
    options.output_name = "class_9";
    assert_int_equal(gbx_reasons_compute(explanation, &options, &reasons, &error), GBX_ERR_USAGE);
    assert_non_null(strstr(error.message, "no output named"));
    gbx_feature_metadata_free(features);
}

/* What-ifs never contradict their reasons: over the whole credit data, each moves its feature
 * back toward the explained rows' mean (the direction its reason names: "the loan is long",
 * shorter), lowers the adverse outcome, and none says "would stay the same". */
static void test_what_ifs_follow_their_reasons(void **state)
{
    (void)state;
    gbx_error error;
    gbx_data *rows;
    gbx_explainer *explainer;
    gbx_explanation *all;
    gbx_feature_metadata *features;
    gbx_explainer_options options;
    gbx_explainer_options_init(&options);
    assert_int_equal(gbx_data_read_csv(DATA, model, &rows, &error), GBX_OK);
    assert_int_equal(gbx_explainer_create(model, &options, &explainer, &error), GBX_OK);
    assert_int_equal(gbx_explainer_explain(explainer, rows, &all, &error), GBX_OK);
    assert_int_equal(gbx_feature_metadata_read(FEATURES, &features, &error), GBX_OK);
    gbx_reasons_options reasons_options;
    gbx_reasons_options_init(&reasons_options);
    reasons_options.features = features;
    reasons_options.model = model;
    gbx_reasons *reasons;
    assert_int_equal(gbx_reasons_compute(all, &reasons_options, &reasons, &error), GBX_OK);
    size_t n = gbx_explanation_rows(all), J = gbx_explanation_columns(all), what_ifs = 0;
    const double *data = gbx_explanation_data(all);
    for (size_t i = 0; i < gbx_reasons_rows(reasons); i++) {
        const gbx_reasons_row *row = gbx_reasons_row_at(reasons, i);
        for (size_t x = 0; x < row->count; x++) {
            const gbx_reason *reason = &row->reasons[x];
            if (!*reason->what_if) continue;
            what_ifs++;
            size_t j = 0;
            while (j < J && strcmp(gbx_explanation_column_name(all, j), reason->feature) != 0) j++;
            assert_true(j < J);
            double mean = 0;
            for (size_t r = 0; r < n; r++) mean += data[r * J + j];
            mean /= (double)n;
            int more = strstr(reason->what_if, " more (") != NULL;
            if (more != (data[row->row * J + j] < mean))
                fail_msg("row %zu: \"%s\" moves away from the mean %.4g: %s", row->row,
                         reason->sentence, mean, reason->what_if);
            assert_true(reason->what_if_change < 0);
            assert_null(strstr(reason->what_if, "stay the same"));
        }
    }
    assert_true(what_ifs > 100);
    gbx_reasons_free(reasons);
    gbx_feature_metadata_free(features);
    gbx_explanation_free(all);
    gbx_explainer_free(explainer);
    gbx_data_free(rows);
}

/* With a decision threshold (a probability, for a logistic margin), only adverse decisions get
 * reasons, and every row says its decision. */
static void test_reasons_for_adverse_decisions_only(void **state)
{
    (void)state;
    gbx_error error;
    gbx_reasons_options options;
    gbx_reasons_options_init(&options);
    double threshold = 0.5;
    options.threshold = &threshold;
    gbx_reasons *reasons;
    assert_int_equal(gbx_reasons_compute(explanation, &options, &reasons, &error), GBX_OK);
    size_t adverse = 0, favourable = 0;
    for (size_t i = 0; i < gbx_reasons_rows(reasons); i++) {
        const gbx_reasons_row *row = gbx_reasons_row_at(reasons, i);
        int declined = 1 / (1 + exp(-row->prediction)) >= threshold;
        assert_int_equal(row->decision, declined ? GBX_DECISION_ADVERSE : GBX_DECISION_FAVOURABLE);
        if (!declined) assert_int_equal(row->count, 0);
        adverse += declined, favourable += !declined;
    }
    assert_true(adverse > 0 && favourable > 0);
    gbx_reasons_free(reasons);
    /* With the model, a what-if says how far the feature must move for the decision to turn
     * favourable; the model, asked again at that value, agrees. */
    gbx_feature_metadata *features;
    assert_int_equal(gbx_feature_metadata_read(FEATURES, &features, &error), GBX_OK);
    options.features = features;
    options.model = model;
    assert_int_equal(gbx_reasons_compute(explanation, &options, &reasons, &error), GBX_OK);
    size_t turned = 0, M = gbx_explanation_columns(explanation);
    for (size_t i = 0; i < gbx_reasons_rows(reasons); i++) {
        const gbx_reasons_row *row = gbx_reasons_row_at(reasons, i);
        for (size_t x = 0; x < row->count; x++) {
            const char *said = strstr(row->reasons[x].what_if, ") would make the decision favourable");
            if (!said) continue;
            const char *open = said;
            while (open > row->reasons[x].what_if && *open != '(') open--;
            double value = atof(open + 1);
            size_t j = 0;
            while (j < M && strcmp(gbx_explanation_column_name(explanation, j), row->reasons[x].feature)) j++;
            assert_true(j < M);
            double *moved = malloc(M * sizeof(double)), probability;
            memcpy(moved, gbx_explanation_data(explanation) + row->row * M, M * sizeof(double));
            moved[j] = value;
            gbx_data *one;
            assert_int_equal(gbx_data_create(1, M, moved, NULL, &one, &error), GBX_OK);
            assert_int_equal(gbx_model_predict(model, one, 0, &probability, &error), GBX_OK);
            assert_true(probability < threshold);
            gbx_data_free(one);
            free(moved);
            turned++;
        }
    }
    assert_true(turned > 0);
    gbx_reasons_free(reasons);
    gbx_feature_metadata_free(features);
    options.features = NULL;
    options.model = NULL;
    /* Without a threshold, no decision is made and every row may have reasons. */
    options.threshold = NULL;
    assert_int_equal(gbx_reasons_compute(explanation, &options, &reasons, &error), GBX_OK);
    assert_int_equal(gbx_reasons_row_at(reasons, 0)->decision, GBX_DECISION_NONE);
    gbx_reasons_free(reasons);
    threshold = NAN;
    options.threshold = &threshold;
    assert_int_equal(gbx_reasons_compute(explanation, &options, &reasons, &error), GBX_ERR_USAGE);
}

/* The views: an applicant's has no sensitive feature or column and still adds up (its base
 * holds their share); an analyst's folds them into one entry with the same total and hides
 * their values; an auditor's is the whole explanation. */
static void test_audience_views(void **state)
{
    (void)state;
    gbx_error error;
    gbx_feature_metadata *features;
    assert_int_equal(gbx_feature_metadata_read(FEATURES, &features, &error), GBX_OK);
    gbx_explanation *applicant, *analyst, *auditor;
    assert_int_equal(gbx_explanation_for_audience(explanation, features, GBX_AUDIENCE_APPLICANT,
                                                  &applicant, &error), GBX_OK);
    assert_int_equal(gbx_explanation_for_audience(explanation, features, GBX_AUDIENCE_ANALYST,
                                                  &analyst, &error), GBX_OK);
    assert_int_equal(gbx_explanation_for_audience(explanation, features, GBX_AUDIENCE_AUDITOR,
                                                  &auditor, &error), GBX_OK);
    size_t M = gbx_explanation_features(explanation), hidden = 0;
    for (size_t f = 0; f < M; f++) hidden += gbx_explanation_sensitive(explanation, features, f);
    assert_int_equal(hidden, 7);
    assert_int_equal(gbx_explanation_features(auditor), M);
    assert_int_equal(gbx_explanation_features(applicant), M - 7);
    assert_int_equal(gbx_explanation_columns(applicant), M - 7);
    assert_int_equal(gbx_explanation_features(analyst), M - 7 + 1);
    for (size_t f = 0; f < gbx_explanation_features(applicant); f++)
        assert_false(gbx_explanation_sensitive(applicant, features, f));
    for (size_t j = 0; j < gbx_explanation_columns(applicant); j++)
        assert_string_not_equal(gbx_explanation_column_name(applicant, j), "Age");
    long folded = -1;
    for (size_t f = 0; f < gbx_explanation_features(analyst); f++)
        if (strcmp(gbx_explanation_feature_name(analyst, f), "Protected attributes") == 0)
            folded = (long)f;
    assert_true(folded >= 0);
    const double *data = gbx_explanation_data(analyst);
    for (size_t j = 0; j < gbx_explanation_columns(analyst); j++)
        if (gbx_explanation_group_of_column(analyst, j) == folded) {
            assert_null(strstr(gbx_explanation_column_name(analyst, j), "Age"));
            assert_true(isnan(data[j])); /* values hidden */
        }
    for (size_t r = 0; r < gbx_explanation_rows(explanation); r++) {
        double prediction = gbx_explanation_predictions(explanation)[r], sums[3] = {0};
        const gbx_explanation *views[3] = {applicant, analyst, auditor};
        for (size_t v = 0; v < 3; v++) {
            size_t F = gbx_explanation_features(views[v]);
            sums[v] = gbx_explanation_base_values(views[v])[r];
            for (size_t f = 0; f < F; f++) sums[v] += gbx_explanation_values(views[v])[r * F + f];
            assert_true(fabs(sums[v] - prediction) < 1e-9);
        }
        /* The analyst's protected entry holds the sensitive features' total. */
        double total = 0;
        for (size_t f = 0; f < M; f++)
            if (gbx_explanation_sensitive(explanation, features, f))
                total += gbx_explanation_values(explanation)[r * M + f];
        size_t F = gbx_explanation_features(analyst);
        assert_true(fabs(gbx_explanation_values(analyst)[r * F + (size_t)folded] - total) < 1e-12);
    }
    gbx_audience audience;
    assert_int_equal(gbx_audience_parse("auditor", &audience), GBX_OK);
    assert_int_equal(audience, GBX_AUDIENCE_AUDITOR);
    assert_string_equal(gbx_audience_name(GBX_AUDIENCE_ANALYST), "analyst");
    assert_int_equal(gbx_audience_parse("public", &audience), GBX_ERR_USAGE);
    gbx_explanation_free(applicant);
    gbx_explanation_free(analyst);
    gbx_explanation_free(auditor);
    gbx_feature_metadata_free(features);
}

/* A 0/1 column is worded from its display name, yes or no, the same whether or not a groups
 * file is given (it read "no" without one and "0" with one). */
static void test_indicators_read_alike_with_groups(void **state)
{
    (void)state;
    gbx_error error;
    gbx_feature_metadata *features;
    gbx_groups *groups;
    assert_int_equal(gbx_feature_metadata_read(FEATURES, &features, &error), GBX_OK);
    assert_int_equal(gbx_groups_read_for("examples/credit_groups.json", explanation, &groups,
                                         &error), GBX_OK);
    gbx_reasons_options options;
    gbx_reasons_options_init(&options);
    options.features = features;
    options.top = 20;
    gbx_reasons *alone, *grouped;
    assert_int_equal(gbx_reasons_compute(explanation, &options, &alone, &error), GBX_OK);
    options.groups = groups;
    assert_int_equal(gbx_reasons_compute(explanation, &options, &grouped, &error), GBX_OK);
    size_t compared = 0;
    for (size_t i = 0; i < gbx_reasons_rows(alone); i++) {
        const gbx_reasons_row *a = gbx_reasons_row_at(alone, i), *b = gbx_reasons_row_at(grouped, i);
        for (size_t x = 0; x < a->count; x++)
            for (size_t y = 0; y < b->count; y++) {
                if (strcmp(a->reasons[x].feature, b->reasons[y].feature) != 0) continue;
                assert_string_equal(a->reasons[x].sentence, b->reasons[y].sentence);
                assert_string_equal(a->reasons[x].value, b->reasons[y].value);
                if (strcmp(a->reasons[x].feature, "Telephone") == 0) {
                    assert_true(strcmp(a->reasons[x].value, "yes") == 0 ||
                                strcmp(a->reasons[x].value, "no") == 0);
                    compared++;
                }
            }
    }
    assert_true(compared > 0);
    gbx_reasons_free(alone);
    gbx_reasons_free(grouped);
    gbx_groups_free(groups);
    gbx_feature_metadata_free(features);
}

typedef struct {
    int notes;
    char last[256];
} heard;

static void listen(gbx_log_level level, const char *message, void *user)
{
    heard *h = user;
    assert_int_equal(level, GBX_LOG_NOTE);
    h->notes++;
    snprintf(h->last, sizeof h->last, "%s", message);
}

static void test_notes_go_to_the_log(void **state)
{
    (void)state;
    heard h = {0};
    gbx_set_log(listen, &h);
    gbx_error error;
    gbx_data *data = NULL;
    /* The credit data has a Class column the model does not use: a note, not a print. */
    assert_int_equal(gbx_data_read_csv(DATA, model, &data, &error), GBX_OK);
    gbx_data_free(data);
    gbx_set_log(NULL, NULL);
    assert_int_equal(h.notes, 1);
    assert_non_null(strstr(h.last, "ignoring 1 column the model does not use: Class"));
    assert_int_equal(gbx_data_read_csv(DATA, model, &data, &error), GBX_OK); /* nowhere now */
    gbx_data_free(data);
    assert_int_equal(h.notes, 1);
}

static void test_csv_explanation_reads_back(void **state)
{
    (void)state;
    const char *path = "/tmp/glassbox-test-library.csv";
    FILE *f = fopen(path, "w");
    fputs("output,a,\"b, quoted\",base_value,prediction\n"
          "low,0.5,-0.25,1,1.25\nhigh,-0.5,0.25,2,1.75\n"
          "low,1,0,1,2\nhigh,0,-1,2,1\n", f);
    fclose(f);
    gbx_explanation *e;
    gbx_error error;
    assert_int_equal(gbx_explanation_read(path, &e, &error), GBX_OK);
    assert_int_equal(gbx_explanation_rows(e), 2);
    assert_int_equal(gbx_explanation_outputs(e), 2);
    assert_string_equal(gbx_explanation_output_name(e, 1), "high");
    assert_string_equal(gbx_explanation_feature_name(e, 1), "b, quoted");
    assert_true(gbx_explanation_values(e)[2 * 2 + 1] == 0); /* row 1, output low, b */
    assert_null(gbx_explanation_data(e));
    assert_string_equal(gbx_explanation_provenance(e).method, "");
    gbx_explanation_free(e);
    /* Lines that do not make whole rows, and a field that is not a number, are refused. */
    f = fopen(path, "w");
    fputs("output,a,base_value,prediction\nlow,1,0,1\nhigh,1,0,1\nlow,1,0,1\nlow,1,0,1\n", f);
    fclose(f);
    assert_int_not_equal(gbx_explanation_read(path, &e, &error), GBX_OK);
    f = fopen(path, "w");
    fputs("a,base_value,prediction\n1,0,x\n", f);
    fclose(f);
    assert_int_equal(gbx_explanation_read(path, &e, &error), GBX_ERR_PARSE);
    assert_non_null(strstr(error.message, ":2: field 3 is not a finite number"));
    remove(path);
    /* JSON holding NaN, Infinity or a number beyond a double's range is refused as null is. */
    const char *json = "/tmp/glassbox-test-library-bad.json";
    const char *numbers[] = {"NaN", "Infinity", "-Infinity", "1e400", "null"};
    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
        f = fopen(json, "w");
        fprintf(f, "{\"format\": \"glassbox.explanation/1\", \"rows\": 1, \"feature_names\": "
                "[\"a\"], \"output_names\": [\"y\"], \"values\": [[[%s]]], "
                "\"base_values\": [[0]], \"predictions\": [[0]]}", numbers[i]);
        fclose(f);
        assert_int_equal(gbx_explanation_read(json, &e, &error), GBX_ERR_PARSE);
        assert_non_null(strstr(error.message, "\"values\" holds something other than a finite"));
    }
    remove(json);
}

/* The background's fingerprint is part of the provenance, in memory and read back. */
static void test_background_fingerprint(void **state)
{
    (void)state;
    gbx_error error;
    gbx_data *background, *sample;
    assert_int_equal(gbx_data_read_csv(DATA, model, &background, &error), GBX_OK);
    assert_int_equal(gbx_data_sample(background, 50, 1, &sample, &error), GBX_OK);
    gbx_explainer_options options;
    gbx_explainer_options_init(&options);
    options.background = sample; /* auto: interventional TreeSHAP */
    gbx_explainer *explainer;
    assert_int_equal(gbx_explainer_create(model, &options, &explainer, &error), GBX_OK);
    assert_int_equal(gbx_explainer_method(explainer), GBX_METHOD_TREE_INTERVENTIONAL);
    gbx_data *rows;
    assert_int_equal(gbx_data_sample(background, 3, 2, &rows, &error), GBX_OK);
    gbx_explanation *e, *back;
    assert_int_equal(gbx_explainer_explain(explainer, rows, &e, &error), GBX_OK);
    const char *hash = gbx_explanation_provenance(e).background_sha256;
    assert_int_equal(strlen(hash), 64);
    assert_non_null(strstr(gbx_explanation_provenance(e).parameters, hash));
    const char *path = "/tmp/glassbox-test-library.json";
    assert_int_equal(gbx_explanation_write(e, path, NULL, &error), GBX_OK);
    assert_int_equal(gbx_explanation_read(path, &back, &error), GBX_OK);
    assert_string_equal(gbx_explanation_provenance(back).background_sha256, hash);
    assert_string_equal(gbx_explanation_provenance(back).method, "tree-interventional");
    remove(path);
    gbx_explanation_free(back);
    gbx_explanation_free(e);
    gbx_data_free(rows);
    gbx_explainer_free(explainer);
    gbx_data_free(sample);
    gbx_data_free(background);
}

/* A thread count beyond GBX_MAX_THREADS is refused by the library too. */
static void test_thread_counts(void **state)
{
    (void)state;
    gbx_explainer_options options;
    gbx_explainer_options_init(&options);
    options.threads = 100000;
    gbx_explainer *explainer = NULL;
    gbx_error error;
    assert_int_equal(gbx_explainer_create(model, &options, &explainer, &error), GBX_ERR_USAGE);
    assert_non_null(strstr(error.message, "options.threads"));
    assert_null(explainer);
    gbx_writer_options writing = {1, "json", -1};
    assert_int_equal(gbx_explanation_write(explanation, "/tmp/glassbox-test-threads.json",
                                           &writing, &error), GBX_ERR_USAGE);
}

static void test_output_choice(void **state)
{
    (void)state;
    long output;
    gbx_error error;
    assert_int_equal(gbx_model_output_choice(model, "all", &output, &error), GBX_OK);
    assert_int_equal(output, GBX_OUTPUT_ALL);
    assert_int_equal(gbx_model_output_choice(model, "predicted", &output, &error), GBX_OK);
    assert_int_equal(output, GBX_OUTPUT_PREDICTED);
    assert_int_equal(gbx_model_output_choice(model, "0", &output, &error), GBX_OK);
    assert_int_equal(output, 0);
    assert_int_equal(gbx_model_output_choice(model, gbx_model_output_name(model, 0), &output,
                                             &error), GBX_OK);
    assert_int_equal(output, 0);
    assert_int_equal(gbx_model_output_choice(model, "1", &output, &error), GBX_ERR_USAGE);
    assert_non_null(strstr(error.message, "1 is not an output of this model"));
}

/* A model file's bytes load as the file does: the same SHA-256 and the same predictions. */
static void test_model_from_bytes(void **state)
{
    (void)state;
    FILE *f = fopen(MODEL, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *bytes = malloc((size_t)size);
    assert_int_equal(fread(bytes, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    gbx_model *loaded = NULL;
    gbx_error error;
    assert_int_equal(gbx_model_load_bytes(bytes, (size_t)size, "credit", &loaded, &error), GBX_OK);
    free(bytes);
    assert_string_equal(gbx_model_sha256(loaded), gbx_model_sha256(model));
    size_t M = gbx_model_features(model);
    const double *row = gbx_explanation_data(explanation);
    gbx_data *one = NULL;
    assert_int_equal(gbx_data_wrap(1, M, row, NULL, &one, &error), GBX_OK);
    double a, b;
    assert_int_equal(gbx_model_predict(model, one, 1, &a, &error), GBX_OK);
    assert_int_equal(gbx_model_predict(loaded, one, 1, &b, &error), GBX_OK);
    assert_memory_equal(&a, &b, sizeof a);
    assert_int_equal(gbx_model_load_bytes("{\"learner\"", 10, "broken", &loaded, &error) != GBX_OK, 1);
    assert_non_null(strstr(error.message, "broken"));
    gbx_data_free(one);
    gbx_model_free(loaded);
}

/* A wrapped array is explained in place, as its copy is, and is left to its owner. */
static void test_data_wrap_borrows(void **state)
{
    (void)state;
    size_t n = gbx_explanation_rows(explanation), M = gbx_model_features(model);
    double *rows = malloc(n * M * sizeof(double));
    memcpy(rows, gbx_explanation_data(explanation), n * M * sizeof(double));
    gbx_error error;
    gbx_data *wrapped = NULL;
    assert_int_equal(gbx_data_wrap(n, M, rows, NULL, &wrapped, &error), GBX_OK);
    assert_ptr_equal(gbx_data_values(wrapped), rows);
    gbx_explainer_options options;
    gbx_explainer_options_init(&options);
    gbx_explainer *explainer = NULL;
    gbx_explanation *again = NULL;
    assert_int_equal(gbx_explainer_create(model, &options, &explainer, &error), GBX_OK);
    assert_int_equal(gbx_explainer_explain(explainer, wrapped, &again, &error), GBX_OK);
    assert_memory_equal(gbx_explanation_values(again), gbx_explanation_values(explanation),
                        n * M * sizeof(double));
    gbx_data_free(wrapped);
    rows[0] = 1.0; /* still the caller's (ASan would catch a free) */
    free(rows);
    gbx_explanation_free(again);
    gbx_explainer_free(explainer);
}

/* A black box in the program: a linear function, explained exactly (its Shapley values are
 * w_j (x_j - E x_j)), and its failures and released state. */
typedef struct { double weights[3]; int calls, released; } linear_box;

static int linear_predict(void *user, const double *rows, size_t count, double *out,
                          char *message, size_t size)
{
    linear_box *box = user;
    box->calls++;
    for (size_t r = 0; r < count; r++) {
        if (rows[r * 3] < -1e6) {
            snprintf(message, size, "row %zu is out of range", r);
            return 1;
        }
        out[r] = 0.5;
        for (size_t j = 0; j < 3; j++) out[r] += box->weights[j] * rows[r * 3 + j];
    }
    return 0;
}

static void linear_release(void *user) { ((linear_box *)user)->released = 1; }

static void test_model_from_function(void **state)
{
    (void)state;
    linear_box box = {{2.0, -1.0, 0.25}, 0, 0};
    const char *names[] = {"a", "b", "c"};
    gbx_model_function function = {3, 1, names, NULL, 0, linear_predict, linear_release, &box,
                                   "linear box"};
    gbx_model *boxed = NULL;
    gbx_error error;
    assert_int_equal(gbx_model_from_function(&function, &boxed, &error), GBX_OK);
    assert_string_equal(gbx_model_type(boxed), "function");
    assert_string_equal(gbx_model_feature_name(boxed, 1), "b");
    char digest[65];
    gbx_sha256_hex("linear box", 10, digest);
    assert_string_equal(gbx_model_sha256(boxed), digest);
    const double background_rows[] = {0, 0, 0, 1, 2, 4};
    const double row[] = {3, 1, -2};
    gbx_data *background = NULL, *data = NULL;
    assert_int_equal(gbx_data_create(2, 3, background_rows, names, &background, &error), GBX_OK);
    assert_int_equal(gbx_data_create(1, 3, row, names, &data, &error), GBX_OK);
    gbx_explainer_options options;
    gbx_explainer_options_init(&options);
    assert_int_equal(gbx_explainer_options_set(&options, "method", "exact", &error), GBX_OK);
    options.background = background;
    gbx_explainer *explainer = NULL;
    gbx_explanation *explained = NULL;
    assert_int_equal(gbx_explainer_create(boxed, &options, &explainer, &error), GBX_OK);
    assert_int_equal(gbx_explainer_explain(explainer, data, &explained, &error), GBX_OK);
    const double means[] = {0.5, 1.0, 2.0};
    for (size_t j = 0; j < 3; j++)
        assert_true(fabs(gbx_explanation_values(explained)[j] -
                         box.weights[j] * (row[j] - means[j])) < 1e-12);
    assert_true(box.calls > 0);
    const double bad[] = {-1e9, 0, 0};
    gbx_data *bad_row = NULL;
    gbx_explanation *none = NULL;
    assert_int_equal(gbx_data_create(1, 3, bad, names, &bad_row, &error), GBX_OK);
    assert_int_not_equal(gbx_explainer_explain(explainer, bad_row, &none, &error), GBX_OK);
    assert_non_null(strstr(error.message, "linear box"));
    assert_non_null(strstr(error.message, "out of range"));
    gbx_explanation_free(explained);
    gbx_explainer_free(explainer);
    gbx_data_free(bad_row);
    gbx_data_free(data);
    gbx_data_free(background);
    assert_int_equal(box.released, 0);
    gbx_model_free(boxed);
    assert_int_equal(box.released, 1);
    /* Refused (more than 64 outputs): the state is released all the same. */
    linear_box other = {{0}, 0, 0};
    gbx_model_function wide = {3, 65, NULL, NULL, 0, linear_predict, linear_release, &other, "wide"};
    assert_int_equal(gbx_model_from_function(&wide, &boxed, &error), GBX_ERR_UNSUPPORTED);
    assert_int_equal(other.released, 1);
}

/* Options by name: every listed name is taken, values checked, '_' for '-'. */
static void test_options_by_name(void **state)
{
    (void)state;
    gbx_explainer_options options;
    gbx_explainer_options_init(&options);
    gbx_error error;
    assert_int_equal(gbx_explainer_options_set(&options, "max_evals", "2048", &error), GBX_OK);
    assert_int_equal(options.max_evals, 2048);
    assert_int_equal(gbx_explainer_options_set(&options, "seed", "18446744073709551615", &error),
                     GBX_OK);
    assert_true(options.seed == UINT64_MAX);
    assert_int_equal(gbx_explainer_options_set(&options, "output-space", "probability", &error),
                     GBX_OK);
    assert_int_equal(options.output_space, GBX_SPACE_PROBABILITY);
    assert_int_equal(gbx_explainer_options_set(&options, "l1_reg", "num_features(7)", &error), GBX_OK);
    assert_int_equal(options.kernel_l1, GBX_KERNEL_L1_NUM_FEATURES);
    assert_int_equal(options.kernel_l1_features, 7);
    assert_int_equal(gbx_explainer_options_set(&options, "softmax_rule", "tensorflow", &error),
                     GBX_OK);
    assert_int_equal(options.softmax_rule, GBX_SOFTMAX_RULE_TENSORFLOW);
    assert_int_equal(gbx_explainer_options_set(&options, "threads", "3", &error), GBX_OK);
    assert_int_equal(options.threads, 3);
    assert_int_equal(gbx_explainer_options_set(&options, "interactions", "true", &error), GBX_OK);
    assert_int_equal(options.interactions, 1);
    assert_int_equal(gbx_explainer_options_set(&options, "distance", "cosine", &error), GBX_OK);
    assert_int_equal(options.lime_cosine, 1);
    assert_int_equal(gbx_explainer_options_set(&options, "method", "integrated-gradients", &error),
                     GBX_OK);
    assert_int_equal(options.method, GBX_METHOD_INTEGRATED_GRADIENTS);
    const char *bad[][2] = {{"max-evals", "0"}, {"max-evals", "12x"}, {"seed", "-1"},
                            {"threads", "100000"}, {"l1-reg", "num_features(0)"},
                            {"l1-reg", "num_features(3"}, {"kernel-width", "0"},
                            {"tolerance", "nan"}, {"integration", "simpson"}, {"method", "magic"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(gbx_explainer_options_set(&options, bad[i][0], bad[i][1], &error),
                         GBX_ERR_USAGE);
        assert_non_null(strstr(error.message, bad[i][1]));
    }
    assert_int_equal(gbx_explainer_options_set(&options, "speed", "fast", &error), GBX_ERR_USAGE);
    assert_non_null(strstr(error.message, "unknown explainer option \"speed\""));
    for (size_t i = 0; i < gbx_explainer_option_count(); i++)
        assert_non_null(gbx_explainer_option_name(i));
    assert_null(gbx_explainer_option_name(gbx_explainer_option_count()));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_method_names_are_one_spelling),
        cmocka_unit_test(test_explanation_carries_names_and_provenance),
        cmocka_unit_test(test_plots_render_in_memory),
        cmocka_unit_test(test_reasons_are_structured),
        cmocka_unit_test(test_what_ifs_follow_their_reasons),
        cmocka_unit_test(test_audience_views),
        cmocka_unit_test(test_reasons_for_adverse_decisions_only),
        cmocka_unit_test(test_indicators_read_alike_with_groups),
        cmocka_unit_test(test_notes_go_to_the_log),
        cmocka_unit_test(test_csv_explanation_reads_back),
        cmocka_unit_test(test_background_fingerprint),
        cmocka_unit_test(test_thread_counts),
        cmocka_unit_test(test_output_choice),
        cmocka_unit_test(test_model_from_bytes),
        cmocka_unit_test(test_data_wrap_borrows),
        cmocka_unit_test(test_model_from_function),
        cmocka_unit_test(test_options_by_name),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
