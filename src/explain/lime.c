#include "lime.h"

#include "strata.h"
#include "../core/blas.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* How one feature is perturbed. Categories are what a neighbour draws: for a categorical
 * feature its training values, for a binned one its bins (as bin numbers); NaN stands for a
 * missing value. Only categories seen in the training data are drawn. */
typedef struct {
    size_t column;       /* the model column it perturbs */
    size_t *columns, width; /* a group of several columns: drawn together from a training row */
    int categorical, binned;
    size_t categories;
    double *category;    /* [categories]: value or bin number, NaN = missing */
    double *cumulative;  /* [categories]: cumulative training frequency, the last is 1 */
    size_t cut_count;    /* binned: bin b holds cut[b-1] < x <= cut[b] */
    double *cut;
    /* binned, per category (bin): the value drawn within it is mean + step t, clamped to
     * [low, high], where t is the standard normal quantile of p_at + p_slope u, u the uniform
     * that drew the bin: the bin's normal truncated to its bounds. step is the bin's standard
     * deviation, negated for a bin above its mean, whose probabilities are taken on the
     * mirror image so that tail probabilities stay representable. The missing category has
     * mean NaN. */
    double *p_at, *p_slope, *mean, *step, *low, *high;
    double center, scale; /* continuous without bins: training mean and standard deviation */
} lime_feature;

struct gbx_lime {
    const gbx_model *model;
    gbx_lime_options options;
    size_t M, P, K, samples, selected; /* M model columns, P features explained */
    double kernel_width;
    lime_feature *features;             /* [P] */
    double *training;                   /* [rows][M], kept when a group needs whole rows */
    size_t training_rows;
    gbx_strata strata;                  /* how the neighbours' uniforms are stratified */
    /* [P + 1] when every feature's representation is 0 or 1 (and x's 1) and the distance is
     * euclidean: the kernel weight of a neighbour that differs from x in k features, the
     * only distances there are (NULL otherwise) */
    double *kernel_table;
};

static void free_feature(lime_feature *f)
{
    free(f->category);
    free(f->cumulative);
    free(f->cut);
    free(f->p_at);
    free(f->p_slope);
    free(f->mean);
    free(f->step);
    free(f->low);
    free(f->high);
    free(f->columns);
}

