/* Feature selection by least-angle regression, for KernelSHAP's --l1-reg (lars.c). */
#ifndef GBX_LARS_H
#define GBX_LARS_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    GBX_LARS_FIRST, /* the first `wanted` features to enter the LAR path (num_features(K)) */
    GBX_LARS_AIC,   /* the lasso path's step with the least AIC */
    GBX_LARS_BIC    /* ... BIC */
} gbx_lars_rule;

/* X is n x p (row-major), y has n entries. Writes the selected feature indices (at most p)
 * and returns their count; 0 when the selection cannot be made (memory, or too few rows for
 * the information criteria), and the caller then keeps every feature. */
size_t gbx_lars_select(const double *X, const double *y, size_t n, size_t p, gbx_lars_rule rule,
                       size_t wanted, size_t *selected);

#endif
