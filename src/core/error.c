#include "core.h"

#include <stdlib.h>
#include <string.h>

const char *gbx_strerror(gbx_status status)
{
    static const char *const texts[] = {
        [GBX_OK] = "success",
        [GBX_ERR_USAGE] = "bad usage",
        [GBX_ERR_IO] = "input/output error",
        [GBX_ERR_PARSE] = "malformed input",
        [GBX_ERR_UNSUPPORTED] = "not supported",
        [GBX_ERR_MISMATCH] = "data and model do not match",
        [GBX_ERR_NOMEM] = "out of memory",
        [GBX_ERR_INTERNAL] = "internal error",
    };
    if ((unsigned)status >= sizeof texts / sizeof texts[0]) return "unknown status";
    return texts[status];
}

gbx_status gbx_fail(gbx_error *error, gbx_status status, const char *format, ...)
{
    if (error) {
        error->status = status;
        va_list args;
        va_start(args, format);
        vsnprintf(error->message, sizeof error->message, format, args);
        va_end(args);
    }
    return status;
}

void gbx_error_prefix(gbx_error *error, const char *format, ...)
{
    if (!error) return;
    char prefix[512];
    va_list args;
    va_start(args, format);
    vsnprintf(prefix, sizeof prefix, format, args);
    va_end(args);
    char joined[sizeof error->message];
    size_t length = strlen(prefix);
    if (length >= sizeof joined) length = sizeof joined - 1;
    memcpy(joined, prefix, length);
    size_t rest = strnlen(error->message, sizeof error->message - 1);
    if (rest > sizeof joined - 1 - length) rest = sizeof joined - 1 - length;
    memcpy(joined + length, error->message, rest);
    joined[length + rest] = '\0';
    memcpy(error->message, joined, sizeof joined);
}

void gbx_free(void *memory)
{
    free(memory);
}
