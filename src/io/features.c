/* Feature metadata read with json-c. The number format is checked to be a single numeric
 * conversion before it is ever handed to printf, so a metadata file cannot make glassbox read
 * arguments that are not there. */
#include "features.h"

#include <ctype.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One %[flags][width][.precision]{f,e,g,F,E,G} and nothing else but text ("%%" allowed). */
static int valid_format(const char *format)
{
    int conversions = 0;
    for (const char *p = format; *p; p++) {
        if (*p != '%') continue;
        if (p[1] == '%') {
            p++;
            continue;
        }
        p++;
        while (*p && strchr("-+ #0", *p)) p++;
        for (int digits = 0; isdigit((unsigned char)*p); p++)
            if (++digits > 2) return 0;
        if (*p == '.') {
            p++;
            for (int digits = 0; isdigit((unsigned char)*p); p++)
                if (++digits > 2) return 0;
        }
        if (!*p || !strchr("feEgGF", *p)) return 0;
        conversions++;
    }
    return conversions == 1;
}

void gbx_feature_metadata_free(gbx_feature_metadata *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->count; i++) {
        gbx_feature_info *f = &m->items[i];
        free(f->column);
        free(f->display);
        free(f->unit);
        free(f->description);
        free(f->format);
        free(f->group);
        free(f->raises);
        free(f->lowers);
    }
    free(m->items);
    free(m);
}

/* The string member `key`, copied; NULL when absent; an error when not a string. */
static gbx_status text(const char *path, const char *column, json_object *entry, const char *key,
                       char **out, gbx_error *error)
{
    json_object *v = NULL;
    *out = NULL;
    if (!json_object_object_get_ex(entry, key, &v) || json_object_is_type(v, json_type_null))
        return GBX_OK;
    if (!json_object_is_type(v, json_type_string))
        return gbx_fail(error, GBX_ERR_PARSE, "%s: \"%s\": \"%s\" must be a string", path, column,
                        key);
    return (*out = gbx_strdup(json_object_get_string(v))) ? GBX_OK
                                                         : gbx_fail(error, GBX_ERR_NOMEM,
                                                                    "out of memory");
}

gbx_status gbx_feature_metadata_read(const char *path, gbx_feature_metadata **out,
                                     gbx_error *error)
{
    *out = NULL;
    char *bytes;
    size_t length;
    gbx_status status = gbx_read_file(path, &bytes, &length, error);
    if (status != GBX_OK) return status;
    json_object *root = json_tokener_parse(bytes);
    free(bytes);
    json_object *features = NULL;
    if (!root || !json_object_object_get_ex(root, "features", &features) ||
        !json_object_is_type(features, json_type_object)) {
        json_object_put(root);
        return gbx_fail(error, GBX_ERR_PARSE, "%s: feature metadata must be a JSON object with "
                        "\"features\": {\"COLUMN\": {\"display\": ..., ...}}", path);
    }
    gbx_feature_metadata *m = calloc(1, sizeof *m);
    size_t count = (size_t)json_object_object_length(features);
    if (!m || !(m->items = gbx_calloc(count ? count : 1, sizeof(gbx_feature_info)))) {
        free(m);
        json_object_put(root);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    json_object_object_foreach(features, column, entry) {
        if (status != GBX_OK) break;
        gbx_feature_info *f = &m->items[m->count++];
        if (!(f->column = gbx_strdup(column))) {
            status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
            break;
        }
        if (!json_object_is_type(entry, json_type_object)) {
            status = gbx_fail(error, GBX_ERR_PARSE, "%s: \"%s\" must be an object", path, column);
            break;
        }
        const char *keys[] = {"display", "unit", "description", "format", "group", "raises",
                              "lowers"};
        char **fields[] = {&f->display, &f->unit, &f->description, &f->format, &f->group,
                           &f->raises, &f->lowers};
        for (int k = 0; k < 7 && status == GBX_OK; k++)
            status = text(path, column, entry, keys[k], fields[k], error);
        if (status == GBX_OK && f->format && !valid_format(f->format))
            status = gbx_fail(error, GBX_ERR_PARSE, "%s: \"%s\": format \"%s\" must hold one "
                              "number conversion such as %%.0f, %%.2f or %%g", path, column,
                              f->format);
        json_object *v = NULL;
        if (status == GBX_OK && json_object_object_get_ex(entry, "sensitive", &v)) {
            if (!json_object_is_type(v, json_type_boolean))
                status = gbx_fail(error, GBX_ERR_PARSE, "%s: \"%s\": \"sensitive\" must be true "
                                  "or false", path, column);
            else
                f->sensitive = json_object_get_boolean(v);
        }
        if (status == GBX_OK && json_object_object_get_ex(entry, "step", &v)) {
            f->step = json_object_get_double(v);
            if ((!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int)) ||
                !isfinite(f->step) || f->step == 0)
                status = gbx_fail(error, GBX_ERR_PARSE, "%s: \"%s\": \"step\" must be a non-zero "
                                  "number", path, column);
        }
    }
    json_object_put(root);
    if (status != GBX_OK) {
        gbx_feature_metadata_free(m);
        return status;
    }
    *out = m;
    return GBX_OK;
}

const gbx_feature_info *gbx_feature_metadata_find(const gbx_feature_metadata *m,
                                                  const char *column)
{
    for (size_t i = 0; m && column && i < m->count; i++)
        if (strcmp(m->items[i].column, column) == 0) return &m->items[i];
    return NULL;
}

const char *gbx_feature_display(const gbx_feature_info *info, const char *column)
{
    return info && info->display ? info->display : column;
}

void gbx_feature_format(const gbx_feature_info *info, double value, char *out, size_t size)
{
    if (isnan(value)) {
        snprintf(out, size, "missing");
        return;
    }
    char number[64];
    if (info && info->format) {
        /* Checked at load: one numeric conversion. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        snprintf(number, sizeof number, info->format, value);
#pragma GCC diagnostic pop
    } else {
        snprintf(number, sizeof number, "%.4g", value == 0 ? 0.0 : value);
    }
    if (info && info->unit && *info->unit) snprintf(out, size, "%s %s", number, info->unit);
    else snprintf(out, size, "%s", number);
}
