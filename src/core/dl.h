/* Libraries loaded when first needed rather than at start-up: libcurl (HTTP models), HDF5
 * (Keras .h5 files; it brings libcurl too) and cairo (plots). Linked, they and the 46
 * libraries they bring were loaded and relocated by every command (glassbox --help took 9.7
 * ms, and takes 3.2 without them); most commands never call them.
 *
 * A file lists the symbols it uses once, in an X-macro, keeps them in a table of pointers
 * (GBX_DL_MEMBER), binds the table on first use with gbx_dl_bind, and defines each symbol's
 * name to its table entry, (*table.name), so its calls read as the library's own:
 *
 *     #define CURL_SYMBOLS(X) X(curl_easy_init) X(curl_easy_cleanup)
 *     static struct { CURL_SYMBOLS(GBX_DL_MEMBER) } curl;
 *     static const char *const curl_names[] = {CURL_SYMBOLS(GBX_DL_NAME)};
 *     #define curl_easy_init (*curl.curl_easy_init)
 *
 * Variables (HDF5's type ids) go through the same table as pointers to them. */
#ifndef GBX_CORE_DL_H
#define GBX_CORE_DL_H

#include <stddef.h>

#define GBX_DL_MEMBER(name) __typeof__(name) *name;
#define GBX_DL_NAME(name) #name,

/* Loads `library` (a soname; CMakeLists.txt finds each at build time) and fills `table`, a
 * struct of `count` pointers, with the addresses of `names` in order. Returns 0 and a message
 * in failure (failure_size bytes) when the library or a symbol is missing. Not thread-safe:
 * callers bind once, under pthread_once. */
int gbx_dl_bind(const char *library, const char *const *names, size_t count, void *table,
                char *failure, size_t failure_size);

#endif
