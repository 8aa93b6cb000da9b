/* Models behind a persistent child process: --model 'cmd:COMMAND'.
 *
 * The line protocol (also in the README). glassbox runs COMMAND with /bin/sh -c; its standard
 * input and output are one end of a socket pair. The child first writes two CSV lines: its
 * feature names, then its output names. Then, for each batch, glassbox writes one CSV line per
 * row (numbers as %.17g, a missing value as an empty field) and an empty line; the child
 * answers one line per row with its outputs, comma-separated, in row order. Standard error is
 * left alone (the child's messages reach the terminal).
 *
 * Writing and reading run together under poll(), so a batch larger than the socket buffers
 * cannot deadlock; every wait is bounded by the timeout, and a child that exits, stops
 * answering or answers something else gives an error naming the row. */
#include "model.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    char *command;
    pid_t pid;
    int fd;             /* our end of the socket pair */
    int timeout_ms;
    int broken;         /* after a failure the child's state is unknown: refuse further use */
    char failure[1024]; /* the first failure's message, for every batch after it */
    gbx_status failure_status;
    const char *awaited; /* "header lines" at start, then "rows": for messages */
    pthread_mutex_t lock;
    size_t answered;    /* rows answered so far, to name the row a surplus line follows */
} command_adapter;

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void stop_child(command_adapter *a)
{
    if (a->fd >= 0) close(a->fd);
    a->fd = -1;
    if (a->pid > 0) {
        int status, reaped = 0;
        /* Closing its input usually ends it; otherwise ask, then insist. The signals go to the
         * child's process group: /bin/sh and the model it started (and anything that started)
         * stop together, and nothing is left running after a timeout. */
        for (int i = 0; i < 20 && !(reaped = waitpid(a->pid, &status, WNOHANG) != 0); i++) {
            if (i == 10) kill(-a->pid, SIGTERM);
            struct timespec pause = {0, 10 * 1000 * 1000};
            nanosleep(&pause, NULL);
        }
        kill(-a->pid, SIGKILL); /* what remains of the group, the shell gone or not */
        if (!reaped) waitpid(a->pid, &status, 0);
    }
    a->pid = -1;
}

static void release(gbx_model *model)
{
    command_adapter *a = model->adapter;
    if (!a) return;
    stop_child(a);
    pthread_mutex_destroy(&a->lock);
    free(a->command);
    free(a);
    model->adapter = NULL;
}

/* Why the child stopped, for messages. */
static void describe_exit(command_adapter *a, char *out, size_t size)
{
    int status;
    pid_t done = 0;
    /* The output usually closes as the child exits: give it a moment to be reaped. */
    for (int i = 0; a->pid > 0 && i < 100 && done == 0; i++) {
        done = waitpid(a->pid, &status, WNOHANG);
        if (done == 0) {
            struct timespec pause = {0, 5 * 1000 * 1000};
            nanosleep(&pause, NULL);
        }
    }
    if (done == a->pid && WIFEXITED(status))
        snprintf(out, size, "exited with status %d", WEXITSTATUS(status));
    else if (done == a->pid && WIFSIGNALED(status))
        snprintf(out, size, "was killed by signal %d", WTERMSIG(status));
    else
        snprintf(out, size, "closed its output");
    if (done == a->pid) a->pid = -1;
}

/* A line arrived when none was due: the model answered more lines than rows, to the batch
 * of `rows` rows sent after the first `a->answered` (0 rows: before a batch was sent). */
static gbx_status surplus(command_adapter *a, size_t rows, gbx_error *error)
{
    a->broken = 1;
    if (!rows)
        return gbx_fail(error, GBX_ERR_PARSE, "model command \"%s\" answered more lines than "
                        "rows: a line arrived when none was due, after the answer to row %zu "
                        "(one line per row, as the protocol asks)", a->command, a->answered);
    return gbx_fail(error, GBX_ERR_PARSE, "model command \"%s\" answered more lines than rows: "
                    "more than %zu lines for rows %zu to %zu (one line per row, as the protocol "
                    "asks)", a->command, rows, a->answered + 1, a->answered + rows);
}

/* Exchanges `out_length` bytes of input for `lines` complete lines of output, appended to
 * *answer (NUL-terminated), of at most `limit` bytes: what the lines can need, so a child
 * that never ends its line cannot grow memory without bound. */
