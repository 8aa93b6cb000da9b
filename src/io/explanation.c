/* The explanation object: its arrays as a table, copies, subsets, groupings and accessors. */
#include "explanation.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY(key, field, shape, required, missing) \
    {key, offsetof(struct gbx_explanation, field), shape, required, missing}

const gbx_explanation_array gbx_explanation_arrays[] = {
    ARRAY("values", values, GBX_PER_ROW_OUTPUT_FEATURE, 1, 0),
    ARRAY("base_values", base_values, GBX_PER_ROW_OUTPUT, 1, 0),
    ARRAY("predictions", predictions, GBX_PER_ROW_OUTPUT, 1, 0),
    ARRAY("data", data, GBX_PER_ROW_COLUMN, 0, 1),
    ARRAY("interaction_values", interactions, GBX_PER_ROW_OUTPUT_FEATURE_FEATURE, 0, 0),
    ARRAY("standard_errors", standard_errors, GBX_PER_ROW_OUTPUT_FEATURE, 0, 1),
    ARRAY("local_predictions", local_predictions, GBX_PER_ROW_OUTPUT, 0, 1),
    ARRAY("r2", scores, GBX_PER_ROW_OUTPUT, 0, 1),
    ARRAY("convergence_delta", deltas, GBX_PER_ROW_OUTPUT, 0, 1),
    ARRAY("explained_output", classes, GBX_PER_ROW_ONE, 0, 0),
};
const size_t gbx_explanation_array_count =
    sizeof gbx_explanation_arrays / sizeof gbx_explanation_arrays[0];

double **gbx_explanation_array_of(gbx_explanation *e, const gbx_explanation_array *a)
{
    return (double **)((char *)e + a->offset);
}

static const double *array_of(const gbx_explanation *e, const gbx_explanation_array *a)
{
    return *(double *const *)((const char *)e + a->offset);
}

int gbx_explanation_array_dims(const gbx_explanation *e, const gbx_explanation_array *a,
                               size_t *dims)
{
    switch (a->shape) {
    case GBX_PER_ROW_OUTPUT_FEATURE: dims[0] = e->outputs, dims[1] = e->features; return 2;
    case GBX_PER_ROW_OUTPUT: dims[0] = e->outputs; return 1;
    case GBX_PER_ROW_COLUMN: dims[0] = e->columns; return 1;
    case GBX_PER_ROW_OUTPUT_FEATURE_FEATURE:
        dims[0] = e->outputs, dims[1] = e->features, dims[2] = e->features;
        return 3;
    case GBX_PER_ROW_ONE: break;
    }
    return 0;
}

size_t gbx_explanation_array_width(const gbx_explanation *e, const gbx_explanation_array *a)
{
    size_t dims[3], width = 1;
    int rank = gbx_explanation_array_dims(e, a, dims);
    for (int d = 0; d < rank; d++) width *= dims[d];
    return width;
}

void gbx_names_free(char **names, size_t count)
{
    for (size_t i = 0; names && i < count; i++) free(names[i]);
    free(names);
}

char **gbx_names_copy(const char *const *names, size_t count)
{
    char **copy = gbx_calloc(count ? count : 1, sizeof(char *));
    for (size_t i = 0; copy && i < count; i++)
        if (!(copy[i] = gbx_strdup(names && names[i] ? names[i] : ""))) {
            gbx_names_free(copy, i);
            return NULL;
        }
    return copy;
}

void gbx_explanation_free(gbx_explanation *e)
{
    if (!e) return;
    gbx_names_free(e->feature_names, e->features);
    gbx_names_free(e->output_names, e->outputs);
    gbx_names_free(e->column_names, e->columns);
    free(e->group_of_column);
    char *strings[] = {e->method, e->parameters, e->version, e->model_sha256, e->model_type,
                       e->objective, e->output_space, e->background_sha256, e->model_source,
                       e->model_version};
    for (size_t s = 0; s < sizeof strings / sizeof strings[0]; s++) free(strings[s]);
    for (size_t a = 0; a < gbx_explanation_array_count; a++)
        free(*gbx_explanation_array_of(e, &gbx_explanation_arrays[a]));
    free(e);
}

