/* Linear and logistic regression models from a small JSON file:
 *
 *   {"glassbox_linear": 1,
 *    "feature_names": ["age", "income"],          (optional)
 *    "coefficients": [0.5, -1.2] or [[...], ...],  (one row per output)
 *    "intercepts": 0.1 or [...],                   (optional, default 0)
 *    "link": "identity" | "logit" | "softmax"}     (optional, default identity)
 *
 * The raw output is the linear predictor; the link maps it to the prediction. */
#include "model.h"

#include <json-c/json.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    double *weights;    /* [K][M] */
    double *intercepts; /* [K] */
} linear_adapter;

static void release(gbx_model *model)
{
    linear_adapter *a = model->adapter;
    if (!a) return;
    free(a->weights);
    free(a->intercepts);
    free(a);
    model->adapter = NULL;
}

static gbx_status predict(const gbx_model *model, const double *rows, size_t count, double *out,
                          gbx_error *error)
{
    const linear_adapter *a = model->adapter;
    size_t M = model->features, K = model->outputs;
    for (size_t r = 0; r < count; r++)
        for (size_t k = 0; k < K; k++) {
            double z = a->intercepts[k];
            for (size_t f = 0; f < M; f++) {
                double x = rows[r * M + f];
                if (isnan(x))
                    return gbx_fail(error, GBX_ERR_USAGE, "row %zu: feature %zu is missing; a "
                                    "linear model has no rule for missing values", r + 1, f);
                z += a->weights[k * M + f] * x;
            }
            out[r * K + k] = z;
        }
    return GBX_OK;
}

const double *gbx_linear_weights(const gbx_model *model)
{
    return model->predict_raw == predict ? ((const linear_adapter *)model->adapter)->weights : NULL;
}

const double *gbx_linear_intercepts(const gbx_model *model)
{
    return model->predict_raw == predict ? ((const linear_adapter *)model->adapter)->intercepts
                                         : NULL;
}

gbx_status gbx_linear_init(gbx_model *model, size_t K, size_t M, double *weights,
                           double *intercepts, gbx_link link, gbx_error *error)
{
    linear_adapter *a = calloc(1, sizeof *a);
    if (!a) {
        free(weights);
        free(intercepts);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    a->weights = weights;
    a->intercepts = intercepts;
    model->adapter = a;
    model->release_adapter = release;
    model->features = M;
    model->predict_raw = predict;
    model->link = link;
    model->transform = link == GBX_LINK_LOGIT     ? gbx_transform_sigmoid
                       : link == GBX_LINK_SOFTMAX ? gbx_transform_softmax
                                                  : gbx_transform_identity;
    gbx_status status = gbx_model_set_outputs(model, K, "output");
    return status == GBX_OK ? GBX_OK : gbx_fail(error, status, "out of memory");
}

static int is_number(json_object *o)
{
    return json_object_is_type(o, json_type_double) || json_object_is_type(o, json_type_int);
}

/* Reads a number or an array of `count` numbers (count 0: any length, returned in *count). */
static gbx_status numbers(const char *name, json_object *o, const char *key, size_t *count,
                          double **out, gbx_error *error)
{
    size_t n = json_object_is_type(o, json_type_array) ? json_object_array_length(o) : 1;
    if (!is_number(o) && !json_object_is_type(o, json_type_array))
        return gbx_fail(error, GBX_ERR_PARSE, "%s: %s must be a number or an array of numbers",
                        name, key);
    if (*count && n != *count)
        return gbx_fail(error, GBX_ERR_PARSE, "%s: %s has %zu numbers, expected %zu", name, key,
                        n, *count);
    *out = gbx_malloc_array(n ? n : 1, sizeof(double));
    if (!*out) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_object *item = json_object_is_type(o, json_type_array) ? json_object_array_get_idx(o, i) : o;
        if (!is_number(item) || !isfinite(json_object_get_double(item)))
            return gbx_fail(error, GBX_ERR_PARSE, "%s: %s[%zu] is not a finite number", name,
                            key, i);
        (*out)[i] = json_object_get_double(item);
    }
    *count = n;
    return GBX_OK;
}

