/* Gradient attributions through the network graph's reverse mode, and DeepSHAP through its
 * DeepLIFT variant. Rows are explained in blocks
 * of fixed size, each one batched forward pass over every point the method needs (interpolation
 * points, noisy copies) and one backward pass per output, so results do not depend on the
 * thread count. Random draws come from a stream keyed by the row's own values and the seed. */
#include "gradients.h"

#include "../nn/graph.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#define POINTS_PER_BLOCK 64   /* rows x points per row in one forward pass (cache-sized) */
#define MAX_POINTS_PER_ROW 100000 /* steps, samples or background rows of one row */
/* A row's points are explained in one pass: their inputs, factors and gradients (points x
 * inputs x (outputs + 2) doubles) may take this much. Tabular models take thousands of samples
 * (shap's users pass 2000); an image model takes fewer. */
#define POINTS_BUDGET ((size_t)1 << 30)

struct gbx_gradients {
    const gbx_model *model;
    const gbx_nn_graph *graph;
    gbx_gradient_options options;
    size_t points;          /* evaluation points per row */
    double *alphas, *steps; /* integrated gradients: [points] */
    double *baselines;      /* [baseline_rows][M] */
    double *cumulative;     /* gradient shap: cumulative baseline weights [baseline_rows] */
    size_t baseline_rows;
    double *base_values;    /* [K] */
    long output;            /* GBX_OUTPUT_ALL, GBX_OUTPUT_PREDICTED or an output's index */
    int layer;              /* grad cam: the layer's value index */
    int source;             /* where attributions are taken: the input, or a layer's output */
    size_t source_size;     /* values per row there (M at the input) */
    size_t group;           /* consecutive values there summed into one attribution (1, or an
                             * embedding's width: one attribution per token) */
    float *layer_baseline;  /* integrated gradients at a layer: the baseline's activations */
};

/* Gauss-Legendre nodes on [-1, 1] in ascending order, and weights (as numpy's leggauss). */
static void gauss_legendre(size_t n, double *nodes, double *weights)
{
    for (size_t i = 0; i < n; i++) {
        double x = cos(M_PI * ((double)i + 0.75) / ((double)n + 0.5)), derivative = 1;
        for (int iteration = 0; iteration < 100; iteration++) {
            double p0 = 1, p1 = x;
            for (size_t k = 2; k <= n; k++) {
                double p2 = ((2.0 * (double)k - 1) * x * p1 - ((double)k - 1) * p0) / (double)k;
                p0 = p1;
                p1 = p2;
            }
            derivative = (double)n * (x * p1 - p0) / (x * x - 1);
            double step = p1 / derivative;
            x -= step;
            if (fabs(step) < 1e-16) break;
        }
        /* cos runs from 1 down: store from the end for ascending order. */
        nodes[n - 1 - i] = x;
        weights[n - 1 - i] = 2.0 / ((1 - x * x) * derivative * derivative);
    }
}

/* captum's approximation_parameters: where the gradient is taken and how much each counts. */
static gbx_status integration_points(gbx_integration rule, size_t n, double *alphas, double *steps,
                                     gbx_error *error)
{
    switch (rule) {
    case GBX_INTEGRATION_GAUSS_LEGENDRE:
        gauss_legendre(n, alphas, steps);
        for (size_t i = 0; i < n; i++) {
            alphas[i] = 0.5 * (alphas[i] + 1);
            steps[i] *= 0.5;
        }
        return GBX_OK;
    case GBX_INTEGRATION_RIEMANN_TRAPEZOID:
        /* captum's trapezoid: points 0..1 inclusive, widths 1/n halved at the ends (they sum
         * to (n - 1)/n, not 1; kept so the numbers are captum's). */
        if (n < 2) return gbx_fail(error, GBX_ERR_USAGE, "the trapezoid rule needs two steps");
        for (size_t i = 0; i < n; i++) {
            alphas[i] = (double)i / (double)(n - 1);
            steps[i] = (i == 0 || i == n - 1 ? 0.5 : 1.0) / (double)n;
        }
        return GBX_OK;
    default:
        for (size_t i = 0; i < n; i++) {
            double offset = rule == GBX_INTEGRATION_RIEMANN_LEFT ? 0
                          : rule == GBX_INTEGRATION_RIEMANN_RIGHT ? 1 : 0.5;
            alphas[i] = ((double)i + offset) / (double)n;
            steps[i] = 1.0 / (double)n;
        }
        return GBX_OK;
    }
}

static double gaussian(uint64_t *state)
{
    double u = gbx_random_uniform(state), v = gbx_random_uniform(state);
    return sqrt(-2.0 * log(1.0 - u)) * cos(2.0 * M_PI * v);
}

/* Forward on `count` points (with the layer's output replaced by patch, when given), then
 * gradients at the source [passes][count][S]: with targets NULL, pass k is the gradient of
 * output k at every point (passes = K); otherwise one pass, the gradient of output targets[p]
 * at point p. */
