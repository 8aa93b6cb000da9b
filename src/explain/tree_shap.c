#include "tree_shap_internal.h"

#include <stdlib.h>
#include <string.h>

/* Gauss-Legendre nodes and weights mapped to [0, 1], by Newton's method on P_n. */
static void gauss_legendre(int n, double *nodes, double *weights)
{
    for (int i = 0; i < n; i++) {
        double x = cos(M_PI * (i + 0.75) / (n + 0.5)), derivative = 1.0;
        for (int iteration = 0; iteration < 100; iteration++) {
            double p0 = 1.0, p1 = x;
            for (int k = 2; k <= n; k++) {
                double p2 = ((2 * k - 1) * x * p1 - (k - 1) * p0) / k;
                p0 = p1;
                p1 = p2;
            }
            derivative = n * (x * p1 - p0) / (x * x - 1.0);
            double step = p1 / derivative;
            x -= step;
            if (fabs(step) < 1e-16) break;
        }
        nodes[i] = (x + 1.0) / 2.0;
        weights[i] = 1.0 / ((1.0 - x * x) * derivative * derivative);
    }
}

/* Walks every root-to-leaf path once. The first walk (no factors allocated) finds the depth and
 * the largest number of distinct features on a path; the second fills the per-node factors. */
typedef struct {
    prepared_tree *prepared;
    int32_t *depth_of_feature; /* depth of the latest element on each player, or -1 */
    const int32_t *player;     /* [features] */
    int32_t *node_at_depth;
    int unique, max_unique;
} path_walk;

static double safe_ratio(double numerator, double denominator)
{
    return denominator != 0.0 ? numerator / denominator : 0.0;
}

static void fill_factors(prepared_tree *p, int32_t child, double z, double z_previous,
                         int repeated)
{
    int Q = p->points;
    double *down = p->down + (size_t)child * 3 * Q, *up = p->up + (size_t)child * 2 * Q;
    for (int q = 0; q < Q; q++) {
        double t = p->nodes[q], w = p->weights[q];
        double off = z * (1.0 - t), on = z * (1.0 - t) + t;
        if (repeated) {
            /* Replace the earlier element's factor by this one's: divide it out. */
            down[q] = safe_ratio(z, z_previous); /* o_prev = 0 (so o = 0) */
            down[Q + q] = off / (z_previous * (1.0 - t) + t);
            down[2 * Q + q] = on / (z_previous * (1.0 - t) + t);
        } else {
            down[q] = 0.0; /* state unused: o_prev is 1 for a first occurrence */
            down[Q + q] = off;
            down[2 * Q + q] = on;
        }
        up[q] = safe_ratio(-z * w, off);
        up[Q + q] = (1.0 - z) * w / on;
    }
}

static void walk_paths(path_walk *walk, int32_t id, int depth)
{
    prepared_tree *p = walk->prepared;
    const gbx_node *node = &p->tree->nodes[id];
    if (depth > p->depth) p->depth = depth;
    if (walk->unique > walk->max_unique) walk->max_unique = walk->unique;
    if (node->kind == GBX_NODE_LEAF) return;
    int32_t children[2] = {node->left, node->right};
    int32_t feature = walk->player[node->feature], saved = walk->depth_of_feature[feature];
    for (int side = 0; side < 2; side++) {
        int32_t child = children[side];
        double fraction = gbx_cover_fraction(p->tree, id, child);
        double z_previous = saved >= 0 ? p->zero[walk->node_at_depth[saved]] : 1.0;
        p->feature[child] = feature;
        p->previous[child] = saved;
        p->zero[child] = z_previous * fraction;
        if (saved >= 0) p->repeated[walk->node_at_depth[saved]] = 1;
        if (p->down) fill_factors(p, child, p->zero[child], z_previous, saved >= 0);
        walk->node_at_depth[depth + 1] = child;
        walk->depth_of_feature[feature] = depth + 1;
        walk->unique += saved < 0;
        walk_paths(walk, child, depth + 1);
        walk->unique -= saved < 0;
        walk->depth_of_feature[feature] = saved;
    }
}

