/* Streams explanations to glassbox.explanation/1 JSON or CSV in bounded memory.
 * JSON arrays are row-indexed ([n][K][M] ...) but arrive a chunk of rows at a time, so each
 * array streams into its own anonymous temporary file, and close() joins them into the final
 * file, written beside the path and renamed into place: a failed run leaves nothing under the
 * path. The path "-" is standard output. */
#include "../explain/explainer.h"

#include <errno.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <strings.h>

enum { SECTION_VALUES, SECTION_BASE, SECTION_PREDICTIONS, SECTION_DATA, SECTION_INTERACTIONS,
       SECTION_STANDARD_ERRORS, SECTION_LOCAL_PREDICTIONS, SECTION_SCORES, SECTION_DELTAS,
       SECTION_CLASSES, SECTION_COUNT };
static const char *const section_keys[SECTION_COUNT] = {
    "values", "base_values", "predictions", "data", "interaction_values", "standard_errors",
    "local_predictions", "r2", "convergence_delta", "explained_output"};

struct gbx_explanation_writer {
    char *path, *temporary;
    int csv, include_data, interactions, threads;
    FILE *file;                         /* the output (JSON: header and the joined sections) */
    FILE *sections[SECTION_COUNT];      /* JSON only */
    size_t rows;
    const gbx_explainer *explainer;
    char **column_names;                /* the data's names, for a model that has none */
};

static void write_number(FILE *file, double value)
{
    if (isnan(value) || isinf(value)) fputs("null", file);
    else fprintf(file, "%.17g", value);
}

static void write_json_string(FILE *file, const char *text)
{
    fputc('"', file);
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(file, "\\%c", *p);
        else if (*p < 0x20) fprintf(file, "\\u%04x", *p);
        else fputc(*p, file);
    }
    fputc('"', file);
}

static void write_csv_field(FILE *file, const char *text)
{
    if (!strpbrk(text, ",\"\r\n")) {
        fputs(text, file);
        return;
    }
    fputc('"', file);
    for (const char *p = text; *p; p++) {
        if (*p == '"') fputc('"', file);
        fputc(*p, file);
    }
    fputc('"', file);
}

/* Name of model column f. */
static const char *column_name(const gbx_explanation_writer *w, size_t f, char *buffer,
                               size_t size)
{
    const char *name = gbx_model_feature_name(w->explainer->model, f);
    if (name) return name;
    if (w->column_names && w->column_names[f]) return w->column_names[f];
    snprintf(buffer, size, "f%zu", f);
    return buffer;
}

static void free_column_names(gbx_explanation_writer *w)
{
    for (size_t f = 0; w->column_names && f < w->explainer->model->features; f++)
        free(w->column_names[f]);
    free(w->column_names);
}

/* Name of explained feature i: its group's or layer element's, or its column's. */
static const char *feature_name(const gbx_explanation_writer *w, size_t i, char *buffer,
                                size_t size)
{
    const char *name = gbx_explainer_feature_name(w->explainer, i);
    return name ? name : column_name(w, i, buffer, size);
}

static void remove_sections(gbx_explanation_writer *w)
{
    for (int s = 0; s < SECTION_COUNT; s++) {
        if (w->sections[s]) fclose(w->sections[s]);
        w->sections[s] = NULL;
    }
}

void gbx_explanation_writer_abort(gbx_explanation_writer *w)
{
    if (!w) return;
    remove_sections(w);
    if (w->file && w->file != stdout) fclose(w->file);
    if (w->temporary) remove(w->temporary);
    free(w->temporary);
    free_column_names(w);
    free(w->path);
    free(w);
}

static gbx_status write_csv_header(gbx_explanation_writer *w)
{
    char buffer[32];
    if (gbx_explainer_outputs(w->explainer) > 1) fputs("output,", w->file);
    for (size_t f = 0; f < w->explainer->players.count; f++) {
        write_csv_field(w->file, feature_name(w, f, buffer, sizeof buffer));
        fputc(',', w->file);
    }
    fputs("base_value,prediction\n", w->file);
    return GBX_OK;
}