static gbx_status gradients_at(const gbx_gradients *g, const float *points, size_t count,
                               const gbx_nn_tensor *patch, const size_t *targets,
                               double *gradients, gbx_error *error)
{
    const gbx_nn_graph *graph = g->graph;
    size_t S = g->source_size, K = g->model->outputs;
    gbx_nn_tensor *values = gbx_calloc(graph->value_count, sizeof *values);
    gbx_nn_tensor *grads = gbx_calloc(graph->value_count, sizeof *grads);
    if (!values || !grads) {
        free(values);
        free(grads);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    gbx_status status = gbx_nn_forward_patched(graph, points, count, patch ? g->source : -1,
                                               patch, values, error);
    if (status != GBX_OK) {
        free(values);
        free(grads);
        return status;
    }
    const gbx_nn_tensor *y = &values[graph->output];
    if (y->count != count * K)
        status = gbx_fail(error, GBX_ERR_PARSE, "the output has %zu values for %zu rows", y->count,
                          count);
    if (status == GBX_OK && values[g->source].count != count * S)
        status = gbx_fail(error, GBX_ERR_PARSE, "\"%s\" has %zu values for %zu rows, not %zu per "
                          "row", graph->value_names[g->source], values[g->source].count, count, S);
    gbx_nn_tensor seed = {0};
    if (status == GBX_OK) status = gbx_nn_tensor_alloc(&seed, GBX_NN_FLOAT, y->rank, y->dims, error);
    size_t passes = targets ? 1 : K;
    for (size_t k = 0; status == GBX_OK && k < passes; k++) {
        memset(seed.f, 0, seed.count * sizeof(float));
        for (size_t p = 0; p < count; p++) seed.f[p * K + (targets ? targets[p] : k)] = 1.0f;
        status = gbx_nn_backward(graph, values, g->source, graph->output, &seed, grads, error);
        const gbx_nn_tensor *d = &grads[g->source];
        for (size_t j = 0; status == GBX_OK && j < count * S; j++)
            gradients[k * count * S + j] = d->f ? d->f[j] : 0.0;
        for (size_t v = 0; v < graph->value_count; v++) gbx_nn_tensor_release(&grads[v]);
    }
    gbx_nn_tensor_release(&seed);
    gbx_nn_values_free(graph, values);
    free(values);
    free(grads);
    return status;
}

/* Tensor `value`'s size per row, from a forward pass over the first baseline twice (a tensor
 * whose first dimension is not the batch cannot be taken row by row), and its values at that
 * baseline (when activations is not NULL). */
static gbx_status profile(const gbx_gradients *g, int value, size_t *size, float **activations,
                          gbx_error *error)
{
    const gbx_nn_graph *graph = g->graph;
    size_t M = g->model->features;
    float *points = gbx_malloc_array(2 * M + 1, sizeof(float));
    gbx_nn_tensor *values = gbx_calloc(graph->value_count, sizeof *values);
    gbx_status status = points && values ? GBX_OK : gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    for (size_t j = 0; status == GBX_OK && j < 2 * M; j++) points[j] = (float)g->baselines[j % M];
    int ran = status == GBX_OK &&
              (status = gbx_nn_forward(graph, points, 2, values, error)) == GBX_OK;
    const gbx_nn_tensor *a = ran ? &values[value] : NULL;
    if (status == GBX_OK &&
        (a->type != GBX_NN_FLOAT || a->rank < 1 || a->dims[0] != 2 || a->count % 2 || !a->count))
        status = gbx_fail(error, GBX_ERR_UNSUPPORTED, "layer \"%s\" is not a float tensor with "
                          "the batch first, so it cannot be attributed row by row",
                          graph->value_names[value]);
    if (status == GBX_OK) {
        *size = a->count / 2;
        if (activations && !(*activations = gbx_malloc_array(*size, sizeof(float))))
            status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
        else if (activations)
            memcpy(*activations, a->f, *size * sizeof(float));
    }
    if (ran) gbx_nn_values_free(graph, values);
    free(values);
    free(points);
    return status;
}

/* The layer's size per row and activations at the integrated-gradients baseline, and whether
 * it is an embedding lookup (a Gather from a constant table), whose rows are summed into one
 * attribution per token. */
static gbx_status measure_layer(gbx_gradients *g, gbx_error *error)
{
    const gbx_nn_graph *graph = g->graph;
    gbx_status status = profile(g, g->source, &g->source_size,
                                g->options.kind == GBX_GRADIENT_INTEGRATED ? &g->layer_baseline
                                                                           : NULL, error);
    for (size_t n = 0; status == GBX_OK && n < graph->node_count; n++) {
        const gbx_nn_node *node = &graph->nodes[n];
        const gbx_nn_attribute *axis = gbx_nn_attribute_find(node, "axis");
        if (node->outputs[0] != g->source || strcmp(node->op->name, "Gather") != 0 ||
            (axis && axis->i != 0) || !graph->is_constant[node->inputs[0]] ||
            graph->constants[node->inputs[0]].rank < 2)
            continue;
        const gbx_nn_tensor *table = &graph->constants[node->inputs[0]];
        g->group = table->count / (size_t)table->dims[0];
        if (!g->group || g->source_size % g->group) g->group = 1;
    }
    return status;
}

/* "; tensors whose names contain it: a, b" for up to four tensors whose names contain text
 * (constants, and the engine's internal ones, named with '#', left out), or "" when none do: how a user who
 * typed a Keras layer's name finds an exported graph's name for it. */
static const char *similar_names(const gbx_nn_graph *graph, const char *text, char *out,
                                 size_t size)
{
    size_t used = 0, found = 0;
    out[0] = '\0';
    for (size_t v = 0; v < graph->value_count && found < 4; v++) {
        const char *name = graph->value_names[v];
        if (graph->is_constant[v] || !strstr(name, text) || strchr(name, '#')) continue;
        int wrote = snprintf(out + used, size - used, "%s%s", found ? ", " : "; tensors whose "
                             "names contain it: ", name);
        if (wrote < 0 || (size_t)wrote >= size - used) break;
        used += (size_t)wrote;
        found++;
    }
    return out;
}

gbx_status gbx_gradients_prepare(const gbx_model *model, const gbx_data *baselines,
                                 const gbx_gradient_options *options, gbx_gradients **out,
                                 gbx_error *error)
{
    if (!model->network)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "gradient methods need a network (an ONNX or "
                        "Keras model); use kernel, permutation or exact for this one");
    const gbx_nn_graph *graph = model->network;
    int deep = options->kind == GBX_GRADIENT_DEEP, many = deep || options->kind == GBX_GRADIENT_SHAP;
    int at_layer = options->layer && options->kind != GBX_GRADIENT_GRAD_CAM;
    int source = at_layer ? gbx_nn_find_value(graph, options->layer) : graph->input;
    if (at_layer && options->kind != GBX_GRADIENT_INTEGRATED && !deep)
        return gbx_fail(error, GBX_ERR_USAGE, "options.layer attributes at a layer with "
                        "integrated-gradients and deep (and names grad-cam's layer); this method "
                        "attributes to the input");
    char similar[512];
    if (source < 0)
        return gbx_fail(error, GBX_ERR_USAGE, "the network has no tensor named \"%s\" (options.layer "
                        "takes a node output's name: a Keras layer's name, or an ONNX or "
                        "TensorFlow tensor's)%s", options->layer,
                        similar_names(graph, options->layer, similar, sizeof similar));
    gbx_status status = deep ? gbx_nn_check_deeplift(graph, source, graph->output, error)
                             : gbx_nn_check_differentiable(graph, source, graph->output, error);
    if (status != GBX_OK) return status;
    size_t M = model->features, K = model->outputs;
    if (many && (!baselines || baselines->rows == 0))
        return gbx_fail(error, GBX_ERR_USAGE, "%s takes its baselines from a background set "
                        "(options.background)", deep ? "deep" : "gradient-shap");
    if (deep && baselines->rows > MAX_POINTS_PER_ROW)
        return gbx_fail(error, GBX_ERR_USAGE, "deep takes at most %d background rows, not %zu "
                        "(summarise options.background: a sample or k-means centres)", MAX_POINTS_PER_ROW,
                        baselines->rows);
    if (baselines && baselines->columns != M)
        return gbx_fail(error, GBX_ERR_MISMATCH, "baselines have %zu columns, the model expects %zu",
                        baselines->columns, M);
    gbx_gradients *g = calloc(1, sizeof *g);
    if (!g) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    g->model = model;
    g->graph = model->network;
    g->options = *options;
    g->output = options->output;
    g->layer = -1;
    g->source = source;
    g->source_size = M;
    g->group = 1;
    if (options->kind == GBX_GRADIENT_GRAD_CAM) {
        g->layer = options->layer ? gbx_nn_find_value(g->graph, options->layer) : -1;
        if (g->layer < 0) {
            if (options->layer) similar_names(g->graph, options->layer, similar, sizeof similar);
            gbx_gradients_free(g);
            return gbx_fail(error, GBX_ERR_USAGE, "grad-cam needs options.layer naming one of the "
                            "network's tensors (a convolution's output)%s%s%s%s",
                            options->layer ? "; there is no \"" : "",
                            options->layer ? options->layer : "", options->layer ? "\"" : "",
                            options->layer ? similar : "");
        }
    }
    if (!g->options.steps) g->options.steps = 50;
    if (!g->options.samples) g->options.samples = 5;
    if (g->options.stdevs < 0) g->options.stdevs = options->kind == GBX_GRADIENT_SMOOTHGRAD ? 1.0 : 0.0;
    g->points = options->kind == GBX_GRADIENT_INTEGRATED ? g->options.steps
              : options->kind == GBX_GRADIENT_SMOOTHGRAD || options->kind == GBX_GRADIENT_SHAP
                  ? g->options.samples
              : deep ? baselines->rows : 1;
    if (options->output != GBX_OUTPUT_ALL && options->output != GBX_OUTPUT_PREDICTED &&
        (options->output < 0 || (size_t)options->output >= K)) {
        gbx_gradients_free(g);
        return gbx_fail(error, GBX_ERR_USAGE, "output %ld does not exist (the model has %zu)",
                        options->output, K);
    }
    if (g->points > MAX_POINTS_PER_ROW) {
        gbx_gradients_free(g);
        return gbx_fail(error, GBX_ERR_USAGE, "at most %d steps or samples per row",
                        MAX_POINTS_PER_ROW);
    }
    double need = (double)g->points * (double)M * (double)(K + 2) * sizeof(double);
    if (need > (double)POINTS_BUDGET) {
        status = gbx_fail(error, GBX_ERR_USAGE, "%zu steps or samples of %zu inputs and %zu "
                          "outputs would take %.1f GB a row, more than %zu MB; ask fewer "
                          "(options.samples, options.steps) or one output", g->points, M, K,
                          need / 1e9, POINTS_BUDGET >> 20);
        gbx_gradients_free(g);
        return status;
    }
    /* Integrated gradients take one baseline: the row given, or zeros. */
    g->baseline_rows = many ? baselines->rows : 1;
    g->baselines = gbx_calloc(g->baseline_rows * M, sizeof(double));
    g->base_values = gbx_calloc(K, sizeof(double));
    if (!g->baselines || !g->base_values) status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    if (status == GBX_OK && baselines && options->kind == GBX_GRADIENT_INTEGRATED) {
        if (baselines->rows != 1)
            status = gbx_fail(error, GBX_ERR_USAGE, "integrated gradients take one baseline row, "
                              "not %zu (average them first: gbx_data_mean)", baselines->rows);
        else
            memcpy(g->baselines, baselines->values, M * sizeof(double));
    }
    if (status == GBX_OK && many) {
        memcpy(g->baselines, baselines->values, baselines->rows * M * sizeof(double));
        if (!(g->cumulative = gbx_malloc_array(baselines->rows, sizeof(double)))) {
            status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
        } else {
            double total = 0;
            for (size_t b = 0; b < baselines->rows; b++)
                g->cumulative[b] = total += baselines->weights ? baselines->weights[b]
                                                               : 1.0 / (double)baselines->rows;
        }
    }
    if (status == GBX_OK && options->kind == GBX_GRADIENT_INTEGRATED) {
        g->alphas = gbx_malloc_array(g->points, sizeof(double));
        g->steps = gbx_malloc_array(g->points, sizeof(double));
        status = g->alphas && g->steps
                     ? integration_points(options->integration, g->points, g->alphas, g->steps, error)
                     : gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    /* Base values: the output at the baseline, or its mean over the baselines. */
    if (status == GBX_OK && (options->kind == GBX_GRADIENT_INTEGRATED || many)) {
        double *outputs = gbx_malloc_array(g->baseline_rows * K, sizeof(double));
        status = outputs ? model->predict_raw(model, g->baselines, g->baseline_rows, outputs, error)
                         : gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
        for (size_t b = 0; status == GBX_OK && b < g->baseline_rows; b++) {
            double weight = g->cumulative ? g->cumulative[b] - (b ? g->cumulative[b - 1] : 0) : 1.0;
            for (size_t k = 0; k < K; k++) g->base_values[k] += weight * outputs[b * K + k];
        }
        free(outputs);
    }
    if (status == GBX_OK && source != graph->input) status = measure_layer(g, error);
    if (status != GBX_OK) {
        gbx_gradients_free(g);
        return status;
    }
    *out = g;
    return GBX_OK;
}

size_t gbx_gradients_features(const gbx_gradients *g) { return g->source_size / g->group; }

int gbx_gradients_per_column(const gbx_gradients *g)
{
    return g->group > 1 && g->source_size / g->group == g->model->features;
}

size_t gbx_gradients_outputs(const gbx_gradients *g)
{
    return g->output == GBX_OUTPUT_ALL ? g->model->outputs : 1;
}

void gbx_gradients_base_values(const gbx_gradients *g, double *out)
{
    if (g->output == GBX_OUTPUT_ALL) memcpy(out, g->base_values, g->model->outputs * sizeof(double));
    else out[0] = g->output >= 0 ? g->base_values[g->output] : 0.0; /* predicted: per row */
}

int gbx_gradients_additive(const gbx_gradients *g)
{
    return g->options.kind == GBX_GRADIENT_INTEGRATED || g->options.kind == GBX_GRADIENT_SHAP ||
           g->options.kind == GBX_GRADIENT_DEEP;
}

/* Adds attributions at the source's S values into the F = S / group explained features. */
static void add_grouped(const gbx_gradients *g, const double *at_source, double *target)
{
    for (size_t j = 0; j < g->source_size; j++) target[j / g->group] += at_source[j];
}

/* DeepSHAP for a block of n rows: each row against every baseline at once (row r, baseline b
 * at point r * B + b), multipliers from the DeepLIFT pass at the source times the difference
 * there (x - b at the input, the activations' difference at a layer, as captum's
 * LayerDeepLiftShap), averaged by weight. */
static gbx_status explain_deep_block(const gbx_gradients *g, const double *rows, size_t n,
                                     const size_t *classes, double *values, gbx_error *error)
{
    const gbx_nn_graph *graph = g->graph;
    size_t M = g->model->features, K = g->model->outputs, B = g->baseline_rows, count = n * B;
    size_t passes = classes ? 1 : K, S = g->source_size, F = S / g->group;
    int at_input = g->source == graph->input;
    float *points = gbx_malloc_array(count * M, sizeof(float));
    float *references = gbx_malloc_array(B * M, sizeof(float));
    gbx_nn_tensor *values_x = gbx_calloc(graph->value_count, sizeof *values_x);
    gbx_nn_tensor *values_r = gbx_calloc(graph->value_count, sizeof *values_r);
    gbx_nn_tensor *grads = gbx_calloc(graph->value_count, sizeof *grads);
    double *sums = gbx_malloc_array(S, sizeof(double));
    gbx_status status = points && references && values_x && values_r && grads && sums
                            ? GBX_OK : gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    for (size_t p = 0; status == GBX_OK && p < count; p++)
        for (size_t f = 0; f < M; f++) points[p * M + f] = (float)rows[(p / B) * M + f];
    for (size_t j = 0; status == GBX_OK && j < B * M; j++) references[j] = (float)g->baselines[j];
    int forward_x = 0, forward_r = 0;
    if (status == GBX_OK)
        forward_x = (status = gbx_nn_forward(graph, points, count, values_x, error)) == GBX_OK;
    if (status == GBX_OK)
        forward_r = (status = gbx_nn_forward(graph, references, B, values_r, error)) == GBX_OK;
    if (status == GBX_OK && (values_x[g->source].count != count * S ||
                             values_r[g->source].count != B * S))
        status = gbx_fail(error, GBX_ERR_PARSE, "\"%s\" does not hold %zu values per row",
                          graph->value_names[g->source], S);
    gbx_nn_tensor seed = {0};
    if (status == GBX_OK)
        status = gbx_nn_tensor_alloc(&seed, GBX_NN_FLOAT, values_x[graph->output].rank,
                                     values_x[graph->output].dims, error);
    for (size_t k = 0; status == GBX_OK && k < passes; k++) {
        memset(seed.f, 0, seed.count * sizeof(float));
        for (size_t p = 0; p < count; p++) seed.f[p * K + (classes ? classes[p / B] : k)] = 1.0f;
        status = gbx_nn_deeplift(graph, values_x, values_r, g->source, graph->output, &seed,
                                 g->options.tensorflow_softmax, grads, error);
        const float *m = grads[g->source].f;
        const float *a_x = values_x[g->source].f, *a_r = values_r[g->source].f;
        for (size_t r = 0; status == GBX_OK && r < n; r++) {
            double *target = values + (r * passes + k) * F;
            memset(sums, 0, S * sizeof(double));
            for (size_t b = 0; b < B; b++) {
                double weight = g->cumulative[b] - (b ? g->cumulative[b - 1] : 0);
                const double *baseline = g->baselines + b * M;
                const float *multipliers = m ? m + (r * B + b) * S : NULL;
                for (size_t j = 0; multipliers && j < S; j++)
                    sums[j] += weight * multipliers[j] *
                               (at_input ? rows[r * M + j] - baseline[j]
                                         : (double)a_x[(r * B + b) * S + j] - a_r[b * S + j]);
            }
            for (size_t f = 0; f < F; f++) target[f] = 0;
            add_grouped(g, sums, target);
        }
        for (size_t v = 0; v < graph->value_count; v++) gbx_nn_tensor_release(&grads[v]);
    }
    free(sums);
    gbx_nn_tensor_release(&seed);
    if (forward_x) gbx_nn_values_free(graph, values_x);
    if (forward_r) gbx_nn_values_free(graph, values_r);
    free(values_x);
    free(values_r);
    free(grads);
    free(points);
    free(references);
    return status;
}


/* The baseline row drawn for u in [0, 1). */
static const double *draw_baseline(const gbx_gradients *g, double u)
{
    size_t low = 0, high = g->baseline_rows - 1;
    while (low < high) {
        size_t middle = (low + high) / 2;
        if (g->cumulative[middle] > u * g->cumulative[g->baseline_rows - 1]) high = middle;
        else low = middle + 1;
    }
    return g->baselines + low * g->model->features;
}

/* Grad-CAM (captum's LayerGradCam, then LayerAttribution.interpolate, nearest): the layer's
 * channels weighed by their mean gradient, summed, and the map at the layer's resolution
 * spread over the input's positions (each input channel the same). The layer and the input
 * are each channels first ([C, positions...], as PyTorch) or channels last ([positions..., C],
 * as Keras and tf2onnx exports keep them): read from the graph, never assumed. */
static gbx_status explain_grad_cam_block(const gbx_gradients *g, const double *rows, size_t n,
                                         const size_t *classes, double *values, gbx_error *error)
{
    const gbx_nn_graph *graph = g->graph;
    size_t M = g->model->features, K = g->model->outputs, passes = classes ? 1 : K;
    float *points = gbx_malloc_array(n * M > 0 ? n * M : 1, sizeof(float));
    gbx_nn_tensor *values_x = gbx_calloc(graph->value_count, sizeof *values_x);
    gbx_nn_tensor *grads = gbx_calloc(graph->value_count, sizeof *grads);
    gbx_status status = points && values_x && grads ? GBX_OK
                                                    : gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    for (size_t j = 0; status == GBX_OK && j < n * M; j++) points[j] = (float)rows[j];
    int ran = 0;
    if (status == GBX_OK) ran = (status = gbx_nn_forward(graph, points, n, values_x, error)) == GBX_OK;
    const gbx_nn_tensor *A = ran ? &values_x[g->layer] : NULL;
    if (status == GBX_OK && (A->rank < 3 || A->dims[0] != (int64_t)n))
        status = gbx_fail(error, GBX_ERR_USAGE, "layer \"%s\" has rank %d; Grad-CAM needs a "
                          "convolution's output [batch, channels, positions...]",
                          graph->value_names[g->layer], A->rank);
    int input_spatial = graph->input_rank - 2;
    if (status == GBX_OK && (input_spatial < 1 || input_spatial != A->rank - 2))
        status = gbx_fail(error, GBX_ERR_USAGE, "Grad-CAM maps a layer of %d spatial dimensions "
                          "onto an input of %d", A->rank - 2, input_spatial);
    /* Where the channels are: the layer's and the input's, each first or last. */
    int layer_last = status == GBX_OK && gbx_nn_channels_last(graph, g->layer, A->rank);
    int input_last = status == GBX_OK && gbx_nn_input_channels_last(graph, values_x);
    const int64_t *layer_space = status == GBX_OK ? A->dims + (layer_last ? 1 : 2) : NULL;
    const int64_t *input_space = graph->input_dims + (input_last ? 1 : 2);
    gbx_nn_tensor seed = {0};
    if (status == GBX_OK)
        status = gbx_nn_tensor_alloc(&seed, GBX_NN_FLOAT, values_x[graph->output].rank,
                                     values_x[graph->output].dims, error);
    size_t C = status == GBX_OK ? (size_t)A->dims[layer_last ? A->rank - 1 : 1] : 0;
    size_t positions = 1, input_positions = 1;
    for (int d = 0; status == GBX_OK && d < input_spatial; d++) {
        positions *= (size_t)layer_space[d];
        input_positions *= (size_t)input_space[d];
    }
    /* Element (position p, channel c) of the layer in row r, and of the input. */
    size_t layer_position_stride = layer_last ? C : 1, layer_channel_stride = layer_last ? 1 : positions;
    size_t input_channels = input_positions ? M / input_positions : 0;
    size_t input_position_stride = input_last ? input_channels : 1;
    size_t input_channel_stride = input_last ? 1 : input_positions;
    double *map = status == GBX_OK ? gbx_malloc_array(positions, sizeof(double)) : NULL;
    if (status == GBX_OK && !map) status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    for (size_t k = 0; status == GBX_OK && k < passes; k++) {
        memset(seed.f, 0, seed.count * sizeof(float));
        for (size_t r = 0; r < n; r++) seed.f[r * K + (classes ? classes[r] : k)] = 1.0f;
        status = gbx_nn_backward(graph, values_x, graph->input, graph->output, &seed, grads,
                                 error);
        const float *d = status == GBX_OK ? grads[g->layer].f : NULL;
        for (size_t r = 0; status == GBX_OK && r < n; r++) {
            const float *a = A->f + r * C * positions, *gradient = d ? d + r * C * positions : NULL;
            memset(map, 0, positions * sizeof(double));
            for (size_t c = 0; c < C; c++) {
                double weight = 0;
                for (size_t p = 0; gradient && p < positions; p++)
                    weight += gradient[p * layer_position_stride + c * layer_channel_stride];
                weight /= (double)positions;
                for (size_t p = 0; p < positions; p++)
                    map[p] += weight * a[p * layer_position_stride + c * layer_channel_stride];
            }
            /* Nearest upsampling, as torch's interpolate: source = floor(target * in / out). */
            double *target = values + (r * passes + k) * M;
            for (size_t q = 0; q < input_positions; q++) {
                size_t rest = q, source = 0, stride = 1;
                size_t index[8];
                for (int dim = input_spatial - 1; dim >= 0; dim--) {
                    size_t out = (size_t)input_space[dim], in = (size_t)layer_space[dim];
                    index[dim] = (rest % out) * in / out;
                    rest /= out;
                }
                for (int dim = input_spatial - 1; dim >= 0; dim--) {
                    source += index[dim] * stride;
                    stride *= (size_t)layer_space[dim];
                }
                for (size_t channel = 0; channel < input_channels; channel++)
                    target[q * input_position_stride + channel * input_channel_stride] = map[source];
            }
        }
        for (size_t v = 0; v < graph->value_count; v++) gbx_nn_tensor_release(&grads[v]);
    }
    free(map);
    gbx_nn_tensor_release(&seed);
    if (ran) gbx_nn_values_free(graph, values_x);
    free(values_x);
    free(grads);
    free(points);
    return status;
}

/* Integrated gradients' points at tensor `value` (S values per row): the rows' own values
 * there (a forward pass over the rows) and the baseline's give baseline + alpha (row -
 * baseline) for each of the P points per row, as a tensor of the points' batch (patch); the
 * rows' values minus the baseline's go to difference [n][S]. */
static gbx_status interpolate_at(const gbx_gradients *g, int value, size_t S,
                                 const float *baseline, const double *rows, size_t n,
                                 gbx_nn_tensor *patch, double *difference, gbx_error *error)
{
    const gbx_nn_graph *graph = g->graph;
    size_t M = g->model->features, P = g->points;
    int64_t dims[GBX_NN_MAX_RANK];
    dims[0] = (int64_t)n;
    for (int d = 1; d < graph->input_rank; d++) dims[d] = graph->input_dims[d];
    gbx_nn_tensor inputs = {0};
    gbx_nn_tensor *values = gbx_calloc(graph->value_count, sizeof *values);
    gbx_status status = values ? gbx_nn_tensor_alloc_unset(&inputs, GBX_NN_FLOAT, graph->input_rank,
                                                           dims, error)
                               : gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    for (size_t j = 0; status == GBX_OK && j < n * M; j++) inputs.f[j] = (float)rows[j];
    int ran = status == GBX_OK &&
              (status = gbx_nn_forward(graph, inputs.f, n, values, error)) == GBX_OK;
    const gbx_nn_tensor *a = ran ? &values[value] : NULL;
    if (status == GBX_OK && (a->count != n * S || a->dims[0] != (int64_t)n))
        status = gbx_fail(error, GBX_ERR_PARSE, "\"%s\" does not hold %zu values per row",
                          graph->value_names[value], S);
    if (status == GBX_OK) {
        memcpy(dims, a->dims, sizeof dims);
        dims[0] = (int64_t)(n * P);
        status = gbx_nn_tensor_alloc_unset(patch, GBX_NN_FLOAT, a->rank, dims, error);
    }
    for (size_t r = 0; status == GBX_OK && r < n; r++) {
        const float *at_row = a->f + r * S;
        for (size_t j = 0; j < S; j++)
            difference[r * S + j] = (double)at_row[j] - baseline[j];
        for (size_t p = 0; p < P; p++) {
            float *to = patch->f + (r * P + p) * S;
            for (size_t j = 0; j < S; j++)
                to[j] = (float)(baseline[j] + g->alphas[p] * ((double)at_row[j] - baseline[j]));
        }
    }
    if (ran) gbx_nn_values_free(graph, values);
    free(values);
    gbx_nn_tensor_release(&inputs);
    return status;
}

/* Integrated gradients at a layer (captum's LayerIntegratedGradients): the network runs on
 * the row itself while the layer's output is replaced by points on the line from the
 * baseline's activations to the row's; the integrated gradient there times the activations'
 * difference. values [n][K][F]. */
static gbx_status explain_layer_block(const gbx_gradients *g, const double *rows, size_t n,
                                      const size_t *classes, double *values, gbx_error *error)
{
    size_t M = g->model->features, K = classes ? 1 : g->model->outputs, P = g->points;
    size_t S = g->source_size, F = S / g->group, count = n * P;
    float *inputs = gbx_malloc_array(count * M, sizeof(float));
    double *difference = gbx_malloc_array(n * S, sizeof(double));
    double *gradients = gbx_malloc_array(K * count * S, sizeof(double));
    double *sums = gbx_malloc_array(S, sizeof(double));
    size_t *targets = classes ? gbx_malloc_array(count, sizeof(size_t)) : NULL;
    gbx_nn_tensor patch = {0};
    gbx_status status = inputs && difference && gradients && sums && (!classes || targets)
                            ? GBX_OK : gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    for (size_t p = 0; status == GBX_OK && p < count; p++) {
        for (size_t f = 0; f < M; f++) inputs[p * M + f] = (float)rows[(p / P) * M + f];
        if (targets) targets[p] = classes[p / P];
    }
    if (status == GBX_OK)
        status = interpolate_at(g, g->source, S, g->layer_baseline, rows, n, &patch, difference,
                                error);
    if (status == GBX_OK)
        status = gradients_at(g, inputs, count, &patch, targets, gradients, error);
    for (size_t r = 0; status == GBX_OK && r < n; r++)
        for (size_t k = 0; k < K; k++) {
            for (size_t j = 0; j < S; j++) {
                double total = 0;
                for (size_t p = 0; p < P; p++)
                    total += g->steps[p] * gradients[(k * count + r * P + p) * S + j];
                sums[j] = total * difference[r * S + j];
            }
            double *target = values + (r * K + k) * F;
            for (size_t f = 0; f < F; f++) target[f] = 0;
            add_grouped(g, sums, target);
        }
    gbx_nn_tensor_release(&patch);
    free(targets);
    free(inputs);
    free(difference);
    free(gradients);
    free(sums);
    return status;
}

/* Explains rows [0, n) of `rows` (one block): values [n][K][M]. */
static gbx_status explain_block(const gbx_gradients *g, const double *rows, size_t n,
                                const size_t *classes, double *values, gbx_error *error)
{
    size_t M = g->model->features, K = classes ? 1 : g->model->outputs, P = g->points, count = n * P;
    float *points = gbx_malloc_array(count * M, sizeof(float));
    double *scale = gbx_malloc_array(count * M, sizeof(double)); /* per point: what multiplies the gradient */
    double *weight = gbx_malloc_array(count, sizeof(double));
    double *gradients = gbx_malloc_array(K * count * M, sizeof(double));
    size_t *targets = classes ? gbx_malloc_array(count, sizeof(size_t)) : NULL;
    for (size_t p = 0; targets && p < count; p++) targets[p] = classes[p / P];
    if (!points || !scale || !weight || !gradients || (classes && !targets)) {
        free(targets);
        free(points);
        free(scale);
        free(weight);
        free(gradients);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    gbx_gradient_kind kind = g->options.kind;
    for (size_t r = 0; r < n; r++) {
        const double *x = rows + r * M;
        uint64_t state = gbx_random_key(g->options.seed, x, M);
        for (size_t p = 0; p < P; p++) {
            size_t point = r * P + p;
            float *target = points + point * M;
            double *factor = scale + point * M;
            if (kind == GBX_GRADIENT_INTEGRATED) {
                for (size_t f = 0; f < M; f++) {
                    double difference = x[f] - g->baselines[f];
                    target[f] = (float)(g->baselines[f] + g->alphas[p] * difference);
                    factor[f] = difference;
                }
                weight[point] = g->steps[p];
            } else if (kind == GBX_GRADIENT_SHAP) {
                /* captum: noisy input, a random baseline and a uniform point between them. */
                const double *b = draw_baseline(g, gbx_random_uniform(&state));
                double alpha = gbx_random_uniform(&state);
                for (size_t f = 0; f < M; f++) {
                    double noisy = x[f] + (g->options.stdevs > 0 ? g->options.stdevs * gaussian(&state) : 0);
                    target[f] = (float)(b[f] + alpha * (noisy - b[f]));
                    factor[f] = noisy - b[f];
                }
                weight[point] = 1.0 / (double)P;
            } else {
                for (size_t f = 0; f < M; f++) {
                    double noise = kind == GBX_GRADIENT_SMOOTHGRAD ? g->options.stdevs * gaussian(&state) : 0;
                    target[f] = (float)(x[f] + noise);
                    factor[f] = kind == GBX_GRADIENT_INPUT_X_GRADIENT ? x[f] : 1.0;
                }
                weight[point] = 1.0 / (double)P;
            }
        }
    }
    gbx_status status = gradients_at(g, points, count, NULL, targets, gradients, error);
    free(targets);
    for (size_t r = 0; status == GBX_OK && r < n; r++)
        for (size_t k = 0; k < K; k++) {
            double *target = values + (r * K + k) * M;
            for (size_t f = 0; f < M; f++) {
                double total = 0;
                for (size_t p = 0; p < P; p++) {
                    size_t point = r * P + p;
                    double d = gradients[(k * count + point) * M + f];
                    if (kind == GBX_GRADIENT_SALIENCY || kind == GBX_GRADIENT_SMOOTHGRAD) d = fabs(d);
                    total += weight[point] * d * scale[point * M + f];
                }
                target[f] = total;
            }
        }
    free(points);
    free(scale);
    free(weight);
    free(gradients);
    return status;
}

gbx_status gbx_gradients_explain(const gbx_gradients *g, const double *rows, size_t n,
                                 double *values, double *predictions, double *base_values,
                                 double *deltas, double *classes_out, int threads,
                                 gbx_error *error)
{
    const gbx_model *model = g->model;
    size_t M = model->features, all = model->outputs, K = gbx_gradients_outputs(g);
    double *outputs = gbx_malloc_array(n * all > 0 ? n * all : 1, sizeof(double));
    size_t *classes = g->output == GBX_OUTPUT_ALL ? NULL : gbx_malloc_array(n ? n : 1, sizeof(size_t));
    if (!outputs || (g->output != GBX_OUTPUT_ALL && !classes)) {
        free(outputs);
        free(classes);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    gbx_status status = model->predict_raw(model, rows, n, outputs, error);
    /* The explained output of each row: every one, the one chosen, or the largest. */
    for (size_t r = 0; status == GBX_OK && r < n; r++) {
        if (!classes) {
            memcpy(predictions + r * all, outputs + r * all, all * sizeof(double));
            continue;
        }
        size_t c = g->output >= 0 ? (size_t)g->output : 0;
        for (size_t k = 1; g->output == GBX_OUTPUT_PREDICTED && k < all; k++)
            if (outputs[r * all + k] > outputs[r * all + c]) c = k;
        classes[r] = c;
        predictions[r] = outputs[r * all + c];
        base_values[r] = g->base_values[c];
        if (classes_out) classes_out[r] = (double)c;
    }
    free(outputs);
    if (status != GBX_OK) {
        free(classes);
        return status;
    }
    size_t block = POINTS_PER_BLOCK / g->points ? POINTS_PER_BLOCK / g->points : 1;
    size_t blocks = (n + block - 1) / block, failed = SIZE_MAX;
    gbx_status failure = GBX_OK;
    gbx_error block_error;
#pragma omp parallel num_threads(threads)
    {
        /* Each thread's tensors reuse the buffers of its previous blocks. */
        gbx_nn_pool pool = {0};
        gbx_nn_pool_use(&pool);
#pragma omp for schedule(dynamic, 1)
        for (size_t b = 0; b < blocks; b++) {
            size_t first = b * block, count = n - first < block ? n - first : block;
            gbx_error local;
            const size_t *block_classes = classes ? classes + first : NULL;
            double *block_values = values + first * K * gbx_gradients_features(g);
            const double *block_rows = rows + first * M;
            gbx_status s =
                g->options.kind == GBX_GRADIENT_DEEP
                    ? explain_deep_block(g, block_rows, count, block_classes, block_values, &local)
                : g->options.kind == GBX_GRADIENT_GRAD_CAM
                    ? explain_grad_cam_block(g, block_rows, count, block_classes, block_values, &local)
                : g->source != g->graph->input
                    ? explain_layer_block(g, block_rows, count, block_classes, block_values, &local)
                    : explain_block(g, block_rows, count, block_classes, block_values, &local);
            if (s != GBX_OK) {
#pragma omp critical(gbx_gradients_failure)
                if (b < failed) {
                    failed = b;
                    failure = s;
                    block_error = local;
                }
            }
        }
        gbx_nn_pool_use(NULL);
        gbx_nn_pool_free(&pool);
    }
    free(classes);
    if (failure != GBX_OK) {
        if (error) *error = block_error;
        return failure;
    }
    /* A gradient through a division by zero that a Where masks is 0 x inf: NaN in torch too,
     * and no explanation; refused, never written. */
    size_t F = gbx_gradients_features(g);
    for (size_t j = 0; j < n * K * F; j++)
        if (!isfinite(values[j]))
            return gbx_fail(error, GBX_ERR_UNSUPPORTED, "row %zu, output %zu: the attribution "
                            "of feature %zu is %g: the network divides by zero or overflows on "
                            "the way (a Where that masks it still passes 0 x inf back), so its "
                            "gradients explain nothing there; use a model-agnostic method such "
                            "as kernel or permutation", j / (K * F), j / F % K, j % F, values[j]);
    /* captum's convergence delta: how far the attributions are from adding up. */
    for (size_t rk = 0; deltas && rk < n * K; rk++) {
        double total = 0;
        for (size_t f = 0; f < F; f++) total += values[rk * F + f];
        deltas[rk] = total - (predictions[rk] - base_values[rk]);
    }
    return GBX_OK;
}

void gbx_gradients_free(gbx_gradients *g)
{
    if (!g) return;
    free(g->alphas);
    free(g->steps);
    free(g->baselines);
    free(g->cumulative);
    free(g->base_values);
    free(g->layer_baseline);
    free(g);
}

/* ---- the methods' rows: one per gradient kind, sharing these functions ------------------- */
#include "method.h"

/* Whether deep takes shap-TensorFlow's softmax rule: as asked, or by the model's origin. */
static int softmax_tensorflow(const gbx_explainer *x)
{
    gbx_softmax_rule rule = x->options.softmax_rule;
    return rule == GBX_SOFTMAX_RULE_TENSORFLOW ||
           (rule == GBX_SOFTMAX_RULE_AUTO && x->model->network &&
            x->model->network->from_tensorflow);
}

static gbx_status gradients_prepare_row(gbx_explainer *x, const gbx_data *background,
                                        gbx_error *error)
{
    const gbx_explainer_options *o = &x->options;
    gbx_gradient_options options = {(gbx_gradient_kind)x->row->variant, o->steps, o->integration,
                                    o->samples, o->stdevs, o->seed, o->output, o->layer,
                                    softmax_tensorflow(x)};
    gbx_gradients *gradients;
    gbx_status status = gbx_gradients_prepare(x->model, background, &options, &gradients, error);
    if (status != GBX_OK) return status;
    x->state = gradients;
    x->outputs = gbx_gradients_outputs(gradients);
    gbx_gradients_base_values(gradients, x->base_values);
    /* Attributions at a layer are its elements, unless they line up with the columns. */
    if (o->layer && x->row->method != GBX_METHOD_GRAD_CAM && !gbx_gradients_per_column(gradients))
        return gbx_explainer_name_layer(x, gbx_gradients_features(gradients), error);
    return GBX_OK;
}

static gbx_status gradients_explain_row(const gbx_explainer *x, const gbx_data *data,
                                        gbx_explanation *e, gbx_error *error)
{
    const gbx_gradients *gradients = x->state;
    size_t n = data->rows;
    if (gbx_gradients_additive(gradients) &&
        !(e->deltas = gbx_malloc_array(n * e->outputs + 1, sizeof(double))))
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory for %zu rows", n);
    if (x->options.output == GBX_OUTPUT_PREDICTED &&
        !(e->classes = gbx_malloc_array(n ? n : 1, sizeof(double))))
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory for %zu rows", n);
    return gbx_gradients_explain(gradients, data->values, n, e->values, e->predictions,
                                 e->base_values, e->deltas, e->classes, x->threads, error);
}

/* What captum would be told, and whether the values add up. */
static void gradients_parameters(FILE *f, const gbx_explainer *x)
{
    static const char *const rules[] = {"gausslegendre", "riemann_left", "riemann_right",
                                        "riemann_middle", "riemann_trapezoid"};
    const gbx_explainer_options *o = &x->options;
    gbx_method method = x->row->method;
    fprintf(f, "\"additive\": %s, \"output\": ", gbx_gradients_additive(x->state) ? "true" : "false");
    gbx_json_write_string(f, o->output == GBX_OUTPUT_ALL         ? "all"
                             : o->output == GBX_OUTPUT_PREDICTED ? "predicted"
                             : x->model->output_names[o->output]);
    if (method == GBX_METHOD_INTEGRATED_GRADIENTS) {
        fprintf(f, ", \"steps\": %zu, \"integration\": \"%s\", \"baseline\": ",
                o->steps ? o->steps : 50, rules[o->integration]);
        if (x->background_rows) fprintf(f, "\"%s\"", x->background_sha256);
        else fputs("\"zeros\"", f);
    }
    if (method == GBX_METHOD_GRADIENT_SHAP || method == GBX_METHOD_DEEP)
        fprintf(f, ", \"background_rows\": %zu, \"background_weighted\": %s, "
                "\"background_sha256\": \"%s\"", x->background_rows,
                x->background_weighted ? "true" : "false", x->background_sha256);
    if (method == GBX_METHOD_DEEP)
        fprintf(f, ", \"softmax_rule\": \"%s\"", softmax_tensorflow(x) ? "tensorflow" : "pytorch");
    if (o->layer) {
        fputs(", \"layer\": ", f);
        gbx_json_write_string(f, o->layer);
    }
    if (method == GBX_METHOD_SMOOTHGRAD || method == GBX_METHOD_GRADIENT_SHAP)
        fprintf(f, ", \"samples\": %zu, \"stdevs\": %.17g", o->samples ? o->samples : 5,
                o->stdevs >= 0 ? o->stdevs : method == GBX_METHOD_SMOOTHGRAD ? 1.0 : 0.0);
}

static void gradients_release(void *state) { gbx_gradients_free(state); }

#define GRADIENT_ROW(method, name, file_name, needs, kind)                                  \
    {method, name, file_name, METHOD_NETWORK | (needs), "a background data set", kind, NULL,  \
     gradients_prepare_row, gradients_explain_row, gradients_parameters, gradients_release}

const gbx_method_row gbx_saliency_method =
    GRADIENT_ROW(GBX_METHOD_SALIENCY, "saliency", NULL, 0, GBX_GRADIENT_SALIENCY);
const gbx_method_row gbx_input_x_gradient_method =
    GRADIENT_ROW(GBX_METHOD_INPUT_X_GRADIENT, "input-x-gradient", "input_x_gradient", 0,
                 GBX_GRADIENT_INPUT_X_GRADIENT);
const gbx_method_row gbx_smoothgrad_method =
    GRADIENT_ROW(GBX_METHOD_SMOOTHGRAD, "smoothgrad", NULL, 0, GBX_GRADIENT_SMOOTHGRAD);
const gbx_method_row gbx_integrated_gradients_method =
    GRADIENT_ROW(GBX_METHOD_INTEGRATED_GRADIENTS, "integrated-gradients", "integrated_gradients",
                 METHOD_BASELINE, GBX_GRADIENT_INTEGRATED);
const gbx_method_row gbx_gradient_shap_method =
    GRADIENT_ROW(GBX_METHOD_GRADIENT_SHAP, "gradient-shap", "gradient_shap", METHOD_BACKGROUND,
                 GBX_GRADIENT_SHAP);
const gbx_method_row gbx_deep_method =
    GRADIENT_ROW(GBX_METHOD_DEEP, "deep", NULL, METHOD_BACKGROUND, GBX_GRADIENT_DEEP);
const gbx_method_row gbx_grad_cam_method =
    GRADIENT_ROW(GBX_METHOD_GRAD_CAM, "grad-cam", "grad_cam", 0, GBX_GRADIENT_GRAD_CAM);
