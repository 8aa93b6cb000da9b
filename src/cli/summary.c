/* glassbox summary: a readable table of the first rows of an explanation file: the
 * prediction, the decision and the features that contributed most. */
#include "cli.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: glassbox summary --explanation E.json [--rows N] [--top K] [--output-index k]\n"
    "                        [--labels NEGATIVE,POSITIVE] [--threshold P]\n"
    "                        [--features F.json] [--audience A]\n\n"
    "Prints, for the first N rows (default 5), the prediction and the K features (default 4)\n"
    "with the largest contributions. For logistic models the margin is shown as a probability\n"
    "and compared with the threshold (default 0.5) to name the decision with --labels.\n\n"
    "  --features F       feature metadata: which features are sensitive\n"
    CLI_AUDIENCE_HELP("applicant, the safest: the table still reads");

/* The data's value for explained feature f in row r: its column's number, or for a group of
 * several columns (one-hot dummies) the name of the column that is set. */
static void feature_value(const gbx_explanation *e, size_t r, size_t f, char *out, size_t size)
{
    const double *data = gbx_explanation_data(e);
    size_t J = gbx_explanation_columns(e), members = 0, column = 0;
    *out = '\0';
    if (!data) return;
    for (size_t j = 0; j < J; j++)
        if (gbx_explanation_group_of_column(e, j) == (long)f) members++, column = j;
    if (members == 0) return; /* a layer's element: no column of its own */
    if (members > 1) {
        for (size_t j = 0; j < J; j++)
            if (gbx_explanation_group_of_column(e, j) == (long)f && data[r * J + j] != 0.0 &&
                !isnan(data[r * J + j])) {
                snprintf(out, size, "%s", gbx_explanation_column_name(e, j));
                return;
            }
        return;
    }
    double value = data[r * J + column];
    if (isnan(value)) snprintf(out, size, "missing");
    else snprintf(out, size, "%.6g", value);
}

/* Whether the values are log-odds of a logistic model's probability. */
static int logistic(const gbx_provenance *p)
{
    return strcmp(p->output_space, "margin") == 0 &&
           (strstr(p->objective, "logistic") || strncmp(p->objective, "binary", 6) == 0 ||
            strncmp(p->objective, "cross_entropy", 13) == 0) &&
           !strstr(p->objective, "logitraw");
}

