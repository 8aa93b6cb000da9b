/* The TreeSHAP traversal for one row at a time (see tree_shap_internal.h): the same source as
 * the block kernels, built with a block of one. */
#define BLOCK 1
#define GBX_KERNEL_NAME gbx_tree_shap_kernel_single
#include "tree_shap_kernel.c"