void gbx_lime_free(gbx_lime *lime)
{
    if (!lime) return;
    for (size_t j = 0; lime->features && j < lime->P; j++) free_feature(&lime->features[j]);
    free(lime->features);
    free(lime->training);
    free(lime->kernel_table);
    free(lime);
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double normal_cdf(double x) { return 0.5 * erfc(-x / M_SQRT2); }

/* numpy.percentile's default (linear interpolation between order statistics). */
static double percentile(const double *sorted, size_t n, double p)
{
    double position = p / 100.0 * (double)(n - 1);
    size_t below = (size_t)floor(position);
    if (below + 1 >= n) return sorted[n - 1];
    double fraction = position - (double)below;
    return sorted[below] + fraction * (sorted[below + 1] - sorted[below]);
}

/* The bin of x: the number of cuts below it (numpy.searchsorted, side left); NaN stays NaN. */
static double bin_of(const lime_feature *f, double x)
{
    if (isnan(x)) return NAN;
    size_t low = 0, high = f->cut_count;
    while (low < high) {
        size_t middle = (low + high) / 2;
        if (f->cut[middle] < x) low = middle + 1;
        else high = middle;
    }
    return (double)low;
}

/* The category of a value: its bin for binned features, itself otherwise. */
static double category_of(const lime_feature *f, double x) { return f->binned ? bin_of(f, x) : x; }

static int same_category(double a, double b) { return isnan(a) ? isnan(b) : a == b; }

/* Categories of a column (values or bins) with their frequencies, sorted, missing last. */
static gbx_status count_categories(lime_feature *f, const double *column, size_t n)
{
    double *sorted = gbx_malloc_array(n, sizeof(double));
    if (!sorted) return GBX_ERR_NOMEM;
    size_t present = 0, missing = 0;
    for (size_t i = 0; i < n; i++) {
        double c = category_of(f, column[i]);
        if (isnan(c)) missing++;
        else sorted[present++] = c;
    }
    qsort(sorted, present, sizeof(double), compare_doubles);
    size_t distinct = 0;
    for (size_t i = 0; i < present; i++) distinct += i == 0 || sorted[i] != sorted[i - 1];
    f->categories = distinct + (missing > 0);
    /* Tables per category have at least 16 entries (quad_of); past the last category,
     * cumulative is 1 and the others 0. */
    size_t padded = f->categories < 16 ? 16 : f->categories;
    f->category = gbx_calloc(padded, sizeof(double));
    f->cumulative = gbx_malloc_array(padded, sizeof(double));
    if (!f->category || !f->cumulative) {
        free(sorted);
        return GBX_ERR_NOMEM;
    }
    size_t c = 0, seen = 0;
    for (size_t i = 0; i < present; i++) {
        if (i > 0 && sorted[i] != sorted[i - 1]) {
            f->cumulative[c++] = (double)seen / (double)n;
        }
        f->category[c] = sorted[i];
        seen++;
    }
    if (present) f->cumulative[c++] = (double)seen / (double)n;
    if (missing) f->category[c] = NAN, f->cumulative[c++] = 1.0;
    for (size_t i = f->categories - 1; i < padded; i++) f->cumulative[i] = 1.0; /* no rounding gap at the top */
    free(sorted);
    return GBX_OK;
}

/* Cuts at the quartiles or deciles of the non-missing values, and each bin's statistics. */
static gbx_status make_bins(lime_feature *f, const double *column, size_t n, int deciles)
{
    size_t wanted = deciles ? 9 : 3;
    double *sorted = gbx_malloc_array(n ? n : 1, sizeof(double));
    /* per bin: count, mean, standard deviation, bounds */
    double *count = gbx_calloc(wanted + 1, sizeof(double)), *mean = gbx_calloc(wanted + 1, sizeof(double));
    double *std = gbx_calloc(wanted + 1, sizeof(double)), *low = gbx_calloc(wanted + 1, sizeof(double));
    double *high = gbx_calloc(wanted + 1, sizeof(double));
    f->cut = gbx_malloc_array(wanted, sizeof(double));
    gbx_status status = sorted && count && mean && std && low && high && f->cut ? GBX_OK : GBX_ERR_NOMEM;
    size_t present = 0;
    for (size_t i = 0; status == GBX_OK && i < n; i++)
        if (!isnan(column[i])) sorted[present++] = column[i];
    if (status == GBX_OK) {
        qsort(sorted, present, sizeof(double), compare_doubles);
        f->binned = 1;
        f->cut_count = 0;
        for (size_t q = 1; present && q <= wanted; q++) {
            double cut = percentile(sorted, present, deciles ? 10.0 * (double)q : 25.0 * (double)q);
            if (f->cut_count == 0 || cut != f->cut[f->cut_count - 1]) f->cut[f->cut_count++] = cut;
        }
        /* Mean and (population) standard deviation of the values in each bin, as lime. */
        for (size_t i = 0; i < present; i++) {
            size_t b = (size_t)bin_of(f, sorted[i]);
            count[b]++;
            mean[b] += sorted[i];
        }
        for (size_t b = 0; b <= f->cut_count; b++) mean[b] = count[b] ? mean[b] / count[b] : 0.0;
        for (size_t i = 0; i < present; i++) {
            size_t b = (size_t)bin_of(f, sorted[i]);
            std[b] += (sorted[i] - mean[b]) * (sorted[i] - mean[b]);
        }
        for (size_t b = 0; b <= f->cut_count; b++) {
            std[b] = (count[b] ? sqrt(std[b] / count[b]) : 0.0) + 1e-11;
            low[b] = b == 0 ? (present ? sorted[0] : 0.0) : f->cut[b - 1];
            high[b] = b == f->cut_count ? (present ? sorted[present - 1] : 0.0) : f->cut[b];
        }
        status = count_categories(f, column, n);
    }
    size_t C = f->categories, padded = C < 16 ? 16 : C; /* as the other tables */
    if (status == GBX_OK) {
        f->p_at = gbx_calloc(padded, sizeof(double));
        f->p_slope = gbx_calloc(padded, sizeof(double));
        f->mean = gbx_calloc(padded, sizeof(double));
        f->step = gbx_calloc(padded, sizeof(double));
        f->low = gbx_calloc(padded, sizeof(double));
        f->high = gbx_calloc(padded, sizeof(double));
        if (!f->p_at || !f->p_slope || !f->mean || !f->step || !f->low || !f->high)
            status = GBX_ERR_NOMEM;
    }
    for (size_t c = 0; status == GBX_OK && c < C; c++) {
        if (isnan(f->category[c])) { /* missing stays missing */
            f->p_at[c] = 0.5, f->p_slope[c] = 0.0, f->mean[c] = NAN, f->step[c] = 0.0;
            f->low[c] = -INFINITY, f->high[c] = INFINITY;
            continue;
        }
        size_t b = (size_t)f->category[c];
        /* Bounds in standard units; above the mean the mirror image. A bin of one value has
         * low = high, which the clamp gives whatever t is. */
        double a = (low[b] - mean[b]) / std[b], z = (high[b] - mean[b]) / std[b], p_low, p_high;
        int mirrored = a > 0.0;
        if (mirrored) p_low = normal_cdf(-z), p_high = normal_cdf(-a), f->step[c] = -std[b];
        else p_low = normal_cdf(a), p_high = normal_cdf(z), f->step[c] = std[b];
        /* The uniform that drew the bin, from `below` to cumulative[c], also places the value
         * in it: p runs over [p_low, p_high] as u runs over the bin's share, downwards in a
         * mirrored bin, so the value rises with u across all the bins. */
        double below = c ? f->cumulative[c - 1] : 0.0, share = f->cumulative[c] - below;
        double slope = (mirrored ? p_low - p_high : p_high - p_low) / share;
        f->p_slope[c] = slope;
        f->p_at[c] = (mirrored ? p_high : p_low) - below * slope;
        f->mean[c] = mean[b], f->low[c] = low[b], f->high[c] = high[b];
    }
    free(sorted);
    free(count);
    free(mean);
    free(std);
    free(low);
    free(high);
    return status;
}

gbx_status gbx_lime_prepare(const gbx_model *model, const gbx_data *training,
                            const gbx_players *players, const gbx_lime_options *options,
                            gbx_lime **out, gbx_error *error)
{
    size_t M = model->features, N = training->rows, P = players ? players->count : M;
    if (N == 0) return gbx_fail(error, GBX_ERR_USAGE, "the background (training) data set has no rows");
    if (model->outputs > 64) return gbx_fail(error, GBX_ERR_UNSUPPORTED, "more than 64 outputs");
    gbx_lime *lime = calloc(1, sizeof *lime);
    if (!lime) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    lime->model = model;
    lime->options = *options;
    lime->options.categorical = NULL; /* not kept: the caller may free it */
    lime->M = M;
    lime->P = P;
    lime->K = model->outputs;
    lime->samples = options->samples ? options->samples : 5000;
    lime->selected = options->features ? options->features : 10;
    if (lime->selected > P) lime->selected = P;
    lime->kernel_width = options->kernel_width > 0 ? options->kernel_width : 0.75 * sqrt((double)P);
    lime->strata = gbx_strata_design(lime->samples - 1, P);
    lime->features = gbx_calloc(P ? P : 1, sizeof(lime_feature));
    double *column = gbx_malloc_array(N, sizeof(double));
    gbx_status status = lime->features && column ? GBX_OK : GBX_ERR_NOMEM;
    /* Each feature's columns; a group of several is drawn from whole training rows. */
    for (size_t j = 0; status == GBX_OK && j < M; j++) {
        lime_feature *f = &lime->features[players ? (size_t)players->of_column[j] : j];
        if (f->width == 0) f->column = j;
        size_t *grown = realloc(f->columns, (f->width + 1) * sizeof(size_t));
        if (!grown) status = GBX_ERR_NOMEM;
        else f->columns = grown, f->columns[f->width++] = j;
    }
    for (size_t p = 0; status == GBX_OK && p < P; p++)
        if (lime->features[p].width > 1 && !lime->training) {
            lime->training = gbx_malloc_array(N * M, sizeof(double));
            if (!lime->training) status = GBX_ERR_NOMEM;
            else memcpy(lime->training, training->values, N * M * sizeof(double));
            lime->training_rows = N;
        }
    for (size_t p = 0; status == GBX_OK && p < P; p++) {
        lime_feature *f = &lime->features[p];
        if (f->width > 1) continue;
        size_t j = f->column;
        for (size_t i = 0; i < N; i++) column[i] = training->values[i * M + j];
        f->categorical = options->categorical && options->categorical[j];
        if (f->categorical) {
            status = count_categories(f, column, N);
        } else if (options->discretizer != GBX_LIME_CONTINUOUS) {
            status = make_bins(f, column, N, options->discretizer == GBX_LIME_DECILE);
        } else {
            /* sklearn's StandardScaler: population standard deviation, 1 for a constant. */
            double sum = 0.0, squares = 0.0;
            size_t present = 0;
            for (size_t i = 0; i < N; i++)
                if (!isnan(column[i])) sum += column[i], present++;
            f->center = present ? sum / (double)present : 0.0;
            for (size_t i = 0; i < N; i++)
                if (!isnan(column[i])) squares += (column[i] - f->center) * (column[i] - f->center);
            f->scale = present ? sqrt(squares / (double)present) : 0.0;
            if (!(f->scale > 0.0)) f->scale = 1.0;
        }
    }
    free(column);
    int binary = !options->cosine;
    for (size_t p = 0; p < P; p++)
        binary &= lime->features[p].width > 1 || lime->features[p].categorical || lime->features[p].binned;
    if (status == GBX_OK && binary) {
        /* as explain_row computes a weight from the squared distance */
        double width2 = lime->kernel_width * lime->kernel_width;
        lime->kernel_table = gbx_malloc_array(P + 1, sizeof(double));
        if (!lime->kernel_table) status = GBX_ERR_NOMEM;
        for (size_t k = 0; status == GBX_OK && k <= P; k++) {
            double d = sqrt((double)k);
            lime->kernel_table[k] = sqrt(exp(-d * d / width2));
        }
    }
    if (status != GBX_OK) {
        gbx_lime_free(lime);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory summarising the training data");
    }
    /* Without a 0/1 representation the fits' Gram matrices are OpenBLAS products. */
    if (!lime->kernel_table && (status = gbx_blas_load(error)) != GBX_OK) {
        gbx_lime_free(lime);
        return status;
    }
    *out = lime;
    return GBX_OK;
}

/* ---- sampling ---- */

/* The standard normal quantile by Acklam's rational approximation (relative error below
 * 1.2e-9, far inside what sampling needs): a rational function of (p - 1/2)^2 in the centre,
 * of sqrt(-2 log p) in the tails. */
static const double QA[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                            1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00};
static const double QB[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                            6.680131188771972e+01, -1.328068155288572e+01};
static const double QC[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                            -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00};
static const double QD[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                            3.754408661907416e+00};
#define QUANTILE_TAIL 0.02425

static inline double central_quantile(double p)
{
    double q = p - 0.5, r = q * q;
    return (((((QA[0] * r + QA[1]) * r + QA[2]) * r + QA[3]) * r + QA[4]) * r + QA[5]) * q /
           (((((QB[0] * r + QB[1]) * r + QB[2]) * r + QB[3]) * r + QB[4]) * r + 1.0);
}

static double normal_quantile(double p)
{
    if (p <= 0.0) return -INFINITY;
    if (p >= 1.0) return INFINITY;
    if (p >= QUANTILE_TAIL && p <= 1.0 - QUANTILE_TAIL) return central_quantile(p);
    double q = sqrt(-2.0 * log(p < QUANTILE_TAIL ? p : 1.0 - p));
    double x = (((((QC[0] * q + QC[1]) * q + QC[2]) * q + QC[3]) * q + QC[4]) * q + QC[5]) /
               ((((QD[0] * q + QD[1]) * q + QD[2]) * q + QD[3]) * q + 1.0);
    return p < QUANTILE_TAIL ? x : -x;
}

/* Whether any of n (at most 32) probabilities is outside the centre (or NaN): a loop that
 * vectorises where n is 32. */
static inline int any_tail(const double *p, size_t n)
{
    if (n < 32) return 1;
    int tails = 0;
    for (size_t i = 0; i < 32; i++)
        tails |= (p[i] < QUANTILE_TAIL) | (p[i] > 1.0 - QUANTILE_TAIL) | (p[i] != p[i]);
    return tails;
}

/* normal_quantile of n probabilities: the centre's formula for all of them in one loop that
 * vectorises (the same operations, so the same bits), then the few in the tails again,
 * found 32 at a time. */
static inline __attribute__((always_inline)) void normal_quantiles(const double *p, double *t, size_t n)
{
    for (size_t i = 0; i < n; i++) t[i] = central_quantile(p[i]);
    for (size_t start = 0; start < n; start += 32) {
        if (!any_tail(p + start, n - start < 32 ? n - start : 32)) continue;
        for (size_t i = start; i < n && i < start + 32; i++)
            if (!(p[i] >= QUANTILE_TAIL && p[i] <= 1.0 - QUANTILE_TAIL)) t[i] = normal_quantile(p[i]);
    }
}

/* The category a uniform u draws by training frequency. */
static size_t draw_category(const lime_feature *f, double u)
{
    size_t low = 0, high = f->categories - 1;
    while (low < high) {
        size_t middle = (low + high) / 2;
        if (f->cumulative[middle] > u) high = middle;
        else low = middle + 1;
    }
    return low;
}

/* A category's entries for features of at most four categories (quartile bins, the default):
 * held in registers and picked by selects on which cumulative frequencies the uniform passed,
 * so that the loops over the neighbours have neither gathers (which GCC does not emit for AVX2
 * by default) nor branches, and vectorise. */
typedef struct {
    double v0, v1, v2, v3;
} quad;

static inline quad quad_of(const double *table) /* tables have at least 16 entries */
{
    quad q = {table[0], table[1], table[2], table[3]};
    return q;
}

#define PICK(q) (past3 ? q.v3 : past2 ? q.v2 : past1 ? q.v1 : q.v0)
#define PASSED(u)                                                                              \
    int past1 = cumulative.v0 <= (u), past2 = cumulative.v1 <= (u), past3 = cumulative.v2 <= (u)

/* A categorical feature of at most four categories: the category each of n uniforms u draws
 * by training frequency, whether it is x's (z, from same[]) and its value. */
static inline __attribute__((always_inline)) void categorical_few(
    const lime_feature *f, const double *same, const double *u, size_t n, double *z,
    double *value)
{
    quad cumulative = quad_of(f->cumulative), is_x = quad_of(same), category = quad_of(f->category);
    for (size_t i = 0; i < n; i++) {
        double ui = u[i];
        PASSED(ui);
        double zi = PICK(is_x), v = PICK(category);
        z[i] = zi;
        value[i] = v;
    }
}

/* A binned feature of at most four bins in one pass: the bin each uniform draws, whether it
 * is x's (z), and the value within it (lime_feature's tables); quantiles in the tails (p kept
 * for them) are redone after. */
static inline __attribute__((always_inline)) void binned_few(
    const lime_feature *f, const double *same, const double *u, size_t n, double *z,
    double *value, double *p)
{
    quad cumulative = quad_of(f->cumulative), is_x = quad_of(same), p_at = quad_of(f->p_at);
    quad p_slope = quad_of(f->p_slope), mean = quad_of(f->mean), step = quad_of(f->step);
    quad low = quad_of(f->low), high = quad_of(f->high);
    for (size_t i = 0; i < n; i++) {
        /* the entries into locals first: GCC gives up on selects nested in expressions */
        double ui = u[i];
        PASSED(ui);
        double zi = PICK(is_x), at = PICK(p_at), slope = PICK(p_slope), m = PICK(mean);
        double st = PICK(step), lo = PICK(low), hi = PICK(high);
        double pi = at + ui * slope;
        double drawn = m + st * central_quantile(pi);
        drawn = drawn < lo ? lo : drawn;
        drawn = drawn > hi ? hi : drawn;
        z[i] = zi;
        p[i] = pi;
        value[i] = drawn;
    }
    for (size_t start = 0; start < n; start += 32) {
        if (!any_tail(p + start, n - start < 32 ? n - start : 32)) continue;
        for (size_t i = start; i < n && i < start + 32; i++) {
            if (p[i] >= QUANTILE_TAIL && p[i] <= 1.0 - QUANTILE_TAIL) continue;
            size_t c = draw_category(f, u[i]);
            double drawn = f->mean[c] + f->step[c] * normal_quantile(p[i]);
            drawn = drawn < f->low[c] ? f->low[c] : drawn;
            value[i] = drawn > f->high[c] ? f->high[c] : drawn;
        }
    }
}
#undef PICK
#undef PASSED

/* The same for any number of categories, by search and loads: the category and z (and a
 * categorical feature's value), then a binned feature's value within the bin. */
static inline __attribute__((always_inline)) void categories_many(
    const lime_feature *f, const double *same, const double *u, size_t n, double *index,
    double *z, double *value)
{
    for (size_t i = 0; i < n; i++) {
        size_t c = draw_category(f, u[i]);
        index[i] = (double)c;
        z[i] = same[c];
        value[i] = f->category[c];
    }
}

static inline __attribute__((always_inline)) void binned_many(
    const lime_feature *f, const double *index, const double *u, size_t n, double *p,
    double *value)
{
    for (size_t i = 0; i < n; i++) {
        size_t c = (size_t)index[i];
        p[i] = f->p_at[c] + u[i] * f->p_slope[c];
    }
    normal_quantiles(p, value, n);
    for (size_t i = 0; i < n; i++) {
        size_t c = (size_t)index[i];
        double drawn = f->mean[c] + f->step[c] * value[i];
        drawn = drawn < f->low[c] ? f->low[c] : drawn;
        value[i] = drawn > f->high[c] ? f->high[c] : drawn;
    }
}

/* Two uniforms from each number at positions first, first + stride, ... of a stream: the
 * high and the low 32 bits, each over 2^32 (converted exactly as the mantissa of 2^52, which
 * vectorises where the CPU has no unsigned conversion). 32 bits are ample for a bin and a
 * place within it, and one number for two features halves the draws' cost. */
static inline void uniform_pairs_at(uint64_t key, uint64_t first, uint64_t stride, size_t n,
                                    double *high, double *low)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t state = key + (first + i * stride) * 0x9E3779B97F4A7C15ULL;
        uint64_t bits = gbx_random_next(&state);
        uint64_t high_bits = 0x4330000000000000ULL | (bits >> 32);
        uint64_t low_bits = 0x4330000000000000ULL | (bits & 0xFFFFFFFFULL);
        double h, l;
        memcpy(&h, &high_bits, sizeof h);
        memcpy(&l, &low_bits, sizeof l);
        high[i] = (h - 0x1p52) * 0x1p-32;
        low[i] = (l - 0x1p52) * 0x1p-32;
    }
}

