#include "kernel.h"

#include "background.h"
#include "lars.h"
#include "../core/blas.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct gbx_kernel {
    const gbx_model *model;
    gbx_background background;
    const double *rows; /* the background's, [N][M] */
    size_t N, M, K, P, max_evals; /* P players (features or groups) of M columns */
    int32_t *player;    /* [M] */
    uint64_t seed;
    int logit;          /* explain logit(E[prediction]) instead of E[raw output] */
    gbx_kernel_l1 l1;   /* feature selection before the fit (--l1-reg) */
    size_t l1_features; /* num_features(K) */
    double tolerance;   /* stop drawing once every standard error is below it (0: never) */
    size_t draw_rows;   /* background rows per draw of a coalition (0: the whole background) */
    double *base;       /* [K] */
};

void gbx_kernel_free(gbx_kernel *kernel)
{
    if (!kernel) return;
    gbx_background_release(&kernel->background);
    free(kernel->player);
    free(kernel->base);
    free(kernel);
}

/* With the logit link each model output row becomes a prediction (probabilities) before it is
 * averaged; the average then goes through logit(p) = log(p / (1 - p)). */
static void to_predictions(const gbx_kernel *kernel, double *outputs, size_t rows)
{
    if (!kernel->logit) return;
    for (size_t r = 0; r < rows; r++) kernel->model->transform(kernel->model, outputs + r * kernel->K);
}

static gbx_status link(const gbx_kernel *kernel, double *value, gbx_error *error)
{
    if (!kernel->logit) return GBX_OK;
    if (!(*value > 0.0 && *value < 1.0))
        return gbx_fail(error, GBX_ERR_USAGE, "link logit needs predictions strictly between 0 "
                        "and 1; the model gave %g", *value);
    *value = log(*value / (1.0 - *value));
    return GBX_OK;
}

gbx_status gbx_kernel_prepare(const gbx_model *model, const gbx_data *background,
                              const gbx_players *players, size_t max_evals, uint64_t seed,
                              int logit, gbx_kernel_l1 l1, size_t l1_features, double tolerance,
                              size_t draw_rows, gbx_kernel **out, gbx_error *error)
{
    if (model->outputs > 64) return gbx_fail(error, GBX_ERR_UNSUPPORTED, "more than 64 outputs");
    if (l1 == GBX_KERNEL_L1_NUM_FEATURES && l1_features == 0)
        return gbx_fail(error, GBX_ERR_USAGE, "l1 regularisation num_features(K) needs K >= 1");
    /* The fit's products run on OpenBLAS: a missing one is an error here, not later. */
    gbx_status loaded = gbx_blas_load(error);
    if (loaded != GBX_OK) return loaded;
    size_t M = model->features, N = background->rows, K = model->outputs;
    gbx_kernel *kernel = calloc(1, sizeof *kernel);
    if (!kernel) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    kernel->model = model;
    kernel->N = N, kernel->M = M, kernel->K = K, kernel->max_evals = max_evals, kernel->seed = seed;
    kernel->logit = logit;
    kernel->l1 = l1;
    kernel->l1_features = l1_features;
    kernel->tolerance = tolerance;
    kernel->draw_rows = draw_rows < N ? draw_rows : 0;
    gbx_status status = gbx_players_copy(players, M, &kernel->player, &kernel->P, error);
    if (status == GBX_OK)
        status = gbx_background_init(&kernel->background, model, background, kernel->player,
                                     kernel->P, logit, error);
    kernel->rows = kernel->background.rows;
    kernel->base = status == GBX_OK ? gbx_malloc_array(K, sizeof(double)) : NULL;
    if (status == GBX_OK && !kernel->base) status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    for (size_t k = 0; status == GBX_OK && k < K; k++) {
        kernel->base[k] = kernel->background.mean[k];
        status = link(kernel, &kernel->base[k], error);
    }
    if (status != GBX_OK) {
        gbx_kernel_free(kernel);
        return status;
    }
    *out = kernel;
    return GBX_OK;
}

void gbx_kernel_base_values(const gbx_kernel *kernel, double *out)
{
    memcpy(out, kernel->base, kernel->K * sizeof(double));
}

/* ---- the sampling plan ---- */

typedef struct {
    uint8_t *masks;   /* [capacity][V]: 1 = the feature comes from the explained row */
    double *weights;
    size_t count, capacity, V;
    size_t fixed;     /* the first `fixed` coalitions enumerate whole sizes; the rest are drawn */
    size_t *draws;    /* [count - fixed]: how often each drawn coalition was drawn */
} plan;

