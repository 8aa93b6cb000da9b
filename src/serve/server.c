/* The HTTP server: libmicrohttpd, a thread per connection up to the config's limit (handlers
 * wait for jobs and audit commits, which must not hold up other connections), loopback unless
 * the config says otherwise. Routes are rows of one table; a request's body is gathered up to the config's
 * limit, its caller found from the bearer token (stored hashed), and every prediction and
 * explanation is appended to the audit store before its answer is sent. */
#include "service.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

typedef struct {
    const service_config *config;
    service_registry *registry;
    service_audit *audit;
    service_metrics *metrics;
    service_jobs *jobs;
    service_cache *cache;
} service;

/* A request being read: its body so far, and whether it outgrew the limit. */
typedef struct {
    char *body;
    size_t length, capacity;
    int too_large;
    struct timespec started;
} request;

/* What one request is about, for its handler. */
typedef struct {
    service *s;
    struct MHD_Connection *connection;
    const char *caller;
    gbx_audience role;
    service_model *model;       /* for the model routes: the version held for this request */
    const char *name;           /* the name in the URL (a model's, or a kept explanation's) */
    size_t name_length;
    const char *route;          /* the URL */
    const char *route_name;     /* the route's name in the table */
    json_object *body;          /* POST: the parsed body */
    char subject[160];          /* an explanation route's id */
    unsigned status;            /* the answer's HTTP status, once sent */
} call;

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) * 1e-9;
}

/* ---- answers ---------------------------------------------------------------------------------- */

static enum MHD_Result send_json(call *c, unsigned status, json_object *o)
{
    struct MHD_Connection *connection = c->connection;
    c->status = status;
    const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    struct MHD_Response *response =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result result = MHD_NO;
    if (response) {
        MHD_add_response_header(response, "Content-Type", "application/json");
        if (status == MHD_HTTP_UNAUTHORIZED)
            MHD_add_response_header(response, "WWW-Authenticate", "Bearer");
        result = MHD_queue_response(connection, status, response);
        MHD_destroy_response(response);
    }
    json_object_put(o);
    return result;
}

static enum MHD_Result send_error(call *c, unsigned status, const char *message)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "error", json_object_new_string(message));
    return send_json(c, status, o);
}

/* JSON already written: sent as it is. */
static enum MHD_Result send_text(call *c, unsigned status, const char *text)
{
    struct MHD_Response *response =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    if (!response) return MHD_NO;
    MHD_add_response_header(response, "Content-Type", "application/json");
    c->status = status;
    enum MHD_Result result = MHD_queue_response(c->connection, status, response);
    MHD_destroy_response(response);
    return result;
}

/* The HTTP status of a library failure: the request's fault, or ours. */
static unsigned status_of(gbx_status status)
{
    return status == GBX_ERR_PARSE || status == GBX_ERR_MISMATCH || status == GBX_ERR_USAGE ||
                   status == GBX_ERR_UNSUPPORTED
               ? MHD_HTTP_BAD_REQUEST : MHD_HTTP_INTERNAL_SERVER_ERROR;
}

/* ---- callers ------------------------------------------------------------------------------- */

/* The caller of a bearer token, or -1 (no token or an unknown one). Without tokens in the
 * config every caller is an anonymous applicant: the least any role may see. */
static int find_caller(const service *s, struct MHD_Connection *connection, call *c)
{
    if (!s->config->token_count) {
        c->caller = "anonymous";
        c->role = GBX_AUDIENCE_APPLICANT;
        return 0;
    }
    const char *header = MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_AUTHORIZATION);
    if (!header || strncmp(header, "Bearer ", 7) != 0) return -1;
    char hash[65];
    gbx_sha256_hex(header + 7, strlen(header + 7), hash);
    for (size_t t = 0; t < s->config->token_count; t++)
        if (memcmp(hash, s->config->tokens[t].sha256, 64) == 0) {
            c->caller = s->config->tokens[t].name;
            c->role = s->config->tokens[t].role;
            return 0;
        }
    return -1;
}

/* The request's id: its own "id" (printable, at most 128 characters), or 32 fresh hex digits. */
static int request_id(json_object *body, char *out, size_t size)
{
    json_object *given;
    if (body && json_object_object_get_ex(body, "id", &given)) {
        const char *text = json_object_get_string(given);
        size_t length = text ? strlen(text) : 0;
        if (!json_object_is_type(given, json_type_string) || !length || length > 128) return -1;
        for (size_t i = 0; i < length; i++)
            if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f) return -1;
        snprintf(out, size, "%s", text);
        return 0;
    }
    unsigned char bytes[16];
    if (getrandom(bytes, sizeof bytes, 0) != (ssize_t)sizeof bytes) return -1;
    for (size_t i = 0; i < sizeof bytes; i++) snprintf(out + 2 * i, 3, "%02x", bytes[i]);
    return 0;
}

/* ---- model routes -------------------------------------------------------------------------- */

static json_object *model_summary(service_registry *r, const service_model *m)
{
    json_object *o = json_object_new_object(), *features = json_object_new_array();
    json_object_object_add(o, "name", json_object_new_string(m->config->name));
    json_object_object_add(o, "version", json_object_new_string(m->version));
    json_object_object_add(o, "versions", service_registry_versions(r, m->config->name,
                                                                    strlen(m->config->name)));
    json_object_object_add(o, "type", json_object_new_string(gbx_model_type(m->model)));
    json_object_object_add(o, "method", json_object_new_string(
        gbx_method_name(gbx_explainer_method(m->explainer))));
    for (size_t j = 0; j < m->feature_count; j++)
        json_object_array_add(features, json_object_new_string(m->feature_names[j]));
    json_object_object_add(o, "features", features);
    json_object *outputs = json_object_new_array();
    for (size_t k = 0; k < gbx_model_outputs(m->model); k++)
        json_object_array_add(outputs, json_object_new_string(gbx_model_output_name(m->model, k)));
    json_object_object_add(o, "outputs", outputs);
    return o;
}


