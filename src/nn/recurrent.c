/* LSTM (ONNX semantics, layout 0: X [steps, batch, input]): forward, reverse or bidirectional,
 * gates in ONNX's order i, o, f, c with the default activations (sigmoid, tanh, tanh). The
 * gradient rule runs the sequence again to keep every step's gates, then goes back through
 * time (the gradient reaches X; initial states and weights are taken as constants). */
#include "recurrent.h"

#include <cblas.h>
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

static gbx_status shape_of(const gbx_nn_node *node, gbx_nn_tensor *const *in, lstm_shape *s,
                           gbx_error *error)
{
    const gbx_nn_tensor *X = in[0], *W = in[1], *R = in[2];
    size_t H = (size_t)node->params.ints[0], D = (size_t)node->params.ints[1];
    if (X->type != GBX_NN_FLOAT || X->rank != 3 || W->rank != 3 || R->rank != 3 ||
        (size_t)W->dims[0] != D || (size_t)W->dims[1] != 4 * H || W->dims[2] != X->dims[2] ||
        (size_t)R->dims[0] != D || (size_t)R->dims[1] != 4 * H || (size_t)R->dims[2] != H)
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
    s->c0 = node->input_count > 6 && in[6] ? in[6]->f : NULL;
    if ((s->B && in[3]->count != D * 8 * H) || (s->h0 && in[5]->count != D * s->N * H) ||
        (s->c0 && in[6]->count != D * s->N * H))
        return gbx_fail(error, GBX_ERR_PARSE, "B, initial_h or initial_c has the wrong size");
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
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, (int)(4 * H), (int)In, 1.0f,
                    s->X + t * N * In, (int)In, W, (int)In, 1.0f, g, (int)(4 * H));
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, (int)(4 * H), (int)H, 1.0f,
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
    gbx_status status = shape_of(node, in, &s, error);
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
    gbx_status status = shape_of(node, in, &s, error);
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
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)N, (int)In, (int)(4 * H),
                        1.0f, dgates, (int)(4 * H), W, (int)In, 1.0f, grad_in[0]->f + t * N * In,
                        (int)In);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)N, (int)H, (int)(4 * H),
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
