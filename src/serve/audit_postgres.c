/* The audit store in PostgreSQL (libpq), for several `glassbox serve` instances behind a load
 * balancer: one chain however many append. Appending locks the one row of audit_head (the
 * chain's last hash) FOR UPDATE, so instances take turns, each chaining from the hash the last
 * one left; a commit returns once durable (synchronous_commit, as PostgreSQL ships it). The
 * location is a postgresql:// URL (libpq's connection string). */
#include "audit_store.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Schema creation, once, whoever starts first: under an advisory lock. */
static const char schema[] =
    "SELECT pg_advisory_lock(4711);"
    "CREATE TABLE IF NOT EXISTS audit ("
    "  seq BIGSERIAL PRIMARY KEY,"
    "  request_id TEXT NOT NULL,"
    "  time TEXT NOT NULL,"
    "  model TEXT NOT NULL,"
    "  content TEXT NOT NULL,"
    "  previous TEXT NOT NULL,"
    "  hash TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS audit_request ON audit(request_id);"
    "CREATE INDEX IF NOT EXISTS audit_time ON audit(time);"
    "CREATE TABLE IF NOT EXISTS audit_head ("
    "  only_row INTEGER PRIMARY KEY CHECK (only_row = 1),"
    "  hash TEXT NOT NULL);"
    "INSERT INTO audit_head VALUES (1, '" AUDIT_GENESIS "') ON CONFLICT DO NOTHING;"
    "SELECT pg_advisory_unlock(4711);";

static int claims(const char *location)
{
    return strncmp(location, "postgresql://", 13) == 0 || strncmp(location, "postgres://", 11) == 0;
}

static gbx_status failure(PGconn *db, const char *what, gbx_error *error)
{
    const char *message = db ? PQerrorMessage(db) : "out of memory";
    size_t length = strcspn(message, "\n");
    return service_fail(error, GBX_ERR_IO, "audit store (PostgreSQL): %s: %.*s", what,
                        (int)length, message);
}

/* Runs a command that returns no rows (or rows not read); 0 when it failed. */
static int command(PGconn *db, const char *sql)
{
    PGresult *result = PQexec(db, sql);
    ExecStatusType status = PQresultStatus(result);
    PQclear(result);
    return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
}

static gbx_status connect_to(const char *location, PGconn **db, gbx_error *error)
{
    *db = PQconnectdb(location);
    if (!*db || PQstatus(*db) != CONNECTION_OK) {
        gbx_status status = failure(*db, "cannot connect", error);
        PQfinish(*db);
        *db = NULL;
        return status;
    }
    PGresult *quiet = PQexec(*db, "SET client_min_messages = warning");
    PQclear(quiet);
    return GBX_OK;
}

static gbx_status open_store(const char *location, void **handle, gbx_error *error)
{
    PGconn *db;
    gbx_status status = connect_to(location, &db, error);
    if (status == GBX_OK && !command(db, schema)) {
        status = failure(db, "cannot create the audit tables", error);
        PQfinish(db);
    }
    if (status == GBX_OK) *handle = db;
    return status;
}

static void close_store(void *handle) { PQfinish(handle); }

static gbx_status insert_row(PGconn *db, const audit_row *row, gbx_error *error)
{
    const char *values[] = {row->request_id, row->when, row->model, row->content, row->previous,
                            row->hash};
    PGresult *result = PQexecParams(db, "INSERT INTO audit (request_id, time, model, content, "
                                    "previous, hash) VALUES ($1, $2, $3, $4, $5, $6)", 6, NULL,
                                    values, NULL, NULL, 0);
    int ok = PQresultStatus(result) == PGRES_COMMAND_OK;
    PQclear(result);
    return ok ? GBX_OK : failure(db, "cannot append", error);
}

/* The chain's last hash, its row locked until this transaction ends. */
static gbx_status lock_head(PGconn *db, char last[65], gbx_error *error)
{
    PGresult *result = PQexec(db, "SELECT hash FROM audit_head WHERE only_row = 1 FOR UPDATE");
    int ok = PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) == 1 &&
             strlen(PQgetvalue(result, 0, 0)) == 64;
    if (ok) memcpy(last, PQgetvalue(result, 0, 0), 65);
    PQclear(result);
    return ok ? GBX_OK : failure(db, "cannot read the chain's head", error);
}

