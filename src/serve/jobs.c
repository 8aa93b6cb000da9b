/* Explanations as jobs, each on a thread of its own, so that no connection waits past its
 * deadline and a slow method (KernelSHAP on a served black box) can answer later:
 *   - a waiter gives up at its deadline: the job is abandoned, and its answer, when it comes,
 *     is neither audited nor kept (the caller got a 504);
 *   - once a job has claimed the right to answer (before it audits), its waiter sees it through,
 *     so an answer that is audited is an answer that is given;
 *   - asynchronous jobs are kept under their id for their caller to fetch, finished ones for
 *     `keep` seconds;
 *   - at most `limit` jobs run at once: the next is refused (503), never queued without bound. */
#include "service.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { RUNNING, ANSWERING, DONE, ABANDONED };

struct service_job {
    service_jobs *jobs;
    char id[160], owner[128];
    int state, kept;       /* kept: registered for fetching (asynchronous) */
    unsigned status;       /* the answer's HTTP status, once DONE */
    char *answer;          /* its JSON */
    time_t finished;
    int references;        /* the running thread, a waiter, the table */
    service_job_work work;
    void *context;
    void (*release)(void *context);
    pthread_cond_t changed;
};

struct service_jobs {
    pthread_mutex_t lock;
    size_t running, limit;
    double keep;
    service_job **kept;
    size_t count, capacity;
};

service_jobs *service_jobs_new(size_t limit, double keep_seconds)
{
    service_jobs *jobs = calloc(1, sizeof *jobs);
    if (!jobs) return NULL;
    pthread_mutex_init(&jobs->lock, NULL);
    jobs->limit = limit;
    jobs->keep = keep_seconds;
    return jobs;
}

/* Drops one reference (the lock held); the last frees the job. */
static void unreference(service_job *job)
{
    if (--job->references > 0) return;
    if (job->release) job->release(job->context);
    free(job->answer);
    pthread_cond_destroy(&job->changed);
    free(job);
}

void service_jobs_free(service_jobs *jobs)
{
    if (!jobs) return;
    pthread_mutex_lock(&jobs->lock);
    while (jobs->running) { /* threads still at work hold the table's lock in turn */
        pthread_mutex_unlock(&jobs->lock);
        struct timespec pause = {0, 10000000};
        nanosleep(&pause, NULL);
        pthread_mutex_lock(&jobs->lock);
    }
    for (size_t i = 0; i < jobs->count; i++) unreference(jobs->kept[i]);
    pthread_mutex_unlock(&jobs->lock);
    free(jobs->kept);
    pthread_mutex_destroy(&jobs->lock);
    free(jobs);
}

/* Forgets finished jobs kept longer than `keep` (the lock held). */
static void sweep(service_jobs *jobs)
{
    time_t now = time(NULL);
    size_t kept = 0;
    for (size_t i = 0; i < jobs->count; i++) {
        service_job *job = jobs->kept[i];
        if (job->state == DONE && difftime(now, job->finished) > jobs->keep) unreference(job);
        else jobs->kept[kept++] = job;
    }
    jobs->count = kept;
}

int service_job_claim(service_job *job)
{
    pthread_mutex_lock(&job->jobs->lock);
    int claimed = job->state == RUNNING;
    if (claimed) job->state = ANSWERING;
    pthread_mutex_unlock(&job->jobs->lock);
    return claimed;
}

static void *run(void *argument)
{
    service_job *job = argument;
    unsigned status = 500;
    char *answer = job->work(job, job->context, &status);
    service_jobs *jobs = job->jobs;
    pthread_mutex_lock(&jobs->lock);
    if (job->state == ABANDONED) {
        free(answer);
    } else {
        job->state = DONE;
        job->status = status;
        job->answer = answer;
        job->finished = time(NULL);
        pthread_cond_broadcast(&job->changed);
    }
    jobs->running--;
    unreference(job);
    pthread_mutex_unlock(&jobs->lock);
    return NULL;
}

