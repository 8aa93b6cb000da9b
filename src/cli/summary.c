/* glassbox summary: a readable table of the first rows of an explanation file: the
 * prediction, the decision and the features that contributed most. */
#include "cli.h"

#include <getopt.h>
#include <json-c/json.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: glassbox summary --explanation E.json [--rows N] [--top K] [--output-index k]\n"
    "                        [--labels NEGATIVE,POSITIVE] [--threshold P]\n\n"
    "Prints, for the first N rows (default 5), the prediction and the K features (default 4)\n"
    "with the largest contributions. For logistic models the margin is shown as a probability\n"
    "and compared with the threshold (default 0.5) to name the decision with --labels.\n";

static json_object *member(json_object *o, const char *key)
{
    json_object *v = NULL;
    return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static double number(json_object *array, size_t i)
{
    return json_object_get_double(json_object_array_get_idx(array, i));
}

/* The data's value for explained feature f: its column's number, or for a group of several
 * columns (one-hot dummies) the name of the column that is set. */
static void feature_value(json_object *root, json_object *names, size_t f, json_object *row,
                          char *out, size_t size)
{
    json_object *groups = member(root, "groups"), *columns = member(root, "data_columns");
    const char *name = json_object_get_string(json_object_array_get_idx(names, f));
    json_object *members = groups && name ? member(groups, name) : NULL;
    size_t column = f, count = members ? json_object_array_length(members) : 1;
    for (size_t i = 0; members && columns && i < count; i++) {
        const char *wanted = json_object_get_string(json_object_array_get_idx(members, i));
        for (size_t j = 0; j < json_object_array_length(columns); j++) {
            json_object *cell = json_object_array_get_idx(row, j);
            if (strcmp(json_object_get_string(json_object_array_get_idx(columns, j)), wanted))
                continue;
            column = j;
            if (count > 1 && cell && json_object_get_double(cell) != 0.0) {
                snprintf(out, size, "%s", wanted);
                return;
            }
        }
    }
    if (count > 1) return;
    json_object *cell = json_object_array_get_idx(row, column);
    snprintf(out, size, cell ? "%.6g" : "missing", json_object_get_double(cell));
}

int cli_summary(int argc, char **argv)
{
    static const struct option options[] = {
        {"explanation", required_argument, 0, 'e'}, {"rows", required_argument, 0, 'r'},
        {"top", required_argument, 0, 't'}, {"output-index", required_argument, 0, 'k'},
        {"labels", required_argument, 0, 'l'}, {"threshold", required_argument, 0, 'p'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *path = NULL, *labels = "0,1";
    long rows = 5, top = 4, output = 0;
    double threshold = 0.5;
    int option;
    opterr = 0;
    while ((option = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (option) {
        case 'e': path = optarg; break;
        case 'l': labels = optarg; break;
        case 'r': if (!cli_parse_count(optarg, &rows)) return cli_usage_error("summary", "bad --rows"); break;
        case 't': if (!cli_parse_count(optarg, &top)) return cli_usage_error("summary", "bad --top"); break;
        case 'k': {
            char *end;
            output = strtol(optarg, &end, 10);
            if (end == optarg || *end || output < 0)
                return cli_usage_error("summary", "bad --output-index \"%s\"", optarg);
            break;
        }
        case 'p': threshold = atof(optarg); break;
        case 'h': fputs(help, stdout); return EXIT_OK;
        default: return cli_usage_error("summary", "unknown or incomplete option \"%s\"", argv[optind - 1]);
        }
    }
    if (!path) return cli_usage_error("summary", "--explanation is required");
    const char *comma = strchr(labels, ',');
    if (!comma) return cli_usage_error("summary", "--labels needs two names separated by a comma");
    json_object *root = json_object_from_file(path);
    json_object *names = member(root, "feature_names"), *values = member(root, "values"),
                *predictions = member(root, "predictions"), *base = member(root, "base_values"),
                *outputs = member(root, "output_names"), *data = member(root, "data");
    if (!root || !names || !values || !predictions || !base || !outputs) {
        fprintf(stderr, "glassbox: %s: not a glassbox.explanation/1 file\n", path);
        json_object_put(root);
        return EXIT_BAD_INPUT;
    }
    size_t K = json_object_array_length(outputs), M = json_object_array_length(names);
    /* Binary models have one output; multiclass defaults to the first class. */
    size_t k = (size_t)output;
    if (k >= K) {
        json_object_put(root);
        return cli_usage_error("summary", "--output-index %zu, but the file has %zu outputs", k, K);
    }
    const char *objective = json_object_get_string(member(member(root, "model"), "objective"));
    const char *space = json_object_get_string(member(member(root, "model"), "output"));
    int logistic = objective && space && strcmp(space, "margin") == 0 &&
                   (strstr(objective, "logistic") || strncmp(objective, "binary", 6) == 0 ||
                    strncmp(objective, "cross_entropy", 13) == 0) &&
                   !strstr(objective, "logitraw");
    int probability = space && strcmp(space, "probability") == 0;
    size_t n = json_object_array_length(values);
    if ((size_t)rows < n) n = (size_t)rows;
    if ((size_t)top > M) top = (long)M;
    size_t *order = malloc(M * sizeof(size_t));
    for (size_t r = 0; r < n; r++) {
        json_object *phi = json_object_array_get_idx(json_object_array_get_idx(values, r), k);
        double margin = number(json_object_array_get_idx(predictions, r), k);
        double base_value = number(json_object_array_get_idx(base, r), k);
        printf("row %zu: ", r);
        if (logistic || probability) {
            double p = probability ? margin : 1.0 / (1.0 + exp(-margin));
            printf("%.*s (probability %.1f%%, base %.1f%%)\n",
                   p >= threshold ? (int)strlen(comma + 1) : (int)(comma - labels),
                   p >= threshold ? comma + 1 : labels, 100 * p,
                   100 * (probability ? base_value : 1.0 / (1.0 + exp(-base_value))));
        } else {
            printf("prediction %.6g (base %.6g)\n", margin, base_value);
        }
        for (size_t f = 0; f < M; f++) order[f] = f;
        for (size_t i = 0; i < (size_t)top; i++) /* partial selection sort by |value| */
            for (size_t j = i + 1; j < M; j++)
                if (fabs(number(phi, order[j])) > fabs(number(phi, order[i]))) {
                    size_t swap = order[i];
                    order[i] = order[j];
                    order[j] = swap;
                }
        printf("    %-40s %12s %12s\n", "feature", "value", logistic ? "log-odds" : "contribution");
        for (size_t i = 0; i < (size_t)top; i++) {
            size_t f = order[i];
            json_object *row = data ? json_object_array_get_idx(data, r) : NULL;
            char value[48] = "";
            if (row) feature_value(root, names, f, row, value, sizeof value);
            printf("    %-40s %12s %+12.4f\n",
                   json_object_get_string(json_object_array_get_idx(names, f)), value,
                   number(phi, f));
        }
    }
    free(order);
    json_object_put(root);
    return EXIT_OK;
}
