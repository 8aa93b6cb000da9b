/* Explanations to glassbox.explanation/1 JSON or CSV, streamed in bounded memory.
 * JSON arrays are row-indexed ([n][K][M] ...) but arrive a chunk of rows at a time, so each
 * array streams into its own anonymous temporary file, and close() joins them into the final
 * file, written through gbx_output (a temporary beside the path, renamed into place): a failed
 * run leaves nothing under the path. The path "-" is standard output. The names and provenance come from the explanations
 * themselves (the first one written), so a file read back and written again is the same. */
#include "explanation.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_ARRAYS 16

struct gbx_explanation_writer {
    char *path;
    gbx_output *output;             /* the file, written safely (a temporary renamed) */
    int csv, include_data, threads;
    FILE *file;                     /* the output (JSON: header and the joined sections) */
    FILE *sections[MAX_ARRAYS];     /* JSON only: one per array of the explanation table */
    size_t rows;
    gbx_explanation *header;        /* names and provenance, no rows */
    int started;                    /* an explanation was written (sections and CSV header) */
};

_Static_assert(sizeof(((struct gbx_explanation_writer *)0)->sections) / sizeof(FILE *) >= 10,
               "one section per explanation array");

static void write_number(FILE *file, double value)
{
    if (isnan(value) || isinf(value)) fputs("null", file);
    else fprintf(file, "%.17g", value);
}

void gbx_json_write_string(FILE *file, const char *text)
{
    fputc('"', file);
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(file, "\\%c", *p);
        else if (*p < 0x20) fprintf(file, "\\u%04x", *p);
        else fputc(*p, file);
    }
    fputc('"', file);
}

static void remove_sections(gbx_explanation_writer *w)
{
    for (int s = 0; s < MAX_ARRAYS; s++) {
        if (w->sections[s]) fclose(w->sections[s]);
        w->sections[s] = NULL;
    }
}

void gbx_explanation_writer_abort(gbx_explanation_writer *w)
{
    if (!w) return;
    remove_sections(w);
    gbx_output_abort(w->output);
    gbx_explanation_free(w->header);
    free(w->path);
    free(w);
}

static void write_csv_header(gbx_explanation_writer *w)
{
    const gbx_explanation *h = w->header;
    if (h->outputs > 1) fputs("output,", w->file);
    for (size_t f = 0; f < h->features; f++) {
        gbx_csv_write_field(w->file, h->feature_names[f]);
        fputc(',', w->file);
    }
    fputs("base_value,prediction\n", w->file);
}

/* Opens a writer whose names and provenance come from header (copied; NULL: from the first
 * explanation written). */
static gbx_status writer_open(const char *path, const gbx_explanation *header,
                              const gbx_writer_options *options, gbx_explanation_writer **out,
                              gbx_error *error)
{
    if (!path || !out)
        return gbx_fail(error, GBX_ERR_USAGE, "gbx_explanation_writer_open: NULL argument");
    const char *format = options && options->format ? options->format : NULL;
    const char *dot = strrchr(path, '.');
    if (!format) format = dot && strcasecmp(dot, ".csv") == 0 ? "csv" : "json";
    if (strcmp(format, "csv") != 0 && strcmp(format, "json") != 0)
        return gbx_fail(error, GBX_ERR_USAGE, "unknown explanation format \"%s\" (json or csv)",
                        format);
    if (options && (options->threads < 0 || options->threads > GBX_MAX_THREADS))
        return gbx_fail(error, GBX_ERR_USAGE, "options.threads: %d, not from 0 (all cores) to %d",
                        options->threads, GBX_MAX_THREADS);
    gbx_explanation_writer *w = calloc(1, sizeof *w);
    if (!w) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    w->csv = strcmp(format, "csv") == 0;
    w->include_data = options ? options->include_data : 1;
    w->threads = options && options->threads > 0 ? options->threads : omp_get_num_procs();
    gbx_status status = GBX_OK;
    if (!(w->path = gbx_strdup(path)) || (header && !(w->header = gbx_explanation_copy_header(header))))
        status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    if (status == GBX_OK && (status = gbx_output_open(path, &w->output, error)) == GBX_OK)
        w->file = gbx_output_file(w->output);
    if (status != GBX_OK) {
        gbx_explanation_writer_abort(w);
        return status;
    }
    *out = w;
    return GBX_OK;
}

gbx_status gbx_explanation_writer_open(const char *path, const gbx_explainer *explainer,
                                       const gbx_writer_options *options,
                                       gbx_explanation_writer **out, gbx_error *error)
{
    if (!explainer)
        return gbx_fail(error, GBX_ERR_USAGE, "gbx_explanation_writer_open: NULL argument");
    return writer_open(path, gbx_explainer_header(explainer), options, out, error);
}

/* Writes a JSON array of nested arrays with the given inner sizes. */
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

/* Formats one row (for CSV: its lines; for JSON: its entry in one array) onto file. */
typedef void row_formatter(const gbx_explanation_writer *w, FILE *file,
                           const gbx_explanation_array *array, const gbx_explanation *e,
                           size_t r);