static void free_prepared(prepared_tree *p)
{
    free(p->nodes); free(p->weights); free(p->feature); free(p->previous); free(p->zero);
    free(p->down); free(p->up); free(p->repeated);
}

static gbx_status prepare_tree(const gbx_tree *tree, size_t players, const int32_t *player,
                               prepared_tree *p, int32_t *depth_of_feature,
                               int32_t *node_at_depth)
{
    size_t n = tree->node_count;
    p->tree = tree;
    p->feature = gbx_malloc_array(n, sizeof(int32_t));
    p->previous = gbx_malloc_array(n, sizeof(int32_t));
    p->zero = gbx_calloc(n, sizeof(double));
    p->repeated = gbx_calloc(n, 1);
    if (!p->feature || !p->previous || !p->zero || !p->repeated) return GBX_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) p->feature[i] = p->previous[i] = -1;
    for (size_t f = 0; f < players; f++) depth_of_feature[f] = -1;
    path_walk walk = {p, depth_of_feature, player, node_at_depth, 0, 0};
    walk_paths(&walk, 0, 0);
    p->points = (walk.max_unique + 1) / 2 > 0 ? (walk.max_unique + 1) / 2 : 1;
    p->nodes = gbx_calloc((size_t)p->points, sizeof(double));
    p->weights = gbx_calloc((size_t)p->points, sizeof(double));
    p->down = gbx_calloc(n * 3 * (size_t)p->points, sizeof(double));
    p->up = gbx_calloc(n * 2 * (size_t)p->points, sizeof(double));
    if (!p->nodes || !p->weights || !p->down || !p->up) return GBX_ERR_NOMEM;
    gauss_legendre(p->points, p->nodes, p->weights);
    walk.unique = walk.max_unique = 0;
    walk_paths(&walk, 0, 0);
    return GBX_OK;
}

gbx_status gbx_tree_shap_prepare(const gbx_tree_ensemble *ensemble, size_t features,
                                 size_t outputs, const gbx_players *players, gbx_tree_shap **out,
                                 gbx_error *error)
{
    gbx_tree_shap *shap = calloc(1, sizeof *shap);
    if (!shap) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    shap->kernel = gbx_tree_shap_kernel_generic;
#ifdef GBX_HAVE_AVX2_KERNEL
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) shap->kernel = gbx_tree_shap_kernel_avx2;
#endif
    shap->features = features;
    shap->outputs = outputs;
    shap->tree_count = ensemble->tree_count;
    shap->trees = gbx_calloc(ensemble->tree_count, sizeof(prepared_tree));
    shap->base_values = gbx_calloc(outputs, sizeof(double));
    size_t deepest = 1;
    for (size_t t = 0; t < ensemble->tree_count; t++)
        if (ensemble->trees[t].node_count > deepest) deepest = ensemble->trees[t].node_count;
    gbx_status status = gbx_players_copy(players, features, &shap->player, &shap->players, error);
    int32_t *depth_of_feature = gbx_malloc_array(shap->players ? shap->players : 1, sizeof(int32_t));
    int32_t *node_at_depth = gbx_malloc_array(deepest + 1, sizeof(int32_t));
    if (status == GBX_OK && !(shap->trees && shap->base_values && depth_of_feature && node_at_depth))
        status = GBX_ERR_NOMEM;
    for (size_t k = 0; status == GBX_OK && k < outputs; k++)
        shap->base_values[k] = ensemble->base_margin[k];
    for (size_t t = 0; status == GBX_OK && t < ensemble->tree_count; t++) {
        const gbx_tree *tree = &ensemble->trees[t];
        status = prepare_tree(tree, shap->players, shap->player, &shap->trees[t], depth_of_feature,
                              node_at_depth);
        shap->base_values[tree->output] += gbx_tree_expected_value(tree);
        if (shap->trees[t].depth > shap->max_depth) shap->max_depth = shap->trees[t].depth;
        if (shap->trees[t].points > shap->max_points) shap->max_points = shap->trees[t].points;
    }
    free(depth_of_feature);
    free(node_at_depth);
    if (status != GBX_OK) {
        gbx_tree_shap_free(shap);
        return gbx_fail(error, status, "TreeSHAP: out of memory preparing the trees");
    }
    *out = shap;
    return GBX_OK;
}

