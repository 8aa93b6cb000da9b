#include "exact.h"

#include "background.h"

#include <stdlib.h>
#include <string.h>

/* Model evaluations per batch handed to predict_raw. */
#define BATCH_ROWS 4096
/* Coalition values held at once (doubles): rows are explained in groups that fit. */
#define VALUE_BUDGET ((size_t)1 << 22)

struct gbx_exact {
    const gbx_model *model;
    gbx_background background;
    size_t N, M, K, P;  /* P players: coalitions are subsets of them */
    int32_t *player;    /* [M]: player of each column */
    double weight[GBX_EXACT_MAX_FEATURES]; /* |S|! (P - |S| - 1)! / P!, by |S| */
};

void gbx_exact_free(gbx_exact *exact)
{
    if (!exact) return;
    gbx_background_release(&exact->background);
    free(exact->player);
    free(exact);
}

gbx_status gbx_exact_prepare(const gbx_model *model, const gbx_data *background,
                             const gbx_players *players, gbx_exact **out, gbx_error *error)
{
    size_t M = model->features, N = background->rows, K = model->outputs;
    size_t P = players ? players->count : M;
    if (P > GBX_EXACT_MAX_FEATURES)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "method exact evaluates all 2^M coalitions "
                        "and takes at most %d features; this model has %zu%s (use a sampling "
                        "method: kernel or permutation)", GBX_EXACT_MAX_FEATURES, P,
                        players ? " features and groups" : "");
    gbx_exact *exact = calloc(1, sizeof *exact);
    if (!exact) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    exact->model = model;
    exact->N = N, exact->M = M, exact->K = K;
    gbx_status status = gbx_players_copy(players, M, &exact->player, &exact->P, error);
    if (status == GBX_OK)
        status = gbx_background_init(&exact->background, model, background, exact->player,
                                     exact->P, 0, error);
    /* weight[s] = s! (P-s-1)! / P!, built as a running product to stay exact for P <= 24 */
    for (size_t s = 0; s < P; s++) {
        double w = 1.0 / (double)P;
        for (size_t j = 1; j <= s; j++) w *= (double)j / (double)(P - j);
        exact->weight[s] = w;
    }
    if (status != GBX_OK) {
        gbx_exact_free(exact);
        return status;
    }
    *out = exact;
    return GBX_OK;
}

void gbx_exact_base_values(const gbx_exact *exact, double *out)
{
    memcpy(out, exact->background.mean, exact->K * sizeof(double));
}

/* v(S) for the coalitions [first, first + count) of one row, S's bit p saying whether player
 * p comes from x; masks is scratch of count x P. */
static gbx_status coalition_values(const gbx_exact *exact, const double *x, size_t first,
                                   size_t count, uint8_t *masks, double *hybrids,
                                   double *outputs, double *v, gbx_error *error)
{
    size_t P = exact->P;
    for (size_t c = 0; c < count; c++)
        for (size_t p = 0; p < P; p++) masks[c * P + p] = (first + c) >> p & 1;
    return gbx_background_values(&exact->background, x, masks, count, hybrids, outputs,
                                 v + first * exact->K, error);
}

