/* Einsum: any equation over any number of float inputs (a transformer export's attention scores
 * "bhqd,bhkd->bhqk", a bilinear form, a trace), with numpy's rules: a letter repeated within an
 * input takes its diagonal, an ellipsis stands for the leading dimensions (broadcast, right
 * aligned), and without "->" the output is the ellipsis, then every letter used once, in
 * alphabetical order. One loop over every combination of the letters' values serves forward
 * and reverse mode alike; its length is bounded before it runs. */
#include "einsum.h"

#include <string.h>

#define LETTERS 52                  /* a-z, A-Z; ellipsis dimensions take the ids after */
#define IDS (LETTERS + GBX_NN_MAX_RANK)
#define MAX_OPERANDS 8
#define STEP_LIMIT ((uint64_t)1 << 32) /* combinations one evaluation may visit */

typedef struct {
    int operands;
    int ids[MAX_OPERANDS + 1][GBX_NN_MAX_RANK]; /* per dimension; the output last */
    int ranks[MAX_OPERANDS + 1];
    int64_t sizes[IDS];
    int used[IDS], order[IDS], count; /* the ids in loop order: the output's first */
} plan;

static int letter_id(char c)
{
    return c >= 'a' && c <= 'z' ? c - 'a' : c >= 'A' && c <= 'Z' ? 26 + c - 'A' : -1;
}

static const char *equation_of(const gbx_nn_node *node)
{
    const gbx_nn_attribute *a = gbx_nn_attribute_find(node, "equation");
    return a && a->kind == GBX_NN_ATTRIBUTE_STRING && a->s ? a->s : NULL;
}

/* One term's dimensions as ids, its ellipsis spanning `ellipsis` dimensions ending at the last
 * ellipsis id (so shorter ellipses align right). Returns the term's rank, or -1. */
static int term_ids(const char *term, size_t length, int ellipsis, int ellipsis_width, int *ids)
{
    int rank = 0, seen = 0;
    for (size_t p = 0; p < length;) {
        if (term[p] == ' ') {
            p++;
        } else if (length - p >= 3 && memcmp(term + p, "...", 3) == 0) {
            if (seen++) return -1;
            for (int e = 0; e < ellipsis; e++) {
                if (rank == GBX_NN_MAX_RANK) return -1;
                ids[rank++] = LETTERS + ellipsis_width - ellipsis + e;
            }
            p += 3;
        } else {
            int id = letter_id(term[p++]);
            if (id < 0 || rank == GBX_NN_MAX_RANK) return -1;
            ids[rank++] = id;
        }
    }
    return rank;
}

/* The letters of a term (ellipsis excluded) and whether it has one. */
static int term_letters(const char *term, size_t length, int *letters, int *has_ellipsis)
{
    int count = 0;
    *has_ellipsis = 0;
    for (size_t p = 0; p < length; p++) {
        if (term[p] == '.') {
            if (length - p < 3 || memcmp(term + p, "...", 3) != 0 || *has_ellipsis) return -1;
            *has_ellipsis = 1;
            p += 2;
        } else if (term[p] != ' ') {
            if (letter_id(term[p]) < 0) return -1;
            letters[count++] = letter_id(term[p]);
            if (count > GBX_NN_MAX_RANK) return -1;
        }
    }
    return count;
}

/* Reads the equation against the inputs' ranks (dims NULL: only its syntax and the operand
 * count, at load) into a plan. */
