/* Feature groups files (--groups): {"groups": {"NAME": ["column", ...], ...}}. Columns not
 * named stay features of their own; the explained features keep the columns' order, a group
 * standing where its first column stands. */
#include "../core/core.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

struct gbx_groups {
    size_t columns;      /* the columns grouped */
    size_t count;        /* features explained */
    size_t *of_feature;  /* [columns] */
    char **names;        /* [count] */
};

void gbx_groups_free(gbx_groups *groups)
{
    if (!groups) return;
    for (size_t g = 0; groups->names && g < groups->count; g++) free(groups->names[g]);
    free(groups->names);
    free(groups->of_feature);
    free(groups);
}

void gbx_groups_apply(const gbx_groups *groups, gbx_explainer_options *options)
{
    options->group_count = groups->count;
    options->group_of_feature = groups->of_feature;
    options->group_names = (const char *const *)groups->names;
}

size_t gbx_groups_count(const gbx_groups *groups) { return groups->count; }
size_t gbx_groups_columns(const gbx_groups *groups) { return groups->columns; }
size_t gbx_groups_group_of(const gbx_groups *groups, size_t column)
{
    return column < groups->columns ? groups->of_feature[column] : SIZE_MAX;
}
const char *gbx_groups_name(const gbx_groups *groups, size_t group)
{
    return group < groups->count ? groups->names[group] : NULL;
}
const size_t *gbx_groups_of_feature(const gbx_groups *groups) { return groups->of_feature; }
const char *const *gbx_groups_names(const gbx_groups *groups)
{
    return (const char *const *)groups->names;
}

