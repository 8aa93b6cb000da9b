/* glassbox reasons: the principal reasons behind each explained row's output, in words. */
#include "cli.h"

#include "../io/explanation.h"
#include "../io/features.h"
#include "../render/reasons.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: glassbox reasons --explanation E.json [--row I] [--top N] [--adverse higher|lower]\n"
    "                        [--features F.json] [--groups G.json] [--class K | --output-name N]\n"
    "                        [--model M --data D] [--format text|json|csv] [--output F]\n\n"
    "The principal reasons for an adverse outcome, as lenders must give them: the features that\n"
    "pushed each row's output toward it, largest first. Sensitive features (\"sensitive\": true\n"
    "in the metadata) are never reasons; their total is reported apart.\n\n"
    "  --explanation E    the explanation file (JSON)\n"
    "  --row I            one row, from 0 (default: every row)\n"
    "  --top N            reasons per row at most (default 4)\n"
    "  --adverse D        higher (default: a higher output is adverse, e.g. a default\n"
    "                     probability) or lower (e.g. a credit score)\n"
    "  --features F       feature metadata: display names, units, formats, sentence fragments\n"
    "                     (\"raises\", \"lowers\"), \"sensitive\", and the what-if \"step\"\n"
    "  --groups G         one-hot columns to give as one reason ({\"groups\": {NAME: [...]}})\n"
    "  --class K          the output explained, by index (default the first)\n"
    "  --output-name N    the output explained, by name\n"
    "  --model M --data D with the model and the explained rows, a what-if per reason: the\n"
    "                     prediction with the feature moved by its metadata \"step\"\n"
    "  --format F         text (default), json or csv\n"
    "  --output F         write to F instead of standard output\n";

int cli_reasons(int argc, char **argv)
{
    static const struct option options[] = {
        {"explanation", required_argument, 0, 'e'}, {"row", required_argument, 0, 'r'},
        {"top", required_argument, 0, 'n'}, {"adverse", required_argument, 0, 'a'},
        {"features", required_argument, 0, 'F'}, {"groups", required_argument, 0, 'G'},
        {"class", required_argument, 0, 'k'}, {"output-name", required_argument, 0, 'O'},
        {"model", required_argument, 0, 'm'}, {"data", required_argument, 0, 'd'},
        {"format", required_argument, 0, 'f'}, {"output", required_argument, 0, 'o'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    reasons_options o = {0};
    o.row = o.output = -1;
    const char *explanation = NULL, *features = NULL, *groups_path = NULL, *output_name = NULL;
    const char *model_path = NULL, *data_path = NULL, *output = NULL;
    long number;
    int option;
    opterr = 0;
    while ((option = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (option) {
        case 'e': explanation = optarg; break;
        case 'F': features = optarg; break;
        case 'G': groups_path = optarg; break;
        case 'O': output_name = optarg; break;
        case 'm': model_path = optarg; break;
        case 'd': data_path = optarg; break;
        case 'o': output = optarg; break;
        case 'r': case 'k':
            if (strcmp(optarg, "0") == 0) number = 0;
            else if (!cli_parse_count(optarg, &number))
                return cli_usage_error("reasons", "--%s needs a number from 0, not \"%s\"",
                                       option == 'r' ? "row" : "class", optarg);
            if (option == 'r') o.row = number;
            else o.output = number;
            break;
        case 'n':
            if (!cli_parse_count(optarg, &number))
                return cli_usage_error("reasons", "--top needs a positive number, not \"%s\"", optarg);
            o.top = (size_t)number;
            break;
        case 'a':
            if (strcmp(optarg, "higher") != 0 && strcmp(optarg, "lower") != 0)
                return cli_usage_error("reasons", "--adverse is higher or lower, not \"%s\"", optarg);
            o.adverse_lower = strcmp(optarg, "lower") == 0;
            break;
        case 'f':
            if (strcmp(optarg, "text") == 0) o.format = REASONS_TEXT;
            else if (strcmp(optarg, "json") == 0) o.format = REASONS_JSON;
            else if (strcmp(optarg, "csv") == 0) o.format = REASONS_CSV;
            else return cli_usage_error("reasons", "--format is text, json or csv, not \"%s\"", optarg);
            break;
        case 'h': fputs(help, stdout); return EXIT_OK;
        default: return cli_usage_error("reasons", "unknown or incomplete option \"%s\"",
                                        argv[optind - 1]);
        }
    }
    if (!explanation) return cli_usage_error("reasons", "--explanation is required");
    if (!model_path != !data_path)
        return cli_usage_error("reasons", "a what-if needs both --model and --data");
    gbx_error error;
    gbx_explanation *document = NULL, *grouped = NULL;
    gbx_feature_metadata *metadata = NULL;
    gbx_groups *groups = NULL;
    gbx_model *model = NULL;
    gbx_data *data = NULL;
    FILE *out = NULL;
    int code = EXIT_OK;
    if (gbx_explanation_read(explanation, &document, &error) ||
        (features && gbx_feature_metadata_read(features, &metadata, &error)) ||
        (groups_path && !document->group_of_column &&
         gbx_groups_read(groups_path, document->features,
                                        (const char *const *)document->feature_names, &groups,
                                        &error)) ||
        (model_path && gbx_model_load(model_path, &model, &error)) ||
        (data_path && gbx_data_read_csv(data_path, model, &data, &error))) {
        code = cli_report(&error);
        goto done;
    }
    /* An explanation made with explain --groups is read per column, its groups as given. */
    if (document->group_of_column) {
        if (groups_path) {
            code = cli_usage_error("reasons", "%s is already explained by groups; --groups is "
                                   "for an explanation per column", explanation);
            goto done;
        }
        gbx_explanation *columns;
        if (gbx_explanation_spread_groups(document, &columns, &error) != GBX_OK) {
            code = cli_report(&error);
            goto done;
        }
        grouped = document;
        document = columns;
        o.group_of_feature = grouped->group_of_column;
        o.group_names = (const char *const *)grouped->feature_names;
        o.group_count = grouped->features;
        o.spread_groups = 1;
    }
    if (output_name) {
        for (size_t k = 0; k < document->outputs; k++)
            if (strcmp(document->output_names[k], output_name) == 0) o.output = (long)k;
        if (o.output < 0) {
            code = cli_usage_error("reasons", "%s has no output named \"%s\"", explanation,
                                   output_name);
            goto done;
        }
    }
    if (groups) {
        gbx_explainer_options grouped;
        gbx_explainer_options_init(&grouped);
        gbx_groups_apply(groups, &grouped);
        o.group_of_feature = grouped.group_of_feature;
        o.group_names = grouped.group_names;
        o.group_count = grouped.group_count;
    }
    o.features = metadata;
    o.model = model;
    o.data = data;
    out = output ? fopen(output, "w") : stdout;
    if (!out) {
        error.status = GBX_ERR_IO;
        snprintf(error.message, sizeof error.message, "%s: cannot write", output);
        code = cli_report(&error);
        goto done;
    }
    if (reasons_write(document, &o, out, &error) != GBX_OK) code = cli_report(&error);
done:
    if (out && out != stdout && fclose(out) != 0 && code == EXIT_OK) code = EXIT_INTERNAL;
    gbx_data_free(data);
    gbx_model_free(model);
    gbx_groups_free(groups);
    gbx_feature_metadata_free(metadata);
    gbx_explanation_free(document);
    gbx_explanation_free(grouped);
    return code;
}