static void csv_row(const gbx_explanation_writer *w, FILE *file,
                    const gbx_explanation_array *array, const gbx_explanation *e, size_t r)
{
    (void)w, (void)array;
    size_t K = e->outputs, M = e->features;
    for (size_t k = 0; k < K; k++) {
        if (K > 1) {
            gbx_csv_write_field(file, e->output_names[k]);
            fputc(',', file);
        }
        for (size_t f = 0; f < M; f++) fprintf(file, "%.17g,", e->values[(r * K + k) * M + f]);
        fprintf(file, "%.17g,%.17g\n", e->base_values[r * K + k], e->predictions[r * K + k]);
    }
}

static void json_row(const gbx_explanation_writer *w, FILE *file,
                     const gbx_explanation_array *array, const gbx_explanation *e, size_t r)
{
    size_t dims[3];
    int rank = gbx_explanation_array_dims(e, array, dims);
    size_t width = gbx_explanation_array_width(e, array);
    const double *row = *gbx_explanation_array_of((gbx_explanation *)e, array) + r * width;
    if (w->rows + r > 0) fputc(',', file);
    fputc('\n', file);
    if (rank == 0) fprintf(file, "%.0f", *row); /* an output's index */
    else write_nested(file, row, dims, rank);
}

/* Formats the rows on the writer's threads, each part into its own memory stream, and writes
 * the parts in order: the text does not depend on the thread count, and the number
 * formatting, the slowest part of writing, runs in parallel. Parts hold about 64k numbers
 * each, so the text in memory stays a few megabytes whatever the chunk. Returns nonzero when
 * memory runs out. */
static int emit_rows(const gbx_explanation_writer *w, FILE *out, const gbx_explanation_array *array,
                     row_formatter *format, const gbx_explanation *e, size_t numbers_per_row)
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
            for (size_t r = begin; r < end; r++) format(w, memory, array, e, r);
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

/* Whether the file holds array a: the explanation has it (the data only when asked for). */
static int written(const gbx_explanation_writer *w, const gbx_explanation *e, size_t a)
{
    const gbx_explanation_array *array = &gbx_explanation_arrays[a];
    if (array->offset == offsetof(struct gbx_explanation, data) && !w->include_data) return 0;
    return *gbx_explanation_array_of((gbx_explanation *)e, array) != NULL;
}

/* The first explanation sets the names and provenance (the data's column names, where the
 * explainer had only placeholders) and which arrays the file holds. */
static gbx_status start(gbx_explanation_writer *w, const gbx_explanation *e, gbx_error *error)
{
    gbx_explanation *header = gbx_explanation_copy_header(e);
    if (!header) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    gbx_explanation_free(w->header);
    w->header = header;
    w->started = 1;
    if (w->csv) {
        write_csv_header(w);
        return GBX_OK;
    }
    for (size_t a = 0; a < gbx_explanation_array_count; a++) {
        if (!written(w, e, a)) continue;
        if (!(w->sections[a] = tmpfile()))
            return gbx_fail(error, GBX_ERR_IO, "cannot create a temporary file: %s", strerror(errno));
    }
    return GBX_OK;
}

gbx_status gbx_explanation_writer_write(gbx_explanation_writer *w, const gbx_explanation *e,
                                        gbx_error *error)
{
    if (!w || !e) return gbx_fail(error, GBX_ERR_USAGE, "gbx_explanation_writer_write: NULL argument");
    gbx_status status = w->started ? GBX_OK : start(w, e, error);
    if (status != GBX_OK) return status;
    if (e->outputs != w->header->outputs || e->features != w->header->features ||
        e->columns != w->header->columns)
        return gbx_fail(error, GBX_ERR_USAGE, "an explanation of %zu outputs and %zu features "
                        "cannot join a file of %zu and %zu", e->outputs, e->features,
                        w->header->outputs, w->header->features);
    int failed = 0;
    if (w->csv) {
        failed = emit_rows(w, w->file, NULL, csv_row, e, e->outputs * (e->features + 2));
    } else {
        for (size_t a = 0; a < gbx_explanation_array_count && !failed; a++) {
            if (!w->sections[a] != !written(w, e, a))
                return gbx_fail(error, GBX_ERR_USAGE, "the explanation %s \"%s\", unlike the "
                                "first one written", w->sections[a] ? "lacks" : "has",
                                gbx_explanation_arrays[a].key);
            if (!w->sections[a]) continue;
            const gbx_explanation_array *array = &gbx_explanation_arrays[a];
            failed = emit_rows(w, w->sections[a], array, json_row, e,
                               gbx_explanation_array_width(e, array));
        }
    }
    if (failed) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory formatting the explanation");
    w->rows += e->rows;
    for (int s = 0; s < MAX_ARRAYS; s++)
        if (w->sections[s] && ferror(w->sections[s]))
            return gbx_fail(error, GBX_ERR_IO, "temporary file: write error (disk full?)");
    if (ferror(w->file)) return gbx_fail(error, GBX_ERR_IO, "%s: write error", w->path);
    return GBX_OK;
}

static void write_names(FILE *f, char *const *names, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (i) fputs(", ", f);
        gbx_json_write_string(f, names[i]);
    }
}

