#include "tree_coalitions.h"

#include <stdlib.h>
#include <string.h>
#ifdef __x86_64__
#include <immintrin.h>
#endif

#define MAX_PATH_PLAYERS 20
/* A tree testing at most this many distinct players has its values remembered per call by
 * the coalition's pattern over them (2^this entries of scratch). */
#define MEMO_PLAYERS 12

/* A node as the walk reads it, packed into one cache line with its neighbours. */
typedef struct {
    int32_t player;      /* the player its split tests; -1 at a leaf */
    int32_t left, right; /* children; a split's "left" is also where its path bit comes from */
    int32_t bit;         /* the path bit of this node's player (at a child: its parent's) */
    size_t table;        /* a leaf's F table */
} walk_node;

typedef struct {
    const gbx_tree *tree;
    walk_node *walk;   /* the tree's nodes for the walk */
    int32_t *player;   /* per node: the player its split tests */
    int8_t *bit;       /* per node: the path bit of its parent's player */
    uint8_t *first;    /* per node: that player is new on the path */
    size_t *table;     /* per node: offset of a leaf's F table */
    uint8_t *width;    /* per node: a leaf's distinct path players d (F has 2^d entries) */
    int32_t *tested;   /* the distinct players its splits test */
    int tested_count;
    uint64_t tested_bits; /* the same as bits, when there are at most 64 players */
    /* With at most 64 players and a remembered tree: per byte k of a coalition's bit set and
     * value b, the memo key bits its tested players there give ([players / 8][256]). */
    uint16_t *byte_keys;
} tree_tables;

struct gbx_tree_coalitions {
    const gbx_model *model;
    int32_t *player;
    size_t players;
    tree_tables *trees;
    size_t tree_count;
    int memo_bits; /* the most distinct players of a tree whose values are remembered */
    double *F; /* the leaves' tables: superset shares, then times the leaf's value */
};

void gbx_tree_coalitions_free(gbx_tree_coalitions *c)
{
    if (!c) return;
    for (size_t t = 0; c->trees && t < c->tree_count; t++) {
        free(c->trees[t].player);
        free(c->trees[t].bit);
        free(c->trees[t].first);
        free(c->trees[t].table);
        free(c->trees[t].width);
        free(c->trees[t].walk);
        free(c->trees[t].tested);
        free(c->trees[t].byte_keys);
    }
    free(c->trees);
    free(c->player);
    free(c->F);
    free(c);
}

/* Assigns path bits and sizes the leaf tables; returns 0 past the player limit. */
static int shape(gbx_tree_coalitions *c, tree_tables *tt, int32_t id, int32_t *bit_of_player,
                 int distinct, size_t *size)
{
    const gbx_node *node = &tt->tree->nodes[id];
    if (node->kind == GBX_NODE_LEAF) {
        tt->table[id] = *size;
        tt->width[id] = (uint8_t)distinct;
        *size += (size_t)1 << distinct;
        return 1;
    }
    int32_t player = c->player[node->feature], saved = bit_of_player[player];
    if (saved < 0 && distinct == MAX_PATH_PLAYERS) return 0;
    int32_t children[2] = {node->left, node->right};
    for (int side = 0; side < 2; side++) {
        int32_t child = children[side];
        tt->first[child] = saved < 0;
        tt->bit[child] = (int8_t)(saved >= 0 ? saved : distinct);
        if (saved < 0) bit_of_player[player] = distinct;
        int ok = shape(c, tt, child, bit_of_player, distinct + (saved < 0), size);
        bit_of_player[player] = saved;
        if (!ok) return 0;
    }
    return 1;
}

/* Adds a background row's weight at its pattern in every leaf's table (bit j of the pattern:
 * the row satisfies all the path's splits on the j-th player). */
static void add_row(const tree_tables *tt, double *F, int32_t id, const double *row,
                    uint64_t pattern, double weight)
{
    const gbx_node *node = &tt->tree->nodes[id];
    if (node->kind == GBX_NODE_LEAF) {
        F[tt->table[id] + pattern] += weight;
        return;
    }
    int left = gbx_node_goes_left(node, tt->tree->categories, row[node->feature]);
    int32_t children[2] = {node->left, node->right};
    for (int side = 0; side < 2; side++) {
        int32_t child = children[side];
        add_row(tt, F, child, row,
                gbx_pattern_step(pattern, tt->bit[child], tt->first[child], side == 0 ? left : !left),
                weight);
    }
}

