/* Explanation files read with json-c. Every array is checked against the sizes the header
 * announces before it is copied, so a damaged or hand-edited file is an error naming the key,
 * never a read past an array. */
#include "explanation_reader.h"

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

/* A number, or NaN for null where missing values are allowed (the "data" rows). */
static int number(json_object *v, int missing_allowed, double *out)
{
    if (!v) {
        *out = NAN;
        return missing_allowed;
    }
    if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
        return 0;
    *out = json_object_get_double(v);
    return 1;
}

/* Nested arrays of numbers with the given shape (rank 1 to 3), flattened into out. */
static gbx_status numbers(const context *c, json_object *root, const char *key, int rank,
                          const size_t *shape, double **out)
{
    json_object *array = member(root, key);
    /* The declared row count must match the array before anything is allocated for it (a
     * file may declare any count; the other sizes are the lengths of name arrays). */
    if (!array || !json_object_is_type(array, json_type_array) ||
        json_object_array_length(array) != shape[0])
        return gbx_fail(c->error, GBX_ERR_PARSE, "%s: \"%s\" must hold %zu rows", c->path, key,
                        shape[0]);
    size_t total = 1;
    for (int d = 0; d < rank; d++) total *= shape[d] ? shape[d] : 1;
    if (!(*out = gbx_malloc_array(total, sizeof(double))))
        return gbx_fail(c->error, GBX_ERR_NOMEM, "out of memory");
    size_t at = 0;
    /* Walks the nesting with an explicit index per level. */
    json_object *level[3] = {array, NULL, NULL};
    size_t index[3] = {0, 0, 0};
    for (int d = 0;;) {
        json_object *here = level[d];
        if (!here || !json_object_is_type(here, json_type_array) ||
            json_object_array_length(here) != shape[d])
            return gbx_fail(c->error, GBX_ERR_PARSE, "%s: \"%s\" must be %zu%s%zu%s%zu numbers "
                            "deep", c->path, key, shape[0], rank > 1 ? " x " : "",
                            rank > 1 ? shape[1] : 0, rank > 2 ? " x " : "", rank > 2 ? shape[2] : 0);
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
        if (!number(item, strcmp(key, "data") == 0, &(*out)[at++]))
            return gbx_fail(c->error, GBX_ERR_PARSE, "%s: \"%s\" holds something other than a "
                            "number", c->path, key);
        index[d]++;
    }
    return GBX_OK;
}

/* "groups": {FEATURE: [columns...]} names, for every data column, the feature it is part of. */
static gbx_status group_columns(const context *c, json_object *groups, gbx_explanation_document *d)
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

static void free_names(char **names, size_t count)
{
    for (size_t i = 0; names && i < count; i++) free(names[i]);
    free(names);
}

static char **copy_names(char *const *names, size_t count)
{
    char **copy = gbx_calloc(count ? count : 1, sizeof(char *));
    for (size_t i = 0; copy && i < count; i++)
        if (!(copy[i] = gbx_strdup(names[i]))) {
            free_names(copy, i);
            return NULL;
        }
    return copy;
}

/* Each listed row's `width` numbers from source into a new array. */
static double *copy_rows(const double *source, size_t width, const size_t *rows, size_t count)
{
    if (!source) return NULL;
    double *copy = gbx_malloc_array(count * width > 0 ? count * width : 1, sizeof(double));
    for (size_t i = 0; copy && i < count; i++)
        memcpy(copy + i * width, source + rows[i] * width, width * sizeof(double));
    return copy;
}

