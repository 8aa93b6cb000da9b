/* An example glassbox plugin: a linear or logistic-regression model whose coefficients come in
 * the argument, "w1,w2,...,wM;b" (add ";logit" for the probability as output).
 *
 *     cc -shared -fPIC -O2 -Iinclude examples/plugins/linear.c -o linear.so
 *     glassbox explain --model 'plugin:./linear.so:0.5,-1,2;0.1' --data rows.csv \
 *         --method exact --background background.csv
 *
 * A real plugin would load its weights from a file named in the argument, or wrap a runtime
 * (ONNX Runtime, a company's scoring library); the functions stay the same. */
#include "glassbox_plugin.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    size_t features;
    double *weights, bias;
    int logit;
} linear_model;

static void destroy(void *model)
{
    linear_model *m = model;
    if (m) free(m->weights);
    free(m);
}

static void *create(const char *argument, char *error, size_t error_size)
{
    linear_model *m = calloc(1, sizeof *m);
    const char *p = argument;
    char *end;
    size_t capacity = 0;
    while (m) {
        double w = strtod(p, &end);
        if (end == p) {
            snprintf(error, error_size, "expected a number at \"%s\" (argument: w1,w2,...;bias)", p);
            destroy(m);
            return NULL;
        }
        if (m->features == capacity) {
            capacity = capacity ? 2 * capacity : 8;
            double *grown = realloc(m->weights, capacity * sizeof(double));
            if (!grown) break;
            m->weights = grown;
        }
        m->weights[m->features++] = w;
        p = end;
        if (*p == ',') p++;
        else break;
    }
    if (!m || *p != ';') {
        snprintf(error, error_size, "the argument is w1,w2,...;bias[;logit]");
        destroy(m);
        return NULL;
    }
    m->bias = strtod(p + 1, &end);
    m->logit = strcmp(end, ";logit") == 0;
    if (end == p + 1 || (*end && !m->logit)) {
        snprintf(error, error_size, "bad bias or suffix in \"%s\"", p + 1);
        destroy(m);
        return NULL;
    }
    return m;
}

static size_t features(void *model) { return ((linear_model *)model)->features; }
static size_t outputs(void *model) { (void)model; return 1; }

static int predict(void *model, const double *rows, size_t count, double *out, char *error,
                   size_t error_size)
{
    const linear_model *m = model;
    for (size_t r = 0; r < count; r++) {
        double z = m->bias;
        for (size_t f = 0; f < m->features; f++) {
            double x = rows[r * m->features + f];
            if (isnan(x)) {
                snprintf(error, error_size, "row %zu: feature %zu is missing", r, f);
                return 1;
            }
            z += m->weights[f] * x;
        }
        out[r] = m->logit ? 1.0 / (1.0 + exp(-z)) : z;
    }
    return 0;
}

static const gbx_plugin plugin = {
    .abi_version = GBX_PLUGIN_ABI_VERSION,
    .thread_safe = 1,
    .create = create,
    .features = features,
    .outputs = outputs,
    .predict = predict,
    .destroy = destroy,
};

const gbx_plugin *gbx_plugin_entry(void);
const gbx_plugin *gbx_plugin_entry(void) { return &plugin; }
