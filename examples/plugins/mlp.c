/* An example glassbox plugin: a multilayer perceptron (as scikit-learn's MLPClassifier and
 * MLPRegressor compute it) whose weights come from a text file named in the argument:
 *
 *     glassbox explain --model 'plugin:build/mlp.so:weights.txt' --data rows.csv \
 *         --method kernel --background background.csv
 *
 * The file: "glassbox_mlp 1", then the number of layers, then per layer a line
 * "INPUTS OUTPUTS ACTIVATION" (relu, tanh, logistic or identity) followed by INPUTS x OUTPUTS
 * weights (row-major: input by input, as sklearn's coefs_[i]) and OUTPUTS biases. The model
 * keeps no state while predicting, so it declares itself thread-safe and glassbox calls it
 * from every thread at once; each call multiplies blocks of rows by the weights with
 * OpenBLAS's dgemm on the calling thread. bench/blackbox.py writes such a file from a trained
 * sklearn MLP. */
#include "glassbox_plugin.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { RELU, TANH, LOGISTIC, IDENTITY } activation;

typedef struct {
    size_t inputs, outputs;
    activation act;
    double *weights; /* [inputs][outputs] */
    double *biases;  /* [outputs] */
} layer;

typedef struct {
    size_t count, widest;
    layer *layers;
} mlp;

static void destroy(void *model)
{
    mlp *m = model;
    if (!m) return;
    for (size_t l = 0; m->layers && l < m->count; l++) {
        free(m->layers[l].weights);
        free(m->layers[l].biases);
    }
    free(m->layers);
    free(m);
}

static void *create(const char *argument, char *error, size_t error_size)
{
    /* glassbox already runs one predict() per core: BLAS threads on top would oversubscribe. */
    openblas_set_num_threads(1);
    FILE *file = fopen(argument, "r");
    if (!file) {
        snprintf(error, error_size, "cannot open weights file \"%s\"", argument);
        return NULL;
    }
    mlp *m = calloc(1, sizeof *m);
    int version = 0;
    char name[32];
    if (!m || fscanf(file, "glassbox_mlp %d %zu", &version, &m->count) != 2 || version != 1 ||
        m->count == 0 || m->count > 64 || !(m->layers = calloc(m->count, sizeof(layer)))) {
        snprintf(error, error_size, "%s: expected \"glassbox_mlp 1\" and a layer count", argument);
        goto failed;
    }
    for (size_t l = 0; l < m->count; l++) {
        layer *y = &m->layers[l];
        if (fscanf(file, "%zu %zu %31s", &y->inputs, &y->outputs, name) != 3 || !y->inputs ||
            !y->outputs || y->inputs > 1 << 16 || y->outputs > 1 << 16 ||
            (l > 0 && y->inputs != m->layers[l - 1].outputs)) {
            snprintf(error, error_size, "%s: layer %zu: bad shape line", argument, l + 1);
            goto failed;
        }
        y->act = strcmp(name, "relu") == 0       ? RELU
                 : strcmp(name, "tanh") == 0     ? TANH
                 : strcmp(name, "logistic") == 0 ? LOGISTIC
                                                 : IDENTITY;
        if (y->act == IDENTITY && strcmp(name, "identity") != 0) {
            snprintf(error, error_size, "%s: layer %zu: unknown activation \"%s\"", argument,
                     l + 1, name);
            goto failed;
        }
        y->weights = malloc(y->inputs * y->outputs * sizeof(double));
        y->biases = malloc(y->outputs * sizeof(double));
        if (!y->weights || !y->biases) goto failed;
        for (size_t i = 0; i < y->inputs * y->outputs; i++)
            if (fscanf(file, "%lf", &y->weights[i]) != 1) {
                snprintf(error, error_size, "%s: layer %zu: too few weights", argument, l + 1);
                goto failed;
            }
        for (size_t i = 0; i < y->outputs; i++)
            if (fscanf(file, "%lf", &y->biases[i]) != 1) {
                snprintf(error, error_size, "%s: layer %zu: too few biases", argument, l + 1);
                goto failed;
            }
        if (y->inputs > m->widest) m->widest = y->inputs;
        if (y->outputs > m->widest) m->widest = y->outputs;
    }
    fclose(file);
    return m;
failed:
    fclose(file);
    destroy(m);
    return NULL;
}

static size_t features(void *model) { return ((mlp *)model)->layers[0].inputs; }
static size_t outputs(void *model)
{
    mlp *m = model;
    return m->layers[m->count - 1].outputs;
}

/* Rows go through the network in blocks: one matrix product per layer and block. */
enum { BLOCK = 256 };

/* Biases and the activation over a block's n rows, `width` apart. The activation is chosen
 * once per layer, so the relu loop is a max without a branch (a branch on the sign
 * mispredicts about every other unit), and the loops are built for AVX-512 and AVX2 too, the
 * widest the CPU has picked at load: at SSE2's two doubles a vector they took a third as long
 * as the matrix products. */
__attribute__((target_clones("avx512f", "avx2", "default")))
static void activate(const layer *y, double *b, size_t n, size_t width)
{
    const double *bias = y->biases;
    for (size_t r = 0; r < n; r++) {
        double *target = b + r * width;
        switch (y->act) {
        case RELU:
            for (size_t o = 0; o < y->outputs; o++) {
                double z = target[o] + bias[o];
                target[o] = z > 0 ? z : 0;
            }
            break;
        case TANH:
            for (size_t o = 0; o < y->outputs; o++) target[o] = tanh(target[o] + bias[o]);
            break;
        case LOGISTIC:
            for (size_t o = 0; o < y->outputs; o++) target[o] = 1 / (1 + exp(-(target[o] + bias[o])));
            break;
        default:
            for (size_t o = 0; o < y->outputs; o++) target[o] += bias[o];
            break;
        }
    }
}

static int predict(void *model, const double *rows, size_t count, double *out, char *error,
                   size_t error_size)
{
    mlp *m = model;
    size_t width = m->widest;
    double *a = malloc(BLOCK * width * sizeof(double)), *b = malloc(BLOCK * width * sizeof(double));
    if (!a || !b) {
        free(a);
        free(b);
        snprintf(error, error_size, "out of memory");
        return 1;
    }
    for (size_t start = 0; start < count; start += BLOCK) {
        size_t n = count - start < BLOCK ? count - start : BLOCK;
        for (size_t l = 0; l < m->count; l++) {
            const layer *y = &m->layers[l];
            /* b = a W (the first layer reads the rows where they are), then the biases and the
             * activation, rows `width` apart */
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)y->outputs,
                        (int)y->inputs, 1.0, l == 0 ? rows + start * y->inputs : a,
                        (int)(l == 0 ? y->inputs : width), y->weights, (int)y->outputs, 0.0, b,
                        (int)width);
            activate(y, b, n, width);
            double *swap = a;
            a = b;
            b = swap;
        }
        size_t K = m->layers[m->count - 1].outputs;
        for (size_t r = 0; r < n; r++) memcpy(out + (start + r) * K, a + r * width, K * sizeof(double));
    }
    free(a);
    free(b);
    return 0;
}

static const gbx_plugin plugin = {GBX_PLUGIN_ABI_VERSION, 1, create, features, outputs, NULL,
                                  NULL, predict, destroy};

const gbx_plugin *gbx_plugin_entry(void) { return &plugin; }
