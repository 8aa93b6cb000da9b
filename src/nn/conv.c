/* Convolution and pooling (1 to 3 spatial dimensions, channels first as ONNX has them):
 * Conv and ConvTranspose through im2col / col2im and OpenBLAS sgemm, MaxPool, AveragePool and
 * the global pools, each with its gradient rule. */
#include "conv.h"
#include "../core/blas.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SPATIAL 3

/* Everything a window op needs, resolved against the input's shape. */
typedef struct {
    int spatial;
    int64_t in[MAX_SPATIAL], out[MAX_SPATIAL], kernel[MAX_SPATIAL], stride[MAX_SPATIAL],
        dilation[MAX_SPATIAL], pad_begin[MAX_SPATIAL], pad_end[MAX_SPATIAL];
    int64_t group;
} geometry;

enum { AUTO_NOTSET, AUTO_SAME_UPPER, AUTO_SAME_LOWER, AUTO_VALID };

/* params.list layout: [auto_pad, group, ceil_mode, count_include_pad, kernel x3, strides x3,
 * dilations x3, pads x6 (begins then ends), output_padding x3, has_kernel, has_pads]. */
enum { P_AUTO, P_GROUP, P_CEIL, P_INCLUDE_PAD, P_KERNEL = 4, P_STRIDE = 7, P_DILATION = 10,
       P_PADS = 13, P_OUTPUT_PADDING = 19, P_HAS_KERNEL = 22, P_HAS_PADS, P_COUNT };

static const gbx_nn_attribute *find(const gbx_nn_node *node, const char *name)
{
    return gbx_nn_attribute_find(node, name);
}

/* Reads the window attributes shared by Conv, ConvTranspose and the pools. */
gbx_status gbx_nn_check_window(gbx_nn_node *node, const gbx_nn_graph *graph, gbx_error *error)
{
    (void)graph;
    int64_t *p = gbx_calloc(P_COUNT, sizeof(int64_t));
    if (!p) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    node->params.list = p;
    node->params.list_count = P_COUNT;
    for (int d = 0; d < MAX_SPATIAL; d++) p[P_STRIDE + d] = p[P_DILATION + d] = 1;
    p[P_GROUP] = 1;
    const gbx_nn_attribute *a;
    if ((a = find(node, "auto_pad")) && a->kind == GBX_NN_ATTRIBUTE_STRING) {
        if (strcmp(a->s, "SAME_UPPER") == 0) p[P_AUTO] = AUTO_SAME_UPPER;
        else if (strcmp(a->s, "SAME_LOWER") == 0) p[P_AUTO] = AUTO_SAME_LOWER;
        else if (strcmp(a->s, "VALID") == 0) p[P_AUTO] = AUTO_VALID;
        else if (strcmp(a->s, "NOTSET") != 0)
            return gbx_fail(error, GBX_ERR_PARSE, "auto_pad \"%s\"", a->s);
    }
    if ((a = find(node, "group")) && a->kind == GBX_NN_ATTRIBUTE_INT) p[P_GROUP] = a->i;
    if ((a = find(node, "ceil_mode")) && a->kind == GBX_NN_ATTRIBUTE_INT) p[P_CEIL] = a->i;
    if ((a = find(node, "count_include_pad")) && a->kind == GBX_NN_ATTRIBUTE_INT)
        p[P_INCLUDE_PAD] = a->i;
    if (p[P_GROUP] < 1) return gbx_fail(error, GBX_ERR_PARSE, "group %lld", (long long)p[P_GROUP]);
    static const struct { const char *name; int offset, count; } lists[] = {
        {"kernel_shape", P_KERNEL, 1}, {"strides", P_STRIDE, 1}, {"dilations", P_DILATION, 1},
        {"pads", P_PADS, 2}, {"output_padding", P_OUTPUT_PADDING, 1}};
    for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++) {
        if (!(a = find(node, lists[l].name)) || a->kind != GBX_NN_ATTRIBUTE_INTS) continue;
        if (a->count > (size_t)(MAX_SPATIAL * lists[l].count) || a->count % (size_t)lists[l].count)
            return gbx_fail(error, GBX_ERR_UNSUPPORTED, "%s lists %zu values (at most %d spatial "
                            "dimensions)", lists[l].name, a->count, MAX_SPATIAL);
        size_t per = a->count / (size_t)lists[l].count;
        for (size_t j = 0; j < a->count; j++) {
            int64_t v = a->ints[j];
            int is_pad = lists[l].offset == P_PADS || lists[l].offset == P_OUTPUT_PADDING;
            if (is_pad ? v < 0 : v < 1)
                return gbx_fail(error, GBX_ERR_PARSE, "%s holds %lld", lists[l].name, (long long)v);
            /* pads: begins then ends, stored at fixed offsets per dimension */
            size_t slot = lists[l].offset == P_PADS ? (j / per) * MAX_SPATIAL + j % per : j;
            p[lists[l].offset + slot] = v;
        }
        if (lists[l].offset == P_KERNEL) p[P_HAS_KERNEL] = (int64_t)a->count;
        if (lists[l].offset == P_PADS) p[P_HAS_PADS] = (int64_t)per;
    }
    return GBX_OK;
}

