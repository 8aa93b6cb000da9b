/* Exact interventional SHAP values of a linear model (shap's LinearExplainer with independent
 * features): phi_ki = w_ki (x_i - mean of the background's x_i), in the linear predictor's
 * space, with base value E_b[f] = intercept_k + sum_i w_ki mean_i. */
#ifndef GBX_LINEAR_SHAP_H
#define GBX_LINEAR_SHAP_H

#include "../models/model.h"
#include "players.h"

typedef struct gbx_linear_shap gbx_linear_shap;

gbx_status gbx_linear_shap_prepare(const gbx_model *model, const gbx_data *background,
                                   const gbx_players *players, gbx_linear_shap **out,
                                   gbx_error *error);
void gbx_linear_shap_free(gbx_linear_shap *linear);
void gbx_linear_shap_base_values(const gbx_linear_shap *linear, double *out);
gbx_status gbx_linear_shap_explain(const gbx_linear_shap *linear, const double *rows, size_t count,
                                   double *values, double *predictions, gbx_error *error);

#endif