static int plan_add(plan *p, const uint8_t *mask, double weight)
{
    if (p->count == p->capacity) {
        size_t capacity = p->capacity ? 2 * p->capacity : 64;
        uint8_t *masks = realloc(p->masks, capacity * (p->V ? p->V : 1));
        if (!masks) return 0;
        p->masks = masks;
        double *weights = realloc(p->weights, capacity * sizeof(double));
        if (!weights) return 0;
        p->weights = weights;
        p->capacity = capacity;
    }
    memcpy(p->masks + p->count * p->V, mask, p->V);
    p->weights[p->count++] = weight;
    return 1;
}

static double binomial(size_t n, size_t k)
{
    double value = 1.0;
    for (size_t i = 1; i <= k; i++) value = value * (double)(n - k + i) / (double)i;
    return value;
}

/* Adds a mask and, when paired, its complement, with the same weight. */
static int add_with_complement(plan *p, uint8_t *mask, double weight, int paired)
{
    if (!plan_add(p, mask, weight)) return 0;
    if (!paired) return 1;
    for (size_t i = 0; i < p->V; i++) mask[i] = !mask[i];
    int ok = plan_add(p, mask, weight);
    for (size_t i = 0; i < p->V; i++) mask[i] = !mask[i];
    return ok;
}

/* A hash of a mask, eight bytes at a time (a byte at a time cost a multiply per feature). */
static size_t mask_hash(const uint8_t *mask, size_t V)
{
    uint64_t h = 0x9E3779B97F4A7C15u, word;
    size_t i = 0;
    for (; i + 8 <= V; i += 8) {
        memcpy(&word, mask + i, 8);
        h = (h ^ word) * 0xff51afd7ed558ccdu;
        h ^= h >> 31;
    }
    word = 0;
    memcpy(&word, mask + i, V - i);
    h = (h ^ word) * 0xff51afd7ed558ccdu;
    h ^= h >> 33; /* murmur's finaliser: every bit reaches the low ones, which pick the slot */
    h *= 0xc4ceb9fe1a85ec53u;
    h ^= h >> 33;
    return (size_t)h;
}

/* shap's KernelExplainer plan over V varying features with `samples` coalitions. With cost
 * > 1 (each draw against a few background rows, an enumerated coalition against all, `cost`
 * times as many), a size is enumerated only where each of its coalitions would be drawn that
 * often anyway, and a repeated draw takes from the budget, since its rows are new. */