gbx_status gbx_groups_create(size_t columns, const size_t *group_of_column,
                             const char *const *group_names, size_t count, gbx_groups **out,
                             gbx_error *error)
{
    if (!group_of_column || !group_names || !out)
        return gbx_fail(error, GBX_ERR_USAGE, "gbx_groups_create: NULL argument");
    *out = NULL;
    uint8_t *used = gbx_calloc(count ? count : 1, 1);
    if (!used) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    gbx_status status = GBX_OK;
    for (size_t j = 0; j < columns && status == GBX_OK; j++)
        if (group_of_column[j] >= count)
            status = gbx_fail(error, GBX_ERR_USAGE, "column %zu is in group %zu of %zu", j,
                              group_of_column[j], count);
        else
            used[group_of_column[j]] = 1;
    for (size_t g = 0; g < count && status == GBX_OK; g++)
        if (!used[g] || !group_names[g])
            status = gbx_fail(error, GBX_ERR_USAGE, "group %zu %s", g,
                              used[g] ? "has no name" : "has no column");
    free(used);
    if (status != GBX_OK) return status;
    gbx_groups *groups = calloc(1, sizeof *groups);
    if (groups) {
        groups->columns = columns;
        groups->count = count;
        groups->of_feature = gbx_malloc_array(columns ? columns : 1, sizeof(size_t));
        groups->names = gbx_calloc(count ? count : 1, sizeof(char *));
    }
    int failed = !groups || !groups->of_feature || !groups->names;
    for (size_t g = 0; !failed && g < count; g++) failed = !(groups->names[g] = gbx_strdup(group_names[g]));
    if (failed) {
        gbx_groups_free(groups);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    if (columns) memcpy(groups->of_feature, group_of_column, columns * sizeof(size_t));
    *out = groups;
    return GBX_OK;
}

/* Index of the column called name, or M. */
static size_t find_column(const char *const *names, size_t M, const char *name)
{
    for (size_t j = 0; j < M; j++)
        if (names[j] && strcmp(names[j], name) == 0) return j;
    return M;
}

static gbx_status parse(const char *path, json_object *root, size_t M, const char *const *names,
                        gbx_groups *groups, gbx_error *error)
{
    json_object *map = root;
    if (json_object_is_type(root, json_type_object) &&
        json_object_object_get_ex(root, "groups", &map) == 0)
        map = root; /* a bare {"NAME": [...]} object is accepted too */
    if (!json_object_is_type(map, json_type_object))
        return gbx_fail(error, GBX_ERR_PARSE, "%s: expected {\"groups\": {\"NAME\": [\"column\", "
                        "...], ...}}", path);
    /* group[j]: index of the named group column j belongs to, or -1 */
    long *group = malloc((M ? M : 1) * sizeof(long));
    size_t named = (size_t)json_object_object_length(map);
    char **group_names = calloc(named ? named : 1, sizeof(char *));
    if (!group || !group_names) {
        free(group);
        free(group_names);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    for (size_t j = 0; j < M; j++) group[j] = -1;
    gbx_status status = GBX_OK;
    size_t index = 0;
    json_object_object_foreach(map, key, members) {
        if (status != GBX_OK) break;
        group_names[index] = (char *)key;
        size_t n = json_object_is_type(members, json_type_array) ? json_object_array_length(members) : 0;
        if (n == 0) {
            status = gbx_fail(error, GBX_ERR_PARSE, "%s: group \"%s\" must be a non-empty list of "
                              "column names", path, key);
            break;
        }
        for (size_t i = 0; i < n && status == GBX_OK; i++) {
            json_object *member = json_object_array_get_idx(members, i);
            const char *column = json_object_get_string(member);
            size_t j = json_object_is_type(member, json_type_string) ? find_column(names, M, column)
                                                                    : M;
            if (!json_object_is_type(member, json_type_string))
                status = gbx_fail(error, GBX_ERR_PARSE, "%s: group \"%s\", entry %zu is not a "
                                  "column name", path, key, i + 1);
            else if (j == M)
                status = gbx_fail(error, GBX_ERR_MISMATCH, "%s: group \"%s\" names column \"%s\", "
                                  "which the model does not have", path, key, column);
            else if (group[j] >= 0)
                status = gbx_fail(error, GBX_ERR_PARSE, "%s: column \"%s\" is in groups \"%s\" "
                                  "and \"%s\"", path, column, group_names[group[j]], key);
            else
                group[j] = (long)index;
        }
        /* A group may take a column's name only if it holds that column. */
        size_t same = find_column(names, M, key);
        if (status == GBX_OK && same < M && group[same] != (long)index)
            status = gbx_fail(error, GBX_ERR_PARSE, "%s: group \"%s\" has the name of a column "
                              "outside it", path, key);
        index++;
    }
    /* Number the explained features in column order. */
    long *feature_of_group = malloc((named ? named : 1) * sizeof(long));
    groups->of_feature = malloc((M ? M : 1) * sizeof(size_t));
    groups->names = calloc(M ? M : 1, sizeof(char *));
    if (status == GBX_OK && (!feature_of_group || !groups->of_feature || !groups->names))
        status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    for (size_t g = 0; status == GBX_OK && g < named; g++) feature_of_group[g] = -1;
    for (size_t j = 0; status == GBX_OK && j < M; j++) {
        long g = group[j];
        if (g >= 0 && feature_of_group[g] >= 0) {
            groups->of_feature[j] = (size_t)feature_of_group[g];
            continue;
        }
        size_t feature = groups->count++;
        if (g >= 0) feature_of_group[g] = (long)feature;
        groups->of_feature[j] = feature;
        if (!(groups->names[feature] = gbx_strdup(g >= 0 ? group_names[g] : names[j])))
            status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    free(feature_of_group);
    free(group_names);
    free(group);
    return status;
}

gbx_status gbx_groups_read(const char *path, size_t features, const char *const *feature_names,
                           gbx_groups **out, gbx_error *error)
{
    for (size_t j = 0; j < features; j++)
        if (!feature_names[j])
            return gbx_fail(error, GBX_ERR_USAGE, "%s: feature groups need named columns", path);
    char *text;
    size_t length;
    gbx_status status = gbx_read_file(path, &text, &length, error);
    if (status != GBX_OK) return status;
    json_tokener *tokener = json_tokener_new();
    json_object *root = tokener ? json_tokener_parse_ex(tokener, text, (int)length) : NULL;
    if (!root || json_tokener_get_error(tokener) != json_tokener_success) {
        enum json_tokener_error why = tokener ? json_tokener_get_error(tokener) : json_tokener_success;
        status = gbx_fail(error, GBX_ERR_PARSE, "%s: not valid JSON (%s at byte %zu)", path,
                          !tokener ? "out of memory"
                          : why == json_tokener_continue ? "the text ends early"
                                                         : json_tokener_error_desc(why),
                          tokener ? json_tokener_get_parse_end(tokener) : 0);
    }
    gbx_groups *groups = status == GBX_OK ? calloc(1, sizeof *groups) : NULL;
    if (status == GBX_OK && !groups) status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    if (status == GBX_OK) status = parse(path, root, features, feature_names, groups, error);
    if (groups) groups->columns = features;
    json_object_put(root);
    if (tokener) json_tokener_free(tokener);
    free(text);
    if (status != GBX_OK) {
        gbx_groups_free(groups);
        return status;
    }
    *out = groups;
    return GBX_OK;
}

gbx_status gbx_groups_read_for(const char *path, const gbx_explanation *explanation,
                               gbx_groups **out, gbx_error *error)
{
    if (!path || !explanation || !out)
        return gbx_fail(error, GBX_ERR_USAGE, "gbx_groups_read_for: NULL argument");
    if (gbx_explanation_is_grouped(explanation))
        return gbx_fail(error, GBX_ERR_USAGE, "%s: the explanation is already by groups; "
                        "options.groups is for an explanation per column", path);
    size_t M = gbx_explanation_features(explanation);
    const char **names = gbx_malloc_array(M ? M : 1, sizeof(char *));
    if (!names) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    for (size_t f = 0; f < M; f++) names[f] = gbx_explanation_feature_name(explanation, f);
    gbx_status status = gbx_groups_read(path, M, names, out, error);
    free(names);
    return status;
}
