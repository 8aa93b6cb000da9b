/* glassbox reasons: the principal reasons behind each explained row's output, in words. */
#include "cli.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char help[] =
    "usage: glassbox reasons --explanation E.json [--row I] [--top N] [--adverse higher|lower]\n"
    "                        [--features F.json] [--groups G.json] [--class K | --output-name N]\n"
    "                        [--model M --data D] [--format text|json|csv] [--output F]\n\n"
    "The principal reasons for an adverse outcome, as lenders must give them: the features that\n"
    "pushed each row's output toward it, largest first. Sensitive features (\"sensitive\": true\n"
    "in the metadata) are never reasons; what is said of them depends on --audience.\n\n"
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
    "  --model M          a what-if per reason: the model evaluated again at the explained\n"
    "                     row with the feature moved by its metadata \"step\"\n"
    "  --data D           the explained rows (CSV), for an explanation written with --no-data\n"
    "  --format F         text, json or csv (default: by --output's extension, else text)\n"
    "  --output F         write to F instead of standard output\n"
    "  --threshold T      decide: a probability where the output stands for one (a logistic\n"
    "                     margin, a probability output), else in the output's units; only\n"
    "                     adverse decisions are given reasons\n"
    CLI_AUDIENCE_HELP("applicant: reasons are what an applicant is told");

/* The output file's format: --format, else its extension (.json, .csv), else text. */
static const char *format_for(const char *format, const char *output)
{
    const char *dot = output ? strrchr(output, '.') : NULL;
    if (format) return format;
    if (dot && strcasecmp(dot, ".json") == 0) return "json";
    if (dot && strcasecmp(dot, ".csv") == 0) return "csv";
    return "text";
}

int cli_reasons(int argc, char **argv)
{
    static const struct option options[] = {
        {"explanation", required_argument, 0, 'e'}, {"row", required_argument, 0, 'r'},
        {"top", required_argument, 0, 'n'}, {"adverse", required_argument, 0, 'a'},
        {"features", required_argument, 0, 'F'}, {"groups", required_argument, 0, 'G'},
        {"class", required_argument, 0, 'k'}, {"output-name", required_argument, 0, 'O'},
        {"model", required_argument, 0, 'm'}, {"data", required_argument, 0, 'd'},
        {"format", required_argument, 0, 'f'}, {"output", required_argument, 0, 'o'},
        {"audience", required_argument, 0, 'u'}, {"threshold", required_argument, 0, 'T'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    gbx_reasons_options o;
    gbx_reasons_options_init(&o);
    double threshold = 0;
    const char *explanation_path = NULL, *features = NULL, *groups_path = NULL;
    const char *model_path = NULL, *data_path = NULL, *output = NULL, *format = NULL;
    long number;
    int option;
    opterr = 0;
    while ((option = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (option) {
        case 'e': explanation_path = optarg; break;
        case 'F': features = optarg; break;
        case 'G': groups_path = optarg; break;
        case 'O': o.output_name = optarg; break;
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
            if (strcmp(optarg, "text") != 0 && strcmp(optarg, "json") != 0 && strcmp(optarg, "csv") != 0)
                return cli_usage_error("reasons", "--format is text, json or csv, not \"%s\"", optarg);
            format = optarg;
            break;
        case 'T': {
            char *end;
            threshold = strtod(optarg, &end);
            if (end == optarg || *end || !isfinite(threshold))
                return cli_usage_error("reasons", "--threshold needs a number, not \"%s\"", optarg);
            o.threshold = &threshold;
            break;
        }
        case 'u': {
            int code = cli_parse_audience("reasons", optarg, &o.audience);
            if (code) return code;
            break;
        }
        case 'h': fputs(help, stdout); return EXIT_OK;
        default: return cli_usage_error("reasons", "unknown or incomplete option \"%s\"",
                                        argv[optind - 1]);
        }
    }
    if (!explanation_path) return cli_usage_error("reasons", "--explanation is required");
    if (o.output >= 0 && o.output_name)
        return cli_usage_error("reasons", "--class and --output-name both choose the output; give one");
    cli_input_paths paths = {explanation_path, features, groups_path, model_path, data_path};
    cli_inputs in;
    int code = cli_load_inputs("reasons", &paths, &in);
    gbx_error error;
    gbx_reasons *reasons = NULL;
    o.features = in.features;
    o.groups = in.groups;
    o.model = in.model;
    o.data = in.data;
    if (!code && (gbx_reasons_compute(in.explanation, &o, &reasons, &error) != GBX_OK ||
                  gbx_reasons_write_file(reasons, output ? output : "-", format_for(format, output),
                                         &error) != GBX_OK))
        code = cli_report(&error);
    gbx_reasons_free(reasons);
    cli_free_inputs(&in);
    return code;
}
