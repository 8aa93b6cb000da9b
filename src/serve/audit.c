/* The audit store: one SQLite row per answer, appended before the answer is sent, in WAL mode
 * with synchronous=FULL so a row is on disk when its commit returns. Rows are hash-chained:
 * each keeps the previous row's hash and its own, SHA-256 over the previous hash and its
 * content (the record as JSON, stored as it was hashed), so a row changed, dropped or inserted
 * afterwards breaks the chain at that row. The last hash is read inside the appending
 * transaction (BEGIN IMMEDIATE), so processes sharing one database keep one chain.
 *
 * Group commit: requests appending at once share one transaction. The first to find no commit
 * under way becomes the writer and commits every record queued; the others wait for theirs to
 * be committed, and none returns before its record is on disk. */
#include "service.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GENESIS "0000000000000000000000000000000000000000000000000000000000000000"

/* A record waiting for its commit. */
typedef struct pending {
    const service_record *record;
    const char *when, *content;
    int done;
    gbx_error error;
    struct pending *next;
} pending;

struct service_audit {
    sqlite3 *db;
    sqlite3_stmt *last, *insert;
    pthread_mutex_t lock;     /* the queue; the connection is the writer's alone */
    pthread_cond_t committed;
    pending *head, *tail;     /* waiting for the next commit */
    int writing;              /* a writer is committing a batch */
};

static const char schema[] =
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

static gbx_status sqlite_failure(sqlite3 *db, const char *path, const char *what, gbx_error *error)
{
    return service_fail(error, GBX_ERR_IO, "%s: %s: %s", path, what,
                        db ? sqlite3_errmsg(db) : "cannot open");
}

/* SHA-256 over the previous hash and the content, as the chain links them. */
static gbx_status link_hash(const char *previous, const char *content, char out[65],
                            gbx_error *error)
{
    size_t a = strlen(previous), b = strlen(content);
    char *joined = malloc(a + b + 1);
    if (!joined) return service_fail(error, GBX_ERR_NOMEM, "out of memory");
    memcpy(joined, previous, a);
    memcpy(joined + a, content, b + 1);
    gbx_sha256_hex(joined, a + b, out);
    free(joined);
    return GBX_OK;
}

