/* Streaming CSV reader: RFC 4180 quoting, CRLF, UTF-8 BOM, header row, missing-value tokens,
 * and the mapping from file columns to model features. Every error names file:line:column. */
#include "../models/model.h"
#include "image.h"
#include "npy.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUFFER_SIZE (1 << 16)

struct gbx_data_reader {
    FILE *file;
    char *path;
    unsigned char buffer[BUFFER_SIZE];
    size_t position, filled;
    int at_end;
    size_t line;             /* line of the next character to read, 1-based */
    size_t record_line;      /* line where the current record started */
    char *field;             /* the current field, NUL-terminated */
    size_t field_length, field_capacity;
    size_t file_columns;     /* columns in the header */
    char **header;
    size_t features;         /* columns of the data produced */
    char **feature_names;
    int *feature_of_column;  /* file column -> feature index, or -1 (ignored) */
    int quiet;
    uint64_t consumed;       /* bytes before the current buffer */
    uint64_t size;           /* file size, 0 if unknown */
    double *array;           /* a .npy file, read whole: [array_rows][features] */
    size_t array_rows, array_row;
    char **images;           /* image files, one row each, decoded as rows are read */
    size_t image_count, image_next;
    gbx_image_layout layout;
    gbx_pixel_options pixels;
};

void gbx_pixel_options_init(gbx_pixel_options *options)
{
    options->scale = 1.0 / 255.0;
    for (int c = 0; c < 3; c++) {
        options->mean[c] = 0.0;
        options->std[c] = 1.0;
    }
}

void gbx_data_reader_set_pixels(gbx_data_reader *reader, const gbx_pixel_options *options)
{
    reader->pixels = *options;
}

static int next_byte(gbx_data_reader *reader)
{
    if (reader->position == reader->filled) {
        if (reader->at_end) return EOF;
        reader->consumed += reader->filled;
        reader->filled = fread(reader->buffer, 1, BUFFER_SIZE, reader->file);
        reader->position = 0;
        if (reader->filled == 0) {
            reader->at_end = 1;
            return EOF;
        }
    }
    return reader->buffer[reader->position++];
}

static int peek_byte(gbx_data_reader *reader)
{
    int c = next_byte(reader);
    if (c != EOF) reader->position--;
    return c;
}

static int append(gbx_data_reader *reader, char c)
{
    if (reader->field_length + 1 >= reader->field_capacity) {
        size_t grown = reader->field_capacity ? reader->field_capacity * 2 : 256;
        char *field = realloc(reader->field, grown);
        if (!field) return 0;
        reader->field = field;
        reader->field_capacity = grown;
    }
    reader->field[reader->field_length++] = c;
    return 1;
}

typedef enum { FIELD_LAST = 0, FIELD_MORE = 1, FIELD_NONE = 2 } field_end;

/* Reads one field into reader->field. Returns whether more fields follow in the record, or
 * FIELD_NONE at the end of the file (no field read). */