gbx_explanation *gbx_explanation_copy_header(const gbx_explanation *s)
{
    gbx_explanation *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    e->outputs = s->outputs, e->features = s->features, e->columns = s->columns;
    e->input_rank = s->input_rank;
    e->input_layout = s->input_layout;
    memcpy(e->input_shape, s->input_shape, sizeof e->input_shape);
    e->seed = s->seed;
    e->base_folded = s->base_folded;
    e->feature_names = gbx_names_copy((const char *const *)s->feature_names, s->features);
    e->output_names = gbx_names_copy((const char *const *)s->output_names, s->outputs);
    e->column_names = gbx_names_copy((const char *const *)s->column_names, s->columns);
    e->method = gbx_strdup(s->method ? s->method : "");
    e->parameters = gbx_strdup(s->parameters ? s->parameters : "{}");
    e->version = gbx_strdup(s->version ? s->version : "");
    e->model_sha256 = gbx_strdup(s->model_sha256 ? s->model_sha256 : "");
    e->model_type = gbx_strdup(s->model_type ? s->model_type : "");
    e->objective = gbx_strdup(s->objective ? s->objective : "");
    e->output_space = gbx_strdup(s->output_space ? s->output_space : "");
    e->background_sha256 = gbx_strdup(s->background_sha256 ? s->background_sha256 : "");
    e->model_source = gbx_strdup(s->model_source ? s->model_source : "");
    e->model_version = gbx_strdup(s->model_version ? s->model_version : "");
    int failed = !e->feature_names || !e->output_names || !e->column_names || !e->method ||
                 !e->parameters || !e->version || !e->model_sha256 || !e->model_type ||
                 !e->objective || !e->output_space || !e->background_sha256 ||
                 !e->model_source || !e->model_version;
    if (!failed && s->group_of_column) {
        e->group_of_column = gbx_malloc_array(s->columns ? s->columns : 1, sizeof(size_t));
        if (e->group_of_column) memcpy(e->group_of_column, s->group_of_column, s->columns * sizeof(size_t));
        else failed = 1;
    }
    if (failed) {
        gbx_explanation_free(e);
        return NULL;
    }
    return e;
}

gbx_status gbx_explanation_allocate(gbx_explanation *e, size_t rows, const gbx_explanation *source,
                                    gbx_error *error)
{
    e->rows = rows;
    for (size_t a = 0; a < gbx_explanation_array_count; a++) {
        const gbx_explanation_array *array = &gbx_explanation_arrays[a];
        if (source ? !array_of(source, array) : !array->required) continue;
        size_t width = gbx_explanation_array_width(e, array);
        if (width && rows > SIZE_MAX / sizeof(double) / width)
            return gbx_fail(error, GBX_ERR_NOMEM, "out of memory for %zu rows", rows);
        double **slot = gbx_explanation_array_of(e, array);
        if (!(*slot = gbx_malloc_array(rows && width ? rows * width : 1, sizeof(double))))
            return gbx_fail(error, GBX_ERR_NOMEM, "out of memory for %zu rows", rows);
    }
    return GBX_OK;
}

gbx_status gbx_explanation_subset(const gbx_explanation *d, const size_t *rows, size_t count,
                                  gbx_explanation **out, gbx_error *error)
{
    *out = NULL;
    for (size_t i = 0; i < count; i++)
        if (rows[i] >= d->rows)
            return gbx_fail(error, GBX_ERR_USAGE, "there is no row %zu", rows[i]);
    gbx_explanation *s = gbx_explanation_copy_header(d);
    if (!s) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    gbx_status status = gbx_explanation_allocate(s, count, d, error);
    for (size_t a = 0; status == GBX_OK && a < gbx_explanation_array_count; a++) {
        const gbx_explanation_array *array = &gbx_explanation_arrays[a];
        const double *from = array_of(d, array);
        double *to = *gbx_explanation_array_of(s, array);
        size_t width = gbx_explanation_array_width(d, array);
        for (size_t i = 0; from && i < count; i++)
            memcpy(to + i * width, from + rows[i] * width, width * sizeof(double));
    }
    if (status != GBX_OK) {
        gbx_explanation_free(s);
        return status;
    }
    *out = s;
    return GBX_OK;
}

gbx_status gbx_explanation_subset_all(const gbx_explanation *d, gbx_explanation **out, gbx_error *error)
{
    size_t *all = gbx_malloc_array(d->rows ? d->rows : 1, sizeof(size_t));
    if (!all) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    for (size_t r = 0; r < d->rows; r++) all[r] = r;
    gbx_status status = gbx_explanation_subset(d, all, d->rows, out, error);
    free(all);
    return status;
}

/* Per-feature arrays other than the values (interactions, standard errors) do not survive a
 * change of features: they are dropped. */
static void drop_feature_arrays(gbx_explanation *e)
{
    free(e->interactions);
    free(e->standard_errors);
    e->interactions = e->standard_errors = NULL;
}

