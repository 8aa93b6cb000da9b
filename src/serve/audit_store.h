/* The audit store's backends (audit_sqlite.c, audit_postgres.c) behind audit.c, which keeps
 * what they share: the records' content, the hash chain's arithmetic, group commit and the
 * chain's verification. A backend appends rows chained from its store's last row, in one
 * transaction durable when it returns, with the last row read under a lock that every process
 * appending to the store takes, so two processes keep one chain. */
#ifndef GBX_SERVE_AUDIT_STORE_H
#define GBX_SERVE_AUDIT_STORE_H

#include "service.h"

#define AUDIT_GENESIS "0000000000000000000000000000000000000000000000000000000000000000"

/* One row to append: the backend fills previous and hash. */
typedef struct {
    const char *request_id, *when, *model, *content;
    char previous[65], hash[65];
} audit_row;

/* Which rows a lookup wants: one request's, or a time range's and model's (NULL: any). */
typedef struct {
    const char *request_id, *from, *to, *model;
    long limit;
} audit_filter;

/* Called for each row in order; returns 0 to stop. */
typedef int (*audit_visit)(void *context, long long seq, const char *content,
                           const char *previous, const char *hash);

typedef struct {
    const char *name;
    int (*claims)(const char *location);
    gbx_status (*open)(const char *location, void **handle, gbx_error *error);
    gbx_status (*append)(void *handle, audit_row *rows, size_t count, gbx_error *error);
    void (*close)(void *handle);
    /* Whether appends can go through now (reconnecting where the store was lost). */
    int (*ready)(void *handle);
    gbx_status (*walk)(const char *location, audit_visit visit, void *context, gbx_error *error);
    /* The contents of the rows the filter wants, oldest first. */
    gbx_status (*select)(const char *location, const audit_filter *filter, audit_visit visit,
                         void *context, gbx_error *error);
} audit_backend;

extern const audit_backend audit_sqlite, audit_postgres;

/* SHA-256 over the previous hash and the content, as the chain links them. */
gbx_status audit_link(const char *previous, const char *content, char out[65], gbx_error *error);
/* Chains rows after `last`: each row's previous and hash. */
gbx_status audit_chain(const char *last, audit_row *rows, size_t count, gbx_error *error);

#endif
