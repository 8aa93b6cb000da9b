/* Notes for the caller: the library never prints; what it would say goes to the callback the
 * program sets (the CLI prints to standard error), or nowhere. */
#include "core.h"

#include <stdarg.h>
#include <stdio.h>

/* Set by the program before other threads use the library (as ggml's ggml_log_set): the one
 * piece of global state, read-only once set. */
static gbx_log_function *log_function;
static void *log_user;

void gbx_set_log(gbx_log_function *function, void *user)
{
    log_function = function;
    log_user = user;
}

void gbx_log(gbx_log_level level, const char *format, ...)
{
    if (!log_function) return;
    char message[1024];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    log_function(level, message, log_user);
}
