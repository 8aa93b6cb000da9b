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
 * from every thread at once. bench/blackbox.py writes such a file from a trained sklearn MLP. */
#include "glassbox_plugin.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { RELU, TANH, LOGISTIC, IDENTITY } activation;

/* Outputs are computed TILE at a time, so each layer's weights and biases are kept padded
 * with zeros to a multiple of TILE outputs. */
enum { TILE = 8 };

typedef struct {
    size_t inputs, outputs, padded; /* padded: outputs rounded up to TILE */
    activation act;
    double *weights; /* [inputs][padded] */
    double *biases;  /* [padded] */
    double *column;  /* [inputs]: a single output's weights side by side, for its dot products */
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
        free(m->layers[l].column);
    }
    free(m->layers);
    free(m);
}

static void *create(const char *argument, char *error, size_t error_size)
{
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
        y->padded = (y->outputs + TILE - 1) / TILE * TILE;
        y->weights = calloc(y->inputs * y->padded, sizeof(double));
        y->biases = calloc(y->padded, sizeof(double));
        if (!y->weights || !y->biases) goto failed;
        for (size_t i = 0; i < y->inputs * y->outputs; i++)
            if (fscanf(file, "%lf", &y->weights[i / y->outputs * y->padded + i % y->outputs]) != 1) {
                snprintf(error, error_size, "%s: layer %zu: too few weights", argument, l + 1);
                goto failed;
            }
        for (size_t i = 0; i < y->outputs; i++)
            if (fscanf(file, "%lf", &y->biases[i]) != 1) {
                snprintf(error, error_size, "%s: layer %zu: too few biases", argument, l + 1);
                goto failed;
            }
        if (y->padded > m->widest) m->widest = y->padded;
        if (y->outputs == 1) {
            if (!(y->column = malloc(y->inputs * sizeof(double)))) goto failed;
            for (size_t i = 0; i < y->inputs; i++) y->column[i] = y->weights[i * y->padded];
        }
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

/* Rows go through the network in blocks of BLOCK, a layer at a time, ROWS at a time in the
 * product: 6 rows by 2 vectors are 12 sums in flight, enough to cover a fused multiply-add's
 * latency on two units (4 rows were 5% slower on the bench's MLP). */
enum { BLOCK = 256, ROWS = 6 };

/* Four doubles that the compiler keeps in one vector register (two at SSE2); aligned(8) lets
 * one be read from any double. */
typedef double vec4 __attribute__((vector_size(32), aligned(8)));
typedef long long mask4 __attribute__((vector_size(32), aligned(8))); /* a vec4 compare's lanes */

/* b = a W + biases for n rows (a's rows `a_stride` apart, b's `width`), relu applied where
 * the layer has it: ROWS rows by TILE outputs at a time, summed in registers over the inputs.
 * At these widths (tens of units) this runs at about twice the speed of a BLAS call, whose
 * packing of such small matrices costs more than the product. Built for AVX-512, AVX2 with
 * fused multiply-adds, and the baseline, the widest the CPU has picked at load. */
__attribute__((target_clones("avx512f", "arch=x86-64-v3", "default")))
static void product(const layer *y, const double *a, size_t a_stride, size_t n, double *b,
                    size_t width)
{
    if (y->column) { /* one output: a dot product per row, where a tile would compute 7 more */
        for (size_t r = 0; r < n; r++) {
            const double *in = a + r * a_stride;
            vec4 acc = {0, 0, 0, 0};
            size_t k = 0;
            for (; k + 4 <= y->inputs; k += 4) acc += *(const vec4 *)(in + k) * *(const vec4 *)(y->column + k);
            double sum = y->biases[0] + ((acc[0] + acc[1]) + (acc[2] + acc[3]));
            for (; k < y->inputs; k++) sum += in[k] * y->column[k];
            b[r * width] = y->act == RELU && !(sum > 0) ? 0 : sum;
        }
        return;
    }
    for (size_t r = 0; r < n; r += ROWS) {
        size_t rows = n - r < ROWS ? n - r : ROWS;
        /* a short last group repeats its last row rather than reading past the block */
        const double *in[ROWS];
        for (size_t i = 0; i < ROWS; i++) in[i] = a + (r + (i < rows ? i : rows - 1)) * a_stride;
        for (size_t o = 0; o < y->padded; o += TILE) {
            const double *w = y->weights + o;
            vec4 low = *(const vec4 *)(y->biases + o), high = *(const vec4 *)(y->biases + o + 4);
            vec4 sum[ROWS][2];
            for (size_t i = 0; i < ROWS; i++) sum[i][0] = low, sum[i][1] = high;
            for (size_t k = 0; k < y->inputs; k++, w += y->padded) {
                vec4 w0 = *(const vec4 *)w, w1 = *(const vec4 *)(w + 4);
                for (size_t i = 0; i < ROWS; i++) {
                    sum[i][0] += in[i][k] * w0;
                    sum[i][1] += in[i][k] * w1;
                }
            }
            for (size_t i = 0; i < rows; i++)
                for (int h = 0; h < 2; h++) {
                    vec4 v = sum[i][h];
                    if (y->act == RELU) /* max(v, 0) without a branch: v where v > 0, else 0 */
                        v = (vec4)((mask4)v & (v > 0.0));
                    *(vec4 *)(b + (r + i) * width + o + 4 * h) = v;
                }
        }
    }
}

/* The other activations over a block's n rows, `width` apart (relu is the product's). */
static void activate(const layer *y, double *b, size_t n, size_t width)
{
    for (size_t r = 0; r < n; r++) {
        double *target = b + r * width;
        if (y->act == TANH)
            for (size_t o = 0; o < y->outputs; o++) target[o] = tanh(target[o]);
        else if (y->act == LOGISTIC)
            for (size_t o = 0; o < y->outputs; o++) target[o] = 1 / (1 + exp(-target[o]));
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
            /* the first layer reads the rows where they are */
            product(y, l == 0 ? rows + start * y->inputs : a, l == 0 ? y->inputs : width, n, b,
                    width);
            activate(y, b, n, width);
            double *swap = a;
            a = b;
            b = swap;
        }
        size_t K = m->layers[m->count - 1].outputs;
        if (K == 1) /* a loop the compiler does not turn into a memcpy call per row */
            for (size_t r = 0; r < n; r++) out[start + r] = a[r * width];
        else
            for (size_t r = 0; r < n; r++)
                for (size_t k = 0; k < K; k++) out[(start + r) * K + k] = a[r * width + k];
    }
    free(a);
    free(b);
    return 0;
}

static const gbx_plugin plugin = {GBX_PLUGIN_ABI_VERSION, 1, create, features, outputs, NULL,
                                  NULL, predict, destroy};

const gbx_plugin *gbx_plugin_entry(void) { return &plugin; }