static int build_plan(plan *p, size_t V, size_t samples, double cost, uint64_t *random)
{
    size_t limit = V / 2, paired_sizes = (V - 1) / 2; /* ceil((V-1)/2), floor((V-1)/2) */
    double *weight = calloc(3 * (limit + 1), sizeof(double)), total = 0.0;
    if (!weight) return 0;
    double *remaining = weight + limit + 1, *draw = remaining + limit + 1;
    for (size_t s = 1; s <= limit; s++) {
        weight[s] = (double)(V - 1) / ((double)s * (double)(V - s));
        if (s <= paired_sizes) weight[s] *= 2;
        total += weight[s];
    }
    for (size_t s = 1; s <= limit; s++) remaining[s] = weight[s] /= total;
    uint8_t *mask = calloc(V, 1);
    size_t *index = calloc(V + 1, sizeof(size_t));
    if (!mask || !index) { free(mask); free(index); free(weight); return 0; }
    double left = (double)samples;
    size_t full = 0;
    int ok = 1;
    for (size_t s = 1; ok && s <= limit; s++) {
        int paired = s <= paired_sizes;
        double subsets = binomial(V, s) * (paired ? 2 : 1);
        if (!(left * remaining[s] / subsets >= cost - 1e-8)) break;
        full++;
        left -= subsets * cost;
        double rest = 1.0 - remaining[s];
        if (rest > 0.0)
            for (size_t t = 1; t <= limit; t++) remaining[t] /= rest;
        double w = weight[s] / binomial(V, s) / (paired ? 2.0 : 1.0);
        /* every subset of size s, in lexicographic order */
        for (size_t i = 0; i < s; i++) index[i] = i;
        for (;;) {
            memset(mask, 0, V);
            for (size_t i = 0; i < s; i++) mask[index[i]] = 1;
            if (!(ok = add_with_complement(p, mask, w, paired))) break;
            size_t i = s;
            while (i > 0 && index[i - 1] == V - s + i - 1) i--;
            if (i == 0) break;
            index[i - 1]++;
            for (size_t j = i; j < s; j++) index[j] = index[j - 1] + 1;
        }
    }
    size_t fixed = p->fixed = p->count;
    if (ok && full < limit && left >= 1.0) {
        /* Sample the remaining sizes by their weight (halved for pairs: each draw adds two),
         * merge repeats into one coalition with a larger weight. */
        double draw_total = 0.0;
        for (size_t s = full + 1; s <= limit; s++) {
            draw[s] = weight[s] / (s <= paired_sizes ? 2.0 : 1.0);
            draw_total += draw[s];
        }
        size_t samples_left = (size_t)left, attempts = 4 * samples_left, slots = 64;
        while (slots < 2 * samples_left) slots *= 2;
        size_t *order = calloc(V, sizeof(size_t));
        size_t *seen = gbx_malloc_array(slots, sizeof(size_t)); /* plan indices; SIZE_MAX: free */
        if (!order || !seen) ok = 0;
        for (size_t i = 0; seen && i < slots; i++) seen[i] = SIZE_MAX;
        while (ok && samples_left > 0 && attempts-- > 0) {
            double u = gbx_random_uniform(random) * draw_total;
            size_t s = full + 1;
            while (s < limit && u >= draw[s]) u -= draw[s++];
            for (size_t i = 0; i < V; i++) order[i] = i;
            memset(mask, 0, V);
            for (size_t i = 0; i < s; i++) { /* partial Fisher-Yates: s random features */
                size_t j = i + (size_t)gbx_random_below(random, V - i);
                size_t t = order[i]; order[i] = order[j]; order[j] = t;
                mask[order[i]] = 1;
            }
            /* Is it drawn already? (An open-addressing table of the drawn masks: a scan of
             * them all per draw was quadratic in the budget.) */
            size_t slot = mask_hash(mask, V) & (slots - 1), found = SIZE_MAX;
            for (; seen[slot] != SIZE_MAX; slot = (slot + 1) & (slots - 1))
                if (memcmp(p->masks + seen[slot] * V, mask, V) == 0) {
                    found = seen[slot];
                    break;
                }
            int paired = s <= paired_sizes;
            if (found == SIZE_MAX) {
                seen[slot] = p->count;
                if (!(ok = plan_add(p, mask, 1.0))) break;
                samples_left--;
                if (paired && samples_left > 0) {
                    for (size_t i = 0; i < V; i++) mask[i] = !mask[i];
                    if (!(ok = plan_add(p, mask, 1.0))) break;
                    samples_left--;
                }
            } else {
                p->weights[found] += 1.0;
                if (cost > 1.0) samples_left--;
                if (paired && found + 1 < p->count && samples_left > 0) {
                    p->weights[found + 1] += 1.0;
                    if (cost > 1.0) samples_left--;
                }
            }
        }
        free(order);
        free(seen);
        /* Until the rescaling below the weights count the draws. */
        p->draws = ok ? gbx_malloc_array(p->count - fixed + 1, sizeof(size_t)) : NULL;
        if (!p->draws) ok = 0;
        for (size_t c = fixed; ok && c < p->count; c++) p->draws[c - fixed] = (size_t)p->weights[c];
        double weight_left = 0.0, sampled = 0.0;
        for (size_t s = full + 1; s <= limit; s++) weight_left += weight[s];
        for (size_t c = fixed; c < p->count; c++) sampled += p->weights[c];
        for (size_t c = fixed; ok && c < p->count; c++) p->weights[c] *= weight_left / sampled;
    }
    free(mask);
    free(index);
    free(weight);
    return ok;
}

/* np.isclose(x, b, equal_nan=True), shap's test for a feature that cannot vary. */
static int same(double x, double b)
{
    if (isnan(x) || isnan(b)) return isnan(x) && isnan(b);
    return fabs(x - b) <= 1e-8 + 1e-5 * fabs(b);
}

/* The features output k's fit uses (indices among the V varying ones): all of them, or with
 * --l1-reg those shap's KernelExplainer keeps: least-angle regression on its augmented
 * problem, where each coalition appears as itself with weight w (V - |S|) and as its
 * complement's difference with weight w |S|, so the selection sees the sum constraint. An
 * empty or impossible selection keeps every feature, so the values still add up. Returns 0
 * when memory runs out. */