/* Who asked what of which model: what an audit record says besides the answer. */
typedef struct {
    const char *id, *caller, *route, *method;
    const char *options; /* the explainer options the request set (JSON), or NULL */
    gbx_audience role;
    service_model *model;
} provenance;

static provenance provenance_of(const call *c, const char *id)
{
    int explaining = strcmp(c->route_name, "explain") == 0 || strcmp(c->route_name, "waterfall") == 0;
    return (provenance){id, c->caller, c->route,
                        explaining ? gbx_method_name(gbx_explainer_method(c->model->explainer)) : "",
                        NULL, c->role, c->model};
}

/* Appends the answer to the audit store, durably; timed for /metrics. */
static gbx_status audit_answer(service *s, const provenance *p, const char *instances,
                               const char *answer)
{
    char input_hash[65];
    if (!s->config->audit_inputs) {
        gbx_sha256_hex(instances, strlen(instances), input_hash);
        instances = input_hash;
    }
    service_record record = {.request_id = p->id, .caller = p->caller,
                             .role = gbx_audience_name(p->role), .route = p->route,
                             .model = p->model->config->name, .version = p->model->version,
                             .method = p->method, .input = instances, .options = p->options,
                             .output = answer};
    gbx_error error = {0};
    struct timespec started;
    clock_gettime(CLOCK_MONOTONIC, &started);
    service_metrics_audit_waiting(s->metrics, 1);
    gbx_status status = service_audit_append(s->audit, &record, &error);
    service_metrics_audit_waiting(s->metrics, -1);
    service_metrics_audit(s->metrics, seconds_since(&started), status == GBX_OK);
    return status;
}

static const char not_audited[] =
    "{\"error\":\"the answer could not be audited, so it is not given\"}";

/* What predict and explain share: the id, the pin, the rows. Returns 0 or sends the error. */
static int prepare(call *c, char *id, size_t id_size, json_object **instances, gbx_data **data,
                   enum MHD_Result *sent)
{
    gbx_error error = {0};
    if (!c->body || !json_object_is_type(c->body, json_type_object)) {
        *sent = send_error(c, MHD_HTTP_BAD_REQUEST, "the body must be a JSON object "
                           "with \"instances\"");
        return -1;
    }
    if (request_id(c->body, id, id_size) != 0) {
        *sent = send_error(c, MHD_HTTP_BAD_REQUEST, "\"id\" must be a string of 1 to "
                           "128 printable characters");
        return -1;
    }
    json_object_object_get_ex(c->body, "instances", instances);
    if (service_instances(c->model, *instances, data, &error) != GBX_OK) {
        *sent = send_error(c, status_of(error.status), error.message);
        return -1;
    }
    return 0;
}

/* The model's predictions for the rows (malloc'd, [rows][outputs]); the rows are freed. */
static gbx_status predict_rows(const service_model *m, gbx_data *data, double **out,
                               gbx_error *error)
{
    size_t n = gbx_data_rows(data), K = gbx_model_outputs(m->model);
    *out = malloc(n * K * sizeof(double));
    gbx_status status = *out ? gbx_model_predict(m->model, data, 0, *out, error)
                             : service_fail(error, GBX_ERR_NOMEM, "out of memory");
    gbx_data_free(data);
    if (status != GBX_OK) {
        free(*out);
        *out = NULL;
    }
    return status;
}


/* An Open Inference Protocol tensor's description: FP64, [-1, width]. */
static json_object *tensor_spec(const char *name, size_t width)
{
    json_object *o = json_object_new_object(), *shape = json_object_new_array();
    json_object_object_add(o, "name", json_object_new_string(name));
    json_object_object_add(o, "datatype", json_object_new_string("FP64"));
    json_object_array_add(shape, json_object_new_int(-1));
    json_object_array_add(shape, json_object_new_int64((int64_t)width));
    json_object_object_add(o, "shape", shape);
    return o;
}

/* What a job answers: an explanation, or predictions in TF Serving's or the Open Inference
 * Protocol's shape. */
typedef enum { ANSWER_EXPLAIN, ANSWER_PREDICT, ANSWER_INFER } answer_kind;

/* What a job works from; the job owns it. */
typedef struct {
    answer_kind kind;
    service *s;
    provenance who;
    char id[160], route[256]; /* copies: the job may outlive its request */
    gbx_data *data;
    char *instances; /* the request's rows, as JSON, for the audit */
    char *options;   /* the options the request set (JSON), or NULL */
    gbx_explainer *explainer; /* made with them, or NULL: the model's own */
} answer_work;

static void answer_work_free(void *context)
{
    answer_work *w = context;
    if (w->who.model) service_registry_release(w->s->registry, w->who.model);
    gbx_explainer_free(w->explainer);
    free(w->options);
    gbx_data_free(w->data);
    free(w->instances);
    free(w);
}

static char *error_text(const char *message)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "error", json_object_new_string(message));
    char *text = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    return text;
}

/* The cache's key for these rows: SHA-256 of the model version, method, options the request
 * set, role and values. */