/* Resolves the geometry for input x (rank 2 + spatial) and a kernel of the given sizes. */
static gbx_status resolve(const gbx_nn_node *node, const gbx_nn_tensor *x, const int64_t *kernel,
                          int transposed, geometry *g, gbx_error *error)
{
    const int64_t *p = node->params.list;
    int spatial = x->rank - 2;
    if (spatial < 1 || spatial > MAX_SPATIAL)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "an input of rank %d (1 to %d spatial "
                        "dimensions after batch and channels)", x->rank, MAX_SPATIAL);
    if (p[P_HAS_KERNEL] && p[P_HAS_KERNEL] != spatial)
        return gbx_fail(error, GBX_ERR_PARSE, "kernel_shape has %lld dimensions for %d",
                        (long long)p[P_HAS_KERNEL], spatial);
    g->spatial = spatial;
    g->group = p[P_GROUP];
    for (int d = 0; d < spatial; d++) {
        g->in[d] = x->dims[2 + d];
        g->kernel[d] = kernel ? kernel[d] : p[P_KERNEL + d];
        g->stride[d] = p[P_STRIDE + d];
        g->dilation[d] = p[P_DILATION + d];
        g->pad_begin[d] = p[P_PADS + d];
        g->pad_end[d] = p[P_PADS + MAX_SPATIAL + d];
        if (g->kernel[d] < 1) return gbx_fail(error, GBX_ERR_PARSE, "no kernel size");
        int64_t span = (g->kernel[d] - 1) * g->dilation[d] + 1;
        if (transposed) {
            g->out[d] = g->stride[d] * (g->in[d] - 1) + p[P_OUTPUT_PADDING + d] + span -
                        g->pad_begin[d] - g->pad_end[d];
            if (p[P_AUTO] == AUTO_SAME_UPPER || p[P_AUTO] == AUTO_SAME_LOWER) {
                int64_t total = g->stride[d] * (g->in[d] - 1) + p[P_OUTPUT_PADDING + d] + span -
                                g->in[d] * g->stride[d];
                if (total < 0) total = 0;
                g->pad_begin[d] = p[P_AUTO] == AUTO_SAME_UPPER ? total / 2 : total - total / 2;
                g->pad_end[d] = total - g->pad_begin[d];
                g->out[d] = g->in[d] * g->stride[d];
            }
        } else {
            if (p[P_AUTO] == AUTO_SAME_UPPER || p[P_AUTO] == AUTO_SAME_LOWER) {
                int64_t target = (g->in[d] + g->stride[d] - 1) / g->stride[d];
                int64_t total = (target - 1) * g->stride[d] + span - g->in[d];
                if (total < 0) total = 0;
                g->pad_begin[d] = p[P_AUTO] == AUTO_SAME_LOWER ? (total + 1) / 2 : total / 2;
                g->pad_end[d] = total - g->pad_begin[d];
            } else if (p[P_AUTO] == AUTO_VALID) {
                g->pad_begin[d] = g->pad_end[d] = 0;
            }
            int64_t room = g->in[d] + g->pad_begin[d] + g->pad_end[d] - span;
            if (room < 0)
                return gbx_fail(error, GBX_ERR_PARSE, "the window (%lld) is larger than the padded "
                                "input (%lld)", (long long)span,
                                (long long)(g->in[d] + g->pad_begin[d] + g->pad_end[d]));
            g->out[d] = (p[P_CEIL] ? (room + g->stride[d] - 1) : room) / g->stride[d] + 1;
            /* ceil_mode: a last window that starts in the right padding is dropped */
            if (p[P_CEIL] && (g->out[d] - 1) * g->stride[d] >= g->in[d] + g->pad_begin[d])
                g->out[d]--;
        }
        if (g->out[d] < 1) return gbx_fail(error, GBX_ERR_PARSE, "an empty output");
    }
    /* The tap table holds kernel x output positions (each below the tensor bound, so the
     * product fits); keep it within the bound too. */
    size_t K = 1, O = 1;
    for (int d = 0; d < spatial; d++) {
        K *= (size_t)g->kernel[d];
        O *= (size_t)g->out[d];
    }
    if (K > GBX_NN_MAX_VALUES || O > GBX_NN_MAX_VALUES || K * O > GBX_NN_MAX_VALUES)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "a window of %zu positions over %zu outputs "
                        "is larger than glassbox allows", K, O);
    return GBX_OK;
}

static size_t volume(const int64_t *dims, int count)
{
    size_t v = 1;
    for (int d = 0; d < count; d++) v *= (size_t)dims[d];
    return v;
}

/* Input offset (within one channel, flat over the spatial dimensions) that kernel position k
 * reads at output position o, or -1 in the padding. */
static long tap(const geometry *g, size_t k, size_t o)
{
    int64_t at[MAX_SPATIAL];
    for (int d = g->spatial - 1; d >= 0; d--) {
        int64_t kd = (int64_t)(k % (size_t)g->kernel[d]), od = (int64_t)(o % (size_t)g->out[d]);
        k /= (size_t)g->kernel[d];
        o /= (size_t)g->out[d];
        at[d] = od * g->stride[d] - g->pad_begin[d] + kd * g->dilation[d];
        if (at[d] < 0 || at[d] >= g->in[d]) return -1;
    }
    long flat = 0;
    for (int d = 0; d < g->spatial; d++) flat = flat * (long)g->in[d] + (long)at[d];
    return flat;
}

/* tap(k, o) for every kernel and output position ([K][O]), worked out once per call: every
 * sample and channel then reads the table. NULL when out of memory. */
static int32_t *tap_table(const geometry *g)
{
    size_t K = volume(g->kernel, g->spatial), O = volume(g->out, g->spatial);
    int32_t *table = gbx_malloc_array(K * O > 0 ? K * O : 1, sizeof(int32_t));
    for (size_t k = 0; table && k < K; k++)
        for (size_t o = 0; o < O; o++) table[k * O + o] = (int32_t)tap(g, k, o);
    return table;
}

/* A stretch of one kernel position's taps: output positions [o, o + length) read the input
 * at start, start + step, ... (start -1: all in the padding, zeros). A 3x3 window over a
 * 28 x 28 image is 9 x 28 such runs instead of 9 x 784 lookups, so im2col copies rows. */
typedef struct {
    int32_t o, length, start, step;
} tap_run;

typedef struct {
    tap_run *runs;
    size_t *first; /* kernel position k's runs are runs[first[k]] .. runs[first[k + 1] - 1] */
} tap_runs;

static void tap_runs_free(tap_runs *r)
{
    free(r->runs);
    free(r->first);
}

/* Appends a stretch to r's runs, extending the last run where the stretch continues it. */
static void tap_runs_append(tap_runs *r, size_t *count, tap_run next, size_t first_of_k)
{
    if (next.length <= 0) return;
    if (*count > first_of_k) {
        tap_run *last = &r->runs[*count - 1];
        if (last->start < 0 && next.start < 0) {
            last->length += next.length;
            return;
        }
        if (last->start >= 0 && next.start >= 0) {
            int32_t step = last->length == 1 ? next.start - last->start : last->step;
            if (step > 0 && next.start == last->start + last->length * step &&
                (next.length == 1 || next.step == step)) {
                last->step = step;
                last->length += next.length;
                return;
            }
        }
    }
    r->runs[(*count)++] = next;
}

/* The taps as runs, worked out a row of the last spatial dimension at a time: along it, the
 * positions that read the input form one stretch between two of padding. Fails only when out
 * of memory. */
