/* Models served over HTTP: --model http://HOST:PORT/v1/models/NAME:predict (TensorFlow Serving
 * REST) or http://HOST:PORT/v2/models/NAME/infer (Open Inference Protocol, as KServe, Triton,
 * MLServer and Seldon speak it).
 *
 * At load, the model's metadata (TF Serving: GET .../metadata; OIP: GET /v2/models/NAME) gives
 * the number of features and outputs; neither protocol carries column names, so those come from
 * the data. Rows go out in batches of at most GBX_HTTP_BATCH_ROWS, several batches at once over
 * kept-alive connections, so a served model on many cores stays busy. Connection failures and
 * 502/503/504 answers are retried with a growing pause; a request that takes longer than
 * --model-timeout, a 4xx or 500 answer and any reply that is not the expected JSON stop with a
 * message naming the URL, the status and the server's own error text. */
#include "model.h"

#include "../core/dl.h"

/* curl_easy_setopt and curl_easy_getinfo as plain functions, without curl's type-checking
 * macros, so they can be called through the table below */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>
#include <json-c/json.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* libcurl is loaded when the first HTTP model is (src/core/dl.h). */
#define CURL_SYMBOLS(X) \
    X(curl_easy_cleanup) \
    X(curl_easy_getinfo) \
    X(curl_easy_init) \
    X(curl_easy_perform) \
    X(curl_easy_setopt) \
    X(curl_easy_strerror) \
    X(curl_global_init) \
    X(curl_multi_add_handle) \
    X(curl_multi_cleanup) \
    X(curl_multi_info_read) \
    X(curl_multi_init) \
    X(curl_multi_perform) \
    X(curl_multi_poll) \
    X(curl_multi_remove_handle) \
    X(curl_multi_strerror) \
    X(curl_slist_append) \
    X(curl_slist_free_all)
static struct {
    CURL_SYMBOLS(GBX_DL_MEMBER)
} curl_api;
static const char *const curl_names[] = {CURL_SYMBOLS(GBX_DL_NAME)};
static gbx_library curl_library = GBX_LIBRARY(GBX_CURL_SONAME, curl_names, curl_api);
#undef curl_easy_getinfo /* curl's macros that check for three arguments */
#undef curl_easy_setopt
#define curl_easy_cleanup (*curl_api.curl_easy_cleanup)
#define curl_easy_getinfo (*curl_api.curl_easy_getinfo)
#define curl_easy_init (*curl_api.curl_easy_init)
#define curl_easy_perform (*curl_api.curl_easy_perform)
#define curl_easy_setopt (*curl_api.curl_easy_setopt)
#define curl_easy_strerror (*curl_api.curl_easy_strerror)
#define curl_global_init (*curl_api.curl_global_init)
#define curl_multi_add_handle (*curl_api.curl_multi_add_handle)
#define curl_multi_cleanup (*curl_api.curl_multi_cleanup)
#define curl_multi_info_read (*curl_api.curl_multi_info_read)
#define curl_multi_init (*curl_api.curl_multi_init)
#define curl_multi_perform (*curl_api.curl_multi_perform)
#define curl_multi_poll (*curl_api.curl_multi_poll)
#define curl_multi_remove_handle (*curl_api.curl_multi_remove_handle)
#define curl_multi_strerror (*curl_api.curl_multi_strerror)
#define curl_slist_append (*curl_api.curl_slist_append)
#define curl_slist_free_all (*curl_api.curl_slist_free_all)

enum {
    GBX_HTTP_BATCH_ROWS = 512, /* rows per request: large enough to amortise HTTP, small enough
                                  that one reply stays a few megabytes */
    GBX_HTTP_PARALLEL = 4,     /* requests in flight per predict call */
    GBX_HTTP_RETRIES = 3       /* extra attempts after a connection failure */
};

typedef enum { PROTOCOL_TF_SERVING, PROTOCOL_OPEN_INFERENCE } http_protocol;

typedef struct {
    char *data;
    size_t length, capacity;
    size_t limit;   /* the most a reply may hold (0: no limit, for requests) */
    int over;       /* a reply went past its limit: the transfer was stopped */
} buffer;

/* One transfer slot: an easy handle (its connection is kept alive) and its buffers. */
typedef struct {
    CURL *easy;
    buffer request, reply;
    size_t first_row, rows; /* the batch it carries */
    int attempts;
} slot;