static void cache_key(const answer_work *w, char key[65])
{
    const service_model *m = w->who.model;
    size_t values = gbx_data_rows(w->data) * gbx_data_columns(w->data) * sizeof(double);
    const char *options = w->options ? w->options : "";
    size_t head = strlen(m->version) + strlen(w->who.method) + strlen(options) + 32;
    size_t size = head + values;
    char *bytes = malloc(size);
    if (!bytes) {
        memset(key, 0, 65);
        return;
    }
    int used = snprintf(bytes, head, "%s|%s|%s|%s|", m->version, w->who.method, options,
                        gbx_audience_name(w->who.role));
    memcpy(bytes + used, gbx_data_values(w->data), values);
    gbx_sha256_hex(bytes, (size_t)used + values, key);
    free(bytes);
}

/* An explanation's answer (its body kept in the cache on the way). */
static char *explanation_answer(answer_work *w, gbx_error *error)
{
    char *body = service_answer_body(w->who.model, w->explainer ? w->explainer : w->who.model->explainer,
                                     w->data, w->who.role, error);
    if (!body) return NULL;
    char key[65];
    cache_key(w, key);
    if (*key) service_cache_put(w->s->cache, key, body);
    char *answer = service_answer_compose(w->id, w->who.model, body);
    free(body);
    return answer;
}

/* Predictions, answered as TF Serving does ("predictions": one list a row) or as the Open
 * Inference Protocol does (one output tensor, flat). */
static char *prediction_answer(answer_work *w, gbx_error *error)
{
    const service_model *m = w->who.model;
    size_t n = gbx_data_rows(w->data), K = gbx_model_outputs(m->model);
    double *predictions;
    gbx_data *data = w->data;
    w->data = NULL; /* predict_rows frees it */
    if (predict_rows(m, data, &predictions, error) != GBX_OK) return NULL;
    json_object *o = json_object_new_object();
    char *answer = NULL;
    if (w->kind == ANSWER_PREDICT) {
        json_object_object_add(o, "predictions", service_predictions_json(predictions, n, K));
        const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        char *body = strndup(text + 1, strlen(text) - 2); /* the members, without the braces */
        answer = body ? service_answer_compose(w->id, m, body) : NULL;
        free(body);
    } else {
        json_object *outputs = json_object_new_array(), *tensor = tensor_spec("output", K);
        json_object *flat = json_object_new_array();
        json_object_object_add(o, "model_name", json_object_new_string(m->config->name));
        json_object_object_add(o, "model_version", json_object_new_string(m->version));
        json_object_object_add(o, "id", json_object_new_string(w->id));
        json_object_array_put_idx(json_object_object_get(tensor, "shape"), 0,
                                  json_object_new_int64((int64_t)n));
        for (size_t j = 0; j < n * K; j++)
            json_object_array_add(flat, json_object_new_double(predictions[j]));
        json_object_object_add(tensor, "data", flat);
        json_object_array_add(outputs, tensor);
        json_object_object_add(o, "outputs", outputs);
        answer = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    }
    json_object_put(o);
    free(predictions);
    if (!answer) service_fail(error, GBX_ERR_NOMEM, "out of memory");
    return answer;
}

/* A job: the answer, then (if its caller still waits) the audit; an answer that cannot be
 * audited is not given. */
static char *answer_job(service_job *job, void *context, unsigned *status)
{
    answer_work *w = context;
    gbx_error error = {0};
    char *answer = w->kind == ANSWER_EXPLAIN ? explanation_answer(w, &error)
                                             : prediction_answer(w, &error);
    if (!answer && error.status != GBX_OK) {
        *status = status_of(error.status);
        return error_text(error.message);
    }
    if (!answer || !service_job_claim(job)) { /* its caller has gone: nothing to audit or keep */
        free(answer);
        return NULL;
    }
    if (audit_answer(w->s, &w->who, w->instances, answer) != GBX_OK) {
        free(answer);
        *status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        return strdup(not_audited);
    }
    *status = MHD_HTTP_OK;
    return answer;
}

/* A cached body: audited and answered at once, without a job. */
static enum MHD_Result answer_cached(call *c, answer_work *w, const char *body)
{
    char *answer = service_answer_compose(w->id, w->who.model, body);
    enum MHD_Result sent;
    if (!answer) sent = send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    else if (audit_answer(c->s, &w->who, w->instances, answer) != GBX_OK)
        sent = send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
                          "the answer could not be audited, so it is not given");
    else sent = send_text(c, MHD_HTTP_OK, answer);
    free(answer);
    answer_work_free(w);
    return sent;
}


/* The request's own explainer options (those the model's "overrides" allow), on a copy of
 * the model's: 0, or the error sent. */
static int with_options(call *c, answer_work *w, json_object *given, enum MHD_Result *sent)
{
    const service_model_config *config = c->model->config;
    gbx_explainer_options options = c->model->options;
    gbx_error error = {0};
    if (service_options_apply(given, config->overrides, config->override_count, &options,
                              &error) != GBX_OK ||
        gbx_explainer_create(c->model->model, &options, &w->explainer, &error) != GBX_OK) {
        *sent = send_error(c, status_of(error.status), error.message);
        return -1;
    }
    w->options = strdup(json_object_to_json_string_ext(given, JSON_C_TO_STRING_PLAIN));
    w->who.options = w->options;
    return 0;
}

/* Runs a request's job: waited for up to the model's deadline (504 past it), or, kept, answered
 * at once (202) to be fetched from /v1/explanations/ID. Takes the work. */
