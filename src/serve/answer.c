/* Requests into data, explanations into the service's JSON. Every problem in a request is named
 * (the instance, the feature, what was wrong) for the caller's 400. */
#include "service.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One cell: a finite number, or null for a missing value. */
static gbx_status cell(json_object *v, size_t row, const char *feature, double *out,
                       gbx_error *error)
{
    if (!v) {
        *out = NAN;
        return GBX_OK;
    }
    if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
        return service_fail(error, GBX_ERR_PARSE, "instance %zu, %s: not a number (null stands "
                            "for a missing value)", row, feature);
    *out = json_object_get_double(v);
    if (!isfinite(*out))
        return service_fail(error, GBX_ERR_PARSE, "instance %zu, %s: not a finite number", row,
                            feature);
    return GBX_OK;
}

static gbx_status object_row(const service_model *m, json_object *o, size_t row, double *values,
                             gbx_error *error)
{
    json_object_object_foreach(o, key, value) {
        (void)value;
        size_t j = 0;
        while (j < m->feature_count && strcmp(m->feature_names[j], key) != 0) j++;
        if (j == m->feature_count)
            return service_fail(error, GBX_ERR_MISMATCH, "instance %zu: \"%s\" is not a feature "
                                "of model %s", row, key, m->config->name);
    }
    for (size_t j = 0; j < m->feature_count; j++) {
        json_object *v;
        if (!json_object_object_get_ex(o, m->feature_names[j], &v))
            return service_fail(error, GBX_ERR_MISMATCH, "instance %zu: feature \"%s\" is missing "
                                "(send null for a missing value)", row, m->feature_names[j]);
        gbx_status status = cell(v, row, m->feature_names[j], &values[j], error);
        if (status != GBX_OK) return status;
    }
    return GBX_OK;
}

static gbx_status array_row(const service_model *m, json_object *a, size_t row, double *values,
                            gbx_error *error)
{
    if (json_object_array_length(a) != m->feature_count)
        return service_fail(error, GBX_ERR_MISMATCH, "instance %zu holds %zu values; model %s "
                            "takes %zu", row, json_object_array_length(a), m->config->name,
                            m->feature_count);
    for (size_t j = 0; j < m->feature_count; j++) {
        gbx_status status = cell(json_object_array_get_idx(a, j), row, m->feature_names[j],
                                 &values[j], error);
        if (status != GBX_OK) return status;
    }
    return GBX_OK;
}

gbx_status service_instances(const service_model *m, json_object *instances, gbx_data **out,
                             gbx_error *error)
{
    size_t n = instances && json_object_is_type(instances, json_type_array)
                   ? json_object_array_length(instances) : 0;
    if (!n) return service_fail(error, GBX_ERR_PARSE, "\"instances\" must be a list of one row or more");
    if (m->feature_count && n > ((size_t)1 << 26) / m->feature_count)
        return service_fail(error, GBX_ERR_PARSE, "too many instances");
    double *values = malloc(n * (m->feature_count ? m->feature_count : 1) * sizeof(double));
    if (!values) return service_fail(error, GBX_ERR_NOMEM, "out of memory");
    gbx_status status = GBX_OK;
    for (size_t r = 0; r < n && status == GBX_OK; r++) {
        json_object *row = json_object_array_get_idx(instances, r);
        double *at = values + r * m->feature_count;
        if (json_object_is_type(row, json_type_object)) status = object_row(m, row, r, at, error);
        else if (json_object_is_type(row, json_type_array)) status = array_row(m, row, r, at, error);
        else status = service_fail(error, GBX_ERR_PARSE, "instance %zu must be an object (by "
                                   "feature name) or a list (in the model's order)", r);
    }
    if (status == GBX_OK)
        status = gbx_data_create(n, m->feature_count, values,
                                 (const char *const *)m->feature_names, out, error);
    free(values);
    return status;
}

/* One row's reasons in words, for the role: strongest first. */
static json_object *reasons_of(const gbx_reasons_row *row)
{
    json_object *list = json_object_new_array();
    for (size_t i = 0; row && i < row->count; i++) {
        const gbx_reason *r = &row->reasons[i];
        json_object *o = json_object_new_object();
        json_object_object_add(o, "feature", json_object_new_string(r->display));
        json_object_object_add(o, "contribution", json_object_new_double(r->contribution));
        json_object_object_add(o, "reason", json_object_new_string(r->sentence));
        if (r->what_if && *r->what_if)
            json_object_object_add(o, "what_if", json_object_new_string(r->what_if));
        json_object_array_add(list, o);
    }
    return list;
}

