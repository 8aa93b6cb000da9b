#include "permutation.h"

#include "background.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct gbx_permutation {
    const gbx_model *model;
    gbx_background background;
    size_t N, M, K, P, pairs; /* P players are ordered; M columns make a model row */
    int32_t *player;          /* [M] */
    uint64_t seed;
    int one_row;              /* each pair against one background row drawn by weight */
};

void gbx_permutation_free(gbx_permutation *p)
{
    if (!p) return;
    gbx_background_release(&p->background);
    free(p->player);
    free(p);
}

gbx_status gbx_permutation_prepare(const gbx_model *model, const gbx_data *background,
                                   const gbx_players *players, size_t max_evals, uint64_t seed,
                                   int one_row, gbx_permutation **out, gbx_error *error)
{
    size_t M = model->features, N = background->rows, K = model->outputs;
    gbx_permutation *p = calloc(1, sizeof *p);
    if (!p) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    p->model = model;
    p->N = N, p->M = M, p->K = K, p->seed = seed, p->one_row = one_row;
    gbx_status status = gbx_players_copy(players, M, &p->player, &p->P, error);
    /* A pair of orders costs 2 (P + 1) coalitions, less the two shared ends. */
    size_t per_pair = 2 * p->P > 0 ? 2 * p->P : 1;
    p->pairs = (max_evals ? max_evals : 500) / per_pair;
    if (p->pairs == 0) p->pairs = 1;
    if (status == GBX_OK)
        status = gbx_background_init(&p->background, model, background, p->player, p->P, 0,
                                     error);
    if (status != GBX_OK) {
        gbx_permutation_free(p);
        return status;
    }
    *out = p;
    return GBX_OK;
}

void gbx_permutation_base_values(const gbx_permutation *p, double *out)
{
    memcpy(out, p->background.mean, p->K * sizeof(double));
}

size_t gbx_permutation_pairs(const gbx_permutation *p) { return p->pairs; }

