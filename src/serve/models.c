/* The models the service answers for: per configured name, the versions loaded, newest first,
 * each with its background, feature metadata and explainer (explainers and models may be used
 * from many threads at once). A request holds the version it uses from lookup to answer, so a
 * reload never changes the model under a request: a version pushed out of the last `keep` is
 * freed when its last request lets go of it. */
#include "service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_KEEP 16

typedef struct {
    service_model *versions[MAX_KEEP + 1]; /* newest first */
    size_t count;
} named;

struct service_registry {
    pthread_mutex_t lock;
    const service_config *config;
    named *names;      /* one per configured model */
    size_t keep;       /* versions kept loaded per name */
};

static gbx_status feature_names(service_model *m, gbx_error *error)
{
    m->feature_count = gbx_model_features(m->model);
    if (!(m->feature_names = calloc(m->feature_count ? m->feature_count : 1, sizeof(char *))))
        return service_fail(error, GBX_ERR_NOMEM, "out of memory");
    for (size_t j = 0; j < m->feature_count; j++) {
        const char *name = gbx_model_feature_name(m->model, j);
        char fallback[32];
        snprintf(fallback, sizeof fallback, "f%zu", j);
        if (!(m->feature_names[j] = strdup(name ? name : fallback)))
            return service_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    return GBX_OK;
}

static void model_free(service_model *m)
{
    if (!m) return;
    gbx_explainer_free(m->explainer);
    gbx_feature_metadata_free(m->features);
    gbx_data_free(m->background);
    gbx_model_free(m->model);
    for (size_t j = 0; m->feature_names && j < m->feature_count; j++) free(m->feature_names[j]);
    free(m->feature_names);
    free(m);
}

/* Names the model in an error from loading it. */
static void prefix_error(gbx_error *error, const char *name)
{
    if (!error) return;
    char message[sizeof error->message];
    memcpy(message, error->message, sizeof message);
    int wrote = snprintf(error->message, sizeof error->message, "model %s: ", name);
    if (wrote > 0 && (size_t)wrote < sizeof error->message)
        snprintf(error->message + wrote, sizeof error->message - (size_t)wrote, "%.*s",
                 (int)(sizeof error->message - (size_t)wrote - 1), message);
}

gbx_status service_model_load(const service_model_config *c, service_model **out,
                              gbx_error *error)
{
    service_model *m = calloc(1, sizeof *m);
    if (!m) return service_fail(error, GBX_ERR_NOMEM, "out of memory");
    m->config = c;
    gbx_status status = gbx_model_load(c->path, &m->model, error);
    if (status == GBX_OK && c->background)
        status = gbx_data_read_csv(c->background, m->model, &m->background, error);
    if (status == GBX_OK && c->features)
        status = gbx_feature_metadata_read(c->features, &m->features, error);
    if (status == GBX_OK) status = feature_names(m, error);
    gbx_explainer_options *options = &m->options;
    gbx_explainer_options_init(options);
    options->background = m->background;
    options->threads = 1; /* the server's workers are the parallelism */
    if (status == GBX_OK && c->method) status = gbx_method_parse(c->method, &options->method);
    json_object *configured = c->options ? json_tokener_parse(c->options) : NULL;
    if (status == GBX_OK) status = service_options_apply(configured, NULL, 0, options, error);
    json_object_put(configured);
    if (status == GBX_OK) status = gbx_explainer_create(m->model, options, &m->explainer, error);
    if (status == GBX_OK) {
        const char *served = gbx_model_version(m->model);
        m->version = served && *served ? served : gbx_model_sha256(m->model);
        *out = m;
        return GBX_OK;
    }
    prefix_error(error, c->name);
    model_free(m);
    return status;
}

void service_model_release_loaded(service_model *model) { model_free(model); }

gbx_status service_registry_open(const service_config *config, size_t keep,
                                 service_registry **out, gbx_error *error)
{
    service_registry *r = calloc(1, sizeof *r);
    if (!r || !(r->names = calloc(config->model_count, sizeof *r->names))) {
        free(r);
        return service_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    pthread_mutex_init(&r->lock, NULL);
    r->config = config;
    r->keep = keep < 1 ? 1 : keep > MAX_KEEP ? MAX_KEEP : keep;
    for (size_t i = 0; i < config->model_count; i++) {
        service_model *m;
        gbx_status status = service_model_load(&config->models[i], &m, error);
        if (status != GBX_OK) {
            service_registry_close(r);
            return status;
        }
        m->references = 1; /* the registry's */
        r->names[i].versions[0] = m;
        r->names[i].count = 1;
    }
    *out = r;
    return GBX_OK;
}

void service_registry_close(service_registry *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->config->model_count; i++)
        for (size_t v = 0; v < r->names[i].count; v++) model_free(r->names[i].versions[v]);
    free(r->names);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

static long find_name(const service_registry *r, const char *name, size_t length)
{
    for (size_t i = 0; i < r->config->model_count; i++)
        if (strlen(r->config->models[i].name) == length &&
            memcmp(r->config->models[i].name, name, length) == 0)
            return (long)i;
    return -1;
}

int service_registry_acquire(service_registry *r, const char *name, size_t length,
                             const char *version, service_model **out)
{
    long i = find_name(r, name, length);
    if (i < 0) return SERVICE_NO_MODEL;
    pthread_mutex_lock(&r->lock);
    named *n = &r->names[i];
    service_model *found = NULL;
    for (size_t v = 0; v < n->count && !found; v++)
        if (!version || strcmp(n->versions[v]->version, version) == 0) found = n->versions[v];
    if (found) found->references++;
    pthread_mutex_unlock(&r->lock);
    *out = found;
    return found ? SERVICE_MODEL_FOUND : SERVICE_NO_VERSION;
}

void service_registry_hold(service_registry *r, service_model *m)
{
    pthread_mutex_lock(&r->lock);
    m->references++;
    pthread_mutex_unlock(&r->lock);
}

void service_registry_release(service_registry *r, service_model *m)
{
    if (!m) return;
    pthread_mutex_lock(&r->lock);
    int last = --m->references == 0;
    pthread_mutex_unlock(&r->lock);
    if (last) model_free(m);
}

json_object *service_registry_versions(service_registry *r, const char *name, size_t length)
{
    json_object *list = json_object_new_array();
    long i = find_name(r, name, length);
    pthread_mutex_lock(&r->lock);
    for (size_t v = 0; i >= 0 && v < r->names[i].count; v++)
        json_object_array_add(list, json_object_new_string(r->names[i].versions[v]->version));
    pthread_mutex_unlock(&r->lock);
    return list;
}

size_t service_registry_names(const service_registry *r) { return r->config->model_count; }

const char *service_registry_known(const service_registry *r, const char *name, size_t length)
{
    long i = name ? find_name(r, name, length) : -1;
    return i >= 0 ? r->config->models[i].name : NULL;
}

const char *service_registry_name(const service_registry *r, size_t i)
{
    return r->config->models[i].name;
}

/* Loads every model's file again; a new version becomes the newest, the oldest beyond `keep`
 * leave (freed once unused). Counts the new versions. */
gbx_status service_registry_reload(service_registry *r, size_t *changed, gbx_error *error)
{
    *changed = 0;
    for (size_t i = 0; i < r->config->model_count; i++) {
        service_model *m;
        gbx_status status = service_model_load(&r->config->models[i], &m, error);
        if (status != GBX_OK) return status; /* the loaded versions stay as they were */
        service_model *retired = NULL;
        pthread_mutex_lock(&r->lock);
        named *n = &r->names[i];
        int known = strcmp(n->versions[0]->version, m->version) == 0;
        if (!known) {
            m->references = 1;
            memmove(n->versions + 1, n->versions, n->count * sizeof *n->versions);
            n->versions[0] = m;
            if (++n->count > r->keep) {
                retired = n->versions[--n->count];
                if (--retired->references > 0) retired = NULL; /* its last request frees it */
            }
            (*changed)++;
        }
        pthread_mutex_unlock(&r->lock);
        if (known) model_free(m);
        model_free(retired);
    }
    return GBX_OK;
}
