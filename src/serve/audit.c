/* The audit store: one row per answer, appended before the answer is sent, durable when its
 * commit returns (SQLite in WAL mode with synchronous=FULL, or PostgreSQL). Rows are
 * hash-chained: each keeps the previous row's hash and its own, SHA-256 over the previous hash
 * and its content (the record as JSON, stored as it was hashed), so a row changed, dropped or
 * inserted afterwards breaks the chain at that row.
 *
 * Group commit: requests appending at once share one transaction. The first to find no commit
 * under way becomes the writer and commits every record queued; the others wait for theirs to
 * be committed, and none returns before its record is on disk. The backends (audit_store.h)
 * do the storing; this file does what they share. */
#include "audit_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A record waiting for its commit. */
typedef struct pending {
    audit_row row;
    int done;
    gbx_error error;
    struct pending *next;
} pending;

struct service_audit {
    const audit_backend *backend;
    void *handle;
    pthread_mutex_t lock;     /* the queue; the store's connection is the writer's alone */
    pthread_cond_t committed;
    pending *head, *tail;     /* waiting for the next commit */
    int writing;              /* a writer is committing a batch */
};

static const audit_backend *const backends[] = {&audit_postgres, &audit_sqlite};

/* The backend of a location: a PostgreSQL URL, else an SQLite file. */
static const audit_backend *backend_of(const char *location)
{
    for (size_t b = 0; b < sizeof backends / sizeof backends[0]; b++)
        if (backends[b]->claims(location)) return backends[b];
    return &audit_sqlite;
}

gbx_status audit_link(const char *previous, const char *content, char out[65], gbx_error *error)
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

gbx_status audit_chain(const char *last, audit_row *rows, size_t count, gbx_error *error)
{
    for (size_t i = 0; i < count; i++) {
        memcpy(rows[i].previous, i ? rows[i - 1].hash : last, 65);
        gbx_status status = audit_link(rows[i].previous, rows[i].content, rows[i].hash, error);
        if (status != GBX_OK) return status;
    }
    return GBX_OK;
}

gbx_status service_audit_open(const char *location, service_audit **out, gbx_error *error)
{
    service_audit *a = calloc(1, sizeof *a);
    if (!a) return service_fail(error, GBX_ERR_NOMEM, "out of memory");
    a->backend = backend_of(location);
    gbx_status status = a->backend->open(location, &a->handle, error);
    if (status != GBX_OK) {
        free(a);
        return status;
    }
    pthread_mutex_init(&a->lock, NULL);
    pthread_cond_init(&a->committed, NULL);
    *out = a;
    return GBX_OK;
}

void service_audit_close(service_audit *audit)
{
    if (!audit) return;
    audit->backend->close(audit->handle);
    pthread_cond_destroy(&audit->committed);
    pthread_mutex_destroy(&audit->lock);
    free(audit);
}

/* A value for the record: JSON already written (the rows, the answer) as it is, anything else
 * (an input's SHA-256, kept in its place) as a JSON string. */
static char *json_value(const char *text, const char *fallback)
{
    if (!text) return strdup(fallback);
    if (text[0] == '[' || text[0] == '{') return strdup(text);
    json_object *string = json_object_new_string(text);
    char *quoted = strdup(json_object_to_json_string_ext(string, JSON_C_TO_STRING_PLAIN));
    json_object_put(string);
    return quoted;
}

/* The record as the chain stores it: JSON with its keys in one order, the answer's bytes as
 * they were sent. */