gbx_status service_audit_open(const char *path, service_audit **out, gbx_error *error)
{
    service_audit *a = calloc(1, sizeof *a);
    if (!a) return service_fail(error, GBX_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&a->lock, NULL);
    pthread_cond_init(&a->committed, NULL);
    gbx_status status = GBX_OK;
    if (sqlite3_open_v2(path, &a->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                          SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK)
        status = sqlite_failure(a->db, path, "cannot open the audit store", error);
    if (status == GBX_OK) sqlite3_busy_timeout(a->db, 10000); /* another process's commit */
    if (status == GBX_OK && sqlite3_exec(a->db, schema, NULL, NULL, NULL) != SQLITE_OK)
        status = sqlite_failure(a->db, path, "cannot create the audit table", error);
    if (status == GBX_OK &&
        (sqlite3_prepare_v2(a->db, "SELECT hash FROM audit ORDER BY seq DESC LIMIT 1", -1,
                            &a->last, NULL) != SQLITE_OK ||
         sqlite3_prepare_v2(a->db, "INSERT INTO audit (request_id, time, model, content, "
                            "previous, hash) VALUES (?, ?, ?, ?, ?, ?)", -1, &a->insert,
                            NULL) != SQLITE_OK))
        status = sqlite_failure(a->db, path, "cannot prepare the audit statements", error);
    if (status != GBX_OK) {
        service_audit_close(a);
        return status;
    }
    *out = a;
    return GBX_OK;
}

void service_audit_close(service_audit *audit)
{
    if (!audit) return;
    sqlite3_finalize(audit->last);
    sqlite3_finalize(audit->insert);
    sqlite3_close(audit->db);
    pthread_cond_destroy(&audit->committed);
    pthread_mutex_destroy(&audit->lock);
    free(audit);
}

/* The record as the chain stores it: JSON with its keys in one order. */
static char *record_content(const service_record *r, const char *when)
{
    json_object *o = json_object_new_object();
    const char *keys[] = {"request_id", "time", "caller", "role", "route", "model", "version",
                          "method"};
    const char *values[] = {r->request_id, when, r->caller, r->role, r->route, r->model,
                            r->version, r->method};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
        json_object_object_add(o, keys[k], json_object_new_string(values[k] ? values[k] : ""));
    json_object *input = json_tokener_parse(r->input), *output = json_tokener_parse(r->output);
    json_object_object_add(o, "input", input ? input : json_object_new_string(r->input));
    json_object_object_add(o, "output", output ? output : json_object_new_string(r->output));
    char *content = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    return content;
}

static void now_utc(char *out, size_t size)
{
    struct timespec t;
    struct tm parts;
    clock_gettime(CLOCK_REALTIME, &t);
    gmtime_r(&t.tv_sec, &parts);
    size_t used = strftime(out, size, "%Y-%m-%dT%H:%M:%S", &parts);
    snprintf(out + used, size - used, ".%03ldZ", t.tv_nsec / 1000000);
}

static gbx_status insert(service_audit *a, const pending *p, const char *previous, char hash[65],
                         gbx_error *error)
{
    gbx_status status = link_hash(previous, p->content, hash, error);
    const service_record *r = p->record;
    const char *fields[] = {r->request_id, p->when, r->model ? r->model : "", p->content, previous,
                            hash};
    sqlite3_reset(a->insert);
    for (int f = 0; status == GBX_OK && f < 6; f++)
        sqlite3_bind_text(a->insert, f + 1, fields[f], -1, SQLITE_TRANSIENT);
    if (status == GBX_OK && sqlite3_step(a->insert) != SQLITE_DONE)
        status = sqlite_failure(a->db, "audit", "cannot append", error);
    return status;
}

/* One transaction for a batch, chained from the store's last row: all committed, or none. */
static gbx_status write_batch(service_audit *a, pending *batch, gbx_error *error)
{
    if (sqlite3_exec(a->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return sqlite_failure(a->db, "audit", "cannot begin", error);
    char previous[65] = GENESIS, hash[65];
    sqlite3_reset(a->last);
    if (sqlite3_step(a->last) == SQLITE_ROW) {
        const unsigned char *last = sqlite3_column_text(a->last, 0);
        if (last) snprintf(previous, sizeof previous, "%s", (const char *)last);
    }
    sqlite3_reset(a->last);
    gbx_status status = GBX_OK;
    for (pending *p = batch; p && status == GBX_OK; p = p->next) {
        status = insert(a, p, previous, hash, error);
        memcpy(previous, hash, sizeof previous);
    }
    if (status == GBX_OK && sqlite3_exec(a->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        status = sqlite_failure(a->db, "audit", "cannot commit", error);
    if (status != GBX_OK) sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
    return status;
}

gbx_status service_audit_append(service_audit *audit, const service_record *record,
                                gbx_error *error)
{
    char when[40];
    now_utc(when, sizeof when);
    char *content = record_content(record, when);
    if (!content) return service_fail(error, GBX_ERR_NOMEM, "out of memory");
    pending mine = {.record = record, .when = when, .content = content};
    pthread_mutex_lock(&audit->lock);
    if (audit->tail) audit->tail->next = &mine;
    else audit->head = &mine;
    audit->tail = &mine;
    while (!mine.done) {
        if (audit->writing) {
            pthread_cond_wait(&audit->committed, &audit->lock);
            continue;
        }
        /* This request writes the batch queued so far, its own among them. */
        pending *batch = audit->head;
        audit->head = audit->tail = NULL;
        audit->writing = 1;
        pthread_mutex_unlock(&audit->lock);
        gbx_error failure = {0};
        gbx_status status = write_batch(audit, batch, &failure);
        pthread_mutex_lock(&audit->lock);
        for (pending *p = batch, *next; p; p = next) {
            next = p->next; /* p may return and vanish once done */
            p->error = failure;
            p->error.status = status;
            p->done = 1;
        }
        audit->writing = 0;
        pthread_cond_broadcast(&audit->committed);
    }
    pthread_mutex_unlock(&audit->lock);
    free(content);
    if (mine.error.status != GBX_OK && error) *error = mine.error;
    return mine.error.status;
}

static gbx_status open_read_only(const char *path, sqlite3 **db, gbx_error *error)
{
    if (sqlite3_open_v2(path, db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        gbx_status status = sqlite_failure(*db, path, "cannot open the audit store", error);
        sqlite3_close(*db);
        *db = NULL;
        return status;
    }
    sqlite3_busy_timeout(*db, 10000);
    return GBX_OK;
}

gbx_status service_audit_verify(const char *path, long long *broken, size_t *rows,
                                gbx_error *error)
{
    sqlite3 *db;
    sqlite3_stmt *walk = NULL;
    gbx_status status = open_read_only(path, &db, error);
    if (status != GBX_OK) return status;
    if (sqlite3_prepare_v2(db, "SELECT seq, content, previous, hash FROM audit ORDER BY seq", -1,
                           &walk, NULL) != SQLITE_OK)
        status = sqlite_failure(db, path, "not an audit store", error);
    char expected[65] = GENESIS, hash[65];
    *broken = 0;
    *rows = 0;
    while (status == GBX_OK && !*broken && sqlite3_step(walk) == SQLITE_ROW) {
        const char *content = (const char *)sqlite3_column_text(walk, 1);
        const char *previous = (const char *)sqlite3_column_text(walk, 2);
        const char *stored = (const char *)sqlite3_column_text(walk, 3);
        (*rows)++;
        if (!content || !previous || !stored || strcmp(previous, expected) != 0 ||
            (status = link_hash(previous, content, hash, error)) != GBX_OK ||
            strcmp(hash, stored) != 0) {
            if (status == GBX_OK) *broken = sqlite3_column_int64(walk, 0);
            break;
        }
        memcpy(expected, stored, sizeof expected);
    }
    sqlite3_finalize(walk);
    sqlite3_close(db);
    return status;
}

gbx_status service_audit_show(const char *path, const char *request_id, char **json,
                              gbx_error *error)
{
    sqlite3 *db;
    sqlite3_stmt *find = NULL;
    *json = NULL;
    gbx_status status = open_read_only(path, &db, error);
    if (status != GBX_OK) return status;
    if (sqlite3_prepare_v2(db, "SELECT content FROM audit WHERE request_id = ? ORDER BY seq", -1,
                           &find, NULL) != SQLITE_OK)
        status = sqlite_failure(db, path, "not an audit store", error);
    json_object *records = json_object_new_array();
    if (status == GBX_OK) sqlite3_bind_text(find, 1, request_id, -1, SQLITE_TRANSIENT);
    while (status == GBX_OK && sqlite3_step(find) == SQLITE_ROW) {
        json_object *record = json_tokener_parse((const char *)sqlite3_column_text(find, 0));
        if (record) json_object_array_add(records, record);
    }
    if (status == GBX_OK && json_object_array_length(records))
        *json = strdup(json_object_to_json_string_ext(records, JSON_C_TO_STRING_PRETTY));
    json_object_put(records);
    sqlite3_finalize(find);
    sqlite3_close(db);
    return status;
}

/* Binds text, or NULL for an absent filter. */
static void bind_optional(sqlite3_stmt *statement, int index, const char *text)
{
    if (text && *text) sqlite3_bind_text(statement, index, text, -1, SQLITE_TRANSIENT);
    else sqlite3_bind_null(statement, index);
}

gbx_status service_audit_query(const char *path, const char *from, const char *to,
                               const char *model, long limit, json_object **records,
                               gbx_error *error)
{
    sqlite3 *db;
    sqlite3_stmt *query = NULL;
    gbx_status status = open_read_only(path, &db, error);
    if (status != GBX_OK) return status;
    if (sqlite3_prepare_v2(db, "SELECT content FROM audit WHERE (?1 IS NULL OR time >= ?1) AND "
                           "(?2 IS NULL OR time < ?2) AND (?3 IS NULL OR model = ?3) "
                           "ORDER BY seq LIMIT ?4", -1, &query, NULL) != SQLITE_OK)
        status = sqlite_failure(db, path, "not an audit store", error);
    *records = json_object_new_array();
    if (status == GBX_OK) {
        bind_optional(query, 1, from);
        bind_optional(query, 2, to);
        bind_optional(query, 3, model);
        sqlite3_bind_int64(query, 4, limit);
    }
    while (status == GBX_OK && sqlite3_step(query) == SQLITE_ROW) {
        json_object *record = json_tokener_parse((const char *)sqlite3_column_text(query, 0));
        if (record) json_object_array_add(*records, record);
    }
    sqlite3_finalize(query);
    sqlite3_close(db);
    return status;
}
