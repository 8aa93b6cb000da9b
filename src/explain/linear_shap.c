#include "linear_shap.h"

#include <stdlib.h>
#include <string.h>

struct gbx_linear_shap {
    const gbx_model *model;
    double *mean; /* [M], the background's */
    double *base; /* [K] */
    int32_t *player; /* [M]; a group's value is the sum of its columns' (the game is additive) */
    size_t P;
};

void gbx_linear_shap_free(gbx_linear_shap *linear)
{
    if (!linear) return;
    free(linear->mean);
    free(linear->base);
    free(linear->player);
    free(linear);
}

gbx_status gbx_linear_shap_prepare(const gbx_model *model, const gbx_data *background,
                                   const gbx_players *players, gbx_linear_shap **out,
                                   gbx_error *error)
{
    const double *w = gbx_linear_weights(model), *intercepts = gbx_linear_intercepts(model);
    size_t M = model->features, K = model->outputs, N = background->rows;
    if (!w) return gbx_fail(error, GBX_ERR_UNSUPPORTED, "method linear needs a linear model "
                            "(a glassbox_linear JSON file)");
    if (N == 0) return gbx_fail(error, GBX_ERR_USAGE, "the background data set has no rows");
    gbx_linear_shap *linear = calloc(1, sizeof *linear);
    if (!linear) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    linear->model = model;
    linear->mean = gbx_calloc(M ? M : 1, sizeof(double));
    linear->base = gbx_calloc(K, sizeof(double));
    if (!linear->mean || !linear->base ||
        gbx_players_copy(players, M, &linear->player, &linear->P, error) != GBX_OK) {
        gbx_linear_shap_free(linear);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    /* The background's (weighted) mean row. */
    for (size_t b = 0; b < N; b++)
        for (size_t f = 0; f < M; f++)
            linear->mean[f] += (background->weights ? background->weights[b] : 1.0) *
                               background->values[b * M + f];
    for (size_t f = 0; f < M; f++) {
        if (!background->weights) linear->mean[f] /= (double)N;
        if (linear->mean[f] != linear->mean[f]) {
            gbx_linear_shap_free(linear);
            return gbx_fail(error, GBX_ERR_USAGE, "background column %zu has missing values; a "
                            "linear model has no rule for them", f + 1);
        }
    }
    for (size_t k = 0; k < K; k++) {
        linear->base[k] = intercepts[k];
        for (size_t f = 0; f < M; f++) linear->base[k] += w[k * M + f] * linear->mean[f];
    }
    *out = linear;
    return GBX_OK;
}

void gbx_linear_shap_base_values(const gbx_linear_shap *linear, double *out)
{
    memcpy(out, linear->base, linear->model->outputs * sizeof(double));
}

gbx_status gbx_linear_shap_explain(const gbx_linear_shap *linear, const double *rows, size_t count,
                                   double *values, double *predictions, gbx_error *error)
{
    const gbx_model *model = linear->model;
    const double *w = gbx_linear_weights(model);
    size_t M = model->features, K = model->outputs, P = linear->P;
    gbx_status status = model->predict_raw(model, rows, count, predictions, error);
    for (size_t r = 0; status == GBX_OK && r < count; r++)
        for (size_t k = 0; k < K; k++) {
            double *phi = values + (r * K + k) * P;
            memset(phi, 0, P * sizeof(double));
            for (size_t f = 0; f < M; f++)
                phi[linear->player[f]] += w[k * M + f] * (rows[r * M + f] - linear->mean[f]);
        }
    return status;
}

/* ---- the method's row: exact LinearSHAP ------------------------------------------------- */
#include "method.h"

static gbx_status linear_prepare(gbx_explainer *x, const gbx_data *background, gbx_error *error)
{
    gbx_linear_shap *linear;
    gbx_status status = gbx_linear_shap_prepare(x->model, background, gbx_explainer_players(x),
                                                &linear, error);
    if (status != GBX_OK) return status;
    x->state = linear;
    gbx_linear_shap_base_values(linear, x->base_values);
    return GBX_OK;
}

static gbx_status linear_explain(const gbx_explainer *x, const gbx_data *data, gbx_explanation *e,
                                 gbx_error *error)
{
    return gbx_linear_shap_explain(x->state, data->values, data->rows, e->values, e->predictions,
                                   error);
}

static void linear_release(void *state) { gbx_linear_shap_free(state); }

const gbx_method_row gbx_linear_method = {
    GBX_METHOD_LINEAR, "linear", NULL, METHOD_BACKGROUND, "a background data set", 0, NULL,
    linear_prepare, linear_explain, gbx_background_parameters, linear_release};