static gbx_status read_field(gbx_data_reader *reader, size_t column, field_end *end,
                             gbx_error *error)
{
    reader->field_length = 0;
    int c = next_byte(reader);
    if (c == EOF && column == 0) {
        *end = FIELD_NONE;
        return GBX_OK;
    }
    int quoted = 0;
    if (c == '"') {
        quoted = 1;
        size_t start_line = reader->line;
        for (;;) {
            c = next_byte(reader);
            if (c == EOF)
                return gbx_fail(error, GBX_ERR_PARSE,
                                "%s:%zu:%zu: a quoted field is not closed before the end of the file",
                                reader->path, start_line, column + 1);
            if (c == '"') {
                if (peek_byte(reader) != '"') break;
                next_byte(reader);
            }
            if (c == '\n') reader->line++;
            if (!append(reader, (char)c)) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
        }
        c = next_byte(reader);
    }
    for (;; c = next_byte(reader)) {
        if (c == ',') {
            *end = FIELD_MORE;
            break;
        }
        if (c == '\n' || c == EOF) {
            if (c == '\n') reader->line++;
            *end = FIELD_LAST;
            break;
        }
        if (c == '\r' && (peek_byte(reader) == '\n' || peek_byte(reader) == EOF)) continue;
        if (quoted && c != ' ')
            return gbx_fail(error, GBX_ERR_PARSE,
                            "%s:%zu:%zu: unexpected character after a closing quote",
                            reader->path, reader->line, column + 1);
        if (!append(reader, (char)c)) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    if (!append(reader, '\0')) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    reader->field_length--;
    return GBX_OK;
}

static char *trimmed(char *text)
{
    while (*text == ' ' || *text == '\t') text++;
    size_t length = strlen(text);
    while (length > 0 && (text[length - 1] == ' ' || text[length - 1] == '\t')) text[--length] = 0;
    return text;
}

static int is_missing_token(const char *text)
{
    return !*text || strcmp(text, "NA") == 0 || strcasecmp(text, "nan") == 0 ||
           strcasecmp(text, "null") == 0 || strcmp(text, "N/A") == 0;
}

/* Parses a cell as a number (decimal, exponent, inf) or a missing value. */
static int parse_cell(char *text, double *out)
{
    errno = 0; /* ERANGE afterwards says the number was beyond a double's range */
    text = trimmed(text);
    if (is_missing_token(text)) {
        *out = NAN;
        return 1;
    }
    /* strtod also reads hex floats and "nan(...)"; accept only the plain decimal forms. */
    for (const char *p = text; *p; p++)
        if (!(isdigit((unsigned char)*p) || strchr("+-.eE", *p) || strchr("infINFtyTY", *p)))
            return 0;
    char *end;
    double value = strtod(text, &end);
    if (end == text || *end) return 0;
    /* A number too large for a double is not infinity: it is refused, not read as one. */
    if (errno == ERANGE && isinf(value)) return 0;
    *out = value;
    return 1;
}

void gbx_data_reader_free(gbx_data_reader *reader)
{
    if (!reader) return;
    if (reader->file) fclose(reader->file);
    if (reader->header)
        for (size_t j = 0; j < reader->file_columns; j++) free(reader->header[j]);
    free(reader->header);
    free(reader->feature_names);
    free(reader->feature_of_column);
    free(reader->field);
    free(reader->path);
    free(reader->array);
    gbx_image_list_free(reader->images, reader->image_count);
    free(reader);
}

void gbx_data_reader_progress(const gbx_data_reader *reader, uint64_t *bytes_read,
                              uint64_t *bytes_total)
{
    *bytes_read = reader->consumed + reader->position;
    *bytes_total = reader->size;
}

const char *gbx_data_reader_feature_name(const gbx_data_reader *reader, size_t feature)
{
    return feature < reader->features ? reader->feature_names[feature] : NULL;
}

void gbx_data_reader_set_quiet(gbx_data_reader *reader, int quiet) { reader->quiet = quiet; }

static gbx_status read_header(gbx_data_reader *reader, gbx_error *error)
{
    /* A UTF-8 byte-order mark is not part of the first name. */
    if (peek_byte(reader) == 0xEF) {
        int a = next_byte(reader), b = next_byte(reader), c = next_byte(reader);
        if (!(a == 0xEF && b == 0xBB && c == 0xBF))
            return gbx_fail(error, GBX_ERR_PARSE, "%s:1:1: the file is not UTF-8 text",
                            reader->path);
    }
    size_t capacity = 0;
    field_end end = FIELD_MORE;
    while (end == FIELD_MORE) {
        gbx_status status = read_field(reader, reader->file_columns, &end, error);
        if (status != GBX_OK) return status;
        if (end == FIELD_NONE) {
            if (reader->file_columns == 0)
                return gbx_fail(error, GBX_ERR_PARSE, "%s: the file is empty (a header row is "
                                "required)", reader->path);
            break;
        }
        if (reader->file_columns == capacity) {
            capacity = capacity ? capacity * 2 : 64;
            char **grown = realloc(reader->header, capacity * sizeof(char *));
            if (!grown) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
            reader->header = grown;
        }
        reader->header[reader->file_columns++] = gbx_strdup(trimmed(reader->field));
        if (!reader->header[reader->file_columns - 1])
            return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    if (reader->file_columns == 1 && !reader->header[0][0])
        return gbx_fail(error, GBX_ERR_PARSE, "%s:1:1: the header row is empty", reader->path);
    return GBX_OK;
}

/* Decides which file column feeds which model feature. */
static gbx_status map_columns(gbx_data_reader *reader, const gbx_model *model, gbx_error *error)
{
    size_t columns = reader->file_columns;
    reader->feature_of_column = gbx_malloc_array(columns, sizeof(int));
    if (!reader->feature_of_column) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    int by_name = model && model->feature_names;
    if (!model) {
        reader->features = columns;
        for (size_t j = 0; j < columns; j++) reader->feature_of_column[j] = (int)j;
    } else if (!by_name) {
        reader->features = model->features;
        if (columns < model->features)
            return gbx_fail(error, GBX_ERR_MISMATCH,
                            "%s: has %zu columns, the model expects %zu (matched by position, the "
                            "model has no feature names)", reader->path, columns, model->features);
        for (size_t j = 0; j < columns; j++)
            reader->feature_of_column[j] = j < model->features ? (int)j : -1;
        if (columns > model->features && !reader->quiet)
            gbx_log(GBX_LOG_NOTE, "%s: ignoring the last %zu columns (the model uses the first %zu)",
                    reader->path, columns - model->features, model->features);
    } else {
        reader->features = model->features;
        for (size_t j = 0; j < columns; j++) reader->feature_of_column[j] = -1;
        for (size_t f = 0; f < model->features; f++) {
            size_t found = columns;
            for (size_t j = 0; j < columns; j++)
                if (strcmp(reader->header[j], model->feature_names[f]) == 0) {
                    if (found != columns)
                        return gbx_fail(error, GBX_ERR_PARSE,
                                        "%s:1:%zu: column \"%s\" appears twice", reader->path,
                                        j + 1, reader->header[j]);
                    found = j;
                }
            if (found == columns)
                return gbx_fail(error, GBX_ERR_MISMATCH,
                                "%s: column \"%s\" (feature %zu of the model) is missing",
                                reader->path, model->feature_names[f], f);
            reader->feature_of_column[found] = (int)f;
        }
        size_t ignored = 0;
        for (size_t j = 0; j < columns; j++) ignored += reader->feature_of_column[j] < 0;
        if (ignored && !reader->quiet) {
            char names[512] = "";
            size_t used = 0;
            for (size_t j = 0, shown = 0; j < columns && used < sizeof names; j++)
                if (reader->feature_of_column[j] < 0 && shown++ < 8)
                    used += (size_t)snprintf(names + used, sizeof names - used, " %s", reader->header[j]);
            gbx_log(GBX_LOG_NOTE, "%s: ignoring %zu column%s the model does not use:%s%s",
                    reader->path, ignored, ignored == 1 ? "" : "s", names, ignored > 8 ? " ..." : "");
        }
    }
    reader->feature_names = gbx_calloc(reader->features, sizeof(char *));
    if (!reader->feature_names) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    /* Matched by position, the header still names the features best. */
    for (size_t j = 0; j < columns; j++)
        if (reader->feature_of_column[j] >= 0)
            reader->feature_names[reader->feature_of_column[j]] = reader->header[j];
    return GBX_OK;
}

/* Names the values of array and image rows as the model names its features (or x0, x1...). */
static gbx_status name_values(gbx_data_reader *reader, const gbx_model *model, size_t columns,
                              gbx_error *error)
{
    reader->file_columns = reader->features = columns;
    reader->header = gbx_calloc(columns ? columns : 1, sizeof(char *));
    reader->feature_names = gbx_calloc(columns ? columns : 1, sizeof(char *));
    if (!reader->header || !reader->feature_names)
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    for (size_t j = 0; j < columns; j++) {
        const char *name = model ? gbx_model_feature_name(model, j) : NULL;
        char fallback[32];
        snprintf(fallback, sizeof fallback, "x%zu", j);
        if (!(reader->header[j] = gbx_strdup(name ? name : fallback)))
            return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
        reader->feature_names[j] = reader->header[j];
    }
    return GBX_OK;
}

/* A .npy array: every row's values in order; they must number as many as the model's
 * features. */
static gbx_status open_npy(gbx_data_reader *reader, const gbx_model *model, gbx_error *error)
{
    size_t columns;
    gbx_status status = gbx_npy_read(reader->path, &reader->array_rows, &columns, &reader->array,
                                     error);
    if (status != GBX_OK) return status;
    if (model && gbx_model_features(model) != columns)
        return gbx_fail(error, GBX_ERR_MISMATCH, "%s: each row holds %zu values; the model "
                        "expects %zu", reader->path, columns, gbx_model_features(model));
    reader->size = (uint64_t)reader->array_rows;
    return name_values(reader, model, columns, error);
}

/* PNG or JPEG images (a file, or a folder of them): one row each, laid out as the network's
 * input wants it. */
static gbx_status open_images(gbx_data_reader *reader, const gbx_model *model, gbx_error *error)
{
    if (!model || !model->network)
        return gbx_fail(error, GBX_ERR_USAGE, "%s: images are read for networks (ONNX or Keras "
                        "models) only", reader->path);
    const struct gbx_nn_graph *graph = model->network;
    int64_t dims[8];
    int rank = gbx_network_input_rank(graph);
    for (int d = 0; d < rank && d < 8; d++) dims[d] = gbx_network_input_dim(graph, d);
    gbx_status status = gbx_image_layout_of(rank, dims, &reader->layout, error);
    if (status == GBX_OK)
        status = gbx_image_list(reader->path, &reader->images, &reader->image_count, error);
    if (status != GBX_OK) return status;
    gbx_pixel_options_init(&reader->pixels);
    reader->size = (uint64_t)reader->image_count;
    return name_values(reader, model, gbx_model_features(model), error);
}

/* The next rows of images, each pixel p of channel c as (p * scale - mean[c]) / std[c]. */
static gbx_status next_images(gbx_data_reader *reader, size_t max_rows, gbx_data **chunk,
                              gbx_error *error)
{
    size_t rows = reader->image_count - reader->image_next;
    if (rows > max_rows) rows = max_rows;
    if (rows == 0) return GBX_OK;
    gbx_data *data = gbx_data_alloc(rows, reader->features,
                                    (const char *const *)reader->feature_names);
    if (!data) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory for %zu rows", rows);
    const gbx_image_layout *layout = &reader->layout;
    size_t positions = layout->width * layout->height, C = (size_t)layout->channels;
    for (size_t r = 0; r < rows; r++) {
        double *row = data->values + r * reader->features;
        gbx_status status = gbx_image_row(reader->images[reader->image_next + r], layout, row,
                                          error);
        if (status != GBX_OK) {
            gbx_data_free(data);
            return status;
        }
        for (size_t j = 0; j < reader->features; j++) {
            size_t c = layout->channels_first ? j / positions : j % C;
            const gbx_pixel_options *p = &reader->pixels;
            row[j] = (row[j] * p->scale - p->mean[c]) / p->std[c];
        }
    }
    reader->image_next += rows;
    reader->consumed = reader->image_next;
    *chunk = data;
    return GBX_OK;
}

gbx_status gbx_data_reader_open(const char *path, const gbx_model *model, gbx_data_reader **out,
                                gbx_error *error)
{
    if (!path || !out) return gbx_fail(error, GBX_ERR_USAGE, "gbx_data_reader_open: NULL argument");
    gbx_data_reader *reader = calloc(1, sizeof *reader);
    if (!reader) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    reader->line = 1;
    reader->path = gbx_strdup(path);
    gbx_status status;
    if (!reader->path) {
        status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
        goto fail;
    }
    size_t length = strlen(path);
    struct stat kind;
    int folder = stat(path, &kind) == 0 && S_ISDIR(kind.st_mode);
    if ((length > 4 && strcmp(path + length - 4, ".npy") == 0) || folder ||
        gbx_image_path(path)) {
        status = folder || gbx_image_path(path) ? open_images(reader, model, error)
                                                : open_npy(reader, model, error);
        if (status != GBX_OK) goto fail;
        *out = reader;
        return GBX_OK;
    }
    reader->file = strcmp(path, "-") == 0 ? fdopen(dup(0), "rb") : fopen(path, "rb");
    if (!reader->file) {
        status = gbx_fail(error, GBX_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        goto fail;
    }
    struct stat info;
    if (fstat(fileno(reader->file), &info) == 0 && S_ISREG(info.st_mode))
        reader->size = (uint64_t)info.st_size;
    if ((status = read_header(reader, error)) || (status = map_columns(reader, model, error)))
        goto fail;
    *out = reader;
    return GBX_OK;
fail:
    gbx_data_reader_free(reader);
    return status;
}

/* Reads one record into row; *got_row is 0 at the end of the file. Blank lines are skipped. */
static gbx_status read_record(gbx_data_reader *reader, double *row, int *got_row, gbx_error *error)
{
    *got_row = 0;
    for (;;) {
        reader->record_line = reader->line;
        size_t column = 0;
        field_end end = FIELD_MORE;
        int blank_line = 0;
        while (end == FIELD_MORE) {
            gbx_status status = read_field(reader, column, &end, error);
            if (status != GBX_OK) return status;
            if (end == FIELD_NONE) return GBX_OK;
            if (column == 0 && end == FIELD_LAST && reader->field_length == 0 &&
                reader->file_columns > 1) {
                blank_line = 1;
                break;
            }
            if (column >= reader->file_columns)
                return gbx_fail(error, GBX_ERR_PARSE,
                                "%s:%zu:%zu: row has more fields than the %zu header columns",
                                reader->path, reader->record_line, column + 1,
                                reader->file_columns);
            int feature = reader->feature_of_column[column];
            /* A NUL byte inside a field would end it early ("1\0" then "0" read as 1). */
            if (feature >= 0 && strlen(reader->field) != reader->field_length)
                return gbx_fail(error, GBX_ERR_PARSE, "%s:%zu:%zu: column \"%s\": a NUL byte "
                                "inside the field", reader->path, reader->record_line, column + 1,
                                reader->header[column]);
            if (feature >= 0 && !parse_cell(reader->field, &row[feature]))
                return gbx_fail(error, GBX_ERR_PARSE,
                                "%s:%zu:%zu: column \"%s\": expected a number, found \"%.40s\"%s",
                                reader->path, reader->record_line, column + 1,
                                reader->header[column], reader->field,
                                errno == ERANGE ? " (beyond a double's range)" : "");
            column++;
        }
        if (blank_line) continue;
        if (column < reader->file_columns)
            return gbx_fail(error, GBX_ERR_PARSE,
                            "%s:%zu:%zu: row has %zu fields, the header has %zu", reader->path,
                            reader->record_line, column + 1, column, reader->file_columns);
        *got_row = 1;
        return GBX_OK;
    }
}

gbx_status gbx_data_reader_next(gbx_data_reader *reader, size_t max_rows, gbx_data **chunk,
                                gbx_error *error)
{
    *chunk = NULL;
    if (max_rows == 0) return gbx_fail(error, GBX_ERR_USAGE, "gbx_data_reader_next: max_rows is 0");
    if (reader->images) return next_images(reader, max_rows, chunk, error);
    if (reader->array) {
        size_t rows = reader->array_rows - reader->array_row;
        if (rows > max_rows) rows = max_rows;
        if (rows == 0) return GBX_OK;
        gbx_data *data = gbx_data_alloc(rows, reader->features,
                                        (const char *const *)reader->feature_names);
        if (!data) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory for %zu rows", rows);
        memcpy(data->values, reader->array + reader->array_row * reader->features,
               rows * reader->features * sizeof(double));
        reader->array_row += rows;
        reader->consumed = reader->array_row; /* progress counts rows for arrays */
        *chunk = data;
        return GBX_OK;
    }
    gbx_data *data = gbx_data_alloc(max_rows, reader->features,
                                    (const char *const *)reader->feature_names);
    if (!data) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory for %zu rows", max_rows);
    size_t rows = 0;
    while (rows < max_rows) {
        int got_row;
        gbx_status status = read_record(reader, data->values + rows * reader->features, &got_row,
                                        error);
        if (status != GBX_OK) {
            gbx_data_free(data);
            return status;
        }
        if (!got_row) break;
        rows++;
    }
    if (rows == 0) {
        gbx_data_free(data);
        return GBX_OK;
    }
    data->rows = rows;
    *chunk = data;
    return GBX_OK;
}

gbx_status gbx_data_read_csv(const char *path, const gbx_model *model, gbx_data **out,
                             gbx_error *error)
{
    return gbx_data_read(path, model, NULL, out, error);
}

gbx_status gbx_data_read(const char *path, const gbx_model *model,
                         const gbx_pixel_options *pixels, gbx_data **out, gbx_error *error)
{
    gbx_data_reader *reader;
    gbx_status status = gbx_data_reader_open(path, model, &reader, error);
    if (status != GBX_OK) return status;
    if (pixels) gbx_data_reader_set_pixels(reader, pixels);
    gbx_data *all = NULL;
    size_t chunk_rows = 4096;
    for (;;) {
        gbx_data *chunk;
        if ((status = gbx_data_reader_next(reader, chunk_rows, &chunk, error))) break;
        if (!chunk) break;
        if (!all) {
            all = chunk;
            continue;
        }
        size_t columns = all->columns;
        double *grown = realloc(all->values, (all->rows + chunk->rows) * columns * sizeof(double) + 1);
        if (!grown) {
            gbx_data_free(chunk);
            status = gbx_fail(error, GBX_ERR_NOMEM, "%s: out of memory", path);
            break;
        }
        memcpy(grown + all->rows * columns, chunk->values, chunk->rows * columns * sizeof(double));
        all->values = grown;
        all->rows += chunk->rows;
        gbx_data_free(chunk);
    }
    gbx_data_reader_free(reader);
    if (status == GBX_OK && !all)
        status = gbx_fail(error, GBX_ERR_PARSE, "%s: no data rows after the header", path);
    if (status != GBX_OK) {
        gbx_data_free(all);
        return status;
    }
    *out = all;
    return GBX_OK;
}
