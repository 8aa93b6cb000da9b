/* SpaceToBatchND and BatchToSpaceND, as TensorFlow computes a dilated convolution: the padded
 * positions are split into block-shaped phases that become extra batch rows (and joined back,
 * cropped). Both are a fixed rearrangement of elements (and zeros of padding), so one mapping
 * from each output element to its source serves forward, reverse mode and DeepLIFT alike. */
#include "space_batch.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    int spatial;                         /* M: block dimensions, after the batch */
    int64_t block[GBX_NN_MAX_RANK];
    int64_t before[GBX_NN_MAX_RANK], after[GBX_NN_MAX_RANK]; /* paddings, or crops */
} arrangement;

/* Reads block_shape [M] and paddings (crops) [M, 2] against the input. */
static gbx_status read_arrangement(gbx_nn_tensor *const *in, arrangement *a, gbx_error *error)
{
    const gbx_nn_tensor *block = in[1], *edges = in[2];
    if (block->type != GBX_NN_INT64 || edges->type != GBX_NN_INT64 || block->rank != 1 ||
        edges->count != 2 * block->count || block->count < 1 ||
        (int)block->count > in[0]->rank - 1)
        return gbx_fail(error, GBX_ERR_PARSE, "block_shape and paddings (or crops) do not fit an "
                        "input of rank %d", in[0]->rank);
    a->spatial = (int)block->count;
    for (int d = 0; d < a->spatial; d++) {
        a->block[d] = block->i[d];
        a->before[d] = edges->i[2 * d];
        a->after[d] = edges->i[2 * d + 1];
        if (a->block[d] < 1 || a->block[d] > (1 << 16) || a->before[d] < 0 || a->after[d] < 0 ||
            a->before[d] > (1 << 24) || a->after[d] > (1 << 24))
            return gbx_fail(error, GBX_ERR_PARSE, "a block of %lld or an edge of %lld/%lld",
                            (long long)a->block[d], (long long)a->before[d], (long long)a->after[d]);
    }
    return GBX_OK;
}

/* Fills source[j] (-1: a padding zero) for each output element j of the rearrangement, and
 * the output's shape. to_batch: SpaceToBatchND, else BatchToSpaceND. */
static gbx_status mapping(gbx_nn_tensor *const *in, int to_batch, int64_t *dims, int64_t **source,
                          size_t *count, gbx_error *error)
{
    arrangement a = {0};
    gbx_status status = read_arrangement(in, &a, error);
    if (status != GBX_OK) return status;
    const gbx_nn_tensor *x = in[0];
    int rank = x->rank, M = a.spatial;
    int64_t blocks = 1;
    for (int d = 0; d < M; d++) blocks *= a.block[d];
    memcpy(dims, x->dims, (size_t)rank * sizeof *dims);
    if (to_batch) {
        dims[0] = x->dims[0] * blocks;
        for (int d = 0; d < M; d++) {
            int64_t padded = x->dims[1 + d] + a.before[d] + a.after[d];
            if (padded % a.block[d])
                return gbx_fail(error, GBX_ERR_PARSE, "SpaceToBatchND: %lld padded positions do "
                                "not divide into blocks of %lld", (long long)padded,
                                (long long)a.block[d]);
            dims[1 + d] = padded / a.block[d];
        }
    } else {
        if (x->dims[0] % blocks)
            return gbx_fail(error, GBX_ERR_PARSE, "BatchToSpaceND: %lld rows do not divide into "
                            "%lld blocks", (long long)x->dims[0], (long long)blocks);
        dims[0] = x->dims[0] / blocks;
        for (int d = 0; d < M; d++) {
            dims[1 + d] = x->dims[1 + d] * a.block[d] - a.before[d] - a.after[d];
            if (dims[1 + d] < 0)
                return gbx_fail(error, GBX_ERR_PARSE, "BatchToSpaceND crops more than it has");
        }
    }
    size_t total = 1, inner = 1;
    for (int d = 0; d < rank; d++) {
        if (dims[d] && total > GBX_NN_MAX_VALUES / (size_t)dims[d])
            return gbx_fail(error, GBX_ERR_UNSUPPORTED, "the rearranged tensor is too large");
        total *= (size_t)dims[d];
    }
    for (int d = 1 + M; d < rank; d++) inner *= (size_t)dims[d];
    *source = gbx_malloc_array(total ? total : 1, sizeof(int64_t));
    if (!*source) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    *count = total;
    int64_t position[GBX_NN_MAX_RANK];
    for (size_t j = 0; inner && j < total; j += inner) {
        /* The output's coordinates of element j (batch, then the M block dimensions). */
        size_t rest = j / inner;
        for (int d = M; d >= 1; d--) {
            position[d] = (int64_t)(rest % (size_t)dims[d]);
            rest /= (size_t)dims[d];
        }
        position[0] = (int64_t)rest;
        int64_t row, place = 0, inside = 1;
        if (to_batch) { /* output row = phase * batch + row; position = s' * block + phase */
            int64_t phase = position[0] / x->dims[0];
            row = position[0] % x->dims[0];
            for (int d = M - 1; d >= 0; d--) {
                int64_t offset = phase % a.block[d], at = position[1 + d] * a.block[d] + offset - a.before[d];
                phase /= a.block[d];
                if (at < 0 || at >= x->dims[1 + d]) inside = 0;
                position[1 + d] = at;
            }
        } else {        /* input row = phase * batch + row; position + crop = s' * block + phase */
            int64_t phase = 0;
            for (int d = 0; d < M; d++) {
                int64_t at = position[1 + d] + a.before[d];
                phase = phase * a.block[d] + at % a.block[d];
                position[1 + d] = at / a.block[d];
            }
            row = phase * dims[0] + position[0];
        }
        place = row;
        for (int d = 0; d < M; d++) place = place * x->dims[1 + d] + position[1 + d];
        for (size_t k = 0; k < inner; k++)
            (*source)[j + k] = inside ? place * (int64_t)inner + (int64_t)k : -1;
    }
    return GBX_OK;
}