/* What one predict call needs; callers on different threads take different sessions. */
typedef struct session {
    CURLM *multi;
    slot slots[GBX_HTTP_PARALLEL];
    struct session *next; /* in the idle list */
} session;

typedef struct {
    http_protocol protocol;
    char *url;           /* where rows are sent */
    char *input_name;    /* OIP: the input tensor's name */
    char *input_type;    /* OIP: its datatype (FP32, FP64, FP16) */
    char *output_name;   /* OIP: the output requested */
    long timeout_ms;
    pthread_mutex_t lock; /* guards the idle list */
    session *idle;
} http_adapter;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_global_status;
static void init_curl(void) { curl_global_status = curl_global_init(CURL_GLOBAL_DEFAULT); }

static int buffer_reserve(buffer *b, size_t extra)
{
    if (b->length + extra + 1 <= b->capacity) return 1;
    size_t capacity = b->capacity ? b->capacity : 4096;
    while (b->length + extra + 1 > capacity) capacity *= 2;
    char *grown = realloc(b->data, capacity);
    if (!grown) return 0;
    b->data = grown;
    b->capacity = capacity;
    return 1;
}

static int buffer_append(buffer *b, const char *text, size_t length)
{
    if (!buffer_reserve(b, length)) return 0;
    memcpy(b->data + b->length, text, length);
    b->length += length;
    b->data[b->length] = '\0';
    return 1;
}

/* A reply's bytes, up to its limit: past it the transfer stops (a server answering gigabytes
 * is not buffered whole). */
static size_t on_data(char *bytes, size_t size, size_t count, void *user)
{
    buffer *reply = user;
    if (reply->limit && reply->length + size * count > reply->limit) {
        reply->over = 1;
        return 0;
    }
    return buffer_append(reply, bytes, size * count) ? size * count : 0;
}

static void session_free(session *s)
{
    if (!s) return;
    for (int i = 0; i < GBX_HTTP_PARALLEL; i++) {
        if (s->slots[i].easy) {
            curl_multi_remove_handle(s->multi, s->slots[i].easy);
            curl_easy_cleanup(s->slots[i].easy);
        }
        free(s->slots[i].request.data);
        free(s->slots[i].reply.data);
    }
    if (s->multi) curl_multi_cleanup(s->multi);
    free(s);
}

static void release(gbx_model *model)
{
    http_adapter *a = model->adapter;
    if (!a) return;
    while (a->idle) {
        session *next = a->idle->next;
        session_free(a->idle);
        a->idle = next;
    }
    pthread_mutex_destroy(&a->lock);
    free(a->url);
    free(a->input_name);
    free(a->input_type);
    free(a->output_name);
    free(a);
    model->adapter = NULL;
}

static CURL *new_easy(const http_adapter *a, const char *url, buffer *reply)
{
    CURL *easy = curl_easy_init();
    if (!easy) return NULL;
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, reply);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, a->timeout_ms);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, a->timeout_ms < 10000 ? a->timeout_ms : 10000L);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for timeouts */
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, ""); /* whatever compression curl has */
    curl_easy_setopt(easy, CURLOPT_USERAGENT, "glassbox/" GBX_VERSION);
    return easy;
}

static session *session_take(http_adapter *a)
{
    pthread_mutex_lock(&a->lock);
    session *s = a->idle;
    if (s) a->idle = s->next;
    pthread_mutex_unlock(&a->lock);
    if (s) return s;
    s = calloc(1, sizeof *s);
    if (!s || !(s->multi = curl_multi_init())) {
        free(s);
        return NULL;
    }
    for (int i = 0; i < GBX_HTTP_PARALLEL; i++) {
        slot *t = &s->slots[i];
        if (!(t->easy = new_easy(a, a->url, &t->reply))) {
            session_free(s);
            return NULL;
        }
    }
    return s;
}

static void session_give_back(http_adapter *a, session *s)
{
    pthread_mutex_lock(&a->lock);
    s->next = a->idle;
    a->idle = s;
    pthread_mutex_unlock(&a->lock);
}

/* Writes one number for a JSON body: shortest round-trip text; NaN and infinities as the
 * NaN/Infinity literals TF Serving accepts (JSON itself has none). */
