/* The TreeSHAP traversal built with AVX2 (see tree_shap_kernel.c and CMakeLists.txt). */
#define GBX_KERNEL_NAME gbx_tree_shap_kernel_avx2
#include "tree_shap_kernel.c"
