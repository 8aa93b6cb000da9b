/* LSTM (ONNX semantics, layout 0: X [steps, batch, input]): forward, reverse or bidirectional,
 * gates in ONNX's order i, o, f, c with the default activations (sigmoid, tanh, tanh). The
 * gradient rule runs the sequence again to keep every step's gates, then goes back through
 * time (the gradient reaches X; initial states and weights are taken as constants). */
#include "recurrent.h"
#include "../core/blas.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static float logistic(float x)
{
    if (x >= 0) return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

gbx_status gbx_nn_check_lstm(gbx_nn_node *node, const gbx_nn_graph *graph, gbx_error *error)
{
    (void)graph;
    const gbx_nn_attribute *a = gbx_nn_attribute_find(node, "hidden_size");
    if (!a || a->kind != GBX_NN_ATTRIBUTE_INT || a->i < 1)
        return gbx_fail(error, GBX_ERR_PARSE, "hidden_size is required");
    node->params.ints[0] = a->i;
    node->params.ints[1] = 1; /* directions */
    node->params.ints[2] = 0; /* reverse */
    if ((a = gbx_nn_attribute_find(node, "direction")) && a->kind == GBX_NN_ATTRIBUTE_STRING) {
        if (strcmp(a->s, "bidirectional") == 0) node->params.ints[1] = 2;
        else if (strcmp(a->s, "reverse") == 0) node->params.ints[2] = 1;
        else if (strcmp(a->s, "forward") != 0)
            return gbx_fail(error, GBX_ERR_PARSE, "direction \"%s\"", a->s);
    }
    static const char *const unsupported[] = {"activations", "clip", "input_forget"};
    for (int u = 0; u < 3; u++)
        if ((a = gbx_nn_attribute_find(node, unsupported[u])) &&
            !(a->kind == GBX_NN_ATTRIBUTE_INT && a->i == 0))
            return gbx_fail(error, GBX_ERR_UNSUPPORTED, "the %s attribute (glassbox runs the "
                            "default LSTM)", unsupported[u]);
    if ((a = gbx_nn_attribute_find(node, "layout")) && a->kind == GBX_NN_ATTRIBUTE_INT && a->i != 0)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "layout %lld (glassbox reads layout 0)",
                        (long long)a->i);
    if (node->input_count > 4 && node->inputs[4] >= 0)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "sequence_lens (every sequence must run "
                        "its whole length)");
    if (node->input_count > 7 && node->inputs[7] >= 0)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "peephole weights");
    return GBX_OK;
}

typedef struct {
    size_t T, N, In, H, D; /* steps, batch, input width, hidden size, directions */
    int reverse;
    const float *X, *W, *R, *B, *h0, *c0;
} lstm_shape;

/* Checks X, W, R, B and the initial states of an LSTM (4 gates, with a cell state) or a GRU
 * (3 gates) against hidden_size and the directions. */
static gbx_status shape_of(const gbx_nn_node *node, gbx_nn_tensor *const *in, size_t gates,
                           lstm_shape *s, gbx_error *error)
{
    const gbx_nn_tensor *X = in[0], *W = in[1], *R = in[2];
    size_t H = (size_t)node->params.ints[0], D = (size_t)node->params.ints[1];
    if (X->type != GBX_NN_FLOAT || X->rank != 3 || W->rank != 3 || R->rank != 3 ||
        (size_t)W->dims[0] != D || (size_t)W->dims[1] != gates * H || W->dims[2] != X->dims[2] ||
        (size_t)R->dims[0] != D || (size_t)R->dims[1] != gates * H || (size_t)R->dims[2] != H)
        return gbx_fail(error, GBX_ERR_PARSE, "X, W and R do not fit hidden_size %zu and %zu "
                        "direction(s)", H, D);
    s->T = (size_t)X->dims[0];
    s->N = (size_t)X->dims[1];
    s->In = (size_t)X->dims[2];
    s->H = H;
    s->D = D;
    s->reverse = (int)node->params.ints[2];
    s->X = X->f;
    s->W = W->f;
    s->R = R->f;
    s->B = node->input_count > 3 && in[3] ? in[3]->f : NULL;
    s->h0 = node->input_count > 5 && in[5] ? in[5]->f : NULL;
    s->c0 = gates == 4 && node->input_count > 6 && in[6] ? in[6]->f : NULL;
    if ((s->B && in[3]->count != D * 2 * gates * H) || (s->h0 && in[5]->count != D * s->N * H) ||
        (s->c0 && in[6]->count != D * s->N * H))
        return gbx_fail(error, GBX_ERR_PARSE, "B or an initial state has the wrong size");
    return GBX_OK;
}