/* The connection, reset if the server went away (restarted, or the network dropped it): a
 * lost connection shows once it is used, so this asks the server something first. */
static int connected(PGconn *db)
{
    if (PQstatus(db) == CONNECTION_OK && command(db, "SELECT 1")) return 1;
    PQreset(db);
    return PQstatus(db) == CONNECTION_OK && command(db, "SELECT 1");
}

static int ready(void *handle) { return connected(handle); }

static gbx_status append(void *handle, audit_row *rows, size_t count, gbx_error *error)
{
    PGconn *db = handle;
    char last[65];
    if (!command(db, "BEGIN")) { /* the connection lost (a restart): made again, once */
        PQreset(db);
        if (PQstatus(db) != CONNECTION_OK || !command(db, "BEGIN"))
            return failure(db, "cannot begin (the server cannot be reached?)", error);
    }
    gbx_status status = lock_head(db, last, error);
    if (status == GBX_OK) status = audit_chain(last, rows, count, error);
    for (size_t i = 0; status == GBX_OK && i < count; i++) status = insert_row(db, &rows[i], error);
    if (status == GBX_OK && count) {
        const char *values[] = {rows[count - 1].hash};
        PGresult *result = PQexecParams(db, "UPDATE audit_head SET hash = $1 WHERE only_row = 1",
                                        1, NULL, values, NULL, NULL, 0);
        if (PQresultStatus(result) != PGRES_COMMAND_OK)
            status = failure(db, "cannot move the chain's head", error);
        PQclear(result);
    }
    if (status == GBX_OK && !command(db, "COMMIT")) status = failure(db, "cannot commit", error);
    if (status != GBX_OK) command(db, "ROLLBACK");
    return status;
}

/* Runs a query with the filter's parameters, handing each row to visit. */
static gbx_status each_row(const char *location, const char *sql, const audit_filter *filter,
                           audit_visit visit, void *context, gbx_error *error)
{
    PGconn *db;
    gbx_status status = connect_to(location, &db, error);
    if (status != GBX_OK) return status;
    char limit[32];
    snprintf(limit, sizeof limit, "%ld", filter ? filter->limit : -1L);
    const char *values[] = {filter ? filter->request_id : NULL, filter ? filter->from : NULL,
                            filter ? filter->to : NULL, filter ? filter->model : NULL,
                            filter && filter->limit >= 0 ? limit : NULL};
    PGresult *result = PQexecParams(db, sql, filter ? 5 : 0, NULL, filter ? values : NULL, NULL,
                                    NULL, 0);
    if (PQresultStatus(result) != PGRES_TUPLES_OK) status = failure(db, "cannot read", error);
    for (int r = 0; status == GBX_OK && r < PQntuples(result); r++)
        if (!visit(context, strtoll(PQgetvalue(result, r, 0), NULL, 10), PQgetvalue(result, r, 1),
                   PQgetvalue(result, r, 2), PQgetvalue(result, r, 3)))
            break;
    PQclear(result);
    PQfinish(db);
    return status;
}

static gbx_status walk(const char *location, audit_visit visit, void *context, gbx_error *error)
{
    return each_row(location, "SELECT seq, content, previous, hash FROM audit ORDER BY seq",
                    NULL, visit, context, error);
}

static gbx_status select_rows(const char *location, const audit_filter *filter,
                              audit_visit visit, void *context, gbx_error *error)
{
    return each_row(location, "SELECT seq, content, previous, hash FROM audit WHERE "
                    "($1::text IS NULL OR request_id = $1) AND ($2::text IS NULL OR time >= $2) "
                    "AND ($3::text IS NULL OR time < $3) AND ($4::text IS NULL OR model = $4) "
                    "ORDER BY seq LIMIT $5::bigint", filter, visit, context, error);
}

const audit_backend audit_postgres = {"postgresql", claims, open_store, append, close_store,
                                      ready, walk, select_rows};
