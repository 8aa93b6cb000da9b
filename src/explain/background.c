#include "background.h"

#include <stdlib.h>
#include <string.h>

void gbx_background_release(gbx_background *background)
{
    free(background->rows);
    free(background->weight);
    free(background->mean);
    free(background->outputs);
    gbx_tree_coalitions_free(background->trees);
    memset(background, 0, sizeof *background);
}

/* Coalition tables of a tree model are kept up to this size; larger models evaluate hybrids. */
#define TREE_TABLE_BUDGET ((size_t)256 << 20)

gbx_status gbx_background_init(gbx_background *background, const gbx_model *model,
                               const gbx_data *data, const int32_t *player, size_t players,
                               int predictions, gbx_error *error)
{
    size_t M = model->features, N = data->rows, K = model->outputs;
    memset(background, 0, sizeof *background);
    if (N == 0) return gbx_fail(error, GBX_ERR_USAGE, "the background data set has no rows");
    background->count = N;
    background->model = model;
    background->player = player;
    background->players = players;
    background->own_players = players == M;
    for (size_t f = 0; f < M; f++) background->own_players &= player[f] == (int32_t)f;
    background->predictions = predictions;
    background->rows = gbx_malloc_array(N * (M ? M : 1), sizeof(double));
    background->mean = gbx_calloc(K, sizeof(double));
    double *outputs = background->outputs = gbx_malloc_array(N * K, sizeof(double));
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
    /* Averages of transformed outputs do not decompose over leaves: tables for raw space only. */
    if (status == GBX_OK && model->trees && !predictions)
        background->trees = gbx_tree_coalitions_new(model, background->rows, background->weight,
                                                    N, player, players, TREE_TABLE_BUDGET);
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

int gbx_background_needs_hybrids(const gbx_background *background)
{
    return background->trees == NULL;
}

/* The columns a coalition (a mask over players) takes from x, into from_x; returns how many. */
static size_t columns_from_x(const gbx_background *background, const uint8_t *in, size_t *from_x)
{
    size_t taken = 0, M = background->model->features;
    for (size_t f = 0; f < M; f++) { /* without a branch: the mask is a coin toss */
        from_x[taken] = f;
        taken += in[background->player[f]] != 0;
    }
    return taken;
}

gbx_status gbx_background_values(const gbx_background *background, const double *x,
                                 const uint8_t *masks, size_t count, double *hybrids,
                                 double *outputs, double *v, gbx_error *error)
{
    const gbx_model *model = background->model;
    size_t N = background->count, M = model->features, K = model->outputs, P = background->players;
    if (background->trees)
        return gbx_tree_coalitions_values(background->trees, x, masks, count, v) == GBX_OK
                   ? GBX_OK : gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    /* Each hybrid is its background row with the coalition's columns from x written over it. */
    size_t *from_x = gbx_malloc_array(M ? M : 1, sizeof(size_t));
    if (!from_x) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    for (size_t c = 0; c < count; c++) {
        size_t taken = columns_from_x(background, masks + c * P, from_x);
        double *h = hybrids + c * N * M;
        memcpy(h, background->rows, N * M * sizeof(double));
        for (size_t b = 0; b < N; b++, h += M)
            for (size_t i = 0; i < taken; i++) h[from_x[i]] = x[from_x[i]];
    }
    free(from_x);
    gbx_status status = model->predict_raw(model, hybrids, count * N, outputs, error);
    if (status != GBX_OK) return status;
    if (background->predictions)
        for (size_t r = 0; r < count * N; r++) model->transform(model, outputs + r * K);
    for (size_t c = 0; c < count; c++)
        for (size_t k = 0; k < K; k++)
            v[c * K + k] = gbx_background_average(background, outputs + c * N * K + k, K);
    return GBX_OK;
}

/* x's column where a coalition takes it, else the background row's: a select on the bits
 * rather than a branch (whether a column comes from x is a coin toss the branch predictor
 * cannot learn). */
static inline double select_column(uint8_t take, double from_x, double from_row)
{
    uint64_t mask = (uint64_t)0 - (uint64_t)(take != 0), a, b;
    memcpy(&a, &from_x, sizeof a);
    memcpy(&b, &from_row, sizeof b);
    a = (a & mask) | (b & ~mask);
    memcpy(&from_x, &a, sizeof a);
    return from_x;
}

/* Hybrid rows against single background rows: hybrid i takes coalition masks[coalition[i]]
 * (coalition NULL: i) against background row reference[i]. Where each column is its own
 * player the mask is read in place and the loop vectorises, built for each vector width. */
GBX_VECTOR_CLONES
static void hybrids_at(const gbx_background *background, const size_t *reference,
                       const size_t *coalition, const double *x, const uint8_t *masks,
                       size_t count, double *hybrids)
{
    size_t M = background->model->features, P = background->players;
    for (size_t i = 0; i < count; i++) {
        const uint8_t *restrict in = masks + (coalition ? coalition[i] : i) * P;
        const double *restrict row = background->rows + reference[i] * M;
        double *restrict h = hybrids + i * M;
        if (background->own_players)
            for (size_t f = 0; f < M; f++) h[f] = select_column(in[f], x[f], row[f]);
        else
            for (size_t f = 0; f < M; f++)
                h[f] = select_column(in[background->player[f]], x[f], row[f]);
    }
}

gbx_status gbx_background_values_at(const gbx_background *background, const size_t *reference,
                                    const double *x, const uint8_t *masks, size_t count,
                                    double *hybrids, double *v, gbx_error *error)
{
    const gbx_model *model = background->model;
    size_t K = model->outputs;
    hybrids_at(background, reference, NULL, x, masks, count, hybrids);
    gbx_status status = model->predict_raw(model, hybrids, count, v, error);
    if (status == GBX_OK && background->predictions)
        for (size_t c = 0; c < count; c++) model->transform(model, v + c * K);
    return status;
}

gbx_status gbx_background_values_drawn(const gbx_background *background, const double *x,
                                       const uint8_t *masks, const size_t *rows, size_t count,
                                       const size_t *reference, double *hybrids,
                                       double *outputs, gbx_error *error)
{
    const gbx_model *model = background->model;
    size_t K = model->outputs, total = 0;
    for (size_t c = 0; c < count; c++) total += rows[c];
    size_t *coalition = gbx_malloc_array(total ? total : 1, sizeof(size_t));
    if (!coalition) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    for (size_t c = 0, i = 0; c < count; c++)
        for (size_t j = 0; j < rows[c]; j++) coalition[i++] = c;
    hybrids_at(background, reference, coalition, x, masks, total, hybrids);
    free(coalition);
    gbx_status status = model->predict_raw(model, hybrids, total, outputs, error);
    if (status == GBX_OK && background->predictions)
        for (size_t r = 0; r < total; r++) model->transform(model, outputs + r * K);
    return status;
}

size_t gbx_background_draw(const gbx_background *background, double u)
{
    size_t N = background->count;
    if (!background->weight) {
        size_t b = (size_t)(u * (double)N);
        return b < N ? b : N - 1;
    }
    for (size_t b = 0; b + 1 < N; b++) {
        if (u < background->weight[b]) return b;
        u -= background->weight[b];
    }
    return N - 1;
}