static int tap_runs_build(const geometry *g, tap_runs *r)
{
    int last = g->spatial - 1;
    size_t K = volume(g->kernel, g->spatial), O = volume(g->out, g->spatial);
    size_t width = (size_t)g->out[last], rows = O / width;
    size_t capacity = K * rows * (width < 3 ? width : 3), count = 0;
    r->runs = gbx_malloc_array(capacity > 0 ? capacity : 1, sizeof(tap_run));
    r->first = gbx_malloc_array(K + 1, sizeof(size_t));
    if (!r->runs || !r->first) {
        tap_runs_free(r);
        return 0;
    }
    int64_t in_stride[MAX_SPATIAL]; /* flat input offset of one step along each dimension */
    in_stride[last] = 1;
    for (int d = last - 1; d >= 0; d--) in_stride[d] = in_stride[d + 1] * g->in[d + 1];
    int64_t stride = g->stride[last];
    for (size_t k = 0; k < K; k++) {
        int64_t kd[MAX_SPATIAL];
        for (size_t rest = k, d = (size_t)g->spatial; d-- > 0;) {
            kd[d] = (int64_t)(rest % (size_t)g->kernel[d]);
            rest /= (size_t)g->kernel[d];
        }
        r->first[k] = count;
        /* Along the last dimension output x reads input x * stride + shift, inside the input
         * for x in [lo, hi). */
        int64_t shift = kd[last] * g->dilation[last] - g->pad_begin[last];
        int64_t lo = shift >= 0 ? 0 : (-shift + stride - 1) / stride;
        int64_t hi = g->in[last] - shift <= 0 ? 0 : (g->in[last] - shift + stride - 1) / stride;
        if (hi > (int64_t)width) hi = (int64_t)width;
        if (lo > hi) lo = hi;
        for (size_t row = 0; row < rows; row++) {
            int64_t flat = 0;
            int inside = 1;
            for (size_t rest = row, d = (size_t)last; d-- > 0;) {
                int64_t at = (int64_t)(rest % (size_t)g->out[d]) * g->stride[d] - g->pad_begin[d] +
                             kd[d] * g->dilation[d];
                rest /= (size_t)g->out[d];
                if (at < 0 || at >= g->in[d]) inside = 0;
                flat += at * in_stride[d];
            }
            int32_t o = (int32_t)(row * width);
            if (!inside || lo == hi) {
                tap_runs_append(r, &count, (tap_run){o, (int32_t)width, -1, 1}, r->first[k]);
                continue;
            }
            tap_runs_append(r, &count, (tap_run){o, (int32_t)lo, -1, 1}, r->first[k]);
            tap_runs_append(r, &count, (tap_run){o + (int32_t)lo, (int32_t)(hi - lo),
                                                 (int32_t)(flat + lo * stride + shift),
                                                 (int32_t)stride}, r->first[k]);
            tap_runs_append(r, &count, (tap_run){o + (int32_t)hi, (int32_t)(width - (size_t)hi),
                                                 -1, 1}, r->first[k]);
        }
    }
    r->first[K] = count;
    return 1;
}

/* col[c][k][o] = x[c][tap(k, o)] for `channels` channels, rows of col `ld` apart (several
 * images side by side make one wide matrix). */
static void im2col(const geometry *g, const tap_runs *r, const float *x, size_t channels,
                   float *col, size_t ld)
{
    size_t K = volume(g->kernel, g->spatial), S = volume(g->in, g->spatial);
    for (size_t c = 0; c < channels; c++)
        for (size_t k = 0; k < K; k++) {
            float *row = col + (c * K + k) * ld;
            const float *plane = x + c * S;
            for (size_t i = r->first[k]; i < r->first[k + 1]; i++) {
                const tap_run *run = &r->runs[i];
                float *to = row + run->o;
                if (run->start < 0) memset(to, 0, (size_t)run->length * sizeof(float));
                else if (run->step == 1) memcpy(to, plane + run->start, (size_t)run->length * sizeof(float));
                else
                    for (int32_t j = 0; j < run->length; j++) to[j] = plane[run->start + j * run->step];
            }
        }
}

/* The adjoint: x[c][tap(k, o)] += col[c][k][o], rows of col `ld` apart. */
static void col2im(const geometry *g, const tap_runs *r, const float *restrict col,
                   size_t channels, float *restrict x, size_t ld)
{
    size_t K = volume(g->kernel, g->spatial), S = volume(g->in, g->spatial);
    for (size_t c = 0; c < channels; c++)
        for (size_t k = 0; k < K; k++) {
            const float *row = col + (c * K + k) * ld;
            float *plane = x + c * S;
            for (size_t i = r->first[k]; i < r->first[k + 1]; i++) {
                const tap_run *run = &r->runs[i];
                if (run->start < 0) continue;
                const float *restrict from = row + run->o;
                float *restrict to = plane + run->start;
                if (run->step == 1)
                    for (int32_t j = 0; j < run->length; j++) to[j] += from[j];
                else
                    for (int32_t j = 0; j < run->length; j++) to[j * run->step] += from[j];
            }
        }
}

static gbx_status conv_shapes(const gbx_nn_node *node, gbx_nn_tensor *const *in, int transposed,
                              geometry *g, size_t *channels_in, size_t *channels_out,
                              gbx_error *error)
{
    const gbx_nn_tensor *x = in[0], *w = in[1];
    if (x->type != GBX_NN_FLOAT || w->type != GBX_NN_FLOAT || w->rank != x->rank || x->rank < 3)
        return gbx_fail(error, GBX_ERR_PARSE, "the input and weights must be float tensors of one "
                        "rank (at least 3)");
    gbx_status status = resolve(node, x, w->dims + 2, transposed, g, error);
    if (status != GBX_OK) return status;
    size_t C = (size_t)x->dims[1], G = (size_t)g->group;
    /* Conv: W [M, C/G, k...]; ConvTranspose: W [C, M/G, k...]. */
    if (transposed ? (size_t)w->dims[0] != C : (size_t)w->dims[1] * G != C || w->dims[0] % (int64_t)G)
        return gbx_fail(error, GBX_ERR_PARSE, "weights of shape [%lld, %lld, ...] do not fit %zu "
                        "input channels in %zu groups", (long long)w->dims[0],
                        (long long)w->dims[1], C, G);
    if (C % G) return gbx_fail(error, GBX_ERR_PARSE, "%zu channels in %zu groups", C, G);
    *channels_in = C;
    *channels_out = transposed ? (size_t)w->dims[1] * G : (size_t)w->dims[0];
    /* The im2col buffer: one group's channels times the tap table. */
    size_t K = 1, O = 1, per_group = (transposed ? *channels_out : C) / G;
    for (int d = 0; d < g->spatial; d++) {
        K *= (size_t)g->kernel[d];
        O *= (size_t)g->out[d];
    }
    if (per_group * K > GBX_NN_MAX_VALUES || per_group * K * O > GBX_NN_MAX_VALUES)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "a convolution of %zu x %zu x %zu values is "
                        "larger than glassbox allows", per_group, K, O);
    const gbx_nn_tensor *bias = node->input_count > 2 ? in[2] : NULL;
    if (bias && (bias->type != GBX_NN_FLOAT || bias->count != *channels_out))
        return gbx_fail(error, GBX_ERR_PARSE, "the bias must hold %zu floats", *channels_out);
    return GBX_OK;
}

/* The output tensor; zeroed only where the operator accumulates into it (zero). */
static gbx_status alloc_output(gbx_nn_tensor *out, const gbx_nn_tensor *x, size_t channels,
                               const int64_t *spatial, int count, int zero, gbx_error *error)
{
    int64_t dims[GBX_NN_MAX_RANK];
    dims[0] = x->dims[0];
    dims[1] = (int64_t)channels;
    for (int d = 0; d < count; d++) dims[2 + d] = spatial[d];
    return zero ? gbx_nn_tensor_alloc(out, GBX_NN_FLOAT, 2 + count, dims, error)
                : gbx_nn_tensor_alloc_unset(out, GBX_NN_FLOAT, 2 + count, dims, error);
}