static char *record_content(const service_record *r, const char *when)
{
    json_object *o = json_object_new_object();
    const char *keys[] = {"request_id", "time", "caller", "role", "route", "model", "version",
                          "method"};
    const char *values[] = {r->request_id, when, r->caller, r->role, r->route, r->model,
                            r->version, r->method};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
        json_object_object_add(o, keys[k], json_object_new_string(values[k] ? values[k] : ""));
    const char *head = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    char *options = json_value(r->options, "{}"), *input = json_value(r->input, "null");
    char *output = json_value(r->output, "null"), *content = NULL;
    if (options && input && output) {
        size_t size = strlen(head) + strlen(options) + strlen(input) + strlen(output) + 40;
        if ((content = malloc(size)) != NULL)
            snprintf(content, size, "%.*s,\"options\":%s,\"input\":%s,\"output\":%s}",
                     (int)(strlen(head) - 1), head, options, input, output);
    }
    free(options);
    free(input);
    free(output);
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

/* Writes the queued batch (the lock released meanwhile) and wakes its records' requests. */
static void write_queued(service_audit *audit)
{
    size_t count = 0;
    for (pending *p = audit->head; p; p = p->next) count++;
    pending *batch = audit->head;
    audit->head = audit->tail = NULL;
    audit->writing = 1;
    pthread_mutex_unlock(&audit->lock);
    audit_row *rows = malloc(count * sizeof *rows);
    gbx_error failure = {0};
    gbx_status status = rows ? GBX_OK : service_fail(&failure, GBX_ERR_NOMEM, "out of memory");
    size_t i = 0;
    for (pending *p = batch; rows && p; p = p->next) rows[i++] = p->row;
    if (status == GBX_OK) status = audit->backend->append(audit->handle, rows, count, &failure);
    free(rows);
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

gbx_status service_audit_append(service_audit *audit, const service_record *record,
                                gbx_error *error)
{
    char when[40];
    now_utc(when, sizeof when);
    char *content = record_content(record, when);
    if (!content) return service_fail(error, GBX_ERR_NOMEM, "out of memory");
    pending mine = {.row = {.request_id = record->request_id, .when = when,
                            .model = record->model ? record->model : "", .content = content}};
    pthread_mutex_lock(&audit->lock);
    if (audit->tail) audit->tail->next = &mine;
    else audit->head = &mine;
    audit->tail = &mine;
    while (!mine.done) {
        if (audit->writing) pthread_cond_wait(&audit->committed, &audit->lock);
        else write_queued(audit); /* this request writes the batch, its own record among them */
    }
    pthread_mutex_unlock(&audit->lock);
    free(content);
    if (mine.error.status != GBX_OK && error) *error = mine.error;
    return mine.error.status;
}

int service_audit_ready(service_audit *audit)
{
    pthread_mutex_lock(&audit->lock);
    /* A commit under way holds the connection; it will say for itself how it went. */
    int ready = audit->writing || audit->backend->ready(audit->handle);
    pthread_mutex_unlock(&audit->lock);
    return ready;
}

/* ---- reading ----------------------------------------------------------------------------- */

typedef struct {
    char expected[65];
    long long broken;
    size_t rows;
    gbx_status status;
    gbx_error *error;
} verification;

static int verify_row(void *context, long long seq, const char *content, const char *previous,
                      const char *hash)
{
    verification *v = context;
    char computed[65];
    v->rows++;
    if (!content || !previous || !hash || strcmp(previous, v->expected) != 0 ||
        (v->status = audit_link(previous, content, computed, v->error)) != GBX_OK ||
        strcmp(computed, hash) != 0) {
        if (v->status == GBX_OK) v->broken = seq;
        return 0;
    }
    memcpy(v->expected, hash, sizeof v->expected);
    return 1;
}

gbx_status service_audit_verify(const char *location, long long *broken, size_t *rows,
                                gbx_error *error)
{
    verification v = {AUDIT_GENESIS, 0, 0, GBX_OK, error};
    gbx_status status = backend_of(location)->walk(location, verify_row, &v, error);
    *broken = v.broken;
    *rows = v.rows;
    return status != GBX_OK ? status : v.status;
}

static int collect(void *context, long long seq, const char *content, const char *previous,
                   const char *hash)
{
    (void)seq, (void)previous, (void)hash;
    json_object *record = json_tokener_parse(content);
    if (record) json_object_array_add(context, record);
    return 1;
}

gbx_status service_audit_show(const char *location, const char *request_id, char **json,
                              gbx_error *error)
{
    audit_filter filter = {.request_id = request_id, .limit = -1};
    json_object *records = json_object_new_array();
    gbx_status status = backend_of(location)->select(location, &filter, collect, records, error);
    *json = status == GBX_OK && json_object_array_length(records)
                ? strdup(json_object_to_json_string_ext(records, JSON_C_TO_STRING_PRETTY)) : NULL;
    json_object_put(records);
    return status;
}

gbx_status service_audit_query(const char *location, const char *from, const char *to,
                               const char *model, long limit, json_object **records,
                               gbx_error *error)
{
    audit_filter filter = {NULL, from && *from ? from : NULL, to && *to ? to : NULL,
                           model && *model ? model : NULL, limit};
    *records = json_object_new_array();
    return backend_of(location)->select(location, &filter, collect, *records, error);
}
