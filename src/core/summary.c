/* Background summaries: a seeded sample of rows, or weighted k-means centres as shap.kmeans
 * makes them, optionally drawn per stratum of one column. Everything is seeded and runs on one
 * thread, so the summary depends only on the data and the seed. */
#include "core.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The rows (indices) of one stratum. */
typedef struct {
    double value;
    size_t *rows, count, share; /* share: the rows or centres it contributes */
} stratum;

static int compare_values(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    if (isnan(x) || isnan(y)) return isnan(x) - isnan(y);
    return x < y ? -1 : x > y;
}

/* Lloyd's k-means with k-means++ starts on n points (rows of x, M wide, no missing values);
 * the best of a few seeded starts by inertia. centre: [k][M]; owner: [n]. */
static int kmeans(const double *x, size_t n, size_t M, size_t k, uint64_t seed, double *centre,
                  size_t *owner)
{
    double *distance = malloc(n * sizeof(double)), *trial = malloc(k * M * sizeof(double));
    size_t *assigned = malloc(n * sizeof(size_t)), *members = malloc(k * sizeof(size_t));
    if (!distance || !trial || !assigned || !members) {
        free(distance); free(trial); free(assigned); free(members);
        return 0;
    }
    double best = INFINITY;
    for (int start = 0; start < 3; start++) {
        uint64_t random = seed ^ (0x9E3779B97F4A7C15ULL * (uint64_t)(start + 1));
        /* k-means++: each next centre drawn with probability proportional to D^2. */
        size_t first = (size_t)(gbx_random_next(&random) % n);
        memcpy(trial, x + first * M, M * sizeof(double));
        for (size_t i = 0; i < n; i++) distance[i] = INFINITY;
        for (size_t c = 1; c <= k; c++) {
            double total = 0.0;
            for (size_t i = 0; i < n; i++) {
                double d = 0.0;
                for (size_t j = 0; j < M; j++) {
                    double t = x[i * M + j] - trial[(c - 1) * M + j];
                    d += t * t;
                }
                if (d < distance[i]) distance[i] = d;
                total += distance[i];
            }
            if (c == k) break;
            size_t pick = n - 1;
            if (total > 0.0) {
                double u = gbx_random_uniform(&random) * total;
                for (size_t i = 0; i < n; i++) {
                    if (u < distance[i]) { pick = i; break; }
                    u -= distance[i];
                }
            } else {
                pick = (size_t)(gbx_random_next(&random) % n); /* every point is a centre */
            }
            memcpy(trial + c * M, x + pick * M, M * sizeof(double));
        }
        double inertia = 0.0;
        for (int iteration = 0; iteration < 300; iteration++) {
            int changed = iteration == 0;
            inertia = 0.0;
            for (size_t i = 0; i < n; i++) {
                size_t nearest = 0;
                double closest = INFINITY;
                for (size_t c = 0; c < k; c++) {
                    double d = 0.0;
                    for (size_t j = 0; j < M; j++) {
                        double t = x[i * M + j] - trial[c * M + j];
                        d += t * t;
                    }
                    if (d < closest) closest = d, nearest = c;
                }
                changed |= iteration > 0 && assigned[i] != nearest;
                assigned[i] = nearest;
                distance[i] = closest;
                inertia += closest;
            }
            if (!changed) break;
            memset(trial, 0, k * M * sizeof(double));
            memset(members, 0, k * sizeof(size_t));
            for (size_t i = 0; i < n; i++) {
                members[assigned[i]]++;
                for (size_t j = 0; j < M; j++) trial[assigned[i] * M + j] += x[i * M + j];
            }
            for (size_t c = 0; c < k; c++) {
                if (members[c] == 0) { /* an empty cluster takes the worst-served point */
                    size_t far = 0;
                    for (size_t i = 1; i < n; i++)
                        if (distance[i] > distance[far]) far = i;
                    distance[far] = 0.0;
                    memcpy(trial + c * M, x + far * M, M * sizeof(double));
                    continue;
                }
                for (size_t j = 0; j < M; j++) trial[c * M + j] /= (double)members[c];
            }
        }
        if (inertia < best) {
            best = inertia;
            memcpy(centre, trial, k * M * sizeof(double));
            memcpy(owner, assigned, n * sizeof(size_t));
        }
    }
    free(distance); free(trial); free(assigned); free(members);
    return 1;
}

/* k weighted centres of a stratum's rows into out (rows [at, at + k)): missing values take
 * the column mean while clustering, each centre coordinate is then moved to the nearest value
 * the column holds (shap.kmeans's round_values), and a centre weighs its share of all rows. */
