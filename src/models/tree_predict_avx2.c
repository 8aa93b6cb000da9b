/* Tree margins sixteen rows at a time with AVX2, over the level layout (model.h): the
 * AVX-512 predictor's two ways through a tree (tree_predict_avx512.c), each vector holding
 * eight of the sixteen rows, for CPUs without AVX-512.
 *   - up to 5 levels (31 splits): every split is decided for all sixteen rows from the
 *     block's column (a plain load and compare, no gather), the answers packed into one
 *     32-bit word per row; the levels then only shift that word by the node's place;
 *   - deeper: a level at a time, each lane fetching its node's split and its row's value by
 *     gathers.
 * The leaves are read by plain loads: a gather of four doubles costs more than four loads.
 * A row goes right at a split when !(x < threshold), unless x is missing and the default is
 * left, exactly as the compact walk decides, and each lane adds its trees' leaves in the
 * trees' order, so the sums are those of gbx_tree_ensemble_margin, bit for bit.
 *
 * Built with AVX2 enabled (CMakeLists.txt); called only when the CPU has it. */
#include "model.h"

#include <immintrin.h>

/* Lanes (all ones) where x goes left at a split: x < threshold, or x missing and the default
 * is left (default_left all ones). */
static inline __m256 goes_left(__m256 x, __m256 threshold, __m256 default_left)
{
    return _mm256_or_ps(_mm256_cmp_ps(x, threshold, _CMP_LT_OQ),
                        _mm256_and_ps(_mm256_cmp_ps(x, x, _CMP_UNORD_Q), default_left));
}

/* The packed answers of a tree of at most 5 levels for the block's two halves: bit j of a
 * lane's word is set where the row goes right at split j. `missing`, a constant where
 * inlined, says whether the block holds missing values at all: without them going right is
 * one compare, !(x < threshold). */
static inline __attribute__((always_inline)) void split_words(
    const float *block, const int32_t *column, const float *threshold,
    const int32_t *default_left, int splits, int missing, __m256i right[2])
{
    right[0] = right[1] = _mm256_setzero_si256();
    for (int j = 0; j < splits; j++) {
        __m256 h = _mm256_set1_ps(threshold[j]);
        __m256i bit = _mm256_set1_epi32((int32_t)(1u << j));
        if (missing) {
            __m256 d = _mm256_castsi256_ps(_mm256_set1_epi32(-default_left[j]));
            for (int half = 0; half < 2; half++) {
                __m256 left = goes_left(_mm256_loadu_ps(block + column[j] + 8 * half), h, d);
                right[half] = _mm256_or_si256(right[half], _mm256_andnot_si256(_mm256_castps_si256(left), bit));
            }
        } else {
            for (int half = 0; half < 2; half++) {
                __m256 go = _mm256_cmp_ps(_mm256_loadu_ps(block + column[j] + 8 * half), h, _CMP_NLT_UQ);
                right[half] = _mm256_or_si256(right[half], _mm256_and_si256(_mm256_castps_si256(go), bit));
            }
        }
    }
}

void gbx_tree_levels_margins_avx2(const gbx_tree_ensemble *e, size_t M, size_t K,
                                  const double *rows, size_t count, double *out, float *block,
                                  double *sums)
{
    const gbx_tree_levels *L = e->levels;
    const __m256i lane = _mm256_set_epi32(7, 6, 5, 4, 3, 2, 1, 0);
    const __m256i one = _mm256_set1_epi32(1);
    for (size_t first = 0; first < count; first += 16) {
        size_t n = count - first < 16 ? count - first : 16;
        gbx_tree_levels_block(e, M, K, rows + first * M, n, block, sums);
        __m256 nan = _mm256_setzero_ps();
        for (size_t f = 0; f < M; f++)
            for (int half = 0; half < 2; half++) {
                __m256 x = _mm256_loadu_ps(block + f * 16 + 8 * half);
                nan = _mm256_or_ps(nan, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
            }
        int missing = !_mm256_testz_ps(nan, nan);
        for (size_t t = 0; t < e->tree_count; t++) {
            int D = L->depth[t];
            const int32_t *column = L->column + L->split_offset[t];
            const float *threshold = L->threshold + L->split_offset[t];
            const int32_t *default_left = L->default_left + L->split_offset[t];
            const double *leaf = L->leaf + L->leaf_offset[t];
            double *sum = sums + (size_t)e->trees[t].output * 16;
            __m256i at[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
            if (D <= 5) {
                __m256i right[2];
                if (missing) split_words(block, column, threshold, default_left, (1 << D) - 1, 1, right);
                else split_words(block, column, threshold, default_left, (1 << D) - 1, 0, right);
                for (int level = 0; level < D; level++) {
                    __m256i offset = _mm256_set1_epi32((1 << level) - 1);
                    for (int half = 0; half < 2; half++) {
                        __m256i place = _mm256_add_epi32(at[half], offset);
                        __m256i step = _mm256_and_si256(_mm256_srlv_epi32(right[half], place), one);
                        at[half] = _mm256_add_epi32(_mm256_add_epi32(at[half], at[half]), step);
                    }
                }
            } else {
                for (int half = 0; half < 2; half++) {
                    __m256i offset = _mm256_add_epi32(lane, _mm256_set1_epi32(8 * half));
                    for (int level = 0; level < D; level++) {
                        size_t start = ((size_t)1 << level) - 1;
                        __m256i c = _mm256_i32gather_epi32(column + start, at[half], 4);
                        __m256 h = _mm256_i32gather_ps(threshold + start, at[half], 4);
                        __m256i d = _mm256_i32gather_epi32(default_left + start, at[half], 4);
                        __m256 x = _mm256_i32gather_ps(block, _mm256_add_epi32(c, offset), 4);
                        __m256 left = goes_left(
                            x, h, _mm256_castsi256_ps(_mm256_cmpgt_epi32(d, _mm256_setzero_si256())));
                        /* at = 2 at + 1 where the row goes right: left lanes are all ones */
                        at[half] = _mm256_add_epi32(_mm256_add_epi32(at[half], at[half]),
                                                    _mm256_add_epi32(one, _mm256_castps_si256(left)));
                    }
                }
            }
            int32_t leaf_at[16];
            _mm256_storeu_si256((__m256i *)leaf_at, at[0]);
            _mm256_storeu_si256((__m256i *)(leaf_at + 8), at[1]);
            for (int l = 0; l < 16; l++) sum[l] += leaf[leaf_at[l]];
        }
        for (size_t l = 0; l < n; l++)
            for (size_t k = 0; k < K; k++) out[(first + l) * K + k] = sums[k * 16 + l];
    }
}