gbx_status gbx_exact_explain(const gbx_exact *exact, const double *rows, size_t count,
                             double *values, double *predictions, int threads, gbx_error *error)
{
    size_t N = exact->N, M = exact->M, K = exact->K, P = exact->P, coalitions = (size_t)1 << P;
    size_t per_batch = BATCH_ROWS / N > 0 ? BATCH_ROWS / N : 1;
    if (per_batch > coalitions) per_batch = coalitions;
    size_t batches = (coalitions + per_batch - 1) / per_batch;
    size_t group = VALUE_BUDGET / (coalitions * K) > 0 ? VALUE_BUDGET / (coalitions * K) : 1;
    if (group > count) group = count;
    double *v = gbx_malloc_array(group * coalitions * K, sizeof(double));
    if (!v) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory for %zu coalition values",
                            group * coalitions * K);
    gbx_status status = exact->model->predict_raw(exact->model, rows, count, predictions, error);
    /* The failing task with the lowest index reports, whatever the thread count. */
    size_t failed_task = SIZE_MAX;
    gbx_error first_error = {0};
    for (size_t start = 0; status == GBX_OK && start < count; start += group) {
        size_t rows_here = count - start < group ? count - start : group;
        size_t tasks = rows_here * batches;
#pragma omp parallel num_threads(threads)
        {
            int hybrid = gbx_background_needs_hybrids(&exact->background);
            double *hybrids = hybrid ? gbx_malloc_array(per_batch * N * M, sizeof(double)) : NULL;
            double *outputs = hybrid ? gbx_malloc_array(per_batch * N * K, sizeof(double)) : NULL;
            uint8_t *masks = gbx_malloc_array(per_batch * (P ? P : 1), 1);
#pragma omp for schedule(dynamic, 1)
            for (size_t task = 0; task < tasks; task++) {
                size_t r = task / batches, first = task % batches * per_batch;
                size_t n = coalitions - first < per_batch ? coalitions - first : per_batch;
                gbx_error task_error = {0};
                gbx_status task_status =
                    masks && (!hybrid || (hybrids && outputs))
                        ? coalition_values(exact, rows + (start + r) * M, first, n, masks,
                                           hybrids, outputs, v + r * coalitions * K, &task_error)
                        : gbx_fail(&task_error, GBX_ERR_NOMEM, "out of memory for model inputs");
                if (task_status != GBX_OK) {
#pragma omp critical(gbx_exact_error)
                    if (task < failed_task) failed_task = task, first_error = task_error;
                }
            }
            free(hybrids);
            free(outputs);
            free(masks);
        }
        if (failed_task != SIZE_MAX) {
            status = first_error.status;
            if (error) *error = first_error;
            break;
        }
        /* phi_i = sum over S without i of weight(|S|) (v(S + i) - v(S)), in a fixed order. */
#pragma omp parallel for schedule(static) num_threads(threads)
        for (size_t r = 0; r < rows_here; r++) {
            const double *vr = v + r * coalitions * K;
            for (size_t k = 0; k < K; k++)
                for (size_t i = 0; i < P; i++) {
                    size_t bit = (size_t)1 << i;
                    double phi = 0.0;
                    for (size_t S = 0; S < coalitions; S++)
                        if (!(S & bit))
                            phi += exact->weight[__builtin_popcountll(S)] *
                                   (vr[(S | bit) * K + k] - vr[S * K + k]);
                    values[((start + r) * K + k) * P + i] = phi;
                }
        }
    }
    free(v);
    return status;
}

/* ---- the method's row: every coalition ------------------------------------------------- */
#include "method.h"

static gbx_status exact_check(const gbx_model *model, const gbx_explainer_options *options,
                              gbx_error *error)
{
    size_t explained = options->group_count ? options->group_count : model->features;
    if (explained > GBX_EXACT_MAX_FEATURES)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "method exact evaluates all 2^M coalitions "
                        "and takes at most %d features; this model has %zu%s (use a sampling "
                        "method: kernel or permutation)", GBX_EXACT_MAX_FEATURES, explained,
                        options->group_count ? " features and groups" : "");
    return GBX_OK;
}

static gbx_status exact_prepare(gbx_explainer *x, const gbx_data *background, gbx_error *error)
{
    gbx_exact *exact;
    gbx_status status = gbx_exact_prepare(x->model, background, gbx_explainer_players(x),
                                          &exact, error);
    if (status != GBX_OK) return status;
    x->state = exact;
    gbx_exact_base_values(exact, x->base_values);
    return GBX_OK;
}

static gbx_status exact_explain(const gbx_explainer *x, const gbx_data *data, gbx_explanation *e,
                                gbx_error *error)
{
    return gbx_exact_explain(x->state, data->values, data->rows, e->values, e->predictions,
                             x->threads, error);
}

static void exact_release(void *state) { gbx_exact_free(state); }

const gbx_method_row gbx_exact_method = {
    GBX_METHOD_EXACT, "exact", NULL, METHOD_BACKGROUND | METHOD_MODEL_CALLS,
    "a background data set", 0, exact_check, exact_prepare, exact_explain, gbx_background_parameters, exact_release};