static int append_number(buffer *b, double x, int single)
{
    char text[32];
    int length;
    if (isnan(x)) length = snprintf(text, sizeof text, "NaN");
    else if (isinf(x)) length = snprintf(text, sizeof text, x > 0 ? "Infinity" : "-Infinity");
    else length = snprintf(text, sizeof text, single ? "%.9g" : "%.17g", x);
    return buffer_append(b, text, (size_t)length);
}

static int build_request(const http_adapter *a, const double *rows, size_t count, size_t M,
                         buffer *b)
{
    b->length = 0;
    int single = a->input_type && strcmp(a->input_type, "FP64") != 0;
    if (!buffer_reserve(b, count * M * 20 + 256)) return 0;
    int ok = 1;
    if (a->protocol == PROTOCOL_TF_SERVING) {
        ok &= buffer_append(b, "{\"instances\":[", 14);
        for (size_t r = 0; ok && r < count; r++) {
            ok &= buffer_append(b, r ? ",[" : "[", r ? 2 : 1);
            for (size_t f = 0; ok && f < M; f++) {
                if (f) ok &= buffer_append(b, ",", 1);
                ok &= append_number(b, rows[r * M + f], single);
            }
            ok &= buffer_append(b, "]", 1);
        }
        return ok && buffer_append(b, "]}", 2);
    }
    char head[1024];
    int length = snprintf(head, sizeof head, "{\"inputs\":[{\"name\":\"%s\",\"shape\":[%zu,%zu],"
                          "\"datatype\":\"%s\",\"data\":[", a->input_name, count, M, a->input_type);
    ok &= length > 0 && (size_t)length < sizeof head && buffer_append(b, head, (size_t)length);
    for (size_t i = 0; ok && i < count * M; i++) {
        if (i) ok &= buffer_append(b, ",", 1);
        ok &= append_number(b, rows[i], single);
    }
    length = snprintf(head, sizeof head, "]}],\"outputs\":[{\"name\":\"%s\"}]}", a->output_name);
    return ok && length > 0 && (size_t)length < sizeof head &&
           buffer_append(b, head, (size_t)length);
}

/* Appends every number of a (possibly nested) JSON array to out; -1 on anything else. */
static long flatten_numbers(json_object *value, double *out, size_t capacity, size_t at)
{
    if (json_object_is_type(value, json_type_array)) {
        size_t n = json_object_array_length(value);
        for (size_t i = 0; i < n; i++) {
            long next = flatten_numbers(json_object_array_get_idx(value, i), out, capacity, at);
            if (next < 0) return -1;
            at = (size_t)next;
        }
        return (long)at;
    }
    if (!json_object_is_type(value, json_type_double) && !json_object_is_type(value, json_type_int))
        return -1;
    if (at >= capacity) return (long)capacity + 1; /* too many: reported by the caller */
    out[at] = json_object_get_double(value);
    return (long)at + 1;
}