/* Runs direction d; stores every step's gates after activation ([T][N][4H], order i o f c),
 * cell state and hidden state ([T+1][N][H], entry 0 the initial state) in step order. */
static void run_direction(const lstm_shape *s, size_t d, float *gates, float *cells, float *hiddens)
{
    size_t T = s->T, N = s->N, In = s->In, H = s->H;
    const float *W = s->W + d * 4 * H * In, *R = s->R + d * 4 * H * H;
    for (size_t j = 0; j < N * H; j++) {
        hiddens[j] = s->h0 ? s->h0[d * N * H + j] : 0.0f;
        cells[j] = s->c0 ? s->c0[d * N * H + j] : 0.0f;
    }
    int backwards = s->reverse || d == 1;
    for (size_t step = 0; step < T; step++) {
        size_t t = backwards ? T - 1 - step : step;
        float *g = gates + step * N * 4 * H;
        const float *h_prev = hiddens + step * N * H, *c_prev = cells + step * N * H;
        float *h = hiddens + (step + 1) * N * H, *c = cells + (step + 1) * N * H;
        for (size_t n = 0; n < N; n++)
            for (size_t k = 0; k < 4 * H; k++)
                g[n * 4 * H + k] = s->B ? s->B[d * 8 * H + k] + s->B[d * 8 * H + 4 * H + k] : 0.0f;
        gbx_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, (int)(4 * H), (int)In, 1.0f,
                    s->X + t * N * In, (int)In, W, (int)In, 1.0f, g, (int)(4 * H));
        gbx_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, (int)(4 * H), (int)H, 1.0f,
                    h_prev, (int)H, R, (int)H, 1.0f, g, (int)(4 * H));
        for (size_t n = 0; n < N; n++) {
            float *gn = g + n * 4 * H;
            for (size_t k = 0; k < H; k++) {
                float i = logistic(gn[k]), o = logistic(gn[H + k]), f = logistic(gn[2 * H + k]);
                float candidate = tanhf(gn[3 * H + k]);
                gn[k] = i;
                gn[H + k] = o;
                gn[2 * H + k] = f;
                gn[3 * H + k] = candidate;
                c[n * H + k] = f * c_prev[n * H + k] + i * candidate;
                h[n * H + k] = o * tanhf(c[n * H + k]);
            }
        }
    }
}