/* Per-feature scratch of the draws: S entries each, but level (the array's q) and same (the
 * most categories of a feature). */
typedef struct {
    double *u, *u_odd, *v, *same; /* u_odd: the odd features' uniforms, drawn with u */
    double *columns; /* [P][S - 1]: each feature's values, before they go into the rows */
    double *index; /* the categories drawn, by number */
    int32_t *level;
} draw_scratch;

/* The neighbours of x: values (model inputs, M wide, a row per neighbour) and their
 * representation z (feature by feature: z[p S + s]), neighbour 0 being x. Neighbour s's
 * feature p takes one uniform (half of a number of the row's stream, two features a number),
 * stratified as column p of an orthogonal array (strata.h): where it falls among the
 * cumulative training frequencies draws the bin (or category, or a group's training row),
 * and where it falls within the bin's share places the value in the bin, so the value rises
 * with the uniform. LIME's coefficients are differences between neighbours in and out of
 * the row's bins, and the noise they pick up from the other features' draws (products of
 * two features' uniforms) is what the array removes: on the bench's models the same accuracy
 * takes a half to two thirds of the samples. The draws go a feature at a time, in loops
 * without branches that vectorise (a feature's column is written into the rows last), built
 * for each vector width (the same operations, so the same numbers). */
GBX_VECTOR_CLONES
static void draw_neighbours(const gbx_lime *lime, const double *x, double *values, double *z,
                            double *x_category, draw_scratch *d, uint64_t key)
{
    size_t M = lime->M, P = lime->P, S = lime->samples, n = S - 1;
    uint64_t design_key = key ^ 0x243F6A8885A308D3ULL; /* the levels' permutations */
    memcpy(values, x, M * sizeof(double));
    for (size_t p = 0; p < P; p++) {
        const lime_feature *f = &lime->features[p];
        double v = x[f->column], *zp = z + p * S, *t = d->columns + p * n;
        x_category[p] = f->width > 1 ? 0.0 : category_of(f, v);
        zp[0] = f->width > 1 || f->categorical || f->binned ? 1.0
                : isnan(v)                                 ? 0.0
                                                           : (v - f->center) / f->scale;
        /* features 2 m and 2 m + 1 of neighbour s take the two halves of the number at
         * s H + m */
        size_t H = (P + 1) / 2;
        if (p % 2 == 0) uniform_pairs_at(key, H + p / 2, H, n, d->u, d->u_odd);
        double *u = p % 2 == 0 ? d->u : d->u_odd;
        gbx_strata_apply(lime->strata, design_key, p, d->level, u);
        if (f->width > 1) {
            /* A group: its columns together, as a training row has them (so one-hot
             * dummies stay one-hot); 1 when they all equal x's. */
            for (size_t s = 1; s < S; s++) {
                size_t drawn = (size_t)(u[s - 1] * (double)lime->training_rows);
                const double *row = lime->training +
                                    (drawn < lime->training_rows ? drawn : lime->training_rows - 1) * M;
                int same = 1;
                for (size_t i = 0; i < f->width; i++) {
                    size_t j = f->columns[i];
                    values[s * M + j] = row[j];
                    same &= same_category(row[j], x[j]);
                }
                zp[s] = same;
            }
            continue;
        }
        if (!f->categorical && !f->binned) {
            for (size_t i = 0; i < n; i++) d->v[i] = u[i] > 0.0 ? u[i] : 0x1p-33;
            normal_quantiles(d->v, zp + 1, n);
            for (size_t i = 0; i < n; i++) t[i] = f->center + f->scale * zp[i + 1];
        } else {
            /* The category by training frequency; z is 1 where it is x's. */
            for (size_t c = 0; c < f->categories; c++)
                d->same[c] = same_category(f->category[c], x_category[p]);
            if (f->categories <= 4 && f->binned) {
                binned_few(f, d->same, u, n, zp + 1, t, d->v);
            } else if (f->categories <= 4) {
                categorical_few(f, d->same, u, n, zp + 1, t);
            } else {
                categories_many(f, d->same, u, n, d->index, zp + 1, t);
                if (f->binned) binned_many(f, d->index, u, n, d->v, t);
            }
        }
    }
    /* The columns into the neighbours' rows, 64 rows at a time (so the rows stay in the
     * first-level cache while every column is written into them). */
    for (size_t start = 0; start < n; start += 64) {
        size_t end = n - start < 64 ? n : start + 64;
        for (size_t p = 0; p < P; p++) {
            const lime_feature *f = &lime->features[p];
            if (f->width > 1) continue;
            const double *column = d->columns + p * n;
            for (size_t i = start; i < end; i++) values[(i + 1) * M + f->column] = column[i];
        }
    }
}