/* The server's own words from an error reply ({"error": "..."} in both protocols). */
static void server_message(const buffer *reply, char *out, size_t size)
{
    json_object *root = reply->data ? json_tokener_parse(reply->data) : NULL;
    json_object *message;
    if (root && json_object_object_get_ex(root, "error", &message))
        snprintf(out, size, "%s", json_object_get_string(message));
    else
        snprintf(out, size, "%.200s", reply->data ? reply->data : "");
    json_object_put(root);
    for (char *p = out; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
}

gbx_status gbx_http_parse_reply(const char *url, int open_inference, const char *output_name,
                                const char *reply, size_t first_row, size_t rows, size_t K,
                                double *out, gbx_error *error)
{
    json_object *root = json_tokener_parse(reply ? reply : "");
    json_object *values = NULL;
    const char *expected = !open_inference ? "a JSON object with \"predictions\""
                                           : "a JSON object with \"outputs\"";
    if (root && !open_inference) {
        json_object_object_get_ex(root, "predictions", &values);
    } else if (root) {
        json_object *outputs;
        if (json_object_object_get_ex(root, "outputs", &outputs) &&
            json_object_is_type(outputs, json_type_array)) {
            for (size_t i = 0; i < json_object_array_length(outputs) && !values; i++) {
                json_object *output = json_object_array_get_idx(outputs, i), *name;
                if (json_object_object_get_ex(output, "name", &name) &&
                    json_object_is_type(name, json_type_string) &&
                    strcmp(json_object_get_string(name), output_name) == 0)
                    json_object_object_get_ex(output, "data", &values);
            }
        }
    }
    gbx_status status = GBX_OK;
    if (!values) {
        status = gbx_fail(error, GBX_ERR_PARSE, "model server %s: reply to rows %zu-%zu is not %s"
                          "%s: \"%.80s\"", url, first_row + 1, first_row + rows, expected,
                          open_inference ? " naming the output" : "", reply ? reply : "");
    } else {
        long got = flatten_numbers(values, out, rows * K, 0);
        if (got != (long)(rows * K))
            status = gbx_fail(error, GBX_ERR_PARSE, "model server %s: reply to rows %zu-%zu "
                              "%s (expected %zu rows of %zu)", url, first_row + 1,
                              first_row + rows,
                              got < 0 ? "holds something other than numbers"
                                      : "has the wrong number of values",
                              rows, K);
        for (size_t i = 0; status == GBX_OK && i < rows * K; i++)
            if (!isfinite(out[i]))
                status = gbx_fail(error, GBX_ERR_PARSE, "model server %s: output %g for row %zu",
                                  url, out[i], first_row + i / K + 1);
    }
    json_object_put(root);
    return status;
}

/* Reads the outputs of one batch from its reply into out ([rows][K]). */
static gbx_status parse_reply(const http_adapter *a, const slot *t, size_t K, double *out,
                              gbx_error *error)
{
    return gbx_http_parse_reply(a->url, a->protocol == PROTOCOL_OPEN_INFERENCE, a->output_name,
                                t->reply.data, t->first_row, t->rows, K, out, error);
}

static int retryable(CURLcode code, long http_status)
{
    switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
        return 1;
    case CURLE_OK:
        return http_status == 502 || http_status == 503 || http_status == 504;
    default:
        return 0;
    }
}

static void pause_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* Starts the transfer of rows [first, first + rows) on slot t. */
static gbx_status start(const http_adapter *a, session *s, slot *t, const double *rows,
                        size_t first, size_t count, size_t M, size_t K, gbx_error *error)
{
    t->first_row = first;
    t->rows = count;
    t->attempts = 0;
    t->reply.length = 0;
    t->reply.over = 0;
    /* What the rows' answer can need: a number in at most 64 characters, K of them a row, and
     * a megabyte for the rest of the JSON (OIP's outputs' names, shapes, datatypes). */
    t->reply.limit = count * (K * 64 + 64) + ((size_t)1 << 20);
    if (!build_request(a, rows + first * M, count, M, &t->request))
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    curl_easy_setopt(t->easy, CURLOPT_POSTFIELDS, t->request.data);
    curl_easy_setopt(t->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)t->request.length);
    curl_multi_add_handle(s->multi, t->easy);
    return GBX_OK;
}

