/* The service's config: JSON, checked whole before anything is served.
 *   {"listen": "127.0.0.1:8080",
 *    "models": [{"name": "credit", "path": "model.json", "method": "tree",
 *                "background": "bg.csv", "features": "features.json", "threshold": 0.5,
 *                "deadline_seconds": 30, "options": {"seed": 7}, "overrides": ["seed"]}],
 *    "audit": {"sqlite": "audit.db", "inputs": true},   (or {"postgresql": "postgresql://..."})
 *    "tokens": [{"sha256": "HEX", "name": "alice", "role": "analyst"}],
 *    "limits": {"body_bytes": 1048576, "connections": 256, "jobs": 64,
 *               "keep_results_seconds": 3600},
 *    "cache": {"bytes": 67108864}, "keep_versions": 3}
 * Relative paths are read from the config's directory. */
#include "service.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

gbx_status service_fail(gbx_error *error, gbx_status status, const char *format, ...)
{
    if (error) {
        va_list args;
        va_start(args, format);
        vsnprintf(error->message, sizeof error->message, format, args);
        va_end(args);
        error->status = status;
    }
    return status;
}

static json_object *member(json_object *o, const char *key)
{
    json_object *v = NULL;
    return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

/* A string member (NULL when absent); a member of another type is an error. */
static gbx_status string_member(json_object *o, const char *key, const char *where, char **out,
                                gbx_error *error)
{
    json_object *v = member(o, key);
    *out = NULL;
    if (!v) return GBX_OK;
    if (!json_object_is_type(v, json_type_string))
        return service_fail(error, GBX_ERR_PARSE, "%s: \"%s\" must be a string", where, key);
    return (*out = strdup(json_object_get_string(v))) ? GBX_OK
                                                       : service_fail(error, GBX_ERR_NOMEM, "out of memory");
}

/* A path relative to the config's directory. */
static gbx_status resolve_path(const char *config_path, char **path, gbx_error *error)
{
    if (!*path || (*path)[0] == '/' || strstr(*path, "://") || strncmp(*path, "cmd:", 4) == 0 ||
        strncmp(*path, "plugin:", 7) == 0)
        return GBX_OK;
    const char *slash = strrchr(config_path, '/');
    if (!slash) return GBX_OK;
    size_t base = (size_t)(slash - config_path) + 1, length = base + strlen(*path) + 1;
    char *joined = malloc(length);
    if (!joined) return service_fail(error, GBX_ERR_NOMEM, "out of memory");
    memcpy(joined, config_path, base);
    strcpy(joined + base, *path);
    free(*path);
    *path = joined;
    return GBX_OK;
}

static gbx_status read_listen(json_object *root, service_config *c, gbx_error *error)
{
    json_object *listen = member(root, "listen");
    const char *text = listen ? json_object_get_string(listen) : "127.0.0.1:8080";
    const char *colon = text ? strrchr(text, ':') : NULL;
    char *end = NULL;
    long port = colon ? strtol(colon + 1, &end, 10) : -1;
    if (!colon || colon == text || !end || *end || port < 0 || port > 65535)
        return service_fail(error, GBX_ERR_PARSE, "config: \"listen\" must be HOST:PORT, not \"%s\"",
                        text ? text : "");
    c->port = (unsigned short)port;
    c->host = strndup(text, (size_t)(colon - text));
    return c->host ? GBX_OK : service_fail(error, GBX_ERR_NOMEM, "out of memory");
}

static gbx_status read_model(const char *config_path, json_object *o, size_t index,
                             service_model_config *m, gbx_error *error)
{
    char where[64];
    snprintf(where, sizeof where, "config: models[%zu]", index);
    if (!json_object_is_type(o, json_type_object))
        return service_fail(error, GBX_ERR_PARSE, "%s must be an object", where);
    gbx_status status = string_member(o, "name", where, &m->name, error);
    if (status == GBX_OK) status = string_member(o, "path", where, &m->path, error);
    if (status == GBX_OK) status = string_member(o, "method", where, &m->method, error);
    if (status == GBX_OK) status = string_member(o, "background", where, &m->background, error);
    if (status == GBX_OK) status = string_member(o, "features", where, &m->features, error);
    if (status != GBX_OK) return status;
    if (!m->name || !m->path)
        return service_fail(error, GBX_ERR_PARSE, "%s needs a \"name\" and a \"path\"", where);
    for (const char *p = m->name; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' && *p != '.')
            return service_fail(error, GBX_ERR_PARSE, "%s: name \"%s\" may hold letters, digits, "
                            "'_', '-' and '.' only", where, m->name);
    json_object *deadline = member(o, "deadline_seconds");
    m->deadline = deadline ? json_object_get_double(deadline) : 30.0;
    if (!(m->deadline > 0 && m->deadline <= 86400))
        return service_fail(error, GBX_ERR_PARSE, "%s: \"deadline_seconds\" must be above 0 and "
                            "at most a day", where);
    json_object *options = member(o, "options"), *overrides = member(o, "overrides");
    if (options && !json_object_is_type(options, json_type_object))
        return service_fail(error, GBX_ERR_PARSE, "%s: \"options\" must be an object", where);
    if (options && !(m->options = strdup(json_object_to_json_string_ext(options, JSON_C_TO_STRING_PLAIN))))
        return service_fail(error, GBX_ERR_NOMEM, "out of memory");
    size_t allowed = overrides && json_object_is_type(overrides, json_type_array)
                         ? json_object_array_length(overrides) : 0;
    if (overrides && !json_object_is_type(overrides, json_type_array))
        return service_fail(error, GBX_ERR_PARSE, "%s: \"overrides\" must list option names", where);
    if (allowed && !(m->overrides = calloc(allowed, sizeof *m->overrides)))
        return service_fail(error, GBX_ERR_NOMEM, "out of memory");
    for (size_t a = 0; a < allowed; a++) {
        const char *name = json_object_get_string(json_object_array_get_idx(overrides, a));
        if (!name || !service_option_known(name))
            return service_fail(error, GBX_ERR_PARSE, "%s: overrides: \"%s\" is not an option "
                                "(max_evals, seed, tolerance, sample_background, steps, samples, "
                                "lime_features, output_space)", where, name ? name : "");
        if (!(m->overrides[a] = strdup(name))) return service_fail(error, GBX_ERR_NOMEM, "out of memory");
        m->override_count = a + 1;
    }
    json_object *threshold = member(o, "threshold");
    m->threshold = threshold ? json_object_get_double(threshold) : NAN;
    if (threshold && !json_object_is_type(threshold, json_type_double) &&
        !json_object_is_type(threshold, json_type_int))
        return service_fail(error, GBX_ERR_PARSE, "%s: \"threshold\" must be a number", where);
    gbx_method method;
    if (m->method && gbx_method_parse(m->method, &method) != GBX_OK)
        return service_fail(error, GBX_ERR_PARSE, "%s: unknown method \"%s\"", where, m->method);
    status = resolve_path(config_path, &m->path, error);
    if (status == GBX_OK) status = resolve_path(config_path, &m->background, error);
    if (status == GBX_OK) status = resolve_path(config_path, &m->features, error);
    return status;
}

static gbx_status read_models(const char *path, json_object *root, service_config *c,
                              gbx_error *error)
{
    json_object *models = member(root, "models");
    size_t count = models && json_object_is_type(models, json_type_array)
                       ? json_object_array_length(models) : 0;
    if (!count) return service_fail(error, GBX_ERR_PARSE, "config: \"models\" must list one model or more");
    if (!(c->models = calloc(count, sizeof *c->models)))
        return service_fail(error, GBX_ERR_NOMEM, "out of memory");
    c->model_count = count;
    for (size_t i = 0; i < count; i++) {
        gbx_status status = read_model(path, json_object_array_get_idx(models, i), i,
                                       &c->models[i], error);
        if (status != GBX_OK) return status;
        for (size_t j = 0; j < i; j++)
            if (strcmp(c->models[j].name, c->models[i].name) == 0)
                return service_fail(error, GBX_ERR_PARSE, "config: two models named \"%s\"",
                                c->models[i].name);
    }
    return GBX_OK;
}

static gbx_status read_token(json_object *o, size_t index, service_token *t, gbx_error *error)
{
    char where[64], *hash = NULL, *role = NULL;
    snprintf(where, sizeof where, "config: tokens[%zu]", index);
    gbx_status status = string_member(o, "sha256", where, &hash, error);
    if (status == GBX_OK) status = string_member(o, "name", where, &t->name, error);
    if (status == GBX_OK) status = string_member(o, "role", where, &role, error);
    if (status == GBX_OK && (!hash || strlen(hash) != 64 || strspn(hash, "0123456789abcdef") != 64))
        status = service_fail(error, GBX_ERR_PARSE, "%s: \"sha256\" must be 64 lowercase hex digits "
                          "(the token's SHA-256, never the token)", where);
    if (status == GBX_OK && (!t->name || !role || gbx_audience_parse(role, &t->role) != GBX_OK))
        status = service_fail(error, GBX_ERR_PARSE, "%s needs a \"name\" and a \"role\" (applicant, "
                          "analyst or auditor)", where);
    if (status == GBX_OK) memcpy(t->sha256, hash, 65);
    free(hash);
    free(role);
    return status;
}

static gbx_status read_tokens(json_object *root, service_config *c, gbx_error *error)
{
    json_object *tokens = member(root, "tokens");
    if (!tokens) return GBX_OK;
    if (!json_object_is_type(tokens, json_type_array))
        return service_fail(error, GBX_ERR_PARSE, "config: \"tokens\" must be a list");
    size_t count = json_object_array_length(tokens);
    if (!(c->tokens = calloc(count ? count : 1, sizeof *c->tokens)))
        return service_fail(error, GBX_ERR_NOMEM, "out of memory");
    c->token_count = count;
    for (size_t i = 0; i < count; i++) {
        gbx_status status = read_token(json_object_array_get_idx(tokens, i), i, &c->tokens[i], error);
        if (status != GBX_OK) return status;
    }
    return GBX_OK;
}

static gbx_status read_audit(const char *path, json_object *root, service_config *c,
                             gbx_error *error)
{
    json_object *audit = member(root, "audit");
    char *sqlite = NULL, *postgresql = NULL;
    gbx_status status = string_member(audit, "sqlite", "config: audit", &sqlite, error);
    if (status == GBX_OK) status = string_member(audit, "postgresql", "config: audit", &postgresql, error);
    if (status == GBX_OK && !sqlite == !postgresql)
        status = service_fail(error, GBX_ERR_PARSE, "config: \"audit\" needs one store: "
                              "{\"sqlite\": PATH} or {\"postgresql\": \"postgresql://...\"} "
                              "(every answer is audited)");
    if (status == GBX_OK && postgresql && strncmp(postgresql, "postgresql://", 13) != 0 &&
        strncmp(postgresql, "postgres://", 11) != 0)
        status = service_fail(error, GBX_ERR_PARSE, "config: audit: \"postgresql\" must be a "
                              "postgresql:// URL");
    if (status != GBX_OK) {
        free(sqlite);
        free(postgresql);
        return status;
    }
    json_object *inputs = member(audit, "inputs");
    c->audit_inputs = !inputs || json_object_get_boolean(inputs);
    c->audit_store = sqlite ? sqlite : postgresql;
    return sqlite ? resolve_path(path, &c->audit_store, error) : GBX_OK;
}

static gbx_status read_cache(json_object *root, service_config *c, gbx_error *error)
{
    json_object *bytes = member(member(root, "cache"), "bytes");
    long long size = bytes ? json_object_get_int64(bytes) : 64LL << 20;
    if (size < 0 || size > (1LL << 40))
        return service_fail(error, GBX_ERR_PARSE, "config: cache: bytes 0 (none) to 2^40");
    c->cache_bytes = (size_t)size;
    json_object *keep = member(root, "keep_versions");
    long long versions = keep ? json_object_get_int64(keep) : 3;
    if (versions < 1 || versions > 16)
        return service_fail(error, GBX_ERR_PARSE, "config: keep_versions 1 to 16");
    c->keep_versions = (size_t)versions;
    return GBX_OK;
}

static gbx_status read_limits(json_object *root, service_config *c, gbx_error *error)
{
    json_object *limits = member(root, "limits"), *body = member(limits, "body_bytes");
    json_object *connections = member(limits, "connections"), *jobs = member(limits, "jobs");
    json_object *keep = member(limits, "keep_results_seconds");
    long long bytes = body ? json_object_get_int64(body) : 1 << 20;
    long long count = connections ? json_object_get_int64(connections) : 256;
    long long running = jobs ? json_object_get_int64(jobs) : 64;
    double kept = keep ? json_object_get_double(keep) : 3600;
    if (bytes < 1024 || bytes > (1LL << 30) || count < 1 || count > 4096 || running < 1 ||
        running > 4096 || !(kept >= 0 && kept <= 30 * 86400))
        return service_fail(error, GBX_ERR_PARSE, "config: limits: body_bytes 1024 to 2^30, "
                            "connections 1 to 4096, jobs 1 to 4096, keep_results_seconds 0 to "
                            "30 days");
    c->body_limit = (size_t)bytes;
    c->connections = (unsigned)count;
    c->jobs = (size_t)running;
    c->keep_results = kept;
    return GBX_OK;
}

gbx_status service_config_read(const char *path, service_config *config, gbx_error *error)
{
    memset(config, 0, sizeof *config);
    json_object *root = json_object_from_file(path);
    if (!root || !json_object_is_type(root, json_type_object)) {
        json_object_put(root);
        return service_fail(error, GBX_ERR_PARSE, "%s: not a readable JSON object", path);
    }
    gbx_status status = read_listen(root, config, error);
    if (status == GBX_OK) status = read_models(path, root, config, error);
    if (status == GBX_OK) status = read_tokens(root, config, error);
    if (status == GBX_OK) status = read_audit(path, root, config, error);
    if (status == GBX_OK) status = read_limits(root, config, error);
    if (status == GBX_OK) status = read_cache(root, config, error);
    json_object_put(root);
    if (status != GBX_OK) service_config_free(config);
    return status;
}

void service_config_free(service_config *config)
{
    for (size_t i = 0; i < config->model_count; i++) {
        service_model_config *m = &config->models[i];
        free(m->name);
        free(m->path);
        free(m->method);
        free(m->background);
        free(m->features);
        free(m->options);
        for (size_t a = 0; a < m->override_count; a++) free(m->overrides[a]);
        free(m->overrides);
    }
    free(config->models);
    for (size_t i = 0; i < config->token_count; i++) free(config->tokens[i].name);
    free(config->tokens);
    free(config->host);
    free(config->audit_store);
    memset(config, 0, sizeof *config);
}
