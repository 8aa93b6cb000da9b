/* What /metrics reports, in Prometheus's text format: requests by route, model and status,
 * request latency histograms by route and model, and the audit store's write latency, failures
 * and backlog (appends waiting or under way). One lock; a request takes it once. */
#include "service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Histogram bounds, seconds: 0.5 ms to 10 s. */
static const double bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                0.5, 1, 2.5, 10};
#define BOUNDS (sizeof bounds / sizeof bounds[0])

typedef struct {
    unsigned long long counts[BOUNDS + 1]; /* per bucket (not cumulative); the last: +Inf */
    unsigned long long total;
    double sum;
} histogram;

/* One (route, model) pair: its latency, and its requests by status. */
typedef struct {
    char *route, *model;
    histogram latency;
    unsigned statuses[8];
    unsigned long long by_status[8];
    size_t status_count;
} series;

struct service_metrics {
    pthread_mutex_t lock;
    series *series;
    size_t count, capacity;
    histogram audit;
    unsigned long long audit_failures;
    long long audit_waiting;
    unsigned long long cache_hits, cache_misses;
};

service_metrics *service_metrics_new(void)
{
    service_metrics *m = calloc(1, sizeof *m);
    if (m) pthread_mutex_init(&m->lock, NULL);
    return m;
}

void service_metrics_free(service_metrics *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->count; i++) {
        free(m->series[i].route);
        free(m->series[i].model);
    }
    free(m->series);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static void record(histogram *h, double seconds)
{
    size_t b = 0;
    while (b < BOUNDS && seconds > bounds[b]) b++;
    h->counts[b]++;
    h->total++;
    h->sum += seconds;
}

static series *find_series(service_metrics *m, const char *route, const char *model)
{
    for (size_t i = 0; i < m->count; i++)
        if (strcmp(m->series[i].route, route) == 0 && strcmp(m->series[i].model, model) == 0)
            return &m->series[i];
    if (m->count == m->capacity) {
        size_t capacity = m->capacity ? 2 * m->capacity : 16;
        series *more = realloc(m->series, capacity * sizeof *more);
        if (!more) return NULL;
        m->series = more;
        m->capacity = capacity;
    }
    series *s = &m->series[m->count];
    memset(s, 0, sizeof *s);
    s->route = strdup(route);
    s->model = strdup(model);
    if (!s->route || !s->model) {
        free(s->route);
        free(s->model);
        return NULL;
    }
    m->count++;
    return s;
}

void service_metrics_observe(service_metrics *m, const char *route, const char *model,
                             unsigned status, double seconds)
{
    pthread_mutex_lock(&m->lock);
    series *s = find_series(m, route, model);
    if (s) {
        record(&s->latency, seconds);
        size_t i = 0;
        while (i < s->status_count && s->statuses[i] != status) i++;
        if (i == s->status_count && i < sizeof s->statuses / sizeof s->statuses[0])
            s->statuses[s->status_count++] = status;
        if (i < s->status_count) s->by_status[i]++;
    }
    pthread_mutex_unlock(&m->lock);
}

void service_metrics_audit(service_metrics *m, double seconds, int ok)
{
    pthread_mutex_lock(&m->lock);
    record(&m->audit, seconds);
    if (!ok) m->audit_failures++;
    pthread_mutex_unlock(&m->lock);
}

void service_metrics_cache(service_metrics *m, int hit)
{
    pthread_mutex_lock(&m->lock);
    if (hit) m->cache_hits++;
    else m->cache_misses++;
    pthread_mutex_unlock(&m->lock);
}

void service_metrics_audit_waiting(service_metrics *m, int change)
{
    pthread_mutex_lock(&m->lock);
    m->audit_waiting += change;
    pthread_mutex_unlock(&m->lock);
}

static void write_histogram(FILE *f, const char *name, const char *labels, const histogram *h)
{
    unsigned long long cumulative = 0;
    for (size_t b = 0; b <= BOUNDS; b++) {
        cumulative += h->counts[b];
        char bound[32];
        if (b < BOUNDS) snprintf(bound, sizeof bound, "%g", bounds[b]);
        else snprintf(bound, sizeof bound, "+Inf");
        fprintf(f, "%s_bucket{%s%sle=\"%s\"} %llu\n", name, labels, *labels ? "," : "", bound,
                cumulative);
    }
    fprintf(f, "%s_sum%s%s%s %.9g\n", name, *labels ? "{" : "", labels, *labels ? "}" : "", h->sum);
    fprintf(f, "%s_count%s%s%s %llu\n", name, *labels ? "{" : "", labels, *labels ? "}" : "",
            h->total);
}

char *service_metrics_text(service_metrics *m)
{
    char *text = NULL;
    size_t length = 0;
    FILE *f = open_memstream(&text, &length);
    if (!f) return NULL;
    pthread_mutex_lock(&m->lock);
    fputs("# HELP glassbox_requests_total Requests answered, by route, model and HTTP status.\n"
          "# TYPE glassbox_requests_total counter\n", f);
    for (size_t i = 0; i < m->count; i++)
        for (size_t j = 0; j < m->series[i].status_count; j++)
            fprintf(f, "glassbox_requests_total{route=\"%s\",model=\"%s\",code=\"%u\"} %llu\n",
                    m->series[i].route, m->series[i].model, m->series[i].statuses[j],
                    m->series[i].by_status[j]);
    fputs("# HELP glassbox_request_seconds Time from a request's headers to its answer.\n"
          "# TYPE glassbox_request_seconds histogram\n", f);
    for (size_t i = 0; i < m->count; i++) {
        char labels[512];
        snprintf(labels, sizeof labels, "route=\"%s\",model=\"%s\"", m->series[i].route,
                 m->series[i].model);
        write_histogram(f, "glassbox_request_seconds", labels, &m->series[i].latency);
    }
    fputs("# HELP glassbox_audit_write_seconds Time to append an answer to the audit store, "
          "durably.\n# TYPE glassbox_audit_write_seconds histogram\n", f);
    write_histogram(f, "glassbox_audit_write_seconds", "", &m->audit);
    fprintf(f, "# HELP glassbox_audit_failures_total Answers withheld: the audit store refused "
            "them.\n# TYPE glassbox_audit_failures_total counter\nglassbox_audit_failures_total "
            "%llu\n# HELP glassbox_audit_backlog Audit appends waiting or under way.\n"
            "# TYPE glassbox_audit_backlog gauge\nglassbox_audit_backlog %lld\n",
            m->audit_failures, m->audit_waiting);
    fprintf(f, "# HELP glassbox_cache_lookups_total Explanations looked up in the cache.\n"
            "# TYPE glassbox_cache_lookups_total counter\n"
            "glassbox_cache_lookups_total{result=\"hit\"} %llu\n"
            "glassbox_cache_lookups_total{result=\"miss\"} %llu\n",
            m->cache_hits, m->cache_misses);
    pthread_mutex_unlock(&m->lock);
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}