/* Y_g [Mg x O] = W_g [Mg x CgK] . col_g [CgK x O] per sample and group (Conv); ConvTranspose
 * runs the same product backwards: col = W_g^T . X_g, then col2im into Y. */
/* A 2-D convolution with stride 1 (most of them) runs on the padded image laid out flat:
 * with the input padded to Hp x Wp, kernel position (ky, kx) reads, for every output position
 * (y, x), the padded input at (y + ky dy, x + kx dx): one contiguous stretch of Hp x Wp floats
 * shifted by ky dy Wp + kx dx, if the output is computed at all Wp columns of each row and
 * the last columns (x >= the output width) are thrown away. im2col is then one copy per
 * channel and kernel position, and col2im one add, instead of a few per output row, which for
 * a small image cost more than the products. The sums are the same, term for term. */
typedef struct {
    size_t height, width; /* the padded input, Hp x Wp */
    size_t plane;         /* floats per padded channel: Hp Wp and the last shift's overrun */
    size_t length;        /* a wide output plane: output rows x Wp */
    size_t shift[9];      /* per kernel position, for kernels of at most 3 x 3 = 9 positions */
} wide_layout;

static int wide_layout_for(const geometry *g, wide_layout *w)
{
    if (g->spatial != 2 || g->stride[0] != 1 || g->stride[1] != 1 || g->kernel[0] * g->kernel[1] > 9)
        return 0;
    w->height = (size_t)(g->in[0] + g->pad_begin[0] + g->pad_end[0]);
    w->width = (size_t)(g->in[1] + g->pad_begin[1] + g->pad_end[1]);
    w->length = (size_t)g->out[0] * w->width;
    size_t K = (size_t)(g->kernel[0] * g->kernel[1]);
    for (size_t k = 0; k < K; k++)
        w->shift[k] = (size_t)((int64_t)(k / (size_t)g->kernel[1]) * g->dilation[0]) * w->width +
                      (size_t)((int64_t)(k % (size_t)g->kernel[1]) * g->dilation[1]);
    w->plane = w->height * w->width + w->shift[K - 1] + w->width;
    return 1;
}

/* `channels` planes of x into zero-padded planes of the wide layout. */
static void pad_planes(const geometry *g, const wide_layout *w, const float *x, size_t channels,
                       float *padded)
{
    size_t H = (size_t)g->in[0], W = (size_t)g->in[1];
    memset(padded, 0, channels * w->plane * sizeof(float));
    for (size_t c = 0; c < channels; c++)
        for (size_t y = 0; y < H; y++)
            memcpy(padded + c * w->plane + (y + (size_t)g->pad_begin[0]) * w->width +
                       (size_t)g->pad_begin[1],
                   x + (c * H + y) * W, W * sizeof(float));
}

/* How many images share one product: enough to make the matrices wide (a small image's
 * product alone is too small for sgemm to run at speed), few enough that the columns (rows x
 * images O) and the product stay within a few megabytes. */
static size_t images_per_product(size_t rows, size_t outputs, size_t O, size_t N)
{
    size_t per_image = (rows + outputs) * O, span = ((size_t)1 << 20) / (per_image ? per_image : 1);
    if (span < 1) span = 1;
    return span < N ? span : (N ? N : 1);
}

gbx_status gbx_nn_forward_conv(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                               gbx_nn_tensor **out, gbx_error *error)
{
    geometry g;
    size_t C, M;
    gbx_status status = conv_shapes(node, in, 0, &g, &C, &M, error);
    if (status == GBX_OK) status = alloc_output(out[0], in[0], M, g.out, g.spatial, 0, error);
    if (status != GBX_OK) return status;
    size_t N = (size_t)in[0]->dims[0], G = (size_t)g.group, Cg = C / G, Mg = M / G;
    size_t K = volume(g.kernel, g.spatial), O = volume(g.out, g.spatial), S = volume(g.in, g.spatial);
    wide_layout w = {0};
    int wide = wide_layout_for(&g, &w);
    size_t L = wide ? w.length : O;
    float *col = gbx_malloc_array(Cg * K * L > 0 ? Cg * K * L : 1, sizeof(float));
    float *padded = wide ? gbx_malloc_array(Cg * w.plane, sizeof(float)) : NULL;
    float *wide_out = wide ? gbx_malloc_array(Mg * L > 0 ? Mg * L : 1, sizeof(float)) : NULL;
    tap_runs runs;
    if (!col || (wide && (!padded || !wide_out)) || !tap_runs_build(&g, &runs)) {
        free(col);
        free(padded);
        free(wide_out);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    const gbx_nn_tensor *bias = node->input_count > 2 ? in[2] : NULL;
    /* One image per product (unlike the gradient below): a wider product rounds some sums
     * differently, and DeepLIFT's max-pool rule would turn such last-bit changes in the
     * activations into a different argmax than the frameworks'. */
    for (size_t n = 0; n < N; n++)
        for (size_t group = 0; group < G; group++) {
            const float *x = in[0]->f + (n * C + group * Cg) * S;
            float *y = out[0]->f + (n * M + group * Mg) * O;
            if (wide) {
                pad_planes(&g, &w, x, Cg, padded);
                for (size_t c = 0; c < Cg; c++)
                    for (size_t k = 0; k < K; k++)
                        memcpy(col + (c * K + k) * w.length, padded + c * w.plane + w.shift[k],
                               w.length * sizeof(float));
            } else {
                im2col(&g, &runs, x, Cg, col, O);
            }
            float *product = wide ? wide_out : y;
            if (bias)
                for (size_t m = 0; m < Mg; m++)
                    for (size_t o = 0; o < L; o++) product[m * L + o] = bias->f[group * Mg + m];
            gbx_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)Mg, (int)L, (int)(Cg * K),
                        1.0f, in[1]->f + group * Mg * Cg * K, (int)(Cg * K), col, (int)L,
                        bias ? 1.0f : 0.0f, product, (int)L);
            size_t OH = (size_t)g.out[0], OW = (size_t)g.out[1];
            for (size_t m = 0; wide && m < Mg; m++)
                for (size_t r = 0; r < OH; r++)
                    memcpy(y + (m * OH + r) * OW, wide_out + m * L + r * w.width, OW * sizeof(float));
        }
    free(padded);
    free(wide_out);
    free(col);
    tap_runs_free(&runs);
    return GBX_OK;
}

