/* glassbox serve: the explanation service (src/serve/); glassbox audit: its audit store. */
#include "cli.h"
#include "../serve/service.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char serve_help[] =
    "usage: glassbox serve --config service.json\n\n"
    "Serves predictions and explanations over HTTP until SIGTERM or SIGINT (then finishes what\n"
    "is in flight). Every answer is appended to the audit store before it is sent.\n\n"
    "  --config F   the service's JSON config:\n"
    "               {\"listen\": \"127.0.0.1:8080\",\n"
    "                \"models\": [{\"name\": \"credit\", \"path\": \"model.json\", \"method\": \"tree\",\n"
    "                            \"background\": \"bg.csv\", \"features\": \"features.json\",\n"
    "                            \"threshold\": 0.5, \"deadline_seconds\": 30,\n"
    "                            \"options\": {\"max_evals\": 2000, \"seed\": 7},\n"
    "                            \"overrides\": [\"seed\"]}],\n"
    "                \"audit\": {\"sqlite\": \"audit.db\", \"inputs\": true},\n"
    "                (or \"audit\": {\"postgresql\": \"postgresql://HOST/DB\"})\n"
    "                \"tokens\": [{\"sha256\": \"HEX OF THE TOKEN\", \"name\": \"alice\",\n"
    "                            \"role\": \"analyst\"}],\n"
    "                \"limits\": {\"body_bytes\": 1048576, \"connections\": 256, \"jobs\": 64},\n"
    "                \"cache\": {\"bytes\": 67108864}, \"keep_versions\": 3}\n"
    "               (relative paths from the config's directory; port 0 takes a free one;\n"
    "               without tokens every caller is an applicant)\n\n"
    "routes: GET /healthz, /readyz, /metrics (Prometheus), /v1/models, /v1/models/NAME;\n"
    "        POST /v1/models/NAME:predict, /v1/models/NAME:explain\n"
    "        with {\"instances\": [{\"FEATURE\": value, ...} or [values...], ...],\n"
    "              \"id\": optional, \"model_version\": optional pin,\n"
    "              \"async\": true to be answered 202 and fetch GET /v1/explanations/ID};\n"
    "        GET /v2/models/NAME, POST /v2/models/NAME/infer (Open Inference Protocol);\n"
    "        auditors: GET /v1/audit?from=&to=&model=&limit=, POST /v1/admin/reload\n"
    "SIGHUP reloads the model files (the last keep_versions stay loaded for pinned requests).\n";

