/* The OpenBLAS settings glassbox runs with, made before any work: see gbx_blas_restart. */
#include "core.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* OpenBLAS starts a pool of threads as it loads, sized from OPENBLAS_NUM_THREADS, and they
 * spin for a while waiting for work that glassbox never gives them (its own threads each make
 * single-threaded BLAS calls), taking the cores from the threads that do the work. OpenBLAS
 * also picks its kernels as it loads, from a table of CPU models: a model newer than the table
 * (Debian 12's 0.3.21 does not know Emerald Rapids, say) gets the SSE3 "Prescott" kernels
 * instead of the AVX2 or AVX-512 ones the CPU has: integrated gradients on a small CNN took
 * 1.5 times as long with them, and their rounding turned near-ties in a max pool the other
 * way from the frameworks'. So glassbox
 * starts again once with OPENBLAS_NUM_THREADS=1 and, where the kernels fell short of the CPU,
 * OPENBLAS_CORETYPE naming the right ones, each unless the user set it; the restarted
 * process then removes what was set, so that a cmd: model's process does not inherit it. */
static const char *blas_core_for_this_cpu(void)
{
    static const char *wide[] = {"Haswell", "Zen", "Excavator", "SkylakeX", "Cooperlake",
                                 "SapphireRapids"};
    const char *chosen = openblas_get_corename();
    for (size_t i = 0; chosen && i < sizeof wide / sizeof wide[0]; i++)
        if (strcasecmp(chosen, wide[i]) == 0) return NULL;
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

void gbx_blas_restart(char **argv)
{
    const char *restarted = getenv("GLASSBOX_BLAS_SET");
    if (restarted) {
        if (strchr(restarted, 't')) unsetenv("OPENBLAS_NUM_THREADS");
        if (strchr(restarted, 'c')) unsetenv("OPENBLAS_CORETYPE");
        unsetenv("GLASSBOX_BLAS_SET");
        return;
    }
    char set[3] = "";
    if (!getenv("OPENBLAS_NUM_THREADS")) {
        setenv("OPENBLAS_NUM_THREADS", "1", 1);
        strcat(set, "t");
    }
    const char *core = getenv("OPENBLAS_CORETYPE") ? NULL : blas_core_for_this_cpu();
    if (core) {
        setenv("OPENBLAS_CORETYPE", core, 1);
        strcat(set, "c");
    }
    if (!set[0]) return;
    setenv("GLASSBOX_BLAS_SET", set, 1);
    execv("/proc/self/exe", argv);
    /* No /proc: carry on with the pool and the kernels OpenBLAS chose. */
    unsetenv("GLASSBOX_BLAS_SET");
    if (strchr(set, 't')) unsetenv("OPENBLAS_NUM_THREADS");
    if (strchr(set, 'c')) unsetenv("OPENBLAS_CORETYPE");
}