gbx_status gbx_nn_forward_lstm(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                               gbx_nn_tensor **out, gbx_error *error)
{
    lstm_shape s;
    gbx_status status = shape_of(node, in, 4, &s, error);
    if (status != GBX_OK) return status;
    size_t T = s.T, N = s.N, H = s.H, D = s.D;
    int64_t y_dims[4] = {(int64_t)T, (int64_t)D, (int64_t)N, (int64_t)H};
    int64_t state_dims[3] = {(int64_t)D, (int64_t)N, (int64_t)H};
    if (out[0] && (status = gbx_nn_tensor_alloc(out[0], GBX_NN_FLOAT, 4, y_dims, error))) return status;
    for (int o = 1; o < 3 && o < node->output_count; o++)
        if (out[o] && (status = gbx_nn_tensor_alloc(out[o], GBX_NN_FLOAT, 3, state_dims, error)))
            return status;
    float *gates = gbx_malloc_array(T * N * 4 * H + 1, sizeof(float));
    float *cells = gbx_malloc_array((T + 1) * N * H, sizeof(float));
    float *hiddens = gbx_malloc_array((T + 1) * N * H, sizeof(float));
    if (!gates || !cells || !hiddens) status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    for (size_t d = 0; status == GBX_OK && d < D; d++) {
        run_direction(&s, d, gates, cells, hiddens);
        int backwards = s.reverse || d == 1;
        for (size_t step = 0; step < T; step++) {
            size_t t = backwards ? T - 1 - step : step;
            if (out[0])
                memcpy(out[0]->f + (t * D + d) * N * H, hiddens + (step + 1) * N * H,
                       N * H * sizeof(float));
        }
        if (node->output_count > 1 && out[1])
            memcpy(out[1]->f + d * N * H, hiddens + T * N * H, N * H * sizeof(float));
        if (node->output_count > 2 && out[2])
            memcpy(out[2]->f + d * N * H, cells + T * N * H, N * H * sizeof(float));
    }
    free(gates);
    free(cells);
    free(hiddens);
    return status;
}

gbx_status gbx_nn_backward_lstm(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                gbx_nn_tensor *const *out, gbx_nn_tensor *const *grad_out,
                                gbx_nn_tensor **grad_in, gbx_error *error)
{
    (void)out;
    if (!grad_in[0]) return GBX_OK;
    lstm_shape s;
    gbx_status status = shape_of(node, in, 4, &s, error);
    if (status != GBX_OK) return status;
    size_t T = s.T, N = s.N, In = s.In, H = s.H, D = s.D;
    const float *dY = grad_out[0] ? grad_out[0]->f : NULL;
    const float *dYh = node->output_count > 1 && grad_out[1] ? grad_out[1]->f : NULL;
    const float *dYc = node->output_count > 2 && grad_out[2] ? grad_out[2]->f : NULL;
    float *gates = gbx_malloc_array(T * N * 4 * H + 1, sizeof(float));
    float *cells = gbx_malloc_array((T + 1) * N * H, sizeof(float));
    float *hiddens = gbx_malloc_array((T + 1) * N * H, sizeof(float));
    float *dh = gbx_calloc(N * H, sizeof(float)), *dc = gbx_calloc(N * H, sizeof(float));
    float *dgates = gbx_malloc_array(N * 4 * H, sizeof(float));
    if (!gates || !cells || !hiddens || !dh || !dc || !dgates)
        status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    for (size_t d = 0; status == GBX_OK && d < D; d++) {
        run_direction(&s, d, gates, cells, hiddens);
        const float *W = s.W + d * 4 * H * In, *R = s.R + d * 4 * H * H;
        int backwards = s.reverse || d == 1;
        for (size_t j = 0; j < N * H; j++) {
            dh[j] = dYh ? dYh[d * N * H + j] : 0.0f;
            dc[j] = dYc ? dYc[d * N * H + j] : 0.0f;
        }
        for (size_t step = T; step-- > 0;) {
            size_t t = backwards ? T - 1 - step : step;
            const float *g = gates + step * N * 4 * H;
            const float *c = cells + (step + 1) * N * H, *c_prev = cells + step * N * H;
            for (size_t j = 0; dY && j < N * H; j++) dh[j] += dY[(t * D + d) * N * H + j];
            for (size_t n = 0; n < N; n++)
                for (size_t k = 0; k < H; k++) {
                    size_t at = n * H + k;
                    const float *gn = g + n * 4 * H;
                    float i = gn[k], o = gn[H + k], f = gn[2 * H + k], candidate = gn[3 * H + k];
                    float squashed = tanhf(c[at]);
                    float cell = dc[at] + dh[at] * o * (1 - squashed * squashed);
                    float *dgn = dgates + n * 4 * H;
                    dgn[k] = cell * candidate * i * (1 - i);
                    dgn[H + k] = dh[at] * squashed * o * (1 - o);
                    dgn[2 * H + k] = cell * c_prev[at] * f * (1 - f);
                    dgn[3 * H + k] = cell * i * (1 - candidate * candidate);
                    dc[at] = cell * f;
                }
            /* dX_t += dgates W; dh_prev = dgates R. */
            gbx_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)N, (int)In, (int)(4 * H),
                        1.0f, dgates, (int)(4 * H), W, (int)In, 1.0f, grad_in[0]->f + t * N * In,
                        (int)In);
            gbx_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)N, (int)H, (int)(4 * H),
                        1.0f, dgates, (int)(4 * H), R, (int)H, 0.0f, dh, (int)H);
        }
    }
    free(gates);
    free(cells);
    free(hiddens);
    free(dh);
    free(dc);
    free(dgates);
    return status;
}