/* ---- the weighted fits ---- */

/* Solves (G_SS + alpha I) beta = g_S for the features in `used` by Cholesky; a singular
 * system (a feature constant over the neighbours) gets a tiny ridge, which gives such a
 * feature 0 as the least-norm solution would. */
static void solve(const double *G, const double *g, size_t M, const size_t *used, size_t q,
                  double alpha, double *beta, double *L)
{
    double jitter = 0.0;
    for (int attempt = 0; attempt < 4; attempt++) {
        for (size_t i = 0; i < q; i++) beta[i] = g[used[i]];
        if (gbx_cholesky_solve(G, M, used, q, alpha + jitter, 0.0, beta, beta, L)) return;
        double largest = 1e-300;
        for (size_t i = 0; i < q; i++)
            if (G[used[i] * M + used[i]] > largest) largest = G[used[i] * M + used[i]];
        jitter = jitter == 0.0 ? 1e-12 * largest : jitter * 1e3;
    }
    memset(beta, 0, q * sizeof(double));
}

/* Weighted R^2 of a fit (sklearn's score with sample weights) from the centred moments. */
static double r_squared(const double *G, const double *g, double syy, size_t M, const size_t *used,
                        size_t q, const double *beta)
{
    double sse = syy;
    for (size_t i = 0; i < q; i++) {
        sse -= 2.0 * beta[i] * g[used[i]];
        for (size_t j = 0; j < q; j++) sse += beta[i] * G[used[i] * M + used[j]] * beta[j];
    }
    if (sse < 0.0) sse = 0.0;
    if (!(syy > 0.0)) return sse == 0.0 ? 1.0 : 0.0;
    return 1.0 - sse / syy;
}