static gbx_status forward(gbx_nn_tensor *const *in, gbx_nn_tensor **out, int to_batch,
                          gbx_error *error)
{
    int64_t dims[GBX_NN_MAX_RANK], *source = NULL;
    size_t count = 0;
    gbx_status status = mapping(in, to_batch, dims, &source, &count, error);
    if (status == GBX_OK)
        status = gbx_nn_tensor_alloc(out[0], in[0]->type, in[0]->rank, dims, error);
    for (size_t j = 0; status == GBX_OK && j < count; j++) {
        if (in[0]->type == GBX_NN_FLOAT) out[0]->f[j] = source[j] >= 0 ? in[0]->f[source[j]] : 0.0f;
        else out[0]->i[j] = source[j] >= 0 ? in[0]->i[source[j]] : 0;
    }
    free(source);
    return status;
}

static gbx_status backward(gbx_nn_tensor *const *in, gbx_nn_tensor *const *grad_out,
                           gbx_nn_tensor **grad_in, int to_batch, gbx_error *error)
{
    if (!grad_out[0] || !grad_in[0]) return GBX_OK;
    int64_t dims[GBX_NN_MAX_RANK], *source = NULL;
    size_t count = 0;
    gbx_status status = mapping(in, to_batch, dims, &source, &count, error);
    for (size_t j = 0; status == GBX_OK && j < count; j++)
        if (source[j] >= 0) grad_in[0]->f[source[j]] += grad_out[0]->f[j];
    free(source);
    return status;
}

gbx_status gbx_nn_forward_space_to_batch(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                         gbx_nn_tensor **out, gbx_error *error)
{
    (void)node;
    return forward(in, out, 1, error);
}

gbx_status gbx_nn_backward_space_to_batch(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                          gbx_nn_tensor *const *out,
                                          gbx_nn_tensor *const *grad_out, gbx_nn_tensor **grad_in,
                                          gbx_error *error)
{
    (void)node, (void)out;
    return backward(in, grad_out, grad_in, 1, error);
}

gbx_status gbx_nn_forward_batch_to_space(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                         gbx_nn_tensor **out, gbx_error *error)
{
    (void)node;
    return forward(in, out, 0, error);
}

gbx_status gbx_nn_backward_batch_to_space(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                          gbx_nn_tensor *const *out,
                                          gbx_nn_tensor *const *grad_out, gbx_nn_tensor **grad_in,
                                          gbx_error *error)
{
    (void)node, (void)out;
    return backward(in, grad_out, grad_in, 0, error);
}