static gbx_status load(const char *name, json_object *root, gbx_model *model, gbx_error *error)
{
    json_object *version, *coefficients, *intercepts = NULL, *link = NULL, *names = NULL;
    if (!json_object_object_get_ex(root, "glassbox_linear", &version) ||
        json_object_get_int(version) != 1)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "%s: glassbox_linear version 1 expected", name);
    if (!json_object_object_get_ex(root, "coefficients", &coefficients) ||
        !json_object_is_type(coefficients, json_type_array) ||
        json_object_array_length(coefficients) == 0)
        return gbx_fail(error, GBX_ERR_PARSE, "%s: \"coefficients\" must be a non-empty array",
                        name);
    json_object_object_get_ex(root, "intercepts", &intercepts);
    json_object_object_get_ex(root, "link", &link);
    json_object_object_get_ex(root, "feature_names", &names);
    /* One output (a flat array) or one row of coefficients per output. */
    int nested = json_object_is_type(json_object_array_get_idx(coefficients, 0), json_type_array);
    size_t K = nested ? json_object_array_length(coefficients) : 1, M = 0;
    if (K > 64) return gbx_fail(error, GBX_ERR_UNSUPPORTED, "%s: %zu outputs (at most 64)", name, K);
    double *weights = NULL, *bias = NULL;
    gbx_status status = GBX_OK;
    for (size_t k = 0; k < K && status == GBX_OK; k++) {
        double *row = NULL;
        size_t n = M;
        char key[48];
        snprintf(key, sizeof key, nested ? "coefficients[%zu]" : "coefficients", k);
        status = numbers(name, nested ? json_object_array_get_idx(coefficients, k) : coefficients,
                         key, &n, &row, error);
        if (status == GBX_OK && k == 0) {
            M = n;
            if (!(weights = gbx_malloc_array(K * M, sizeof(double))))
                status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
        }
        if (status == GBX_OK) memcpy(weights + k * M, row, M * sizeof(double));
        free(row);
    }
    size_t n = K;
    if (status == GBX_OK)
        status = intercepts ? numbers(name, intercepts, "intercepts", &n, &bias, error)
                 : (bias = gbx_calloc(K, sizeof(double))) ? GBX_OK
                                                         : gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    const char *link_name = link ? json_object_get_string(link) : "identity";
    gbx_link kind = GBX_LINK_OTHER;
    if (strcmp(link_name, "identity") == 0) kind = GBX_LINK_IDENTITY;
    else if (strcmp(link_name, "logit") == 0 && K == 1) kind = GBX_LINK_LOGIT;
    else if (strcmp(link_name, "softmax") == 0 && K > 1) kind = GBX_LINK_SOFTMAX;
    if (status == GBX_OK && kind == GBX_LINK_OTHER)
        status = gbx_fail(error, GBX_ERR_PARSE, "%s: link \"%s\" (identity; logit with one "
                          "output; softmax with several)", name, link_name);
    if (status != GBX_OK) {
        free(weights);
        free(bias);
        return status;
    }
    if ((status = gbx_linear_init(model, K, M, weights, bias, kind, error)) != GBX_OK)
        return status;
    if (names) {
        if (!json_object_is_type(names, json_type_array) || json_object_array_length(names) != M)
            return gbx_fail(error, GBX_ERR_PARSE, "%s: feature_names must list %zu names", name, M);
        model->feature_names = gbx_calloc(M, sizeof(char *));
        if (!model->feature_names) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
        for (size_t f = 0; f < M; f++)
            if (!(model->feature_names[f] =
                      gbx_strdup(json_object_get_string(json_object_array_get_idx(names, f)))))
                return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    model->objective = gbx_strdup(link_name);
    return model->objective ? GBX_OK : gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
}

gbx_status gbx_linear_load(const char *name, const char *bytes, size_t length, gbx_model *model,
                           gbx_error *error)
{
    if (length > INT_MAX)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "%s: larger than 2 GB", name);
    json_tokener *tokener = json_tokener_new();
    if (!tokener) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    json_object *root = json_tokener_parse_ex(tokener, bytes, (int)length);
    enum json_tokener_error failure = json_tokener_get_error(tokener);
    json_tokener_free(tokener);
    if (!root || failure != json_tokener_success) {
        json_object_put(root);
        return gbx_fail(error, GBX_ERR_PARSE, "%s: not valid JSON: %s", name,
                        json_tokener_error_desc(failure));
    }
    gbx_status status = load(name, root, model, error);
    json_object_put(root);
    return status;
}
