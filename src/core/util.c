#include "core.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void *gbx_calloc(size_t count, size_t size)
{
    if (count == 0 || size == 0) return calloc(1, 1);
    if (count > SIZE_MAX / size) return NULL;
    return calloc(count, size);
}

void *gbx_malloc_array(size_t count, size_t size)
{
    if (count == 0 || size == 0) return malloc(1);
    if (count > SIZE_MAX / size) return NULL;
    return malloc(count * size);
}

char *gbx_strdup(const char *text)
{
    size_t length = strlen(text) + 1;
    char *copy = malloc(length);
    if (copy) memcpy(copy, text, length);
    return copy;
}

gbx_status gbx_read_file(const char *path, char **bytes, size_t *length, gbx_error *error)
{
    FILE *file = fopen(path, "rb");
    if (!file) return gbx_fail(error, GBX_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t capacity = 1 << 16, used = 0;
    char *buffer = malloc(capacity);
    while (buffer) {
        used += fread(buffer + used, 1, capacity - used - 1, file);
        if (used < capacity - 1) break;
        char *grown = realloc(buffer, capacity * 2);
        if (!grown) { free(buffer); buffer = NULL; break; }
        buffer = grown;
        capacity *= 2;
    }
    int failed = ferror(file);
    fclose(file);
    if (!buffer) return gbx_fail(error, GBX_ERR_NOMEM, "%s: out of memory reading the file", path);
    if (failed) {
        free(buffer);
        return gbx_fail(error, GBX_ERR_IO, "%s: read error", path);
    }
    buffer[used] = '\0';
    *bytes = buffer;
    *length = used;
    return GBX_OK;
}

FILE *gbx_temporary_beside(const char *path, char **temporary, gbx_error *error)
{
    static unsigned counter;
    size_t size = strlen(path) + 48;
    if (!(*temporary = malloc(size))) {
        gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
        return NULL;
    }
    for (int attempt = 0; attempt < 100; attempt++) {
        unsigned n = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
        snprintf(*temporary, size, "%s.partial-%ld-%u", path, (long)getpid(), n);
        /* O_EXCL: the name is this call's alone; 0666 less the umask, as fopen would make it. */
        int fd = open(*temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0) {
            FILE *file = fdopen(fd, "wb");
            if (file) return file;
            close(fd);
            remove(*temporary);
            break;
        }
        if (errno != EEXIST) break;
    }
    gbx_fail(error, GBX_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    free(*temporary);
    *temporary = NULL;
    return NULL;
}

gbx_status gbx_write_file(const char *path, const void *bytes, size_t length, gbx_error *error)
{
    struct stat info;
    char *temporary = NULL;
    /* A device or pipe (/dev/null, a FIFO) is written in place: there is nothing to rename. */
    int in_place = stat(path, &info) == 0 && !S_ISREG(info.st_mode);
    FILE *file = in_place ? fopen(path, "wb") : gbx_temporary_beside(path, &temporary, error);
    if (!file) {
        if (in_place) gbx_fail(error, GBX_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
        return error ? error->status : GBX_ERR_IO;
    }
    int failed = fwrite(bytes, 1, length, file) != length;
    failed |= fclose(file) != 0;
    gbx_status status = failed ? gbx_fail(error, GBX_ERR_IO, "%s: write error (disk full?)", path)
                               : GBX_OK;
    if (status == GBX_OK && temporary && rename(temporary, path) != 0)
        status = gbx_fail(error, GBX_ERR_IO, "%s: cannot move into place: %s", path, strerror(errno));
    if (status != GBX_OK && temporary) remove(temporary);
    free(temporary);
    return status;
}

void gbx_csv_write_field(FILE *file, const char *text)
{
    if (!strpbrk(text, ",\"\r\n")) {
        fputs(text, file);
        return;
    }
    fputc('"', file);
    for (const char *p = text; *p; p++) {
        if (*p == '"') fputc('"', file);
        fputc(*p, file);
    }
    fputc('"', file);
}

static void hex_digest(const unsigned char *digest, char out[65])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = digits[digest[i] >> 4];
        out[2 * i + 1] = digits[digest[i] & 15];
    }
    out[64] = '\0';
}

void gbx_sha256_hex(const void *bytes, size_t length, char out[65])
{
    gbx_sha256_buffer(bytes, length, out);
}

void gbx_sha256_buffer(const void *bytes, size_t length, char out[65])
{
    unsigned char digest[32];
    unsigned int digest_length = 0;
    EVP_Digest(bytes, length, digest, &digest_length, EVP_sha256(), NULL);
    hex_digest(digest, out);
}

gbx_status gbx_sha256_file(const char *path, char out[65], gbx_error *error)
{
    return gbx_sha256_files(&path, 1, out, error);
}

gbx_status gbx_sha256_files(const char *const *paths, size_t count, char out[65],
                            gbx_error *error)
{
    EVP_MD_CTX *context = EVP_MD_CTX_new();
    if (!context) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    EVP_DigestInit_ex(context, EVP_sha256(), NULL);
    gbx_status status = GBX_OK;
    for (size_t f = 0; f < count && status == GBX_OK; f++) {
        FILE *file = fopen(paths[f], "rb");
        if (!file) {
            status = gbx_fail(error, GBX_ERR_IO, "%s: cannot open: %s", paths[f], strerror(errno));
            break;
        }
        unsigned char buffer[1 << 16];
        size_t got;
        while ((got = fread(buffer, 1, sizeof buffer, file)) > 0)
            EVP_DigestUpdate(context, buffer, got);
        if (ferror(file)) status = gbx_fail(error, GBX_ERR_IO, "%s: read error", paths[f]);
        fclose(file);
    }
    unsigned char digest[32];
    unsigned int digest_length = 0;
    EVP_DigestFinal_ex(context, digest, &digest_length);
    EVP_MD_CTX_free(context);
    if (status == GBX_OK) hex_digest(digest, out);
    return status;
}

uint64_t gbx_random_key(uint64_t seed, const double *row, size_t count)
{
    uint64_t key = seed;
    for (size_t i = 0; i < count; i++) {
        uint64_t bits;
        memcpy(&bits, &row[i], sizeof bits);
        key = (key ^ bits) * 0x100000001B3ULL + 0x9E3779B97F4A7C15ULL;
    }
    return key;
}

void gbx_mean_and_error(const double *samples, size_t n, size_t stride, double *mean,
                        double *standard_error)
{
    double sum = 0.0, squares = 0.0;
    for (size_t i = 0; i < n; i++) sum += samples[i * stride];
    *mean = n ? sum / (double)n : NAN;
    for (size_t i = 0; i < n; i++) {
        double d = samples[i * stride] - *mean;
        squares += d * d;
    }
    *standard_error = n > 1 ? sqrt(squares / (double)(n - 1) / (double)n) : NAN;
}

int gbx_cholesky_solve(const double *G, size_t p, const size_t *A, size_t q, double ridge,
                       double relative_pivot, const double *b, double *x, double *L)
{
    for (size_t i = 0; i < q; i++)
        for (size_t j = 0; j <= i; j++) {
            double sum = G[A[i] * p + A[j]] + (i == j ? ridge : 0.0);
            for (size_t k = 0; k < j; k++) sum -= L[i * q + k] * L[j * q + k];
            if (i == j) {
                if (!(sum > relative_pivot * (G[A[i] * p + A[i]] + ridge))) return 0;
                L[i * q + i] = sqrt(sum);
            } else {
                L[i * q + j] = sum / L[j * q + j];
            }
        }
    for (size_t i = 0; i < q; i++) { /* L y = b, then L^T x = y */
        double sum = b[i];
        for (size_t k = 0; k < i; k++) sum -= L[i * q + k] * x[k];
        x[i] = sum / L[i * q + i];
    }
    for (size_t i = q; i-- > 0;) {
        double sum = x[i];
        for (size_t k = i + 1; k < q; k++) sum -= L[k * q + i] * x[k];
        x[i] = sum / L[i * q + i];
    }
    return 1;
}
