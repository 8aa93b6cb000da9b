/* Internals of path-dependent TreeSHAP shared by the preparation code (tree_shap.c) and the
 * traversal kernel (tree_shap_kernel.c), which is compiled once per instruction set. */
#ifndef GBX_TREE_SHAP_INTERNAL_H
#define GBX_TREE_SHAP_INTERNAL_H

#include "tree_shap.h"

/* Rows carried through one tree traversal: the inner loops run over them. The single-row
 * kernel is the same traversal built with a block of one. */
#ifndef BLOCK
#define BLOCK 16
#endif

typedef struct {
    const gbx_tree *tree;
    int points;             /* quadrature points Q */
    int depth;              /* deepest leaf, in edges */
    double *nodes, *weights;/* Gauss-Legendre rule on [0, 1] */
    /* Per node, describing the path element that ends at that node (the parent's split): */
    int32_t *feature;       /* the element's feature (its player, with groups) */
    int32_t *previous;      /* depth of the nearest ancestor element on the same feature, or -1 */
    double *zero;           /* z: product of the path's cover fractions for that feature */
    double *down;           /* [node][3][Q]: factor on the path polynomial, by state o_prev + o */
    double *up;             /* [node][2][Q]: (o - z) w_q / (z (1 - t_q) + o t_q), by o */
    uint8_t *repeated;      /* whether a deeper split below the node's element tests its feature */
} prepared_tree;

typedef void gbx_tree_shap_kernel(const gbx_tree_shap *shap, gbx_tree_shap_workspace *w,
                                  const double *rows, size_t count, double *values,
                                  double *interactions);

struct gbx_tree_shap {
    gbx_tree_shap_kernel *kernel; /* the widest one this CPU runs */
    size_t features, outputs;
    size_t players;         /* features explained: columns, or groups of them */
    int32_t *player;        /* [features] */
    double *base_values;
    prepared_tree *trees;
    size_t tree_count;
    int max_depth, max_points;
};

struct gbx_tree_shap_workspace {
    double *x;       /* [features][BLOCK]: the block, transposed */
    double *x_float; /* the same, rounded to float32 for XGBoost's split rule */
    double *phi;     /* [outputs][players][BLOCK] */
    double *path;    /* [depth][Q][BLOCK]: path polynomial at each quadrature point */
    double *below;   /* [depth][Q][BLOCK]: sum over leaves below of value x path polynomial */
    double *repeats; /* [depth][Q][BLOCK]: the part of `below` under repeats of the feature */
    double *one;     /* [depth][BLOCK]: o of the element ending at that depth (0 or 1) */
    double *left;    /* [depth][BLOCK]: whether each row goes left at the node of that depth */
    int32_t *element;   /* [depth]: node whose element ends at that depth */
    uint8_t *superseded;/* [depth]: element replaced by a deeper split on the same feature */
    double *pair;       /* scratch for interactions */
};

/* The same traversal compiled for baseline x86-64 and for AVX2. Floating-point contraction is
 * off in both, so they give bit-identical results and the choice is invisible. */
gbx_tree_shap_kernel gbx_tree_shap_kernel_generic;
/* The same for one row at a time: a block of 16 rows costs about as much for one row as for
 * sixteen, so the rows left over after whole blocks (a service's single rows) take this one.
 * Each row's arithmetic is the same in every kernel, so results do not depend on the split. */
gbx_tree_shap_kernel gbx_tree_shap_kernel_single;
#ifdef GBX_HAVE_AVX2_KERNEL
gbx_tree_shap_kernel gbx_tree_shap_kernel_avx2;
#endif

#endif