static gbx_status predict(const gbx_model *model, const double *rows, size_t count, double *out,
                          gbx_error *error)
{
    http_adapter *a = model->adapter;
    size_t M = model->features, K = model->outputs;
    if (count == 0) return GBX_OK;
    session *s = session_take(a);
    if (!s) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory (HTTP session)");
    /* No "Expect: 100-continue": waiting for the server's go-ahead costs a round trip (up to a
     * second with servers that never send it) on every batch. */
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    struct curl_slist *both = headers ? curl_slist_append(headers, "Expect:") : NULL;
    if (!both) {
        curl_slist_free_all(headers);
        session_give_back(a, s);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    gbx_status status = GBX_OK;
    size_t next = 0; /* first row not yet sent */
    int running = 0;
    for (int i = 0; i < GBX_HTTP_PARALLEL && next < count && status == GBX_OK; i++) {
        size_t n = count - next < GBX_HTTP_BATCH_ROWS ? count - next : GBX_HTTP_BATCH_ROWS;
        curl_easy_setopt(s->slots[i].easy, CURLOPT_HTTPHEADER, headers);
        status = start(a, s, &s->slots[i], rows, next, n, M, K, error);
        next += n;
        running++;
    }
    while (status == GBX_OK && running > 0) {
        int still;
        CURLMcode code = curl_multi_perform(s->multi, &still);
        if (code != CURLM_OK) {
            status = gbx_fail(error, GBX_ERR_IO, "model server %s: %s", a->url,
                              curl_multi_strerror(code));
            break;
        }
        CURLMsg *message;
        int left;
        while (status == GBX_OK && (message = curl_multi_info_read(s->multi, &left))) {
            if (message->msg != CURLMSG_DONE) continue;
            slot *t = NULL;
            for (int i = 0; i < GBX_HTTP_PARALLEL; i++)
                if (s->slots[i].easy == message->easy_handle) t = &s->slots[i];
            CURLcode result = message->data.result;
            long http_status = 0;
            curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &http_status);
            curl_multi_remove_handle(s->multi, t->easy);
            if (!t->reply.over && retryable(result, http_status) &&
                t->attempts < GBX_HTTP_RETRIES) {
                pause_ms(100L << t->attempts); /* 100, 200, 400 ms */
                t->attempts++;
                t->reply.length = 0;
                curl_multi_add_handle(s->multi, t->easy);
                continue;
            }
            running--;
            char why[256];
            if (t->reply.over) {
                status = gbx_fail(error, GBX_ERR_PARSE, "model server %s: the reply to rows "
                                  "%zu-%zu is longer than %zu bytes, more than they can need",
                                  a->url, t->first_row + 1, t->first_row + t->rows,
                                  t->reply.limit);
            } else if (result != CURLE_OK) {
                status = gbx_fail(error, GBX_ERR_IO, "model server %s: %s for rows %zu-%zu%s%s",
                                  a->url, curl_easy_strerror(result), t->first_row + 1,
                                  t->first_row + t->rows,
                                  result == CURLE_OPERATION_TIMEDOUT
                                      ? " (options.timeout_seconds sets the limit)" : "",
                                  t->attempts ? " after retries" : "");
            } else if (http_status != 200) {
                server_message(&t->reply, why, sizeof why);
                status = gbx_fail(error, http_status >= 500 ? GBX_ERR_IO : GBX_ERR_USAGE,
                                  "model server %s answered HTTP %ld for rows %zu-%zu: %s", a->url,
                                  http_status, t->first_row + 1, t->first_row + t->rows,
                                  why[0] ? why : "(no message)");
            } else {
                status = parse_reply(a, t, K, out + t->first_row * K, error);
            }
            if (status == GBX_OK && next < count) {
                size_t n = count - next < GBX_HTTP_BATCH_ROWS ? count - next : GBX_HTTP_BATCH_ROWS;
                status = start(a, s, t, rows, next, n, M, K, error);
                next += n;
                running++;
            }
        }
        /* Wait for sockets only while transfers are under way (a finished one was read above). */
        if (status == GBX_OK && running > 0 && still > 0) {
            code = curl_multi_poll(s->multi, NULL, 0, 1000, NULL);
            if (code != CURLM_OK)
                status = gbx_fail(error, GBX_ERR_IO, "model server %s: %s", a->url,
                                  curl_multi_strerror(code));
        }
    }
    /* On failure, transfers still in flight are abandoned; their handles stay usable. */
    for (int i = 0; i < GBX_HTTP_PARALLEL; i++) {
        curl_multi_remove_handle(s->multi, s->slots[i].easy);
        curl_easy_setopt(s->slots[i].easy, CURLOPT_HTTPHEADER, NULL);
    }
    curl_slist_free_all(headers);
    session_give_back(a, s);
    return status;
}

/* ---- loading: the URL and the model's metadata ------------------------------------------- */

/* GETs url into reply; the status says why not. */
static gbx_status http_get(const http_adapter *a, const char *url, buffer *reply, gbx_error *error)
{
    CURL *easy = new_easy(a, url, reply);
    if (!easy) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    CURLcode code = CURLE_OK;
    long http_status = 0;
    for (int attempt = 0; attempt <= GBX_HTTP_RETRIES; attempt++) {
        reply->length = 0;
        code = curl_easy_perform(easy);
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &http_status);
        if (!retryable(code, http_status) || attempt == GBX_HTTP_RETRIES) break;
        pause_ms(100L << attempt);
    }
    curl_easy_cleanup(easy);
    if (code != CURLE_OK)
        return gbx_fail(error, GBX_ERR_IO, "model server %s: %s", url, curl_easy_strerror(code));
    if (http_status != 200) {
        char why[256];
        server_message(reply, why, sizeof why);
        return gbx_fail(error, GBX_ERR_IO, "model server %s answered HTTP %ld: %s", url,
                        http_status, why[0] ? why : "(no message)");
    }
    return GBX_OK;
}