gbx_status service_job_start(service_jobs *jobs, const char *id, const char *owner, int kept,
                             service_job_work work, void *context, void (*release)(void *),
                             service_job **out, gbx_error *error)
{
    service_job *job = calloc(1, sizeof *job);
    if (!job) return service_fail(error, GBX_ERR_NOMEM, "out of memory");
    job->jobs = jobs;
    snprintf(job->id, sizeof job->id, "%s", id);
    snprintf(job->owner, sizeof job->owner, "%s", owner);
    job->work = work;
    job->context = context;
    job->release = release;
    job->kept = kept;
    job->references = 2 + kept; /* the thread, the starter, the table */
    pthread_cond_init(&job->changed, NULL);
    pthread_mutex_lock(&jobs->lock);
    sweep(jobs);
    gbx_status status = GBX_OK;
    if (jobs->running >= jobs->limit)
        status = service_fail(error, GBX_ERR_UNSUPPORTED, "busy: %zu explanations under way; "
                              "ask again shortly", jobs->running);
    for (size_t i = 0; status == GBX_OK && kept && i < jobs->count; i++)
        if (strcmp(jobs->kept[i]->id, id) == 0)
            status = service_fail(error, GBX_ERR_USAGE, "an explanation with id %s is already "
                                  "kept", id);
    if (status == GBX_OK && kept && jobs->count == jobs->capacity) {
        size_t capacity = jobs->capacity ? 2 * jobs->capacity : 64;
        service_job **more = realloc(jobs->kept, capacity * sizeof *more);
        if (!more) status = service_fail(error, GBX_ERR_NOMEM, "out of memory");
        else jobs->kept = more, jobs->capacity = capacity;
    }
    pthread_t thread;
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    if (status == GBX_OK && pthread_create(&thread, &attributes, run, job) != 0)
        status = service_fail(error, GBX_ERR_INTERNAL, "cannot start a thread");
    pthread_attr_destroy(&attributes);
    if (status == GBX_OK) {
        jobs->running++;
        if (kept) jobs->kept[jobs->count++] = job;
        *out = job;
    } else {
        job->release = NULL; /* the caller keeps its context */
        job->references = 1;
        unreference(job);
    }
    pthread_mutex_unlock(&jobs->lock);
    return status;
}

int service_job_wait(service_job *job, double seconds, unsigned *status, char **answer)
{
    service_jobs *jobs = job->jobs;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)seconds;
    until.tv_nsec += (long)((seconds - (double)(time_t)seconds) * 1e9);
    if (until.tv_nsec >= 1000000000L) until.tv_sec++, until.tv_nsec -= 1000000000L;
    pthread_mutex_lock(&jobs->lock);
    while (job->state == RUNNING &&
           pthread_cond_timedwait(&job->changed, &jobs->lock, &until) != ETIMEDOUT) {}
    while (job->state == ANSWERING) pthread_cond_wait(&job->changed, &jobs->lock);
    int done = job->state == DONE;
    if (done) {
        *status = job->status;
        *answer = job->answer ? strdup(job->answer) : NULL;
    } else if (!job->kept) {
        job->state = ABANDONED;
    }
    unreference(job);
    pthread_mutex_unlock(&jobs->lock);
    return done;
}

void service_job_leave(service_job *job)
{
    pthread_mutex_lock(&job->jobs->lock);
    unreference(job);
    pthread_mutex_unlock(&job->jobs->lock);
}

int service_job_find(service_jobs *jobs, const char *id, const char *caller, int any_caller,
                     unsigned *status, char **answer)
{
    pthread_mutex_lock(&jobs->lock);
    sweep(jobs);
    int found = SERVICE_JOB_UNKNOWN;
    for (size_t i = 0; i < jobs->count; i++) {
        service_job *job = jobs->kept[i];
        if (strcmp(job->id, id) != 0) continue;
        if (!any_caller && strcmp(job->owner, caller) != 0) found = SERVICE_JOB_FORBIDDEN;
        else if (job->state != DONE) found = SERVICE_JOB_RUNNING;
        else {
            found = SERVICE_JOB_DONE;
            *status = job->status;
            *answer = job->answer ? strdup(job->answer) : NULL;
        }
        break;
    }
    pthread_mutex_unlock(&jobs->lock);
    return found;
}