gbx_status gbx_nn_backward_conv(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                gbx_nn_tensor *const *out, gbx_nn_tensor *const *grad_out,
                                gbx_nn_tensor **grad_in, gbx_error *error)
{
    (void)out;
    if (!grad_out[0] || !grad_out[0]->f) return GBX_OK;
    geometry g;
    size_t C, M;
    gbx_status status = conv_shapes(node, in, 0, &g, &C, &M, error);
    if (status != GBX_OK) return status;
    size_t N = (size_t)in[0]->dims[0], G = (size_t)g.group, Cg = C / G, Mg = M / G;
    size_t K = volume(g.kernel, g.spatial), O = volume(g.out, g.spatial), S = volume(g.in, g.spatial);
    /* The wide layout (see wide_layout) for the input's gradient of a stride-1 2-D conv. */
    wide_layout w = {0};
    int wide = grad_in[0] && wide_layout_for(&g, &w);
    size_t plane_out = wide ? w.length : O; /* one image's output plane, as the product sees it */
    size_t span = images_per_product(Cg * K, Mg, plane_out, N), L = span * plane_out;
    float *col = gbx_malloc_array(Cg * K * L > 0 ? Cg * K * L : 1, sizeof(float));
    float *gathered = gbx_malloc_array(Mg * L > 0 ? Mg * L : 1, sizeof(float));
    float *padded = wide ? gbx_malloc_array(Cg * w.plane, sizeof(float)) : NULL;
    tap_runs runs;
    if (!col || !gathered || (wide && !padded) || !tap_runs_build(&g, &runs)) {
        free(col);
        free(gathered);
        free(padded);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    const float *dy = grad_out[0]->f;
    /* An unset gradient is written whole by the wide layout, and zeroed first otherwise. */
    int write = wide && grad_in[0]->unset;
    if (grad_in[0] && grad_in[0]->unset && !write)
        memset(grad_in[0]->f, 0, grad_in[0]->count * sizeof(float));
    if (grad_in[0]) grad_in[0]->unset = 0;
    size_t OH = (size_t)g.out[0], OW = (size_t)g.out[1], H = (size_t)g.in[0], W = (size_t)g.in[1];
    /* The input's gradient, several images at once: dcol = W_g^T [Cg K x Mg] times their
     * gathered dY_g [Mg x images O], scattered back onto each image. */
    for (size_t first = 0; grad_in[0] && first < N; first += span) {
        size_t images = N - first < span ? N - first : span, width = images * plane_out;
        for (size_t group = 0; group < G; group++) {
            for (size_t i = 0; i < images; i++)
                for (size_t m = 0; m < Mg; m++) {
                    const float *from = dy + ((first + i) * M + group * Mg + m) * O;
                    float *to = gathered + m * width + i * plane_out;
                    if (!wide) {
                        memcpy(to, from, O * sizeof(float));
                        continue;
                    }
                    /* the thrown-away columns are zeros, so they add nothing below */
                    for (size_t r = 0; r < OH; r++) {
                        memcpy(to + r * w.width, from + r * OW, OW * sizeof(float));
                        memset(to + r * w.width + OW, 0, (w.width - OW) * sizeof(float));
                    }
                }
            gbx_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)(Cg * K), (int)width,
                        (int)Mg, 1.0f, in[1]->f + group * Mg * Cg * K, (int)(Cg * K), gathered,
                        (int)width, 0.0f, col, (int)width);
            for (size_t i = 0; i < images; i++) {
                float *dx = grad_in[0]->f + ((first + i) * C + group * Cg) * S;
                if (!wide) {
                    col2im(&g, &runs, col + i * O, Cg, dx, width);
                    continue;
                }
                memset(padded, 0, Cg * w.plane * sizeof(float));
                for (size_t c = 0; c < Cg; c++)
                    for (size_t k = 0; k < K; k++) {
                        const float *restrict from = col + (c * K + k) * width + i * plane_out;
                        float *restrict to = padded + c * w.plane + w.shift[k];
                        for (size_t j = 0; j < w.length; j++) to[j] += from[j];
                    }
                for (size_t c = 0; c < Cg; c++)
                    for (size_t r = 0; r < H; r++) {
                        const float *from = padded + c * w.plane +
                                            (r + (size_t)g.pad_begin[0]) * w.width +
                                            (size_t)g.pad_begin[1];
                        float *to = dx + (c * H + r) * W;
                        if (write) memcpy(to, from, W * sizeof(float));
                        else
                            for (size_t j = 0; j < W; j++) to[j] += from[j];
                    }
            }
        }
    }
    for (size_t n = 0; n < N; n++)
        for (size_t group = 0; group < G; group++) {
            const float *dyg = dy + (n * M + group * Mg) * O;
            if (grad_in[1]) {
                im2col(&g, &runs, in[0]->f + (n * C + group * Cg) * S, Cg, col, O);
                gbx_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)Mg, (int)(Cg * K), (int)O,
                            1.0f, dyg, (int)O, col, (int)O, 1.0f,
                            grad_in[1]->f + group * Mg * Cg * K, (int)(Cg * K));
            }
            if (node->input_count > 2 && grad_in[2])
                for (size_t m = 0; m < Mg; m++)
                    for (size_t o = 0; o < O; o++) grad_in[2]->f[group * Mg + m] += dyg[m * O + o];
        }
    free(col);
    free(gathered);
    free(padded);
    tap_runs_free(&runs);
    return GBX_OK;
}

/* ConvTranspose is Conv's input gradient: the geometry's "input" is the output here. */
static gbx_status transposed_geometry(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                      geometry *g, size_t *C, size_t *M, gbx_error *error)
{
    gbx_status status = conv_shapes(node, in, 1, g, C, M, error);
    if (status != GBX_OK) return status;
    /* Swap roles: windows run over the (larger) output, producing the input's positions. */
    for (int d = 0; d < g->spatial; d++) {
        int64_t produced = g->out[d];
        g->out[d] = g->in[d];
        g->in[d] = produced;
    }
    return GBX_OK;
}

gbx_status gbx_nn_forward_conv_transpose(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                         gbx_nn_tensor **out, gbx_error *error)
{
    geometry g;
    size_t C, M;
    gbx_status status = transposed_geometry(node, in, &g, &C, &M, error);
    if (status == GBX_OK) status = alloc_output(out[0], in[0], M, g.in, g.spatial, 1, error);
    if (status != GBX_OK) return status;
    size_t N = (size_t)in[0]->dims[0], G = (size_t)g.group, Cg = C / G, Mg = M / G;
    size_t K = volume(g.kernel, g.spatial), O = volume(g.out, g.spatial), S = volume(g.in, g.spatial);
    float *col = gbx_malloc_array(Mg * K * O > 0 ? Mg * K * O : 1, sizeof(float));
    tap_runs runs;
    if (!col || !tap_runs_build(&g, &runs)) {
        free(col);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    const gbx_nn_tensor *bias = node->input_count > 2 ? in[2] : NULL;
    for (size_t n = 0; n < N; n++)
        for (size_t group = 0; group < G; group++) {
            /* col [Mg K x O] = W_g^T [Mg K x Cg] . X_g [Cg x O]; W_g is [Cg x Mg K]. */
            gbx_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)(Mg * K), (int)O, (int)Cg,
                        1.0f, in[1]->f + group * Cg * Mg * K, (int)(Mg * K),
                        in[0]->f + (n * C + group * Cg) * O, (int)O, 0.0f, col, (int)O);
            float *y = out[0]->f + (n * M + group * Mg) * S;
            col2im(&g, &runs, col, Mg, y, O);
            if (bias)
                for (size_t m = 0; m < Mg; m++)
                    for (size_t i = 0; i < S; i++) y[m * S + i] += bias->f[group * Mg + m];
        }
    free(col);
    tap_runs_free(&runs);
    return GBX_OK;
}

