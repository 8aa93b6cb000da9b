#include "kernel.h"

#include "background.h"
#include "lars.h"

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
                              gbx_kernel **out, gbx_error *error)
{
    if (model->outputs > 64) return gbx_fail(error, GBX_ERR_UNSUPPORTED, "more than 64 outputs");
    if (l1 == GBX_KERNEL_L1_NUM_FEATURES && l1_features == 0)
        return gbx_fail(error, GBX_ERR_USAGE, "l1 regularisation num_features(K) needs K >= 1");
    size_t M = model->features, N = background->rows, K = model->outputs;
    gbx_kernel *kernel = calloc(1, sizeof *kernel);
    if (!kernel) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    kernel->model = model;
    kernel->N = N, kernel->M = M, kernel->K = K, kernel->max_evals = max_evals, kernel->seed = seed;
    kernel->logit = logit;
    kernel->l1 = l1;
    kernel->l1_features = l1_features;
    kernel->tolerance = tolerance;
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

/* FNV-1a over a mask's bytes. */
static size_t mask_hash(const uint8_t *mask, size_t V)
{
    uint64_t h = 14695981039346656037u;
    for (size_t i = 0; i < V; i++) h = (h ^ mask[i]) * 1099511628211u;
    return (size_t)h;
}

/* shap's KernelExplainer plan over V varying features with `samples` coalitions. */
static int build_plan(plan *p, size_t V, size_t samples, uint64_t *random)
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
        if (!(left * remaining[s] / subsets >= 1.0 - 1e-8)) break;
        full++;
        left -= subsets;
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
                size_t j = i + (size_t)(gbx_random_next(random) % (V - i));
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
                if (paired && found + 1 < p->count) p->weights[found + 1] += 1.0;
            }
        }
        free(order);
        free(seen);
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

/* Least squares min |A x - b| for A n x q (row-major, overwritten) by Householder QR. Returns 0
 * when A's columns are (numerically) dependent: the coalitions do not determine the values,
 * and a solution would be noise. */
