/* glassbox report: an explanation file as one self-contained HTML page. */
#include "cli.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: glassbox report --explanation E.json --output R.html [options]\n\n"
    "One HTML file to open from an e-mail (no network, no external files): provenance (model\n"
    "SHA-256, method, parameters, seed, additivity error), global importance (bar, beeswarm),\n"
    "every row in a searchable, sortable table with its principal reason, and a section per\n"
    "row (waterfall, force, reasons in words, histograms of its top features).\n\n"
    "  --explanation E    the explanation file (JSON)\n"
    "  --output R         the report (.html)\n"
    "  --features F       feature metadata: display names, units, formats, sentences,\n"
    "                     \"sensitive\" (never given as reasons)\n"
    "  --groups G         one-hot columns given as one reason ({\"groups\": {NAME: [...]}})\n"
    "  --model M          a what-if per reason: the model evaluated again at the explained rows\n"
    "  --data D           the explained rows (CSV), for an explanation written with --no-data\n"
    "  --rows A:B         the rows given a section (default 0:100; the table lists all)\n"
    "  --top N            reasons per row at most (default 4)\n"
    "  --adverse D        higher (default) or lower: which outcome the reasons explain\n"
    "  --class K          the output shown, by index (default the first)\n"
    "  --output-name N    the output shown, by name\n"
    "  --sample N         rows drawn in the beeswarm at most (default 1000)\n"
    "  --title T          the report's title (default \"Explanation report\")\n"
    "  --threshold T      decide each row (a probability where the output stands for one):\n"
    "                     the decision shown, reasons for adverse decisions only\n"
    CLI_AUDIENCE_HELP("analyst: a report is for colleagues");

int cli_report_html(int argc, char **argv)
{
    static const struct option options[] = {
        {"explanation", required_argument, 0, 'e'}, {"output", required_argument, 0, 'o'},
        {"features", required_argument, 0, 'F'}, {"groups", required_argument, 0, 'G'},
        {"model", required_argument, 0, 'm'}, {"data", required_argument, 0, 'd'},
        {"rows", required_argument, 0, 'r'}, {"top", required_argument, 0, 'n'},
        {"adverse", required_argument, 0, 'a'}, {"class", required_argument, 0, 'k'},
        {"output-name", required_argument, 0, 'O'}, {"sample", required_argument, 0, 's'},
        {"title", required_argument, 0, 't'}, {"audience", required_argument, 0, 'u'},
        {"threshold", required_argument, 0, 'T'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    gbx_report_options report;
    gbx_report_options_init(&report);
    double threshold = 0;
    const char *explanation_path = NULL, *output = NULL, *features = NULL, *groups_path = NULL;
    const char *model_path = NULL, *data_path = NULL;
    long number;
    int option;
    opterr = 0;
    while ((option = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (option) {
        case 'e': explanation_path = optarg; break;
        case 'o': output = optarg; break;
        case 'F': features = optarg; break;
        case 'G': groups_path = optarg; break;
        case 'm': model_path = optarg; break;
        case 'd': data_path = optarg; break;
        case 'O': report.output_name = optarg; break;
        case 't': report.title = optarg; break;
        case 'r':
            if (!cli_parse_range(optarg, &report.rows_first, &report.rows_last))
                return cli_usage_error("report", "--rows needs A:B (rows A to B-1) or one row, "
                                       "not \"%s\"", optarg);
            break;
        case 'n': case 's':
            if (!cli_parse_count(optarg, &number))
                return cli_usage_error("report", "--%s needs a positive number, not \"%s\"",
                                       option == 'n' ? "top" : "sample", optarg);
            if (option == 'n') report.top = (size_t)number;
            else report.sample = (size_t)number;
            break;
        case 'k':
            if (strcmp(optarg, "0") == 0) number = 0;
            else if (!cli_parse_count(optarg, &number))
                return cli_usage_error("report", "--class needs an output index from 0, not "
                                       "\"%s\"", optarg);
            report.output = number;
            break;
        case 'a':
            if (strcmp(optarg, "higher") != 0 && strcmp(optarg, "lower") != 0)
                return cli_usage_error("report", "--adverse is higher or lower, not \"%s\"",
                                       optarg);
            report.adverse_lower = strcmp(optarg, "lower") == 0;
            break;
        case 'T': {
            char *end;
            threshold = strtod(optarg, &end);
            if (end == optarg || *end || !isfinite(threshold))
                return cli_usage_error("report", "--threshold needs a number, not \"%s\"", optarg);
            report.threshold = &threshold;
            break;
        }
        case 'u': {
            int code = cli_parse_audience("report", optarg, &report.audience);
            if (code) return code;
            break;
        }
        case 'h': fputs(help, stdout); return EXIT_OK;
        default: return cli_usage_error("report", "unknown or incomplete option \"%s\"",
                                        argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error("report", "unexpected argument \"%s\"", argv[optind]);
    if (!explanation_path || !output)
        return cli_usage_error("report", "--explanation and --output are required");
    cli_input_paths paths = {explanation_path, features, groups_path, model_path, data_path};
    cli_inputs in;
    int code = cli_load_inputs("report", &paths, &in);
    gbx_error error;
    report.features = in.features;
    report.groups = in.groups;
    report.model = in.model;
    report.data = in.data;
    if (!code && gbx_report_explanation(in.explanation, &report, output, &error) != GBX_OK)
        code = cli_report(&error);
    cli_free_inputs(&in);
    return code;
}
