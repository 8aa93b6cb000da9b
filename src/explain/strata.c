#include "strata.h"

#include "../core/core.h"

static int is_prime(size_t q)
{
    if (q < 2) return 0;
    for (size_t d = 2; d * d <= q; d++)
        if (q % d == 0) return 0;
    return 1;
}

gbx_strata gbx_strata_design(size_t n, size_t columns)
{
    size_t q = columns > 2 ? columns : 2;
    while (q * q < n) q++;
    while (!is_prime(q)) q++;
    gbx_strata strata = {q, n / q < q ? n / q : q};
    return strata;
}

/* The work of gbx_strata_apply, built for each vector width; static, as clang 14 names an
 * external function's clones' dispatcher apart from the function. */
GBX_VECTOR_CLONES
static void stratify(gbx_strata strata, uint64_t key, size_t column, int32_t *level, double *u)
{
    size_t q = strata.levels;
    if (strata.blocks == 0) return;
    for (size_t l = 0; l < q; l++) level[l] = (int32_t)l;
    for (size_t l = q; l > 1; l--) { /* Fisher-Yates */
        size_t j = (size_t)(gbx_random_at(key, column * q + l) % l);
        int32_t t = level[l - 1];
        level[l - 1] = level[j];
        level[j] = t;
    }
    const double below_one = 0x1.fffffffffffffp-1, scale = 1.0 / (double)q;
    for (size_t b = 0; b < strata.blocks; b++) {
        /* run a of the block takes level (start + a) mod q: two runs of the table */
        size_t start = column % q * b % q;
        double *run = u + b * q;
        for (int part = 0; part < 2; part++) {
            size_t first = part == 0 ? start : 0, count = part == 0 ? q - start : start;
            const int32_t *l = level + first;
            double *r = part == 0 ? run : run + (q - start);
            for (size_t a = 0; a < count; a++) {
                double v = ((double)l[a] + r[a]) * scale;
                r[a] = v < below_one ? v : below_one; /* rounding must not reach 1 */
            }
        }
    }
}

void gbx_strata_apply(gbx_strata strata, uint64_t key, size_t column, int32_t *level, double *u)
{
    stratify(strata, key, column, level, u);
}