/* Sums over the neighbours in eight interleaved partial sums (so they vectorise without
 * reassociating), added in a fixed order: sum a[s] b[s], and sum a[s] b[s] c[s]. */
#define EIGHT_PARTS(term)                                                                      \
    double part[8] = {0};                                                                      \
    size_t s = 0;                                                                              \
    for (; s + 8 <= n; s += 8)                                                                 \
        for (int u = 0; u < 8; u++) part[u] += term(s + u);                                    \
    for (; s < n; s++) part[s % 8] += term(s);                                                 \
    return ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]))
#define DOT_TERM(i) (a[i] * b[i])
#define DOT3_TERM(i) (a[i] * b[i] * c[i])
GBX_VECTOR_CLONES
static double dot(const double *a, const double *b, size_t n) { EIGHT_PARTS(DOT_TERM); }
GBX_VECTOR_CLONES
static double dot3(const double *a, const double *b, const double *c, size_t n)
{
    EIGHT_PARTS(DOT3_TERM);
}
#undef EIGHT_PARTS
#undef DOT_TERM
#undef DOT3_TERM

/* Bits [first, first + count) of a word of the bit sets, all of one distance class. */
typedef struct {
    size_t word;
    uint64_t mask;
    uint32_t class;
} run;

/* Scratch of one thread. */
typedef struct {
    double *values, *z, *outputs, *weights, *means, *G, *g, *beta, *L, *order_key;
    double *x_category, *x_z; /* [P]: the explained row's categories and representation */
    double *weighted;         /* [P][S]: the centred representation times the weights (the
                               * dense fits); [S] scratch for the 0/1 ones */
    draw_scratch draws;
    size_t *used, *order;
    /* An all-0/1 representation (binary_gram): each neighbour's distance class and place in
     * class order, each feature's bit set over those places, and the runs of bits within a
     * word and a class. */
    uint32_t *class_of, *place;
    size_t *class_start; /* [2 (P + 2)] */
    uint64_t *bits;
    run *runs;
} lime_work;

