#include "background.h"

#include <stdlib.h>
#include <string.h>

void gbx_background_release(gbx_background *background)
{
    free(background->rows);
    free(background->weight);
    free(background->mean);
    memset(background, 0, sizeof *background);
}

gbx_status gbx_background_init(gbx_background *background, const gbx_model *model,
                               const gbx_data *data, int predictions, gbx_error *error)
{
    size_t M = model->features, N = data->rows, K = model->outputs;
    memset(background, 0, sizeof *background);
    if (N == 0) return gbx_fail(error, GBX_ERR_USAGE, "the background data set has no rows");
    background->count = N;
    background->rows = gbx_malloc_array(N * (M ? M : 1), sizeof(double));
    background->mean = gbx_calloc(K, sizeof(double));
    double *outputs = gbx_malloc_array(N * K, sizeof(double));
    gbx_status status = background->rows && background->mean && outputs
                            ? GBX_OK : gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    if (status == GBX_OK && data->weights) {
        if (!(background->weight = gbx_malloc_array(N, sizeof(double))))
            status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
        else
            memcpy(background->weight, data->weights, N * sizeof(double));
    }
    if (status == GBX_OK) {
        memcpy(background->rows, data->values, N * M * sizeof(double));
        status = model->predict_raw(model, background->rows, N, outputs, error);
    }
    for (size_t b = 0; status == GBX_OK && predictions && b < N; b++)
        model->transform(model, outputs + b * K);
    for (size_t k = 0; status == GBX_OK && k < K; k++)
        background->mean[k] = gbx_background_average(background, outputs + k, K);
    free(outputs);
    if (status != GBX_OK) gbx_background_release(background);
    return status;
}

double gbx_background_average(const gbx_background *background, const double *values,
                              size_t stride)
{
    double sum = 0.0;
    if (background->weight) {
        for (size_t b = 0; b < background->count; b++) sum += background->weight[b] * values[b * stride];
        return sum;
    }
    for (size_t b = 0; b < background->count; b++) sum += values[b * stride];
    return sum / (double)background->count;
}