gbx_status gbx_explanation_writer_open(const char *path, const gbx_explainer *explainer,
                                       const gbx_writer_options *options,
                                       gbx_explanation_writer **out, gbx_error *error)
{
    if (!path || !explainer || !out)
        return gbx_fail(error, GBX_ERR_USAGE, "gbx_explanation_writer_open: NULL argument");
    gbx_explanation_writer *w = calloc(1, sizeof *w);
    if (!w) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    const char *format = options && options->format ? options->format : NULL;
    const char *dot = strrchr(path, '.');
    if (!format) format = dot && strcasecmp(dot, ".csv") == 0 ? "csv" : "json";
    if (strcmp(format, "csv") != 0 && strcmp(format, "json") != 0) {
        free(w);
        return gbx_fail(error, GBX_ERR_USAGE, "unknown explanation format \"%s\" (json or csv)",
                        format);
    }
    w->csv = strcmp(format, "csv") == 0;
    w->include_data = options ? options->include_data : 1;
    w->threads = options && options->threads > 0 ? options->threads : omp_get_num_procs();
    w->interactions = explainer->options.interactions;
    w->explainer = explainer;
    if (options && options->feature_names) {
        size_t M = explainer->model->features;
        w->column_names = gbx_calloc(M ? M : 1, sizeof(char *));
        for (size_t f = 0; w->column_names && f < M; f++)
            if (options->feature_names[f] &&
                !(w->column_names[f] = gbx_strdup(options->feature_names[f]))) {
                gbx_explanation_writer_abort(w);
                return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
            }
        if (!w->column_names) {
            gbx_explanation_writer_abort(w);
            return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
        }
    }
    w->path = gbx_strdup(path);
    size_t length = strlen(path) + 32;
    w->temporary = malloc(length);
    if (!w->path || !w->temporary) {
        gbx_explanation_writer_abort(w);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    struct stat info;
    if (strcmp(path, "-") == 0) {
        free(w->temporary);
        w->temporary = NULL;
        w->file = stdout;
    } else if (stat(path, &info) == 0 && !S_ISREG(info.st_mode)) {
        /* A device or pipe (/dev/null, a FIFO) is written in place: there is nothing to rename. */
        free(w->temporary);
        w->temporary = NULL;
        w->file = fopen(path, "wb");
    } else {
        snprintf(w->temporary, length, "%s.partial", path);
        w->file = fopen(w->temporary, "wb");
    }
    if (!w->file) {
        gbx_status status = gbx_fail(error, GBX_ERR_IO, "%s: cannot write: %s",
                                     w->temporary ? w->temporary : path, strerror(errno));
        gbx_explanation_writer_abort(w);
        return status;
    }
    if (w->csv) {
        write_csv_header(w);
    } else {
        for (int s = 0; s < SECTION_COUNT; s++) {
            if ((s == SECTION_DATA && !w->include_data) ||
                (s == SECTION_INTERACTIONS && !w->interactions) ||
                (s == SECTION_STANDARD_ERRORS && !explainer->permutation && !explainer->kernel) ||
                ((s == SECTION_LOCAL_PREDICTIONS || s == SECTION_SCORES) && !explainer->lime) ||
                (s == SECTION_DELTAS && !(explainer->gradients &&
                                          gbx_gradients_additive(explainer->gradients))) ||
                (s == SECTION_CLASSES && explainer->options.output != GBX_OUTPUT_PREDICTED))
                continue;
            w->sections[s] = tmpfile();
            if (!w->sections[s]) {
                gbx_status status = gbx_fail(error, GBX_ERR_IO, "cannot create a temporary "
                                             "file: %s", strerror(errno));
                gbx_explanation_writer_abort(w);
                return status;
            }
        }
    }
    *out = w;
    return GBX_OK;
}

/* Writes `count` numbers as a JSON array of nested arrays with the given inner sizes. */
static void write_nested(FILE *file, const double *values, const size_t *shape, int rank)
{
    fputc('[', file);
    size_t stride = 1;
    for (int i = 1; i < rank; i++) stride *= shape[i];
    for (size_t i = 0; i < shape[0]; i++) {
        if (i) fputc(',', file);
        if (rank == 1) write_number(file, values[i]);
        else write_nested(file, values + i * stride, shape + 1, rank - 1);
    }
    fputc(']', file);
}

/* Formats one row (for CSV: its lines; for JSON: its entry in one section) onto file. */
typedef void row_formatter(const gbx_explanation_writer *w, FILE *file, int section,
                           const gbx_explanation *e, const gbx_data *data, size_t r);

static void csv_row(const gbx_explanation_writer *w, FILE *file, int section,
                    const gbx_explanation *e, const gbx_data *data, size_t r)
{
    (void)section, (void)data;
    size_t K = e->outputs, M = e->features;
    for (size_t k = 0; k < K; k++) {
        if (K > 1) fprintf(file, "%s,", w->explainer->model->output_names[k]);
        for (size_t f = 0; f < M; f++) fprintf(file, "%.17g,", e->values[(r * K + k) * M + f]);
        fprintf(file, "%.17g,%.17g\n", e->base_values[r * K + k], e->predictions[r * K + k]);
    }
}

static void json_row(const gbx_explanation_writer *w, FILE *file, int section,
                     const gbx_explanation *e, const gbx_data *data, size_t r)
{
    size_t K = e->outputs, M = e->features;
    size_t shape[3] = {K, M, M};
    const double *values = NULL;
    int rank = 1;
    switch (section) {
    case SECTION_VALUES: values = e->values + r * K * M, rank = 2; break;
    case SECTION_BASE: values = e->base_values + r * K; break;
    case SECTION_PREDICTIONS: values = e->predictions + r * K; break;
    case SECTION_DATA: values = data->values + r * data->columns, shape[0] = data->columns; break;
    case SECTION_INTERACTIONS: values = e->interactions + r * K * M * M, rank = 3; break;
    case SECTION_STANDARD_ERRORS: values = e->standard_errors + r * K * M, rank = 2; break;
    case SECTION_LOCAL_PREDICTIONS: values = e->local_predictions + r * K; break;
    case SECTION_SCORES: values = e->scores + r * K; break;
    case SECTION_DELTAS: values = e->deltas + r * K; break;
    case SECTION_CLASSES: values = e->classes + r; break;
    }
    if (w->rows + r > 0) fputc(',', file);
    fputc('\n', file);
    if (section == SECTION_CLASSES) fprintf(file, "%.0f", *values); /* an output's index */
    else write_nested(file, values, shape, rank);
}

/* Formats the rows of a chunk on the writer's threads, each part into its own memory stream,
 * and writes the parts in order: the text does not depend on the thread count, and the
 * number formatting, the slowest part of writing, runs in parallel. Parts hold about 64k
 * numbers each, so the text in memory stays a few megabytes whatever the chunk. Returns
 * nonzero when memory runs out. */
static int emit_rows(const gbx_explanation_writer *w, FILE *out, int section,
                     row_formatter *format, const gbx_explanation *e, const gbx_data *data,
                     size_t numbers_per_row)
{
    size_t per_part = numbers_per_row < 65536 ? 65536 / (numbers_per_row ? numbers_per_row : 1) : 1;
    int parts = w->threads;
    char **buffers = calloc((size_t)parts, sizeof(char *));
    size_t *lengths = calloc((size_t)parts, sizeof(size_t));
    int failed = !buffers || !lengths;
    for (size_t start = 0; !failed && start < e->rows; start += per_part * (size_t)parts) {
#pragma omp parallel for num_threads(parts) schedule(static, 1)
        for (int p = 0; p < parts; p++) {
            size_t begin = start + (size_t)p * per_part;
            size_t end = begin + per_part < e->rows ? begin + per_part : e->rows;
            if (begin >= end) continue;
            FILE *memory = open_memstream(&buffers[p], &lengths[p]);
            if (!memory) {
#pragma omp atomic write
                failed = 1;
                continue;
            }
            for (size_t r = begin; r < end; r++) format(w, memory, section, e, data, r);
            if (fclose(memory) != 0) {
#pragma omp atomic write
                failed = 1;
            }
        }
        for (int p = 0; p < parts; p++) {
            if (!failed && buffers[p]) fwrite(buffers[p], 1, lengths[p], out);
            free(buffers[p]);
            buffers[p] = NULL;
        }
    }
    free(buffers);
    free(lengths);
    return failed;
}

gbx_status gbx_explanation_writer_write(gbx_explanation_writer *w,
                                        const gbx_explanation *e, const gbx_data *data,
                                        gbx_error *error)
{
    int failed = 0;
    if (w->csv) {
        failed = emit_rows(w, w->file, 0, csv_row, e, data, e->outputs * (e->features + 2));
    } else {
        for (int s = 0; s < SECTION_COUNT && !failed; s++) {
            if (!w->sections[s] || (s == SECTION_DATA && !data) ||
                (s == SECTION_INTERACTIONS && !e->interactions) ||
                (s == SECTION_STANDARD_ERRORS && !e->standard_errors) ||
                (s == SECTION_LOCAL_PREDICTIONS && !e->local_predictions) ||
                (s == SECTION_SCORES && !e->scores) || (s == SECTION_DELTAS && !e->deltas) ||
                (s == SECTION_CLASSES && !e->classes))
                continue;
            size_t K = e->outputs, M = e->features;
            size_t numbers = s == SECTION_VALUES || s == SECTION_STANDARD_ERRORS ? K * M
                             : s == SECTION_DATA ? data->columns
                             : s == SECTION_INTERACTIONS ? K * M * M
                             : s == SECTION_CLASSES ? 1 : K;
            failed = emit_rows(w, w->sections[s], s, json_row, e, data, numbers);
        }
    }
    if (failed) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory formatting the explanation");
    w->rows += e->rows;
    for (int s = 0; s < SECTION_COUNT; s++)
        if (w->sections[s] && ferror(w->sections[s]))
            return gbx_fail(error, GBX_ERR_IO, "temporary file: write error (disk full?)");
    if (ferror(w->file)) return gbx_fail(error, GBX_ERR_IO, "%s: write error", w->path);
    return GBX_OK;
}

/* Gradient methods: what captum would be told, and whether the values add up. */
static void write_gradient_parameters(FILE *f, const gbx_explainer *x)
{
    static const char *const rules[] = {"gausslegendre", "riemann_left", "riemann_right",
                                        "riemann_middle", "riemann_trapezoid"};
    gbx_method method = x->method;
    fprintf(f, "\"additive\": %s, \"output\": ", gbx_gradients_additive(x->gradients) ? "true" : "false");
    write_json_string(f, x->options.output == GBX_OUTPUT_ALL         ? "all"
                         : x->options.output == GBX_OUTPUT_PREDICTED ? "predicted"
                         : x->model->output_names[x->options.output]);
    if (method == GBX_METHOD_INTEGRATED_GRADIENTS) {
        fprintf(f, ", \"steps\": %zu, \"integration\": \"%s\", \"baseline\": ",
                x->options.steps ? x->options.steps : 50, rules[x->options.integration]);
        if (x->background_rows) fprintf(f, "\"%s\"", x->background_sha256);
        else fputs("\"zeros\"", f);
    }
    if (method == GBX_METHOD_GRADIENT_SHAP || method == GBX_METHOD_DEEP)
        fprintf(f, ", \"background_rows\": %zu, \"background_sha256\": \"%s\"", x->background_rows,
                x->background_sha256);
    if (x->options.layer) {
        fputs(", \"layer\": ", f);
        write_json_string(f, x->options.layer);
    }
    if (method == GBX_METHOD_SMOOTHGRAD || method == GBX_METHOD_GRADIENT_SHAP)
        fprintf(f, ", \"samples\": %zu, \"stdevs\": %.17g", x->options.samples ? x->options.samples : 5,
                x->options.stdevs >= 0 ? x->options.stdevs
                                       : method == GBX_METHOD_SMOOTHGRAD ? 1.0 : 0.0);
}

static void write_json_header(gbx_explanation_writer *w)
{
    const gbx_explainer *x = w->explainer;
    const gbx_model *model = x->model;
    FILE *f = w->file;
    int probability = x->options.output_space == GBX_SPACE_PROBABILITY;
    fprintf(f, "{\"format\": \"glassbox.explanation/1\",\n\"glassbox_version\": \"%s\",\n",
            GBX_VERSION);
    fprintf(f, "\"method\": \"%s\",\n\"parameters\": {", gbx_method_name(x->method));
    if (x->method == GBX_METHOD_TREE) {
        fprintf(f, "\"interactions\": %s", x->options.interactions ? "true" : "false");
    } else if (x->gradients) {
        write_gradient_parameters(f, x);
    } else {
        fprintf(f, "\"background_rows\": %zu, \"background_weighted\": %s, \"background_sha256\": "
                "\"%s\", \"output_space\": \"%s\"", x->background_rows,
                x->background_weighted ? "true" : "false", x->background_sha256,
                probability ? "probability" : "raw");
        if (x->kernel) {
            fprintf(f, ", \"max_evals\": %zu, \"link\": \"%s\", \"l1_reg\": \"", x->options.max_evals,
                    x->options.logit_link ? "logit" : "identity");
            switch (x->options.kernel_l1) {
            case GBX_KERNEL_L1_OFF: fputs("off\"", f); break;
            case GBX_KERNEL_L1_NUM_FEATURES:
                fprintf(f, "num_features(%zu)\"", x->options.kernel_l1_features);
                break;
            case GBX_KERNEL_L1_AIC: fputs("aic\"", f); break;
            case GBX_KERNEL_L1_BIC: fputs("bic\"", f); break;
            }
            if (x->options.tolerance > 0) fprintf(f, ", \"tolerance\": %.17g", x->options.tolerance);
            if (x->options.sample_background && x->options.sample_background < x->background_rows)
                fprintf(f, ", \"sample_background\": \"%zu\"", x->options.sample_background);
            else
                fputs(", \"sample_background\": \"all\"", f);
        }
        if (x->permutation)
            fprintf(f, ", \"max_evals\": %zu, \"permutation_pairs\": %zu, \"sample_background\": \"%s\"",
                    x->options.max_evals ? x->options.max_evals : 500,
                    gbx_permutation_pairs(x->permutation),
                    x->options.sample_background ? "one" : "all");
        if (x->lime) {
            static const char *const discretizers[] = {"quartile", "decile", "none"};
            static const char *const selections[] = {"auto", "forward_selection",
                                                     "highest_weights", "none"};
            size_t M = x->players.count, selected = x->options.lime_features ? x->options.lime_features : 10;
            fprintf(f, ", \"num_samples\": %zu, \"discretizer\": \"%s\", \"feature_selection\": "
                    "\"%s\", \"num_features\": %zu, \"kernel_width\": %.17g, \"distance\": \"%s\"",
                    x->options.max_evals ? x->options.max_evals : 5000,
                    discretizers[x->options.lime_discretizer], selections[x->options.lime_selection],
                    selected < M ? selected : M,
                    x->options.lime_kernel_width > 0 ? x->options.lime_kernel_width
                                                     : 0.75 * sqrt((double)M),
                    x->options.lime_cosine ? "cosine" : "euclidean");
        }
    }
    fprintf(f, "},\n\"seed\": %llu,\n\"model\": {", (unsigned long long)x->options.seed);
    fprintf(f, "\"sha256\": \"%s\", \"type\": \"%s\", \"objective\": ",
            model->sha256, model->type);
    write_json_string(f, gbx_model_objective(model));
    /* LIME explains the predictions themselves: probabilities for classifiers. */
    int lime_probability = x->lime && (model->link == GBX_LINK_LOGIT || model->link == GBX_LINK_SOFTMAX);
    fprintf(f, ", \"output\": \"%s\"},\n\"rows\": %zu,\n\"feature_names\": [",
            probability || lime_probability ? "probability"
            : x->lime                      ? "prediction"
            : x->options.logit_link        ? "logit_of_mean_probability"
                                           : "margin", w->rows);
    char buffer[32];
    for (size_t j = 0; j < x->players.count; j++) {
        if (j) fputs(", ", f);
        write_json_string(f, feature_name(w, j, buffer, sizeof buffer));
    }
    if (x->group_names) {
        /* The columns of each group, and the data's own columns (the "data" rows keep them). */
        fputs("],\n\"groups\": {", f);
        for (size_t g = 0; g < x->players.count; g++) {
            if (g) fputs(", ", f);
            write_json_string(f, x->group_names[g]);
            fputs(": [", f);
            for (size_t j = 0, n = 0; j < model->features; j++)
                if (x->players.of_column[j] == (int32_t)g) {
                    if (n++) fputs(", ", f);
                    write_json_string(f, column_name(w, j, buffer, sizeof buffer));
                }
            fputs("]", f);
        }
    }
    if (x->group_names || x->layer_names) {
        fputs(x->group_names ? "},\n\"data_columns\": [" : "],\n\"data_columns\": [", f);
        for (size_t j = 0; j < model->features; j++) {
            if (j) fputs(", ", f);
            write_json_string(f, column_name(w, j, buffer, sizeof buffer));
        }
    }
    if (model->network) {
        /* A network's input tensor per row (the values above are that tensor, flattened). */
        const struct gbx_nn_graph *graph = model->network;
        fputs("],\n\"input_shape\": [", f);
        for (int d = 1; d < gbx_network_input_rank(graph); d++)
            fprintf(f, "%s%lld", d > 1 ? ", " : "", (long long)gbx_network_input_dim(graph, d));
    }
    fputs("],\n\"output_names\": [", f);
    /* One chosen output keeps its name; each row's largest is "predicted" (with the index of
     * the output per row under "explained_output"). */
    long chosen = x->options.output;
    for (size_t k = 0; k < model->outputs; k++) {
        if (chosen == GBX_OUTPUT_PREDICTED) {
            write_json_string(f, "predicted");
            break;
        }
        if (chosen >= 0 && (size_t)chosen != k) continue;
        if (k && chosen < 0) fputs(", ", f);
        write_json_string(f, model->output_names[k]);
    }
    fputs("]", f);
}

gbx_status gbx_explanation_writer_close(gbx_explanation_writer *w, gbx_error *error)
{
    gbx_status status = GBX_OK;
    if (!w->csv) {
        write_json_header(w);
        char buffer[1 << 16];
        for (int s = 0; s < SECTION_COUNT && status == GBX_OK; s++) {
            if (!w->sections[s]) continue;
            fprintf(w->file, ",\n\"%s\": [", section_keys[s]);
            rewind(w->sections[s]);
            size_t got;
            while ((got = fread(buffer, 1, sizeof buffer, w->sections[s])) > 0)
                fwrite(buffer, 1, got, w->file);
            if (ferror(w->sections[s]))
                status = gbx_fail(error, GBX_ERR_IO, "temporary file: read error");
            fputs("\n]", w->file);
        }
        fputs("}\n", w->file);
    }
    remove_sections(w);
    int failed = ferror(w->file) | (w->file == stdout ? fflush(stdout) : fclose(w->file));
    if (status == GBX_OK && failed)
        status = gbx_fail(error, GBX_ERR_IO, "%s: write error (disk full?)", w->path);
    w->file = NULL;
    if (status == GBX_OK && w->temporary && rename(w->temporary, w->path) != 0)
        status = gbx_fail(error, GBX_ERR_IO, "%s: cannot move into place: %s", w->path,
                          strerror(errno));
    if (status != GBX_OK && w->temporary) remove(w->temporary);
    free(w->temporary);
    free_column_names(w);
    free(w->path);
    free(w);
    return status;
}
