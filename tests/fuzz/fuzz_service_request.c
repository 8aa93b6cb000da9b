/* libFuzzer target: a request body the explanation service reads (corpus:
 * tests/fuzz/corpus/service_request). Whatever parses is read into rows for the credit model,
 * predicted, explained and answered for each role, as the server would. */
#include "serve/service.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static service_config config;
static service_model *model;

static int setup(void)
{
    if (model) return 1;
    gbx_error error;
    config.model_count = 1;
    config.models = calloc(1, sizeof *config.models);
    if (!config.models) return 0;
    config.models[0].name = strdup("credit");
    config.models[0].path = strdup(GBX_SOURCE_DIR "/examples/credit_model.json");
    config.models[0].method = strdup("tree");
    config.models[0].features = strdup(GBX_SOURCE_DIR "/examples/credit_features.json");
    config.models[0].threshold = 0.5;
    return service_model_load(&config.models[0], &model, &error) == GBX_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!setup()) abort();
    json_tokener *tokener = json_tokener_new();
    json_object *body = json_tokener_parse_ex(tokener, (const char *)data, (int)size);
    json_tokener_free(tokener);
    json_object *instances;
    gbx_data *rows = NULL;
    gbx_error error;
    if (body && json_object_object_get_ex(body, "instances", &instances) &&
        service_instances(model, instances, &rows, &error) == GBX_OK &&
        gbx_data_rows(rows) <= 64) {
        gbx_explanation *explanation = NULL;
        if (gbx_explainer_explain(model->explainer, rows, &explanation, &error) == GBX_OK)
            for (int role = GBX_AUDIENCE_APPLICANT; role <= GBX_AUDIENCE_AUDITOR; role++) {
                json_object *answer = NULL;
                if (service_explanations(model, explanation, (gbx_audience)role, &answer,
                                         &error) == GBX_OK)
                    json_object_put(answer);
            }
        gbx_explanation_free(explanation);
    }
    gbx_data_free(rows);
    json_object_put(body);
    return 0;
}
