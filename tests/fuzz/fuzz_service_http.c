/* libFuzzer target: raw bytes sent to the real explanation service over a loopback socket, as
 * any client could (corpus: tests/fuzz/corpus/service_http). The server (the credit model,
 * an SQLite audit store in a scratch folder) starts once; each input is one connection: sent,
 * half-closed, and read to its end. The server must survive every one. */
#include "serve/service.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static service_config config;
static service_server *server;
static char folder[64];

static void stop(void)
{
    service_stop(server);
    char path[128];
    const char *files[] = {"audit.db", "audit.db-wal", "audit.db-shm"};
    for (size_t f = 0; f < 3; f++) {
        snprintf(path, sizeof path, "%s/%s", folder, files[f]);
        unlink(path);
    }
    rmdir(folder);
}

static int setup(void)
{
    if (server) return 1;
    snprintf(folder, sizeof folder, "/tmp/gbx-fuzz-http-XXXXXX");
    if (!mkdtemp(folder)) return 0;
    char audit[128];
    snprintf(audit, sizeof audit, "%s/audit.db", folder);
    config.host = strdup("127.0.0.1");
    config.model_count = 1;
    config.models = calloc(1, sizeof *config.models);
    config.models[0].name = strdup("credit");
    config.models[0].path = strdup(GBX_SOURCE_DIR "/examples/credit_model.json");
    config.models[0].method = strdup("tree");
    config.models[0].features = strdup(GBX_SOURCE_DIR "/examples/credit_features.json");
    config.models[0].threshold = 0.5;
    config.models[0].deadline = 5;
    config.audit_store = strdup(audit);
    config.audit_inputs = 1;
    config.body_limit = 1 << 16;
    config.connections = 16;
    config.jobs = 8;
    config.keep_results = 60;
    config.cache_bytes = 1 << 20;
    config.keep_versions = 1;
    gbx_error error;
    if (service_start(&config, &server, &error) != GBX_OK) {
        fprintf(stderr, "fuzz_service_http: %s\n", error.message);
        return 0;
    }
    atexit(stop);
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!setup()) abort();
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)service_port(server))};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval wait = {5, 0};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
    setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &wait, sizeof wait);
    /* Closed with a reset, so the tens of thousands of connections a run makes leave no
     * TIME_WAIT behind to use up the loopback's ports. */
    struct linger reset = {1, 0};
    setsockopt(s, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    if (connect(s, (struct sockaddr *)&address, sizeof address) != 0) {
        if (errno == ECONNREFUSED) abort(); /* nothing listens: the server died */
        close(s);
        return 0;
    }
    for (size_t sent = 0; sent < size;) {
        ssize_t wrote = send(s, data + sent, size - sent, MSG_NOSIGNAL);
        if (wrote <= 0) break;
        sent += (size_t)wrote;
    }
    shutdown(s, SHUT_WR);
    char reply[4096];
    while (recv(s, reply, sizeof reply, 0) > 0) {}
    close(s);
    return 0;
}