/* Order `index` of a row's stream; *state is left for the pair's other draws. */
static void random_order(uint64_t seed, size_t index, size_t M, size_t *order, uint64_t *rest)
{
    uint64_t state = seed ^ (0xD1B54A32D192ED03ULL * (index + 1));
    for (size_t i = 0; i < M; i++) order[i] = i;
    for (size_t i = M; i > 1; i--) { /* Fisher-Yates */
        size_t j = (size_t)gbx_random_below(&state, i);
        size_t t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
    *rest = state;
}

/* Pairs of orders for one row: v along each order and along its reverse, each pair's steps
 * averaged into its sample[K][P]. The ends need no model call: v(empty) is the background's
 * mean (or the drawn row's output) and v(all) is f(x), fx. All the pairs' other coalitions go
 * to the model in one call (one batch, and for a tree model's tables one walk set-up per row
 * and coalitions that share a tree's walk): per pair, masks holds 2 (P + 1) P bytes, hybrids
 * 2 (P + 1) N rows and outputs 2 (P + 1) N K values (when the background needs them),
 * reference 2 (P + 1) entries, and v and middle 2 (P + 1) K values each; against the whole
 * background when drawn is NULL, else pair i against background row drawn[i]. */
static gbx_status pairs_sample(const gbx_permutation *p, const double *x, const double *fx,
                               const size_t *orders, size_t pairs, const size_t *drawn,
                               size_t *reference, uint8_t *masks, double *hybrids,
                               double *outputs, double *v, double *middle, double *samples,
                               gbx_error *error)
{
    size_t K = p->K, P = p->P, inner = P > 1 ? 2 * (P - 1) : 0;
    for (size_t i = 0; drawn && i < pairs; i++)
        for (size_t j = 0; j < inner; j++) reference[i * inner + j] = drawn[i];
    memset(samples, 0, pairs * K * P * sizeof(double));
    memset(masks, 0, pairs * inner * P);
    for (size_t i = 0; i < pairs; i++) {
        const size_t *order = orders + i * P;
        for (int direction = 0; direction < 2; direction++) {
            /* Inner coalition j (1 <= j < P) of the direction holds the first j players of the
             * order (or of its reverse). */
            uint8_t *row = masks + (i * inner + (size_t)direction * (P - 1)) * P;
            for (size_t j = 1; j < P; j++, row += P) {
                if (j > 1) memcpy(row, row - P, P);
                row[direction == 0 ? order[j - 1] : order[P - j]] = 1;
            }
        }
    }
    gbx_status status = GBX_OK;
    if (inner > 0)
        status = drawn == NULL
                     ? gbx_background_values(&p->background, x, masks, pairs * inner, hybrids,
                                             outputs, middle, error)
                     : gbx_background_values_at(&p->background, reference, x, masks,
                                                pairs * inner, hybrids, middle, error);
    if (status != GBX_OK) return status;
    for (size_t i = 0; i < pairs; i++) {
        const double *empty = drawn ? p->background.outputs + drawn[i] * K : p->background.mean;
        for (int direction = 0; direction < 2; direction++) {
            double *w = v + (i * 2 + (size_t)direction) * (P + 1) * K;
            memcpy(w, empty, K * sizeof(double));
            memcpy(w + P * K, fx, K * sizeof(double));
            if (P > 1)
                memcpy(w + K, middle + (i * inner + (size_t)direction * (P - 1)) * K,
                       (P - 1) * K * sizeof(double));
        }
    }
    for (size_t i = 0; i < pairs; i++) {
        const size_t *order = orders + i * P;
        double *sample = samples + i * K * P;
        for (int direction = 0; direction < 2; direction++) {
            const double *w = v + (i * 2 + (size_t)direction) * (P + 1) * K;
            for (size_t j = 0; j < P; j++) {
                size_t f = direction == 0 ? order[j] : order[P - 1 - j];
                for (size_t k = 0; k < K; k++)
                    sample[k * P + f] += 0.5 * (w[(j + 1) * K + k] - w[j * K + k]);
            }
        }
    }
    return GBX_OK;
}

/* Pair `index` of a row's against one background row: the pairs' rows are a systematic sample
 * by weight (pair i at (i + U) / pairs of the cumulative weights, U uniform per row), so every
 * row takes its share of the pairs instead of a share only on average: the rows' spread, more
 * than half the variance with independent draws on the bench MLP, mostly cancels. The orders
 * are drawn apart from the rows, so each pair's row is still drawn by weight: an unbiased
 * estimate. */
static size_t balanced_row(const gbx_permutation *p, uint64_t key, size_t index)
{
    uint64_t bits = gbx_random_at(key ^ 0x6A09E667F3BCC909ULL, 0);
    double u = ((double)index + (double)(bits >> 11) / 9007199254740992.0) / (double)p->pairs;
    return gbx_background_draw(&p->background, u); /* u rounded to 1 takes the last row */
}

/* Against drawn background rows, the pairs add up to f(x) minus the mean of the drawn rows'
 * outputs rather than E f: the gap, zero on average, is shared out in proportion to each
 * value's variance (the least-squares correction under the sum constraint), as the whole
 * background would have it. */
static void restore_additivity(const gbx_permutation *p, const double *prediction, double *values,
                               const double *errors)
{
    size_t K = p->K, P = p->P;
    for (size_t k = 0; k < K; k++) {
        double gap = prediction[k] - p->background.mean[k], variance = 0.0;
        for (size_t i = 0; i < P; i++) {
            gap -= values[k * P + i];
            if (errors[k * P + i] == errors[k * P + i]) variance += errors[k * P + i] * errors[k * P + i];
        }
        for (size_t i = 0; i < P; i++) {
            double e = errors[k * P + i] == errors[k * P + i] ? errors[k * P + i] : 0.0;
            values[k * P + i] += variance > 0.0 ? gap * e * e / variance : gap / (double)P;
        }
    }
}

gbx_status gbx_permutation_explain(const gbx_permutation *p, const double *rows, size_t count,
                                   double *values, double *standard_errors, double *predictions,
                                   int threads, gbx_error *error)
{
    size_t M = p->M, K = p->K, N = p->N, P = p->P, pairs = p->pairs, cells = K * P;
    gbx_status status = p->model->predict_raw(p->model, rows, count, predictions, error);
    if (status != GBX_OK) return status;
    /* Rows go in groups whose samples fit in about 32 MB; each group's samples are reduced in
     * pair order per row. */
    size_t group = ((size_t)1 << 22) / (pairs * (cells ? cells : 1));
    if (group == 0) group = 1;
    if (group > count) group = count;
    double *samples = gbx_malloc_array(group * pairs * (cells ? cells : 1), sizeof(double));
    size_t batches = p->one_row ? (pairs / 2 < 8 ? pairs / 2 : 8) : 1;
    if (batches < 2) batches = 1;
    double batch_means[8];
    if (!samples)
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory for %zu permutation samples",
                        group * pairs);
    for (size_t start = 0; start < count; start += group) {
        size_t rows_here = count - start < group ? count - start : group;
        /* A task is a row's run of up to `batch` pairs, their masks, values and hybrid rows
         * within 16 MB: up to 256 when no hybrid rows are needed (a tree model's tables); up
         * to 16 against one background row each, whose 2 (P - 1) hybrids a pair go to the
         * model in one call (one pair a call left the MLP plugin's time to call overheads: 16
         * pairs took 14% less at 2 threads on the bench, and 64 no less than 16); one pair
         * against the whole background, already N rows a coalition. */
        int hybrid = p->one_row || gbx_background_needs_hybrids(&p->background);
        size_t pair_bytes = 2 * (P + 1) * (P + K * sizeof(double) + (p->one_row ? M * sizeof(double) : 0));
        size_t batch = ((size_t)16 << 20) / pair_bytes;
        if (batch > (p->one_row ? 16 : 256)) batch = p->one_row ? 16 : 256;
        if (batch > pairs) batch = pairs;
        if (batch == 0 || (hybrid && !p->one_row)) batch = 1;
        size_t runs = (pairs + batch - 1) / batch, tasks = rows_here * runs, failed_task = SIZE_MAX;
        gbx_error first_error = {0};
#pragma omp parallel num_threads(threads)
        {
            size_t per_coalition = p->one_row ? 1 : N;
            size_t coalitions = batch * 2 * (P + 1);
            double *hybrids = hybrid ? gbx_malloc_array(coalitions * per_coalition * (M ? M : 1), sizeof(double)) : NULL;
            size_t *reference = gbx_malloc_array(coalitions, sizeof(size_t));
            double *outputs = hybrid ? gbx_malloc_array(coalitions * per_coalition * K, sizeof(double)) : NULL;
            double *v = gbx_malloc_array(coalitions * K, sizeof(double));
            double *middle = gbx_malloc_array(coalitions * K, sizeof(double));
            size_t *orders = gbx_malloc_array(batch * (P ? P : 1), sizeof(size_t));
            size_t *drawn = gbx_malloc_array(batch, sizeof(size_t));
            uint8_t *masks = gbx_malloc_array(coalitions * (P ? P : 1), 1);
#pragma omp for schedule(dynamic, 1)
            for (size_t task = 0; task < tasks; task++) {
                size_t r = task / runs, first = task % runs * batch;
                size_t n = pairs - first < batch ? pairs - first : batch;
                const double *x = rows + (start + r) * M;
                gbx_error task_error = {0};
                gbx_status task_status;
                if ((!hybrid || (hybrids && outputs)) && v && middle && orders && drawn && masks && reference) {
                    uint64_t key = gbx_random_key(p->seed, x, M);
                    for (size_t i = 0; i < n; i++) {
                        uint64_t rest;
                        random_order(key, first + i, P, orders + i * P, &rest);
                        if (p->one_row) drawn[i] = balanced_row(p, key, first + i);
                    }
                    task_status = pairs_sample(p, x, predictions + (start + r) * K, orders, n,
                                               p->one_row ? drawn : NULL, reference, masks,
                                               hybrids, outputs, v, middle, samples + (r * pairs + first) * cells, &task_error);
                } else {
                    task_status = gbx_fail(&task_error, GBX_ERR_NOMEM, "out of memory");
                }
                if (task_status != GBX_OK) {
#pragma omp critical(gbx_permutation_error)
                    if (task < failed_task) failed_task = task, first_error = task_error;
                }
            }
            free(hybrids);
            free(outputs);
            free(v);
            free(middle);
            free(orders);
            free(drawn);
            free(masks);
            free(reference);
        }
        if (failed_task != SIZE_MAX) {
            free(samples);
            if (error) *error = first_error;
            return first_error.status;
        }
        for (size_t r = 0; r < rows_here; r++) {
            const double *mine = samples + r * pairs * cells;
            for (size_t c = 0; c < cells; c++)
                gbx_mean_and_error(mine + c, pairs, cells, &values[(start + r) * cells + c],
                                   &standard_errors[(start + r) * cells + c]);
            /* With balanced rows the pairs are not independent: the standard errors come from 8
             * interleaved batches of them, each itself spread over the rows. */
            for (size_t c = 0; batches > 1 && c < cells; c++) {
                for (size_t g = 0; g < batches; g++) {
                    double sum = 0.0;
                    size_t members = 0;
                    for (size_t i = g; i < pairs; i += batches, members++) sum += mine[i * cells + c];
                    batch_means[g] = sum / (double)members;
                }
                double mean;
                gbx_mean_and_error(batch_means, batches, 1, &mean,
                                   &standard_errors[(start + r) * cells + c]);
            }
            if (p->one_row)
                restore_additivity(p, predictions + (start + r) * K, values + (start + r) * cells,
                                   standard_errors + (start + r) * cells);
        }
    }
    free(samples);
    return GBX_OK;
}