gbx_status gbx_explanation_document_subset(const gbx_explanation_document *d, const size_t *rows,
                                           size_t count, gbx_explanation_document **out,
                                           gbx_error *error)
{
    *out = NULL;
    for (size_t i = 0; i < count; i++)
        if (rows[i] >= d->rows)
            return gbx_fail(error, GBX_ERR_USAGE, "there is no row %zu", rows[i]);
    gbx_explanation_document *s = calloc(1, sizeof *s);
    if (!s) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    size_t K = d->outputs;
    *s = (gbx_explanation_document){
        .method = gbx_strdup(d->method), .model_type = gbx_strdup(d->model_type),
        .objective = gbx_strdup(d->objective), .output_space = gbx_strdup(d->output_space),
        .model_sha256 = gbx_strdup(d->model_sha256), .parameters = gbx_strdup(d->parameters),
        .seed = gbx_strdup(d->seed), .version = gbx_strdup(d->version), .rows = count,
        .outputs = K, .features = d->features, .columns = d->columns,
        .feature_names = copy_names(d->feature_names, d->features),
        .output_names = copy_names(d->output_names, K),
        .column_names = copy_names(d->column_names, d->columns),
        .values = copy_rows(d->values, K * d->features, rows, count),
        .base_values = copy_rows(d->base_values, K, rows, count),
        .predictions = copy_rows(d->predictions, K, rows, count),
        .data = copy_rows(d->data, d->columns, rows, count),
        .explained = copy_rows(d->explained, 1, rows, count), .input_rank = d->input_rank};
    memcpy(s->input_shape, d->input_shape, sizeof s->input_shape);
    if (d->group_of_column && (s->group_of_column = gbx_malloc_array(d->columns, sizeof(size_t))))
        memcpy(s->group_of_column, d->group_of_column, d->columns * sizeof(size_t));
    if (!s->method || !s->model_type || !s->objective || !s->output_space || !s->model_sha256 ||
        !s->parameters || !s->seed || !s->version || !s->feature_names || !s->output_names ||
        !s->column_names || !s->values || !s->base_values || !s->predictions ||
        (d->data && !s->data) || (d->explained && !s->explained) ||
        (d->group_of_column && !s->group_of_column)) {
        gbx_explanation_document_free(s);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    *out = s;
    return GBX_OK;
}

/* A copy of every row. */
static gbx_status copy_document(const gbx_explanation_document *d, gbx_explanation_document **out,
                                gbx_error *error)
{
    size_t *all = gbx_malloc_array(d->rows ? d->rows : 1, sizeof(size_t));
    if (!all) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    for (size_t r = 0; r < d->rows; r++) all[r] = r;
    gbx_status status = gbx_explanation_document_subset(d, all, d->rows, out, error);
    free(all);
    return status;
}

gbx_status gbx_explanation_document_grouped(const gbx_explanation_document *d,
                                            const size_t *group_of_feature,
                                            const char *const *group_names, size_t groups,
                                            gbx_explanation_document **out, gbx_error *error)
{
    *out = NULL;
    for (size_t f = 0; f < d->features; f++)
        if (group_of_feature[f] >= groups)
            return gbx_fail(error, GBX_ERR_USAGE, "feature %zu has no group", f);
    gbx_explanation_document *g;
    gbx_status status = copy_document(d, &g, error);
    if (status != GBX_OK) return status;
    size_t K = d->outputs, M = d->features;
    double *values = gbx_calloc(d->rows * K * groups + 1, sizeof(double));
    char **names = copy_names((char *const *)group_names, groups);
    if (!values || !names) {
        free(values);
        free_names(names, groups);
        gbx_explanation_document_free(g);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    for (size_t rk = 0; rk < d->rows * K; rk++)
        for (size_t f = 0; f < M; f++) values[rk * groups + group_of_feature[f]] += d->values[rk * M + f];
    free(g->values);
    free_names(g->feature_names, g->features);
    g->values = values;
    g->feature_names = names;
    g->features = groups;
    *out = g;
    return GBX_OK;
}

gbx_status gbx_explanation_document_columns(const gbx_explanation_document *d,
                                            gbx_explanation_document **out, gbx_error *error)
{
    *out = NULL;
    if (!d->group_of_column || !d->data)
        return gbx_fail(error, GBX_ERR_USAGE, "the explanation is not grouped, or holds no data");
    gbx_explanation_document *e;
    gbx_status status = copy_document(d, &e, error);
    if (status != GBX_OK) return status;
    size_t K = d->outputs, M = d->features, J = d->columns;
    double *values = gbx_calloc(d->rows * K * J + 1, sizeof(double));
    size_t *members = gbx_calloc(M, sizeof(size_t)), *set = gbx_calloc(M, sizeof(size_t));
    size_t *set_column = gbx_malloc_array(M, sizeof(size_t));
    char **names = copy_names(d->column_names, J);
    if (!values || !members || !set || !set_column || !names) {
        free(values), free(members), free(set), free(set_column);
        free_names(names, J);
        gbx_explanation_document_free(e);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    for (size_t j = 0; j < J; j++) members[d->group_of_column[j]]++;
    for (size_t r = 0; r < d->rows; r++) {
        for (size_t g = 0; g < M; g++) set[g] = 0;
        for (size_t j = 0; j < J; j++)
            if (d->data[r * J + j] == 1.0) set[d->group_of_column[j]]++, set_column[d->group_of_column[j]] = j;
        for (size_t k = 0; k < K; k++)
            for (size_t j = 0; j < J; j++) {
                size_t g = d->group_of_column[j];
                double value = d->values[(r * K + k) * M + g];
                if (set[g] == 1) values[(r * K + k) * J + j] = set_column[g] == j ? value : 0;
                else values[(r * K + k) * J + j] = value / (double)members[g];
            }
    }
    free(members), free(set), free(set_column);
    free(e->values);
    free_names(e->feature_names, e->features);
    free(e->group_of_column);
    e->values = values;
    e->feature_names = names;
    e->features = J;
    e->group_of_column = NULL;
    *out = e;
    return GBX_OK;
}

gbx_status gbx_explanation_document_read(const char *path, gbx_explanation_document **out,
                                         gbx_error *error)
{
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
    json_tokener *tokener = json_tokener_new();
    json_object *root = tokener ? json_tokener_parse_ex(tokener, bytes, (int)length) : NULL;
    int parsed = tokener && json_tokener_get_error(tokener) == json_tokener_success;
    if (tokener) json_tokener_free(tokener);
    free(bytes);
    context c = {path, error};
    json_object *format = member(root, "format");
    if (!parsed || !root || !format ||
        strcmp(json_object_get_string(format), "glassbox.explanation/1") != 0) {
        json_object_put(root);
        return gbx_fail(error, GBX_ERR_PARSE, "%s: not a glassbox explanation file (JSON with "
                        "\"format\": \"glassbox.explanation/1\", as glassbox explain --output "
                        "F.json writes)", path);
    }
    gbx_explanation_document *d = calloc(1, sizeof *d);
    if (!d) {
        json_object_put(root);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    json_object *model = member(root, "model");
    d->method = string_of(root, "method");
    d->model_type = string_of(model, "type");
    d->objective = string_of(model, "objective");
    d->output_space = string_of(model, "output");
    d->model_sha256 = string_of(model, "sha256");
    d->version = string_of(root, "glassbox_version");
    json_object *parameters = member(root, "parameters"), *seed = member(root, "seed");
    d->parameters = gbx_strdup(parameters && json_object_is_type(parameters, json_type_object)
                                   ? json_object_to_json_string_ext(parameters, JSON_C_TO_STRING_SPACED)
                                   : "{}");
    d->seed = gbx_strdup(seed && json_object_is_type(seed, json_type_int) ? json_object_get_string(seed) : "");
    json_object *rows = member(root, "rows");
    d->rows = rows && json_object_is_type(rows, json_type_int) && json_object_get_int64(rows) > 0
                  ? (size_t)json_object_get_int64(rows) : 0;
    d->features = count_of(member(root, "feature_names"));
    d->outputs = count_of(member(root, "output_names"));
    json_object *columns = member(root, "data_columns");
    d->columns = columns ? count_of(columns) : d->features;
    if (!d->method || !d->model_type || !d->objective || !d->output_space || !d->model_sha256 ||
        !d->version || !d->parameters || !d->seed)
        status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    else if (!d->rows || !d->features || !d->outputs)
        status = gbx_fail(error, GBX_ERR_PARSE, "%s: the file explains no rows, features or "
                          "outputs", path);
    if (status == GBX_OK) status = names(&c, root, "feature_names", d->features, &d->feature_names);
    if (status == GBX_OK) status = names(&c, root, "output_names", d->outputs, &d->output_names);
    if (status == GBX_OK)
        status = names(&c, root, columns ? "data_columns" : "feature_names", d->columns,
                       &d->column_names);
    json_object *groups = member(root, "groups");
    if (status == GBX_OK && groups && columns) status = group_columns(&c, groups, d);
    size_t shape[3] = {d->rows, d->outputs, d->features};
    if (status == GBX_OK) status = numbers(&c, root, "values", 3, shape, &d->values);
    if (status == GBX_OK) status = numbers(&c, root, "base_values", 2, shape, &d->base_values);
    if (status == GBX_OK) status = numbers(&c, root, "predictions", 2, shape, &d->predictions);
    size_t data_shape[2] = {d->rows, d->columns};
    if (status == GBX_OK && member(root, "data"))
        status = numbers(&c, root, "data", 2, data_shape, &d->data);
    json_object *input_shape = member(root, "input_shape");
    size_t rank = count_of(input_shape), elements = 1;
    for (size_t i = 0; status == GBX_OK && i < rank && rank <= 8; i++) {
        json_object *dim = json_object_array_get_idx(input_shape, i);
        long long value = json_object_is_type(dim, json_type_int) ? json_object_get_int64(dim) : 0;
        if (value <= 0 || (size_t)value > d->features) {
            status = gbx_fail(error, GBX_ERR_PARSE, "%s: \"input_shape\"[%zu] is not a positive "
                              "size", path, i);
            break;
        }
        d->input_shape[i] = (size_t)value;
        elements *= (size_t)value;
        if (elements > d->features) break;
    }
    if (status == GBX_OK && rank && (rank > 8 || elements != d->features))
        status = gbx_fail(error, GBX_ERR_PARSE, "%s: \"input_shape\" does not hold the %zu "
                          "features", path, d->features);
    if (status == GBX_OK) d->input_rank = rank;
    if (status == GBX_OK && member(root, "explained_output"))
        status = numbers(&c, root, "explained_output", 1, shape, &d->explained);
    json_object_put(root);
    if (status != GBX_OK) {
        gbx_explanation_document_free(d);
        return status;
    }
    *out = d;
    return GBX_OK;
}


void gbx_explanation_document_free(gbx_explanation_document *d)
{
    if (!d) return;
    free(d->method);
    free(d->model_type);
    free(d->objective);
    free(d->output_space);
    free(d->model_sha256);
    free(d->parameters);
    free(d->seed);
    free(d->version);
    free_names(d->feature_names, d->features);
    free_names(d->output_names, d->outputs);
    free_names(d->column_names, d->columns);
    free(d->values);
    free(d->base_values);
    free(d->predictions);
    free(d->data);
    free(d->explained);
    free(d->group_of_column);
    free(d);
}