/* ---- GRU ---------------------------------------------------------------------------------- */
/* Gates in ONNX's order z, r, h; linear_before_reset (PyTorch's form) applies the reset gate
 * after the recurrent product: h~ = tanh(x Wh + bw + r (h Rh + br)). */

gbx_status gbx_nn_check_gru(gbx_nn_node *node, const gbx_nn_graph *graph, gbx_error *error)
{
    gbx_status status = gbx_nn_check_lstm(node, graph, error);
    const gbx_nn_attribute *a = gbx_nn_attribute_find(node, "linear_before_reset");
    node->params.ints[3] = a && a->kind == GBX_NN_ATTRIBUTE_INT ? a->i != 0 : 0;
    return status;
}

/* Runs direction d, keeping per step z, r, h~ and the recurrent part of h~ ([T][N][4H]) and
 * the hidden states ([T+1][N][H]). */
static void gru_direction(const lstm_shape *s, size_t d, int linear_before_reset, float *gates,
                          float *hiddens)
{
    size_t T = s->T, N = s->N, In = s->In, H = s->H;
    const float *W = s->W + d * 3 * H * In, *R = s->R + d * 3 * H * H;
    const float *wb = s->B ? s->B + d * 6 * H : NULL, *rb = s->B ? s->B + d * 6 * H + 3 * H : NULL;
    float *input_part = gbx_malloc_array(N * 3 * H, sizeof(float));
    float *recurrent_part = gbx_malloc_array(N * 3 * H, sizeof(float));
    float *reset_hidden = gbx_malloc_array(N * H, sizeof(float));
    if (!input_part || !recurrent_part || !reset_hidden) {
        /* Out of memory in a forward pass: leave zeros rather than read garbage. */
        memset(hiddens, 0, (T + 1) * N * H * sizeof(float));
        memset(gates, 0, T * N * 4 * H * sizeof(float));
        free(input_part);
        free(recurrent_part);
        free(reset_hidden);
        return;
    }
    for (size_t j = 0; j < N * H; j++) hiddens[j] = s->h0 ? s->h0[d * N * H + j] : 0.0f;
    int backwards = s->reverse || d == 1;
    for (size_t step = 0; step < T; step++) {
        size_t t = backwards ? T - 1 - step : step;
        const float *h_prev = hiddens + step * N * H;
        float *h = hiddens + (step + 1) * N * H, *g = gates + step * N * 4 * H;
        gbx_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, (int)(3 * H), (int)In, 1.0f,
                    s->X + t * N * In, (int)In, W, (int)In, 0.0f, input_part, (int)(3 * H));
        gbx_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, (int)(3 * H), (int)H, 1.0f,
                    h_prev, (int)H, R, (int)H, 0.0f, recurrent_part, (int)(3 * H));
        for (size_t n = 0; n < N; n++)
            for (size_t k = 0; k < H; k++) {
                const float *x3 = input_part + n * 3 * H, *h3 = recurrent_part + n * 3 * H;
                float z = logistic(x3[k] + h3[k] + (wb ? wb[k] + rb[k] : 0));
                float r = logistic(x3[H + k] + h3[H + k] + (wb ? wb[H + k] + rb[H + k] : 0));
                float recurrent = h3[2 * H + k] + (rb ? rb[2 * H + k] : 0);
                g[n * 4 * H + k] = z;
                g[n * 4 * H + H + k] = r;
                g[n * 4 * H + 3 * H + k] = recurrent; /* kept for the gradient */
                reset_hidden[n * H + k] = r * h_prev[n * H + k];
            }
        if (!linear_before_reset)
            /* h~ takes (r * h) Rh: the recurrent product again, on the reset state. */
            gbx_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, (int)H, (int)H, 1.0f,
                        reset_hidden, (int)H, R + 2 * H * H, (int)H, 0.0f, recurrent_part, (int)H);
        for (size_t n = 0; n < N; n++)
            for (size_t k = 0; k < H; k++) {
                float *gn = g + n * 4 * H;
                float pre = input_part[n * 3 * H + 2 * H + k] + (wb ? wb[2 * H + k] : 0) +
                            (linear_before_reset ? gn[H + k] * gn[3 * H + k]
                                                 : recurrent_part[n * H + k] + (rb ? rb[2 * H + k] : 0));
                float candidate = tanhf(pre);
                gn[2 * H + k] = candidate;
                h[n * H + k] = (1 - gn[k]) * candidate + gn[k] * h_prev[n * H + k];
            }
    }
    free(input_part);
    free(recurrent_part);
    free(reset_hidden);
}