static enum MHD_Result run_answer(call *c, answer_work *w, int kept)
{
    service_job *job;
    gbx_error error = {0};
    if (!w->instances ||
        service_job_start(c->s->jobs, w->id, c->caller, kept, answer_job, w, answer_work_free,
                          &job, &error) != GBX_OK) {
        answer_work_free(w);
        return send_error(c, error.status == GBX_ERR_UNSUPPORTED ? MHD_HTTP_SERVICE_UNAVAILABLE
                             : error.status == GBX_ERR_USAGE ? MHD_HTTP_CONFLICT
                             : MHD_HTTP_INTERNAL_SERVER_ERROR, error.message);
    }
    if (kept) {
        json_object *o = json_object_new_object();
        char where[200];
        snprintf(where, sizeof where, "/v1/explanations/%s", w->id);
        json_object_object_add(o, "id", json_object_new_string(w->id));
        json_object_object_add(o, "status", json_object_new_string("running"));
        json_object_object_add(o, "result", json_object_new_string(where));
        service_job_leave(job);
        return send_json(c, MHD_HTTP_ACCEPTED, o);
    }
    unsigned status;
    char *answer = NULL;
    double deadline = c->model->config->deadline;
    if (!service_job_wait(job, deadline, &status, &answer)) {
        char message[160];
        snprintf(message, sizeof message, "the answer did not come within its deadline of %g s",
                 deadline);
        return send_error(c, MHD_HTTP_GATEWAY_TIMEOUT, message);
    }
    enum MHD_Result sent = answer ? send_text(c, status, answer)
                                  : send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    free(answer);
    return sent;
}

/* A request's work: its rows, who asked, the model held for the job. Takes the data. */
static answer_work *new_work(call *c, answer_kind kind, const char *id, gbx_data *data,
                             json_object *instances)
{
    answer_work *w = calloc(1, sizeof *w);
    if (!w) {
        gbx_data_free(data);
        return NULL;
    }
    w->kind = kind;
    w->s = c->s;
    snprintf(w->id, sizeof w->id, "%s", id);
    w->data = data;
    w->who = provenance_of(c, w->id);
    service_registry_hold(c->s->registry, c->model); /* the job may outlive the request */
    snprintf(w->route, sizeof w->route, "%s", c->route);
    w->who.route = w->route;
    w->instances = strdup(json_object_to_json_string_ext(instances, JSON_C_TO_STRING_PLAIN));
    return w;
}

static enum MHD_Result handle_predict(call *c)
{
    char id[160];
    json_object *instances = NULL;
    gbx_data *data = NULL;
    enum MHD_Result sent = MHD_NO;
    if (prepare(c, id, sizeof id, &instances, &data, &sent) != 0) return sent;
    answer_work *w = new_work(c, ANSWER_PREDICT, id, data, instances);
    return w ? run_answer(c, w, 0) : send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
}

/* An explanation: on a job of its own, waited for up to the model's deadline (504 past it),
 * or with "async": true answered at once (202) and fetched from /v1/explanations/ID. */
static enum MHD_Result handle_explain(call *c)
{
    char id[160];
    json_object *instances = NULL, *async = NULL;
    gbx_data *data = NULL;
    enum MHD_Result sent = MHD_NO;
    if (prepare(c, id, sizeof id, &instances, &data, &sent) != 0) return sent;
    answer_work *w = new_work(c, ANSWER_EXPLAIN, id, data, instances);
    if (!w) return send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    json_object *given = NULL;
    if (json_object_object_get_ex(c->body, "options", &given) &&
        with_options(c, w, given, &sent) != 0) {
        answer_work_free(w);
        return sent;
    }
    int kept = json_object_object_get_ex(c->body, "async", &async) && json_object_get_boolean(async);
    char key[65], *cached = NULL;
    if (!kept && w->instances) {
        cache_key(w, key);
        cached = *key ? service_cache_get(c->s->cache, key) : NULL;
        service_metrics_cache(c->s->metrics, cached != NULL);
    }
    if (cached) {
        enum MHD_Result result = answer_cached(c, w, cached);
        free(cached);
        return result;
    }
    return run_answer(c, w, kept);
}

/* An asynchronous explanation: 202 while it runs, then its answer; its caller's alone (or an
 * auditor's). */
static enum MHD_Result handle_explanation(call *c)
{
    unsigned status;
    char *answer = NULL;
    int state = service_job_find(c->s->jobs, c->subject, c->caller,
                                 c->role == GBX_AUDIENCE_AUDITOR, &status, &answer);
    if (state == SERVICE_JOB_UNKNOWN)
        return send_error(c, MHD_HTTP_NOT_FOUND, "no explanation is kept under this id (unknown, "
                          "or its result has expired)");
    if (state == SERVICE_JOB_FORBIDDEN)
        return send_error(c, MHD_HTTP_FORBIDDEN, "this explanation was asked for by another caller");
    if (state == SERVICE_JOB_RUNNING) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "id", json_object_new_string(c->subject));
        json_object_object_add(o, "status", json_object_new_string("running"));
        return send_json(c, MHD_HTTP_ACCEPTED, o);
    }
    enum MHD_Result sent = answer ? send_text(c, status, answer)
                                  : send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    free(answer);
    return sent;
}

static enum MHD_Result handle_model(call *c)
{
    return send_json(c, MHD_HTTP_OK, model_summary(c->s->registry, c->model));
}