static int select_features(const gbx_kernel *kr, const plan *p, size_t end, const double *v,
                           const double *fx, size_t k, size_t *selected, size_t *count)
{
    size_t V = p->V, S = end, K = kr->K;
    *count = V;
    for (size_t j = 0; j < V; j++) selected[j] = j;
    if (kr->l1 == GBX_KERNEL_L1_OFF) return 1;
    double *X = gbx_malloc_array(2 * S * V, sizeof(double)), *y = gbx_malloc_array(2 * S, sizeof(double));
    size_t *chosen = gbx_malloc_array(V, sizeof(size_t));
    if (!X || !y || !chosen) {
        free(X); free(y); free(chosen);
        return 0;
    }
    double total = fx[k] - kr->base[k];
    for (size_t c = 0; c < S; c++) {
        const uint8_t *mask = p->masks + c * V;
        double size = 0.0;
        for (size_t j = 0; j < V; j++) size += mask[j];
        double with = sqrt(p->weights[c] * ((double)V - size)), without = sqrt(p->weights[c] * size);
        double target = v[c * K + k] - kr->base[k];
        y[c] = with * target;
        y[S + c] = without * (target - total);
        for (size_t j = 0; j < V; j++) {
            X[c * V + j] = with * mask[j];
            X[(S + c) * V + j] = without * ((double)mask[j] - 1.0);
        }
    }
    gbx_lars_rule rule = kr->l1 == GBX_KERNEL_L1_AIC ? GBX_LARS_AIC
                         : kr->l1 == GBX_KERNEL_L1_BIC ? GBX_LARS_BIC : GBX_LARS_FIRST;
    size_t found = gbx_lars_select(X, y, 2 * S, V, rule, kr->l1_features, chosen);
    if (found > 0) {
        memcpy(selected, chosen, found * sizeof(size_t));
        *count = found;
    }
    free(X); free(y); free(chosen);
    return 1;
}

/* Scratch of the fits: rows [S][V], w [V], group_phi [8][K][V], selected [K][V]. */
typedef struct {
    double *rows, *w, *group_phi;
    size_t *selected;
    double *gram;   /* [9][V x V]: the Gram matrices of the enumerated coalitions and 8 groups */
    double *system; /* [2 V x V + V]: one set of normal equations and their Cholesky factor */
    size_t *index;  /* [V]: 0, 1, ... */
    size_t *order;  /* [S + 10]: the coalitions by part, then where each part starts */
} fit_scratch;

/* Solves the normal equations G (e x e, the last column the right-hand side) for the first
 * e - 1 values into w, and the last fitted feature's from the sum. */
static int solve(const double *G, size_t e, double total, fit_scratch *scratch, double *w)
{
    size_t d = e - 1;
    double *g = scratch->system, *L = g + d;
    for (size_t i = 0; i < d; i++) g[i] = G[i * e + d], scratch->index[i] = i;
    if (!gbx_cholesky_solve(G, e, scratch->index, d, 0.0, 1e-12, g, w, L)) return 0;
    double sum = 0.0;
    for (size_t j = 0; j < d; j++) sum += w[j];
    w[d] = total - sum;
    return 1;
}

/* The constrained weighted least-squares fit on the coalitions [0, end) (the enumerated ones
 * and a prefix of the drawn ones, whose weight is scaled up to all the drawn ones'), then the
 * standard errors: the same fit on the enumerated sizes plus each of G groups of the drawn
 * coalitions, their weight scaled up likewise; the spread of those G estimates over sqrt(G)
 * is the standard error (batch means). Complementary pairs stay in one group. Every fit is
 * solved from normal equations: each part's (the enumerated coalitions, each group) Gram
 * matrix is one matrix product over its rows, and a fit sums the parts it takes. */