gbx_status gbx_nn_forward_gru(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                              gbx_nn_tensor **out, gbx_error *error)
{
    lstm_shape s;
    gbx_status status = shape_of(node, in, 3, &s, error);
    if (status != GBX_OK) return status;
    size_t T = s.T, N = s.N, H = s.H, D = s.D;
    int64_t y_dims[4] = {(int64_t)T, (int64_t)D, (int64_t)N, (int64_t)H};
    int64_t state_dims[3] = {(int64_t)D, (int64_t)N, (int64_t)H};
    if (out[0] && (status = gbx_nn_tensor_alloc(out[0], GBX_NN_FLOAT, 4, y_dims, error))) return status;
    if (node->output_count > 1 && out[1] &&
        (status = gbx_nn_tensor_alloc(out[1], GBX_NN_FLOAT, 3, state_dims, error)))
        return status;
    float *gates = gbx_malloc_array(T * N * 4 * H + 1, sizeof(float));
    float *hiddens = gbx_malloc_array((T + 1) * N * H, sizeof(float));
    if (!gates || !hiddens) status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    for (size_t d = 0; status == GBX_OK && d < D; d++) {
        gru_direction(&s, d, (int)node->params.ints[3], gates, hiddens);
        int backwards = s.reverse || d == 1;
        for (size_t step = 0; out[0] && step < T; step++) {
            size_t t = backwards ? T - 1 - step : step;
            memcpy(out[0]->f + (t * D + d) * N * H, hiddens + (step + 1) * N * H,
                   N * H * sizeof(float));
        }
        if (node->output_count > 1 && out[1])
            memcpy(out[1]->f + d * N * H, hiddens + T * N * H, N * H * sizeof(float));
    }
    free(gates);
    free(hiddens);
    return status;
}

