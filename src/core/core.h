/* Internal helpers shared by every module: errors, data layout, hashing, allocation. */
#ifndef GBX_CORE_H
#define GBX_CORE_H

#include "glassbox.h"

#include <stdarg.h>
#include <stdio.h>

/* Fills error (if any) and returns status, so callers can write `return gbx_fail(...)`. */
gbx_status gbx_fail(gbx_error *error, gbx_status status, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
/* A note for the program's log callback (gbx_set_log), if it set one. */
void gbx_log(gbx_log_level level, const char *format, ...) __attribute__((format(printf, 2, 3)));
/* Prefixes an existing message with context ("model.json: " + message). */
void gbx_error_prefix(gbx_error *error, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

struct gbx_data {
    size_t rows;
    size_t columns;
    double *values; /* rows x columns, row-major, NaN = missing */
    char **names;   /* columns names, never NULL entries */
    double *weights; /* [rows], summing to 1, for a weighted summary; NULL: rows weigh alike */
    int borrowed;    /* values belong to the caller (gbx_data_wrap), not freed with the data */
};

/* An empty data set with owned storage (values uninitialised) and names copied (or f0, f1...). */
gbx_data *gbx_data_alloc(size_t rows, size_t columns, const char *const *names);

/* An input tensor's layout: channels first ([C, H, W], PyTorch) or last ([H, W, C], Keras and
 * TensorFlow), read from the network when it loads;
 * not known below rank 3, or in files written before glassbox recorded it. */
enum { GBX_LAYOUT_UNKNOWN, GBX_LAYOUT_CHANNELS_FIRST, GBX_LAYOUT_CHANNELS_LAST };

/* Hex SHA-256 of a file's bytes into out (65 chars). */
gbx_status gbx_sha256_file(const char *path, char out[65], gbx_error *error);
/* One digest over the files' bytes read one after another (a model stored as several). */
gbx_status gbx_sha256_files(const char *const *paths, size_t count, char out[65],
                            gbx_error *error);
/* Hex SHA-256 of a buffer. */
void gbx_sha256_buffer(const void *bytes, size_t length, char out[65]);

/* A new file beside path with a name no other call gets (path.partial-PID-N), open for
 * writing; *temporary is its name (the caller frees it, and renames or removes the file). */
FILE *gbx_temporary_beside(const char *path, char **temporary, gbx_error *error);
/* Writes bytes to path through a temporary file renamed into place (a device or pipe is
 * written in place): on failure nothing partial is left under the path. */
gbx_status gbx_write_file(const char *path, const void *bytes, size_t length, gbx_error *error);

/* A CSV field: as it is, or quoted (quotes doubled) when it holds a comma, quote or line end. */
void gbx_csv_write_field(FILE *file, const char *text);

/* Reads a whole file into a NUL-terminated buffer. */
gbx_status gbx_read_file(const char *path, char **bytes, size_t *length, gbx_error *error);

/* A hot loop built for AVX-512, AVX2 and the baseline x86-64, the widest the CPU has picked
 * at load (GCC's function multiversioning); elsewhere built once. Used where the clones do
 * the same operations (no contraction into fused multiply-adds), so they give the same bits. */
#if defined(__x86_64__)
#define GBX_VECTOR_CLONES \
    __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define GBX_VECTOR_CLONES
#endif

/* splitmix64: the next number of a stream whose whole state is *state. Every sampling method
 * draws from streams keyed this way, so results depend only on the seed and the inputs. */
static inline uint64_t gbx_random_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}
/* The number a stream keyed `key` gives at position `index` (0: the first gbx_random_next of
 * a state set to key), without drawing the ones before: draws can be made in any order. */
static inline uint64_t gbx_random_at(uint64_t key, uint64_t index)
{
    uint64_t state = key + index * 0x9E3779B97F4A7C15ULL;
    return gbx_random_next(&state);
}
/* Uniform in [0, n): the high word of the next number times n (Lemire), a multiply where
 * the remainder was a 64-bit division, 40 cycles on some CPUs; its bias, n / 2^64, is far
 * below anything sampling can see. */
static inline uint64_t gbx_random_below(uint64_t *state, uint64_t n)
{
    return (uint64_t)(((unsigned __int128)gbx_random_next(state) * n) >> 64);
}
/* Uniform in [0, 1) with 53 random bits. */
static inline double gbx_random_uniform(uint64_t *state)
{
    return (double)(gbx_random_next(state) >> 11) / 9007199254740992.0;
}
/* A stream key from a seed and a row's values: a row draws the same numbers in any batch. */
uint64_t gbx_random_key(uint64_t seed, const double *row, size_t count);

/* Mean of n samples spaced `stride` apart, and its standard error (sample standard deviation
 * over sqrt(n); NaN for fewer than two samples). */
void gbx_mean_and_error(const double *samples, size_t n, size_t stride, double *mean,
                        double *standard_error);

/* Solves (G_AA + ridge I) x = b for the rows and columns A (q indices) of the p x p symmetric
 * matrix G, by Cholesky; L is q x q scratch, x may be b. Returns 0, leaving x undefined, when
 * a pivot is not above relative_pivot times its diagonal entry (the matrix is singular or not
 * positive definite). */
int gbx_cholesky_solve(const double *G, size_t p, const size_t *A, size_t q, double ridge,
                       double relative_pivot, const double *b, double *x, double *L);

/* The groups' arrays, for the library's own use: [columns] -> group, and [count] names. */
const size_t *gbx_groups_of_feature(const gbx_groups *groups);
const char *const *gbx_groups_names(const gbx_groups *groups);

/* Allocation that checks for overflow of count * size. */
void *gbx_calloc(size_t count, size_t size);
void *gbx_malloc_array(size_t count, size_t size);
char *gbx_strdup(const char *text);

#endif