static gbx_status fit(const gbx_kernel *kr, const plan *p, const double *v, const double *fx,
                      size_t end, const size_t *varying, double *phi, double *errors,
                      fit_scratch *scratch, gbx_error *error)
{
    size_t K = kr->K, P = kr->P, V = p->V, S = p->count;
    size_t drawn = end - p->fixed, groups = drawn / 2 < 8 ? drawn / 2 : 8;
    size_t parts = 1 + (groups >= 2 ? groups : 1); /* the enumerated ones, then the drawn */
    double *w = scratch->w, *group_phi = scratch->group_phi;
    size_t *selected = scratch->selected, selected_count[64];
    double all = 0.0, prefix = 0.0; /* the drawn coalitions' weight, in all and in the prefix */
    for (size_t c = p->fixed; c < S; c++) all += p->weights[c];
    for (size_t c = p->fixed; c < end; c++) prefix += p->weights[c];
    double scale = prefix > 0 ? all / prefix : 0.0;
    /* The features each output's fit uses: all varying ones, or --l1-reg's selection. */
    for (size_t k = 0; k < K; k++)
        if (!select_features(kr, p, end, v, fx, k, selected + k * V, &selected_count[k]))
            return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    memset(group_phi, 0, 8 * K * V * sizeof(double));
    /* The coalitions in part order (a counting sort), and each part's weight. */
    size_t *order = scratch->order, *start = order + S, part_of_drawn = groups >= 2 ? groups : 1;
    double part_weight[10] = {0};
    memset(start, 0, 10 * sizeof(size_t));
    for (size_t c = 0; c < end; c++) {
        size_t part = c < p->fixed ? 0 : 1 + (c - p->fixed) / 2 % part_of_drawn;
        start[part + 1]++;
        part_weight[part] += p->weights[c];
    }
    for (size_t part = 1; part <= parts; part++) start[part] += start[part - 1];
    for (size_t c = 0, next[10] = {0}; c < end; c++) {
        size_t part = c < p->fixed ? 0 : 1 + (c - p->fixed) / 2 % part_of_drawn;
        order[start[part] + next[part]++] = c;
    }
    for (size_t k = 0; k < K; k++) {
        double total = fx[k] - kr->base[k];
        const size_t *sel = selected + k * V;
        size_t q = selected_count[k], last = sel[q - 1], e = q;
        /* Eliminate the last fitted feature with sum phi = total; rows scaled by
         * sqrt(weight) make the weighted fit an ordinary least-squares one. Each row: the
         * design, then the target. */
        double *rows = scratch->rows;
        for (size_t r = 0; r < end; r++) {
            size_t c = order[r];
            double root = sqrt(p->weights[c]), *row = rows + r * e;
            const uint8_t *mask = p->masks + c * V;
            for (size_t j = 0; j + 1 < q; j++)
                row[j] = root * ((double)mask[sel[j]] - (double)mask[last]);
            row[e - 1] = root * ((v[c * K + k] - kr->base[k]) - mask[last] * total);
        }
        double *gram = scratch->gram; /* [parts][e x e] */
        for (size_t part = 0; part < parts; part++) {
            double *G = gram + part * e * e;
            size_t n = start[part + 1] - start[part];
            if (n == 0) memset(G, 0, e * e * sizeof(double));
            else gbx_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)e, (int)e, (int)n,
                           1.0, rows + start[part] * e, (int)e, rows + start[part] * e, (int)e,
                           0.0, G, (int)e);
        }
        /* The estimate: every coalition. */
        double *G = scratch->system + V + V * V; /* after g and L */
        for (size_t i = 0; i < e * e; i++) {
            double sum = 0.0;
            for (size_t part = 1; part < parts; part++) sum += gram[part * e * e + i];
            G[i] = gram[i] + scale * sum;
        }
        if (!solve(G, e, total, scratch, w))
            return gbx_fail(error, GBX_ERR_USAGE, "KernelSHAP: the coalitions do not "
                            "determine the values (raise options.max_evals)");
        for (size_t j = 0; j < q; j++) phi[k * P + varying[sel[j]]] = w[j];
        /* The groups' estimates, for the standard errors. */
        for (size_t group = 0; groups >= 2 && group < groups; group++) {
            double mine = part_weight[1 + group];
            double group_scale = mine > 0 ? all / mine : 0.0;
            const double *H = gram + (1 + group) * e * e;
            for (size_t i = 0; i < e * e; i++) G[i] = gram[i] + group_scale * H[i];
            if (!solve(G, e, total, scratch, w)) {
                groups = 0; /* a group too small to determine the values: no error bars */
                break;
            }
            for (size_t j = 0; j < q; j++) group_phi[(group * K + k) * V + sel[j]] = w[j];
        }
    }
    for (size_t k = 0; k < K; k++)
        for (size_t j = 0; j < V; j++) {
            double *se = errors + k * P + varying[j];
            if (S == p->fixed) {
                *se = 0.0; /* every coalition was enumerated: exact */
            } else if (groups < 2) {
                *se = NAN;
            } else {
                double mean;
                gbx_mean_and_error(group_phi + k * V + j, groups, K * V, &mean, se);
            }
        }
    return GBX_OK;
}

/* The background rows coalition c is evaluated against: all of them for an enumerated one, or
 * draw_rows per draw for a drawn one, up to all. */
static size_t rows_for(const gbx_kernel *kr, const plan *p, size_t c)
{
    if (!kr->draw_rows || c < p->fixed) return kr->N;
    size_t rows = p->draws[c - p->fixed] * kr->draw_rows;
    return rows < kr->N ? rows : kr->N;
}