gbx_status gbx_nn_backward_gru(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                               gbx_nn_tensor *const *out, gbx_nn_tensor *const *grad_out,
                               gbx_nn_tensor **grad_in, gbx_error *error)
{
    (void)out;
    if (!grad_in[0]) return GBX_OK;
    lstm_shape s;
    gbx_status status = shape_of(node, in, 3, &s, error);
    if (status != GBX_OK) return status;
    size_t T = s.T, N = s.N, In = s.In, H = s.H, D = s.D;
    int linear_before_reset = (int)node->params.ints[3];
    const float *dY = grad_out[0] ? grad_out[0]->f : NULL;
    const float *dYh = node->output_count > 1 && grad_out[1] ? grad_out[1]->f : NULL;
    float *gates = gbx_malloc_array(T * N * 4 * H + 1, sizeof(float));
    float *hiddens = gbx_malloc_array((T + 1) * N * H, sizeof(float));
    float *dh = gbx_calloc(N * H, sizeof(float)), *next = gbx_calloc(N * H, sizeof(float));
    float *dgates = gbx_malloc_array(N * 3 * H, sizeof(float)); /* d pre-activations z r h */
    float *dcandidate = gbx_malloc_array(N * H, sizeof(float));
    float *dreset = gbx_malloc_array(N * H, sizeof(float));
    if (!gates || !hiddens || !dh || !next || !dgates || !dcandidate || !dreset)
        status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    for (size_t d = 0; status == GBX_OK && d < D; d++) {
        gru_direction(&s, d, linear_before_reset, gates, hiddens);
        const float *W = s.W + d * 3 * H * In, *R = s.R + d * 3 * H * H;
        int backwards = s.reverse || d == 1;
        for (size_t j = 0; j < N * H; j++) dh[j] = dYh ? dYh[d * N * H + j] : 0.0f;
        for (size_t step = T; step-- > 0;) {
            size_t t = backwards ? T - 1 - step : step;
            const float *g = gates + step * N * 4 * H, *h_prev = hiddens + step * N * H;
            for (size_t j = 0; dY && j < N * H; j++) dh[j] += dY[(t * D + d) * N * H + j];
            for (size_t n = 0; n < N; n++)
                for (size_t k = 0; k < H; k++) {
                    const float *gn = g + n * 4 * H;
                    float z = gn[k], r = gn[H + k], candidate = gn[2 * H + k];
                    float grad = dh[n * H + k], previous = h_prev[n * H + k];
                    float pre = grad * (1 - z) * (1 - candidate * candidate);
                    dgates[n * 3 * H + k] = grad * (previous - candidate) * z * (1 - z);
                    dgates[n * 3 * H + 2 * H + k] = pre;
                    next[n * H + k] = grad * z; /* through h = ... + z h_prev */
                    dcandidate[n * H + k] = pre;
                    if (linear_before_reset)
                        dgates[n * 3 * H + H + k] = pre * gn[3 * H + k] * r * (1 - r);
                }
            if (linear_before_reset) {
                /* h~ sees r (h Rh + br): the recurrent product's gradient is pre * r. */
                for (size_t n = 0; n < N; n++)
                    for (size_t k = 0; k < H; k++)
                        dreset[n * H + k] = dcandidate[n * H + k] * g[n * 4 * H + H + k];
                gbx_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)N, (int)H, (int)H,
                            1.0f, dreset, (int)H, R + 2 * H * H, (int)H, 1.0f, next, (int)H);
            } else {
                /* h~ sees (r h) Rh: d(r h) = pre Rh, split between r and h. */
                gbx_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)N, (int)H, (int)H,
                            1.0f, dcandidate, (int)H, R + 2 * H * H, (int)H, 0.0f, dreset, (int)H);
                for (size_t n = 0; n < N; n++)
                    for (size_t k = 0; k < H; k++) {
                        float r = g[n * 4 * H + H + k];
                        dgates[n * 3 * H + H + k] = dreset[n * H + k] * h_prev[n * H + k] * r * (1 - r);
                        next[n * H + k] += dreset[n * H + k] * r;
                    }
            }
            /* dX_t += d(z r h) W; h_prev also gets d(z r) R(z r). */
            gbx_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)N, (int)In, (int)(3 * H),
                        1.0f, dgates, (int)(3 * H), W, (int)In, 1.0f, grad_in[0]->f + t * N * In,
                        (int)In);
            gbx_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)N, (int)H, (int)(2 * H),
                        1.0f, dgates, (int)(3 * H), R, (int)H, 1.0f, next, (int)H);
            memcpy(dh, next, N * H * sizeof(float));
            memset(next, 0, N * H * sizeof(float));
        }
    }
    free(gates);
    free(hiddens);
    free(dh);
    free(next);
    free(dgates);
    free(dcandidate);
    free(dreset);
    return status;
}