static const char *decision_name(int decision)
{
    return decision == GBX_DECISION_ADVERSE ? "adverse"
         : decision == GBX_DECISION_FAVOURABLE ? "favourable" : NULL;
}

/* Row r of the masked explanation: base value, values by feature, decision and reasons. */
static json_object *row_answer(const gbx_explanation *shown, const gbx_reasons *reasons, size_t r)
{
    size_t K = gbx_explanation_outputs(shown), M = gbx_explanation_features(shown);
    const double *values = gbx_explanation_values(shown) + r * K * M;
    json_object *o = json_object_new_object(), *by_feature = json_object_new_object();
    for (size_t j = 0; j < M; j++)
        json_object_object_add(by_feature, gbx_explanation_feature_name(shown, j),
                               json_object_new_double(values[j]));
    json_object_object_add(o, "base_value",
                           json_object_new_double(gbx_explanation_base_values(shown)[r * K]));
    json_object_object_add(o, "values", by_feature);
    const gbx_reasons_row *row = NULL;
    for (size_t i = 0; reasons && !row && i < gbx_reasons_rows(reasons); i++)
        if (gbx_reasons_row_at(reasons, i)->row == r) row = gbx_reasons_row_at(reasons, i);
    const char *decision = row ? decision_name(row->decision) : NULL;
    if (decision) json_object_object_add(o, "decision", json_object_new_string(decision));
    json_object_object_add(o, "reasons", reasons_of(row));
    return o;
}

gbx_status service_explanations(const service_model *m, const gbx_explanation *explanation,
                                 gbx_audience role, json_object **out, gbx_error *error)
{
    gbx_explanation *shown = NULL;
    gbx_reasons *reasons = NULL;
    gbx_status status = gbx_explanation_for_audience(explanation, m->features, role, &shown, error);
    gbx_reasons_options options;
    gbx_reasons_options_init(&options);
    options.features = m->features;
    options.audience = role;
    options.threshold = isnan(m->config->threshold) ? NULL : &m->config->threshold;
    if (status == GBX_OK) status = gbx_reasons_compute(explanation, &options, &reasons, error);
    if (status == GBX_OK) {
        *out = json_object_new_array();
        for (size_t r = 0; r < gbx_explanation_rows(shown); r++)
            json_object_array_add(*out, row_answer(shown, reasons, r));
    }
    gbx_reasons_free(reasons);
    gbx_explanation_free(shown);
    return status;
}

json_object *service_predictions_json(const double *predictions, size_t rows, size_t outputs)
{
    json_object *list = json_object_new_array();
    for (size_t r = 0; r < rows; r++) {
        json_object *row = json_object_new_array();
        for (size_t k = 0; k < outputs; k++)
            json_object_array_add(row, json_object_new_double(predictions[r * outputs + k]));
        json_object_array_add(list, row);
    }
    return list;
}

char *service_answer_body(const service_model *m, const gbx_explainer *explainer,
                          const gbx_data *data, gbx_audience role, gbx_error *error)
{
    size_t n = gbx_data_rows(data), K = gbx_model_outputs(m->model);
    double *predictions = malloc(n * K * sizeof(double));
    gbx_explanation *explanation = NULL;
    json_object *explanations = NULL;
    char *body = NULL;
    gbx_status status = predictions ? gbx_model_predict(m->model, data, 0, predictions, error)
                                    : service_fail(error, GBX_ERR_NOMEM, "out of memory");
    if (status == GBX_OK) status = gbx_explainer_explain(explainer, data, &explanation, error);
    if (status == GBX_OK) status = service_explanations(m, explanation, role, &explanations, error);
    if (status == GBX_OK) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "predictions", service_predictions_json(predictions, n, K));
        json_object_object_add(o, "explanations", explanations);
        const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        size_t length = strlen(text);
        if ((body = malloc(length)) != NULL) { /* the members, without the braces */
            memcpy(body, text + 1, length - 2);
            body[length - 2] = '\0';
        }
        json_object_put(o);
    }
    gbx_explanation_free(explanation);
    free(predictions);
    return body;
}

char *service_answer_compose(const char *id, const service_model *m, const char *body)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_string(id));
    json_object_object_add(o, "model_name", json_object_new_string(m->config->name));
    json_object_object_add(o, "model_version", json_object_new_string(m->version));
    const char *head = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    size_t length = strlen(head), size = length + strlen(body) + 2;
    char *answer = malloc(size);
    if (answer) snprintf(answer, size, "%.*s,%s}", (int)(length - 1), head, body);
    json_object_put(o);
    return answer;
}