/* v(S) for the coalitions [from, to) of row x (masks over players) into v, in raw or
 * prediction space. Against the whole background it is the background's average; against
 * drawn rows, the mean over rows drawn by weight from the stream draw_key, where a
 * coalition's complement (lead[c] is the first of the pair) takes the same rows, so that
 * pair's errors partly cancel. */
static gbx_status coalition_values(const gbx_kernel *kr, const plan *p, const double *x,
                                   const uint8_t *masks, const size_t *lead, size_t from,
                                   size_t to, uint64_t draw_key, double *v, gbx_error *error)
{
    size_t N = kr->N, M = kr->M, K = kr->K, P = kr->P, whole = 0, drawn = 0, some = 0;
    for (size_t c = from; c < to; c++) {
        size_t rows = rows_for(kr, p, c);
        if (rows == N) whole++;
        else drawn += rows, some++;
    }
    size_t wide = gbx_background_needs_hybrids(&kr->background) ? whole : 0;
    size_t coalitions = whole > some ? whole : some;
    double *hybrids = gbx_malloc_array(wide * N * M + drawn * M + 1, sizeof(double));
    double *outputs = gbx_malloc_array(wide * N * K + (whole + drawn) * K + 1, sizeof(double));
    uint8_t *chosen = gbx_malloc_array(coalitions * P + 1, 1);
    size_t *index = gbx_malloc_array(coalitions + 1, sizeof(size_t));
    size_t *reference = gbx_malloc_array(drawn + 1, sizeof(size_t));
    gbx_status status = GBX_OK;
    if (!hybrids || !outputs || !chosen || !index || !reference)
        status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory for %zu coalitions", to - from);
    /* The whole background's coalitions, in one batch. */
    double *whole_v = outputs + wide * N * K, *drawn_v = whole_v + whole * K;
    size_t n = 0;
    for (size_t c = from; status == GBX_OK && c < to; c++)
        if (rows_for(kr, p, c) == N) {
            memcpy(chosen + n * P, masks + c * P, P);
            index[n++] = c;
        }
    if (status == GBX_OK && whole)
        status = gbx_background_values(&kr->background, x, chosen, whole, hybrids, outputs,
                                       whole_v, error);
    for (size_t i = 0; status == GBX_OK && i < whole; i++)
        memcpy(v + index[i] * K, whole_v + i * K, K * sizeof(double));
    /* The drawn coalitions, each against its rows, in one batch. */
    n = 0;
    size_t r = 0;
    for (size_t c = from; status == GBX_OK && c < to; c++) {
        size_t rows = rows_for(kr, p, c);
        if (rows == N) continue;
        memcpy(chosen + n * P, masks + c * P, P);
        index[n++] = rows;
        for (size_t j = 0; j < rows; j++) {
            uint64_t bits = gbx_random_at(draw_key, (uint64_t)lead[c] * N + j);
            reference[r++] = gbx_background_draw(&kr->background,
                                                 (double)(bits >> 11) / 9007199254740992.0);
        }
    }
    if (status == GBX_OK && drawn)
        status = gbx_background_values_drawn(&kr->background, x, chosen, index, some,
                                             reference, hybrids, drawn_v, error);
    n = 0;
    for (size_t c = from; c < to && status == GBX_OK; c++) {
        size_t rows = rows_for(kr, p, c);
        if (rows == N) continue;
        for (size_t k = 0; k < K; k++) {
            double sum = 0.0;
            for (size_t j = 0; j < rows; j++) sum += drawn_v[(n + j) * K + k];
            v[c * K + k] = sum / (double)rows;
        }
        n += rows;
    }
    free(hybrids); free(outputs); free(chosen); free(index); free(reference);
    return status;
}