static int least_squares(double *A, double *b, size_t n, size_t q, double *x)
{
    if (n < q) return 0;
    double largest = 0.0;
    for (size_t j = 0; j < q; j++) {
        double norm = 0.0;
        for (size_t i = 0; i < n; i++) norm += A[i * q + j] * A[i * q + j];
        if (norm > largest) largest = norm;
    }
    for (size_t j = 0; j < q; j++) {
        double norm = 0.0;
        for (size_t i = j; i < n; i++) norm += A[i * q + j] * A[i * q + j];
        norm = sqrt(norm);
        if (!(norm > 1e-10 * sqrt(largest))) return 0;
        double alpha = A[j * q + j] > 0 ? -norm : norm;
        double v0 = A[j * q + j] - alpha;
        /* v = (v0, A[j+1..n-1][j]); apply H = I - 2 v v^T / v^T v to the remaining columns and b */
        double vv = v0 * v0;
        for (size_t i = j + 1; i < n; i++) vv += A[i * q + j] * A[i * q + j];
        for (size_t c = j + 1; c <= q; c++) {
            double dot = v0 * (c < q ? A[j * q + c] : b[j]);
            for (size_t i = j + 1; i < n; i++) dot += A[i * q + j] * (c < q ? A[i * q + c] : b[i]);
            double f = 2.0 * dot / vv;
            if (c < q) {
                A[j * q + c] -= f * v0;
                for (size_t i = j + 1; i < n; i++) A[i * q + c] -= f * A[i * q + j];
            } else {
                b[j] -= f * v0;
                for (size_t i = j + 1; i < n; i++) b[i] -= f * A[i * q + j];
            }
        }
        A[j * q + j] = alpha;
    }
    for (size_t j = q; j-- > 0;) {
        double sum = b[j];
        for (size_t c = j + 1; c < q; c++) sum -= A[j * q + c] * x[c];
        x[j] = sum / A[j * q + j];
    }
    return 1;
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

/* Scratch of the fits: A [S][V-1], y [S], w [V], group_phi [8][K][V], selected [K][V]. */
typedef struct {
    double *A, *y, *w, *group_phi;
    size_t *selected;
    double *gram;   /* [9][V x V + V]: the Gram matrices of the enumerated coalitions and 8 groups */
    double *system; /* [2 V x V + V]: one group's normal equations and their Cholesky factor */
    size_t *index;  /* [V]: 0, 1, ... */
} fit_scratch;

/* The constrained weighted least-squares fit on the coalitions [0, end) (the enumerated ones
 * and a prefix of the drawn ones, whose weight is scaled up to all the drawn ones'), then the
 * standard errors: the same fit on the enumerated sizes plus each of G groups of the drawn
 * coalitions, their weight scaled up likewise; the spread of those G estimates over sqrt(G)
 * is the standard error (batch means). Complementary pairs stay in one group. */
static gbx_status fit(const gbx_kernel *kr, const plan *p, const double *v, const double *fx,
                      size_t end, const size_t *varying, double *phi, double *errors,
                      fit_scratch *scratch, gbx_error *error)
{
    size_t K = kr->K, P = kr->P, V = p->V, S = p->count;
    size_t drawn = end - p->fixed, groups = drawn / 2 < 8 ? drawn / 2 : 8;
    double *A = scratch->A, *y = scratch->y, *w = scratch->w, *group_phi = scratch->group_phi;
    size_t *selected = scratch->selected, selected_count[64];
    double all = 0.0, prefix = 0.0; /* the drawn coalitions' weight, in all and in the prefix */
    for (size_t c = p->fixed; c < S; c++) all += p->weights[c];
    for (size_t c = p->fixed; c < end; c++) prefix += p->weights[c];
    /* The features each output's fit uses: all varying ones, or --l1-reg's selection. */
    for (size_t k = 0; k < K; k++)
        if (!select_features(kr, p, end, v, fx, k, selected + k * V, &selected_count[k]))
            return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    memset(group_phi, 0, 8 * K * V * sizeof(double));
    /* The estimate: every coalition, by QR. */
    double scale = prefix > 0 ? all / prefix : 0.0;
    for (size_t k = 0; k < K; k++) {
        double total = fx[k] - kr->base[k];
        const size_t *sel = selected + k * V;
        size_t q = selected_count[k], last = sel[q - 1];
        size_t n = 0;
        for (size_t c = 0; c < end; c++) {
            double weight = p->weights[c] * (c >= p->fixed ? scale : 1.0);
            /* Eliminate the last fitted feature with sum phi = total; rows scaled by
             * sqrt(weight) make the weighted fit an ordinary least-squares one. */
            double root = sqrt(weight);
            const uint8_t *mask = p->masks + c * V;
            y[n] = root * ((v[c * K + k] - kr->base[k]) - mask[last] * total);
            for (size_t j = 0; j + 1 < q; j++)
                A[n * (q - 1) + j] = root * ((double)mask[sel[j]] - (double)mask[last]);
            n++;
        }
        if (!least_squares(A, y, n, q - 1, w))
            return gbx_fail(error, GBX_ERR_USAGE, "KernelSHAP: the coalitions do not "
                            "determine the values (raise --max-evals)");
        double sum = 0.0;
        for (size_t j = 0; j + 1 < q; j++) sum += w[j];
        w[q - 1] = total - sum;
        for (size_t j = 0; j < q; j++) phi[k * P + varying[sel[j]]] = w[j];
    }
    /* The groups' estimates, for the standard errors, from the normal equations: the Gram
     * matrix of the enumerated coalitions (most of them, at shap's budgets) and one per group,
     * summed with the group's scale, cost one pass over the coalitions instead of a QR of
     * nearly all of them per group. */
    for (size_t k = 0; k < K && groups >= 2; k++) {
        double total = fx[k] - kr->base[k];
        const size_t *sel = selected + k * V;
        size_t q = selected_count[k], last = sel[q - 1], d = q - 1, part_size = d * d + d;
        double *gram = scratch->gram; /* [1 + groups][d x d lower triangle, then d] */
        memset(gram, 0, (1 + groups) * part_size * sizeof(double));
        double *a = A; /* one coalition's design row */
        for (size_t c = 0; c < end; c++) {
            size_t part = c < p->fixed ? 0 : 1 + (c - p->fixed) / 2 % groups;
            double *G = gram + part * part_size, *g = G + d * d, weight = p->weights[c];
            const uint8_t *mask = p->masks + c * V;
            double target = (v[c * K + k] - kr->base[k]) - mask[last] * total;
            for (size_t j = 0; j < d; j++) a[j] = (double)mask[sel[j]] - (double)mask[last];
            for (size_t i = 0; i < d; i++) {
                if (a[i] == 0.0) continue;
                double wa = weight * a[i];
                g[i] += wa * target;
                for (size_t j = 0; j <= i; j++) G[i * d + j] += wa * a[j];
            }
        }
        for (size_t group = 0; group < groups; group++) {
            double mine = 0.0;
            for (size_t c = p->fixed; c < end; c++)
                if ((c - p->fixed) / 2 % groups == group) mine += p->weights[c];
            double group_scale = mine > 0 ? all / mine : 0.0;
            const double *F = gram, *H = gram + (1 + group) * part_size;
            double *G = scratch->system, *g = G + d * d, *L = g + d;
            for (size_t i = 0; i < d; i++) {
                for (size_t j = 0; j <= i; j++) G[i * d + j] = F[i * d + j] + group_scale * H[i * d + j];
                g[i] = F[d * d + i] + group_scale * H[d * d + i];
                scratch->index[i] = i;
            }
            if (!gbx_cholesky_solve(G, d, scratch->index, d, 0.0, 1e-12, g, w, L)) {
                groups = 0; /* a group too small to determine the values: no error bars */
                break;
            }
            double sum = 0.0;
            for (size_t j = 0; j < d; j++) sum += w[j];
            w[d] = total - sum;
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
    plan p = {NULL, NULL, 0, 0, V, 0};
    /* The stream is keyed by the row's own values, so a row draws the same coalitions in any
     * batch, at any position and thread count. */
    uint64_t random = gbx_random_key(kr->seed, x, M);
    if (!build_plan(&p, V, samples, &random)) status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    size_t S = p.count;
    int hybrid = gbx_background_needs_hybrids(&kr->background);
    double *hybrids = status == GBX_OK && hybrid ? gbx_malloc_array(S * N * M, sizeof(double)) : NULL;
    double *outputs = status == GBX_OK && hybrid ? gbx_malloc_array(S * N * K, sizeof(double)) : NULL;
    uint8_t *masks = status == GBX_OK ? gbx_malloc_array(S * P, 1) : NULL;
    double *v = status == GBX_OK ? gbx_malloc_array(S * K, sizeof(double)) : NULL;
    double *A = status == GBX_OK ? gbx_malloc_array(S * (V - 1), sizeof(double)) : NULL;
    double *y = status == GBX_OK ? gbx_malloc_array(S, sizeof(double)) : NULL;
    double *w = status == GBX_OK ? gbx_malloc_array(V, sizeof(double)) : NULL;
    if (status == GBX_OK && ((hybrid && (!hybrids || !outputs)) || !masks || !v || !A || !y || !w))
        status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory for %zu coalitions", S);
    /* The plan's masks are over the varying players; players that cannot vary stay out. */
    for (size_t c = 0; status == GBX_OK && c < S; c++)
        for (size_t q = 0; q < P; q++)
            masks[c * P + q] = slot[q] >= 0 && p.masks[c * V + (size_t)slot[q]];
    /* With --tolerance the drawn coalitions are taken in growing prefixes (the enumerated
     * sizes always whole, complementary pairs together) until every standard error is below
     * it; otherwise all at once. */
    size_t drawn = S - p.fixed, end = S, evaluated = 0;
    if (kr->tolerance > 0 && drawn > 64) end = p.fixed + 64;
    fit_scratch scratch = {A, y, w, NULL, NULL, NULL, NULL, NULL};
    scratch.group_phi = status == GBX_OK ? gbx_calloc(8 * K * V, sizeof(double)) : NULL;
    scratch.selected = status == GBX_OK ? gbx_malloc_array(K * V, sizeof(size_t)) : NULL;
    scratch.gram = status == GBX_OK ? gbx_malloc_array(9 * (V * V + V), sizeof(double)) : NULL;
    scratch.system = status == GBX_OK ? gbx_malloc_array(2 * V * V + V, sizeof(double)) : NULL;
    scratch.index = status == GBX_OK ? gbx_malloc_array(V, sizeof(size_t)) : NULL;
    if (status == GBX_OK && (!scratch.group_phi || !scratch.selected || !scratch.gram ||
                             !scratch.system || !scratch.index))
        status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    while (status == GBX_OK) {
        /* v(S) per coalition and output, in the link's space. */
        status = gbx_background_values(&kr->background, x, masks + evaluated * P, end - evaluated,
                                       hybrids, outputs, v + evaluated * K, error);
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
    free(p.masks);
    free(p.weights);
    free(hybrids);
    free(outputs);
    free(masks);
    free(A);
    free(y);
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
