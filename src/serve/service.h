/* glassbox serve: predictions and explanations over HTTP, every answer audited. A consumer of
 * the library like the CLI: it uses glassbox.h alone.
 *
 *   config.c   the service's JSON config: where it listens, its models, tokens, audit store
 *   models.c   the models it serves: versions loaded per name, explainers made once
 *   audit.c    the hash-chained audit store (SQLite), its verification and lookups
 *   answer.c   requests read into data, and explanations written as the service's JSON
 *   jobs.c     explanations on threads of their own: deadlines, asynchronous answers
 *   cache.c    answers already computed, by model version, method, role and rows (LRU)
 *   metrics.c  counters and latency histograms, in Prometheus's text format
 *   page.c     the page for loan officers (GET /)
 *   server.c   the HTTP server (libmicrohttpd), its routes and the callers' roles */
#ifndef GBX_SERVE_SERVICE_H
#define GBX_SERVE_SERVICE_H

#include "glassbox.h"

#include <json-c/json.h>
#include <pthread.h>

/* Fills error (when given) and returns status, as the library's own errors read. */
gbx_status service_fail(gbx_error *error, gbx_status status, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- explainer options -------------------------------------------------------------------- */

/* Applies {"name": value} options (max_evals, seed, tolerance, sample_background, steps,
 * samples, lime_features, output_space) onto options; with `allowed` (NULL: any), only those
 * names. */
gbx_status service_options_apply(json_object *given, char *const *allowed, size_t allowed_count,
                                 gbx_explainer_options *options, gbx_error *error);
int service_option_known(const char *name);

/* ---- config -------------------------------------------------------------------------------- */

typedef struct {
    char *name;        /* the URL's NAME */
    char *path;        /* the model file (or URL) */
    char *method;      /* as --method spells it (default "auto") */
    char *background;  /* a CSV, or NULL */
    char *features;    /* feature metadata JSON, or NULL */
    double threshold;  /* a decision threshold, or NAN: none */
    double deadline;   /* seconds an explanation may take before its answer is a 504 */
    char *options;     /* explainer options (JSON object text), or NULL */
    char **overrides;  /* the options a request may change */
    size_t override_count;
} service_model_config;

typedef struct {
    char sha256[65];   /* of the bearer token */
    char *name;        /* the caller, as the audit records them */
    gbx_audience role; /* what the caller may see */
} service_token;

typedef struct {
    char *host;               /* "127.0.0.1" unless the config says otherwise */
    unsigned short port;
    service_model_config *models;
    size_t model_count;
    service_token *tokens;    /* none: every caller is an applicant */
    size_t token_count;
    char *audit_store;        /* the audit store: an SQLite file, or a postgresql:// URL */
    int audit_inputs;         /* 1: the audit keeps inputs; 0: only their SHA-256 */
    size_t body_limit;        /* largest request body, bytes */
    unsigned connections;     /* served at once, each on a thread of its own (then refused) */
    size_t jobs;              /* explanations under way at most (then 503) */
    double keep_results;      /* seconds an asynchronous answer is kept once done */
    size_t cache_bytes;       /* the explanation cache's bound (0: no cache) */
    size_t keep_versions;     /* versions of each model kept loaded after a reload */
} service_config;

gbx_status service_config_read(const char *path, service_config *config, gbx_error *error);
void service_config_free(service_config *config);

/* ---- models ------------------------------------------------------------------------------- */

typedef struct {
    const service_model_config *config;
    gbx_model *model;
    gbx_data *background;
    gbx_feature_metadata *features;
    gbx_explainer *explainer;
    gbx_explainer_options options; /* what the explainer was made with */
    char **feature_names;     /* the model's, or f0, f1... */
    size_t feature_count;
    const char *version;      /* the model file's SHA-256, or a served model's version */
    int references;           /* the registry's and each request's (under the registry's lock) */
} service_model;

/* One version of a configured model, loaded with its explainer. */
gbx_status service_model_load(const service_model_config *config, service_model **out,
                              gbx_error *error);
/* Frees a model loaded alone (outside a registry). */
void service_model_release_loaded(service_model *model);

/* The versions loaded, per configured name. */
typedef struct service_registry service_registry;
gbx_status service_registry_open(const service_config *config, size_t keep,
                                 service_registry **out, gbx_error *error);
void service_registry_close(service_registry *registry);
enum { SERVICE_MODEL_FOUND, SERVICE_NO_MODEL, SERVICE_NO_VERSION };
/* The model of that name, at that version (NULL: the newest), held until released. */
int service_registry_acquire(service_registry *registry, const char *name, size_t length,
                             const char *version, service_model **out);
/* Holds a model once more (a job that outlives its request). */
void service_registry_hold(service_registry *registry, service_model *model);
void service_registry_release(service_registry *registry, service_model *model);
/* The versions loaded under a name, newest first (a JSON list). */
json_object *service_registry_versions(service_registry *registry, const char *name,
                                       size_t length);
size_t service_registry_names(const service_registry *registry);
/* The configured name a URL's name is, or NULL. */
const char *service_registry_known(const service_registry *registry, const char *name,
                                   size_t length);
const char *service_registry_name(const service_registry *registry, size_t i);
/* Loads every model's file again; *changed counts the new versions. */
gbx_status service_registry_reload(service_registry *registry, size_t *changed,
                                   gbx_error *error);

/* ---- audit ------------------------------------------------------------------------------- */

typedef struct service_audit service_audit;

/* One record: what was asked and answered, by whom, from which model. */
typedef struct {
    const char *request_id, *caller, *role, *route, *model, *version, *method;
    const char *input;   /* the request's instances (JSON), or their SHA-256 */
    const char *options; /* the explainer options the request set (JSON), or NULL */
    const char *output;  /* the answer (JSON) */
} service_record;

gbx_status service_audit_open(const char *path, service_audit **out, gbx_error *error);
/* Appends a record, durable (committed with synchronous=FULL) before it returns. */
gbx_status service_audit_append(service_audit *audit, const service_record *record,
                                gbx_error *error);
void service_audit_close(service_audit *audit);
/* Whether answers can be audited now (a lost PostgreSQL connection is re-made here). */
int service_audit_ready(service_audit *audit);
/* The records between two times (ISO 8601, as recorded; NULL: open) of a model (NULL: any),
 * oldest first, at most limit. */
gbx_status service_audit_query(const char *path, const char *from, const char *to,
                               const char *model, long limit, json_object **records,
                               gbx_error *error);
/* Checks the chain: each row's hash over the previous hash and its own content. *broken is 0
 * when every row holds, else the sequence number of the first that does not. */
gbx_status service_audit_verify(const char *path, long long *broken, size_t *rows,
                                gbx_error *error);
/* The stored record of a request (its JSON, malloc'd), or NULL in *json when there is none. */
gbx_status service_audit_show(const char *path, const char *request_id, char **json,
                              gbx_error *error);

/* ---- answers ------------------------------------------------------------------------------ */

/* The request's "instances" as data in the model's feature order: objects by feature name
 * (null: missing), or arrays in that order. Fails with a message naming the problem. */
gbx_status service_instances(const service_model *model, json_object *instances, gbx_data **out,
                             gbx_error *error);
/* The explanation as the service answers it, for the caller's role: per row the base value,
 * the values by feature (sensitive features as the role may see them) and the reasons. */
gbx_status service_explanations(const service_model *model, const gbx_explanation *explanation,
                                 gbx_audience role, json_object **out, gbx_error *error);

/* ---- jobs --------------------------------------------------------------------------------- */

typedef struct service_jobs service_jobs;
typedef struct service_job service_job;
/* A job's work: returns the answer's JSON (malloc'd) and sets its HTTP status; it calls
 * service_job_claim before it audits, and returns NULL when the claim is refused. */
typedef char *(*service_job_work)(service_job *job, void *context, unsigned *status);

service_jobs *service_jobs_new(size_t limit, double keep_seconds);
/* Waits for running jobs, then frees. */
void service_jobs_free(service_jobs *jobs);
/* Starts work(context) on a thread of its own (release(context) when the job is freed); kept:
 * registered under id for service_job_find (an asynchronous request). Refused when `limit`
 * jobs run. The caller must end with service_job_wait or service_job_leave. */
gbx_status service_job_start(service_jobs *jobs, const char *id, const char *owner, int kept,
                             service_job_work work, void *context, void (*release)(void *),
                             service_job **out, gbx_error *error);
/* The job's right to answer: 0 when its waiter gave up (its answer is then dropped). */
int service_job_claim(service_job *job);
/* Waits up to `seconds`: 1 with the answer (a copy), or 0, the job abandoned unless kept. */
int service_job_wait(service_job *job, double seconds, unsigned *status, char **answer);
void service_job_leave(service_job *job);
enum { SERVICE_JOB_UNKNOWN, SERVICE_JOB_FORBIDDEN, SERVICE_JOB_RUNNING, SERVICE_JOB_DONE };
/* A kept job by id, for its caller (or any caller): SERVICE_JOB_*, the answer when DONE. */
int service_job_find(service_jobs *jobs, const char *id, const char *caller, int any_caller,
                     unsigned *status, char **answer);

/* ---- cache --------------------------------------------------------------------------------- */

typedef struct service_cache service_cache;
/* A cache of at most `limit` bytes (0: none). */
service_cache *service_cache_new(size_t limit);
void service_cache_free(service_cache *cache);
/* The value under a 64-digit key (a copy), or NULL. */
char *service_cache_get(service_cache *cache, const char *key);
void service_cache_put(service_cache *cache, const char *key, const char *value);

/* ---- metrics ------------------------------------------------------------------------------ */

typedef struct service_metrics service_metrics;
service_metrics *service_metrics_new(void);
void service_metrics_free(service_metrics *metrics);
/* One answered request: its route, model ("" for none), HTTP status and time taken. */
void service_metrics_observe(service_metrics *metrics, const char *route, const char *model,
                             unsigned status, double seconds);
/* One audit append (and whether it was durable), and the appends waiting or under way. */
void service_metrics_audit(service_metrics *metrics, double seconds, int ok);
void service_metrics_audit_waiting(service_metrics *metrics, int change);
/* One explanation looked up in the cache, found or not. */
void service_metrics_cache(service_metrics *metrics, int hit);
/* Everything, in Prometheus's text format (malloc'd). */
char *service_metrics_text(service_metrics *metrics);

/* ---- server -------------------------------------------------------------------------------- */

/* [[output, ...] per row] as JSON. */
json_object *service_predictions_json(const double *predictions, size_t rows, size_t outputs);
/* An explain answer's body, the members "predictions" and "explanations" (for the role), as
 * text: what the cache keeps and an audit replay recomputes. */
char *service_answer_body(const service_model *model, const gbx_explainer *explainer,
                          const gbx_data *data, gbx_audience role, gbx_error *error);
/* The whole answer: {"id", "model_name", "model_version", BODY}. */
char *service_answer_compose(const char *id, const service_model *model, const char *body);


/* The officer's page (page.c): HTML with its style and script inline. */
const char *service_page(void);

/* Runs until SIGTERM or SIGINT: serves, then drains (SIGHUP reloads the models). */
gbx_status service_run(const service_config *config, gbx_error *error);
/* The same in parts, for a program that serves beside other work (the fuzz target): serving
 * starts on the config's address (port 0: a free one, see service_port), and stops, draining. */
typedef struct service_server service_server;
gbx_status service_start(const service_config *config, service_server **out, gbx_error *error);
unsigned service_port(const service_server *server);
void service_stop(service_server *server);

#endif