void gbx_tree_shap_free(gbx_tree_shap *shap)
{
    if (!shap) return;
    if (shap->trees)
        for (size_t t = 0; t < shap->tree_count; t++) free_prepared(&shap->trees[t]);
    free(shap->trees);
    free(shap->base_values);
    free(shap->player);
    free(shap);
}

void gbx_tree_shap_base_values(const gbx_tree_shap *shap, double *out)
{
    memcpy(out, shap->base_values, shap->outputs * sizeof(double));
}

gbx_tree_shap_workspace *gbx_tree_shap_workspace_new(const gbx_tree_shap *shap)
{
    gbx_tree_shap_workspace *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    size_t levels = (size_t)shap->max_depth + 2, QB = (size_t)shap->max_points * BLOCK;
    size_t features = shap->features ? shap->features : 1;
    w->x = gbx_calloc(features * BLOCK, sizeof(double));
    w->x_float = gbx_calloc(features * BLOCK, sizeof(double));
    w->phi = gbx_calloc(shap->outputs * (shap->players ? shap->players : 1) * BLOCK, sizeof(double));
    w->path = gbx_calloc(levels * QB, sizeof(double));
    w->below = gbx_calloc(levels * QB, sizeof(double));
    w->repeats = gbx_calloc(levels * QB, sizeof(double));
    w->one = gbx_calloc(levels * BLOCK, sizeof(double));
    w->left = gbx_calloc(levels * BLOCK, sizeof(double));
    w->element = gbx_calloc(levels, sizeof(int32_t));
    w->superseded = gbx_calloc(levels, 1);
    w->pair = gbx_calloc(3 * levels * QB + 4 * BLOCK, sizeof(double));
    if (!w->x || !w->x_float || !w->phi || !w->path || !w->below || !w->repeats || !w->one || !w->left ||
        !w->element || !w->superseded || !w->pair) {
        gbx_tree_shap_workspace_free(w);
        return NULL;
    }
    return w;
}

void gbx_tree_shap_workspace_free(gbx_tree_shap_workspace *w)
{
    if (!w) return;
    free(w->x); free(w->x_float); free(w->phi); free(w->path); free(w->below); free(w->repeats); free(w->one);
    free(w->left); free(w->element); free(w->superseded); free(w->pair);
    free(w);
}


int gbx_tree_shap_select_kernel(gbx_tree_shap *shap, const char *name)
{
    if (strcmp(name, "generic") == 0) {
        shap->kernel = gbx_tree_shap_kernel_generic;
        return 1;
    }
#ifdef GBX_HAVE_AVX2_KERNEL
    __builtin_cpu_init();
    if (strcmp(name, "avx2") == 0 && __builtin_cpu_supports("avx2")) {
        shap->kernel = gbx_tree_shap_kernel_avx2;
        return 1;
    }
#endif
    return 0;
}

const char *gbx_tree_shap_kernel_name(const gbx_tree_shap *shap)
{
#ifdef GBX_HAVE_AVX2_KERNEL
    if (shap->kernel == gbx_tree_shap_kernel_avx2) return "avx2";
#endif
    return "generic";
}

/* Rows left after whole blocks, up to this many, go through the single-row kernel. */
#define SINGLE_ROWS 4

