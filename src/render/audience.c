/* What each audience may see of the sensitive features: the one place that decides it, for
 * every sink (plots, reasons, the report, the summary, the service).
 *
 *   applicant  sensitive features are absent: no name, no value, no total. Their values are
 *              folded into each row's base value (the row's starting point), so the rest still
 *              adds up to the prediction without their share ever standing apart.
 *   analyst    sensitive features are folded into one "Protected attributes" feature; their
 *              columns are renamed and their values hidden.
 *   auditor    everything, and sinks mark the sensitive features.
 *
 * A feature is sensitive when the metadata marks it, or marks any column in it: grouping a
 * sensitive column with others, renaming the group or marking the group not sensitive does
 * not unmask it. */
#include "audience.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PROTECTED "Protected attributes"

/* The explained feature data column j belongs to, or SIZE_MAX (a layer's elements). */
static size_t feature_of_column(const gbx_explanation *e, size_t j)
{
    if (e->group_of_column) return e->group_of_column[j];
    return e->columns == e->features && strcmp(e->column_names[j], e->feature_names[j]) == 0
               ? j : SIZE_MAX;
}

static int marked(const gbx_feature_metadata *metadata, const char *name)
{
    const gbx_feature_info *info = gbx_feature_metadata_find(metadata, name);
    return info && info->sensitive;
}