static enum MHD_Result handle_models(call *c)
{
    json_object *o = json_object_new_object(), *list = json_object_new_array();
    service_registry *r = c->s->registry;
    for (size_t i = 0; i < service_registry_names(r); i++) {
        service_model *m;
        const char *name = service_registry_name(r, i);
        if (service_registry_acquire(r, name, strlen(name), NULL, &m) != SERVICE_MODEL_FOUND) continue;
        json_object_array_add(list, model_summary(r, m));
        service_registry_release(r, m);
    }
    json_object_object_add(o, "models", list);
    return send_json(c, MHD_HTTP_OK, o);
}

/* ---- Open Inference Protocol (v2) ---------------------------------------------------------- */


static enum MHD_Result handle_v2_model(call *c)
{
    json_object *o = json_object_new_object(), *versions = json_object_new_array();
    json_object *inputs = json_object_new_array(), *outputs = json_object_new_array();
    json_object_object_add(o, "name", json_object_new_string(c->model->config->name));
    json_object_put(versions);
    json_object_object_add(o, "versions", service_registry_versions(
        c->s->registry, c->model->config->name, strlen(c->model->config->name)));
    char platform[64];
    snprintf(platform, sizeof platform, "glassbox_%s", gbx_model_type(c->model->model));
    json_object_object_add(o, "platform", json_object_new_string(platform));
    json_object_array_add(inputs, tensor_spec("input", c->model->feature_count));
    json_object_array_add(outputs, tensor_spec("output", gbx_model_outputs(c->model->model)));
    json_object_object_add(o, "inputs", inputs);
    json_object_object_add(o, "outputs", outputs);
    return send_json(c, MHD_HTTP_OK, o);
}

/* The one input tensor of an infer request as instances (rows of the model's width): "data"
 * flat in row-major order or as a list of rows, "shape" [n, M]. */
static json_object *infer_instances(const call *c, char *problem, size_t size)
{
    json_object *inputs, *tensor, *shape, *data;
    if (!json_object_object_get_ex(c->body, "inputs", &inputs) ||
        !json_object_is_type(inputs, json_type_array) || json_object_array_length(inputs) != 1) {
        snprintf(problem, size, "\"inputs\" must hold one tensor");
        return NULL;
    }
    tensor = json_object_array_get_idx(inputs, 0);
    size_t M = c->model->feature_count;
    if (!json_object_object_get_ex(tensor, "shape", &shape) ||
        !json_object_object_get_ex(tensor, "data", &data) ||
        !json_object_is_type(shape, json_type_array) || json_object_array_length(shape) != 2 ||
        !json_object_is_type(data, json_type_array) ||
        json_object_get_int64(json_object_array_get_idx(shape, 1)) != (int64_t)M) {
        snprintf(problem, size, "the input tensor needs \"shape\" [rows, %zu] and \"data\"", M);
        return NULL;
    }
    int64_t n = json_object_get_int64(json_object_array_get_idx(shape, 0));
    size_t length = json_object_array_length(data);
    int nested = length && json_object_is_type(json_object_array_get_idx(data, 0), json_type_array);
    if (n < 1 || (nested ? length != (size_t)n : length != (size_t)n * M)) {
        snprintf(problem, size, "the input tensor's data does not fill its shape [%lld, %zu]",
                 (long long)n, M);
        return NULL;
    }
    if (nested) return json_object_get(data);
    json_object *rows = json_object_new_array();
    for (int64_t r = 0; r < n; r++) {
        json_object *row = json_object_new_array();
        for (size_t j = 0; j < M; j++)
            json_object_array_add(row, json_object_get(json_object_array_get_idx(data, (size_t)r * M + j)));
        json_object_array_add(rows, row);
    }
    return rows;
}

static enum MHD_Result handle_v2_infer(call *c)
{
    char problem[160], id[160];
    if (!json_object_is_type(c->body, json_type_object))
        return send_error(c, MHD_HTTP_BAD_REQUEST, "the body must be a JSON object with \"inputs\"");
    json_object *instances = infer_instances(c, problem, sizeof problem);
    if (!instances) return send_error(c, MHD_HTTP_BAD_REQUEST, problem);
    gbx_data *data = NULL;
    gbx_error error = {0};
    enum MHD_Result sent;
    if (request_id(c->body, id, sizeof id) != 0)
        sent = send_error(c, MHD_HTTP_BAD_REQUEST, "\"id\" must be a string of 1 to 128 "
                          "printable characters");
    else if (service_instances(c->model, instances, &data, &error) != GBX_OK)
        sent = send_error(c, status_of(error.status), error.message);
    else {
        answer_work *w = new_work(c, ANSWER_INFER, id, data, instances);
        sent = w ? run_answer(c, w, 0) : send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    }
    json_object_put(instances);
    return sent;
}

static enum MHD_Result handle_metrics(call *c)
{
    char *text = service_metrics_text(c->s->metrics);
    if (!text) return send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    struct MHD_Response *response =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!response) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(response, "Content-Type", "text/plain; version=0.0.4");
    c->status = MHD_HTTP_OK;
    enum MHD_Result result = MHD_queue_response(c->connection, MHD_HTTP_OK, response);
    MHD_destroy_response(response);
    return result;
}

/* The officer's page. */
static enum MHD_Result handle_page(call *c)
{
    const char *page = service_page();
    struct MHD_Response *response =
        MHD_create_response_from_buffer(strlen(page), (void *)page, MHD_RESPMEM_PERSISTENT);
    if (!response) return MHD_NO;
    MHD_add_response_header(response, "Content-Type", "text/html; charset=utf-8");
    MHD_add_response_header(response, "Content-Security-Policy",
                            "default-src 'self'; img-src 'self' data:; script-src 'unsafe-inline' 'self'; "
                            "style-src 'unsafe-inline' 'self'");
    c->status = MHD_HTTP_OK;
    enum MHD_Result result = MHD_queue_response(c->connection, MHD_HTTP_OK, response);
    MHD_destroy_response(response);
    return result;
}