static gbx_status cluster(const gbx_data *data, const stratum *s, size_t k, uint64_t seed,
                          gbx_data *out, size_t at, gbx_error *error)
{
    size_t M = data->columns, n = s->count;
    double *x = gbx_malloc_array(n * (M ? M : 1), sizeof(double));
    double *centre = gbx_malloc_array(k * (M ? M : 1), sizeof(double));
    size_t *owner = gbx_malloc_array(n, sizeof(size_t));
    if (!x || !centre || !owner) {
        free(x); free(centre); free(owner);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory for k-means");
    }
    for (size_t j = 0; j < M; j++) {
        double sum = 0.0;
        size_t present = 0;
        for (size_t i = 0; i < n; i++) {
            double v = data->values[s->rows[i] * M + j];
            if (!isnan(v)) sum += v, present++;
        }
        double mean = present ? sum / (double)present : 0.0;
        for (size_t i = 0; i < n; i++) {
            double v = data->values[s->rows[i] * M + j];
            x[i * M + j] = isnan(v) ? mean : v;
        }
    }
    int ok = kmeans(x, n, M, k, seed, centre, owner);
    for (size_t c = 0; ok && c < k; c++) {
        size_t members = 0;
        for (size_t i = 0; i < n; i++) members += owner[i] == c;
        out->weights[at + c] = (double)members / (double)data->rows;
        for (size_t j = 0; j < M; j++) {
            double target = centre[c * M + j], nearest = NAN, gap = INFINITY;
            for (size_t i = 0; i < n; i++) {
                double v = data->values[s->rows[i] * M + j];
                if (!isnan(v) && fabs(v - target) < gap) gap = fabs(v - target), nearest = v;
            }
            out->values[(at + c) * M + j] = nearest;
        }
    }
    free(x); free(centre); free(owner);
    return ok ? GBX_OK : gbx_fail(error, GBX_ERR_NOMEM, "out of memory for k-means");
}

/* Splits `count` among the strata in proportion to their rows (largest remainders), at least
 * one each, never more than a stratum holds. */
static void allocate(stratum *strata, size_t S, size_t count, size_t total)
{
    size_t given = 0;
    for (size_t s = 0; s < S; s++) {
        strata[s].share = (size_t)((double)count * (double)strata[s].count / (double)total);
        if (strata[s].share < 1) strata[s].share = 1;
        if (strata[s].share > strata[s].count) strata[s].share = strata[s].count;
        given += strata[s].share;
    }
    while (given < count) { /* the largest shortfall against the proportional share first */
        size_t best = S;
        double most = 0.0;
        for (size_t s = 0; s < S; s++) {
            double gap = (double)count * (double)strata[s].count / (double)total - (double)strata[s].share;
            if (strata[s].share < strata[s].count && (best == S || gap > most)) best = s, most = gap;
        }
        if (best == S) break;
        strata[best].share++, given++;
    }
    while (given > count) { /* the largest surplus gives back, keeping one each */
        size_t best = S;
        double most = 0.0;
        for (size_t s = 0; s < S; s++) {
            double gap = (double)strata[s].share - (double)count * (double)strata[s].count / (double)total;
            if (strata[s].share > 1 && (best == S || gap > most)) best = s, most = gap;
        }
        strata[best].share--, given--;
    }
}

