/* The stratified uniforms of the sampling explainers (src/explain/strata.h): the array's
 * shape, its two properties (levels equally often per column, no pair of levels twice in two
 * columns), that every draw stays in [0, 1), and that the stratification does what it is for:
 * unbiased averages with far less noise than independent draws. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core/core.h"
#include "explain/strata.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void test_design(void **state)
{
    (void)state;
    gbx_strata s = gbx_strata_design(4999, 40); /* LIME's default on 20 features */
    assert_int_equal(s.levels, 71);
    assert_int_equal(s.blocks, 70);
    s = gbx_strata_design(10, 3); /* 5 is the first prime whose square covers 10 */
    assert_int_equal(s.levels, 5);
    assert_int_equal(s.blocks, 2);
    s = gbx_strata_design(100, 500); /* more columns than draws: nothing to stratify */
    assert_int_equal(s.levels, 503);
    assert_int_equal(s.blocks, 0);
}

/* With every jitter at one value, each draw's level is its slice: the array itself. */
static void test_orthogonal(void **state)
{
    (void)state;
    size_t n = 500, D = 12;
    gbx_strata s = gbx_strata_design(n, D);
    size_t q = s.levels, runs = s.blocks * q;
    assert_int_equal(q, 23);
    assert_int_equal(s.blocks, 21);
    int32_t *scratch = malloc(q * sizeof(int32_t)), *level = malloc(D * n * sizeof(int32_t));
    double *u = malloc(n * sizeof(double));
    for (size_t c = 0; c < D; c++) {
        for (size_t i = 0; i < n; i++) u[i] = 0.5;
        gbx_strata_apply(s, 99, c, scratch, u);
        for (size_t i = 0; i < n; i++) {
            assert_true(u[i] >= 0.0 && u[i] < 1.0);
            level[c * n + i] = (int32_t)floor(u[i] * (double)q);
            if (i >= runs) assert_true(u[i] == 0.5); /* past the blocks: left as drawn */
        }
        size_t *count = calloc(q, sizeof(size_t));
        for (size_t i = 0; i < runs; i++) count[level[c * n + i]]++;
        for (size_t l = 0; l < q; l++) assert_int_equal(count[l], s.blocks);
        free(count);
    }
    uint8_t *seen = malloc(q * q);
    for (size_t c = 0; c < D; c++)
        for (size_t d = c + 1; d < D; d++) {
            memset(seen, 0, q * q);
            for (size_t i = 0; i < runs; i++) {
                size_t cell = (size_t)level[c * n + i] * q + (size_t)level[d * n + i];
                if (seen[cell]) fail_msg("columns %zu and %zu meet levels twice at run %zu", c, d, i);
                seen[cell] = 1;
            }
        }
    /* A jitter just below 1 in the top level still gives a number below 1. */
    for (size_t i = 0; i < n; i++) u[i] = 0x1.fffffffffffffp-1;
    gbx_strata_apply(s, 99, 0, scratch, u);
    for (size_t i = 0; i < n; i++) assert_true(u[i] < 1.0);
    /* The same key and column give the same draws; another key other ones. */
    double *again = malloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++) u[i] = again[i] = 0.25;
    gbx_strata_apply(s, 7, 3, scratch, u);
    gbx_strata_apply(s, 7, 3, scratch, again);
    assert_memory_equal(u, again, n * sizeof(double));
    for (size_t i = 0; i < n; i++) again[i] = 0.25;
    gbx_strata_apply(s, 8, 3, scratch, again);
    assert_true(memcmp(u, again, n * sizeof(double)) != 0);
    /* Over keys, a run's level is uniform (the permutations), so each draw is uniform. */
    size_t *count = calloc(q, sizeof(size_t)), keys = 100 * q;
    for (uint64_t key = 0; key < keys; key++) {
        u[0] = 0.5;
        gbx_strata_apply(s, key, 3, scratch, u);
        count[(size_t)floor(u[0] * (double)q)]++;
    }
    for (size_t l = 0; l < q; l++)
        if (count[l] < 50 || count[l] > 150) fail_msg("level %zu came %zu times in %zu", l, count[l], keys);
    free(count);
    free(again);
    free(seen);
    free(scratch);
    free(level);
    free(u);
}

/* The share of draws with u_a < 0.3 and u_b < 0.6 (0.18), from 4999 draws of 40 columns, 200
 * times with new keys: the average is unbiased, and its spread is a small part of the
 * independent draws' sqrt(0.18 0.82 / 4999). A column and the one 31 further meet in a
 * different pattern than neighbours do, so both pairs are checked. */
static void test_less_noise(void **state)
{
    (void)state;
    size_t n = 4999, D = 40, trials = 200;
    gbx_strata s = gbx_strata_design(n, D);
    int32_t *scratch = malloc(s.levels * sizeof(int32_t));
    double *u = malloc(D * n * sizeof(double));
    size_t pairs[2][2] = {{4, 5}, {2, 33}};
    for (int p = 0; p < 2; p++) {
        double sum = 0.0, squares = 0.0;
        for (size_t t = 0; t < trials; t++) {
            uint64_t stream = 1000 + t;
            for (size_t k = 0; k < 2; k++) {
                double *column = u + k * n;
                for (size_t i = 0; i < n; i++) column[i] = gbx_random_uniform(&stream);
                gbx_strata_apply(s, 31 * t, pairs[p][k], scratch, column);
            }
            size_t hits = 0;
            for (size_t i = 0; i < n; i++) hits += u[i] < 0.3 && u[n + i] < 0.6;
            double error = (double)hits / (double)n - 0.18;
            sum += error;
            squares += error * error;
        }
        double independent = sqrt(0.18 * 0.82 / (double)n), rms = sqrt(squares / (double)trials);
        double bias = sum / (double)trials;
        print_message("columns %zu, %zu: rms error %.2e, independent draws %.2e, bias %.1e\n",
                      pairs[p][0], pairs[p][1], rms, independent, bias);
        assert_true(rms < 0.3 * independent);
        assert_true(fabs(bias) < 4.0 * rms / sqrt((double)trials) + 1e-12);
    }
    free(scratch);
    free(u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_design),
        cmocka_unit_test(test_orthogonal),
        cmocka_unit_test(test_less_noise),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
