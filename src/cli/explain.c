/* glassbox explain: read rows in chunks, explain them, stream the explanation file. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <getopt.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: glassbox explain --model M --data D [options]\n\n"
    "Computes SHAP values for every row of D and writes a glassbox.explanation/1 JSON file\n"
    "(or CSV: one row per data row and output, one column per feature, base_value, prediction).\n\n"
    "  --model M            XGBoost JSON/UBJSON, LightGBM text, glassbox_linear JSON,\n"
    "                       ONNX (.onnx: networks, skl2onnx trees and linear models),\n"
    "                       Keras (.keras, .h5), a TensorFlow SavedModel directory,\n"
    "                       plugin:LIB.so[:ARG], cmd:COMMAND (a child process; see the\n"
    "                       README for the protocol), or the URL of a served model:\n"
    "                       http://HOST:PORT/v1/models/NAME:predict (TF Serving) or\n"
    "                       http://HOST:PORT/v2/models/NAME/infer (Open Inference Protocol)\n"
    "  --model-timeout S    longest wait for a cmd: or HTTP model's answer (default 60)\n"
    "  --data D             CSV with a header row (columns matched to the model's feature\n"
    "                       names), a .npy array, or for networks PNG/JPEG images (a file or\n"
    "                       a folder of them, one row each; also for --background, --baseline)\n"
    CLI_PIXEL_HELP
    "  --method NAME        auto (default: tree, or tree-interventional with --background;\n"
    "                       linear for linear models; exact for other models),\n"
    "                       tree (path-dependent TreeSHAP),\n"
    "                       tree-interventional (against --background), exact (any model,\n"
    "                       all 2^M coalitions against --background, M <= 24),\n"
    "                       permutation (any model: antithetic permutation sampling against\n"
    "                       --background, with standard errors in the JSON file), linear\n"
    "                       (glassbox_linear JSON models: exact LinearSHAP against --background),\n"
    "                       kernel (any model: KernelSHAP with shap's sampling plan),\n"
    "                       or lime (any model: LIME tabular, --background as training data);\n"
    "                       for networks (ONNX, Keras), as captum: saliency, input-x-gradient,\n"
    "                       smoothgrad, integrated-gradients (from --baseline) or\n"
    "                       gradient-shap (expected gradients over --background) or deep\n"
    "                       (DeepSHAP: DeepLIFT's rescale rule averaged over --background) or\n"
    "                       grad-cam (--layer)\n"
    "  --background B       CSV of background rows (every method but tree)\n"
    "  --background-sample K  use K rows of the background, drawn with --seed\n"
    "  --background-kmeans K  use K weighted k-means centres of the background (shap.kmeans)\n"
    "  --background-stratify COL  draw the sample or the centres per value of COL, in\n"
    "                       proportion to its rows\n"
    "  --groups G           explain groups of columns (one-hot dummies) as one feature each:\n"
    "                       G is {\"groups\": {\"NAME\": [\"column\", ...], ...}} (every method)\n"
    "  --max-evals N        coalitions per row: permutation (default 500), kernel (2M + 2048);\n"
    "                       each costs one model call per background row; lime: neighbours\n"
    "                       drawn (5000)\n"
    "  --sample-background S  all (default: every coalition against the whole background, as\n"
    "                       shap), or rows drawn by weight: permutation one (each pair of\n"
    "                       orders against one row: one model call per coalition), kernel a\n"
    "                       count K (each draw of a coalition against K rows; on 20\n"
    "                       features, --max-evals 3000 with K 3 matched shap's accuracy)\n"
    "  --seed N             random seed: permutation, kernel, --background-sample (default 0)\n"
    "  --l1-reg R           kernel: off (default), num_features(K), aic or bic: fit only the\n"
    "                       features least-angle regression selects, as shap's l1_reg\n"
    "  --tolerance T        kernel: stop drawing coalitions once every standard error is at\n"
    "                       most T (--max-evals stays the ceiling)\n"
    "  --link L             kernel: identity (default) or logit (log-odds of the mean\n"
    "                       prediction, for probability outputs, as shap's link=\"logit\")\n"
    "  --discretizer D      lime: quartile (default), decile or none\n"
    "  --distance D         lime: euclidean (default) or cosine\n"
    "  --feature-selection S  lime: auto (default), forward, highest-weights or none\n"
    "  --num-features K     lime: features in the local model (default 10)\n"
    "  --kernel-width W     lime: kernel width (default 0.75 sqrt(M))\n"
    "  --categorical C,..   lime: categorical columns, sampled by their training frequency\n"
    "  --steps N            integrated-gradients: integration points (default 50)\n"
    "  --integration R      integrated-gradients: gausslegendre (default), riemann_left,\n"
    "                       riemann_right, riemann_middle or riemann_trapezoid\n"
    "  --baseline B         integrated-gradients: zeros (default), mean (of --background) or\n"
    "                       a CSV file holding one row\n"
    "  --softmax-rule R     deep: how a softmax passes multipliers: tensorflow (shap's\n"
    "                       TensorFlow DeepExplainer), pytorch (shap's PyTorch one, captum) or\n"
    "                       auto (default: tensorflow for Keras files and tf2onnx exports)\n"
    "  --nsamples N         smoothgrad, gradient-shap: noisy or random draws per row (default 5)\n"
    "  --stdevs S           smoothgrad (default 1), gradient-shap (default 0): noise deviation\n"
    "  --class C            network methods: explain output C only (its index), predicted\n"
    "                       (each row's largest output) or all (default)\n"
    "  --output-name NAME   network methods: explain the output called NAME only\n"
    "  --layer NAME         grad-cam: the tensor (a convolution's output) whose channels are\n"
    "                       weighed by their mean gradient; the map is upsampled to the input.\n"
    "                       integrated-gradients, deep: attribute to this tensor (a Keras layer\n"
    "                       or an ONNX tensor) instead of the input, one value per element, or\n"
    "                       per token when it is an embedding's output (captum's layer methods)\n"
    "  --output-space S     raw (default: margin / log-odds) or probability\n"
    "                       (tree-interventional, logistic and softmax models)\n"
    "  --interactions       add SHAP interaction values (method tree, JSON only)\n"
    "  --output F           F.json or F.csv (default: JSON on standard output)\n"
    "  --format FMT         json or csv, whatever --output is called\n"
    "  --no-data            leave the explained rows out of the JSON file\n"
    "  --threads N          threads to use (default: all cores; results do not depend on it)\n"
    "  --chunk-rows N       rows read and explained at a time (default 4096)\n"
    "  --quiet              no notes or progress bar on stderr\n";

typedef struct {
    const char *model, *data, *background, *output, *format, *groups, *categorical, *baseline;
    const char *class_choice, *output_name;
    gbx_explainer_options explainer;
    int no_data, quiet;
    long chunk_rows, background_sample, background_kmeans;
    const char *background_stratify;
    gbx_model_options model_options;
    gbx_pixel_options pixels;
} explain_arguments;

static int parse(int argc, char **argv, explain_arguments *a)
{
    static const struct option options[] = {
        {"model", required_argument, 0, 'm'}, {"data", required_argument, 0, 'd'},
        {"method", required_argument, 0, 'M'}, {"background", required_argument, 0, 'b'},
        {"output-space", required_argument, 0, 's'}, {"interactions", no_argument, 0, 'i'},
        {"output", required_argument, 0, 'o'}, {"no-data", no_argument, 0, 'n'},
        {"threads", required_argument, 0, 't'}, {"chunk-rows", required_argument, 0, 'c'},
        {"format", required_argument, 0, 'f'}, {"model-timeout", required_argument, 0, 'T'},
        {"max-evals", required_argument, 0, 'E'}, {"seed", required_argument, 0, 'S'},
        {"background-sample", required_argument, 0, 'B'}, {"link", required_argument, 0, 'L'},
        {"groups", required_argument, 0, 'G'}, {"background-kmeans", required_argument, 0, 'K'},
        {"background-stratify", required_argument, 0, 'R'}, {"discretizer", required_argument, 0, 'D'},
        {"distance", required_argument, 0, 'X'}, {"feature-selection", required_argument, 0, 'F'},
        {"num-features", required_argument, 0, 'N'}, {"kernel-width", required_argument, 0, 'W'},
        {"categorical", required_argument, 0, 'C'}, {"sample-background", required_argument, 0, 'Y'},
        {"l1-reg", required_argument, 0, 'l'}, {"tolerance", required_argument, 0, 'e'},
        {"steps", required_argument, 0, 'P'}, {"integration", required_argument, 0, 'I'},
        {"softmax-rule", required_argument, 0, 'x'},
        {"baseline", required_argument, 0, 'A'}, {"nsamples", required_argument, 0, 'Z'},
        {"stdevs", required_argument, 0, 'V'}, {"class", required_argument, 0, 'k'},
        {"output-name", required_argument, 0, 'O'}, {"layer", required_argument, 0, 'y'},
        {"quiet", no_argument, 0, 'q'}, {"help", no_argument, 0, 'h'}, CLI_PIXEL_OPTIONS,
        {0, 0, 0, 0}};
    int option;
    long number;
    opterr = 0;
    while ((option = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (option) {
        case 'm': a->model = optarg; break;
        case 'd': a->data = optarg; break;
        case 'b': a->background = optarg; break;
        case 'G': a->groups = optarg; break;
        case 'R': a->background_stratify = optarg; break;
        case 'K':
            if (!cli_parse_count(optarg, &a->background_kmeans))
                return cli_usage_error("explain", "--background-kmeans needs a positive number, "
                                       "not \"%s\"", optarg);
            break;
        case 'C': a->categorical = optarg; break;
        case 'e': {
            char *end;
            double tolerance = strtod(optarg, &end);
            if (end == optarg || *end || !(tolerance > 0 && tolerance < 1e300))
                return cli_usage_error("explain", "--tolerance needs a positive number, not \"%s\"",
                                       optarg);
            a->explainer.tolerance = tolerance;
            break;
        }
        case 'l': {
            unsigned long features = 0;
            char close = 0;
            if (strcmp(optarg, "off") == 0) a->explainer.kernel_l1 = GBX_KERNEL_L1_OFF;
            else if (strcmp(optarg, "aic") == 0) a->explainer.kernel_l1 = GBX_KERNEL_L1_AIC;
            else if (strcmp(optarg, "bic") == 0) a->explainer.kernel_l1 = GBX_KERNEL_L1_BIC;
            else if (sscanf(optarg, "num_features(%lu%c", &features, &close) == 2 && close == ')' &&
                     features > 0 && optarg[strlen(optarg) - 1] == ')' &&
                     strchr(optarg, ')') == optarg + strlen(optarg) - 1) {
                a->explainer.kernel_l1 = GBX_KERNEL_L1_NUM_FEATURES;
                a->explainer.kernel_l1_features = features;
            } else {
                return cli_usage_error("explain", "--l1-reg is off, num_features(K), aic or bic, "
                                       "not \"%s\"", optarg);
            }
            break;
        }
        case 'Y': {
            char *end = NULL;
            unsigned long long rows = strtoull(optarg, &end, 10);
            if (strcmp(optarg, "all") == 0) a->explainer.sample_background = 0;
            else if (strcmp(optarg, "one") == 0) a->explainer.sample_background = 1;
            else if (optarg[0] >= '1' && optarg[0] <= '9' && *end == '\0' && rows <= 1000000)
                a->explainer.sample_background = (size_t)rows;
            else
                return cli_usage_error("explain", "--sample-background is all, one or a count "
                                       "of rows, not \"%s\"", optarg);
            break;
        }
        case 'D':
            if (strcmp(optarg, "quartile") == 0) a->explainer.lime_discretizer = GBX_LIME_QUARTILE;
            else if (strcmp(optarg, "decile") == 0) a->explainer.lime_discretizer = GBX_LIME_DECILE;
            else if (strcmp(optarg, "none") == 0) a->explainer.lime_discretizer = GBX_LIME_CONTINUOUS;
            else return cli_usage_error("explain", "--discretizer is quartile, decile or none, "
                                        "not \"%s\"", optarg);
            break;
        case 'X':
            if (strcmp(optarg, "euclidean") != 0 && strcmp(optarg, "cosine") != 0)
                return cli_usage_error("explain", "--distance is euclidean or cosine, not \"%s\"",
                                       optarg);
            a->explainer.lime_cosine = strcmp(optarg, "cosine") == 0;
            break;
        case 'F':
            if (strcmp(optarg, "auto") == 0) a->explainer.lime_selection = GBX_LIME_AUTO;
            else if (strcmp(optarg, "forward") == 0) a->explainer.lime_selection = GBX_LIME_FORWARD;
            else if (strcmp(optarg, "highest-weights") == 0)
                a->explainer.lime_selection = GBX_LIME_HIGHEST_WEIGHTS;
            else if (strcmp(optarg, "none") == 0) a->explainer.lime_selection = GBX_LIME_ALL;
            else return cli_usage_error("explain", "--feature-selection is auto, forward, "
                                        "highest-weights or none, not \"%s\"", optarg);
            break;
        case 'N':
            if (!cli_parse_count(optarg, &number))
                return cli_usage_error("explain", "--num-features needs a positive number, not "
                                       "\"%s\"", optarg);
            a->explainer.lime_features = (size_t)number;
            break;
        case 'W': {
            char *end;
            double width = strtod(optarg, &end);
            if (end == optarg || *end || !(width > 0 && width < 1e300))
                return cli_usage_error("explain", "--kernel-width needs a positive number, not "
                                       "\"%s\"", optarg);
            a->explainer.lime_kernel_width = width;
            break;
        }
        case 'o': a->output = optarg; break;
        case 'f':
            if (strcmp(optarg, "json") != 0 && strcmp(optarg, "csv") != 0)
                return cli_usage_error("explain", "--format is json or csv, not \"%s\"", optarg);
            a->format = optarg;
            break;
        case 'i': a->explainer.interactions = 1; break;
        case 'n': a->no_data = 1; break;
        case 'q': a->quiet = 1; break;
        case 'L':
            if (strcmp(optarg, "identity") != 0 && strcmp(optarg, "logit") != 0)
                return cli_usage_error("explain", "--link is identity or logit, not \"%s\"", optarg);
            a->explainer.logit_link = strcmp(optarg, "logit") == 0;
            break;
        case 'B':
            if (!cli_parse_count(optarg, &a->background_sample))
                return cli_usage_error("explain", "--background-sample needs a positive number, "
                                       "not \"%s\"", optarg);
            break;
        case 'E':
            if (!cli_parse_count(optarg, &number) || number > GBX_MAX_EVALS)
                return cli_usage_error("explain", "--max-evals needs a number from 1 to %d, not "
                                       "\"%s\"", GBX_MAX_EVALS, optarg);
            a->explainer.max_evals = (size_t)number;
            break;
        case 'S': {
            char *end;
            errno = 0;
            unsigned long long seed = strtoull(optarg, &end, 10);
            if (end == optarg || *end || errno || optarg[0] == '-')
                return cli_usage_error("explain", "--seed needs a non-negative integer, not \"%s\"", optarg);
            a->explainer.seed = seed;
            break;
        }
        case 'T':
            if (!cli_parse_seconds(optarg, &a->model_options.timeout_seconds))
                return cli_usage_error("explain", "--model-timeout needs a number of seconds, "
                                       "not \"%s\"", optarg);
            break;
        case 'M':
            if (gbx_method_parse(optarg, &a->explainer.method))
                return cli_usage_error("explain", "unknown method \"%s\" (auto, tree, "
                                       "tree-interventional, exact, permutation, linear, "
                                       "kernel, lime, saliency, input-x-gradient, smoothgrad, "
                                       "integrated-gradients, gradient-shap, deep, grad-cam)",
                                       optarg);
            break;
        case 's':
            if (strcmp(optarg, "raw") == 0) a->explainer.output_space = GBX_SPACE_RAW;
            else if (strcmp(optarg, "probability") == 0) a->explainer.output_space = GBX_SPACE_PROBABILITY;
            else return cli_usage_error("explain", "--output-space is raw or probability, not \"%s\"", optarg);
            break;
        case 't':
            if (!cli_parse_count(optarg, &number) || number > GBX_MAX_THREADS)
                return cli_usage_error("explain", "--threads needs a number from 1 to %d, not "
                                       "\"%s\"", GBX_MAX_THREADS, optarg);
            a->explainer.threads = (int)number;
            break;
        case 'c':
            /* A chunk is held in memory whole: beyond a million rows, streaming has no point. */
            if (!cli_parse_count(optarg, &a->chunk_rows) || a->chunk_rows > 1000000)
                return cli_usage_error("explain", "--chunk-rows needs a number from 1 to "
                                       "1000000, not \"%s\"", optarg);
            break;
        case 'P':
            if (!cli_parse_count(optarg, &number) || number > 1024)
                return cli_usage_error("explain", "--steps needs a number from 1 to 1024, not "
                                       "\"%s\"", optarg);
            a->explainer.steps = (size_t)number;
            break;
        case 'I': {
            static const char *const rules[] = {"gausslegendre", "riemann_left", "riemann_right",
                                                "riemann_middle", "riemann_trapezoid"};
            int found = -1;
            for (int r = 0; r < 5; r++)
                if (strcmp(optarg, rules[r]) == 0) found = r;
            if (found < 0)
                return cli_usage_error("explain", "--integration is gausslegendre, riemann_left, "
                                       "riemann_right, riemann_middle or riemann_trapezoid, not "
                                       "\"%s\"", optarg);
            a->explainer.integration = (gbx_integration)found;
            break;
        }
        case 'x': {
            static const char *const softmax_rules[] = {"auto", "tensorflow", "pytorch"};
            int found = -1;
            for (int r = 0; r < 3; r++)
                if (strcmp(optarg, softmax_rules[r]) == 0) found = r;
            if (found < 0)
                return cli_usage_error("explain", "--softmax-rule is auto, tensorflow or "
                                       "pytorch, not \"%s\"", optarg);
            a->explainer.softmax_rule = (gbx_softmax_rule)found;
            break;
        }
        case 'A': a->baseline = optarg; break;
        case 'k': a->class_choice = optarg; break;
        case 'O': a->output_name = optarg; break;
        case 'y': a->explainer.layer = optarg; break;
        case 0x101: case 0x102: case 0x103: {
            int code = cli_parse_pixels("explain", option, optarg, &a->pixels);
            if (code) return code;
            break;
        }
        case 'Z':
            if (!cli_parse_count(optarg, &number) || number > 100000)
                return cli_usage_error("explain", "--nsamples needs a number from 1 to 100000, not "
                                       "\"%s\"", optarg);
            a->explainer.samples = (size_t)number;
            break;
        case 'V': {
            char *end;
            errno = 0;
            double value = strtod(optarg, &end);
            if (errno || *end || !(value >= 0) || !isfinite(value))
                return cli_usage_error("explain", "--stdevs needs a non-negative number, not "
                                       "\"%s\"", optarg);
            a->explainer.stdevs = value;
            break;
        }
        case 'h': fputs(help, stdout); return -1;
        default: return cli_usage_error("explain", "unknown or incomplete option \"%s\"", argv[optind - 1]);
        }
    }
    if (optind < argc) return cli_usage_error("explain", "unexpected argument \"%s\"", argv[optind]);
    if (!a->model || !a->data) return cli_usage_error("explain", "--model and --data are required");
    gbx_method method = a->explainer.method;
    if (a->class_choice && a->output_name)
        return cli_usage_error("explain", "--class and --output-name both choose the output; "
                               "give one");
    /* Before anything is read: the method table says which methods need a background. */
    if (gbx_method_background(method) == 2 && !a->background)
        return cli_usage_error("explain", "method %s needs --background", gbx_method_name(method));
    if (a->baseline && method != GBX_METHOD_INTEGRATED_GRADIENTS)
        return cli_usage_error("explain", "--baseline is for method integrated-gradients");
    /* Integrated gradients take their baseline from --baseline; --background is its mean. */
    int mean_baseline = a->baseline && strcmp(a->baseline, "mean") == 0;
    if (mean_baseline && !a->background)
        return cli_usage_error("explain", "--baseline mean needs --background");
    if (a->background && method == GBX_METHOD_INTEGRATED_GRADIENTS && !mean_baseline)
        return cli_usage_error("explain", "--background is not used by method "
                               "integrated-gradients unless --baseline mean");
    if (a->background_sample && a->background_kmeans)
        return cli_usage_error("explain", "--background-sample and --background-kmeans are "
                               "two ways to summarise the background; pick one");
    if (a->background_stratify && !a->background_sample && !a->background_kmeans)
        return cli_usage_error("explain", "--background-stratify needs --background-sample K or "
                               "--background-kmeans K");
    if (a->explainer.interactions && a->output && strlen(a->output) > 4 &&
        strcmp(a->output + strlen(a->output) - 4, ".csv") == 0)
        return cli_usage_error("explain", "interaction values need JSON output, not CSV");
    return EXIT_OK;
}