static void work_free(lime_work *w)
{
    free(w->values); free(w->z); free(w->outputs); free(w->weights); free(w->means); free(w->G);
    free(w->g); free(w->beta); free(w->L); free(w->order_key); free(w->used); free(w->order);
    free(w->x_category); free(w->x_z); free(w->weighted);
    free(w->draws.u); free(w->draws.u_odd); free(w->draws.v); free(w->draws.index);
    free(w->draws.level); free(w->draws.same); free(w->draws.columns);
    free(w->class_of); free(w->place); free(w->class_start); free(w->bits); free(w->runs);
}

static int work_alloc(const gbx_lime *lime, lime_work *w)
{
    size_t M = lime->M ? lime->M : 1, P = lime->P ? lime->P : 1, S = lime->samples, K = lime->K;
    w->values = gbx_malloc_array(S * M, sizeof(double));
    w->z = gbx_malloc_array(S * P, sizeof(double));
    w->outputs = gbx_malloc_array(S * K, sizeof(double));
    w->weights = gbx_malloc_array(S, sizeof(double));
    w->means = gbx_malloc_array(P, sizeof(double));
    w->G = gbx_malloc_array(P * P, sizeof(double));
    w->g = gbx_malloc_array(P, sizeof(double));
    w->beta = gbx_malloc_array(P, sizeof(double));
    w->L = gbx_malloc_array(P * P, sizeof(double));
    w->order_key = gbx_malloc_array(P, sizeof(double));
    w->used = gbx_malloc_array(P, sizeof(size_t));
    w->order = gbx_malloc_array(P, sizeof(size_t));
    w->x_category = gbx_malloc_array(P, sizeof(double));
    w->x_z = gbx_malloc_array(P, sizeof(double));
    /* the dense fits' centred, weighted representation; the 0/1 ones' weighted outputs */
    w->weighted = gbx_malloc_array(lime->kernel_table ? S : P * S, sizeof(double));
    w->draws.u = gbx_malloc_array(S, sizeof(double));
    w->draws.u_odd = gbx_malloc_array(S, sizeof(double));
    w->draws.v = gbx_malloc_array(S, sizeof(double));
    w->draws.index = gbx_malloc_array(S, sizeof(double));
    w->draws.level = gbx_malloc_array(lime->strata.levels, sizeof(int32_t));
    size_t most = 1;
    for (size_t p = 0; p < lime->P; p++)
        if (lime->features[p].categories > most) most = lime->features[p].categories;
    w->draws.same = gbx_calloc(most < 16 ? 16 : most, sizeof(double)); /* padded for quad_of */
    w->draws.columns = gbx_malloc_array(P * S, sizeof(double));
    if (lime->kernel_table) {
        size_t words = (S + 63) / 64;
        w->class_of = gbx_malloc_array(S, sizeof(uint32_t));
        w->place = gbx_malloc_array(S, sizeof(uint32_t));
        w->bits = gbx_malloc_array(P * words, sizeof(uint64_t));
        w->runs = gbx_malloc_array(words + P + 1, sizeof(run));
        w->class_start = gbx_malloc_array(2 * (P + 2), sizeof(size_t));
        if (!w->class_of || !w->place || !w->bits || !w->runs || !w->class_start) return 0;
    }
    return w->values && w->z && w->outputs && w->weights && w->means && w->G && w->g && w->beta &&
           w->L && w->order_key && w->used && w->order && w->x_category && w->x_z &&
           w->weighted && w->draws.u && w->draws.u_odd && w->draws.v && w->draws.index && w->draws.level &&
           w->draws.same && w->draws.columns;
}

/* The features of the local model, by the configured selection (lime's feature_selection). */
static size_t select_features(const gbx_lime *lime, lime_work *w, double syy)
{
    size_t M = lime->P, wanted = lime->selected;
    gbx_lime_selection selection = lime->options.selection;
    if (selection == GBX_LIME_AUTO) selection = wanted <= 6 ? GBX_LIME_FORWARD : GBX_LIME_HIGHEST_WEIGHTS;
    if (selection == GBX_LIME_ALL) {
        for (size_t j = 0; j < M; j++) w->used[j] = j;
        return M;
    }
    if (selection == GBX_LIME_FORWARD) {
        /* Greedy: add the feature whose least-squares fit (alpha 0) scores best; ties go to
         * the first feature, as in lime. */
        size_t q = 0;
        uint8_t taken[4096] = {0};
        uint8_t *in = M <= sizeof taken ? taken : gbx_calloc(M, 1);
        if (!in) return 0;
        for (; q < wanted; q++) {
            double best_score = -1e8;
            size_t best = 0;
            for (size_t j = 0; j < M; j++) {
                if (in[j]) continue;
                w->used[q] = j;
                solve(w->G, w->g, M, w->used, q + 1, 0.0, w->beta, w->L);
                double score = r_squared(w->G, w->g, syy, M, w->used, q + 1, w->beta);
                if (score > best_score) best_score = score, best = j;
            }
            w->used[q] = best;
            in[best] = 1;
        }
        if (in != taken) free(in);
        return q;
    }
    /* Highest weights: a ridge fit (alpha 0.01) on every feature, features ranked by
     * |coefficient x the row's representation|, stable for ties. */
    for (size_t j = 0; j < M; j++) w->order[j] = j;
    solve(w->G, w->g, M, w->order, M, 0.01, w->beta, w->L);
    for (size_t j = 0; j < M; j++) w->order_key[j] = fabs(w->beta[j] * w->x_z[j]);
    for (size_t i = 1; i < M; i++) { /* insertion sort, descending, stable */
        size_t j = i, moving = w->order[i];
        while (j > 0 && w->order_key[w->order[j - 1]] < w->order_key[moving]) {
            w->order[j] = w->order[j - 1];
            j--;
        }
        w->order[j] = moving;
    }
    for (size_t j = 0; j < wanted; j++) w->used[j] = w->order[j];
    return wanted;
}

