/* glassbox predict: the model's own predictions, streamed chunk by chunk. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: glassbox predict --model M --data D [--output F] [--raw] [--threads N] [--quiet]\n\n"
    "Writes one CSV row of predictions per data row (one column per model output).\n\n"
    "  --model M     XGBoost JSON/UBJSON, LightGBM text, glassbox_linear JSON,\n"
    "                ONNX (.onnx: networks, skl2onnx trees and linear models),\n"
    "                Keras (.keras, .h5), a TensorFlow SavedModel directory,\n"
    "                plugin:LIB.so[:ARG], cmd:COMMAND (a child process; see the README),\n"
    "                http://HOST:PORT/v1/models/NAME:predict (TF Serving REST) or\n"
    "                http://HOST:PORT/v2/models/NAME/infer (Open Inference Protocol)\n"
    "  --model-timeout S  longest wait for a cmd: or HTTP model's answer (default 60)\n"
    "  --data D      CSV with a header row (columns matched to the model's feature names), a\n"
    "                .npy array, or for networks PNG/JPEG images (a file or a folder of them)\n"
    CLI_PIXEL_HELP
    "  --output F    write to F instead of standard output\n"
    "  --raw         raw margin (log-odds, log-counts) instead of the transformed prediction\n"
    "  --threads N   threads to use (default: all cores)\n"
    "  --quiet       no notes or progress on stderr\n";

int cli_predict(int argc, char **argv)
{
    static const struct option options[] = {
        {"model", required_argument, 0, 'm'}, {"data", required_argument, 0, 'd'},
        {"output", required_argument, 0, 'o'}, {"raw", no_argument, 0, 'r'},
        {"threads", required_argument, 0, 't'}, {"model-timeout", required_argument, 0, 'T'},
        {"quiet", no_argument, 0, 'q'}, CLI_PIXEL_OPTIONS,
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *model_path = NULL, *data_path = NULL, *output_path = NULL;
    int raw = 0, quiet = 0, option;
    long threads = 0;
    gbx_model_options model_options = {0};
    gbx_pixel_options pixels;
    gbx_pixel_options_init(&pixels);
    opterr = 0;
    while ((option = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (option) {
        case 'm': model_path = optarg; break;
        case 'd': data_path = optarg; break;
        case 'o': output_path = optarg; break;
        case 'r': raw = 1; break;
        case 'q': quiet = 1; break;
        case 'T':
            if (!cli_parse_seconds(optarg, &model_options.timeout_seconds))
                return cli_usage_error("predict", "--model-timeout needs a number of seconds, "
                                       "not \"%s\"", optarg);
            break;
        case 't':
            if (!cli_parse_count(optarg, &threads) || threads > GBX_MAX_THREADS)
                return cli_usage_error("predict", "--threads needs a number from 1 to %d, not "
                                       "\"%s\"", GBX_MAX_THREADS, optarg);
            break;
        case 0x101: case 0x102: case 0x103: {
            int code = cli_parse_pixels("predict", option, optarg, &pixels);
            if (code) return code;
            break;
        }
        case 'h': fputs(help, stdout); return EXIT_OK;
        default: return cli_usage_error("predict", "unknown or incomplete option \"%s\"",
                                        argv[optind - 1]);
        }
    }
    if (optind < argc) return cli_usage_error("predict", "unexpected argument \"%s\"", argv[optind]);
    if (!model_path || !data_path) return cli_usage_error("predict", "--model and --data are required");
    cli_log(quiet);

    gbx_error error;
    gbx_model *model = NULL;
    gbx_data_reader *reader = NULL;
    gbx_output *output = NULL;
    FILE *out = NULL;
    double *predictions = NULL;
    int code = EXIT_OK;
    if (gbx_model_load_with(model_path, &model_options, &model, &error) ||
        gbx_data_reader_open(data_path, model, &reader, &error)) {
        code = cli_report(&error);
        goto done;
    }
    gbx_data_reader_set_quiet(reader, quiet);
    gbx_data_reader_set_pixels(reader, &pixels);
    /* Written safely: a temporary file renamed into place once every write succeeded. */
    if (gbx_output_open(output_path ? output_path : "-", &output, &error)) {
        code = cli_report(&error);
        goto done;
    }
    out = gbx_output_file(output);
    size_t K = gbx_model_outputs(model), chunk_rows = 8192;
    /* XGBoost's multi:softmax predicts the class index, not the probabilities. */
    int class_index = !raw && strcmp(gbx_model_objective(model), "multi:softmax") == 0;
    if (class_index) fputs("class\n", out);
    else if (K == 1) fputs(raw ? "margin\n" : "prediction\n", out);
    else
        for (size_t k = 0; k < K; k++) fprintf(out, "%s%s", gbx_model_output_name(model, k),
                                               k + 1 < K ? "," : "\n");
    predictions = malloc(chunk_rows * K * sizeof(double));
    if (!predictions) {
        fprintf(stderr, "glassbox: out of memory\n");
        code = EXIT_INTERNAL;
        goto done;
    }
    if (threads > 0) omp_set_num_threads((int)threads);
    for (;;) {
        gbx_data *chunk;
        if (gbx_data_reader_next(reader, chunk_rows, &chunk, &error) ||
            (chunk && gbx_model_predict(model, chunk, raw, predictions, &error))) {
            gbx_data_free(chunk);
            code = cli_report(&error);
            goto done;
        }
        if (!chunk) break;
        for (size_t r = 0; r < gbx_data_rows(chunk); r++) {
            const double *p = predictions + r * K;
            if (class_index) {
                size_t best = 0;
                for (size_t k = 1; k < K; k++)
                    if (p[k] > p[best]) best = k;
                fprintf(out, "%zu\n", best);
                continue;
            }
            for (size_t k = 0; k < K; k++) fprintf(out, "%.17g%s", p[k], k + 1 < K ? "," : "\n");
        }
        gbx_data_free(chunk);
    }
    {
        gbx_output *finished = output;
        output = NULL;
        if (gbx_output_close(finished, &error)) code = cli_report(&error);
    }
done:
    gbx_output_abort(output);
    free(predictions);
    gbx_data_reader_free(reader);
    gbx_model_free(model);
    return code;
}