gbx_status gbx_data_summarise(const gbx_data *data, gbx_summary method, size_t count,
                              long stratify, uint64_t seed, gbx_data **out, gbx_error *error)
{
    if (!data || !out) return gbx_fail(error, GBX_ERR_USAGE, "gbx_data_summarise: NULL argument");
    size_t N = data->rows, M = data->columns;
    if (data->weights)
        return gbx_fail(error, GBX_ERR_USAGE, "the data is already a weighted summary");
    if (N == 0 || count == 0) return gbx_fail(error, GBX_ERR_USAGE, "nothing to summarise");
    if (stratify >= (long)M) return gbx_fail(error, GBX_ERR_USAGE, "no column %ld", stratify);
    /* Strata: the distinct values of the column (missing values one more), in order. */
    double *values = gbx_malloc_array(N, sizeof(double));
    stratum *strata = gbx_calloc(N, sizeof(stratum));
    size_t S = 0;
    gbx_status status = values && strata ? GBX_OK : gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    for (size_t r = 0; status == GBX_OK && r < N; r++)
        values[r] = stratify >= 0 ? data->values[r * M + (size_t)stratify] : 0.0;
    if (status == GBX_OK) qsort(values, N, sizeof(double), compare_values);
    for (size_t r = 0; status == GBX_OK && r < N; r++)
        if (r == 0 || compare_values(&values[r], &values[r - 1]) != 0) strata[S++].value = values[r];
    /* The rows of each stratum, in file order, as slices of one array. */
    size_t *grouped = status == GBX_OK ? gbx_malloc_array(N, sizeof(size_t)) : NULL;
    size_t *stratum_of = status == GBX_OK ? gbx_malloc_array(N, sizeof(size_t)) : NULL;
    if (status == GBX_OK && (!grouped || !stratum_of))
        status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    for (size_t r = 0; status == GBX_OK && r < N; r++) {
        double v = stratify >= 0 ? data->values[r * M + (size_t)stratify] : 0.0;
        size_t low = 0, high = S - 1; /* binary search for the stratum */
        while (low < high) {
            size_t middle = (low + high) / 2;
            if (compare_values(&strata[middle].value, &v) < 0) low = middle + 1;
            else high = middle;
        }
        stratum_of[r] = low;
        strata[low].count++;
    }
    for (size_t s = 0, offset = 0; status == GBX_OK && s < S; s++) {
        strata[s].rows = grouped + offset;
        offset += strata[s].count;
        strata[s].count = 0;
    }
    for (size_t r = 0; status == GBX_OK && r < N; r++) {
        stratum *t = &strata[stratum_of[r]];
        t->rows[t->count++] = r;
    }
    if (status == GBX_OK && count < S)
        status = gbx_fail(error, GBX_ERR_USAGE, "%zu rows cannot represent the %zu strata of "
                          "column %ld (\"%s\"); ask for at least %zu", count, S, stratify + 1,
                          data->names[stratify], S);
    if (status == GBX_OK) {
        if (count > N) count = N;
        allocate(strata, S, count, N);
    }
    size_t rows = 0;
    for (size_t s = 0; status == GBX_OK && s < S; s++) rows += strata[s].share;
    gbx_data *summary = status == GBX_OK ? gbx_data_alloc(rows, M, (const char *const *)data->names)
                                         : NULL;
    int weighted = method == GBX_SUMMARY_KMEANS || S > 1;
    if (status == GBX_OK && (!summary || (weighted && !(summary->weights = gbx_malloc_array(rows, sizeof(double))))))
        status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    size_t at = 0;
    for (size_t s = 0; status == GBX_OK && s < S; s++) {
        stratum *t = &strata[s];
        /* One stream per stratum; without strata, the one gbx_data_sample always used. */
        uint64_t stream = S == 1 ? seed ^ 0x5851F42D4C957F2DULL
                                 : seed ^ (0xD6E8FEB86659FD93ULL * (uint64_t)(s + 1));
        if (method == GBX_SUMMARY_KMEANS) {
            status = cluster(data, t, t->share, stream, summary, at, error);
        } else {
            /* Selection sampling within the stratum, rows kept in file order; each kept row
             * stands for its stratum's share of the data. */
            size_t kept = 0;
            for (size_t i = 0; i < t->count && kept < t->share; i++) {
                double u = gbx_random_uniform(&stream);
                if ((double)(t->count - i) * u < (double)(t->share - kept)) {
                    memcpy(summary->values + (at + kept) * M, data->values + t->rows[i] * M,
                           M * sizeof(double));
                    if (weighted)
                        summary->weights[at + kept] = (double)t->count / (double)N / (double)t->share;
                    kept++;
                }
            }
        }
        at += t->share;
    }
    free(grouped);
    free(stratum_of);
    free(strata);
    free(values);
    if (status != GBX_OK) {
        gbx_data_free(summary);
        return status;
    }
    *out = summary;
    return GBX_OK;
}

gbx_status gbx_data_mean(const gbx_data *data, gbx_data **out, gbx_error *error)
{
    if (!data || !out) return gbx_fail(error, GBX_ERR_USAGE, "gbx_data_mean: NULL argument");
    size_t M = data->columns;
    gbx_data *mean = gbx_data_alloc(1, M, (const char *const *)data->names);
    if (!mean) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    for (size_t f = 0; f < M; f++) {
        double total = 0, weight = 0;
        for (size_t r = 0; r < data->rows; r++) {
            double x = data->values[r * M + f];
            double w = data->weights ? data->weights[r] : 1.0;
            if (isnan(x)) continue;
            total += w * x;
            weight += w;
        }
        mean->values[f] = weight > 0 ? total / weight : NAN;
    }
    *out = mean;
    return GBX_OK;
}

long gbx_data_column_index(const gbx_data *data, const char *name)
{
    for (size_t j = 0; data && name && j < data->columns; j++)
        if (strcmp(data->names[j], name) == 0) return (long)j;
    return -1;
}

gbx_status gbx_data_summarise_by(const gbx_data *data, gbx_summary method, size_t count,
                                 const char *stratify, uint64_t seed, gbx_data **out,
                                 gbx_error *error)
{
    if (!data || !out) return gbx_fail(error, GBX_ERR_USAGE, "gbx_data_summarise_by: NULL argument");
    long column = stratify ? gbx_data_column_index(data, stratify) : -1;
    if (stratify && column < 0)
        return gbx_fail(error, GBX_ERR_USAGE, "stratify: the data has no column \"%s\" the "
                        "model uses", stratify);
    return gbx_data_summarise(data, method, count, column, seed, out, error);
}