static gbx_status explain_row(const gbx_kernel *kr, const double *x, const double *fx,
                              double *phi, double *errors, gbx_error *error)
{
    size_t N = kr->N, M = kr->M, K = kr->K, P = kr->P;
    memset(phi, 0, K * P * sizeof(double));
    memset(errors, 0, K * P * sizeof(double)); /* players that cannot vary: exactly 0 */
    /* varying[j]: the j-th player some column of which differs from the background somewhere;
     * slot[p]: its index j, or -1 */
    size_t *varying = malloc((P ? P : 1) * sizeof(size_t)), V = 0;
    int32_t *slot = malloc((P ? P : 1) * sizeof(int32_t));
    if (!varying || !slot) {
        free(varying);
        free(slot);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < P; i++) slot[i] = -1;
    for (size_t f = 0; f < M; f++)
        for (size_t b = 0; b < N && slot[kr->player[f]] < 0; b++)
            if (!same(x[f], kr->rows[b * M + f])) slot[kr->player[f]] = 0;
    for (size_t i = 0; i < P; i++)
        if (slot[i] == 0) slot[i] = (int32_t)V, varying[V++] = i;
    gbx_status status = GBX_OK;
    if (V == 1)
        for (size_t k = 0; k < K; k++) phi[k * P + varying[0]] = fx[k] - kr->base[k];
    if (V < 2) {
        free(varying);
        free(slot);
        return GBX_OK;
    }
    size_t samples = kr->max_evals ? kr->max_evals : 2 * V + 2048;
    if (V < 62 && samples > ((size_t)1 << V) - 2) samples = ((size_t)1 << V) - 2;
    plan p = {NULL, NULL, 0, 0, V, 0, NULL};
    /* The stream is keyed by the row's own values, so a row draws the same coalitions in any
     * batch, at any position and thread count. */
    uint64_t random = gbx_random_key(kr->seed, x, M);
    double cost = kr->draw_rows ? (double)N / (double)kr->draw_rows : 1.0;
    if (!build_plan(&p, V, samples, cost, &random)) status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    uint64_t draw_key = gbx_random_next(&random);
    size_t S = p.count;
    uint8_t *masks = status == GBX_OK ? gbx_malloc_array(S * P, 1) : NULL;
    size_t *lead = status == GBX_OK ? gbx_malloc_array(S, sizeof(size_t)) : NULL;
    double *v = status == GBX_OK ? gbx_malloc_array(S * K, sizeof(double)) : NULL;
    double *rows = status == GBX_OK ? gbx_malloc_array(S * V, sizeof(double)) : NULL;
    double *w = status == GBX_OK ? gbx_malloc_array(V, sizeof(double)) : NULL;
    if (status == GBX_OK && (!masks || !lead || !v || !rows || !w))
        status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory for %zu coalitions", S);
    /* A coalition right after its complement is the second of a pair. */
    for (size_t c = 0; status == GBX_OK && c < S; c++) {
        lead[c] = c;
        if (c == 0 || lead[c - 1] != c - 1) continue;
        size_t i = 0;
        while (i < V && p.masks[c * V + i] != p.masks[(c - 1) * V + i]) i++;
        if (i == V) lead[c] = c - 1;
    }
    /* The plan's masks are over the varying players; players that cannot vary stay out. */
    for (size_t c = 0; status == GBX_OK && c < S; c++)
        for (size_t q = 0; q < P; q++)
            masks[c * P + q] = slot[q] >= 0 && p.masks[c * V + (size_t)slot[q]];
    /* With --tolerance the drawn coalitions are taken in growing prefixes (the enumerated
     * sizes always whole, complementary pairs together) until every standard error is below
     * it; otherwise all at once. */
    size_t drawn = S - p.fixed, end = S, evaluated = 0;
    if (kr->tolerance > 0 && drawn > 64) end = p.fixed + 64;
    fit_scratch scratch = {rows, w, NULL, NULL, NULL, NULL, NULL, NULL};
    scratch.group_phi = status == GBX_OK ? gbx_calloc(8 * K * V, sizeof(double)) : NULL;
    scratch.selected = status == GBX_OK ? gbx_malloc_array(K * V, sizeof(size_t)) : NULL;
    scratch.gram = status == GBX_OK ? gbx_malloc_array(9 * V * V, sizeof(double)) : NULL;
    scratch.system = status == GBX_OK ? gbx_malloc_array(2 * V * V + V, sizeof(double)) : NULL;
    scratch.index = status == GBX_OK ? gbx_malloc_array(V, sizeof(size_t)) : NULL;
    scratch.order = status == GBX_OK ? gbx_malloc_array(S + 10, sizeof(size_t)) : NULL;
    if (status == GBX_OK && (!scratch.group_phi || !scratch.selected || !scratch.gram ||
                             !scratch.system || !scratch.index || !scratch.order))
        status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    while (status == GBX_OK) {
        /* v(S) per coalition and output, in the link's space. */
        status = coalition_values(kr, &p, x, masks, lead, evaluated, end, draw_key, v, error);
        for (size_t c = evaluated; status == GBX_OK && c < end; c++)
            for (size_t k = 0; k < K && status == GBX_OK; k++) status = link(kr, &v[c * K + k], error);
        evaluated = end;
        if (status == GBX_OK) status = fit(kr, &p, v, fx, end, varying, phi, errors, &scratch, error);
        if (status != GBX_OK || end == S) break;
        double largest = 0.0;
        for (size_t k = 0; k < K; k++)
            for (size_t j = 0; j < V; j++) {
                double se = errors[k * P + varying[j]];
                if (!(se <= largest)) largest = se; /* NaN: not known yet, keeps going */
            }
        if (largest <= kr->tolerance) break;
        end = p.fixed + 2 * (end - p.fixed) < S ? p.fixed + 2 * (end - p.fixed) : S;
    }
    free(v);
    free(scratch.group_phi);
    free(scratch.selected);
    free(scratch.gram);
    free(scratch.system);
    free(scratch.index);
    free(scratch.order);
    free(p.masks);
    free(p.weights);
    free(p.draws);
    free(lead);
    free(masks);
    free(rows);
    free(w);
    free(varying);
    free(slot);
    return status;
}