gbx_status gbx_nn_backward_conv_transpose(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                          gbx_nn_tensor *const *out,
                                          gbx_nn_tensor *const *grad_out, gbx_nn_tensor **grad_in,
                                          gbx_error *error)
{
    (void)out;
    if (!grad_out[0] || !grad_out[0]->f) return GBX_OK;
    geometry g;
    size_t C, M;
    gbx_status status = transposed_geometry(node, in, &g, &C, &M, error);
    if (status != GBX_OK) return status;
    size_t N = (size_t)in[0]->dims[0], G = (size_t)g.group, Cg = C / G, Mg = M / G;
    size_t K = volume(g.kernel, g.spatial), O = volume(g.out, g.spatial), S = volume(g.in, g.spatial);
    float *col = gbx_malloc_array(Mg * K * O > 0 ? Mg * K * O : 1, sizeof(float));
    tap_runs runs;
    if (!col || !tap_runs_build(&g, &runs)) {
        free(col);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    for (size_t n = 0; n < N; n++)
        for (size_t group = 0; group < G; group++) {
            im2col(&g, &runs, grad_out[0]->f + (n * M + group * Mg) * S, Mg, col, O);
            const float *wg = in[1]->f + group * Cg * Mg * K;
            if (grad_in[0])
                gbx_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)Cg, (int)O, (int)(Mg * K),
                            1.0f, wg, (int)(Mg * K), col, (int)O, 1.0f,
                            grad_in[0]->f + (n * C + group * Cg) * O, (int)O);
            if (grad_in[1])
                gbx_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)Cg, (int)(Mg * K), (int)O,
                            1.0f, in[0]->f + (n * C + group * Cg) * O, (int)O, col, (int)O, 1.0f,
                            grad_in[1]->f + group * Cg * Mg * K, (int)(Mg * K));
            if (node->input_count > 2 && grad_in[2])
                for (size_t m = 0; m < Mg; m++)
                    for (size_t i = 0; i < S; i++)
                        grad_in[2]->f[group * Mg + m] += grad_out[0]->f[(n * M + group * Mg + m) * S + i];
        }
    free(col);
    tap_runs_free(&runs);
    return GBX_OK;
}

/* ---- pooling ------------------------------------------------------------------------------ */

typedef enum { POOL_MAX, POOL_AVERAGE } pool_kind;

static gbx_status pool_geometry(const gbx_nn_node *node, const gbx_nn_tensor *x, int global,
                                geometry *g, gbx_error *error)
{
    if (x->type != GBX_NN_FLOAT) return gbx_fail(error, GBX_ERR_PARSE, "the input must be float");
    if (global) {
        int spatial = x->rank - 2;
        if (spatial < 1 || spatial > MAX_SPATIAL)
            return gbx_fail(error, GBX_ERR_UNSUPPORTED, "an input of rank %d", x->rank);
        memset(g, 0, sizeof *g);
        g->spatial = spatial;
        g->group = 1;
        for (int d = 0; d < spatial; d++) {
            g->in[d] = g->kernel[d] = x->dims[2 + d];
            g->out[d] = g->stride[d] = g->dilation[d] = 1;
        }
        return GBX_OK;
    }
    return resolve(node, x, NULL, 0, g, error);
}

/* A 2-D window that never leaves the input (no padding, no dilation): the common pooling of
 * image networks, which runs with plain index arithmetic instead of the tap table. */
static int plain_2d(const geometry *g)
{
    if (g->spatial != 2) return 0;
    for (int d = 0; d < 2; d++)
        if (g->pad_begin[d] || g->pad_end[d] || g->dilation[d] != 1 ||
            (g->out[d] - 1) * g->stride[d] + g->kernel[d] > g->in[d])
            return 0;
    return 1;
}

/* The 2 x 2, stride 2 max pool of most image networks, with the same comparisons in the same
 * order as the general loop (so NaN and signed zeros come out alike), unrolled. */
static void max_pool_2x2(const geometry *g, const float *x, float *y)
{
    size_t W = (size_t)g->in[1], OH = (size_t)g->out[0], OW = (size_t)g->out[1];
    for (size_t oy = 0; oy < OH; oy++) {
        const float *top = x + 2 * oy * W, *bottom = top + W;
        float *row = y + oy * OW;
        for (size_t ox = 0; ox < OW; ox++) {
            float best = -INFINITY, v;
            v = top[2 * ox], best = v > best ? v : best;
            v = top[2 * ox + 1], best = v > best ? v : best;
            v = bottom[2 * ox], best = v > best ? v : best;
            v = bottom[2 * ox + 1], best = v > best ? v : best;
            row[ox] = best;
        }
    }
}

static int is_2x2(const geometry *g)
{
    return g->kernel[0] == 2 && g->kernel[1] == 2 && g->stride[0] == 2 && g->stride[1] == 2;
}

/* pool() and pool_backward() for plain_2d windows, one plane; taps in the table's order (the
 * first maximum in row-major window order takes a max pool's gradient). */
static void pool_plain_2d(const geometry *g, pool_kind kind, const float *x, float *y)
{
    if (kind == POOL_MAX && is_2x2(g)) {
        max_pool_2x2(g, x, y);
        return;
    }
    size_t W = (size_t)g->in[1], KH = (size_t)g->kernel[0], KW = (size_t)g->kernel[1];
    for (int64_t oy = 0; oy < g->out[0]; oy++)
        for (int64_t ox = 0; ox < g->out[1]; ox++) {
            const float *corner = x + (size_t)(oy * g->stride[0]) * W + (size_t)(ox * g->stride[1]);
            float best = -INFINITY;
            double total = 0;
            if (kind == POOL_MAX)
                for (size_t ky = 0; ky < KH; ky++)
                    for (size_t kx = 0; kx < KW; kx++)
                        best = corner[ky * W + kx] > best ? corner[ky * W + kx] : best;
            else
                for (size_t ky = 0; ky < KH; ky++)
                    for (size_t kx = 0; kx < KW; kx++) total += corner[ky * W + kx];
            y[oy * g->out[1] + ox] = kind == POOL_MAX ? best : (float)(total / (double)(KH * KW));
        }
}

/* Whether the 2 x 2 windows cover the plane exactly, so a gradient can be written whole. */
static int tiles_2x2(const geometry *g)
{
    return is_2x2(g) && g->in[0] == 2 * g->out[0] && g->in[1] == 2 * g->out[1];
}

