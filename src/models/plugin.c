/* Models behind a shared library that follows include/glassbox_plugin.h. */
#include "model.h"
#include "../core/blas.h"

#include "glassbox_plugin.h"

#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    void *library;
    const gbx_plugin *plugin;
    void *instance;
    pthread_mutex_t lock; /* serialises predict() unless the plugin is thread-safe */
    char *path;
} plugin_adapter;

static void release(gbx_model *model)
{
    plugin_adapter *a = model->adapter;
    if (!a) return;
    if (a->instance && a->plugin->destroy) a->plugin->destroy(a->instance);
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
    if (!a->plugin->thread_safe) pthread_mutex_lock(&a->lock);
    int failed = a->plugin->predict(a->instance, rows, count, out, message, sizeof message);
    if (!a->plugin->thread_safe) pthread_mutex_unlock(&a->lock);
    if (failed) {
        message[sizeof message - 1] = '\0';
        return gbx_fail(error, GBX_ERR_INTERNAL, "plugin %s: predict failed: %s", a->path,
                        message[0] ? message : "(no message)");
    }
    /* A NaN or infinite output would flow silently into every value computed from it. */
    for (size_t i = 0; i < count * model->outputs; i++)
        if (!isfinite(out[i]))
            return gbx_fail(error, GBX_ERR_INTERNAL, "plugin %s: predict gave %g for row %zu",
                            a->path, out[i], i / model->outputs + 1);
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

gbx_status gbx_plugin_load(const char *spec, gbx_model *model, gbx_error *error)
{
    plugin_adapter *a = calloc(1, sizeof *a);
    if (!a) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&a->lock, NULL);
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
    a->plugin = entry();
    if (!a->plugin || a->plugin->abi_version != GBX_PLUGIN_ABI_VERSION)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "plugin %s: ABI version %d, glassbox speaks %d",
                        a->path, a->plugin ? a->plugin->abi_version : -1, GBX_PLUGIN_ABI_VERSION);
    if (!a->plugin->create || !a->plugin->features || !a->plugin->outputs || !a->plugin->predict)
        return gbx_fail(error, GBX_ERR_PARSE, "plugin %s: create, features, outputs and predict "
                        "are required", a->path);
    char message[512] = "";
    a->instance = a->plugin->create(argument, message, sizeof message);
    if (!a->instance) {
        message[sizeof message - 1] = '\0';
        return gbx_fail(error, GBX_ERR_USAGE, "plugin %s: %s", a->path,
                        message[0] ? message : "create failed");
    }
    size_t M = a->plugin->features(a->instance), K = a->plugin->outputs(a->instance);
    if (K == 0 || K > 64)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "plugin %s: %zu outputs (1 to 64 supported)",
                        a->path, K);
    model->features = M;
    model->outputs = K;
    /* Without names, CSV columns are taken by position. */
    int named = a->plugin->feature_name && M > 0 && a->plugin->feature_name(a->instance, 0);
    model->feature_names = named ? gbx_calloc(M, sizeof(char *)) : NULL;
    model->output_names = gbx_calloc(K, sizeof(char *));
    if ((named && !model->feature_names) || !model->output_names)
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    for (size_t f = 0; named && f < M; f++)
        if (!(model->feature_names[f] = name_or(a->plugin->feature_name(a->instance, f), "f", f)))
            return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < K; k++)
        if (!(model->output_names[k] = name_or(a->plugin->output_name
                                                    ? a->plugin->output_name(a->instance, k)
                                                    : NULL, "output_", k)))
            return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    model->objective = gbx_strdup("plugin");
    model->predict_raw = predict;
    return gbx_sha256_file(a->path, model->sha256, error);
}