/* One row's waterfall, drawn by the server (SVG) from the explanation as the caller's role may
 * see it; audited as an explanation, with the drawing's SHA-256 as its output. */
static enum MHD_Result handle_waterfall(call *c)
{
    char id[160];
    json_object *instances = NULL;
    gbx_data *data = NULL;
    enum MHD_Result sent = MHD_NO;
    if (prepare(c, id, sizeof id, &instances, &data, &sent) != 0) return sent;
    gbx_explanation *explanation = NULL;
    gbx_error error = {0};
    char *svg = NULL;
    size_t size = 0;
    gbx_status status = gbx_data_rows(data) == 1
        ? gbx_explainer_explain(c->model->explainer, data, &explanation, &error)
        : service_fail(&error, GBX_ERR_USAGE, "a waterfall draws one instance");
    gbx_plot_options options;
    gbx_plot_options_init(&options);
    options.kind = "waterfall";
    options.features = c->model->features;
    options.audience = c->role;
    if (status == GBX_OK) status = gbx_plot_render(explanation, &options, "svg", &svg, &size, &error);
    gbx_explanation_free(explanation);
    gbx_data_free(data);
    if (status != GBX_OK) return send_error(c, status_of(status), error.message);
    char digest[65], output[128];
    gbx_sha256_hex(svg, size, digest);
    snprintf(output, sizeof output, "{\"plot\":\"waterfall\",\"svg_sha256\":\"%s\"}", digest);
    provenance p = provenance_of(c, id);
    if (audit_answer(c->s, &p, json_object_to_json_string_ext(instances, JSON_C_TO_STRING_PLAIN),
                     output) != GBX_OK) {
        gbx_free(svg);
        return send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
                          "the answer could not be audited, so it is not given");
    }
    struct MHD_Response *response = MHD_create_response_from_buffer(size, svg, MHD_RESPMEM_MUST_COPY);
    gbx_free(svg);
    if (!response) return MHD_NO;
    MHD_add_response_header(response, "Content-Type", "image/svg+xml");
    c->status = MHD_HTTP_OK;
    enum MHD_Result result = MHD_queue_response(c->connection, MHD_HTTP_OK, response);
    MHD_destroy_response(response);
    return result;
}

/* The audit store's records for auditors: ?from=&to= (ISO 8601 times) &model= &limit= (at
 * most 1000, default 100). */
static enum MHD_Result handle_audit(call *c)
{
    if (c->role != GBX_AUDIENCE_AUDITOR)
        return send_error(c, MHD_HTTP_FORBIDDEN, "the audit store is for the auditor role");
    const char *argument[4];
    static const char *const names[4] = {"from", "to", "model", "limit"};
    for (int i = 0; i < 4; i++)
        argument[i] = MHD_lookup_connection_value(c->connection, MHD_GET_ARGUMENT_KIND, names[i]);
    char *end = NULL;
    long limit = argument[3] ? strtol(argument[3], &end, 10) : 100;
    if ((argument[3] && (!*argument[3] || *end)) || limit < 1 || limit > 1000)
        return send_error(c, MHD_HTTP_BAD_REQUEST, "limit must be 1 to 1000");
    json_object *records = NULL;
    gbx_error error = {0};
    if (service_audit_query(c->s->config->audit_store, argument[0], argument[1], argument[2],
                            limit, &records, &error) != GBX_OK) {
        json_object_put(records);
        return send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, error.message);
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "records", records);
    return send_json(c, MHD_HTTP_OK, o);
}

/* Loads every model's file again (an auditor's call, as SIGHUP is the operator's): requests in
 * flight finish on the versions they hold. */
static enum MHD_Result handle_reload(call *c)
{
    if (c->role != GBX_AUDIENCE_AUDITOR)
        return send_error(c, MHD_HTTP_FORBIDDEN, "reloading models is for the auditor role");
    size_t changed = 0;
    gbx_error error = {0};
    if (service_registry_reload(c->s->registry, &changed, &error) != GBX_OK)
        return send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, error.message);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "new_versions", json_object_new_int64((int64_t)changed));
    return send_json(c, MHD_HTTP_OK, o);
}

static enum MHD_Result handle_health(call *c)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "status", json_object_new_string("ok"));
    return send_json(c, MHD_HTTP_OK, o);
}

/* Ready while answers can be audited: a load balancer sends nothing to an instance whose
 * audit store is out of reach, as it could answer nothing. */
static enum MHD_Result handle_ready(call *c)
{
    if (!service_audit_ready(c->s->audit))
        return send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "the audit store cannot be reached");
    return handle_health(c);
}

/* ---- routing ------------------------------------------------------------------------------- */

/* The body as one JSON value (nothing after it), or NULL. */
static json_object *parse_body(const request *q)
{
    json_tokener *tokener = json_tokener_new();
    json_object *body = tokener ? json_tokener_parse_ex(tokener, q->body ? q->body : "",
                                                        (int)q->length) : NULL;
    int complete = tokener && json_tokener_get_error(tokener) == json_tokener_success &&
                   json_tokener_get_parse_end(tokener) == q->length;
    if (tokener) json_tokener_free(tokener);
    if (!complete) {
        json_object_put(body);
        return NULL;
    }
    return body;
}

