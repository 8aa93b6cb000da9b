/* NumPy .npy arrays (format versions 1 to 3): the first dimension is rows, the rest are flattened
 * into each row's values, as a network's input tensor is. Little-endian float32, float64,
 * uint8 and int64, C order. */
#include "npy.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The text after `key` in the header dictionary, or NULL. */
static const char *field(const char *header, const char *key)
{
    const char *at = strstr(header, key);
    return at ? at + strlen(key) : NULL;
}

gbx_status gbx_npy_read(const char *path, size_t *rows, size_t *columns, double **values,
                        gbx_error *error)
{
    char *bytes;
    size_t length;
    gbx_status status = gbx_read_file(path, &bytes, &length, error);
    if (status != GBX_OK) return status;
    if (length < 10 || memcmp(bytes, "\x93NUMPY", 6) != 0 || bytes[6] < 1 || bytes[6] > 3) {
        free(bytes);
        return gbx_fail(error, GBX_ERR_PARSE, "%s: not a .npy file (version 1 to 3)", path);
    }
    size_t header_length, offset;
    if (bytes[6] == 1) {
        header_length = (unsigned char)bytes[8] | (size_t)(unsigned char)bytes[9] << 8;
        offset = 10;
    } else {
        if (length < 12) header_length = SIZE_MAX;
        else header_length = (unsigned char)bytes[8] | (size_t)(unsigned char)bytes[9] << 8 |
                             (size_t)(unsigned char)bytes[10] << 16 | (size_t)(unsigned char)bytes[11] << 24;
        offset = 12;
    }
    if (header_length > length - offset) {
        free(bytes);
        return gbx_fail(error, GBX_ERR_PARSE, "%s: the .npy header is truncated", path);
    }
    char *header = strndup(bytes + offset, header_length);
    if (!header) {
        free(bytes);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    const char *descr = field(header, "'descr':"), *order = field(header, "'fortran_order':"),
               *shape = field(header, "'shape':");
    size_t item = 0;
    char kind = 0;
    if (descr) {
        while (*descr == ' ') descr++;
        if (strncmp(descr, "'<f4'", 5) == 0) kind = 'f', item = 4;
        else if (strncmp(descr, "'<f8'", 5) == 0) kind = 'd', item = 8;
        else if (strncmp(descr, "'|u1'", 5) == 0) kind = 'u', item = 1;
        else if (strncmp(descr, "'<i8'", 5) == 0) kind = 'i', item = 8;
    }
    while (order && *order == ' ') order++;
    while (shape && *shape == ' ') shape++;
    if (!kind || !order || strncmp(order, "False", 5) != 0 || !shape || *shape != '(') {
        status = gbx_fail(error, GBX_ERR_UNSUPPORTED, "%s: glassbox reads C-ordered float32, "
                          "float64, uint8 or int64 arrays (header: %.120s)", path, header);
    }
    /* shape: (N,) or (N, d1, d2, ...) or () for a scalar */
    size_t dims[16], rank = 0;
    for (const char *p = shape ? shape + 1 : NULL; status == GBX_OK && p && *p != ')';) {
        while (*p == ' ' || *p == ',') p++;
        if (*p == ')') break;
        char *end;
        errno = 0;
        unsigned long long dim = strtoull(p, &end, 10);
        if (end == p || errno || rank == 16 || dim > ((size_t)1 << 40)) {
            status = gbx_fail(error, GBX_ERR_PARSE, "%s: cannot read the shape %.60s", path, shape);
            break;
        }
        dims[rank++] = (size_t)dim;
        p = end;
    }
    size_t n = rank ? dims[0] : 1, m = 1;
    for (size_t d = 1; status == GBX_OK && d < rank; d++) {
        if (dims[d] && m > SIZE_MAX / 16 / dims[d]) {
            status = gbx_fail(error, GBX_ERR_PARSE, "%s: an array too large", path);
            break;
        }
        m *= dims[d];
    }
    size_t data_offset = offset + header_length;
    if (status == GBX_OK && (m && n > (length - data_offset) / m / item))
        status = gbx_fail(error, GBX_ERR_PARSE, "%s: the data is truncated (%zu x %zu values of "
                          "%zu bytes)", path, n, m, item);
    double *out = NULL;
    if (status == GBX_OK && !(out = gbx_malloc_array(n * m > 0 ? n * m : 1, sizeof(double))))
        status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    const unsigned char *data = (const unsigned char *)bytes + data_offset;
    for (size_t j = 0; status == GBX_OK && j < n * m; j++) {
        switch (kind) {
        case 'f': { float v; memcpy(&v, data + 4 * j, 4); out[j] = v; break; }
        case 'd': memcpy(&out[j], data + 8 * j, 8); break;
        case 'u': out[j] = data[j]; break;
        default: { int64_t v; memcpy(&v, data + 8 * j, 8); out[j] = (double)v; break; }
        }
    }
    free(header);
    free(bytes);
    if (status != GBX_OK) {
        free(out);
        return status;
    }
    *rows = n;
    *columns = m;
    *values = out;
    return GBX_OK;
}
