/* Stratified uniforms for the sampling explainers: a randomised orthogonal array of strength 2
 * (Owen 1992, "Orthogonal arrays for computer experiments, integration and visualization").
 *
 * n draws of D uniforms each are laid out as the runs and columns of the array: q levels, q
 * the smallest prime at least D and sqrt(n); run i = b q + a (b < blocks, a < q) takes level
 * (a + c b) mod q in column c, relabelled by a random permutation of the levels per column,
 * and its uniform becomes a point of that level's slice [l, l + 1) / q. Every level of a
 * column then comes equally often, and any two columns meet each pair of levels at most once:
 * any function of one or two of the uniforms is averaged over nearly exact shares instead of
 * binomial ones, which removes that part of its sampling noise. Each draw is still uniform on
 * the cube, so estimates stay unbiased; runs past the blocks (fewer than q) keep their
 * independent uniforms. */
#ifndef GBX_STRATA_H
#define GBX_STRATA_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    size_t levels; /* q */
    size_t blocks; /* complete blocks of q runs within the n draws (at most q) */
} gbx_strata;

/* The array for n draws of `columns` uniforms. */
gbx_strata gbx_strata_design(size_t n, size_t columns);

/* Stratifies column c of the draws: u holds the n independent uniforms of that column (the
 * jitter within a level), in place; level is scratch of q entries. The permutation is drawn
 * from the stream keyed `key` (the same key and column give the same permutation). */
void gbx_strata_apply(gbx_strata strata, uint64_t key, size_t column, int32_t *level, double *u);

#endif
