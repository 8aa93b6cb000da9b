/* Models behind a shared library that follows include/glassbox_plugin.h, and black boxes
 * inside the calling program (gbx_model_from_function), which follow the same rules. */
#include "model.h"
#include "../core/blas.h"

#include "glassbox_plugin.h"

#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef int predict_function(void *instance, const double *rows, size_t count, double *out,
                             char *error, size_t error_size);

typedef struct {
    void *library;        /* the plugin's shared library; NULL for a function in process */
    void *instance;
    int thread_safe;
    predict_function *predict;
    void (*destroy)(void *instance);
    pthread_mutex_t lock; /* serialises predict() unless it is thread-safe */
    char *path;           /* the plugin's file, or the function's name */
    const gbx_plugin *plugin_table; /* a plugin's table; NULL for a function */
    const char *kind;     /* "plugin" or "function", in messages */
} plugin_adapter;

static void release(gbx_model *model)
{
    plugin_adapter *a = model->adapter;
    if (!a) return;
    if (a->instance && a->destroy) a->destroy(a->instance);
    if (a->library) dlclose(a->library);
    pthread_mutex_destroy(&a->lock);
    free(a->path);
    free(a);
    model->adapter = NULL;
}

static gbx_status predict(const gbx_model *model, const double *rows, size_t count, double *out,
                          gbx_error *error)
{
    plugin_adapter *a = model->adapter;
    char message[512] = "";
    if (!a->thread_safe) pthread_mutex_lock(&a->lock);
    int failed = a->predict(a->instance, rows, count, out, message, sizeof message);
    if (!a->thread_safe) pthread_mutex_unlock(&a->lock);
    if (failed) {
        message[sizeof message - 1] = '\0';
        return gbx_fail(error, GBX_ERR_INTERNAL, "%s %s: predict failed: %s", a->kind, a->path,
                        message[0] ? message : "(no message)");
    }
    /* A NaN or infinite output would flow silently into every value computed from it. */
    for (size_t i = 0; i < count * model->outputs; i++)
        if (!isfinite(out[i]))
            return gbx_fail(error, GBX_ERR_INTERNAL, "%s %s: predict gave %g for row %zu",
                            a->kind, a->path, out[i], i / model->outputs + 1);
    return GBX_OK;
}

/* Copies a name the plugin gives, or makes the default one. */
static char *name_or(const char *given, const char *prefix, size_t index)
{
    if (given) return gbx_strdup(given);
    char buffer[48];
    snprintf(buffer, sizeof buffer, "%s%zu", prefix, index);
    return gbx_strdup(buffer);
}

/* The model's sizes and names: those given (copied), or f0, f1, ... and output_0, ...; with
 * no feature names at all, CSV columns are taken by position. */
static gbx_status name_model(gbx_model *model, size_t features, size_t outputs,
                             const char *const *feature_names, const char *const *output_names,
                             gbx_error *error)
{
    plugin_adapter *a = model->adapter;
    if (outputs == 0 || outputs > 64)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "%s %s: %zu outputs (1 to 64 supported)",
                        a->kind, a->path, outputs);
    model->features = features;
    model->outputs = outputs;
    model->feature_names = feature_names ? gbx_calloc(features ? features : 1, sizeof(char *))
                                         : NULL;
    model->output_names = gbx_calloc(outputs, sizeof(char *));
    if ((feature_names && !model->feature_names) || !model->output_names)
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    for (size_t f = 0; feature_names && f < features; f++)
        if (!(model->feature_names[f] = name_or(feature_names[f], "f", f)))
            return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < outputs; k++)
        if (!(model->output_names[k] = name_or(output_names ? output_names[k] : NULL, "output_", k)))
            return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    return GBX_OK;
}