/* Width of a [batch, width] (or [batch]) shape after the batch dimension; 0 if unknown. */
static size_t shape_width(const long long *dims, size_t count)
{
    if (count == 0) return 0;
    size_t width = 1;
    for (size_t i = 1; i < count; i++) {
        if (dims[i] <= 0) return 0;
        width *= (size_t)dims[i];
    }
    return width;
}

/* TF Serving: metadata.signature_def.signature_def.serving_default.{inputs,outputs}, each a map
 * of tensors with tensor_shape.dim[].size as strings. */
static int tf_tensor(json_object *map, char **name, size_t *width, size_t *count)
{
    *count = json_object_is_type(map, json_type_object) ? (size_t)json_object_object_length(map) : 0;
    if (*count != 1) return 0;
    json_object_object_foreach(map, key, tensor) {
        json_object *shape, *dims;
        long long sizes[8];
        size_t n = 0;
        if (!json_object_object_get_ex(tensor, "tensor_shape", &shape) ||
            !json_object_object_get_ex(shape, "dim", &dims) ||
            !json_object_is_type(dims, json_type_array))
            return 0;
        for (size_t i = 0; i < json_object_array_length(dims) && n < 8; i++) {
            json_object *size;
            if (!json_object_object_get_ex(json_object_array_get_idx(dims, i), "size", &size))
                return 0;
            sizes[n++] = strtoll(json_object_get_string(size), NULL, 10);
        }
        *width = shape_width(sizes, n);
        *name = gbx_strdup(key);
    }
    return *name != NULL;
}

static size_t oip_tensor(json_object *tensor, char **name, char **datatype)
{
    json_object *value, *shape;
    if (!json_object_object_get_ex(tensor, "name", &value)) return 0;
    *name = gbx_strdup(json_object_get_string(value));
    if (datatype && json_object_object_get_ex(tensor, "datatype", &value))
        *datatype = gbx_strdup(json_object_get_string(value));
    if (!json_object_object_get_ex(tensor, "shape", &shape) ||
        !json_object_is_type(shape, json_type_array))
        return 0;
    long long sizes[8];
    size_t n = 0;
    for (size_t i = 0; i < json_object_array_length(shape) && n < 8; i++)
        sizes[n++] = json_object_get_int64(json_object_array_get_idx(shape, i));
    return shape_width(sizes, n);
}

