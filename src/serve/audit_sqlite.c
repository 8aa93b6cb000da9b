/* The audit store in an SQLite file: WAL mode with synchronous=FULL, so a commit is on disk
 * when it returns; BEGIN IMMEDIATE takes the database's write lock before the last row is
 * read, so processes sharing the file keep one chain. */
#include "audit_store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    sqlite3 *db;
    sqlite3_stmt *last, *insert;
} store;

/* 16 KB pages: a record (the request and its answer, a few KB) fits one, so a commit writes
 * fewer WAL frames (a new store only: SQLite keeps an existing store's page size). */
static const char schema[] =
    "PRAGMA page_size=16384;"
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    "CREATE TABLE IF NOT EXISTS audit ("
    "  seq INTEGER PRIMARY KEY,"
    "  request_id TEXT NOT NULL,"
    "  time TEXT NOT NULL,"
    "  model TEXT NOT NULL,"
    "  content TEXT NOT NULL,"
    "  previous TEXT NOT NULL,"
    "  hash TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS audit_request ON audit(request_id);"
    "CREATE INDEX IF NOT EXISTS audit_time ON audit(time);";

static gbx_status failure(sqlite3 *db, const char *path, const char *what, gbx_error *error)
{
    return service_fail(error, GBX_ERR_IO, "%s: %s: %s", path, what,
                        db ? sqlite3_errmsg(db) : "cannot open");
}

static int claims(const char *location)
{
    (void)location;
    return 1; /* any path */
}

static void close_store(void *handle)
{
    store *s = handle;
    if (!s) return;
    sqlite3_finalize(s->last);
    sqlite3_finalize(s->insert);
    sqlite3_close(s->db);
    free(s);
}

static gbx_status open_store(const char *path, void **handle, gbx_error *error)
{
    store *s = calloc(1, sizeof *s);
    if (!s) return service_fail(error, GBX_ERR_NOMEM, "out of memory");
    gbx_status status = GBX_OK;
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                          SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK)
        status = failure(s->db, path, "cannot open the audit store", error);
    if (status == GBX_OK) sqlite3_busy_timeout(s->db, 10000); /* another process's commit */
    if (status == GBX_OK && sqlite3_exec(s->db, schema, NULL, NULL, NULL) != SQLITE_OK)
        status = failure(s->db, path, "cannot create the audit table", error);
    if (status == GBX_OK &&
        (sqlite3_prepare_v2(s->db, "SELECT hash FROM audit ORDER BY seq DESC LIMIT 1", -1,
                            &s->last, NULL) != SQLITE_OK ||
         sqlite3_prepare_v2(s->db, "INSERT INTO audit (request_id, time, model, content, "
                            "previous, hash) VALUES (?, ?, ?, ?, ?, ?)", -1, &s->insert,
                            NULL) != SQLITE_OK))
        status = failure(s->db, path, "cannot prepare the audit statements", error);
    if (status != GBX_OK) {
        close_store(s);
        return status;
    }
    *handle = s;
    return GBX_OK;
}

static gbx_status insert_row(store *s, const audit_row *row, gbx_error *error)
{
    const char *fields[] = {row->request_id, row->when, row->model, row->content, row->previous,
                            row->hash};
    sqlite3_reset(s->insert);
    for (int f = 0; f < 6; f++) sqlite3_bind_text(s->insert, f + 1, fields[f], -1, SQLITE_TRANSIENT);
    return sqlite3_step(s->insert) == SQLITE_DONE ? GBX_OK
                                                  : failure(s->db, "audit", "cannot append", error);
}

static gbx_status append(void *handle, audit_row *rows, size_t count, gbx_error *error)
{
    store *s = handle;
    if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return failure(s->db, "audit", "cannot begin", error);
    char last[65] = AUDIT_GENESIS;
    sqlite3_reset(s->last);
    if (sqlite3_step(s->last) == SQLITE_ROW && sqlite3_column_text(s->last, 0))
        snprintf(last, sizeof last, "%s", (const char *)sqlite3_column_text(s->last, 0));
    sqlite3_reset(s->last);
    gbx_status status = audit_chain(last, rows, count, error);
    for (size_t i = 0; status == GBX_OK && i < count; i++) status = insert_row(s, &rows[i], error);
    if (status == GBX_OK && sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        status = failure(s->db, "audit", "cannot commit", error);
    if (status != GBX_OK) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return status;
}

static gbx_status open_read_only(const char *path, sqlite3 **db, gbx_error *error)
{
    if (sqlite3_open_v2(path, db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        gbx_status status = failure(*db, path, "cannot open the audit store", error);
        sqlite3_close(*db);
        *db = NULL;
        return status;
    }
    sqlite3_busy_timeout(*db, 10000);
    return GBX_OK;
}

/* Runs a query, handing each row's seq, content, previous and hash to visit. */
static gbx_status each_row(const char *path, const char *sql, const audit_filter *filter,
                           audit_visit visit, void *context, gbx_error *error)
{
    sqlite3 *db;
    sqlite3_stmt *query = NULL;
    gbx_status status = open_read_only(path, &db, error);
    if (status != GBX_OK) return status;
    if (sqlite3_prepare_v2(db, sql, -1, &query, NULL) != SQLITE_OK)
        status = failure(db, path, "not an audit store", error);
    const char *texts[] = {filter ? filter->request_id : NULL, filter ? filter->from : NULL,
                           filter ? filter->to : NULL, filter ? filter->model : NULL};
    for (int i = 0; status == GBX_OK && filter && i < 4; i++) {
        if (texts[i]) sqlite3_bind_text(query, i + 1, texts[i], -1, SQLITE_TRANSIENT);
        else sqlite3_bind_null(query, i + 1);
    }
    if (status == GBX_OK && filter) sqlite3_bind_int64(query, 5, filter->limit);
    while (status == GBX_OK && sqlite3_step(query) == SQLITE_ROW &&
           visit(context, sqlite3_column_int64(query, 0), (const char *)sqlite3_column_text(query, 1),
                 (const char *)sqlite3_column_text(query, 2),
                 (const char *)sqlite3_column_text(query, 3))) {}
    sqlite3_finalize(query);
    sqlite3_close(db);
    return status;
}

static gbx_status walk(const char *path, audit_visit visit, void *context, gbx_error *error)
{
    return each_row(path, "SELECT seq, content, previous, hash FROM audit ORDER BY seq", NULL,
                    visit, context, error);
}

static gbx_status select_rows(const char *path, const audit_filter *filter, audit_visit visit,
                              void *context, gbx_error *error)
{
    return each_row(path, "SELECT seq, content, previous, hash FROM audit WHERE "
                    "(?1 IS NULL OR request_id = ?1) AND (?2 IS NULL OR time >= ?2) AND "
                    "(?3 IS NULL OR time < ?3) AND (?4 IS NULL OR model = ?4) ORDER BY seq "
                    "LIMIT ?5", filter, visit, context, error);
}

static int ready(void *handle)
{
    (void)handle;
    return 1; /* a file: an append that cannot go through says why */
}

const audit_backend audit_sqlite = {"sqlite", claims, open_store, append, close_store, ready,
                                    walk, select_rows};
