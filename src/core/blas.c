/* OpenBLAS, loaded at run time with the settings glassbox needs.
 *
 * OpenBLAS starts a pool of threads as it loads, sized from OPENBLAS_NUM_THREADS, and they
 * spin for a while waiting for work that glassbox never gives them (its own threads each make
 * single-threaded BLAS calls), taking the cores from the threads that do the work. OpenBLAS
 * also picks its kernels as it loads, from a table of CPU models: a model newer than the table
 * (Debian 12's 0.3.21 does not know Emerald Rapids, say) gets the SSE3 "Prescott" kernels
 * instead of the AVX2 or AVX-512 ones the CPU has: integrated gradients on a small CNN took
 * 1.5 times as long with them, and their rounding turned near-ties in a max pool the other
 * way from the frameworks'. Both are read from the environment only as OpenBLAS loads, so
 * glassbox does not link it: it sets OPENBLAS_NUM_THREADS=1 and, where the CPU has AVX-512 or
 * AVX2, OPENBLAS_CORETYPE naming those kernels (each unless the user set it), loads OpenBLAS,
 * and clears again what it set, so that a cmd: model's process does not inherit it. (It used
 * to restart the whole program with them set, which cost as much as loading it: 20 ms.)
 * Commands that never multiply matrices (tree models) never load it. */
#include "blas.h"

#include <math.h>

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define OPENBLAS_LIBRARY "libopenblas.so.0"
/* RTLD_DEEPBIND: OpenBLAS's own symbols (most of its 15,000 relocations) are looked up in it
 * first, not through the 60 libraries glassbox links: 9 ms to load instead of 2. The address
 * sanitizer refuses such a library (it could not intercept its allocations), so that build
 * loads it the plain way. */
#if defined(__SANITIZE_ADDRESS__) /* gcc */
#define ADDRESS_SANITIZER 1
#elif defined(__has_feature) /* clang */
#if __has_feature(address_sanitizer)
#define ADDRESS_SANITIZER 1
#endif
#endif
#ifdef ADDRESS_SANITIZER
#define OPENBLAS_FLAGS (RTLD_NOW | RTLD_GLOBAL)
#else
#define OPENBLAS_FLAGS (RTLD_NOW | RTLD_GLOBAL | RTLD_DEEPBIND)
#endif

static struct {
    __typeof__(cblas_sgemm) *sgemm;
    __typeof__(cblas_dgemm) *dgemm;
    __typeof__(openblas_get_corename) *corename;
    __typeof__(openblas_get_num_threads) *threads;
    char failure[512];
} blas;
static pthread_once_t blas_once = PTHREAD_ONCE_INIT;

static const char *blas_core_for_this_cpu(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512cd"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#endif
    return NULL;
}

static void load_once(void)
{
    int set_threads = 0, set_core = 0;
    if (!getenv("OPENBLAS_NUM_THREADS"))
        set_threads = setenv("OPENBLAS_NUM_THREADS", "1", 1) == 0;
    const char *core = getenv("OPENBLAS_CORETYPE") ? NULL : blas_core_for_this_cpu();
    if (core) set_core = setenv("OPENBLAS_CORETYPE", core, 1) == 0;
    void *library = dlopen(OPENBLAS_LIBRARY, OPENBLAS_FLAGS);
    if (set_threads) unsetenv("OPENBLAS_NUM_THREADS");
    if (set_core) unsetenv("OPENBLAS_CORETYPE");
    if (!library) {
        snprintf(blas.failure, sizeof blas.failure, "cannot load OpenBLAS: %s (install "
                 "Debian's libopenblas0)", dlerror());
        return;
    }
    /* dlsym returns void *; POSIX guarantees it converts to a function pointer. */
    *(void **)&blas.sgemm = dlsym(library, "cblas_sgemm");
    *(void **)&blas.dgemm = dlsym(library, "cblas_dgemm");
    *(void **)&blas.corename = dlsym(library, "openblas_get_corename");
    *(void **)&blas.threads = dlsym(library, "openblas_get_num_threads");
    if (!blas.sgemm || !blas.dgemm || !blas.corename || !blas.threads) {
        snprintf(blas.failure, sizeof blas.failure, "%s lacks the CBLAS functions glassbox "
                 "calls", OPENBLAS_LIBRARY);
        blas.sgemm = NULL;
    }
}

gbx_status gbx_blas_load(gbx_error *error)
{
    pthread_once(&blas_once, load_once);
    return blas.sgemm ? GBX_OK : gbx_fail(error, GBX_ERR_INTERNAL, "%s", blas.failure);
}

/* Whether OpenBLAS is loaded. Every preparer that leads to a product calls gbx_blas_load and
 * reports a missing OpenBLAS as an error, so a product never runs without it; were one to,
 * its result is NaN, never a crash or a number. */
static int loaded(void)
{
    pthread_once(&blas_once, load_once);
    return blas.sgemm != NULL;
}

/* C's M x N entries (row- or column-major, leading dimension ldc) set to NaN. */
#define FILL_NAN(order, M, N, C, ldc)                                                       \
    for (int i = 0; i < (M); i++)                                                           \
        for (int j = 0; j < (N); j++)                                                       \
            (C)[(order) == CblasRowMajor ? (size_t)i * (size_t)(ldc) + (size_t)j            \
                                         : (size_t)j * (size_t)(ldc) + (size_t)i] = NAN

void gbx_sgemm(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE trans_a,
               enum CBLAS_TRANSPOSE trans_b, int M, int N, int K, float alpha, const float *A,
               int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    if (!loaded()) {
        FILL_NAN(order, M, N, C, ldc);
        return;
    }
    blas.sgemm(order, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void gbx_dgemm(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE trans_a,
               enum CBLAS_TRANSPOSE trans_b, int M, int N, int K, double alpha, const double *A,
               int lda, const double *B, int ldb, double beta, double *C, int ldc)
{
    if (!loaded()) {
        FILL_NAN(order, M, N, C, ldc);
        return;
    }
    blas.dgemm(order, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

const char *gbx_blas_core(void)
{
    return loaded() ? blas.corename() : "none";
}

int gbx_blas_threads(void)
{
    return loaded() ? blas.threads() : 0;
}
