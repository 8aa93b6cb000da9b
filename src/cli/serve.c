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
    "                            \"threshold\": 0.5}],\n"
    "                \"audit\": {\"sqlite\": \"audit.db\", \"inputs\": true},\n"
    "                \"tokens\": [{\"sha256\": \"HEX OF THE TOKEN\", \"name\": \"alice\",\n"
    "                            \"role\": \"analyst\"}],\n"
    "                \"limits\": {\"body_bytes\": 1048576, \"threads\": 4}}\n"
    "               (relative paths from the config's directory; port 0 takes a free one;\n"
    "               without tokens every caller is an applicant)\n\n"
    "routes: GET /healthz, /readyz, /v1/models, /v1/models/NAME;\n"
    "        POST /v1/models/NAME:predict, /v1/models/NAME:explain\n"
    "        with {\"instances\": [{\"FEATURE\": value, ...} or [values...], ...],\n"
    "              \"id\": optional, \"model_version\": optional pin}\n";

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
    "       glassbox audit show DB --request ID\n\n"
    "The service's audit store (SQLite).\n"
    "  verify   checks the hash chain: every row's hash over the previous row's and its own\n"
    "           content; names the first row that breaks it (exit 2), or counts the rows\n"
    "  show     prints the records of one request (JSON)\n";

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

int cli_audit(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(audit_help, stdout);
        return EXIT_OK;
    }
    if (argc == 3 && strcmp(argv[1], "verify") == 0) return audit_verify(argv[2]);
    if (argc == 5 && strcmp(argv[1], "show") == 0 && strcmp(argv[3], "--request") == 0)
        return audit_show(argv[2], argv[4]);
    return cli_usage_error("audit", "use verify DB, or show DB --request ID");
}
