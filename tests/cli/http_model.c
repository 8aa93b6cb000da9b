/* A model server for the CLI tests, speaking TF Serving REST (/v1/models/NAME:predict and
 * /v1/models/NAME/metadata) and the Open Inference Protocol (/v2/models/NAME/infer and
 * /v2/models/NAME), with libmicrohttpd. Every model is y = 0.5 a - b + 2 c + 0.1, as
 * line_model.c; the model's name picks a behaviour:
 *   credit     answers correctly
 *   flaky      drops every other prediction request without an answer (retries must cover it)
 *   drop       drops every prediction request
 *   slow       answers after 3 seconds
 *   malformed  answers truncated JSON
 *   broken     answers HTTP 500 with {"error": "..."}
 *   refuses    answers HTTP 400 with {"error": "..."}
 *   missing    is not served: HTTP 404, as TF Serving says it
 *   quoted     has an output tensor whose name holds a quote (OIP metadata)
 *   huge       answers 64 MB of JSON (a list of predictions far longer than the rows)
 * GET /stats answers {"connections": N, "requests": N}, so a test can see that connections are
 * kept alive. Usage: http_model (prints the port it listens on, then serves until killed). */
#include <json-c/json.h>
#include <microhttpd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static atomic_int connections, requests, flaky_calls;

typedef struct {
    char *body;
    size_t length;
} upload;

static enum MHD_Result reply(struct MHD_Connection *connection, unsigned status, const char *text)
{
    struct MHD_Response *response =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(response, "Content-Type", "application/json");
    enum MHD_Result result = MHD_queue_response(connection, status, response);
    MHD_destroy_response(response);
    return result;
}

static double model(const double *x) { return 0.5 * x[0] - x[1] + 2 * x[2] + 0.1; }

/* The model name between "/models/" and the next ':' or '/'. */
static void model_name(const char *url, char *out, size_t size)
{
    const char *start = strstr(url, "/models/");
    start = start ? start + 8 : url;
    size_t length = strcspn(start, ":/");
    snprintf(out, size, "%.*s", (int)(length < size ? length : size - 1), start);
}

static void append(char **text, size_t *length, size_t *capacity, const char *piece)
{
    size_t n = strlen(piece);
    if (*length + n + 1 > *capacity) {
        while (*length + n + 1 > *capacity) *capacity = *capacity ? *capacity * 2 : 4096;
        *text = realloc(*text, *capacity);
    }
    memcpy(*text + *length, piece, n + 1);
    *length += n;
}

/* Predictions for the rows in a request body, as the protocol's reply; NULL if malformed. */
static char *predict(int v2, const char *body)
{
    json_object *root = json_tokener_parse(body), *values = NULL;
    size_t rows = 0;
    double *x = NULL;
    if (!root) return NULL;
    if (!v2 && json_object_object_get_ex(root, "instances", &values)) {
        rows = json_object_array_length(values);
        x = calloc(rows * 3 + 1, sizeof *x);
        for (size_t r = 0; r < rows; r++) {
            json_object *row = json_object_array_get_idx(values, r);
            if (json_object_array_length(row) != 3) goto bad;
            for (size_t f = 0; f < 3; f++)
                x[r * 3 + f] = json_object_get_double(json_object_array_get_idx(row, f));
        }
    } else if (v2 && json_object_object_get_ex(root, "inputs", &values)) {
        json_object *input = json_object_array_get_idx(values, 0), *data, *shape;
        if (!json_object_object_get_ex(input, "data", &data) ||
            !json_object_object_get_ex(input, "shape", &shape))
            goto bad;
        rows = (size_t)json_object_get_int64(json_object_array_get_idx(shape, 0));
        if (json_object_array_length(data) != rows * 3) goto bad;
        x = calloc(rows * 3 + 1, sizeof *x);
        for (size_t i = 0; i < rows * 3; i++)
            x[i] = json_object_get_double(json_object_array_get_idx(data, i));
    } else {
        goto bad;
    }
    char *text = NULL, number[40];
    size_t length = 0, capacity = 0;
    append(&text, &length, &capacity, v2 ? "{\"model_name\":\"m\",\"outputs\":[{\"name\":\"y\","
                                           "\"datatype\":\"FP64\",\"data\":["
                                         : "{\"predictions\":[");
    for (size_t r = 0; r < rows; r++) {
        /* TF Serving nests one-output rows ([[y]]) for 2-D outputs; OIP sends flat data. */
        snprintf(number, sizeof number, v2 ? "%s%.17g" : "%s[%.17g]", r ? "," : "",
                 model(x + r * 3));
        append(&text, &length, &capacity, number);
    }
    snprintf(number, sizeof number, v2 ? "],\"shape\":[%zu,1]}]}" : "]}", rows);
    append(&text, &length, &capacity, number);
    free(x);
    json_object_put(root);
    return text;
bad:
    free(x);
    json_object_put(root);
    return NULL;
}