/* Turns each leaf's histogram into superset sums: F[m] = share with a pattern containing m. */
static void superset_sums(const tree_tables *tt, double *F)
{
    for (size_t id = 0; id < tt->tree->node_count; id++) {
        if (tt->tree->nodes[id].kind != GBX_NODE_LEAF) continue;
        double *table = F + tt->table[id];
        size_t size = (size_t)1 << tt->width[id];
        for (int b = 0; b < tt->width[id]; b++)
            for (size_t m = 0; m < size; m++)
                if (!(m & ((size_t)1 << b))) table[m] += table[m | ((size_t)1 << b)];
    }
}

/* Lists the distinct players the tree's splits test (listed_in: per player, the last tree
 * that listed it); returns 0 when out of memory. */
static int list_tested(tree_tables *tt, size_t *listed_in, size_t t)
{
    tt->tested = gbx_malloc_array(tt->tree->node_count, sizeof(int32_t));
    if (!tt->tested) return 0;
    for (size_t id = 0; id < tt->tree->node_count; id++) {
        int32_t p = tt->player[id];
        if (p < 0 || listed_in[p] == t) continue;
        listed_in[p] = t;
        tt->tested[tt->tested_count++] = p;
        if (p < 64) tt->tested_bits |= (uint64_t)1 << p;
    }
    return 1;
}

/* The tree's byte_keys: bit j of a key is whether the coalition holds tested[j]. */
static int byte_keys(tree_tables *tt, size_t players)
{
    size_t bytes = (players + 7) / 8;
    tt->byte_keys = gbx_calloc(bytes * 256, sizeof(uint16_t));
    if (!tt->byte_keys) return 0;
    for (int j = 0; j < tt->tested_count; j++) {
        int32_t q = tt->tested[j];
        uint16_t *table = tt->byte_keys + (size_t)(q / 8) * 256;
        for (unsigned b = 0; b < 256; b++)
            if (b >> (q % 8) & 1) table[b] |= (uint16_t)(1u << j);
    }
    return 1;
}

/* Multiplies each leaf's table by the leaf's value (the walk's product, made once) and packs
 * the nodes for the walk; returns 0 when out of memory. */
static int leaf_values_and_walk_nodes(tree_tables *tt, double *F)
{
    size_t n = tt->tree->node_count;
    tt->walk = gbx_malloc_array(n, sizeof(walk_node));
    if (!tt->walk) return 0;
    for (size_t id = 0; id < n; id++) {
        const gbx_node *node = &tt->tree->nodes[id];
        walk_node *w = &tt->walk[id];
        w->bit = tt->bit[id];
        w->table = tt->table[id];
        if (node->kind == GBX_NODE_LEAF) {
            w->player = -1;
            w->left = w->right = -1;
            double *table = F + tt->table[id];
            for (size_t m = 0; m < (size_t)1 << tt->width[id]; m++) table[m] = node->value * table[m];
            continue;
        }
        w->player = tt->player[id];
        w->left = node->left;
        w->right = node->right;
    }
    return 1;
}