/* write: dx is unset and the windows tile it: every tap is written (0 + its share). */
static void pool_backward_plain_2d(const geometry *g, pool_kind kind, const float *x,
                                   const float *y, const float *dy, float *dx, int write)
{
    size_t W = (size_t)g->in[1], KH = (size_t)g->kernel[0], KW = (size_t)g->kernel[1];
    if (kind == POOL_MAX && is_2x2(g)) {
        /* The first tap in window order equal to the maximum takes the gradient. Written
         * whole, the window's other taps get +0 and that one 0 + its share, as adding to a
         * zeroed gradient would. */
        for (size_t oy = 0; oy < (size_t)g->out[0]; oy++)
            for (size_t ox = 0; ox < (size_t)g->out[1]; ox++) {
                size_t o = oy * (size_t)g->out[1] + ox, corner = 2 * oy * W + 2 * ox;
                if (write) {
                    size_t t = x[corner] == y[o] ? corner : x[corner + 1] == y[o] ? corner + 1
                             : x[corner + W] == y[o] ? corner + W
                             : x[corner + W + 1] == y[o] ? corner + W + 1 : SIZE_MAX;
                    dx[corner] = dx[corner + 1] = dx[corner + W] = dx[corner + W + 1] = 0.0f;
                    if (t != SIZE_MAX) dx[t] = 0.0f + dy[o];
                    continue;
                }
                const size_t taps[4] = {corner, corner + 1, corner + W, corner + W + 1};
                for (int i = 0; i < 4; i++)
                    if (x[taps[i]] == y[o]) {
                        dx[taps[i]] += dy[o];
                        break;
                    }
            }
        return;
    }
    for (int64_t oy = 0; oy < g->out[0]; oy++)
        for (int64_t ox = 0; ox < g->out[1]; ox++) {
            size_t o = (size_t)(oy * g->out[1] + ox);
            size_t corner = (size_t)(oy * g->stride[0]) * W + (size_t)(ox * g->stride[1]);
            int done = 0;
            for (size_t ky = 0; ky < KH && !done; ky++)
                for (size_t kx = 0; kx < KW && !done; kx++) {
                    size_t t = corner + ky * W + kx;
                    if (kind != POOL_MAX) dx[t] += dy[o] / (float)(KH * KW);
                    else if (x[t] == y[o]) dx[t] += dy[o], done = 1;
                }
        }
}