static void write_json_header(gbx_explanation_writer *w)
{
    const gbx_explanation *h = w->header;
    FILE *f = w->file;
    fputs("{\"format\": \"glassbox.explanation/1\",\n\"glassbox_version\": ", f);
    gbx_json_write_string(f, h->version);
    fputs(",\n\"method\": ", f);
    gbx_json_write_string(f, h->method);
    fprintf(f, ",\n\"parameters\": %s,\n\"seed\": %llu,\n\"model\": {\"sha256\": ", h->parameters,
            (unsigned long long)h->seed);
    gbx_json_write_string(f, h->model_sha256);
    fputs(", \"type\": ", f);
    gbx_json_write_string(f, h->model_type);
    fputs(", \"objective\": ", f);
    gbx_json_write_string(f, h->objective);
    fputs(", \"output\": ", f);
    gbx_json_write_string(f, h->output_space);
    /* A served model: where it was called, and the version its server reported. */
    if (*h->model_source) {
        fputs(", \"source\": ", f);
        gbx_json_write_string(f, h->model_source);
    }
    if (*h->model_version) {
        fputs(", \"version\": ", f);
        gbx_json_write_string(f, h->model_version);
    }
    fprintf(f, "},\n\"rows\": %zu,\n\"feature_names\": [", w->rows);
    write_names(f, h->feature_names, h->features);
    if (h->group_of_column) {
        /* The columns of each group, and the data's own columns (the "data" rows keep them). */
        fputs("],\n\"groups\": {", f);
        for (size_t g = 0; g < h->features; g++) {
            if (g) fputs(", ", f);
            gbx_json_write_string(f, h->feature_names[g]);
            fputs(": [", f);
            for (size_t j = 0, n = 0; j < h->columns; j++)
                if (h->group_of_column[j] == g) {
                    if (n++) fputs(", ", f);
                    gbx_json_write_string(f, h->column_names[j]);
                }
            fputs("]", f);
        }
        fputs("}", f);
    }
    if (gbx_explanation_columns_differ(h)) {
        fputs(h->group_of_column ? ",\n\"data_columns\": [" : "],\n\"data_columns\": [", f);
        write_names(f, h->column_names, h->columns);
    }
    if (h->input_rank) {
        /* A network's input tensor per row (the columns are that tensor, flattened). */
        fputs("],\n\"input_shape\": [", f);
        for (size_t d = 0; d < h->input_rank; d++)
            fprintf(f, "%s%zu", d ? ", " : "", h->input_shape[d]);
        if (h->input_layout != GBX_LAYOUT_UNKNOWN)
            fprintf(f, "],\n\"input_layout\": [\"%s\"",
                    h->input_layout == GBX_LAYOUT_CHANNELS_LAST ? "channels_last" : "channels_first");
    }
    fputs("],\n\"output_names\": [", f);
    write_names(f, h->output_names, h->outputs);
    fputs("]", f);
}

gbx_status gbx_explanation_writer_close(gbx_explanation_writer *w, gbx_error *error)
{
    if (!w) return gbx_fail(error, GBX_ERR_USAGE, "gbx_explanation_writer_close: NULL argument");
    gbx_status status = GBX_OK;
    if (!w->header) {
        gbx_explanation_writer_abort(w);
        return gbx_fail(error, GBX_ERR_USAGE, "an explanation file needs an explanation or an "
                        "explainer to name its features");
    }
    if (w->csv && !w->started) write_csv_header(w);
    if (!w->csv) {
        write_json_header(w);
        char buffer[1 << 16];
        for (size_t a = 0; a < gbx_explanation_array_count && status == GBX_OK; a++) {
            if (!w->sections[a]) continue;
            fprintf(w->file, ",\n\"%s\": [", gbx_explanation_arrays[a].key);
            rewind(w->sections[a]);
            size_t got;
            while ((got = fread(buffer, 1, sizeof buffer, w->sections[a])) > 0)
                fwrite(buffer, 1, got, w->file);
            if (ferror(w->sections[a]))
                status = gbx_fail(error, GBX_ERR_IO, "temporary file: read error");
            fputs("\n]", w->file);
        }
        fputs("}\n", w->file);
    }
    remove_sections(w);
    gbx_output *output = w->output;
    w->output = NULL;
    w->file = NULL;
    if (status == GBX_OK) status = gbx_output_close(output, error); /* checks, renames */
    else gbx_output_abort(output);
    gbx_explanation_writer_abort(w);
    return status;
}

gbx_status gbx_explanation_write(const gbx_explanation *explanation, const char *path,
                                 const gbx_writer_options *options, gbx_error *error)
{
    if (!explanation || !path)
        return gbx_fail(error, GBX_ERR_USAGE, "gbx_explanation_write: NULL argument");
    gbx_explanation_writer *writer;
    gbx_status status = writer_open(path, explanation, options, &writer, error);
    if (status != GBX_OK) return status;
    if ((status = gbx_explanation_writer_write(writer, explanation, error)) != GBX_OK) {
        gbx_explanation_writer_abort(writer);
        return status;
    }
    return gbx_explanation_writer_close(writer, error);
}