static const char tf_metadata[] =
    "{\"model_spec\":{\"name\":\"%s\",\"version\":\"7\"},\"metadata\":{\"signature_def\":"
    "{\"signature_def\":{\"serving_default\":{\"inputs\":{\"x\":{\"dtype\":\"DT_DOUBLE\","
    "\"tensor_shape\":{\"dim\":[{\"size\":\"-1\"},{\"size\":\"3\"}]},\"name\":\"x:0\"}},"
    "\"outputs\":{\"y\":{\"dtype\":\"DT_DOUBLE\",\"tensor_shape\":{\"dim\":[{\"size\":\"-1\"},"
    "{\"size\":\"1\"}]},\"name\":\"y:0\"}},\"method_name\":\"tensorflow/serving/predict\"}}}}}";
static const char oip_metadata[] =
    "{\"name\":\"%s\",\"versions\":[\"7\"],\"platform\":\"test\",\"inputs\":[{\"name\":\"x\","
    "\"datatype\":\"FP64\",\"shape\":[-1,3]}],\"outputs\":[{\"name\":\"y\",\"datatype\":\"FP64\","
    "\"shape\":[-1,1]},{\"name\":\"label\",\"datatype\":\"INT64\",\"shape\":[-1]}]}";

static enum MHD_Result handle(void *closure, struct MHD_Connection *connection, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *data_size, void **state)
{
    (void)closure, (void)version;
    if (!*state) { /* headers only: make room for the body */
        *state = calloc(1, sizeof(upload));
        return MHD_YES;
    }
    upload *u = *state;
    if (*data_size) {
        u->body = realloc(u->body, u->length + *data_size + 1);
        memcpy(u->body + u->length, data, *data_size);
        u->length += *data_size;
        u->body[u->length] = '\0';
        *data_size = 0;
        return MHD_YES;
    }
    atomic_fetch_add(&requests, 1);
    char name[64], text[2048];
    model_name(url, name, sizeof name);
    int v2 = strncmp(url, "/v2/", 4) == 0;
    if (strcmp(url, "/stats") == 0) {
        snprintf(text, sizeof text, "{\"connections\":%d,\"requests\":%d}",
                 atomic_load(&connections), atomic_load(&requests));
        return reply(connection, 200, text);
    }
    if (strcmp(name, "missing") == 0)
        return reply(connection, 404, "{\"error\":\"Servable not found for request: "
                                      "Latest(missing)\"}");
    if (strcmp(method, "GET") == 0) {
        size_t length = strlen(url);
        int tf = !v2 && length > 9 && strcmp(url + length - 9, "/metadata") == 0;
        if (!tf && !v2) return reply(connection, 404, "{\"error\":\"no such path\"}");
        if (v2 && strcmp(name, "quoted") == 0)
            return reply(connection, 200, "{\"name\":\"quoted\",\"inputs\":[{\"name\":\"x\","
                         "\"datatype\":\"FP64\",\"shape\":[-1,3]}],\"outputs\":[{\"name\":"
                         "\"y\\\"\",\"datatype\":\"FP64\",\"shape\":[-1,1]}]}");
        snprintf(text, sizeof text, tf ? tf_metadata : oip_metadata, name);
        return reply(connection, 200, text);
    }
    if (strcmp(name, "drop") == 0) return MHD_NO;
    if (strcmp(name, "flaky") == 0 && atomic_fetch_add(&flaky_calls, 1) % 2 == 0) return MHD_NO;
    if (strcmp(name, "slow") == 0) sleep(3);
    if (strcmp(name, "broken") == 0)
        return reply(connection, 500, "{\"error\":\"model crashed: out of GPU memory\"}");
    if (strcmp(name, "refuses") == 0)
        return reply(connection, 400, "{\"error\":\"input x: expected shape [-1,4]\"}");
    if (strcmp(name, "malformed") == 0) return reply(connection, 200, "{\"predictions\": [1.5, 2");
    if (strcmp(name, "huge") == 0) {
        size_t size = (size_t)64 << 20;
        char *body = malloc(size + 64);
        if (!body) return MHD_NO;
        size_t at = (size_t)sprintf(body, "{\"predictions\": [");
        while (at + 16 < size) at += (size_t)sprintf(body + at, "1.5, ");
        sprintf(body + at, "1.5]}");
        enum MHD_Result result = reply(connection, 200, body);
        free(body);
        return result;
    }
    char *answer = predict(v2, u->body ? u->body : "");
    if (!answer) return reply(connection, 400, "{\"error\":\"malformed request\"}");
    enum MHD_Result result = reply(connection, 200, answer);
    free(answer);
    return result;
}

static void completed(void *closure, struct MHD_Connection *connection, void **state,
                      enum MHD_RequestTerminationCode code)
{
    (void)closure, (void)connection, (void)code;
    upload *u = *state;
    if (u) free(u->body);
    free(u);
    *state = NULL;
}

static void notify(void *closure, struct MHD_Connection *connection, void **socket_state,
                   enum MHD_ConnectionNotificationCode code)
{
    (void)closure, (void)connection, (void)socket_state;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) atomic_fetch_add(&connections, 1);
}

int main(void)
{
    struct MHD_Daemon *daemon = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0,
        NULL, NULL, handle, NULL, MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
        MHD_OPTION_NOTIFY_CONNECTION, notify, NULL, MHD_OPTION_END);
    if (!daemon) {
        fprintf(stderr, "http_model: cannot start the server\n");
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    printf("%u\n", (unsigned)info->port);
    fflush(stdout);
    for (;;) pause();
}
