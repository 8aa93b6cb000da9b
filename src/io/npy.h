/* NumPy .npy arrays as rows of values (npy.c). */
#ifndef GBX_NPY_H
#define GBX_NPY_H

#include "../core/core.h"

/* values [rows][columns]: the first dimension is rows, the others flattened. */
gbx_status gbx_npy_read(const char *path, size_t *rows, size_t *columns, double **values,
                        gbx_error *error);

#endif