/* The weighted Gram matrix of an all-0/1 representation without a product over the
 * neighbours: sum_s w_s z_si z_sj counts the neighbours in both features' bins, weighted, and a
 * neighbour's weight depends only on its distance class (how many features differ from x).
 * So the neighbours are placed in class order, each feature becomes a bit set over the places,
 * and each pair of features a popcount of their bit sets' AND per run of one class; centring
 * takes total mu_i mu_j off. About 12,000 word operations for 20 features and 3,750
 * neighbours where the product is 3 million multiply-adds. */
static void binary_gram(const gbx_lime *lime, lime_work *w, size_t S, double total)
{
    size_t P = lime->P, words = (S + 63) / 64, classes = P + 1;
    /* Class c takes places [start[c], start[c + 1]); next is each class's next free place. */
    size_t *start = w->class_start, *next = w->class_start + classes + 1;
    memset(start, 0, (classes + 1) * sizeof(size_t));
    for (size_t s = 0; s < S; s++) start[w->class_of[s] + 1]++;
    for (size_t c = 0; c < classes; c++) start[c + 1] += start[c], next[c] = start[c];
    for (size_t s = 0; s < S; s++) w->place[s] = (uint32_t)next[w->class_of[s]]++;
    memset(w->bits, 0, P * words * sizeof(uint64_t));
    for (size_t j = 0; j < P; j++) {
        uint64_t *b = w->bits + j * words;
        const double *zj = w->z + j * S;
        for (size_t s = 0; s < S; s++)
            b[w->place[s] / 64] |= (uint64_t)(zj[s] != 0.0) << (w->place[s] % 64);
    }
    size_t count = 0;
    for (size_t c = 0; c < classes; c++)
        for (size_t from = start[c]; from < start[c + 1];) {
            size_t bit = from % 64, n = start[c + 1] - from < 64 - bit ? start[c + 1] - from : 64 - bit;
            uint64_t mask = (n == 64 ? ~(uint64_t)0 : ((uint64_t)1 << n) - 1) << bit;
            w->runs[count++] = (run){from / 64, mask, (uint32_t)c};
            from += n;
        }
    for (size_t i = 0; i < P; i++)
        for (size_t j = 0; j <= i; j++) {
            const uint64_t *a = w->bits + i * words, *b = w->bits + j * words;
            double sum = 0.0;
            for (size_t r = 0; r < count; r++) {
                const run *u = &w->runs[r];
                sum += lime->kernel_table[u->class] *
                       (double)__builtin_popcountll(a[u->word] & b[u->word] & u->mask);
            }
            w->G[i * P + j] = w->G[j * P + i] = sum - total * w->means[i] * w->means[j];
        }
}

GBX_VECTOR_CLONES
static gbx_status explain_row(const gbx_lime *lime, lime_work *w, const double *x, double *values,
                              double *intercepts, double *local, double *scores, gbx_error *error)
{
    const gbx_model *model = lime->model;
    size_t M = lime->P, K = lime->K, S = lime->samples; /* M: the representation's width */
    draw_neighbours(lime, x, w->values, w->z, w->x_category, &w->draws,
                    gbx_random_key(lime->options.seed, x, lime->M));
    gbx_status status = model->predict_raw(model, w->values, S, w->outputs, error);
    if (status != GBX_OK) return status;
    for (size_t s = 0; s < S; s++) model->transform(model, w->outputs + s * K);
    for (size_t j = 0; j < M; j++) w->x_z[j] = w->z[j * S];
    /* Kernel weights from the distance to the row in the representation, summed a feature at
     * a time (dots in weights, squared norms in the draws' scratch for cosine). */
    double width2 = lime->kernel_width * lime->kernel_width, norm0 = 0.0, *d2 = w->weights;
    double *norm = w->draws.v;
    for (size_t j = 0; j < M; j++) norm0 += w->x_z[j] * w->x_z[j];
    for (size_t s = 0; s < S; s++) d2[s] = 0.0, norm[s] = 0.0;
    for (size_t j = 0; j < M; j++) {
        const double *zj = w->z + j * S, at_x = w->x_z[j];
        if (lime->options.cosine)
            for (size_t s = 0; s < S; s++) d2[s] += zj[s] * at_x, norm[s] += zj[s] * zj[s];
        else
            for (size_t s = 0; s < S; s++) d2[s] += (zj[s] - at_x) * (zj[s] - at_x);
    }
    for (size_t s = 0; lime->kernel_table && s < S; s++) {
        w->class_of[s] = (uint32_t)d2[s];
        w->weights[s] = lime->kernel_table[w->class_of[s]];
    }
    for (size_t s = 0; !lime->kernel_table && s < S; s++) {
        double d;
        if (lime->options.cosine) {
            d = norm[s] > 0.0 && norm0 > 0.0 ? 1.0 - d2[s] / sqrt(norm[s] * norm0) : 1.0;
            if (d < 0.0) d = 0.0;
        } else {
            d = sqrt(d2[s]);
        }
        w->weights[s] = sqrt(exp(-d * d / width2));
    }
    /* Weighted means and the centred Gram matrix, shared by every output and fit. */
    double *y = w->draws.v; /* the draws' scratch is free */
    for (size_t s = 0; s < S; s++) y[s] = 1.0;
    double total = dot(w->weights, y, S);
    for (size_t j = 0; j < M; j++) w->means[j] = dot(w->weights, w->z + j * S, S) / total;
    int binary = lime->kernel_table != NULL;
    if (binary) {
        binary_gram(lime, w, S, total);
    } else {
        /* The representation centred in place (x's is kept in x_z), and times the weights:
         * the Gram matrix is one matrix product, lower triangle copied up so it is exactly
         * symmetric. */
        for (size_t j = 0; j < M; j++)
            for (size_t s = 0; s < S; s++) {
                double c = w->z[j * S + s] -= w->means[j];
                w->weighted[j * S + s] = w->weights[s] * c;
            }
        if (M > 0)
            gbx_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, (int)M, (int)S, 1.0,
                      w->weighted, (int)S, w->z, (int)S, 0.0, w->G, (int)M);
        for (size_t i = 0; i < M; i++)
            for (size_t j = 0; j < i; j++) w->G[j * M + i] = w->G[i * M + j];
    }
    for (size_t k = 0; k < K; k++) {
        for (size_t s = 0; s < S; s++) y[s] = w->outputs[s * K + k];
        double mean_y = dot(w->weights, y, S) / total;
        for (size_t s = 0; s < S; s++) y[s] -= mean_y;
        double syy = dot3(w->weights, y, y, S);
        if (binary) { /* z is not centred: g_j = sum w (z_j - mu_j) y */
            double *wy = w->weighted, sum_wy = dot(w->weights, y, S);
            for (size_t s = 0; s < S; s++) wy[s] = w->weights[s] * y[s];
            for (size_t j = 0; j < M; j++) w->g[j] = dot(w->z + j * S, wy, S) - w->means[j] * sum_wy;
        } else {
            for (size_t j = 0; j < M; j++) w->g[j] = dot(w->weighted + j * S, y, S);
        }
        size_t q = select_features(lime, w, syy);
        if (q == 0 && M > 0) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
        solve(w->G, w->g, M, w->used, q, 1.0, w->beta, w->L); /* Ridge(alpha=1), as lime */
        double *phi = values + k * M, intercept = mean_y, at_row = 0.0;
        memset(phi, 0, M * sizeof(double));
        for (size_t i = 0; i < q; i++) {
            size_t j = w->used[i];
            intercept -= w->beta[i] * w->means[j];
            phi[j] = w->beta[i] * w->x_z[j];
            at_row += phi[j];
        }
        intercepts[k] = intercept;
        local[k] = intercept + at_row;
        scores[k] = r_squared(w->G, w->g, syy, M, w->used, q, w->beta);
    }
    return GBX_OK;
}

