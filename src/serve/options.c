/* Explainer options a model's config sets and, where its "overrides" list allows, a request
 * may change: rows of one table (name, kind, where the value goes), applied from JSON. */
#include "service.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

typedef enum { COUNT, SEED, REAL, SPACE } option_kind;

typedef struct {
    const char *name;
    option_kind kind;
    size_t offset; /* in gbx_explainer_options */
} option_row;

static const option_row option_rows[] = {
    {"max_evals", COUNT, offsetof(gbx_explainer_options, max_evals)},
    {"seed", SEED, offsetof(gbx_explainer_options, seed)},
    {"tolerance", REAL, offsetof(gbx_explainer_options, tolerance)},
    {"sample_background", COUNT, offsetof(gbx_explainer_options, sample_background)},
    {"steps", COUNT, offsetof(gbx_explainer_options, steps)},
    {"samples", COUNT, offsetof(gbx_explainer_options, samples)},
    {"lime_features", COUNT, offsetof(gbx_explainer_options, lime_features)},
    {"output_space", SPACE, offsetof(gbx_explainer_options, output_space)},
};

static const option_row *find_option(const char *name)
{
    for (size_t i = 0; i < sizeof option_rows / sizeof option_rows[0]; i++)
        if (strcmp(option_rows[i].name, name) == 0) return &option_rows[i];
    return NULL;
}

int service_option_known(const char *name) { return find_option(name) != NULL; }

static gbx_status set_option(const option_row *row, json_object *value,
                             gbx_explainer_options *options, gbx_error *error)
{
    char *at = (char *)options + row->offset;
    int number = json_object_is_type(value, json_type_int) || json_object_is_type(value, json_type_double);
    double real = number ? json_object_get_double(value) : NAN;
    switch (row->kind) {
    case COUNT:
        if (!json_object_is_type(value, json_type_int) || real < 1 || real > 1e8) break;
        *(size_t *)at = (size_t)json_object_get_int64(value);
        return GBX_OK;
    case SEED:
        if (!json_object_is_type(value, json_type_int) || real < 0) break;
        *(uint64_t *)at = (uint64_t)json_object_get_int64(value);
        return GBX_OK;
    case REAL:
        if (!number || !isfinite(real) || real < 0) break;
        *(double *)at = real;
        return GBX_OK;
    case SPACE: {
        const char *text = json_object_is_type(value, json_type_string) ? json_object_get_string(value) : "";
        if (strcmp(text, "raw") == 0) *(gbx_output_space *)at = GBX_SPACE_RAW;
        else if (strcmp(text, "probability") == 0) *(gbx_output_space *)at = GBX_SPACE_PROBABILITY;
        else break;
        return GBX_OK;
    }
    }
    return service_fail(error, GBX_ERR_PARSE, "option %s: %s", row->name,
                        row->kind == SPACE ? "\"raw\" or \"probability\""
                        : row->kind == REAL ? "a number, 0 or more"
                        : row->kind == SEED ? "an integer, 0 or more" : "an integer, 1 to 10^8");
}

gbx_status service_options_apply(json_object *given, char *const *allowed, size_t allowed_count,
                                 gbx_explainer_options *options, gbx_error *error)
{
    if (!given) return GBX_OK;
    if (!json_object_is_type(given, json_type_object))
        return service_fail(error, GBX_ERR_PARSE, "\"options\" must be an object");
    json_object_object_foreach(given, key, value) {
        const option_row *row = find_option(key);
        int permitted = allowed == NULL;
        for (size_t i = 0; !permitted && i < allowed_count; i++) permitted = strcmp(allowed[i], key) == 0;
        if (!row) return service_fail(error, GBX_ERR_PARSE, "unknown option \"%s\"", key);
        if (!permitted)
            return service_fail(error, GBX_ERR_USAGE, "option \"%s\" may not be set per request "
                                "(the model's config lists what may: \"overrides\")", key);
        gbx_status status = set_option(row, value, options, error);
        if (status != GBX_OK) return status;
    }
    return GBX_OK;
}