gbx_status gbx_plugin_load(const char *spec, gbx_model *model, gbx_error *error)
{
    plugin_adapter *a = calloc(1, sizeof *a);
    if (!a) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&a->lock, NULL);
    a->kind = "plugin";
    model->adapter = a;
    model->release_adapter = release;
    /* PATH.so[:ARGUMENT]: the argument starts after the first colon following ".so". */
    const char *so = strstr(spec, ".so");
    const char *colon = so ? strchr(so, ':') : strchr(spec, ':');
    size_t path_length = colon ? (size_t)(colon - spec) : strlen(spec);
    a->path = malloc(path_length + 1);
    if (!a->path) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    memcpy(a->path, spec, path_length);
    a->path[path_length] = '\0';
    const char *argument = colon ? colon + 1 : "";
    /* A bare name would be looked up on the library path; ask for a file. */
    char *resolved = strchr(a->path, '/') ? gbx_strdup(a->path) : NULL;
    if (!resolved) {
        resolved = malloc(path_length + 3);
        if (resolved) snprintf(resolved, path_length + 3, "./%s", a->path);
    }
    if (!resolved) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    /* A plugin linked with OpenBLAS shares glassbox's: load it first, with glassbox's
     * settings, or the plugin would load it without them. */
    gbx_status loaded = gbx_blas_load(error);
    if (loaded != GBX_OK) {
        free(resolved);
        return loaded;
    }
    a->library = dlopen(resolved, RTLD_NOW | RTLD_LOCAL);
    free(resolved);
    if (!a->library)
        return gbx_fail(error, GBX_ERR_IO, "plugin %s: cannot load: %s", a->path, dlerror());
    gbx_plugin_entry_function *entry;
    *(void **)&entry = dlsym(a->library, "gbx_plugin_entry");
    if (!entry)
        return gbx_fail(error, GBX_ERR_PARSE, "plugin %s: no gbx_plugin_entry function (see "
                        "include/glassbox_plugin.h)", a->path);
    a->plugin_table = entry();
    if (!a->plugin_table || a->plugin_table->abi_version != GBX_PLUGIN_ABI_VERSION)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "plugin %s: ABI version %d, glassbox speaks %d",
                        a->path, a->plugin_table ? a->plugin_table->abi_version : -1,
                        GBX_PLUGIN_ABI_VERSION);
    if (!a->plugin_table->create || !a->plugin_table->features || !a->plugin_table->outputs ||
        !a->plugin_table->predict)
        return gbx_fail(error, GBX_ERR_PARSE, "plugin %s: create, features, outputs and predict "
                        "are required", a->path);
    a->thread_safe = a->plugin_table->thread_safe;
    a->predict = a->plugin_table->predict;
    a->destroy = a->plugin_table->destroy;
    char message[512] = "";
    a->instance = a->plugin_table->create(argument, message, sizeof message);
    if (!a->instance) {
        message[sizeof message - 1] = '\0';
        return gbx_fail(error, GBX_ERR_USAGE, "plugin %s: %s", a->path,
                        message[0] ? message : "create failed");
    }
    const gbx_plugin *plugin = a->plugin_table;
    size_t M = plugin->features(a->instance), K = plugin->outputs(a->instance);
    const char **features = NULL, **outputs = gbx_calloc(K ? K : 1, sizeof(char *));
    /* Without names, CSV columns are taken by position. */
    int named = plugin->feature_name && M > 0 && plugin->feature_name(a->instance, 0);
    if (named) features = gbx_calloc(M, sizeof(char *));
    if (!outputs || (named && !features)) {
        free(features);
        free(outputs);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    for (size_t f = 0; named && f < M; f++) features[f] = plugin->feature_name(a->instance, f);
    for (size_t k = 0; plugin->output_name && k < K; k++)
        outputs[k] = plugin->output_name(a->instance, k);
    gbx_status status = name_model(model, M, K, features, outputs, error);
    free(features);
    free(outputs);
    if (status != GBX_OK) return status;
    model->objective = gbx_strdup("plugin");
    model->predict_raw = predict;
    return gbx_sha256_file(a->path, model->sha256, error);
}

gbx_status gbx_model_from_function(const gbx_model_function *function, gbx_model **out,
                                   gbx_error *error)
{
    if (!function || !out || !function->predict) {
        if (function && function->release) function->release(function->user);
        return gbx_fail(error, GBX_ERR_USAGE, "gbx_model_from_function: NULL argument");
    }
    const char *name = function->name ? function->name : "function";
    gbx_model *model = gbx_model_alloc("function");
    plugin_adapter *a = model ? calloc(1, sizeof *a) : NULL;
    if (!a) {
        if (function->release) function->release(function->user);
        gbx_model_free(model);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    pthread_mutex_init(&a->lock, NULL);
    a->instance = function->user;
    a->thread_safe = function->thread_safe;
    a->predict = function->predict;
    a->destroy = function->release;
    a->kind = "function";
    model->adapter = a;
    model->release_adapter = release;
    gbx_status status = (a->path = gbx_strdup(name)) && (model->objective = gbx_strdup("function"))
                            ? name_model(model, function->features, function->outputs,
                                         function->feature_names, function->output_names, error)
                            : gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    if (status != GBX_OK) {
        gbx_model_free(model);
        return status;
    }
    model->predict_raw = predict;
    gbx_sha256_buffer(name, strlen(name), model->sha256);
    *out = model;
    return GBX_OK;
}
