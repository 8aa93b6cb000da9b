/* Tree margins sixteen rows at a time with AVX-512, over the level layout (model.h).
 *
 * The rows go into a block as floats, feature by feature (16 f + lane), as the float compare
 * of XGBoost needs them. A row goes right at a split when !(x < threshold), unless x is
 * missing and the default is left, exactly as the compact walk decides. Two ways through a
 * tree:
 *   - up to 5 levels (31 splits): every split is decided for all sixteen rows from the
 *     block's column (a plain load and compare, no gather), the answers packed into one
 *     32-bit word per row; the levels then only shift that word by the node's place;
 *   - deeper: a level at a time, each lane fetching its node's split by a permute (at most 16
 *     splits in the level) or a gather, and the row's value there by a gather.
 * Each lane adds its trees' leaves in the trees' order, so the sums are those of
 * gbx_tree_ensemble_margin, bit for bit.
 *
 * Built with AVX-512 enabled (CMakeLists.txt); called only when the CPU has it. */
#include "model.h"

#include <immintrin.h>
#include <string.h>

/* Features whose missing lanes are found once per block; more take the per-level walk. */
#define GBX_PREDICT_MISSING_CACHE 4096

void gbx_tree_levels_margins_avx512(const gbx_tree_ensemble *e, size_t M, size_t K,
                                    const double *rows, size_t count, double *out, float *block,
                                    double *sums)
{
    const gbx_tree_levels *L = e->levels;
    const __m512i lane = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    const __m512i one = _mm512_set1_epi32(1);
    for (size_t first = 0; first < count; first += 16) {
        size_t n = count - first < 16 ? count - first : 16;
        gbx_tree_levels_block(e, M, K, rows + first * M, n, block, sums);
        /* Per feature, the lanes whose value is missing. */
        __mmask16 missing[GBX_PREDICT_MISSING_CACHE];
        for (size_t f = 0; f < M && f < GBX_PREDICT_MISSING_CACHE; f++) {
            __m512 x = _mm512_loadu_ps(block + f * 16);
            missing[f] = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
        }
        for (size_t t = 0; t < e->tree_count; t++) {
            int D = L->depth[t];
            const int32_t *column = L->column + L->split_offset[t];
            const float *threshold = L->threshold + L->split_offset[t];
            const int32_t *default_left = L->default_left + L->split_offset[t];
            __m512i at = _mm512_setzero_si512();
            if (D <= 5 && M <= GBX_PREDICT_MISSING_CACHE) {
                /* Bit j of a lane's word: the row goes right at split j. */
                __m512i right = _mm512_setzero_si512();
                for (int j = 0; j < (1 << D) - 1; j++) {
                    __m512 x = _mm512_loadu_ps(block + column[j]);
                    __mmask16 left = _mm512_cmp_ps_mask(x, _mm512_set1_ps(threshold[j]), _CMP_LT_OQ);
                    if (default_left[j]) left |= missing[column[j] / 16];
                    right = _mm512_mask_or_epi32(right, (__mmask16)~left, right,
                                                 _mm512_set1_epi32((int32_t)(1u << j)));
                }
                for (int level = 0; level < D; level++) {
                    __m512i place = _mm512_add_epi32(at, _mm512_set1_epi32((1 << level) - 1));
                    __m512i step = _mm512_and_si512(_mm512_srlv_epi32(right, place), one);
                    at = _mm512_add_epi32(_mm512_add_epi32(at, at), step);
                }
            }
            for (int level = 0; D > 5 || M > GBX_PREDICT_MISSING_CACHE ? level < D : 0; level++) {
                size_t start = ((size_t)1 << level) - 1;
                __m512i c, d;
                __m512 h;
                if (level <= 4) {
                    c = _mm512_permutexvar_epi32(at, _mm512_loadu_si512(column + start));
                    h = _mm512_permutexvar_ps(at, _mm512_loadu_ps(threshold + start));
                    d = _mm512_permutexvar_epi32(at, _mm512_loadu_si512(default_left + start));
                } else {
                    c = _mm512_i32gather_epi32(at, column + start, 4);
                    h = _mm512_i32gather_ps(at, threshold + start, 4);
                    d = _mm512_i32gather_epi32(at, default_left + start, 4);
                }
                __m512 x = _mm512_i32gather_ps(_mm512_add_epi32(c, lane), block, 4);
                __mmask16 left = _mm512_cmp_ps_mask(x, h, _CMP_LT_OQ) |
                                 (_mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q) & _mm512_test_epi32_mask(d, d));
                __m512i twice = _mm512_add_epi32(at, at);
                at = _mm512_mask_add_epi32(twice, (__mmask16)~left, twice, one);
            }
            const double *leaf = L->leaf + L->leaf_offset[t];
            __m256i low = _mm512_castsi512_si256(at), high = _mm512_extracti64x4_epi64(at, 1);
            __m512d v0, v1;
            if (D <= 4) {
                __m512d a = _mm512_loadu_pd(leaf), b = _mm512_loadu_pd(leaf + 8);
                v0 = _mm512_permutex2var_pd(a, _mm512_cvtepi32_epi64(low), b);
                v1 = _mm512_permutex2var_pd(a, _mm512_cvtepi32_epi64(high), b);
            } else {
                v0 = _mm512_i32gather_pd(low, leaf, 8);
                v1 = _mm512_i32gather_pd(high, leaf, 8);
            }
            double *sum = sums + (size_t)e->trees[t].output * 16;
            _mm512_storeu_pd(sum, _mm512_add_pd(_mm512_loadu_pd(sum), v0));
            _mm512_storeu_pd(sum + 8, _mm512_add_pd(_mm512_loadu_pd(sum + 8), v1));
        }
        for (size_t l = 0; l < n; l++)
            for (size_t k = 0; k < K; k++) out[(first + l) * K + k] = sums[k * 16 + l];
    }
}