gbx_tree_coalitions *gbx_tree_coalitions_new(const gbx_model *model, const double *background,
                                             const double *weights, size_t rows,
                                             const int32_t *player, size_t players,
                                             size_t budget)
{
    const gbx_tree_ensemble *e = model->trees;
    if (!e || rows == 0) return NULL;
    gbx_tree_coalitions *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->model = model;
    c->players = players;
    c->tree_count = e->tree_count;
    c->player = gbx_malloc_array(model->features ? model->features : 1, sizeof(int32_t));
    c->trees = gbx_calloc(e->tree_count ? e->tree_count : 1, sizeof(tree_tables));
    int32_t *bit_of_player = gbx_malloc_array(players ? players : 1, sizeof(int32_t));
    size_t *listed_in = gbx_malloc_array(players ? players : 1, sizeof(size_t));
    int ok = c->player && c->trees && bit_of_player && listed_in;
    if (ok) memcpy(c->player, player, model->features * sizeof(int32_t));
    for (size_t p = 0; ok && p < players; p++) bit_of_player[p] = -1, listed_in[p] = SIZE_MAX;
    size_t size = 0;
    for (size_t t = 0; ok && t < e->tree_count; t++) {
        tree_tables *tt = &c->trees[t];
        size_t n = e->trees[t].node_count;
        tt->tree = &e->trees[t];
        tt->player = gbx_calloc(n, sizeof(int32_t));
        for (size_t i = 0; tt->player && i < n; i++)
            tt->player[i] = e->trees[t].nodes[i].kind == GBX_NODE_LEAF ? -1
                                                                        : player[e->trees[t].nodes[i].feature];
        tt->bit = gbx_calloc(n, 1);
        tt->first = gbx_calloc(n, 1);
        tt->table = gbx_calloc(n, sizeof(size_t));
        tt->width = gbx_calloc(n, 1);
        ok = tt->player && tt->bit && tt->first && tt->table && tt->width &&
             shape(c, tt, 0, bit_of_player, 0, &size) && size <= budget / sizeof(double) &&
             list_tested(tt, listed_in, t);
        if (ok && tt->tested_count <= MEMO_PLAYERS && tt->tested_count > c->memo_bits)
            c->memo_bits = tt->tested_count;
        if (ok && tt->tested_count <= MEMO_PLAYERS && players <= 64)
            ok = byte_keys(tt, players);
    }
    free(bit_of_player);
    free(listed_in);
    if (ok) ok = (c->F = gbx_calloc(size ? size : 1, sizeof(double))) != NULL;
    for (size_t t = 0; ok && t < e->tree_count; t++) {
        for (size_t b = 0; b < rows; b++)
            add_row(&c->trees[t], c->F, 0, background + b * model->features, 0,
                    weights ? weights[b] : 1.0 / (double)rows);
        superset_sums(&c->trees[t], c->F);
        ok = leaf_values_and_walk_nodes(&c->trees[t], c->F);
    }
    if (!ok) {
        gbx_tree_coalitions_free(c);
        return NULL;
    }
    return c;
}

/* The tree's value for one coalition: x's branch at splits on players in S, both branches
 * otherwise (their path bits collected in m for the leaf's table, which holds the leaf's
 * value times the share), depth first with the right branches still to take on a stack (at
 * most the tree's depth of them). x_child holds the child x goes to at each split, found
 * once per row and tree. */
typedef struct {
    int32_t id;
    uint64_t m;
} pending;

static double walk(const walk_node *nodes, const double *F, const int32_t *x_child,
                   const uint8_t *in, pending *stack)
{
    double total = 0.0;
    size_t top = 0;
    int32_t id = 0;
    uint64_t m = 0;
    for (;;) {
        const walk_node *node = &nodes[id];
        if (node->player < 0) {
            total += F[node->table + m];
            if (top == 0) return total;
            top--;
            id = stack[top].id;
            m = stack[top].m;
            continue;
        }
        if (in[node->player]) {
            id = x_child[id];
            continue;
        }
        m |= (uint64_t)1 << nodes[node->left].bit;
        stack[top++] = (pending){node->right, m};
        id = node->left;
    }
}

/* A tree's memo key: the coalition's bits at its tested players, packed. With at most 64
 * players the coalition is a bit set (bits[s]), and the key one pext of it (players' order)
 * where BMI2's pext is fast, else its bytes looked up in the tree's byte_keys (the tested
 * list's order); past 64 players, the mask bytes in the tested list's order: a key only has
 * to mean the same within one call. */
#ifdef __x86_64__
__attribute__((target("bmi2"))) static void keys_pext(const uint64_t *bits, size_t count,
                                                       uint64_t tested, uint32_t *keys)
{
    for (size_t s = 0; s < count; s++) keys[s] = (uint32_t)_pext_u64(bits[s], tested);
}
#endif

/* A tree's value depends on a coalition only through which of the tree's own players it
 * holds: coalitions that agree there (most of a permutation's prefixes, most of kernel's
 * small and large coalitions) share one walk. The trees go one at a time over all the
 * coalitions, each adding to their sums in the trees' order, as a coalition at a time would. */
