/* Explanation files read back into the one explanation object: glassbox.explanation/1 JSON
 * (with json-c) and the CSV form. Every array is checked against the sizes the header
 * announces before it is copied, so a damaged or hand-edited file is an error naming the key,
 * never a read past an array. The one reader of the format in the tree. */
#include "explanation.h"

#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *path;
    gbx_error *error;
} context;

static json_object *member(json_object *o, const char *key)
{
    json_object *v = NULL;
    return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static char *string_of(json_object *o, const char *key)
{
    json_object *v = member(o, key);
    return gbx_strdup(v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "");
}

/* Names from a JSON array of strings of the given length. */
static gbx_status names(const context *c, json_object *root, const char *key, size_t count,
                        char ***out)
{
    json_object *array = member(root, key);
    if (!array || !json_object_is_type(array, json_type_array) ||
        json_object_array_length(array) != count)
        return gbx_fail(c->error, GBX_ERR_PARSE, "%s: \"%s\" must list %zu names", c->path, key,
                        count);
    if (!(*out = gbx_calloc(count ? count : 1, sizeof(char *))))
        return gbx_fail(c->error, GBX_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < count; i++) {
        json_object *name = json_object_array_get_idx(array, i);
        if (!json_object_is_type(name, json_type_string))
            return gbx_fail(c->error, GBX_ERR_PARSE, "%s: \"%s\"[%zu] is not a string", c->path,
                            key, i);
        if (!((*out)[i] = gbx_strdup(json_object_get_string(name))))
            return gbx_fail(c->error, GBX_ERR_NOMEM, "out of memory");
    }
    return GBX_OK;
}

/* A number, or NaN for null where missing values are allowed. */
static int number(json_object *v, int missing_allowed, double *out)
{
    if (!v) {
        *out = NAN;
        return missing_allowed;
    }
    if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
        return 0;
    *out = json_object_get_double(v);
    /* NaN, Infinity and 1e400 are no numbers a writer makes (it writes null): refused. */
    return isfinite(*out);
}

/* One array of the explanation table: rows of nested arrays of numbers with the shape the
 * header announces, flattened. */
static gbx_status numbers(const context *c, json_object *root, const gbx_explanation_array *a,
                          gbx_explanation *e)
{
    json_object *array = member(root, a->key);
    size_t shape[4] = {e->rows, 0, 0, 0};
    int rank = 1 + gbx_explanation_array_dims(e, a, shape + 1);
    /* The declared row count must match the array before anything is allocated for it (a
     * file may declare any count; the other sizes are the lengths of name arrays). */
    if (!array || !json_object_is_type(array, json_type_array) ||
        json_object_array_length(array) != shape[0])
        return gbx_fail(c->error, GBX_ERR_PARSE, "%s: \"%s\" must hold %zu rows", c->path,
                        a->key, shape[0]);
    size_t total = 1;
    for (int d = 0; d < rank; d++) total *= shape[d] ? shape[d] : 1;
    double **out = gbx_explanation_array_of(e, a);
    if (!(*out = gbx_malloc_array(total, sizeof(double))))
        return gbx_fail(c->error, GBX_ERR_NOMEM, "out of memory");
    size_t at = 0;
    /* Walks the nesting with an explicit index per level. */
    json_object *level[4] = {array, NULL, NULL, NULL};
    size_t index[4] = {0, 0, 0, 0};
    for (int d = 0;;) {
        json_object *here = level[d];
        if (!here || !json_object_is_type(here, json_type_array) ||
            json_object_array_length(here) != shape[d])
            return gbx_fail(c->error, GBX_ERR_PARSE, "%s: \"%s\" must be %zu rows of %zu "
                            "numbers", c->path, a->key, shape[0], total / (shape[0] ? shape[0] : 1));
        if (index[d] == shape[d]) {
            if (d == 0) break;
            index[d] = 0;
            index[--d]++;
            continue;
        }
        json_object *item = json_object_array_get_idx(here, index[d]);
        if (d + 1 < rank) {
            level[++d] = item;
            continue;
        }
        if (!number(item, a->missing_allowed, &(*out)[at++]))
            return gbx_fail(c->error, GBX_ERR_PARSE, "%s: \"%s\" holds something other than a "
                            "finite number", c->path, a->key);
        index[d]++;
    }
    return GBX_OK;
}

/* "groups": {FEATURE: [columns...]} names, for every data column, the feature it is part of. */
static gbx_status group_columns(const context *c, json_object *groups, gbx_explanation *d)
{
    if (!json_object_is_type(groups, json_type_object))
        return gbx_fail(c->error, GBX_ERR_PARSE, "%s: \"groups\" must be an object", c->path);
    if (!(d->group_of_column = gbx_malloc_array(d->columns ? d->columns : 1, sizeof(size_t))))
        return gbx_fail(c->error, GBX_ERR_NOMEM, "out of memory");
    for (size_t j = 0; j < d->columns; j++) d->group_of_column[j] = SIZE_MAX;
    for (size_t g = 0; g < d->features; g++) {
        json_object *list = member(groups, d->feature_names[g]);
        if (!list || !json_object_is_type(list, json_type_array))
            return gbx_fail(c->error, GBX_ERR_PARSE, "%s: \"groups\" lists no columns for "
                            "feature \"%s\"", c->path, d->feature_names[g]);
        for (size_t i = 0; i < json_object_array_length(list); i++) {
            json_object *name = json_object_array_get_idx(list, i);
            size_t j = 0;
            while (j < d->columns && (!json_object_is_type(name, json_type_string) ||
                                      strcmp(d->column_names[j], json_object_get_string(name)) != 0))
                j++;
            if (j == d->columns || d->group_of_column[j] != SIZE_MAX)
                return gbx_fail(c->error, GBX_ERR_PARSE, "%s: \"groups\".\"%s\"[%zu] is not a data "
                                "column of its own", c->path, d->feature_names[g], i);
            d->group_of_column[j] = g;
        }
    }
    for (size_t j = 0; j < d->columns; j++)
        if (d->group_of_column[j] == SIZE_MAX)
            return gbx_fail(c->error, GBX_ERR_PARSE, "%s: data column \"%s\" is in no group",
                            c->path, d->column_names[j]);
    return GBX_OK;
}

static size_t count_of(json_object *array)
{
    return array && json_object_is_type(array, json_type_array) ? json_object_array_length(array)
                                                                : 0;
}

/* A parameters object's text, as the writer spells it ({"key": value, ...}), so that a file
 * read and written again is the same; values other than strings, numbers and booleans keep
 * json-c's spelling. */
static char *parameters_text(json_object *parameters)
{
    char *text = NULL;
    size_t length = 0;
    FILE *f = open_memstream(&text, &length);
    if (!f) return NULL;
    fputc('{', f);
    int first = 1;
    json_object_object_foreach(parameters, key, value) {
        fputs(first ? "" : ", ", f);
        first = 0;
        gbx_json_write_string(f, key);
        fputs(": ", f);
        if (json_object_is_type(value, json_type_string))
            gbx_json_write_string(f, json_object_get_string(value));
        else if (json_object_is_type(value, json_type_double))
            fprintf(f, "%.17g", json_object_get_double(value));
        else if (json_object_is_type(value, json_type_int))
            fprintf(f, "%lld", (long long)json_object_get_int64(value));
        else
            fputs(json_object_to_json_string_ext(value, JSON_C_TO_STRING_PLAIN), f);
    }
    fputc('}', f);
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

static gbx_status read_provenance(const context *c, json_object *root, gbx_explanation *d)
{
    json_object *model = member(root, "model");
    d->method = string_of(root, "method");
    d->model_type = string_of(model, "type");
    d->objective = string_of(model, "objective");
    d->output_space = string_of(model, "output");
    d->model_sha256 = string_of(model, "sha256");
    d->model_source = string_of(model, "source");
    d->model_version = string_of(model, "version");
    d->version = string_of(root, "glassbox_version");
    json_object *parameters = member(root, "parameters"), *seed = member(root, "seed");
    d->parameters = parameters && json_object_is_type(parameters, json_type_object)
                        ? parameters_text(parameters) : gbx_strdup("{}");
    if (seed && json_object_is_type(seed, json_type_int))
        d->seed = json_object_get_uint64(seed);
    /* The background's fingerprint: the tabular methods' background_sha256, or integrated
     * gradients' baseline row. */
    json_object *fingerprint = member(parameters, "background_sha256");
    if (!fingerprint) fingerprint = member(parameters, "baseline");
    const char *hash = fingerprint && json_object_is_type(fingerprint, json_type_string)
                           ? json_object_get_string(fingerprint) : "";
    d->background_sha256 = gbx_strdup(strlen(hash) == 64 ? hash : "");
    if (!d->method || !d->model_type || !d->objective || !d->output_space || !d->model_sha256 ||
        !d->version || !d->parameters || !d->background_sha256 || !d->model_source ||
        !d->model_version)
        return gbx_fail(c->error, GBX_ERR_NOMEM, "out of memory");
    return GBX_OK;
}

static gbx_status read_input_shape(const context *c, json_object *root, gbx_explanation *d)
{
    json_object *input_shape = member(root, "input_shape");
    size_t rank = count_of(input_shape), elements = 1;
    if (rank > GBX_EXPLANATION_MAX_RANK)
        return gbx_fail(c->error, GBX_ERR_PARSE, "%s: \"input_shape\" has more than %d "
                        "dimensions", c->path, GBX_EXPLANATION_MAX_RANK);
    for (size_t i = 0; i < rank; i++) {
        json_object *dim = json_object_array_get_idx(input_shape, i);
        long long value = json_object_is_type(dim, json_type_int) ? json_object_get_int64(dim) : 0;
        if (value <= 0 || (size_t)value > d->columns || elements * (size_t)value > d->columns)
            return gbx_fail(c->error, GBX_ERR_PARSE, "%s: \"input_shape\"[%zu] is not a positive "
                            "size within the %zu columns", c->path, i, d->columns);
        d->input_shape[i] = (size_t)value;
        elements *= (size_t)value;
    }
    if (rank && elements != d->columns)
        return gbx_fail(c->error, GBX_ERR_PARSE, "%s: \"input_shape\" does not hold the %zu "
                        "columns", c->path, d->columns);
    d->input_rank = rank;
    /* ["channels_last"] or ["channels_first"]; absent in files of glassbox 0.2.0 and before. */
    json_object *layout = member(root, "input_layout");
    const char *name = count_of(layout) == 1
        ? json_object_get_string(json_object_array_get_idx(layout, 0)) : NULL;
    d->input_layout = !name ? GBX_LAYOUT_UNKNOWN
                    : strcmp(name, "channels_last") == 0 ? GBX_LAYOUT_CHANNELS_LAST
                    : strcmp(name, "channels_first") == 0 ? GBX_LAYOUT_CHANNELS_FIRST : -1;
    if (layout && (d->input_layout == GBX_LAYOUT_UNKNOWN || d->input_layout < 0 || !rank))
        return gbx_fail(c->error, GBX_ERR_PARSE, "%s: \"input_layout\" is [\"channels_first\"] "
                        "or [\"channels_last\"]", c->path);
    return GBX_OK;
}

static gbx_status read_json(const context *c, json_object *root, gbx_explanation *d)
{
    gbx_status status = read_provenance(c, root, d);
    if (status != GBX_OK) return status;
    json_object *rows = member(root, "rows");
    d->rows = rows && json_object_is_type(rows, json_type_int) && json_object_get_int64(rows) > 0
                  ? (size_t)json_object_get_int64(rows) : 0;
    d->features = count_of(member(root, "feature_names"));
    d->outputs = count_of(member(root, "output_names"));
    json_object *columns = member(root, "data_columns");
    /* A key given must hold what it names: null or another type is malformed, not absent. */
    if (json_object_object_get_ex(root, "data_columns", NULL) &&
        !json_object_is_type(columns, json_type_array))
        return gbx_fail(c->error, GBX_ERR_PARSE, "%s: \"data_columns\" must list the data's "
                        "column names", c->path);
    if (json_object_object_get_ex(root, "groups", NULL) && !columns)
        return gbx_fail(c->error, GBX_ERR_PARSE, "%s: \"groups\" needs \"data_columns\" "
                        "naming the columns it groups", c->path);
    d->columns = columns ? count_of(columns) : d->features;
    if (!d->rows || !d->features || !d->outputs)
        return gbx_fail(c->error, GBX_ERR_PARSE, "%s: the file explains no rows, features or "
                        "outputs", c->path);
    if ((status = names(c, root, "feature_names", d->features, &d->feature_names)) ||
        (status = names(c, root, "output_names", d->outputs, &d->output_names)) ||
        (status = names(c, root, columns ? "data_columns" : "feature_names", d->columns,
                        &d->column_names)))
        return status;
    json_object *groups = member(root, "groups");
    if (groups && columns && (status = group_columns(c, groups, d)) != GBX_OK) return status;
    if ((status = read_input_shape(c, root, d)) != GBX_OK) return status;
    for (size_t a = 0; a < gbx_explanation_array_count && status == GBX_OK; a++) {
        const gbx_explanation_array *array = &gbx_explanation_arrays[a];
        if (array->required || member(root, array->key)) status = numbers(c, root, array, d);
    }
    for (size_t r = 0; status == GBX_OK && d->classes && r < d->rows; r++)
        if (!(d->classes[r] >= 0 && d->classes[r] < 1e9 && d->classes[r] == floor(d->classes[r])))
            status = gbx_fail(c->error, GBX_ERR_PARSE, "%s: \"explained_output\"[%zu] is not an "
                              "output's index", c->path, r);
    return status;
}

/* ---- CSV: [output,]FEATURE...,base_value,prediction, one line per row and output ---------- */

/* The fields of one CSV line (quoted as the writer quotes), in place; returns the count. */
static size_t csv_fields(char *line, char **fields, size_t capacity)
{
    size_t count = 0;
    char *p = line;
    for (;;) {
        char *field = p, *to = p;
        if (*p == '"') {
            p++;
            while (*p && !(*p == '"' && p[1] != '"')) {
                if (*p == '"') p++;
                *to++ = *p++;
            }
            if (*p == '"') p++;
        } else {
            while (*p && *p != ',') *to++ = *p++;
        }
        char separator = *p;
        *to = '\0';
        if (count < capacity) fields[count] = field;
        count++;
        if (separator != ',') break;
        p++;
    }
    return count;
}

/* Whether two lines start with the same field (the output of a per-output CSV). */
static int same_first_field(const char *a, const char *b)
{
    char first[512], second[512], *x[1], *y[1];
    snprintf(first, sizeof first, "%s", a);
    snprintf(second, sizeof second, "%s", b);
    csv_fields(first, x, 1);
    csv_fields(second, y, 1);
    return strcmp(x[0], y[0]) == 0;
}

static int csv_number(const char *text, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(text, &end);
    return *text && !*end && errno != ERANGE && isfinite(*out);
}

static gbx_status read_csv(const context *c, char *bytes, gbx_explanation *d)
{
    /* Lines: the header, then rows x outputs lines. */
    size_t lines = 0;
    for (char *p = bytes; *p; p++) lines += *p == '\n';
    char **line = gbx_calloc(lines + 1, sizeof(char *));
    if (!line) return gbx_fail(c->error, GBX_ERR_NOMEM, "out of memory");
    size_t count = 0;
    for (char *p = bytes, *next; *p; p = next) {
        next = strchr(p, '\n');
        if (next) *next++ = '\0';
        else next = p + strlen(p);
        size_t length = strlen(p);
        if (length && p[length - 1] == '\r') p[--length] = '\0';
        if (length) line[count++] = p;
    }
    gbx_status status = GBX_OK;
    char *header = count ? gbx_strdup(line[0]) : NULL; /* counted on a copy: fields end in place */
    size_t width = header ? csv_fields(header, NULL, 0) : 0;
    free(header);
    char **fields = gbx_calloc(width + 1, sizeof(char *));
    if (!fields) status = gbx_fail(c->error, GBX_ERR_NOMEM, "out of memory");
    else if (count < 2 || width < 3)
        status = gbx_fail(c->error, GBX_ERR_PARSE, "%s: not a glassbox explanation file (JSON, "
                          "or CSV with a header FEATURE...,base_value,prediction and a line per "
                          "row, as glassbox explain writes)", c->path);
    if (status == GBX_OK) {
        csv_fields(line[0], fields, width);
        int per_output = strcmp(fields[0], "output") == 0;
        d->features = d->columns = width - 2 - (size_t)per_output;
        if (d->features == 0 || strcmp(fields[width - 2], "base_value") != 0 ||
            strcmp(fields[width - 1], "prediction") != 0)
            status = gbx_fail(c->error, GBX_ERR_PARSE, "%s: not a glassbox explanation file (a "
                              "CSV one's header ends with base_value,prediction)", c->path);
        if (status == GBX_OK &&
            (!(d->feature_names = gbx_names_copy((const char *const *)fields + per_output, d->features)) ||
             !(d->column_names = gbx_names_copy((const char *const *)fields + per_output, d->features))))
            status = gbx_fail(c->error, GBX_ERR_NOMEM, "out of memory");
        /* The outputs: one, or the names in the first column until the first name repeats. */
        size_t outputs = 1;
        while (status == GBX_OK && per_output && outputs < count - 1 &&
               !same_first_field(line[1], line[1 + outputs]))
            outputs++;
        d->outputs = outputs;
        if (status == GBX_OK && (count - 1) % outputs != 0)
            status = gbx_fail(c->error, GBX_ERR_PARSE, "%s: %zu lines do not make whole rows of %zu "
                              "outputs", c->path, count - 1, outputs);
        if (status == GBX_OK && !(d->output_names = gbx_calloc(outputs, sizeof(char *))))
            status = gbx_fail(c->error, GBX_ERR_NOMEM, "out of memory");
        if (status == GBX_OK) status = gbx_explanation_allocate(d, (count - 1) / outputs, NULL, c->error);
        size_t K = d->outputs, M = d->features;
        for (size_t i = 1; status == GBX_OK && i < count; i++) {
            size_t r = (i - 1) / K, k = (i - 1) % K;
            if (csv_fields(line[i], fields, width) != width) {
                status = gbx_fail(c->error, GBX_ERR_PARSE, "%s:%zu: %zu fields expected", c->path,
                                  i + 1, width);
                break;
            }
            if (per_output && r == 0 && !(d->output_names[k] = gbx_strdup(fields[0])))
                status = gbx_fail(c->error, GBX_ERR_NOMEM, "out of memory");
            else if (per_output && r > 0 && strcmp(fields[0], d->output_names[k]) != 0)
                status = gbx_fail(c->error, GBX_ERR_PARSE, "%s:%zu: output \"%s\" where \"%s\" is "
                                  "due", c->path, i + 1, fields[0], d->output_names[k]);
            for (size_t f = 0; status == GBX_OK && f < M + 2; f++) {
                double *slot = f < M ? &d->values[(r * K + k) * M + f]
                               : f == M ? &d->base_values[r * K + k] : &d->predictions[r * K + k];
                if (!csv_number(fields[per_output + f], slot))
                    status = gbx_fail(c->error, GBX_ERR_PARSE, "%s:%zu: field %zu is not a finite "
                                      "number", c->path, i + 1, per_output + f + 1);
            }
        }
        if (status == GBX_OK && !per_output && !(d->output_names[0] = gbx_strdup("output")))
            status = gbx_fail(c->error, GBX_ERR_NOMEM, "out of memory");
    }
    free(fields);
    free(line);
    if (status == GBX_OK &&
        (!(d->method = gbx_strdup("")) || !(d->parameters = gbx_strdup("{}")) ||
         !(d->version = gbx_strdup("")) || !(d->model_sha256 = gbx_strdup("")) ||
         !(d->model_type = gbx_strdup("")) || !(d->objective = gbx_strdup("")) ||
         !(d->output_space = gbx_strdup("")) || !(d->background_sha256 = gbx_strdup("")) ||
         !(d->model_source = gbx_strdup("")) || !(d->model_version = gbx_strdup(""))))
        status = gbx_fail(c->error, GBX_ERR_NOMEM, "out of memory");
    return status;
}

gbx_status gbx_explanation_read(const char *path, gbx_explanation **out, gbx_error *error)
{
    if (!path || !out) return gbx_fail(error, GBX_ERR_USAGE, "gbx_explanation_read: NULL argument");
    *out = NULL;
    char *bytes;
    size_t length;
    gbx_status status = gbx_read_file(path, &bytes, &length, error);
    if (status != GBX_OK) return status;
    if (length > INT_MAX) {
        free(bytes);
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "%s: explanation files over 2 GB are not "
                        "supported", path);
    }
    context c = {path, error};
    gbx_explanation *d = calloc(1, sizeof *d);
    if (!d) {
        free(bytes);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    size_t start = 0;
    while (start < length && isspace((unsigned char)bytes[start])) start++;
    if (start < length && bytes[start] != '{') {
        if (memchr(bytes, '\0', length)) status = gbx_fail(error, GBX_ERR_PARSE, "%s: holds a NUL "
                                                           "byte", path);
        else status = read_csv(&c, bytes, d);
        free(bytes);
    } else {
        json_tokener *tokener = json_tokener_new();
        json_object *root = tokener ? json_tokener_parse_ex(tokener, bytes, (int)length) : NULL;
        int parsed = tokener && json_tokener_get_error(tokener) == json_tokener_success;
        if (tokener) json_tokener_free(tokener);
        free(bytes);
        json_object *format = member(root, "format");
        if (!parsed || !root || !format || !json_object_is_type(format, json_type_string) ||
            strcmp(json_object_get_string(format), "glassbox.explanation/1") != 0)
            status = gbx_fail(error, GBX_ERR_PARSE, "%s: not a glassbox explanation file (JSON "
                              "with \"format\": \"glassbox.explanation/1\", as gbx_explanation_write "
                              "and glassbox explain write)", path);
        else
            status = read_json(&c, root, d);
        json_object_put(root);
    }
    if (status != GBX_OK) {
        gbx_explanation_free(d);
        return status;
    }
    *out = d;
    return GBX_OK;
}
