/* The models the service answers for, each loaded once with its background, feature metadata
 * and explainer (explainers and models may be used from many threads at once). */
#include "service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static gbx_status load_one(const service_model_config *c, service_model *m, gbx_error *error)
{
    m->config = c;
    gbx_status status = gbx_model_load(c->path, &m->model, error);
    if (status == GBX_OK && c->background)
        status = gbx_data_read_csv(c->background, m->model, &m->background, error);
    if (status == GBX_OK && c->features)
        status = gbx_feature_metadata_read(c->features, &m->features, error);
    if (status == GBX_OK) status = feature_names(m, error);
    gbx_explainer_options options;
    gbx_explainer_options_init(&options);
    options.background = m->background;
    options.threads = 1; /* the server's workers are the parallelism */
    if (status == GBX_OK && c->method) status = gbx_method_parse(c->method, &options.method);
    if (status == GBX_OK) status = gbx_explainer_create(m->model, &options, &m->explainer, error);
    if (status == GBX_OK) {
        const char *served = gbx_model_version(m->model);
        m->version = served && *served ? served : gbx_model_sha256(m->model);
    }
    if (status != GBX_OK && error) { /* which model it was */
        char message[sizeof error->message];
        memcpy(message, error->message, sizeof message);
        int wrote = snprintf(error->message, sizeof error->message, "model %s: ", c->name);
        if (wrote > 0 && (size_t)wrote < sizeof error->message)
            snprintf(error->message + wrote, sizeof error->message - (size_t)wrote, "%.*s",
                     (int)(sizeof error->message - (size_t)wrote - 1), message);
    }
    return status;
}

gbx_status service_models_load(const service_config *config, service_model **models,
                               gbx_error *error)
{
    *models = calloc(config->model_count, sizeof **models);
    if (!*models) return service_fail(error, GBX_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < config->model_count; i++) {
        gbx_status status = load_one(&config->models[i], &(*models)[i], error);
        if (status != GBX_OK) {
            service_models_free(*models, config->model_count);
            *models = NULL;
            return status;
        }
    }
    return GBX_OK;
}

void service_models_free(service_model *models, size_t count)
{
    for (size_t i = 0; models && i < count; i++) {
        service_model *m = &models[i];
        gbx_explainer_free(m->explainer);
        gbx_feature_metadata_free(m->features);
        gbx_data_free(m->background);
        gbx_model_free(m->model);
        for (size_t j = 0; m->feature_names && j < m->feature_count; j++) free(m->feature_names[j]);
        free(m->feature_names);
    }
    free(models);
}

const service_model *service_model_find(const service_model *models, size_t count,
                                        const char *name, size_t length)
{
    for (size_t i = 0; i < count; i++)
        if (strlen(models[i].config->name) == length &&
            memcmp(models[i].config->name, name, length) == 0)
            return &models[i];
    return NULL;
}