static gbx_status exchange(command_adapter *a, const char *input, size_t out_length, size_t lines,
                           size_t limit, char **answer, size_t *answer_length, gbx_error *error)
{
    size_t written = 0, got_lines = 0, capacity = 4096, length = 0;
    /* Nothing is due before this batch is written: a line waiting now answers no row, and
     * reading it as this batch's first answer would shift every answer after it. */
    struct pollfd early = {a->fd, POLLIN, 0};
    char probe;
    if (out_length && poll(&early, 1, 0) == 1 && (early.revents & POLLIN) &&
        recv(a->fd, &probe, 1, MSG_PEEK | MSG_DONTWAIT) == 1)
        return surplus(a, 0, error);
    char *text = malloc(capacity);
    if (!text) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    double deadline = now_ms() + a->timeout_ms;
    while (written < out_length || got_lines < lines) {
        struct pollfd p = {a->fd, (short)(POLLIN | (written < out_length ? POLLOUT : 0)), 0};
        int wait = (int)(deadline - now_ms());
        if (wait <= 0 || poll(&p, 1, wait) == 0) {
            free(text);
            a->broken = 1;
            return gbx_fail(error, GBX_ERR_IO, "model command \"%s\": no answer within %.0f s "
                            "(%zu of %zu %s answered; options.timeout_seconds sets the limit)",
                            a->command, a->timeout_ms / 1e3, got_lines, lines, a->awaited);
        }
        if ((p.revents & POLLOUT) && written < out_length) {
            ssize_t n = send(a->fd, input + written, out_length - written, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n < 0 && errno != EAGAIN && errno != EINTR) {
                char why[64];
                describe_exit(a, why, sizeof why);
                free(text);
                a->broken = 1;
                return gbx_fail(error, GBX_ERR_IO, "model command \"%s\" %s while reading rows",
                                a->command, why);
            }
            if (n > 0) written += (size_t)n;
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            if (length + 65536 + 1 > capacity) {
                while (length + 65536 + 1 > capacity) capacity *= 2;
                char *grown = realloc(text, capacity);
                if (!grown) { free(text); return gbx_fail(error, GBX_ERR_NOMEM, "out of memory"); }
                text = grown;
            }
            ssize_t n = recv(a->fd, text + length, 65536, MSG_DONTWAIT);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                char why[64];
                describe_exit(a, why, sizeof why);
                free(text);
                a->broken = 1;
                return gbx_fail(error, GBX_ERR_IO, "model command \"%s\" %s after %zu of %zu "
                                "%s", a->command, why, got_lines, lines, a->awaited);
            }
            for (ssize_t i = 0; i < n; i++)
                if (text[length + (size_t)i] == '\n') got_lines++;
            if (n > 0) length += (size_t)n;
            if (length > limit) {
                free(text);
                a->broken = 1;
                return gbx_fail(error, GBX_ERR_PARSE, "model command \"%s\" answered more than "
                                "%zu bytes for %zu %s (after %zu lines), more than they can "
                                "need", a->command, limit, lines, a->awaited, got_lines);
            }
        }
    }
    /* Anything past the expected lines answers no row. */
    size_t end = 0, seen = 0;
    while (seen < lines) if (text[end++] == '\n') seen++;
    if (end < length) {
        free(text);
        return surplus(a, out_length ? lines : 0, error);
    }
    text[end] = '\0';
    *answer = text;
    *answer_length = end;
    return GBX_OK;
}

/* Splits a CSV line (no quoting needed for names the protocol carries) into names. */
static char **split_names(const char *line, size_t *count)
{
    size_t n = 1;
    for (const char *p = line; *p; p++) n += *p == ',';
    char **names = calloc(n, sizeof(char *));
    if (!names) return NULL;
    const char *start = line;
    for (size_t i = 0; i < n; i++) {
        const char *end = strchr(start, ',');
        size_t length = end ? (size_t)(end - start) : strlen(start);
        while (length && (start[length - 1] == '\r' || start[length - 1] == ' ')) length--;
        names[i] = malloc(length + 1);
        if (names[i]) {
            memcpy(names[i], start, length);
            names[i][length] = '\0';
        }
        start = end ? end + 1 : start + length;
    }
    *count = n;
    return names;
}