gbx_status gbx_explanation_grouped(const gbx_explanation *d, const size_t *group_of_feature,
                                   const char *const *group_names, size_t groups,
                                   gbx_explanation **out, gbx_error *error)
{
    *out = NULL;
    for (size_t f = 0; f < d->features; f++)
        if (group_of_feature[f] >= groups)
            return gbx_fail(error, GBX_ERR_USAGE, "feature %zu has no group", f);
    gbx_explanation *g;
    gbx_status status = gbx_explanation_subset_all(d, &g, error);
    if (status != GBX_OK) return status;
    size_t K = d->outputs, M = d->features;
    double *values = gbx_calloc(d->rows * K * groups + 1, sizeof(double));
    char **names = gbx_names_copy(group_names, groups);
    if (!values || !names) {
        free(values);
        gbx_names_free(names, groups);
        gbx_explanation_free(g);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    for (size_t rk = 0; rk < d->rows * K; rk++)
        for (size_t f = 0; f < M; f++) values[rk * groups + group_of_feature[f]] += d->values[rk * M + f];
    drop_feature_arrays(g);
    free(g->values);
    gbx_names_free(g->feature_names, g->features);
    g->values = values;
    g->feature_names = names;
    g->features = groups;
    *out = g;
    return GBX_OK;
}

gbx_status gbx_explanation_spread_groups(const gbx_explanation *d, gbx_explanation **out,
                                   gbx_error *error)
{
    *out = NULL;
    if (!d->group_of_column || !d->data)
        return gbx_fail(error, GBX_ERR_USAGE, "the explanation is not grouped, or holds no data");
    gbx_explanation *e;
    gbx_status status = gbx_explanation_subset_all(d, &e, error);
    if (status != GBX_OK) return status;
    size_t K = d->outputs, M = d->features, J = d->columns;
    double *values = gbx_calloc(d->rows * K * J + 1, sizeof(double));
    size_t *members = gbx_calloc(M, sizeof(size_t)), *set = gbx_calloc(M, sizeof(size_t));
    size_t *set_column = gbx_malloc_array(M, sizeof(size_t));
    char **names = gbx_names_copy((const char *const *)d->column_names, J);
    if (!values || !members || !set || !set_column || !names) {
        free(values), free(members), free(set), free(set_column);
        gbx_names_free(names, J);
        gbx_explanation_free(e);
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
    drop_feature_arrays(e);
    free(e->values);
    gbx_names_free(e->feature_names, e->features);
    free(e->group_of_column);
    e->values = values;
    e->feature_names = names;
    e->features = J;
    e->group_of_column = NULL;
    *out = e;
    return GBX_OK;
}

int gbx_explanation_columns_differ(const gbx_explanation *e)
{
    if (e->group_of_column || e->columns != e->features) return 1;
    for (size_t j = 0; j < e->columns; j++)
        if (strcmp(e->column_names[j], e->feature_names[j]) != 0) return 1;
    return 0;
}

/* ---- the public accessors -------------------------------------------------------------- */

size_t gbx_explanation_rows(const gbx_explanation *e) { return e->rows; }
size_t gbx_explanation_outputs(const gbx_explanation *e) { return e->outputs; }
size_t gbx_explanation_features(const gbx_explanation *e) { return e->features; }
size_t gbx_explanation_columns(const gbx_explanation *e) { return e->columns; }
const double *gbx_explanation_values(const gbx_explanation *e) { return e->values; }
const double *gbx_explanation_base_values(const gbx_explanation *e) { return e->base_values; }
const double *gbx_explanation_predictions(const gbx_explanation *e) { return e->predictions; }
const double *gbx_explanation_interactions(const gbx_explanation *e) { return e->interactions; }
const double *gbx_explanation_local_predictions(const gbx_explanation *e)
{
    return e->local_predictions;
}
const double *gbx_explanation_scores(const gbx_explanation *e) { return e->scores; }
const double *gbx_explanation_convergence_deltas(const gbx_explanation *e) { return e->deltas; }
const double *gbx_explanation_classes(const gbx_explanation *e) { return e->classes; }
const double *gbx_explanation_standard_errors(const gbx_explanation *e)
{
    return e->standard_errors;
}
const double *gbx_explanation_data(const gbx_explanation *e) { return e->data; }

const char *gbx_explanation_feature_name(const gbx_explanation *e, size_t feature)
{
    return feature < e->features ? e->feature_names[feature] : NULL;
}
const char *gbx_explanation_output_name(const gbx_explanation *e, size_t output)
{
    return output < e->outputs ? e->output_names[output] : NULL;
}
const char *gbx_explanation_column_name(const gbx_explanation *e, size_t column)
{
    return column < e->columns ? e->column_names[column] : NULL;
}
int gbx_explanation_is_grouped(const gbx_explanation *e) { return e->group_of_column != NULL; }

long gbx_explanation_group_of_column(const gbx_explanation *e, size_t column)
{
    if (column >= e->columns) return -1;
    return e->group_of_column ? (long)e->group_of_column[column] : (long)column;
}
size_t gbx_explanation_input_shape(const gbx_explanation *e, const size_t **shape)
{
    if (shape) *shape = e->input_shape;
    return e->input_rank;
}

gbx_provenance gbx_explanation_provenance(const gbx_explanation *e)
{
    gbx_provenance p = {e->method, e->parameters, e->seed, e->version, e->model_sha256,
                        e->model_type, e->objective, e->output_space, e->background_sha256,
                        e->model_source, e->model_version};
    return p;
}

long gbx_explanation_output_index(const gbx_explanation *e, const char *name)
{
    for (size_t k = 0; name && k < e->outputs; k++)
        if (strcmp(e->output_names[k], name) == 0) return (long)k;
    return -1;
}