/* ---- the method's row: antithetic permutation sampling ---------------------------------- */
#include "method.h"

static gbx_status permutation_check(const gbx_model *model, const gbx_explainer_options *options,
                                    gbx_error *error)
{
    (void)model;
    if (options->sample_background > 1)
        return gbx_fail(error, GBX_ERR_USAGE, "method permutation samples one background row "
                        "per pair of orders, not %zu", options->sample_background);
    return GBX_OK;
}

static gbx_status permutation_prepare(gbx_explainer *x, const gbx_data *background,
                                      gbx_error *error)
{
    gbx_permutation *permutation;
    gbx_status status = gbx_permutation_prepare(x->model, background, gbx_explainer_players(x),
                                                x->options.max_evals, x->options.seed,
                                                x->options.sample_background == 1, &permutation,
                                                error);
    if (status != GBX_OK) return status;
    x->state = permutation;
    gbx_permutation_base_values(permutation, x->base_values);
    return GBX_OK;
}

static gbx_status permutation_explain(const gbx_explainer *x, const gbx_data *data,
                                      gbx_explanation *e, gbx_error *error)
{
    size_t n = data->rows;
    if (!(e->standard_errors = gbx_malloc_array(n * e->outputs * e->features + 1, sizeof(double))))
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory for %zu rows", n);
    return gbx_permutation_explain(x->state, data->values, n, e->values, e->standard_errors,
                                   e->predictions, x->threads, error);
}

static void permutation_parameters(FILE *f, const gbx_explainer *x)
{
    gbx_background_parameters(f, x);
    fprintf(f, ", \"max_evals\": %zu, \"permutation_pairs\": %zu, \"sample_background\": \"%s\"",
            x->options.max_evals ? x->options.max_evals : 500, gbx_permutation_pairs(x->state),
            x->options.sample_background ? "one" : "all");
}

static void permutation_release(void *state) { gbx_permutation_free(state); }

const gbx_method_row gbx_permutation_method = {
    GBX_METHOD_PERMUTATION, "permutation", NULL,
    METHOD_BACKGROUND | METHOD_MODEL_CALLS | METHOD_SAMPLES_BACKGROUND, "a background data set",
    0, permutation_check, permutation_prepare, permutation_explain, permutation_parameters,
    permutation_release};