/* A comma-separated list of column names as flags over the M columns; NULL with *error set
 * when a name is unknown. */
static uint8_t *parse_columns(const char *list, size_t M, const char *const *names,
                              gbx_error *error)
{
    uint8_t *flags = calloc(M ? M : 1, 1);
    if (!flags) {
        error->status = GBX_ERR_NOMEM;
        snprintf(error->message, sizeof error->message, "out of memory");
        return NULL;
    }
    for (const char *start = list; *start;) {
        size_t length = strcspn(start, ",");
        size_t j = 0;
        while (j < M && !(names[j] && strlen(names[j]) == length &&
                          strncmp(names[j], start, length) == 0))
            j++;
        if (j == M) {
            error->status = GBX_ERR_USAGE;
            snprintf(error->message, sizeof error->message, "--categorical names column "
                     "\"%.*s\", which the model does not have", (int)length, start);
            free(flags);
            return NULL;
        }
        flags[j] = 1;
        start += length + (start[length] == ',');
    }
    return flags;
}

int cli_explain(int argc, char **argv)
{
    explain_arguments a = {0};
    gbx_explainer_options_init(&a.explainer);
    a.chunk_rows = 4096;
    gbx_pixel_options_init(&a.pixels);
    int code = parse(argc, argv, &a);
    if (code) return code < 0 ? EXIT_OK : code;
    cli_log(a.quiet);

    gbx_error error;
    gbx_model *model = NULL;
    gbx_data *background = NULL;
    gbx_explainer *explainer = NULL;
    gbx_data_reader *reader = NULL;
    gbx_explanation_writer *writer = NULL;
    gbx_groups *groups = NULL;
    uint8_t *categorical = NULL;
    if (gbx_model_load_with(a.model, &a.model_options, &model, &error) ||
        (a.background && gbx_data_read(a.background, model, &a.pixels, &background, &error)))
        goto failed;
    /* A sample or a k-means summary of the background, per stratum when asked. */
    size_t summary_rows = (size_t)(a.background_kmeans ? a.background_kmeans : a.background_sample);
    if (background && summary_rows) {
        gbx_data *summary = NULL;
        if (gbx_data_summarise_by(background, a.background_kmeans ? GBX_SUMMARY_KMEANS
                                                                  : GBX_SUMMARY_SAMPLE,
                                  summary_rows, a.background_stratify, a.explainer.seed, &summary,
                                  &error))
            goto failed;
        gbx_data_free(background);
        background = summary;
    }
    /* The output a network method explains: by index, by name, each row's largest, or all. */
    if (a.output_name && (a.explainer.output = gbx_model_output_index(model, a.output_name)) < 0) {
        error.status = GBX_ERR_USAGE;
        snprintf(error.message, sizeof error.message, "--output-name %s is not an output of "
                 "this model (it has %zu: %s%s)", a.output_name, gbx_model_outputs(model),
                 gbx_model_output_name(model, 0), gbx_model_outputs(model) > 1 ? ", ..." : "");
        goto failed;
    }
    if (a.class_choice && gbx_model_output_choice(model, a.class_choice, &a.explainer.output, &error)) {
        fputs("glassbox: --class ", stderr); /* the library's message says what it is not */
        code = cli_report_bare(&error);
        goto done;
    }
    /* Integrated gradients: the explainer's background is the one baseline row. */
    if (a.baseline && strcmp(a.baseline, "zeros") != 0) {
        gbx_data *baseline = NULL;
        if (strcmp(a.baseline, "mean") == 0) {
            if (gbx_data_mean(background, &baseline, &error)) goto failed;
        } else {
            if (gbx_data_read(a.baseline, model, &a.pixels, &baseline, &error)) goto failed;
            if (gbx_data_rows(baseline) != 1) {
                error.status = GBX_ERR_USAGE;
                snprintf(error.message, sizeof error.message, "--baseline %s holds %zu rows; "
                         "integrated gradients take one", a.baseline, gbx_data_rows(baseline));
                gbx_data_free(baseline);
                goto failed;
            }
        }
        gbx_data_free(background);
        background = baseline;
    }
    a.explainer.background = background;
    if (gbx_data_reader_open(a.data, model, &reader, &error)) goto failed;
    gbx_data_reader_set_quiet(reader, a.quiet);
    gbx_data_reader_set_pixels(reader, &a.pixels);
    /* The columns' names: the model's, or where it has none the data's header. */
    size_t M = gbx_model_features(model);
    const char **names = calloc(M ? M : 1, sizeof(char *));
    if (!names) {
        error.status = GBX_ERR_NOMEM;
        snprintf(error.message, sizeof error.message, "out of memory");
        goto failed;
    }
    for (size_t f = 0; f < M; f++)
        names[f] = gbx_model_feature_name(model, f) ? gbx_model_feature_name(model, f)
                                                    : gbx_data_reader_feature_name(reader, f);
    if (a.categorical && !(categorical = parse_columns(a.categorical, M, names, &error))) {
        free(names);
        goto failed;
    }
    a.explainer.categorical = categorical;
    if (a.groups) {
        if (gbx_groups_read(a.groups, M, names, &groups, &error)) {
            free(names);
            goto failed;
        }
        gbx_groups_apply(groups, &a.explainer);
    }
    /* --threads holds for the model's own batches too (a network predicts its blocks in
     * parallel outside any explainer), as it does for glassbox predict. */
    if (a.explainer.threads > 0) omp_set_num_threads(a.explainer.threads);
    if (gbx_explainer_create(model, &a.explainer, &explainer, &error)) {
        free(names);
        goto failed;
    }
    gbx_writer_options writer_options = {!a.no_data, a.format, a.explainer.threads};
    if (gbx_explanation_writer_open(a.output ? a.output : "-", explainer, &writer_options, &writer,
                                    &error)) {
        free(names);
        goto failed;
    }
    free(names);
    /* Interaction values take K*M*M numbers per row: keep a chunk near 64 MB. */
    size_t chunk_rows = (size_t)a.chunk_rows;
    if (a.explainer.interactions) {
        size_t per_row = gbx_model_outputs(model) * M * M * sizeof(double);
        size_t limit = (64u << 20) / (per_row ? per_row : 1);
        if (limit < 16) limit = 16;
        if (chunk_rows > limit) chunk_rows = limit;
    }
    cli_progress progress;
    cli_progress_start(&progress, a.quiet);
    size_t rows = 0;
    for (;;) {
        gbx_data *chunk = NULL;
        gbx_explanation *explanation = NULL;
        if (gbx_data_reader_next(reader, chunk_rows, &chunk, &error) ||
            (chunk && (gbx_explainer_explain(explainer, chunk, &explanation, &error) ||
                       gbx_explanation_writer_write(writer, explanation, &error)))) {
            gbx_explanation_free(explanation);
            gbx_data_free(chunk);
            goto failed;
        }
        if (!chunk) break;
        rows += gbx_data_rows(chunk);
        gbx_explanation_free(explanation);
        gbx_data_free(chunk);
        uint64_t done, total;
        gbx_data_reader_progress(reader, &done, &total);
        cli_progress_update(&progress, rows, total ? (double)done / (double)total : 0.0);
    }
    if (rows == 0) {
        error.status = GBX_ERR_PARSE;
        snprintf(error.message, sizeof error.message, "%s: no data rows after the header", a.data);
        goto failed;
    }
    gbx_explanation_writer *finished = writer;
    writer = NULL;
    if (gbx_explanation_writer_close(finished, &error)) goto failed;
    cli_progress_finish(&progress, rows);
    code = EXIT_OK;
    goto done;
failed:
    code = cli_report(&error);
done:
    gbx_explanation_writer_abort(writer);
    gbx_data_reader_free(reader);
    gbx_explainer_free(explainer);
    gbx_groups_free(groups);
    free(categorical);
    gbx_data_free(background);
    gbx_model_free(model);
    return code;
}
