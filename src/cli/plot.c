/* glassbox plot: draws an explanation file as a plot (SVG, PNG or PDF). */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: glassbox plot KIND --explanation E.json --output F.svg|.png|.pdf [options]\n\n"
    "Draws an explanation file (glassbox explain --output E.json). Red raises the output, blue\n"
    "lowers it.\n\n"
    "kinds:\n"
    "  waterfall          one row: bars from the base value E[f(X)] to the prediction f(x)\n"
    "  force              one row: the features raising and lowering the output, pushing\n"
    "                     against each other at f(x); with --rows A:B, the rows side by side\n"
    "  decision           one row or --rows A:B: lines from the base value up through the\n"
    "                     features to each prediction\n"
    "  bar                mean |value| of each feature over the rows (--cohort: per cohort)\n"
    "  beeswarm           every row's value per feature, coloured by the feature's value\n"
    "  dependence         one feature's value against its data value, coloured by the\n"
    "                     feature it interacts with most (or --color)\n"
    "  heatmap            rows x features, the values as colours, f(x) above\n"
    "  histogram          one feature's distribution over the rows, --row marked\n"
    "  image              a network's image input, its attribution map, and the two blended\n"
    "  text               token attributions as highlighted HTML (--output F.html)\n\n"
    "  --explanation E    the explanation file (JSON)\n"
    "  --output F         the plot; .svg, .png or .pdf (text: .html)\n"
    "  --row I            waterfall, force, decision, histogram, image: the row, from 0\n"
    "                     (default 0)\n"
    "  --rows A:B         force, decision, text: rows A to B-1\n"
    "  --order O          force over rows, heatmap: similarity (default), output or original\n"
    "  --feature F        dependence, histogram: the feature, by column or display name\n"
    "  --color G          dependence: colour by feature G, or none (default: shap's pick)\n"
    "  --cohort COL       bar: a bar per cohort of the data column (its values, or quartiles)\n"
    "  --vocabulary V     text: the tokens' words, one per line (line i is id i)\n"
    "  --class K          the output shown, by index (default: the first, said in the title)\n"
    "  --output-name NAME the output shown, by name\n"
    "  --max-display N    features drawn, the last folding the others (default 10)\n"
    "  --features F       feature metadata: display names, units, number formats, and which\n"
    "                     features are sensitive (without it, none is known to be)\n"
    CLI_AUDIENCE_HELP("applicant, the safest: every plot still draws");

int cli_plot(int argc, char **argv)
{
    static const struct option options[] = {
        {"explanation", required_argument, 0, 'e'}, {"output", required_argument, 0, 'o'},
        {"row", required_argument, 0, 'r'}, {"class", required_argument, 0, 'k'},
        {"output-name", required_argument, 0, 'O'}, {"max-display", required_argument, 0, 'x'},
        {"features", required_argument, 0, 'F'}, {"feature", required_argument, 0, 'f'},
        {"rows", required_argument, 0, 'R'}, {"order", required_argument, 0, 'S'},
        {"color", required_argument, 0, 'C'}, {"cohort", required_argument, 0, 'c'},
        {"vocabulary", required_argument, 0, 'V'}, {"audience", required_argument, 0, 'u'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    gbx_plot_options plot;
    gbx_plot_options_init(&plot);
    const char *explanation = NULL, *output = NULL, *output_name = NULL, *features = NULL;
    long number;
    int option;
    opterr = 0;
    while ((option = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (option) {
        case 'e': explanation = optarg; break;
        case 'o': output = optarg; break;
        case 'O': output_name = optarg; break;
        case 'F': features = optarg; break;
        case 'f': plot.feature = optarg; break;
        case 'S': plot.order = optarg; break;
        case 'C': plot.color = optarg; break;
        case 'c': plot.cohort = optarg; break;
        case 'V': plot.vocabulary = optarg; break;
        case 'R':
            if (!cli_parse_range(optarg, &plot.row, &plot.rows_last))
                return cli_usage_error("plot", "--rows needs A:B (rows A to B-1), not \"%s\"",
                                       optarg);
            break;
        case 'r':
            if (strcmp(optarg, "0") == 0) number = 0;
            else if (!cli_parse_count(optarg, &number))
                return cli_usage_error("plot", "--row needs a row number from 0, not \"%s\"",
                                       optarg);
            plot.row = (size_t)number;
            break;
        case 'k':
            if (strcmp(optarg, "0") == 0) number = 0;
            else if (!cli_parse_count(optarg, &number))
                return cli_usage_error("plot", "--class needs an output index from 0, not \"%s\"",
                                       optarg);
            plot.output = number;
            break;
        case 'x':
            if (!cli_parse_count(optarg, &number) || number < 2)
                return cli_usage_error("plot", "--max-display needs a number from 2, not \"%s\"",
                                       optarg);
            plot.max_display = (size_t)number;
            break;
        case 'u': {
            int code = cli_parse_audience("plot", optarg, &plot.audience);
            if (code) return code;
            break;
        }
        case 'h': fputs(help, stdout); return EXIT_OK;
        default: return cli_usage_error("plot", "unknown or incomplete option \"%s\"",
                                        argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return cli_usage_error("plot", "which plot? (see glassbox plot --help)");
    plot.kind = argv[optind];
    if (!explanation || !output)
        return cli_usage_error("plot", "--explanation and --output are required");
    plot.output_name = output_name;
    gbx_error error;
    gbx_feature_metadata *metadata = NULL;
    int code = EXIT_OK;
    if ((features && gbx_feature_metadata_read(features, &metadata, &error) != GBX_OK) ||
        (plot.features = metadata, gbx_plot(explanation, &plot, output, &error) != GBX_OK))
        code = cli_report(&error);
    gbx_feature_metadata_free(metadata);
    return code;
}
