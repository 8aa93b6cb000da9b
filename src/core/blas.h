/* OpenBLAS's matrix products, through src/core/blas.c, which loads OpenBLAS at run time with
 * glassbox's settings. Include this instead of <cblas.h>. */
#ifndef GBX_CORE_BLAS_H
#define GBX_CORE_BLAS_H

#include <cblas.h>

#include "core.h"

/* Loads OpenBLAS now (once; later calls return at once) with OPENBLAS_NUM_THREADS=1 and
 * OPENBLAS_CORETYPE set as src/core/blas.c explains, unless the user set them. Called before
 * anything else may load OpenBLAS (a plugin linked with it); the products below call it too. */
gbx_status gbx_blas_load(gbx_error *error);

/* cblas_sgemm and cblas_dgemm, same arguments. The product has no way to fail: whatever
 * leads to one calls gbx_blas_load first and reports a missing OpenBLAS (without it, C is
 * filled with NaN). */
void gbx_sgemm(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE trans_a,
               enum CBLAS_TRANSPOSE trans_b, int M, int N, int K, float alpha, const float *A,
               int lda, const float *B, int ldb, float beta, float *C, int ldc);
void gbx_dgemm(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE trans_a,
               enum CBLAS_TRANSPOSE trans_b, int M, int N, int K, double alpha, const double *A,
               int lda, const double *B, int ldb, double beta, double *C, int ldc);

/* What OpenBLAS runs with, once loaded: its kernels' name and its thread count. */
const char *gbx_blas_core(void);
int gbx_blas_threads(void);

#endif