int cli_summary(int argc, char **argv)
{
    static const struct option options[] = {
        {"explanation", required_argument, 0, 'e'}, {"rows", required_argument, 0, 'r'},
        {"top", required_argument, 0, 't'}, {"output-index", required_argument, 0, 'k'},
        {"labels", required_argument, 0, 'l'}, {"threshold", required_argument, 0, 'p'},
        {"features", required_argument, 0, 'F'}, {"audience", required_argument, 0, 'u'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *path = NULL, *labels = "0,1", *features = NULL;
    gbx_audience audience = GBX_AUDIENCE_APPLICANT;
    long rows = 5, top = 4, output = 0;
    double threshold = 0.5;
    int option;
    opterr = 0;
    while ((option = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (option) {
        case 'e': path = optarg; break;
        case 'l': labels = optarg; break;
        case 'r': if (!cli_parse_count(optarg, &rows)) return cli_usage_error("summary", "bad --rows"); break;
        case 't': if (!cli_parse_count(optarg, &top)) return cli_usage_error("summary", "bad --top"); break;
        case 'k': {
            char *end;
            output = strtol(optarg, &end, 10);
            if (end == optarg || *end || output < 0)
                return cli_usage_error("summary", "bad --output-index \"%s\"", optarg);
            break;
        }
        case 'p': threshold = atof(optarg); break;
        case 'F': features = optarg; break;
        case 'u': {
            int code = cli_parse_audience("summary", optarg, &audience);
            if (code) return code;
            break;
        }
        case 'h': fputs(help, stdout); return EXIT_OK;
        default: return cli_usage_error("summary", "unknown or incomplete option \"%s\"", argv[optind - 1]);
        }
    }
    if (!path) return cli_usage_error("summary", "--explanation is required");
    const char *comma = strchr(labels, ',');
    if (!comma) return cli_usage_error("summary", "--labels needs two names separated by a comma");
    gbx_explanation *explanation = NULL;
    gbx_error error;
    /* What the audience may see of the explanation. */
    gbx_explanation *read = NULL;
    gbx_feature_metadata *metadata = NULL;
    int failed = gbx_explanation_read(path, &read, &error) != GBX_OK ||
                 (features && gbx_feature_metadata_read(features, &metadata, &error) != GBX_OK) ||
                 gbx_explanation_for_audience(read, metadata, audience, &explanation, &error) != GBX_OK;
    gbx_explanation_free(read);
    if (failed) {
        gbx_feature_metadata_free(metadata);
        return cli_report(&error);
    }
    const gbx_explanation *e = explanation;
    size_t K = gbx_explanation_outputs(e), M = gbx_explanation_features(e);
    /* Binary models have one output; multiclass defaults to the first class. */
    size_t k = (size_t)output;
    if (k >= K) {
        gbx_explanation_free(explanation);
        gbx_feature_metadata_free(metadata);
        return cli_usage_error("summary", "--output-index %zu, but the file has %zu outputs", k, K);
    }
    gbx_provenance provenance = gbx_explanation_provenance(e);
    int log_odds = logistic(&provenance);
    int probability = strcmp(provenance.output_space, "probability") == 0;
    const double *values = gbx_explanation_values(e), *predictions = gbx_explanation_predictions(e);
    const double *base = gbx_explanation_base_values(e);
    size_t n = gbx_explanation_rows(e);
    if ((size_t)rows < n) n = (size_t)rows;
    if ((size_t)top > M) top = (long)M;
    size_t *order = malloc((M ? M : 1) * sizeof(size_t));
    if (!order) {
        gbx_explanation_free(explanation);
        gbx_feature_metadata_free(metadata);
        fputs("glassbox: out of memory\n", stderr);
        return EXIT_INTERNAL;
    }
    for (size_t r = 0; r < n; r++) {
        const double *phi = values + (r * K + k) * M;
        double margin = predictions[r * K + k], base_value = base[r * K + k];
        printf("row %zu: ", r);
        if (log_odds || probability) {
            double p = probability ? margin : 1.0 / (1.0 + exp(-margin));
            printf("%.*s (probability %.1f%%, base %.1f%%)\n",
                   p >= threshold ? (int)strlen(comma + 1) : (int)(comma - labels),
                   p >= threshold ? comma + 1 : labels, 100 * p,
                   100 * (probability ? base_value : 1.0 / (1.0 + exp(-base_value))));
        } else {
            printf("prediction %.6g (base %.6g)\n", margin, base_value);
        }
        for (size_t f = 0; f < M; f++) order[f] = f;
        for (size_t i = 0; i < (size_t)top; i++) /* partial selection sort by |value| */
            for (size_t j = i + 1; j < M; j++)
                if (fabs(phi[order[j]]) > fabs(phi[order[i]])) {
                    size_t swap = order[i];
                    order[i] = order[j];
                    order[j] = swap;
                }
        printf("    %-40s %12s %12s\n", "feature", "value", log_odds ? "log-odds" : "contribution");
        for (size_t i = 0; i < (size_t)top; i++) {
            size_t f = order[i];
            char value[48];
            feature_value(e, r, f, value, sizeof value);
            /* An auditor sees the sensitive features marked. */
            char name[128];
            snprintf(name, sizeof name, "%s%s", gbx_explanation_feature_name(e, f),
                     audience == GBX_AUDIENCE_AUDITOR && gbx_explanation_sensitive(e, metadata, f)
                         ? " (sensitive)" : "");
            printf("    %-40s %12s %+12.4f\n", name, value, phi[f]);
        }
    }
    free(order);
    gbx_explanation_free(explanation);
    gbx_feature_metadata_free(metadata);
    /* Every write is checked: a full standard output is an error, not a silent success. */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fputs("glassbox: standard output: write error\n", stderr);
        return EXIT_BAD_INPUT;
    }
    return EXIT_OK;
}