gbx_status gbx_lime_explain(const gbx_lime *lime, const double *rows, size_t count,
                            double *values, double *intercepts, double *local_predictions,
                            double *scores, double *predictions, int threads, gbx_error *error)
{
    const gbx_model *model = lime->model;
    size_t M = lime->M, K = lime->K, P = lime->P;
    gbx_status status = model->predict_raw(model, rows, count, predictions, error);
    if (status != GBX_OK) return status;
    for (size_t r = 0; r < count; r++) model->transform(model, predictions + r * K);
    size_t failed_row = SIZE_MAX;
    gbx_error first_error = {0};
#pragma omp parallel num_threads(threads)
    {
        lime_work w = {0};
        int ready = work_alloc(lime, &w);
#pragma omp for schedule(dynamic, 1)
        for (size_t r = 0; r < count; r++) {
            gbx_error row_error = {0};
            gbx_status row_status =
                ready ? explain_row(lime, &w, rows + r * M, values + r * K * P, intercepts + r * K,
                                    local_predictions + r * K, scores + r * K, &row_error)
                      : gbx_fail(&row_error, GBX_ERR_NOMEM, "out of memory for %zu neighbours",
                                 lime->samples);
            if (row_status != GBX_OK) {
#pragma omp critical(gbx_lime_error)
                if (r < failed_row) failed_row = r, first_error = row_error;
            }
        }
        work_free(&w);
    }
    if (failed_row != SIZE_MAX) {
        if (error) *error = first_error;
        return first_error.status;
    }
    return GBX_OK;
}

/* ---- the method's row: LIME tabular ------------------------------------------------------ */
#include "method.h"

static gbx_status lime_check(const gbx_model *model, const gbx_explainer_options *options,
                             gbx_error *error)
{
    (void)model;
    if (options->background && options->background->weights)
        return gbx_fail(error, GBX_ERR_USAGE, "method lime learns its sampling distribution from "
                        "the training rows themselves, not from a weighted summary (a k-means or "
                        "stratified one)");
    return GBX_OK;
}

static gbx_status lime_prepare(gbx_explainer *x, const gbx_data *background, gbx_error *error)
{
    const gbx_explainer_options *o = &x->options;
    gbx_lime_options lime_options = {o->lime_discretizer, o->lime_selection, o->lime_cosine,
                                     o->lime_features, o->max_evals, o->lime_kernel_width,
                                     o->categorical, o->seed};
    gbx_lime *lime;
    gbx_status status = gbx_lime_prepare(x->model, background, gbx_explainer_players(x),
                                         &lime_options, &lime, error);
    if (status != GBX_OK) return status;
    x->state = lime; /* each row's intercept is its base value, set when it is explained */
    return GBX_OK;
}

static gbx_status lime_explain(const gbx_explainer *x, const gbx_data *data, gbx_explanation *e,
                               gbx_error *error)
{
    size_t n = data->rows, cells = n * e->outputs;
    e->local_predictions = gbx_malloc_array(cells + 1, sizeof(double));
    e->scores = gbx_malloc_array(cells + 1, sizeof(double));
    if (!e->local_predictions || !e->scores)
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory for %zu rows", n);
    return gbx_lime_explain(x->state, data->values, n, e->values, e->base_values,
                            e->local_predictions, e->scores, e->predictions, x->threads, error);
}

static void lime_parameters(FILE *f, const gbx_explainer *x)
{
    static const char *const discretizers[] = {"quartile", "decile", "none"};
    static const char *const selections[] = {"auto", "forward_selection", "highest_weights", "none"};
    const gbx_explainer_options *o = &x->options;
    size_t M = x->players.count, selected = o->lime_features ? o->lime_features : 10;
    gbx_background_parameters(f, x);
    fprintf(f, ", \"num_samples\": %zu, \"discretizer\": \"%s\", \"feature_selection\": "
            "\"%s\", \"num_features\": %zu, \"kernel_width\": %.17g, \"distance\": \"%s\"",
            o->max_evals ? o->max_evals : 5000, discretizers[o->lime_discretizer],
            selections[o->lime_selection], selected < M ? selected : M,
            o->lime_kernel_width > 0 ? o->lime_kernel_width : 0.75 * sqrt((double)M),
            o->lime_cosine ? "cosine" : "euclidean");
}

static void lime_release(void *state) { gbx_lime_free(state); }

const gbx_method_row gbx_lime_method = {
    GBX_METHOD_LIME, "lime", NULL, METHOD_BACKGROUND, "its training data", 0, lime_check,
    lime_prepare, lime_explain, lime_parameters, lime_release};