gbx_status gbx_tree_coalitions_values(const gbx_tree_coalitions *c, const double *x,
                                      const uint8_t *in, size_t count, double *v)
{
    const gbx_tree_ensemble *e = c->model->trees;
    size_t K = c->model->outputs, P = c->players, largest = 1, memo_size = (size_t)1 << c->memo_bits;
    for (size_t t = 0; t < c->tree_count; t++)
        if (c->trees[t].tree->node_count > largest) largest = c->trees[t].tree->node_count;
    int32_t *children = gbx_malloc_array(largest, sizeof(int32_t)); /* the tree's x_child */
    pending *stack = gbx_malloc_array(largest, sizeof(pending)); /* fewer splits than nodes */
    double *memo = gbx_malloc_array(memo_size, sizeof(double));
    size_t *memo_tree = gbx_malloc_array(memo_size, sizeof(size_t)); /* whose value it holds */
    /* With at most 64 players, each coalition as a bit set, and its keys a tree at a time.
     * AMD's Zen and Zen 2 have BMI2 but run pext in microcode, at tens of cycles per bit:
     * there the byte tables are faster (bench permutation on the XGBoost model, Zen 2: pext
     * was 45% of the time, the byte tables take a third of what the mask bytes took). */
    int as_bits = P <= 64, pext = 0;
#ifdef __x86_64__
    pext = as_bits && __builtin_cpu_supports("bmi2") && !__builtin_cpu_is("znver1") &&
           !__builtin_cpu_is("znver2");
#endif
    uint64_t *bits = as_bits ? gbx_malloc_array(count ? count : 1, sizeof(uint64_t)) : NULL;
    uint32_t *keys = as_bits ? gbx_malloc_array(count ? count : 1, sizeof(uint32_t)) : NULL;
    if (!children || !stack || !memo || !memo_tree || (as_bits && (!bits || !keys))) {
        free(children);
        free(stack);
        free(memo);
        free(memo_tree);
        free(bits);
        free(keys);
        return GBX_ERR_NOMEM;
    }
    for (size_t i = 0; i < memo_size; i++) memo_tree[i] = SIZE_MAX;
    for (size_t s = 0; as_bits && s < count; s++) {
        uint64_t b = 0;
        for (size_t q = 0; q < P; q++) b |= (uint64_t)(in[s * P + q] != 0) << q;
        bits[s] = b;
    }
    for (size_t s = 0; s < count; s++) memcpy(v + s * K, e->base_margin, K * sizeof(double));
    for (size_t t = 0; t < c->tree_count; t++) {
        const tree_tables *tt = &c->trees[t];
        const gbx_tree *tree = tt->tree;
        for (size_t i = 0; i < tree->node_count; i++) {
            const gbx_node *node = &tree->nodes[i];
            if (node->kind != GBX_NODE_LEAF)
                children[i] = gbx_node_goes_left(node, tree->categories, x[node->feature])
                                  ? node->left : node->right;
        }
        size_t output = (size_t)tree->output;
        const int32_t *tested = tt->tested;
        int n = tt->tested_count;
        if (n > c->memo_bits) {
            for (size_t s = 0; s < count; s++)
                v[s * K + output] += walk(tt->walk, c->F, children, in + s * P, stack);
            continue;
        }
#ifdef __x86_64__
        if (pext) keys_pext(bits, count, tt->tested_bits, keys);
#endif
        if (as_bits && !pext)
            for (size_t s = 0; s < count; s++) {
                uint32_t key = 0;
                for (size_t k = 0; k < (P + 7) / 8; k++)
                    key |= tt->byte_keys[k * 256 + (bits[s] >> (8 * k) & 255)];
                keys[s] = key;
            }
        for (size_t s = 0; s < count; s++) {
            const uint8_t *coalition = in + s * P;
            size_t key = 0;
            if (as_bits)
                key = keys[s];
            else
                for (int j = 0; j < n; j++) key |= (size_t)(coalition[tested[j]] != 0) << j;
            if (memo_tree[key] != t) {
                memo_tree[key] = t;
                memo[key] = walk(tt->walk, c->F, children, coalition, stack);
            }
            v[s * K + output] += memo[key];
        }
    }
    free(bits);
    free(keys);
    free(children);
    free(stack);
    free(memo);
    free(memo_tree);
    return GBX_OK;
}