static gbx_status make_plan(const gbx_nn_node *node, gbx_nn_tensor *const *in, int operands,
                            plan *p, gbx_error *error)
{
    const char *equation = equation_of(node);
    if (!equation) return gbx_fail(error, GBX_ERR_PARSE, "Einsum without an equation");
    memset(p, 0, sizeof *p);
    p->operands = operands;
    const char *arrow = strstr(equation, "->"), *end = arrow ? arrow : equation + strlen(equation);
    const char *start = equation;
    int ellipsis_width = 0, counts[IDS] = {0}, ellipses[MAX_OPERANDS] = {0};
    for (int i = 0; i < operands; i++) {
        const char *comma = memchr(start, ',', (size_t)(end - start));
        size_t length = (size_t)((comma ? comma : end) - start);
        if ((i + 1 < operands) != (comma != NULL))
            return gbx_fail(error, GBX_ERR_PARSE, "Einsum equation \"%s\" does not have %d terms",
                            equation, operands);
        int letters[GBX_NN_MAX_RANK + 1], has_ellipsis;
        int count = term_letters(start, length, letters, &has_ellipsis);
        if (count < 0) return gbx_fail(error, GBX_ERR_PARSE, "Einsum equation \"%s\" is malformed", equation);
        for (int l = 0; l < count; l++) counts[letters[l]]++;
        if (in) {
            int rank = in[i]->rank;
            if (rank < count || (!has_ellipsis && rank != count))
                return gbx_fail(error, GBX_ERR_PARSE, "Einsum term %d of \"%s\" has %d letters for "
                                "rank %d", i, equation, count, rank);
            ellipses[i] = rank - count;
            if (ellipses[i] > ellipsis_width) ellipsis_width = ellipses[i];
        }
        start = comma ? comma + 1 : end;
    }
    if (!in) return GBX_OK;
    /* The ids of each operand, and every id's size (1 broadcasts). */
    start = equation;
    for (int i = 0; i < operands; i++) {
        const char *comma = memchr(start, ',', (size_t)(end - start));
        size_t length = (size_t)((comma ? comma : end) - start);
        p->ranks[i] = term_ids(start, length, ellipses[i], ellipsis_width, p->ids[i]);
        for (int d = 0; d < p->ranks[i]; d++) {
            int id = p->ids[i][d];
            int64_t size = in[i]->dims[d];
            if (p->used[id] && p->sizes[id] != size && size != 1 && p->sizes[id] != 1)
                return gbx_fail(error, GBX_ERR_PARSE, "Einsum \"%s\": a dimension is %lld in one "
                                "place and %lld in another", equation, (long long)p->sizes[id],
                                (long long)size);
            if (!p->used[id] || p->sizes[id] == 1) p->sizes[id] = size;
            p->used[id] = 1;
        }
        start = comma ? comma + 1 : end;
    }
    /* The output: as written, or the ellipsis then the letters used once, alphabetically. */
    int *out_ids = p->ids[operands];
    if (arrow) {
        int letters[GBX_NN_MAX_RANK + 1], has_ellipsis;
        size_t length = strlen(arrow + 2);
        int count = term_letters(arrow + 2, length, letters, &has_ellipsis);
        if (count < 0) return gbx_fail(error, GBX_ERR_PARSE, "Einsum equation \"%s\" is malformed", equation);
        for (int l = 0; l < count; l++)
            if (!p->used[letters[l]])
                return gbx_fail(error, GBX_ERR_PARSE, "Einsum \"%s\": an output letter no input "
                                "has", equation);
        p->ranks[operands] = term_ids(arrow + 2, length, has_ellipsis ? ellipsis_width : 0,
                                      ellipsis_width, out_ids);
    } else {
        int rank = 0;
        for (int e = 0; e < ellipsis_width; e++) out_ids[rank++] = LETTERS + e;
        static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        for (const char *c = alphabet; *c && rank >= 0; c++)
            if (counts[letter_id(*c)] == 1) {
                if (rank == GBX_NN_MAX_RANK) rank = -1;
                else out_ids[rank++] = letter_id(*c);
            }
        p->ranks[operands] = rank;
    }
    if (p->ranks[operands] < 0)
        return gbx_fail(error, GBX_ERR_PARSE, "Einsum \"%s\": the output is malformed", equation);
    for (int d = 0; d < p->ranks[operands]; d++)
        for (int e = 0; e < d; e++)
            if (out_ids[d] == out_ids[e])
                return gbx_fail(error, GBX_ERR_PARSE, "Einsum \"%s\": an output letter twice", equation);
    /* Loop order: the output's ids, then the summed ones. */
    int placed[IDS] = {0};
    uint64_t steps = 1;
    for (int d = 0; d < p->ranks[operands]; d++) placed[out_ids[d]] = 1, p->order[p->count++] = out_ids[d];
    for (int id = 0; id < IDS; id++)
        if (p->used[id] && !placed[id]) p->order[p->count++] = id;
    for (int k = 0; k < p->count; k++) {
        uint64_t size = (uint64_t)p->sizes[p->order[k]];
        if (size && steps > STEP_LIMIT / size)
            return gbx_fail(error, GBX_ERR_UNSUPPORTED, "Einsum \"%s\" would take more than %llu "
                            "steps", equation, (unsigned long long)STEP_LIMIT);
        steps *= size;
    }
    return GBX_OK;
}

