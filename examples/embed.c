/* Embedding glassbox: the whole flow through include/glassbox.h alone.
 *
 * Loads the bundled credit model, explains the first applicants, gives the principal reasons
 * for row 0 in words (one-hot dummies as one reason; sensitive features absent, as the
 * applicant sees them), draws row 0's waterfall as SVG in memory, and writes the explanation
 * file, then reads it back.
 *
 *   cc embed.c $(pkg-config --cflags --libs glassbox) -o embed
 *   ./embed examples/credit_model.json examples/data/german_credit.csv \
 *           examples/credit_features.json examples/credit_groups.json out.json
 */
#include <glassbox.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The library never prints; its notes come here. */
static void note(gbx_log_level level, const char *message, void *user)
{
    (void)level, (void)user;
    fprintf(stderr, "note: %s\n", message);
}

static int fail(const gbx_error *error)
{
    fprintf(stderr, "embed: %s\n", error->message);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: embed MODEL DATA.csv FEATURES.json GROUPS.json OUT.json\n");
        return 2;
    }
    gbx_set_log(note, NULL);
    gbx_error error;
    gbx_model *model = NULL;
    gbx_data_reader *reader = NULL;
    gbx_data *rows = NULL;
    gbx_explainer *explainer = NULL;
    gbx_explanation *explanation = NULL, *read_back = NULL;
    gbx_feature_metadata *features = NULL;
    gbx_groups *groups = NULL;
    const char **names = NULL;
    gbx_reasons *reasons = NULL;
    char *svg = NULL;
    size_t svg_size = 0;
    int code = 1;

    /* The model and 5 rows of applicants (columns matched to the model's by name). */
    if (gbx_model_load(argv[1], &model, &error) ||
        gbx_data_reader_open(argv[2], model, &reader, &error) ||
        gbx_data_reader_next(reader, 5, &rows, &error) || !rows) {
        code = fail(&error);
        goto done;
    }

    /* TreeSHAP (auto picks it for a tree model without a background). */
    gbx_explainer_options options;
    gbx_explainer_options_init(&options);
    if (gbx_explainer_create(model, &options, &explainer, &error) ||
        gbx_explainer_explain(explainer, rows, &explanation, &error)) {
        code = fail(&error);
        goto done;
    }
    size_t M = gbx_explanation_features(explanation), K = gbx_explanation_outputs(explanation);
    const double *values = gbx_explanation_values(explanation);
    const double *base = gbx_explanation_base_values(explanation);
    const double *prediction = gbx_explanation_predictions(explanation);
    double sum = base[0];
    for (size_t f = 0; f < M; f++) sum += values[f];
    gbx_provenance provenance = gbx_explanation_provenance(explanation);
    printf("method %s, model %.12s..., %zu rows, %zu features, %zu output\n", provenance.method,
           provenance.model_sha256, gbx_explanation_rows(explanation), M, K);
    printf("row 0: base %.6f + values = %.6f, prediction %.6f\n", base[0], sum, prediction[0]);

    /* Reasons for row 0: one-hot dummies as one reason each (groups over the explanation's
     * features, by name), sensitive features never among them. */
    gbx_reasons_options reasons_options;
    gbx_reasons_options_init(&reasons_options);
    reasons_options.row = 0;
    if (!(names = malloc(M * sizeof *names))) goto done;
    for (size_t f = 0; f < M; f++) names[f] = gbx_explanation_feature_name(explanation, f);
    if (gbx_feature_metadata_read(argv[3], &features, &error) ||
        gbx_groups_read(argv[4], M, names, &groups, &error)) {
        code = fail(&error);
        goto done;
    }
    reasons_options.features = features;
    reasons_options.groups = groups;
    reasons_options.model = model; /* what-ifs, at the rows the explanation holds */
    if (gbx_reasons_compute(explanation, &reasons_options, &reasons, &error)) {
        code = fail(&error);
        goto done;
    }
    const gbx_reasons_row *row = gbx_reasons_row_at(reasons, 0);
    for (size_t i = 0; i < row->count; i++)
        printf("reason %zu: %s (%s, %+.4f)%s%s\n", i + 1, row->reasons[i].sentence,
               row->reasons[i].display, row->reasons[i].contribution,
               *row->reasons[i].what_if ? "; " : "", row->reasons[i].what_if);
    /* An applicant (the default audience) is told nothing of the sensitive features; an
     * analyst or auditor would find them in row->sensitive. */
    printf("sensitive features shown to the applicant: %zu\n", row->sensitive_count);

    /* Row 0's waterfall, drawn in memory (as a service would send it). */
    gbx_plot_options plot;
    gbx_plot_options_init(&plot);
    plot.kind = "waterfall";
    plot.row = 0;
    if (gbx_plot_render(explanation, &plot, "svg", &svg, &svg_size, &error)) {
        code = fail(&error);
        goto done;
    }
    printf("waterfall: %zu bytes of SVG%s\n", svg_size, strstr(svg, "<svg") ? "" : " (no <svg>?)");

    /* The explanation file, and the same object read back. */
    gbx_writer_options writing = {1, NULL, 0};
    if (gbx_explanation_write(explanation, argv[5], &writing, &error) ||
        gbx_explanation_read(argv[5], &read_back, &error)) {
        code = fail(&error);
        goto done;
    }
    int same = gbx_explanation_rows(read_back) == gbx_explanation_rows(explanation) &&
               memcmp(gbx_explanation_values(read_back), values,
                      gbx_explanation_rows(explanation) * K * M * sizeof(double)) == 0;
    printf("written to %s and read back: %s\n", argv[5], same ? "the same values" : "DIFFERENT");
    code = same ? 0 : 1;
done:
    gbx_free(svg);
    gbx_reasons_free(reasons);
    gbx_groups_free(groups);
    free(names);
    gbx_feature_metadata_free(features);
    gbx_explanation_free(read_back);
    gbx_explanation_free(explanation);
    gbx_explainer_free(explainer);
    gbx_data_free(rows);
    gbx_data_reader_free(reader);
    gbx_model_free(model);
    return code;
}