/* A route: the method, and the path: `path` whole, or `path` (a prefix), a name (no '/' or
 * ':'), then `suffix`, the name a model's or a kept explanation's id; whether it needs a
 * caller; its handler. */
enum { WHOLE, MODEL, EXPLANATION };
typedef struct {
    const char *name; /* as /metrics labels it */
    const char *method, *path, *suffix;
    int model, authenticated;
    enum MHD_Result (*handle)(call *c);
} route;

static const route routes[] = {
    {"page", "GET", "/", NULL, WHOLE, 0, handle_page},
    {"healthz", "GET", "/healthz", NULL, WHOLE, 0, handle_health},
    {"readyz", "GET", "/readyz", NULL, WHOLE, 0, handle_ready},
    {"metrics", "GET", "/metrics", NULL, WHOLE, 0, handle_metrics},
    {"models", "GET", "/v1/models", NULL, WHOLE, 1, handle_models},
    {"model", "GET", "/v1/models/", "", MODEL, 1, handle_model},
    {"predict", "POST", "/v1/models/", ":predict", MODEL, 1, handle_predict},
    {"explain", "POST", "/v1/models/", ":explain", MODEL, 1, handle_explain},
    {"waterfall", "POST", "/v1/models/", ":waterfall", MODEL, 1, handle_waterfall},
    {"v2_model", "GET", "/v2/models/", "", MODEL, 1, handle_v2_model},
    {"v2_infer", "POST", "/v2/models/", "/infer", MODEL, 1, handle_v2_infer},
    {"explanation", "GET", "/v1/explanations/", "", EXPLANATION, 1, handle_explanation},
    {"reload", "POST", "/v1/admin/reload", NULL, WHOLE, 1, handle_reload},
    {"audit", "GET", "/v1/audit", NULL, WHOLE, 1, handle_audit},
};

/* Whether url is the route's path (for a model's route, its name's place and length). */
static int matches(const route *r, const char *url, const char **name, size_t *length)
{
    if (r->model == WHOLE) return strcmp(url, r->path) == 0;
    size_t prefix = strlen(r->path), suffix = strlen(r->suffix), total = strlen(url);
    if (strncmp(url, r->path, prefix) != 0 || total < prefix + suffix + 1 ||
        strcmp(url + total - suffix, r->suffix) != 0)
        return 0;
    *name = url + prefix;
    *length = total - prefix - suffix;
    for (size_t i = 0; i < *length; i++)
        if ((*name)[i] == '/' || (*name)[i] == ':') return 0;
    return 1;
}

/* The route of a URL (its model too), or NULL; *known says whether the path exists under
 * another method. */
static const route *find_route(const char *method, const char *url,
                               call *c, int *known)
{
    *known = 0;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        const char *name = NULL;
        size_t length = 0;
        if (!matches(&routes[i], url, &name, &length)) continue;
        c->name = name;
        c->name_length = length;
        if (routes[i].model == EXPLANATION)
            snprintf(c->subject, sizeof c->subject, "%.*s", (int)length, name);
        *known = 1;
        if (strcmp(method, routes[i].method) == 0) return &routes[i];
    }
    return NULL;
}

/* The model a route names, at the version the body pins (the newest without a pin), held for
 * the request: 0, or the error sent (404 no such model; 409 a version not loaded, naming those
 * that are). */
static int hold_model(call *c, enum MHD_Result *sent)
{
    json_object *pin = NULL;
    const char *version = NULL;
    if (c->body && json_object_is_type(c->body, json_type_object) &&
        json_object_object_get_ex(c->body, "model_version", &pin))
        version = json_object_is_type(pin, json_type_string) ? json_object_get_string(pin) : "";
    int found = service_registry_acquire(c->s->registry, c->name, c->name_length, version, &c->model);
    if (found == SERVICE_NO_MODEL) {
        *sent = send_error(c, MHD_HTTP_NOT_FOUND, "no such model");
        return -1;
    }
    if (found == SERVICE_NO_VERSION) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "error", json_object_new_string(
            "the pinned model_version is not loaded"));
        json_object_object_add(o, "loaded_versions", service_registry_versions(
            c->s->registry, c->name, c->name_length));
        *sent = send_json(c, MHD_HTTP_CONFLICT, o);
        return -1;
    }
    return 0;
}

static enum MHD_Result dispatch(service *s, struct MHD_Connection *connection, const char *url,
                                const char *method, request *q)
{
    call c = {.s = s, .connection = connection, .route = url};
    int known;
    const route *r = find_route(method, url, &c, &known);
    c.route_name = r ? r->name : "unknown";
    enum MHD_Result result;
    if (!r)
        result = send_error(&c, known ? MHD_HTTP_METHOD_NOT_ALLOWED : MHD_HTTP_NOT_FOUND,
                            known ? "method not allowed here" : "no such route");
    else if (r->authenticated && find_caller(s, connection, &c) != 0)
        result = send_error(&c, MHD_HTTP_UNAUTHORIZED, "a valid bearer token is required");
    else if (q->too_large)
        result = send_error(&c, MHD_HTTP_CONTENT_TOO_LARGE, "the body is too large");
    else if (strcmp(method, "POST") == 0 && !(c.body = parse_body(q)))
        result = send_error(&c, MHD_HTTP_BAD_REQUEST, "the body is not one JSON value");
    else if (r->model == MODEL && hold_model(&c, &result) != 0)
        ; /* answered: no such model, or a version pinned that is not loaded */
    else
        result = r->handle(&c);
    json_object_put(c.body);
    service_registry_release(s->registry, c.model);
    /* Labelled by configured names only: a URL's text never reaches /metrics. */
    const char *label = r && r->model == MODEL
                            ? service_registry_known(s->registry, c.name, c.name_length) : NULL;
    service_metrics_observe(s->metrics, c.route_name, label ? label : "", c.status,
                            seconds_since(&q->started));
    return result;
}