gbx_status gbx_audience_sensitive(const gbx_explanation *e, const gbx_feature_metadata *metadata,
                                  uint8_t **features, uint8_t **columns, gbx_error *error)
{
    *features = gbx_calloc(e->features ? e->features : 1, 1);
    *columns = gbx_calloc(e->columns ? e->columns : 1, 1);
    if (!*features || !*columns) {
        free(*features), free(*columns);
        *features = *columns = NULL;
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    for (size_t f = 0; f < e->features; f++) (*features)[f] = (uint8_t)marked(metadata, e->feature_names[f]);
    for (size_t j = 0; j < e->columns; j++) {
        size_t f = feature_of_column(e, j);
        if (marked(metadata, e->column_names[j]) && f != SIZE_MAX) (*features)[f] = 1;
    }
    for (size_t j = 0; j < e->columns; j++) {
        size_t f = feature_of_column(e, j);
        (*columns)[j] = (uint8_t)(marked(metadata, e->column_names[j]) || (f != SIZE_MAX && (*features)[f]));
    }
    return GBX_OK;
}

/* Keeps the features (and columns) whose keep flag is set, in order, and renumbers the
 * groups; values of the features left out are added to each row's base value. */
static gbx_status keep_only(gbx_explanation *v, const gbx_explanation *e, const uint8_t *keep_feature,
                            const uint8_t *keep_column, gbx_error *error)
{
    size_t K = e->outputs, M = e->features, J = e->columns, kept = 0, kept_columns = 0;
    size_t *index = gbx_malloc_array(M ? M : 1, sizeof(size_t));
    if (!index) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    for (size_t f = 0; f < M; f++) index[f] = keep_feature[f] ? kept++ : SIZE_MAX;
    for (size_t j = 0; j < J; j++) kept_columns += keep_column[j];
    double *values = gbx_malloc_array(e->rows * K * kept + 1, sizeof(double));
    double *errors = e->standard_errors ? gbx_malloc_array(e->rows * K * kept + 1, sizeof(double)) : NULL;
    double *data = e->data ? gbx_malloc_array(e->rows * kept_columns + 1, sizeof(double)) : NULL;
    char **features = gbx_calloc(kept + 1, sizeof(char *)), **columns = gbx_calloc(kept_columns + 1, sizeof(char *));
    size_t *groups = e->group_of_column ? gbx_malloc_array(kept_columns + 1, sizeof(size_t)) : NULL;
    int failed = !values || (e->standard_errors && !errors) || (e->data && !data) || !features ||
                 !columns || (e->group_of_column && !groups);
    for (size_t f = 0; !failed && f < M; f++)
        if (keep_feature[f]) failed = !(features[index[f]] = gbx_strdup(e->feature_names[f]));
    for (size_t j = 0, c = 0; !failed && j < J; j++) {
        if (!keep_column[j]) continue;
        failed = !(columns[c] = gbx_strdup(e->column_names[j]));
        if (groups) groups[c] = index[e->group_of_column[j]];
        c++;
    }
    for (size_t r = 0; !failed && r < e->rows; r++) {
        for (size_t k = 0; k < K; k++) {
            const double *from = e->values + (r * K + k) * M;
            for (size_t f = 0; f < M; f++) {
                if (keep_feature[f]) {
                    values[(r * K + k) * kept + index[f]] = from[f];
                    if (errors) errors[(r * K + k) * kept + index[f]] = e->standard_errors[(r * K + k) * M + f];
                } else {
                    v->base_values[r * K + k] += from[f];
                }
            }
        }
        for (size_t j = 0, c = 0; data && j < J; j++)
            if (keep_column[j]) data[r * kept_columns + c++] = e->data[r * J + j];
    }
    free(index);
    if (failed) {
        free(values), free(errors), free(data), free(groups);
        gbx_names_free(features, kept), gbx_names_free(columns, kept_columns);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    gbx_names_free(v->feature_names, v->features);
    gbx_names_free(v->column_names, v->columns);
    free(v->values), free(v->standard_errors), free(v->data), free(v->group_of_column);
    free(v->interactions);
    v->interactions = NULL;
    v->values = values, v->standard_errors = errors, v->data = data, v->group_of_column = groups;
    v->feature_names = features, v->column_names = columns;
    if (kept_columns != J) { /* the input's shape no longer holds */
        v->input_rank = 0;
        v->input_layout = GBX_LAYOUT_UNKNOWN;
    }
    v->features = kept, v->columns = kept_columns;
    return GBX_OK;
}

/* The analyst's view: the sensitive features become one, its columns renamed and hidden. */
static gbx_status fold(gbx_explanation *v, const gbx_explanation *e, const uint8_t *sensitive,
                       const uint8_t *sensitive_column, gbx_error *error)
{
    size_t M = e->features, groups = 0, protected_group = SIZE_MAX;
    size_t *group_of_feature = gbx_malloc_array(M ? M : 1, sizeof(size_t));
    const char **names = gbx_calloc(M ? M : 1, sizeof(char *));
    if (!group_of_feature || !names) {
        free(group_of_feature), free(names);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    for (size_t f = 0; f < M; f++) {
        if (sensitive[f] && protected_group != SIZE_MAX) {
            group_of_feature[f] = protected_group;
            continue;
        }
        if (sensitive[f]) protected_group = groups;
        names[groups] = sensitive[f] ? PROTECTED : e->feature_names[f];
        group_of_feature[f] = groups++;
    }
    gbx_explanation *folded;
    gbx_status status = gbx_explanation_grouped(e, group_of_feature, names, groups, &folded, error);
    /* The columns keep their features' new numbers; the sensitive ones lose their names and
     * values. */
    if (status == GBX_OK && !folded->group_of_column &&
        !(folded->group_of_column = gbx_malloc_array(e->columns ? e->columns : 1, sizeof(size_t))))
        status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    for (size_t j = 0, hidden = 0; status == GBX_OK && j < e->columns; j++) {
        size_t f = feature_of_column(e, j);
        folded->group_of_column[j] = f == SIZE_MAX ? SIZE_MAX : group_of_feature[f];
        if (!sensitive_column[j]) continue;
        char name[64];
        snprintf(name, sizeof name, "protected attribute %zu", ++hidden);
        free(folded->column_names[j]);
        if (!(folded->column_names[j] = gbx_strdup(name)))
            status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
        for (size_t r = 0; folded->data && r < e->rows; r++) folded->data[r * e->columns + j] = NAN;
    }
    /* A layer's elements have no columns of their own: no groups then. */
    for (size_t j = 0; status == GBX_OK && j < e->columns; j++)
        if (folded->group_of_column[j] == SIZE_MAX) {
            free(folded->group_of_column);
            folded->group_of_column = NULL;
            break;
        }
    free(group_of_feature), free(names);
    if (status != GBX_OK) {
        gbx_explanation_free(folded);
        return status;
    }
    /* The view takes the folded explanation's insides. */
    gbx_explanation swap = *v;
    *v = *folded;
    *folded = swap;
    gbx_explanation_free(folded);
    return GBX_OK;
}

gbx_status gbx_explanation_for_audience(const gbx_explanation *explanation,
                                        const gbx_feature_metadata *metadata,
                                        gbx_audience audience, gbx_explanation **out,
                                        gbx_error *error)
{
    if (!explanation || !out)
        return gbx_fail(error, GBX_ERR_USAGE, "gbx_explanation_for_audience: NULL argument");
    if ((unsigned)audience > GBX_AUDIENCE_AUDITOR)
        return gbx_fail(error, GBX_ERR_USAGE, "options.audience: no audience %d", (int)audience);
    *out = NULL;
    gbx_explanation *v;
    gbx_status status = gbx_explanation_subset_all(explanation, &v, error);
    if (status != GBX_OK) return status;
    uint8_t *sensitive = NULL, *sensitive_column = NULL;
    status = gbx_audience_sensitive(explanation, metadata, &sensitive, &sensitive_column, error);
    size_t any = 0;
    for (size_t f = 0; status == GBX_OK && f < explanation->features; f++) any += sensitive[f];
    if (status == GBX_OK && any && audience == GBX_AUDIENCE_APPLICANT) {
        for (size_t f = 0; f < explanation->features; f++) sensitive[f] = !sensitive[f];
        for (size_t j = 0; j < explanation->columns; j++) sensitive_column[j] = !sensitive_column[j];
        status = keep_only(v, explanation, sensitive, sensitive_column, error);
        v->base_folded = 1;
    } else if (status == GBX_OK && any && audience == GBX_AUDIENCE_ANALYST) {
        status = fold(v, explanation, sensitive, sensitive_column, error);
    }
    free(sensitive), free(sensitive_column);
    if (status != GBX_OK) {
        gbx_explanation_free(v);
        return status;
    }
    *out = v;
    return GBX_OK;
}

int gbx_explanation_sensitive(const gbx_explanation *explanation,
                              const gbx_feature_metadata *metadata, size_t feature)
{
    uint8_t *features = NULL, *columns = NULL;
    int sensitive = feature < explanation->features &&
                    gbx_audience_sensitive(explanation, metadata, &features, &columns, NULL) == GBX_OK &&
                    features[feature];
    free(features), free(columns);
    return sensitive;
}

static const char *const audience_names[] = {
    [GBX_AUDIENCE_APPLICANT] = "applicant", [GBX_AUDIENCE_ANALYST] = "analyst",
    [GBX_AUDIENCE_AUDITOR] = "auditor"};

gbx_status gbx_audience_parse(const char *name, gbx_audience *out)
{
    for (size_t a = 0; name && a < sizeof audience_names / sizeof audience_names[0]; a++)
        if (strcmp(name, audience_names[a]) == 0) {
            *out = (gbx_audience)a;
            return GBX_OK;
        }
    return GBX_ERR_USAGE;
}

const char *gbx_audience_name(gbx_audience audience)
{
    return (unsigned)audience <= GBX_AUDIENCE_AUDITOR ? audience_names[audience] : "?";
}