void gbx_tree_shap_explain(const gbx_tree_shap *shap, gbx_tree_shap_workspace *workspace,
                           const double *rows, size_t count, double *values, double *interactions)
{
    size_t whole = count / BLOCK * BLOCK, rest = count - whole;
    if (rest > SINGLE_ROWS) whole = count;
    if (whole) shap->kernel(shap, workspace, rows, whole, values, interactions);
    size_t M = shap->features, K = shap->outputs, P = shap->players;
    for (size_t r = whole; r < count; r++)
        gbx_tree_shap_kernel_single(shap, workspace, rows + r * M, 1, values + r * K * P,
                                    interactions ? interactions + r * K * M * M : NULL);
}

/* ---- the method's row: path-dependent TreeSHAP ------------------------------------------ */
#include "method.h"

static gbx_status tree_check(const gbx_model *model, const gbx_explainer_options *options,
                             gbx_error *error)
{
    (void)options;
    if (!model->trees->has_cover)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "path-dependent TreeSHAP needs how many "
                        "training rows reached each node, and this model does not record it "
                        "(skl2onnx writes every nodes_hitrates as 1, and the TreeEnsemble "
                        "operator of ONNX-ML opset 5 has none for leaves); use method "
                        "tree-interventional with a background, or fill nodes_hitrates with "
                        "scripts/onnx_hitrates.py");
    return GBX_OK;
}

static gbx_status tree_prepare(gbx_explainer *x, const gbx_data *background, gbx_error *error)
{
    (void)background;
    const gbx_model *model = x->model;
    gbx_tree_shap *shap;
    gbx_status status = gbx_tree_shap_prepare(model->trees, model->features, model->outputs,
                                              gbx_explainer_players(x), &shap, error);
    if (status != GBX_OK) return status;
    x->state = shap;
    gbx_tree_shap_base_values(shap, x->base_values);
    return GBX_OK;
}

/* Tasks of GBX_ROWS_PER_TASK rows, one workspace per thread. */
static gbx_status tree_explain(const gbx_explainer *x, const gbx_data *data, gbx_explanation *e,
                               gbx_error *error)
{
    const gbx_model *model = x->model;
    const gbx_tree_shap *shap = x->state;
    size_t rows = data->rows, K = model->outputs, M = model->features, P = e->features;
    size_t tasks = (rows + GBX_ROWS_PER_TASK - 1) / GBX_ROWS_PER_TASK;
    int failed = 0;
#pragma omp parallel num_threads(x->threads)
    {
        gbx_tree_shap_workspace *workspace = gbx_tree_shap_workspace_new(shap);
        if (!workspace) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (size_t task = 0; task < tasks; task++) {
            if (!workspace) continue;
            size_t begin = task * GBX_ROWS_PER_TASK;
            size_t end = begin + GBX_ROWS_PER_TASK < rows ? begin + GBX_ROWS_PER_TASK : rows;
            gbx_tree_shap_explain(shap, workspace, data->values + begin * M, end - begin,
                                  e->values + begin * K * P,
                                  e->interactions ? e->interactions + begin * K * M * M : NULL);
            for (size_t r = begin; r < end; r++)
                gbx_tree_ensemble_margin(model, data->values + r * M, e->predictions + r * K);
        }
        gbx_tree_shap_workspace_free(workspace);
    }
    return failed ? gbx_fail(error, GBX_ERR_NOMEM, "out of memory for the explainer's workspace")
                  : GBX_OK;
}

static void tree_parameters(FILE *f, const gbx_explainer *x)
{
    fprintf(f, "\"interactions\": %s", x->options.interactions ? "true" : "false");
}

static void tree_release(void *state) { gbx_tree_shap_free(state); }

const gbx_method_row gbx_tree_method = {
    GBX_METHOD_TREE, "tree", "tree_path_dependent", METHOD_TREES, "a background data set",
    0, tree_check, tree_prepare, tree_explain, tree_parameters, tree_release};