static gbx_status read_metadata(http_adapter *a, const char *url, const char *body,
                                gbx_model *model, gbx_error *error)
{
    json_object *root = json_tokener_parse(body);
    if (!root || !json_object_is_type(root, json_type_object)) {
        json_object_put(root);
        return gbx_fail(error, GBX_ERR_PARSE, "model server %s: metadata is not a JSON object",
                        url);
    }
    size_t M = 0, K = 0;
    char *output = NULL;
    gbx_status status = GBX_OK;
    if (a->protocol == PROTOCOL_TF_SERVING) {
        json_object *metadata, *defs, *inner, *signature, *inputs, *outputs;
        size_t count = 0;
        char *input = NULL;
        if (!json_object_object_get_ex(root, "metadata", &metadata) ||
            !json_object_object_get_ex(metadata, "signature_def", &defs) ||
            !json_object_object_get_ex(defs, "signature_def", &inner) ||
            !json_object_object_get_ex(inner, "serving_default", &signature) ||
            !json_object_object_get_ex(signature, "inputs", &inputs) ||
            !json_object_object_get_ex(signature, "outputs", &outputs))
            status = gbx_fail(error, GBX_ERR_PARSE, "model server %s: metadata has no "
                              "signature_def \"serving_default\" with inputs and outputs", url);
        else if (!tf_tensor(inputs, &input, &M, &count))
            status = gbx_fail(error, GBX_ERR_UNSUPPORTED, "model server %s: the serving_default "
                              "signature has %zu inputs; glassbox sends one [rows, features] "
                              "tensor", url, count);
        else if (!tf_tensor(outputs, &output, &K, &count))
            status = gbx_fail(error, GBX_ERR_UNSUPPORTED, "model server %s: the serving_default "
                              "signature has %zu outputs; glassbox reads one", url, count);
        free(input);
    } else {
        json_object *inputs, *outputs;
        if (!json_object_object_get_ex(root, "inputs", &inputs) ||
            !json_object_object_get_ex(root, "outputs", &outputs) ||
            !json_object_is_type(inputs, json_type_array) ||
            !json_object_is_type(outputs, json_type_array) ||
            json_object_array_length(outputs) == 0)
            status = gbx_fail(error, GBX_ERR_PARSE, "model server %s: metadata has no \"inputs\" "
                              "and \"outputs\" arrays", url);
        else if (json_object_array_length(inputs) != 1)
            status = gbx_fail(error, GBX_ERR_UNSUPPORTED, "model server %s: the model has %zu "
                              "inputs; glassbox sends one [rows, features] tensor", url,
                              json_object_array_length(inputs));
        else {
            /* The first output is explained; a classifier's later outputs (labels) are not. */
            M = oip_tensor(json_object_array_get_idx(inputs, 0), &a->input_name, &a->input_type);
            K = oip_tensor(json_object_array_get_idx(outputs, 0), &a->output_name, NULL);
            output = gbx_strdup(a->output_name);
            if (!a->input_type) a->input_type = gbx_strdup("FP64");
            /* The names go into every request as they are: refuse what JSON would need to
             * escape, and names too long for a request head. */
            const char *names[] = {a->input_name, a->output_name, a->input_type};
            for (int i = 0; i < 3 && status == GBX_OK; i++)
                if (!names[i] || strlen(names[i]) > 256 || strpbrk(names[i], "\"\\\b\f\n\r\t"))
                    status = gbx_fail(error, GBX_ERR_UNSUPPORTED, "model server %s: tensor name or "
                                      "datatype \"%.40s\" is missing, too long or needs escaping",
                                      url, names[i] ? names[i] : "");
            if (status == GBX_OK && strcmp(a->input_type, "FP32") != 0 &&
                strcmp(a->input_type, "FP64") != 0 && strcmp(a->input_type, "FP16") != 0)
                status = gbx_fail(error, GBX_ERR_UNSUPPORTED, "model server %s: input datatype "
                                  "%s (FP16, FP32 or FP64 needed)", url, a->input_type);
        }
    }
    if (status == GBX_OK && (M == 0 || K == 0))
        status = gbx_fail(error, GBX_ERR_UNSUPPORTED, "model server %s: the metadata does not give "
                          "a fixed %s width ([-1, N] shape)", url, M == 0 ? "input" : "output");
    if (status == GBX_OK && K > 64)
        status = gbx_fail(error, GBX_ERR_UNSUPPORTED, "model server %s: %zu outputs (1 to 64 "
                          "supported)", url, K);
    if (status == GBX_OK) {
        model->features = M;
        if (gbx_model_set_outputs(model, K, output) != GBX_OK)
            status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    free(output);
    json_object_put(root);
    return status;
}

/* Splits the URL into the prediction URL and the metadata URL, by protocol. */
static gbx_status parse_url(http_adapter *a, const char *url, char **metadata_url, gbx_error *error)
{
    const char *v1 = strstr(url, "/v1/models/"), *v2 = strstr(url, "/v2/models/");
    size_t length = strlen(url);
    if (!v1 && !v2)
        return gbx_fail(error, GBX_ERR_USAGE, "model URL %s: expected .../v1/models/NAME:predict "
                        "(TF Serving) or .../v2/models/NAME/infer (Open Inference Protocol)", url);
    a->protocol = v2 ? PROTOCOL_OPEN_INFERENCE : PROTOCOL_TF_SERVING;
    const char *suffix = a->protocol == PROTOCOL_TF_SERVING ? ":predict" : "/infer";
    size_t suffix_length = strlen(suffix);
    size_t base = length >= suffix_length && strcmp(url + length - suffix_length, suffix) == 0
                      ? length - suffix_length : length;
    while (base > 0 && url[base - 1] == '/') base--;
    a->url = malloc(base + suffix_length + 1);
    *metadata_url = malloc(base + 16);
    if (!a->url || !*metadata_url) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    snprintf(a->url, base + suffix_length + 1, "%.*s%s", (int)base, url, suffix);
    snprintf(*metadata_url, base + 16, "%.*s%s", (int)base, url,
             a->protocol == PROTOCOL_TF_SERVING ? "/metadata" : "");
    return GBX_OK;
}

/* The version a URL pins (".../versions/N"), or NULL. */
static char *pinned_version(const char *url)
{
    const char *at = strstr(url, "/versions/");
    if (!at) return NULL;
    at += strlen("/versions/");
    size_t length = strcspn(at, ":/");
    char *version = malloc(length + 1);
    if (version) snprintf(version, length + 1, "%.*s", (int)length, at);
    return version;
}

/* The version the server says it serves: TF Serving's model_spec.version, or the one version
 * an OIP server lists (or the pinned one, when it is listed); checked against the URL's pin,
 * and kept with the URL for the explanation's provenance. */
static gbx_status check_version(const http_adapter *a, const char *url, const char *metadata,
                                gbx_model *model, gbx_error *error)
{
    char *pinned = pinned_version(url);
    json_object *root = json_tokener_parse(metadata), *spec, *version, *versions;
    const char *served = NULL;
    int listed = 0, listing = 0;
    if (a->protocol == PROTOCOL_TF_SERVING) {
        if (json_object_object_get_ex(root, "model_spec", &spec) &&
            json_object_object_get_ex(spec, "version", &version))
            served = json_object_get_string(version);
    } else if (json_object_object_get_ex(root, "versions", &versions) &&
               json_object_is_type(versions, json_type_array)) {
        size_t count = json_object_array_length(versions);
        listing = count > 0;
        for (size_t i = 0; pinned && i < count; i++)
            listed |= strcmp(json_object_get_string(json_object_array_get_idx(versions, i)),
                             pinned) == 0;
        served = listed ? pinned
                 : count == 1 ? json_object_get_string(json_object_array_get_idx(versions, 0))
                              : NULL;
    }
    gbx_status status = GBX_OK;
    if (pinned && listing && !listed)
        status = gbx_fail(error, GBX_ERR_MISMATCH, "model server %s: the URL pins version %s, "
                          "which the server does not list among the model's versions", url,
                          pinned);
    else if (pinned && served && strcmp(pinned, served) != 0)
        status = gbx_fail(error, GBX_ERR_MISMATCH, "model server %s: the URL pins version %s, "
                          "but the server serves version %s there", url, pinned, served);
    else if ((served && !(model->version = gbx_strdup(served))) ||
             !(model->source = gbx_strdup(a->url)))
        status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    json_object_put(root);
    free(pinned);
    return status;
}

gbx_status gbx_http_load(const char *url, double timeout_seconds, gbx_model *model,
                         gbx_error *error)
{
    gbx_status loaded = gbx_dl_load(&curl_library, error);
    if (loaded != GBX_OK) return loaded;
    pthread_once(&curl_once, init_curl);
    if (curl_global_status != CURLE_OK)
        return gbx_fail(error, GBX_ERR_INTERNAL, "libcurl: %s",
                        curl_easy_strerror(curl_global_status));
    http_adapter *a = calloc(1, sizeof *a);
    if (!a) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&a->lock, NULL);
    a->timeout_ms = (long)(timeout_seconds > 0 ? timeout_seconds * 1e3 : 60e3);
    model->adapter = a;
    model->release_adapter = release;
    char *metadata_url = NULL;
    buffer reply = {0};
    gbx_status status = parse_url(a, url, &metadata_url, error);
    if (status == GBX_OK) status = http_get(a, metadata_url, &reply, error);
    if (status == GBX_OK) status = read_metadata(a, metadata_url, reply.data, model, error);
    if (status == GBX_OK) status = check_version(a, url, reply.data, model, error);
    if (status == GBX_OK) {
        /* The fingerprint covers the URL and the metadata, which names the served version. */
        buffer identity = {0};
        if (!buffer_append(&identity, a->url, strlen(a->url)) ||
            !buffer_append(&identity, "\n", 1) ||
            !buffer_append(&identity, reply.data, reply.length))
            status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
        else
            gbx_sha256_buffer(identity.data, identity.length, model->sha256);
        free(identity.data);
    }
    free(metadata_url);
    free(reply.data);
    if (status != GBX_OK) return status;
    model->type = a->protocol == PROTOCOL_TF_SERVING ? "tf-serving" : "open-inference";
    model->objective = gbx_strdup(a->protocol == PROTOCOL_TF_SERVING ? "tf-serving"
                                                                     : "open-inference");
    model->predict_raw = predict;
    return model->objective ? GBX_OK : gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
}