/* Visits every window: for output position o of channel plane `plane`, the input taps. */
static gbx_status pool(const gbx_nn_node *node, gbx_nn_tensor *const *in, gbx_nn_tensor **out,
                       pool_kind kind, int global, gbx_error *error)
{
    geometry g;
    gbx_status status = pool_geometry(node, in[0], global, &g, error);
    if (status == GBX_OK)
        status = alloc_output(out[0], in[0], (size_t)in[0]->dims[1], g.out, g.spatial, 0, error);
    if (status != GBX_OK) return status;
    size_t planes = (size_t)in[0]->dims[0] * (size_t)in[0]->dims[1];
    size_t K = volume(g.kernel, g.spatial), O = volume(g.out, g.spatial), S = volume(g.in, g.spatial);
    int include_pad = !global && node->params.list[P_INCLUDE_PAD];
    if (plain_2d(&g)) {
        for (size_t plane = 0; plane < planes; plane++)
            pool_plain_2d(&g, kind, in[0]->f + plane * S, out[0]->f + plane * O);
        return GBX_OK;
    }
    int32_t *table = tap_table(&g);
    /* Per output position of a plane: the running total or maximum, and the taps counted.
     * The window's positions are the outer loop, so the table is read in order. */
    double *total = gbx_malloc_array(O, sizeof(double));
    uint32_t *counted = gbx_malloc_array(O, sizeof(uint32_t));
    if (!table || !total || !counted) {
        free(table);
        free(total);
        free(counted);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    for (size_t o = 0; o < O; o++) counted[o] = 0;
    for (size_t k = 0; k < K; k++)
        for (size_t o = 0; o < O; o++) counted[o] += table[k * O + o] >= 0;
    for (size_t plane = 0; plane < planes; plane++) {
        const float *x = in[0]->f + plane * S;
        float *y = out[0]->f + plane * O;
        if (kind == POOL_MAX) {
            for (size_t o = 0; o < O; o++) y[o] = -INFINITY;
            for (size_t k = 0; k < K; k++) {
                const int32_t *taps = table + k * O;
                for (size_t o = 0; o < O; o++)
                    if (taps[o] >= 0 && x[taps[o]] > y[o]) y[o] = x[taps[o]];
            }
            continue;
        }
        for (size_t o = 0; o < O; o++) total[o] = 0;
        for (size_t k = 0; k < K; k++) {
            const int32_t *taps = table + k * O;
            for (size_t o = 0; o < O; o++)
                if (taps[o] >= 0) total[o] += x[taps[o]];
        }
        /* count_include_pad counts the padding taps, not those past a ceil_mode edge. */
        for (size_t o = 0; o < O; o++) {
            size_t divisor = include_pad ? K : counted[o];
            y[o] = divisor ? (float)(total[o] / (double)divisor) : 0.0f;
        }
    }
    free(table);
    free(total);
    free(counted);
    return GBX_OK;
}

static gbx_status pool_backward(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                gbx_nn_tensor *const *out, gbx_nn_tensor *const *grad_out,
                                gbx_nn_tensor **grad_in, pool_kind kind, int global,
                                gbx_error *error)
{
    if (!grad_out[0] || !grad_out[0]->f || !grad_in[0]) return GBX_OK;
    geometry g;
    gbx_status status = pool_geometry(node, in[0], global, &g, error);
    if (status != GBX_OK) return status;
    size_t planes = (size_t)in[0]->dims[0] * (size_t)in[0]->dims[1];
    size_t K = volume(g.kernel, g.spatial), O = volume(g.out, g.spatial), S = volume(g.in, g.spatial);
    int include_pad = !global && node->params.list[P_INCLUDE_PAD];
    /* An unset gradient (MaxPool overwrites) is written whole where the windows tile it, and
     * zeroed first anywhere else. */
    int write = grad_in[0]->unset && kind == POOL_MAX && plain_2d(&g) && tiles_2x2(&g);
    if (grad_in[0]->unset && !write) memset(grad_in[0]->f, 0, grad_in[0]->count * sizeof(float));
    grad_in[0]->unset = 0;
    if (plain_2d(&g)) {
        for (size_t plane = 0; plane < planes; plane++)
            pool_backward_plain_2d(&g, kind, in[0]->f + plane * S, out[0]->f + plane * O,
                                   grad_out[0]->f + plane * O, grad_in[0]->f + plane * S, write);
        return GBX_OK;
    }
    int32_t *table = tap_table(&g);
    int32_t *chosen = gbx_malloc_array(O, sizeof(int32_t));
    float *share = gbx_malloc_array(O, sizeof(float));
    size_t *divisor = gbx_malloc_array(O, sizeof(size_t));
    if (!table || !chosen || !share || !divisor) {
        free(table);
        free(chosen);
        free(share);
        free(divisor);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    for (size_t o = 0; o < O; o++) divisor[o] = include_pad ? K : 0;
    for (size_t k = 0; !include_pad && k < K; k++)
        for (size_t o = 0; o < O; o++) divisor[o] += table[k * O + o] >= 0;
    /* The window's positions are the outer loop, so the table is read in order. */
    for (size_t plane = 0; plane < planes; plane++) {
        const float *x = in[0]->f + plane * S, *y = out[0]->f + plane * O;
        const float *dy = grad_out[0]->f + plane * O;
        float *dx = grad_in[0]->f + plane * S;
        if (kind == POOL_MAX) {
            for (size_t o = 0; o < O; o++) chosen[o] = -1;
            for (size_t k = 0; k < K; k++) {
                const int32_t *taps = table + k * O;
                for (size_t o = 0; o < O; o++) /* the first maximum takes it */
                    if (chosen[o] < 0 && taps[o] >= 0 && x[taps[o]] == y[o]) chosen[o] = taps[o];
            }
            for (size_t o = 0; o < O; o++)
                if (chosen[o] >= 0) dx[chosen[o]] += dy[o];
            continue;
        }
        for (size_t o = 0; o < O; o++) share[o] = divisor[o] ? dy[o] / (float)divisor[o] : 0.0f;
        for (size_t k = 0; k < K; k++) {
            const int32_t *taps = table + k * O;
            for (size_t o = 0; o < O; o++)
                if (taps[o] >= 0) dx[taps[o]] += share[o];
        }
    }
    free(table);
    free(chosen);
    free(share);
    free(divisor);
    return GBX_OK;
}

/* DeepLIFT through a max pool, as shap's DeepExplainer and captum do: with c = max(y, y_ref)
 * per window, g (c - y_ref) goes to the input's argmax and g (y - c) to the reference's
 * argmax, and each input's multiplier is what it received over its own difference (0 where
 * the difference is below 1e-7). Reference planes pair with plane q mod their count. */
gbx_status gbx_nn_deeplift_max_pool(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                    gbx_nn_tensor *const *out, const gbx_nn_tensor *x_ref,
                                    const gbx_nn_tensor *y_ref, gbx_nn_tensor *const *grad_out,
                                    gbx_nn_tensor **grad_in, gbx_error *error)
{
    if (!grad_out[0] || !grad_out[0]->f || !grad_in[0]) return GBX_OK;
    geometry g;
    gbx_status status = pool_geometry(node, in[0], strcmp(node->op->name, "GlobalMaxPool") == 0,
                                      &g, error);
    if (status != GBX_OK) return status;
    size_t K = volume(g.kernel, g.spatial), O = volume(g.out, g.spatial), S = volume(g.in, g.spatial);
    size_t planes = (size_t)in[0]->dims[0] * (size_t)in[0]->dims[1];
    if ((status = gbx_nn_references_aligned(in[0], x_ref, error)) != GBX_OK ||
        (status = gbx_nn_references_aligned(out[0], y_ref, error)) != GBX_OK)
        return status;
    size_t reference_planes = x_ref->count / (S ? S : 1);
    float *received = gbx_calloc(S ? S : 1, sizeof(float));
    int32_t *table = tap_table(&g);
    if (!received || !table) {
        free(received);
        free(table);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    for (size_t plane = 0; plane < planes; plane++) {
        size_t q = plane % reference_planes;
        const float *x = in[0]->f + plane * S, *y = out[0]->f + plane * O;
        const float *xr = x_ref->f + q * S, *yr = y_ref->f + q * O;
        const float *dy = grad_out[0]->f + plane * O;
        memset(received, 0, S * sizeof(float));
        for (size_t o = 0; o < O; o++) {
            long at_x = -1, at_r = -1;
            for (size_t k = 0; k < K; k++) {
                long t = table[k * O + o];
                if (t < 0) continue;
                if (at_x < 0 && x[t] == y[o]) at_x = t;
                if (at_r < 0 && xr[t] == yr[o]) at_r = t;
            }
            float cross = fmaxf(y[o], yr[o]);
            if (at_x >= 0) received[at_x] += dy[o] * (cross - yr[o]);
            if (at_r >= 0) received[at_r] += dy[o] * (y[o] - cross);
        }
        float *dx = grad_in[0]->f + plane * S;
        for (size_t i = 0; i < S; i++) {
            float delta = x[i] - xr[i];
            if (fabsf(delta) >= 1e-7f) dx[i] += received[i] / delta;
        }
    }
    free(received);
    free(table);
    return GBX_OK;
}

gbx_status gbx_nn_forward_max_pool(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                   gbx_nn_tensor **out, gbx_error *error)
{
    if (node->output_count > 1 && out[1])
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "MaxPool's Indices output");
    return pool(node, in, out, POOL_MAX, 0, error);
}

gbx_status gbx_nn_backward_max_pool(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                    gbx_nn_tensor *const *out, gbx_nn_tensor *const *grad_out,
                                    gbx_nn_tensor **grad_in, gbx_error *error)
{
    return pool_backward(node, in, out, grad_out, grad_in, POOL_MAX, 0, error);
}

gbx_status gbx_nn_forward_average_pool(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                       gbx_nn_tensor **out, gbx_error *error)
{
    return pool(node, in, out, POOL_AVERAGE, 0, error);
}

gbx_status gbx_nn_backward_average_pool(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                        gbx_nn_tensor *const *out, gbx_nn_tensor *const *grad_out,
                                        gbx_nn_tensor **grad_in, gbx_error *error)
{
    return pool_backward(node, in, out, grad_out, grad_in, POOL_AVERAGE, 0, error);
}

gbx_status gbx_nn_forward_global_average_pool(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                              gbx_nn_tensor **out, gbx_error *error)
{
    return pool(node, in, out, POOL_AVERAGE, 1, error);
}

gbx_status gbx_nn_backward_global_average_pool(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                               gbx_nn_tensor *const *out,
                                               gbx_nn_tensor *const *grad_out,
                                               gbx_nn_tensor **grad_in, gbx_error *error)
{
    return pool_backward(node, in, out, grad_out, grad_in, POOL_AVERAGE, 1, error);
}

gbx_status gbx_nn_forward_global_max_pool(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                          gbx_nn_tensor **out, gbx_error *error)
{
    return pool(node, in, out, POOL_MAX, 1, error);
}

gbx_status gbx_nn_backward_global_max_pool(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                           gbx_nn_tensor *const *out,
                                           gbx_nn_tensor *const *grad_out,
                                           gbx_nn_tensor **grad_in, gbx_error *error)
{
    return pool_backward(node, in, out, grad_out, grad_in, POOL_MAX, 1, error);
}