int cli_serve(int argc, char **argv)
{
    const char *config_path = NULL;
    static const struct option options[] = {{"config", required_argument, 0, 'c'},
                                            {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int option;
    optind = 1;
    while ((option = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (option == 'h') {
            fputs(serve_help, stdout);
            return EXIT_OK;
        }
        if (option == 'c') config_path = optarg;
        else return cli_usage_error("serve", "unknown or incomplete option");
    }
    if (!config_path) return cli_usage_error("serve", "--config is required");
    service_config config;
    gbx_error error = {0};
    gbx_status status = service_config_read(config_path, &config, &error);
    if (status == GBX_OK) {
        status = service_run(&config, &error);
        service_config_free(&config);
    }
    return status == GBX_OK ? EXIT_OK : cli_report(&error);
}

static const char audit_help[] =
    "usage: glassbox audit verify DB\n"
    "       glassbox audit show DB --request ID\n"
    "       glassbox audit replay DB --request ID --config service.json\n\n"
    "The service's audit store: DB is its SQLite file or its postgresql:// URL.\n"
    "  verify   checks the hash chain: every row's hash over the previous row's and its own\n"
    "           content; names the first row that breaks it (exit 2), or counts the rows\n"
    "  show     prints the records of one request (JSON)\n"
    "  replay   recomputes each explanation the request was answered with, from the model\n"
    "           file the config names (it must still be the version recorded), for the\n"
    "           caller's role, and says whether it is bit-identical to the recorded answer\n"
    "           (exit 0) or not (exit 2)\n";

static int audit_verify(const char *path)
{
    long long broken;
    size_t rows;
    gbx_error error = {0};
    if (service_audit_verify(path, &broken, &rows, &error) != GBX_OK) return cli_report(&error);
    if (broken) {
        fprintf(stderr, "glassbox: %s: the chain breaks at row %lld (its content or its link "
                "was changed)\n", path, broken);
        return EXIT_BAD_INPUT;
    }
    printf("%s: %zu rows, the chain holds\n", path, rows);
    return EXIT_OK;
}

static int audit_show(const char *path, const char *request)
{
    char *json = NULL;
    gbx_error error = {0};
    if (service_audit_show(path, request, &json, &error) != GBX_OK) return cli_report(&error);
    if (!json) {
        fprintf(stderr, "glassbox: %s: no record of request %s\n", path, request);
        return EXIT_BAD_INPUT;
    }
    puts(json);
    free(json);
    return EXIT_OK;
}

/* A JSON value as text in one canonical form (json-c keeps numbers' own digits). */
static char *canonical(json_object *o)
{
    return strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
}

/* The explainer a record's own options made (NULL: the model's, when it set none). */
static gbx_status recorded_explainer(const service_model *model, json_object *record,
                                     gbx_explainer **out, gbx_error *error)
{
    json_object *given;
    *out = NULL;
    if (!json_object_object_get_ex(record, "options", &given) ||
        !json_object_object_length(given))
        return GBX_OK;
    gbx_explainer_options options = model->options;
    gbx_status status = service_options_apply(given, NULL, 0, &options, error);
    return status == GBX_OK ? gbx_explainer_create(model->model, &options, out, error) : status;
}

/* Recomputes one recorded explanation; returns 1 identical, 0 different, -1 after an error. */
static int replay_record(const service_config *config, json_object *record, gbx_error *error)
{
    json_object *name, *version, *role_name, *input, *output, *id;
    gbx_audience role;
    if (!json_object_object_get_ex(record, "model", &name) ||
        !json_object_object_get_ex(record, "version", &version) ||
        !json_object_object_get_ex(record, "role", &role_name) ||
        !json_object_object_get_ex(record, "input", &input) ||
        !json_object_object_get_ex(record, "output", &output) ||
        !json_object_object_get_ex(record, "request_id", &id) ||
        gbx_audience_parse(json_object_get_string(role_name), &role) != GBX_OK ||
        !json_object_is_type(input, json_type_array))
        return service_fail(error, GBX_ERR_PARSE, "the record lacks what a replay needs (was it "
                            "audited with \"inputs\": false?)"), -1;
    const service_model_config *entry = NULL;
    for (size_t i = 0; i < config->model_count && !entry; i++)
        if (strcmp(config->models[i].name, json_object_get_string(name)) == 0)
            entry = &config->models[i];
    if (!entry)
        return service_fail(error, GBX_ERR_USAGE, "the config has no model %s",
                            json_object_get_string(name)), -1;
    service_model *model;
    if (service_model_load(entry, &model, error) != GBX_OK) return -1;
    int result = -1;
    gbx_data *data = NULL;
    gbx_explainer *explainer = NULL;
    char *body = NULL, *answer = NULL;
    if (strcmp(model->version, json_object_get_string(version)) != 0)
        service_fail(error, GBX_ERR_MISMATCH, "%s is now version %s; the record was answered by "
                     "version %s (keep that file to replay it)", entry->path, model->version,
                     json_object_get_string(version));
    else if (service_instances(model, input, &data, error) == GBX_OK &&
             recorded_explainer(model, record, &explainer, error) == GBX_OK &&
             (body = service_answer_body(model, explainer ? explainer : model->explainer, data,
                                         role, error)) != NULL &&
             (answer = service_answer_compose(json_object_get_string(id), model, body)) != NULL) {
        json_object *recomputed = json_tokener_parse(answer);
        char *a = recomputed ? canonical(recomputed) : NULL, *b = canonical(output);
        result = a && b && strcmp(a, b) == 0;
        free(a);
        free(b);
        json_object_put(recomputed);
    }
    free(answer);
    free(body);
    gbx_data_free(data);
    gbx_explainer_free(explainer);
    service_model_release_loaded(model);
    return result;
}

static int audit_replay(const char *path, const char *request, const char *config_path)
{
    char *json = NULL;
    gbx_error error = {0};
    service_config config;
    if (service_config_read(config_path, &config, &error) != GBX_OK) return cli_report(&error);
    if (service_audit_show(path, request, &json, &error) != GBX_OK) {
        service_config_free(&config);
        return cli_report(&error);
    }
    json_object *records = json ? json_tokener_parse(json) : NULL;
    free(json);
    size_t replayed = 0, identical = 0;
    int code = EXIT_OK;
    for (size_t i = 0; records && i < json_object_array_length(records) && code == EXIT_OK; i++) {
        json_object *record = json_object_array_get_idx(records, i), *route;
        if (!json_object_object_get_ex(record, "route", &route) ||
            !strstr(json_object_get_string(route), ":explain"))
            continue;
        int same = replay_record(&config, record, &error);
        if (same < 0) code = cli_report(&error);
        replayed++;
        identical += same == 1;
    }
    json_object_put(records);
    service_config_free(&config);
    if (code != EXIT_OK) return code;
    if (!replayed) {
        fprintf(stderr, "glassbox: %s: request %s has no explanation recorded\n", path, request);
        return EXIT_BAD_INPUT;
    }
    printf("request %s: %zu of %zu explanations recomputed bit-identical\n", request, identical,
           replayed);
    return identical == replayed ? EXIT_OK : EXIT_BAD_INPUT;
}

int cli_audit(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(audit_help, stdout);
        return EXIT_OK;
    }
    if (argc == 3 && strcmp(argv[1], "verify") == 0) return audit_verify(argv[2]);
    if (argc == 5 && strcmp(argv[1], "show") == 0 && strcmp(argv[3], "--request") == 0)
        return audit_show(argv[2], argv[4]);
    if (argc == 7 && strcmp(argv[1], "replay") == 0 && strcmp(argv[3], "--request") == 0 &&
        strcmp(argv[5], "--config") == 0)
        return audit_replay(argv[2], argv[4], argv[6]);
    return cli_usage_error("audit", "use verify DB, show DB --request ID, or replay DB "
                           "--request ID --config service.json");
}