static gbx_status predict(const gbx_model *model, const double *rows, size_t count, double *out,
                          gbx_error *error)
{
    command_adapter *a = model->adapter;
    size_t M = model->features, K = model->outputs;
    if (count == 0) return GBX_OK;
    pthread_mutex_lock(&a->lock);
    gbx_status status = GBX_OK;
    /* Once broken, every batch fails as the first did, with its reason and rows (another
     * thread's batch may be the one whose error is reported). */
    if (a->broken || a->fd < 0)
        status = gbx_fail(error, a->failure_status ? a->failure_status : GBX_ERR_IO, "%s",
                          a->failure[0] ? a->failure : "the model command failed earlier");
    /* The batch as CSV lines, then the empty line that ends it. */
    size_t capacity = count * (M ? M : 1) * 26 + count + 2, length = 0;
    char *input = status == GBX_OK ? malloc(capacity) : NULL;
    if (status == GBX_OK && !input) status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    for (size_t r = 0; status == GBX_OK && r < count; r++) {
        for (size_t f = 0; f < M; f++) {
            double x = rows[r * M + f];
            if (f) input[length++] = ',';
            if (x == x) length += (size_t)snprintf(input + length, capacity - length, "%.17g", x);
        }
        input[length++] = '\n';
    }
    if (status == GBX_OK) input[length++] = '\n';
    char *answer = NULL;
    size_t answer_length = 0;
    if (status == GBX_OK)
        /* A number takes at most 24 characters as %.17g; a line K of them, with room for
         * spaces and CRLF. */
        status = exchange(a, input, length, count, count * (K * 64 + 64) + 4096, &answer,
                          &answer_length, error);
    const char *p = answer;
    for (size_t r = 0; status == GBX_OK && r < count; r++) {
        const char *line = p;
        for (size_t k = 0; status == GBX_OK && k < K; k++) {
            char *end;
            errno = 0;
            out[r * K + k] = strtod(p, &end);
            int separator_ok = k + 1 < K ? *end == ',' : (*end == '\n' || *end == '\r');
            if (end == p || !separator_ok || !isfinite(out[r * K + k])) {
                const char *stop = strchr(line, '\n');
                a->broken = 1;
                status = gbx_fail(error, GBX_ERR_PARSE, "model command \"%s\": answer for row "
                                  "%zu is \"%.*s\", expected %zu%s", a->command, r + 1,
                                  (int)((stop ? stop : line + strlen(line)) - line > 80
                                            ? 80 : (stop ? stop : line + strlen(line)) - line),
                                  line, K, K > 1 ? " finite numbers separated by commas"
                                                 : " finite number");
                break;
            }
            p = end + 1;
        }
        if (status == GBX_OK && p[-1] == '\r') p++; /* CRLF */
    }
    if (status == GBX_OK) a->answered += count;
    if (status != GBX_OK && !a->failure[0] && error) {
        snprintf(a->failure, sizeof a->failure, "%s", error->message);
        a->failure_status = status;
    }
    free(input);
    free(answer);
    pthread_mutex_unlock(&a->lock);
    return status;
}

gbx_status gbx_command_load(const char *command, double timeout_seconds, gbx_model *model,
                            gbx_error *error)
{
    command_adapter *a = calloc(1, sizeof *a);
    if (!a) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    a->fd = -1;
    a->pid = -1;
    a->timeout_ms = (int)(timeout_seconds > 0 ? timeout_seconds * 1e3 : 60e3);
    pthread_mutex_init(&a->lock, NULL);
    model->adapter = a;
    model->release_adapter = release;
    if (!(a->command = gbx_strdup(command))) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
        return gbx_fail(error, GBX_ERR_IO, "cannot create a socket pair: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) {
        close(pair[0]);
        close(pair[1]);
        return gbx_fail(error, GBX_ERR_IO, "cannot start \"%s\": %s", command, strerror(errno));
    }
    if (pid == 0) {
        setpgid(0, 0); /* a process group of its own, stopped as one */
        dup2(pair[1], STDIN_FILENO);
        dup2(pair[1], STDOUT_FILENO);
        execl("/bin/sh", "sh", "-c", command, (char *)NULL);
        _exit(127);
    }
    close(pair[1]);
    setpgid(pid, pid); /* as the child does: whichever runs first, the group exists */
    a->pid = pid;
    a->fd = pair[0];
    /* The two header lines: feature names, output names. */
    a->awaited = "header lines (feature names, output names)";
    char *header = NULL;
    size_t header_length;
    gbx_status status = exchange(a, "", 0, 2, (size_t)16 << 20, &header, &header_length, error);
    if (status != GBX_OK) return status;
    char *second = strchr(header, '\n');
    *second++ = '\0';
    second[strcspn(second, "\n")] = '\0';
    size_t M = 0, K = 0;
    model->feature_names = split_names(header, &M);
    model->features = model->feature_names ? M : 0;
    model->output_names = split_names(second, &K);
    model->outputs = model->output_names ? K : 0;
    free(header);
    if (!model->feature_names || !model->output_names)
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    if (K > 64)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "model command \"%s\": %zu outputs (1 to 64 "
                        "supported)", command, K);
    a->awaited = "rows";
    model->objective = gbx_strdup("command");
    model->predict_raw = predict;
    gbx_sha256_buffer(command, strlen(command), model->sha256);
    return model->objective ? GBX_OK : gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
}