gbx_status gbx_nn_check_einsum(gbx_nn_node *node, const gbx_nn_graph *graph, gbx_error *error)
{
    (void)graph;
    if (node->input_count > MAX_OPERANDS)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "Einsum of %d inputs (at most %d)",
                        node->input_count, MAX_OPERANDS);
    for (int i = 0; i < node->input_count; i++)
        if (node->inputs[i] < 0)
            return gbx_fail(error, GBX_ERR_PARSE, "Einsum's operand %d is omitted", i);
    plan p;
    return make_plan(node, NULL, node->input_count, &p, error);
}

/* Each tensor's stride for each loop position (a repeated id adds its strides: a diagonal; a
 * dimension of 1 broadcasts: stride 0). */
static void loop_strides(const plan *p, gbx_nn_tensor *const *tensors, int which,
                         int64_t strides[MAX_OPERANDS + 1][IDS])
{
    int64_t stride = 1;
    const gbx_nn_tensor *t = tensors[which];
    memset(strides[which], 0, sizeof strides[which]);
    for (int d = p->ranks[which] - 1; d >= 0; d--) {
        if (t->dims[d] != 1)
            for (int k = 0; k < p->count; k++)
                if (p->order[k] == p->ids[which][d]) strides[which][k] += stride;
        stride *= t->dims[d];
    }
}

/* The loop: for every combination, target[offset of `target`] += seed x the product of the other
 * operands (forward: the target is the output, the seed 1; reverse: an input's gradient, the
 * seed the output's gradient). */
static void run(const plan *p, gbx_nn_tensor *const *tensors, int target, const float *seed,
                float *result)
{
    int64_t strides[MAX_OPERANDS + 1][IDS], counters[IDS] = {0};
    int n = p->operands + 1;
    for (int t = 0; t < n; t++) loop_strides(p, tensors, t, strides);
    int64_t offsets[MAX_OPERANDS + 1] = {0};
    for (;;) {
        double product = seed ? seed[offsets[p->operands]] : 1.0;
        for (int t = 0; t < p->operands; t++)
            if (t != target) product *= tensors[t]->f[offsets[t]];
        result[offsets[target]] += (float)product;
        int k = p->count - 1;
        for (; k >= 0; k--) {
            for (int t = 0; t < n; t++) offsets[t] += strides[t][k];
            if (++counters[k] < p->sizes[p->order[k]]) break;
            for (int t = 0; t < n; t++) offsets[t] -= strides[t][k] * p->sizes[p->order[k]];
            counters[k] = 0;
        }
        if (k < 0) return;
    }
}

static int any_empty(const plan *p)
{
    for (int k = 0; k < p->count; k++)
        if (p->sizes[p->order[k]] == 0) return 1;
    return 0;
}

gbx_status gbx_nn_forward_einsum(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                 gbx_nn_tensor **out, gbx_error *error)
{
    plan p;
    for (int i = 0; i < node->input_count; i++)
        if (in[i]->type != GBX_NN_FLOAT)
            return gbx_fail(error, GBX_ERR_UNSUPPORTED, "Einsum of integer tensors");
    gbx_status status = make_plan(node, in, node->input_count, &p, error);
    int64_t dims[GBX_NN_MAX_RANK];
    for (int d = 0; status == GBX_OK && d < p.ranks[p.operands]; d++) dims[d] = p.sizes[p.ids[p.operands][d]];
    if (status == GBX_OK)
        status = gbx_nn_tensor_alloc(out[0], GBX_NN_FLOAT, p.ranks[p.operands], dims, error);
    if (status != GBX_OK || any_empty(&p)) return status;
    gbx_nn_tensor *tensors[MAX_OPERANDS + 1];
    memcpy(tensors, in, (size_t)p.operands * sizeof *tensors);
    tensors[p.operands] = out[0];
    run(&p, tensors, p.operands, NULL, out[0]->f);
    return GBX_OK;
}

gbx_status gbx_nn_backward_einsum(const gbx_nn_node *node, gbx_nn_tensor *const *in,
                                  gbx_nn_tensor *const *out, gbx_nn_tensor *const *grad_out,
                                  gbx_nn_tensor **grad_in, gbx_error *error)
{
    if (!grad_out[0]) return GBX_OK;
    plan p;
    gbx_status status = make_plan(node, in, node->input_count, &p, error);
    if (status != GBX_OK || any_empty(&p)) return status;
    gbx_nn_tensor *tensors[MAX_OPERANDS + 1];
    memcpy(tensors, in, (size_t)p.operands * sizeof *tensors);
    tensors[p.operands] = out[0];
    for (int i = 0; i < p.operands; i++)
        if (grad_in[i]) run(&p, tensors, i, grad_out[0]->f, grad_in[i]->f);
    return GBX_OK;
}