gbx_status gbx_kernel_explain(const gbx_kernel *kernel, const double *rows, size_t count,
                              double *values, double *standard_errors, double *predictions,
                              int threads, gbx_error *error)
{
    size_t M = kernel->M, K = kernel->K, P = kernel->P;
    gbx_status status = kernel->model->predict_raw(kernel->model, rows, count, predictions, error);
    if (status == GBX_OK) to_predictions(kernel, predictions, count);
    for (size_t i = 0; status == GBX_OK && i < count * K; i++)
        status = link(kernel, &predictions[i], error);
    if (status != GBX_OK) return status;
    size_t failed_row = SIZE_MAX;
    gbx_error first_error = {0};
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (size_t r = 0; r < count; r++) {
        gbx_error row_error = {0};
        if (explain_row(kernel, rows + r * M, predictions + r * K, values + r * K * P,
                        standard_errors + r * K * P, &row_error) != GBX_OK) {
#pragma omp critical(gbx_kernel_error)
            if (r < failed_row) failed_row = r, first_error = row_error;
        }
    }
    if (failed_row != SIZE_MAX) {
        if (error) *error = first_error;
        return first_error.status;
    }
    return GBX_OK;
}

/* ---- the method's row: KernelSHAP ------------------------------------------------------- */
#include "method.h"

static gbx_status kernel_prepare(gbx_explainer *x, const gbx_data *background, gbx_error *error)
{
    const gbx_explainer_options *o = &x->options;
    gbx_kernel *kernel;
    gbx_status status = gbx_kernel_prepare(x->model, background, gbx_explainer_players(x),
                                           o->max_evals, o->seed, o->logit_link, o->kernel_l1,
                                           o->kernel_l1_features, o->tolerance,
                                           o->sample_background, &kernel, error);
    if (status != GBX_OK) return status;
    x->state = kernel;
    gbx_kernel_base_values(kernel, x->base_values);
    return GBX_OK;
}

static gbx_status kernel_explain(const gbx_explainer *x, const gbx_data *data, gbx_explanation *e,
                                 gbx_error *error)
{
    size_t n = data->rows;
    if (!(e->standard_errors = gbx_malloc_array(n * e->outputs * e->features + 1, sizeof(double))))
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory for %zu rows", n);
    return gbx_kernel_explain(x->state, data->values, n, e->values, e->standard_errors,
                              e->predictions, x->threads, error);
}

static void kernel_parameters(FILE *f, const gbx_explainer *x)
{
    const gbx_explainer_options *o = &x->options;
    gbx_background_parameters(f, x);
    fprintf(f, ", \"max_evals\": %zu, \"link\": \"%s\", \"l1_reg\": \"", o->max_evals,
            o->logit_link ? "logit" : "identity");
    switch (o->kernel_l1) {
    case GBX_KERNEL_L1_OFF: fputs("off\"", f); break;
    case GBX_KERNEL_L1_NUM_FEATURES: fprintf(f, "num_features(%zu)\"", o->kernel_l1_features); break;
    case GBX_KERNEL_L1_AIC: fputs("aic\"", f); break;
    case GBX_KERNEL_L1_BIC: fputs("bic\"", f); break;
    }
    if (o->tolerance > 0) fprintf(f, ", \"tolerance\": %.17g", o->tolerance);
    if (o->sample_background && o->sample_background < x->background_rows)
        fprintf(f, ", \"sample_background\": \"%zu\"", o->sample_background);
    else
        fputs(", \"sample_background\": \"all\"", f);
}

static void kernel_release(void *state) { gbx_kernel_free(state); }

const gbx_method_row gbx_kernel_method = {
    GBX_METHOD_KERNEL, "kernel", NULL,
    METHOD_BACKGROUND | METHOD_MODEL_CALLS | METHOD_SAMPLES_BACKGROUND, "a background data set",
    0, NULL, kernel_prepare, kernel_explain, kernel_parameters, kernel_release};
