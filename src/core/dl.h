/* Libraries loaded when first needed rather than at start-up: libcurl (HTTP models), HDF5
 * (Keras .h5 files; it brings libcurl too) and cairo (plots). Linked, they and the 46
 * libraries they bring were loaded and relocated by every command (glassbox --help took 9.7
 * ms, and takes 3.2 without them); most commands never call them.
 *
 * A file lists the symbols it uses once, in an X-macro, keeps them in a table of pointers
 * (GBX_DL_MEMBER), describes the library with GBX_LIBRARY, loads it with gbx_dl_load before
 * its first call, and defines each symbol's name to its table entry, (*table.name), so its
 * calls read as the library's own:
 *
 *     #define CURL_SYMBOLS(X) X(curl_easy_init) X(curl_easy_cleanup)
 *     static struct { CURL_SYMBOLS(GBX_DL_MEMBER) } curl_api;
 *     static const char *const curl_names[] = {CURL_SYMBOLS(GBX_DL_NAME)};
 *     static gbx_library curl_library = GBX_LIBRARY(GBX_CURL_SONAME, curl_names, curl_api);
 *     #define curl_easy_init (*curl_api.curl_easy_init)
 *
 * Variables (HDF5's type ids) go through the same table as pointers to them. */
#ifndef GBX_CORE_DL_H
#define GBX_CORE_DL_H

#include "core.h"

#define GBX_DL_MEMBER(name) __typeof__(name) *name;
#define GBX_DL_NAME(name) #name,

typedef struct {
    const char *soname;       /* CMakeLists.txt finds each at build time */
    const char *const *names; /* the symbols, in the table's order */
    size_t count;
    void *table;              /* a struct of count pointers */
    int tried;                /* set by the first gbx_dl_load */
    char failure[256];        /* empty once loaded */
} gbx_library;

#define GBX_LIBRARY(soname, names, table) {soname, names, sizeof names / sizeof *names, &table, 0, ""}

/* Loads the library and fills its table, on the first call only (under a lock, so from any
 * thread); later calls give the first one's result: GBX_OK, or an internal error naming the
 * library or the symbol that is missing. */
gbx_status gbx_dl_load(gbx_library *library, gbx_error *error);

#endif
