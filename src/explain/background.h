/* The background set as the model-agnostic methods (exact, permutation, kernel) keep it: a
 * copy of its rows and the mean model output over them, E[f], their base value. */
#ifndef GBX_BACKGROUND_H
#define GBX_BACKGROUND_H

#include "../models/model.h"

typedef struct {
    double *rows;   /* [count][features] */
    size_t count;
    double *weight; /* [count] summing to 1 for a weighted summary (k-means), else NULL */
    double *mean;   /* [outputs]: mean raw output, or mean prediction when asked */
} gbx_background;

/* predictions: average the model's predictions (transformed outputs) instead of raw outputs. */
gbx_status gbx_background_init(gbx_background *background, const gbx_model *model,
                               const gbx_data *data, int predictions, gbx_error *error);
void gbx_background_release(gbx_background *background);
/* The background's expectation of one number per background row (values[b * stride]): the
 * weighted sum for a weighted background, the plain mean otherwise. */
double gbx_background_average(const gbx_background *background, const double *values,
                              size_t stride);

#endif