static enum MHD_Result on_request(void *context, struct MHD_Connection *connection,
                                  const char *url, const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **state)
{
    (void)version;
    service *s = context;
    request *q = *state;
    if (!q) { /* the headers: make room for the body */
        if (!(q = calloc(1, sizeof *q))) return MHD_NO;
        clock_gettime(CLOCK_MONOTONIC, &q->started);
        *state = q;
        return MHD_YES;
    }
    if (*upload_size) { /* a piece of the body */
        if (q->length + *upload_size > s->config->body_limit) {
            q->too_large = 1;
        } else {
            if (q->length + *upload_size + 1 > q->capacity) {
                size_t capacity = 2 * (q->length + *upload_size) + 1;
                char *more = realloc(q->body, capacity);
                if (!more) return MHD_NO;
                q->body = more;
                q->capacity = capacity;
            }
            memcpy(q->body + q->length, upload, *upload_size);
            q->length += *upload_size;
            q->body[q->length] = '\0';
        }
        *upload_size = 0;
        return MHD_YES;
    }
    return dispatch(s, connection, url, method, q);
}

static void on_completed(void *context, struct MHD_Connection *connection, void **state,
                         enum MHD_RequestTerminationCode code)
{
    (void)context, (void)connection, (void)code;
    request *q = *state;
    if (q) free(q->body);
    free(q);
    *state = NULL;
}

/* ---- running -------------------------------------------------------------------------------- */

static struct MHD_Daemon *start(service *s, gbx_error *error)
{
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(s->config->port)};
    if (inet_pton(AF_INET, s->config->host, &address.sin_addr) != 1) {
        service_fail(error, GBX_ERR_USAGE, "listen: \"%s\" is not an IPv4 address", s->config->host);
        return NULL;
    }
    struct MHD_Daemon *daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL, 0, NULL,
        NULL, on_request, s,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&address,
        MHD_OPTION_CONNECTION_LIMIT, s->config->connections,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_END);
    if (!daemon)
        service_fail(error, GBX_ERR_IO, "cannot listen on %s:%u: %s", s->config->host,
                     (unsigned)s->config->port, strerror(errno));
    return daemon;
}

struct service_server {
    service s;
    struct MHD_Daemon *daemon;
    unsigned port;
};

void service_stop(service_server *server)
{
    if (!server) return;
    if (server->daemon) {
        MHD_quiesce_daemon(server->daemon); /* stop accepting; answer what is in flight */
        MHD_stop_daemon(server->daemon);
    }
    service *s = &server->s;
    service_jobs_free(s->jobs); /* first: running jobs audit and cache */
    service_cache_free(s->cache);
    service_metrics_free(s->metrics);
    service_audit_close(s->audit);
    service_registry_close(s->registry);
    free(server);
}

gbx_status service_start(const service_config *config, service_server **out, gbx_error *error)
{
    service_server *server = calloc(1, sizeof *server);
    if (!server) return service_fail(error, GBX_ERR_NOMEM, "out of memory");
    service *s = &server->s;
    s->config = config;
    gbx_status status = service_registry_open(config, config->keep_versions, &s->registry, error);
    if (status == GBX_OK) status = service_audit_open(config->audit_store, &s->audit, error);
    if (status == GBX_OK && !(s->metrics = service_metrics_new()))
        status = service_fail(error, GBX_ERR_NOMEM, "out of memory");
    if (status == GBX_OK && !(s->jobs = service_jobs_new(config->jobs, config->keep_results)))
        status = service_fail(error, GBX_ERR_NOMEM, "out of memory");
    if (status == GBX_OK && !(s->cache = service_cache_new(config->cache_bytes)))
        status = service_fail(error, GBX_ERR_NOMEM, "out of memory");
    if (status == GBX_OK && !(server->daemon = start(s, error)))
        status = error ? error->status : GBX_ERR_IO;
    if (status != GBX_OK) {
        service_stop(server);
        return status;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(server->daemon, MHD_DAEMON_INFO_BIND_PORT);
    server->port = info ? (unsigned)info->port : (unsigned)config->port;
    *out = server;
    return GBX_OK;
}

unsigned service_port(const service_server *server) { return server->port; }

gbx_status service_run(const service_config *config, gbx_error *error)
{
    /* Signals wait here, in this thread; the workers (started after) never see them. */
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &signals, NULL);
    service_server *server;
    gbx_status status = service_start(config, &server, error);
    if (status != GBX_OK) return status;
    fprintf(stderr, "glassbox serve: listening on %s:%u\n", config->host, server->port);
    int signal_number;
    while (sigwait(&signals, &signal_number) == 0 && signal_number == SIGHUP) {
        size_t changed = 0;
        gbx_error reload_error = {0};
        if (service_registry_reload(server->s.registry, &changed, &reload_error) != GBX_OK)
            fprintf(stderr, "glassbox serve: reload: %s\n", reload_error.message);
        else
            fprintf(stderr, "glassbox serve: reloaded: %zu new versions\n", changed);
    }
    service_stop(server);
    return GBX_OK;
}
