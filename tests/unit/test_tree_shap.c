/* TreeSHAP against an independent oracle: Shapley values by enumerating every coalition of a
 * few features, with the path-dependent value function (cover-weighted conditional expectation)
 * and the interventional one (mean over a background set), on random trees with repeated
 * features, missing values and several outputs. Nothing here shares code with the explainers
 * except the split rule itself (gbx_node_goes_left), which the conformance test pins down. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "explain/explainer.h"
#include "explain/tree_shap.h"
#include "explain/tree_interventional.h"

#include <stdlib.h>
#include <string.h>

#define TOLERANCE 1e-9

/* ---- random models ---- */

static uint64_t rng_state;
static double uniform(void)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

typedef struct {
    gbx_node nodes[4096];
    size_t count;
} node_pool;

static int32_t grow(node_pool *pool, int depth, int max_depth, size_t features, double cover)
{
    int32_t id = (int32_t)pool->count++;
    gbx_node *node = &pool->nodes[id];
    memset(node, 0, sizeof *node);
    node->cover = cover;
    if (depth == max_depth || (depth > 0 && uniform() < 0.15)) {
        node->kind = GBX_NODE_LEAF;
        node->left = node->right = -1;
        node->value = uniform() * 4 - 2;
        return id;
    }
    node->feature = (int32_t)(uniform() * features);
    node->kind = uniform() < 0.5 ? GBX_SPLIT_LESS_FLOAT : GBX_SPLIT_LESS_EQUAL;
    node->missing_type = GBX_MISSING_NAN;
    node->default_left = uniform() < 0.5;
    node->threshold = uniform() * 2 - 1;
    node->threshold_float = (float)node->threshold;
    double share = 0.1 + 0.8 * uniform();
    int32_t left = grow(pool, depth + 1, max_depth, features, cover * share);
    int32_t right = grow(pool, depth + 1, max_depth, features, cover * (1 - share));
    pool->nodes[id].left = left;
    pool->nodes[id].right = right;
    return id;
}

static gbx_model *random_model(size_t features, size_t outputs, size_t trees, int depth)
{
    gbx_model *model = gbx_model_alloc("test");
    model->features = features;
    model->link = outputs > 1 ? GBX_LINK_SOFTMAX : GBX_LINK_LOGIT;
    model->transform = outputs > 1 ? gbx_transform_softmax : gbx_transform_sigmoid;
    assert_int_equal(gbx_model_set_outputs(model, outputs, "output"), GBX_OK);
    model->trees = calloc(1, sizeof *model->trees);
    model->trees->has_cover = 1;
    model->trees->tree_count = trees;
    model->trees->trees = calloc(trees, sizeof(gbx_tree));
    model->trees->base_margin = calloc(outputs, sizeof(double));
    for (size_t k = 0; k < outputs; k++) model->trees->base_margin[k] = uniform() - 0.5;
    static node_pool pool;
    for (size_t t = 0; t < trees; t++) {
        pool.count = 0;
        grow(&pool, 0, depth, features, 50 + 100 * uniform());
        gbx_tree *tree = &model->trees->trees[t];
        tree->node_count = pool.count;
        tree->nodes = malloc(pool.count * sizeof(gbx_node));
        memcpy(tree->nodes, pool.nodes, pool.count * sizeof(gbx_node));
        tree->output = (int)(t % outputs);
        assert_int_equal(gbx_tree_validate(tree, t, features, NULL), GBX_OK);
    }
    return model;
}

static gbx_data *random_rows(size_t rows, size_t features, double missing)
{
    gbx_data *data = gbx_data_alloc(rows, features, NULL);
    for (size_t i = 0; i < rows * features; i++)
        data->values[i] = uniform() < missing ? NAN : uniform() * 3 - 1.5;
    return data;
}

/* ---- the oracle ---- */

static double leaf_value(const gbx_tree *tree, const double *row)
{
    int32_t id = 0;
    while (tree->nodes[id].kind != GBX_NODE_LEAF) {
        const gbx_node *node = &tree->nodes[id];
        id = gbx_node_goes_left(node, tree->categories, row[node->feature]) ? node->left : node->right;
    }
    return tree->nodes[id].value;
}

/* E[f(X) | X_S = x_S] with the tree's covers as the distribution. */
static double conditional(const gbx_tree *tree, int32_t id, const double *x, unsigned coalition)
{
    const gbx_node *node = &tree->nodes[id];
    if (node->kind == GBX_NODE_LEAF) return node->value;
    if (coalition >> node->feature & 1)
        return conditional(tree, gbx_node_goes_left(node, tree->categories, x[node->feature])
                                     ? node->left : node->right, x, coalition);
    double left = tree->nodes[node->left].cover / node->cover;
    double right = tree->nodes[node->right].cover / node->cover;
    return left * conditional(tree, node->left, x, coalition) +
           right * conditional(tree, node->right, x, coalition);
}

typedef struct {
    const gbx_model *model;
    const double *x;
    const gbx_data *background; /* NULL: path-dependent */
    int output;
} game;

static double worth(const game *g, unsigned coalition)
{
    const gbx_tree_ensemble *e = g->model->trees;
    size_t M = g->model->features;
    double total = e->base_margin[g->output];
    if (!g->background) {
        for (size_t t = 0; t < e->tree_count; t++)
            if (e->trees[t].output == g->output) total += conditional(&e->trees[t], 0, g->x, coalition);
        return total;
    }
    double sum = 0;
    double hybrid[16];
    const double *weights = g->background->weights; /* a weighted summary, or NULL */
    for (size_t b = 0; b < g->background->rows; b++) {
        const double *reference = g->background->values + b * M;
        double row = 0;
        for (size_t f = 0; f < M; f++) hybrid[f] = (coalition >> f & 1) ? g->x[f] : reference[f];
        for (size_t t = 0; t < e->tree_count; t++)
            if (e->trees[t].output == g->output) row += leaf_value(&e->trees[t], hybrid);
        sum += weights ? weights[b] * row : row / (double)g->background->rows;
    }
    return total + sum;
}

static double factorial(int n) { return n <= 1 ? 1.0 : n * factorial(n - 1); }

static void shapley(const game *g, double *phi)
{
    int M = (int)g->model->features;
    for (int i = 0; i < M; i++) {
        phi[i] = 0;
        for (unsigned S = 0; S < 1u << M; S++) {
            if (S >> i & 1) continue;
            int size = __builtin_popcount(S);
            double weight = factorial(size) * factorial(M - size - 1) / factorial(M);
            phi[i] += weight * (worth(g, S | 1u << i) - worth(g, S));
        }
    }
}

/* Shapley interaction index, off-diagonal; diagonal = phi_i - sum of the row. */
static void interactions(const game *g, double *matrix)
{
    int M = (int)g->model->features;
    double phi[16];
    shapley(g, phi);
    for (int i = 0; i < M; i++) {
        double row = 0;
        for (int j = 0; j < M; j++) {
            if (i == j) continue;
            double value = 0;
            for (unsigned S = 0; S < 1u << M; S++) {
                if ((S >> i & 1) || (S >> j & 1)) continue;
                int size = __builtin_popcount(S);
                double weight = factorial(size) * factorial(M - size - 2) / (2 * factorial(M - 1));
                value += weight * (worth(g, S | 1u << i | 1u << j) - worth(g, S | 1u << i) -
                                   worth(g, S | 1u << j) + worth(g, S));
            }
            matrix[i * M + j] = value;
            row += value;
        }
        matrix[i * M + i] = phi[i] - row;
    }
}

/* ---- the tests ---- */

/* Creates an explainer with the options, explains the rows, frees the explainer; any
 * failure fails the test. */
static gbx_explanation *explain_with(const gbx_model *model, const gbx_data *rows,
                                     const gbx_explainer_options *options)
{
    gbx_explainer *explainer;
    gbx_explanation *explanation;
    gbx_error error;
    if (gbx_explainer_create(model, options, &explainer, &error)) fail_msg("%s", error.message);
    if (gbx_explainer_explain(explainer, rows, &explanation, &error)) fail_msg("%s", error.message);
    gbx_explainer_free(explainer);
    return explanation;
}

static gbx_explanation *explain(const gbx_model *model, const gbx_data *data, gbx_method method,
                                const gbx_data *background, int with_interactions,
                                gbx_output_space space, int threads)
{
    gbx_explainer_options options;
    gbx_explainer_options_init(&options);
    options.method = method;
    options.background = background;
    options.interactions = with_interactions;
    options.output_space = space;
    options.threads = threads;
    return explain_with(model, data, &options);
}

static void expect_close(const char *what, double actual, double expected)
{
    if (!(fabs(actual - expected) <= TOLERANCE * fmax(1.0, fabs(expected))))
        fail_msg("%s: glassbox %.17g, oracle %.17g", what, actual, expected);
}

static void check_path_dependent(size_t features, size_t outputs, size_t trees, int depth,
                                 uint64_t seed)
{
    rng_state = seed;
    gbx_model *model = random_model(features, outputs, trees, depth);
    gbx_data *rows = random_rows(24, features, 0.15);
    gbx_explanation *e = explain(model, rows, GBX_METHOD_TREE, NULL, 1, GBX_SPACE_RAW, 0);
    size_t M = features, K = outputs;
    double phi[16], matrix[256];
    for (size_t r = 0; r < rows->rows; r++)
        for (size_t k = 0; k < K; k++) {
            game g = {model, rows->values + r * M, NULL, (int)k};
            shapley(&g, phi);
            interactions(&g, matrix);
            size_t rk = r * K + k;
            expect_close("base value", e->base_values[rk], worth(&g, 0));
            for (size_t f = 0; f < M; f++) expect_close("SHAP value", e->values[rk * M + f], phi[f]);
            for (size_t i = 0; i < M * M; i++)
                expect_close("interaction value", e->interactions[rk * M * M + i], matrix[i]);
        }
    gbx_explanation_free(e);
    gbx_data_free(rows);
    gbx_model_free(model);
}

static void test_path_dependent_shallow(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 6; seed++) check_path_dependent(5, 1, 4, 3, seed);
}

static void test_path_dependent_deep_repeated_features(void **state)
{
    (void)state;
    /* Depth 9 on 3 features: every path repeats features many times. */
    for (uint64_t seed = 11; seed <= 14; seed++) check_path_dependent(3, 1, 2, 9, seed);
    /* Depth 8 on 8 features: long paths of distinct features (8 quadrature points). */
    for (uint64_t seed = 21; seed <= 22; seed++) check_path_dependent(8, 1, 2, 8, seed);
}

static void test_path_dependent_multiclass(void **state)
{
    (void)state;
    for (uint64_t seed = 31; seed <= 33; seed++) check_path_dependent(6, 3, 6, 5, seed);
}

static void check_interventional(size_t features, size_t outputs, int depth, uint64_t seed)
{
    rng_state = seed;
    gbx_model *model = random_model(features, outputs, 5, depth);
    gbx_data *rows = random_rows(12, features, 0.1);
    gbx_data *background = random_rows(9, features, 0.1);
    /* Duplicate background rows so that the pattern histogram has counts above one. */
    memcpy(background->values + 7 * features, background->values, 2 * features * sizeof(double));
    size_t M = features, K = outputs;
    double phi[16];
    gbx_explanation *e = explain(model, rows, GBX_METHOD_TREE_INTERVENTIONAL, background, 0,
                                 GBX_SPACE_RAW, 0);
    for (size_t r = 0; r < rows->rows; r++)
        for (size_t k = 0; k < K; k++) {
            game g = {model, rows->values + r * M, background, (int)k};
            shapley(&g, phi);
            expect_close("base value", e->base_values[r * K + k], worth(&g, 0));
            for (size_t f = 0; f < M; f++)
                expect_close("interventional SHAP value", e->values[(r * K + k) * M + f], phi[f]);
        }
    gbx_explanation_free(e);

    /* Probability space: per background row, the margin attributions rescaled by
     * (T(f(x)) - T(f(b))) / (f(x) - f(b)), then averaged (shap's model_output="probability"). */
    e = explain(model, rows, GBX_METHOD_TREE_INTERVENTIONAL, background, 0, GBX_SPACE_PROBABILITY, 0);
    for (size_t r = 0; r < rows->rows; r++) {
        const double *x = rows->values + r * M;
        double margin_x[8], p_x[8], expected[8 * 16] = {0};
        gbx_data one = {1, M, NULL, NULL, NULL, 1};
        for (size_t k = 0; k < K; k++) {
            game g = {model, x, &one, (int)k};
            one.values = (double *)x;
            margin_x[k] = p_x[k] = worth(&g, 0);
        }
        model->transform(model, p_x);
        for (size_t b = 0; b < background->rows; b++) {
            one.values = background->values + b * M;
            double margin_b[8], p_b[8];
            for (size_t k = 0; k < K; k++) {
                game g = {model, x, &one, (int)k};
                margin_b[k] = p_b[k] = worth(&g, 0);
            }
            model->transform(model, p_b);
            for (size_t k = 0; k < K; k++) {
                game g = {model, x, &one, (int)k};
                shapley(&g, phi);
                double gap = margin_x[k] - margin_b[k];
                double scale = gap == 0 ? 1.0 : (p_x[k] - p_b[k]) / gap;
                for (size_t f = 0; f < M; f++)
                    expected[k * M + f] += phi[f] * scale / (double)background->rows;
            }
        }
        for (size_t i = 0; i < K * M; i++)
            expect_close("probability-space SHAP value", e->values[r * K * M + i], expected[i]);
        for (size_t k = 0; k < K; k++)
            expect_close("probability", e->predictions[r * K + k], p_x[k]);
    }
    gbx_explanation_free(e);
    gbx_data_free(background);
    gbx_data_free(rows);
    gbx_model_free(model);
}

static void test_interventional(void **state)
{
    (void)state;
    for (uint64_t seed = 41; seed <= 45; seed++) check_interventional(5, 1, 4, seed);
    check_interventional(3, 1, 8, 46);  /* repeated features */
    check_interventional(6, 3, 4, 47);  /* softmax outputs */
    check_interventional(3, 1, 0, 48);  /* one-leaf trees */
}

/* Same inputs, any thread count: bit-identical output. */
static void test_threads_do_not_change_results(void **state)
{
    (void)state;
    rng_state = 99;
    gbx_model *model = random_model(7, 2, 20, 6);
    gbx_data *rows = random_rows(517, 7, 0.1);
    gbx_data *background = random_rows(40, 7, 0.1);
    gbx_method methods[] = {GBX_METHOD_TREE, GBX_METHOD_TREE_INTERVENTIONAL, GBX_METHOD_EXACT};
    for (int m = 0; m < 3; m++) {
        gbx_explanation *one = explain(model, rows, methods[m], m ? background : NULL, !m,
                                       GBX_SPACE_RAW, 1);
        for (int threads = 2; threads <= 3; threads++) {
            gbx_explanation *many = explain(model, rows, methods[m], m ? background : NULL, !m,
                                            GBX_SPACE_RAW, threads);
            size_t cells = rows->rows * 2 * 7;
            assert_memory_equal(one->values, many->values, cells * sizeof(double));
            if (!m) assert_memory_equal(one->interactions, many->interactions, cells * 7 * sizeof(double));
            gbx_explanation_free(many);
        }
        gbx_explanation_free(one);
    }
    gbx_data_free(background);
    gbx_data_free(rows);
    gbx_model_free(model);
}

/* Method exact sees the model only through predict_raw; it must equal the same enumeration. */
static void check_exact(size_t features, size_t outputs, int depth, uint64_t seed, int threads)
{
    rng_state = seed;
    gbx_model *model = random_model(features, outputs, 6, depth);
    gbx_data *rows = random_rows(10, features, 0.1);
    gbx_data *background = random_rows(7, features, 0.1);
    size_t M = features, K = outputs;
    double phi[16];
    gbx_explanation *e = explain(model, rows, GBX_METHOD_EXACT, background, 0, GBX_SPACE_RAW,
                                 threads);
    for (size_t r = 0; r < rows->rows; r++)
        for (size_t k = 0; k < K; k++) {
            game g = {model, rows->values + r * M, background, (int)k};
            shapley(&g, phi);
            expect_close("base value", e->base_values[r * K + k], worth(&g, 0));
            expect_close("prediction", e->predictions[r * K + k], worth(&g, (1u << M) - 1));
            for (size_t f = 0; f < M; f++)
                expect_close("exact SHAP value", e->values[(r * K + k) * M + f], phi[f]);
        }
    gbx_explanation_free(e);
    gbx_data_free(background);
    gbx_data_free(rows);
    gbx_model_free(model);
}

static void test_exact(void **state)
{
    (void)state;
    check_exact(5, 1, 4, 61, 1);
    check_exact(7, 1, 6, 62, 2); /* repeated features, two threads */
    check_exact(4, 3, 4, 63, 3); /* softmax outputs */
    check_exact(1, 1, 2, 64, 1); /* a single feature */
}

static void test_exact_refuses_many_features(void **state)
{
    (void)state;
    rng_state = 65;
    gbx_model *model = random_model(25, 1, 1, 3);
    gbx_data *background = random_rows(2, 25, 0.0);
    gbx_explainer_options options;
    gbx_explainer_options_init(&options);
    options.method = GBX_METHOD_EXACT;
    options.background = background;
    gbx_explainer *explainer = NULL;
    gbx_error error;
    assert_int_equal(gbx_explainer_create(model, &options, &explainer, &error), GBX_ERR_UNSUPPORTED);
    assert_non_null(strstr(error.message, "at most 24 features; this model has 25"));
    assert_non_null(strstr(error.message, "kernel or permutation"));
    gbx_data_free(background);
    gbx_model_free(model);
}

/* A sampling method's explanation with the given budget, seed and threads. */
static gbx_explanation *sampled(gbx_method method, const gbx_model *model, const gbx_data *rows,
                                const gbx_data *background, size_t max_evals, uint64_t seed,
                                int threads)
{
    gbx_explainer_options options;
    gbx_explainer_options_init(&options);
    options.method = method;
    options.background = background;
    options.max_evals = max_evals;
    options.seed = seed;
    options.threads = threads;
    return explain_with(model, rows, &options);
}

static gbx_explanation *permutation(const gbx_model *model, const gbx_data *rows,
                                    const gbx_data *background, size_t max_evals, uint64_t seed,
                                    int threads)
{
    return sampled(GBX_METHOD_PERMUTATION, model, rows, background, max_evals, seed, threads);
}

static gbx_explanation *kernel(const gbx_model *model, const gbx_data *rows,
                               const gbx_data *background, size_t max_evals, uint64_t seed,
                               int threads)
{
    return sampled(GBX_METHOD_KERNEL, model, rows, background, max_evals, seed, threads);
}

/* With two features an order and its reverse are all the orders: permutation is exact. */
static void test_permutation_two_features_is_exact(void **state)
{
    (void)state;
    rng_state = 71;
    gbx_model *model = random_model(2, 2, 6, 4);
    gbx_data *rows = random_rows(9, 2, 0.1), *background = random_rows(5, 2, 0.1);
    gbx_explanation *p = permutation(model, rows, background, 4, 3, 2);
    gbx_explanation *e = explain(model, rows, GBX_METHOD_EXACT, background, 0, GBX_SPACE_RAW, 1);
    for (size_t i = 0; i < rows->rows * 2 * 2; i++) expect_close("permutation", p->values[i], e->values[i]);
    gbx_explanation_free(p);
    gbx_explanation_free(e);
    gbx_data_free(background);
    gbx_data_free(rows);
    gbx_model_free(model);
}

/* More features: the estimate is within a few standard errors of the exact values, its error
 * falls like 1/sqrt(budget), and a seed gives the same output at any thread count. */
static void test_permutation_converges(void **state)
{
    (void)state;
    rng_state = 72;
    gbx_model *model = random_model(6, 1, 8, 5);
    gbx_data *rows = random_rows(6, 6, 0.1), *background = random_rows(8, 6, 0.1);
    gbx_explanation *e = explain(model, rows, GBX_METHOD_EXACT, background, 0, GBX_SPACE_RAW, 1);
    size_t cells = rows->rows * 6;
    double error_small = 0, error_large = 0;
    gbx_explanation *small = permutation(model, rows, background, 120, 1, 1);
    gbx_explanation *large = permutation(model, rows, background, 12000, 1, 2);
    gbx_explanation *again = permutation(model, rows, background, 12000, 1, 1);
    gbx_explanation *other = permutation(model, rows, background, 12000, 2, 2);
    for (size_t i = 0; i < cells; i++) {
        double d = large->values[i] - e->values[i];
        if (!(fabs(d) <= 5 * large->standard_errors[i] + 1e-12))
            fail_msg("value %zu: off by %g with standard error %g", i, d, large->standard_errors[i]);
        error_small += pow(small->values[i] - e->values[i], 2);
        error_large += d * d;
    }
    /* Every row sums to f(x) - E f, whatever the orders. */
    for (size_t r = 0; r < rows->rows; r++) {
        double sum = 0;
        for (size_t f = 0; f < 6; f++) sum += large->values[r * 6 + f];
        expect_close("local accuracy", sum, large->predictions[r] - large->base_values[r]);
    }
    /* 100 times the budget: about 10 times less error; ask for at least 3. */
    assert_true(sqrt(error_large) * 3 < sqrt(error_small));
    assert_memory_equal(large->values, again->values, cells * sizeof(double));
    assert_memory_equal(large->standard_errors, again->standard_errors, cells * sizeof(double));
    assert_memory_not_equal(large->values, other->values, cells * sizeof(double));
    gbx_explanation_free(small);
    gbx_explanation_free(large);
    gbx_explanation_free(again);
    gbx_explanation_free(other);
    gbx_explanation_free(e);
    gbx_data_free(background);
    gbx_data_free(rows);
    gbx_model_free(model);
}

/* KernelSHAP with the default budget (which covers every coalition for M <= 11) equals exact
 * to 1e-8; with a small budget it is close, adds up exactly, and a seed gives the same output
 * at any thread count. */
static void test_kernel(void **state)
{
    (void)state;
    for (size_t M = 2; M <= 7; M++) {
        rng_state = 80 + M;
        gbx_model *model = random_model(M, 2, 6, 5);
        gbx_data *rows = random_rows(6, M, 0.1), *background = random_rows(6, M, 0.1);
        gbx_explanation *e = explain(model, rows, GBX_METHOD_EXACT, background, 0, GBX_SPACE_RAW, 1);
        gbx_explanation *k = kernel(model, rows, background, 0, 1, 2);
        for (size_t i = 0; i < rows->rows * 2 * M; i++)
            if (!(fabs(k->values[i] - e->values[i]) <= 1e-8 * fmax(1.0, fabs(e->values[i]))))
                fail_msg("M = %zu: kernel %.17g, exact %.17g", M, k->values[i], e->values[i]);
        gbx_explanation_free(k);
        gbx_explanation_free(e);
        gbx_data_free(background);
        gbx_data_free(rows);
        gbx_model_free(model);
    }
    rng_state = 90;
    gbx_model *model = random_model(9, 1, 8, 5);
    gbx_data *rows = random_rows(5, 9, 0.1), *background = random_rows(6, 9, 0.1);
    gbx_explanation *e = explain(model, rows, GBX_METHOD_EXACT, background, 0, GBX_SPACE_RAW, 1);
    gbx_explanation *small = kernel(model, rows, background, 100, 3, 1);
    gbx_explanation *again = kernel(model, rows, background, 100, 3, 2);
    double error = 0, scale = 0;
    for (size_t r = 0; r < rows->rows; r++) {
        double sum = 0;
        for (size_t f = 0; f < 9; f++) {
            sum += small->values[r * 9 + f];
            error += pow(small->values[r * 9 + f] - e->values[r * 9 + f], 2);
            scale += pow(e->values[r * 9 + f], 2);
        }
        expect_close("kernel local accuracy", sum, small->predictions[r] - small->base_values[r]);
    }
    assert_true(error < 0.05 * scale); /* 100 of 510 coalitions: close, not exact */
    assert_true(error > 0);
    assert_memory_equal(small->values, again->values, rows->rows * 9 * sizeof(double));
    /* Standard errors: 0 when every coalition was enumerated; otherwise they match the spread
     * of the estimates over seeds (root mean squares within a factor of 2, over 40 seeds). */
    gbx_explanation *full = kernel(model, rows, background, 0, 3, 1);
    for (size_t i = 0; i < rows->rows * 9; i++) assert_true(full->standard_errors[i] == 0.0);
    gbx_explanation_free(full);
    {
        enum { SEEDS = 40 };
        size_t cells = rows->rows * 9;
        double *sum = calloc(cells, sizeof(double)), *squares = calloc(cells, sizeof(double));
        double reported = 0, spread = 0;
        for (uint64_t seed = 0; seed < SEEDS; seed++) {
            gbx_explanation *k = kernel(model, rows, background, 100, 1000 + seed, 2);
            for (size_t i = 0; i < cells; i++) {
                sum[i] += k->values[i];
                squares[i] += k->values[i] * k->values[i];
                reported += k->standard_errors[i] * k->standard_errors[i] / SEEDS;
            }
            gbx_explanation_free(k);
        }
        for (size_t i = 0; i < cells; i++) {
            double mean = sum[i] / SEEDS;
            spread += (squares[i] / SEEDS - mean * mean) * SEEDS / (SEEDS - 1);
        }
        double ratio = sqrt(reported / spread);
        if (!(ratio > 0.5 && ratio < 2.0))
            fail_msg("kernel standard errors: reported / observed = %g", ratio);
        free(sum);
        free(squares);
    }
    /* Too few coalitions to determine nine values: an error, not noise. */
    {
        gbx_explainer_options options;
        gbx_explainer_options_init(&options);
        options.method = GBX_METHOD_KERNEL;
        options.background = background;
        options.max_evals = 4;
        gbx_explainer *explainer;
        gbx_explanation *none = NULL;
        gbx_error failure;
        assert_int_equal(gbx_explainer_create(model, &options, &explainer, &failure), GBX_OK);
        assert_int_equal(gbx_explainer_explain(explainer, rows, &none, &failure), GBX_ERR_USAGE);
        assert_non_null(strstr(failure.message, "raise options.max_evals"));
        gbx_explainer_free(explainer);
    }
    /* A row alone draws the same coalitions as in the batch. */
    gbx_data *alone = NULL;
    gbx_error failure;
    assert_int_equal(gbx_data_create(1, 9, rows->values + 3 * 9, NULL, &alone, &failure), GBX_OK);
    gbx_explanation *single = kernel(model, alone, background, 100, 3, 1);
    assert_memory_equal(single->values, small->values + 3 * 9, 9 * sizeof(double));
    gbx_explanation_free(single);
    gbx_data_free(alone);
    gbx_explanation_free(small);
    gbx_explanation_free(again);
    gbx_explanation_free(e);
    gbx_data_free(background);
    gbx_data_free(rows);
    gbx_model_free(model);
}

/* logit(mean over the background of sigmoid(f(x_S, b))): the game KernelSHAP's logit link plays. */
static double logit_worth(const game *g, unsigned coalition)
{
    const gbx_tree_ensemble *e = g->model->trees;
    size_t M = g->model->features;
    double sum = 0, hybrid[16];
    for (size_t b = 0; b < g->background->rows; b++) {
        const double *reference = g->background->values + b * M;
        for (size_t f = 0; f < M; f++) hybrid[f] = (coalition >> f & 1) ? g->x[f] : reference[f];
        double margin = e->base_margin[0];
        for (size_t t = 0; t < e->tree_count; t++) margin += leaf_value(&e->trees[t], hybrid);
        sum += 1.0 / (1.0 + exp(-margin));
    }
    double p = sum / (double)g->background->rows;
    return log(p / (1 - p));
}

static void test_kernel_logit_link(void **state)
{
    (void)state;
    rng_state = 95;
    size_t M = 5;
    gbx_model *model = random_model(M, 1, 6, 4);
    model->link = GBX_LINK_LOGIT;
    model->transform = gbx_transform_sigmoid;
    gbx_data *rows = random_rows(6, M, 0.1), *background = random_rows(7, M, 0.1);
    gbx_explainer_options options;
    gbx_explainer_options_init(&options);
    options.method = GBX_METHOD_KERNEL;
    options.background = background;
    options.logit_link = 1;
    gbx_explanation *e = explain_with(model, rows, &options);
    for (size_t r = 0; r < rows->rows; r++) {
        game g = {model, rows->values + r * M, background, 0};
        expect_close("logit base", e->base_values[r], logit_worth(&g, 0));
        expect_close("logit prediction", e->predictions[r], logit_worth(&g, (1u << M) - 1));
        for (size_t i = 0; i < M; i++) {
            double phi = 0;
            for (unsigned S = 0; S < 1u << M; S++) {
                if (S >> i & 1) continue;
                int size = __builtin_popcount(S);
                phi += factorial(size) * factorial((int)M - size - 1) / factorial((int)M) *
                       (logit_worth(&g, S | 1u << i) - logit_worth(&g, S));
            }
            if (!(fabs(e->values[r * M + i] - phi) <= 1e-8 * fmax(1.0, fabs(phi))))
                fail_msg("row %zu feature %zu: kernel %.17g, enumeration %.17g", r, i,
                         e->values[r * M + i], phi);
        }
    }
    gbx_explanation_free(e);
    /* Only kernel takes the link. */
    options.method = GBX_METHOD_EXACT;
    gbx_explainer *explainer;
    gbx_error error;
    assert_int_equal(gbx_explainer_create(model, &options, &explainer, &error), GBX_ERR_USAGE);
    gbx_data_free(background);
    gbx_data_free(rows);
    gbx_model_free(model);
}

/* Raw-space interventional values agree whether every tree's tables are kept, only some are
 * (the others rebuilt per call) or there are none (budget 0: the histograms are walked); the
 * oracle test above checks the default against enumeration. */
static void interventional_values(const gbx_model *model, const gbx_data *background,
                                  const gbx_data *rows, size_t budget, double *values)
{
    gbx_interventional *iv = NULL;
    gbx_error error;
    assert_int_equal(gbx_interventional_prepare(model, background, NULL, GBX_SPACE_RAW, 1, budget, &iv,
                                                &error), GBX_OK);
    double *predictions = malloc(rows->rows * model->outputs * sizeof(double));
    assert_int_equal(gbx_interventional_explain(iv, rows->values, rows->rows, values, predictions,
                                                2, &error), GBX_OK);
    free(predictions);
    gbx_interventional_free(iv);
}

static void test_interventional_tables(void **state)
{
    (void)state;
    rng_state = 5;
    gbx_model *model = random_model(8, 2, 16, 7);
    gbx_data *rows = random_rows(37, 8, 0.1);
    gbx_data *background = random_rows(300, 8, 0.1);
    size_t cells = rows->rows * 2 * 8;
    double *tables = malloc(cells * sizeof(double)), *walked = malloc(cells * sizeof(double)),
           *mixed = malloc(cells * sizeof(double));
    interventional_values(model, background, rows, GBX_INTERVENTIONAL_TABLE_BUDGET, tables);
    interventional_values(model, background, rows, 0, walked);
    interventional_values(model, background, rows, 64 << 10, mixed);
    for (size_t i = 0; i < cells; i++) {
        assert_true(fabs(tables[i] - walked[i]) <= 1e-12 * (1 + fabs(walked[i])));
        assert_true(fabs(mixed[i] - walked[i]) <= 1e-12 * (1 + fabs(walked[i])));
    }
    free(tables);
    free(walked);
    free(mixed);
    gbx_data_free(background);
    gbx_data_free(rows);
    gbx_model_free(model);
}

/* The generic and the AVX2 kernel round alike: bit-identical values and interactions. */
static void test_kernels_agree(void **state)
{
    (void)state;
    rng_state = 7;
    gbx_model *model = random_model(9, 3, 12, 7);
    gbx_data *rows = random_rows(53, 9, 0.1);
    gbx_tree_shap *shap = NULL;
    gbx_error error;
    assert_int_equal(gbx_tree_shap_prepare(model->trees, 9, 3, NULL, &shap, &error), GBX_OK);
    if (!gbx_tree_shap_select_kernel(shap, "avx2")) {
        gbx_tree_shap_free(shap);
        gbx_data_free(rows);
        gbx_model_free(model);
        skip();
    }
    size_t cells = rows->rows * 3 * 9;
    double *values[2], *interactions[2];
    const char *kernels[2] = {"generic", "avx2"};
    for (int k = 0; k < 2; k++) {
        assert_true(gbx_tree_shap_select_kernel(shap, kernels[k]));
        assert_string_equal(gbx_tree_shap_kernel_name(shap), kernels[k]);
        gbx_tree_shap_workspace *workspace = gbx_tree_shap_workspace_new(shap);
        values[k] = malloc(cells * sizeof(double));
        interactions[k] = malloc(cells * 9 * sizeof(double));
        gbx_tree_shap_explain(shap, workspace, rows->values, rows->rows, values[k], interactions[k]);
        gbx_tree_shap_workspace_free(workspace);
    }
    assert_memory_equal(values[0], values[1], cells * sizeof(double));
    assert_memory_equal(interactions[0], interactions[1], cells * 9 * sizeof(double));
    for (int k = 0; k < 2; k++) {
        free(values[k]);
        free(interactions[k]);
    }
    gbx_tree_shap_free(shap);
    gbx_data_free(rows);
    gbx_model_free(model);
}

/* ---- feature groups: the Shapley values of the game whose players are groups of columns ---- */

/* The columns of the players in coalition S. */
static unsigned columns_of(unsigned S, const size_t *group_of, size_t M)
{
    unsigned columns = 0;
    for (size_t f = 0; f < M; f++)
        if (S >> group_of[f] & 1) columns |= 1u << f;
    return columns;
}

static void grouped_shapley(const game *g, const size_t *group_of, int G, double *phi)
{
    size_t M = g->model->features;
    for (int i = 0; i < G; i++) {
        phi[i] = 0;
        for (unsigned S = 0; S < 1u << G; S++) {
            if (S >> i & 1) continue;
            int size = __builtin_popcount(S);
            double weight = factorial(size) * factorial(G - size - 1) / factorial(G);
            phi[i] += weight * (worth(g, columns_of(S | 1u << i, group_of, M)) -
                                worth(g, columns_of(S, group_of, M)));
        }
    }
}

static gbx_explanation *explain_grouped(const gbx_model *model, const gbx_data *rows,
                                        gbx_method method, const gbx_data *background,
                                        const size_t *group_of, size_t G, size_t max_evals,
                                        gbx_output_space space)
{
    static const char *const names[] = {"g0", "g1", "g2", "g3", "g4", "g5", "g6", "g7"};
    gbx_explainer_options options;
    gbx_explainer_options_init(&options);
    options.method = method;
    options.background = background;
    options.max_evals = max_evals;
    options.output_space = space;
    options.group_count = G;
    options.group_of_feature = group_of;
    options.group_names = names;
    options.threads = 2;
    gbx_explainer *explainer;
    gbx_explanation *explanation;
    gbx_error error;
    if (gbx_explainer_create(model, &options, &explainer, &error)) fail_msg("%s", error.message);
    assert_int_equal(gbx_explainer_features(explainer), G);
    assert_string_equal(gbx_explainer_feature_name(explainer, 1), "g1");
    if (gbx_explainer_explain(explainer, rows, &explanation, &error)) fail_msg("%s", error.message);
    gbx_explainer_free(explainer);
    assert_int_equal(explanation->features, G);
    return explanation;
}

/* Every method with groups equals enumeration over the groups: tree (path-dependent, whose
 * repeated-feature rule must merge the splits of a group), tree-interventional, exact, and
 * kernel with the whole budget; permutation with two groups (an order and its reverse are all
 * the orders). Columns of one group are not adjacent, so a mix-up of columns and players shows. */
static void test_groups(void **state)
{
    (void)state;
    const size_t M = 7, G = 4, K = 2;
    const size_t group_of[7] = {0, 1, 2, 0, 3, 2, 2};
    const size_t two_groups[7] = {0, 1, 1, 0, 0, 1, 0};
    for (uint64_t seed = 101; seed <= 103; seed++) {
        rng_state = seed;
        gbx_model *model = random_model(M, K, 6, 6);
        gbx_data *rows = random_rows(8, M, 0.1), *background = random_rows(7, M, 0.1);
        gbx_explanation *tree = explain_grouped(model, rows, GBX_METHOD_TREE, NULL, group_of, G,
                                                0, GBX_SPACE_RAW);
        gbx_explanation *iv = explain_grouped(model, rows, GBX_METHOD_TREE_INTERVENTIONAL,
                                              background, group_of, G, 0, GBX_SPACE_RAW);
        gbx_explanation *exact = explain_grouped(model, rows, GBX_METHOD_EXACT, background,
                                                 group_of, G, 0, GBX_SPACE_RAW);
        gbx_explanation *kern = explain_grouped(model, rows, GBX_METHOD_KERNEL, background,
                                                group_of, G, 0, GBX_SPACE_RAW);
        gbx_explanation *perm = explain_grouped(model, rows, GBX_METHOD_PERMUTATION, background,
                                                two_groups, 2, 0, GBX_SPACE_RAW);
        double phi[8], pair[2];
        for (size_t r = 0; r < rows->rows; r++)
            for (size_t k = 0; k < K; k++) {
                const double *x = rows->values + r * M;
                game path = {model, x, NULL, (int)k}, interventional = {model, x, background, (int)k};
                size_t cell = (r * K + k) * G;
                grouped_shapley(&path, group_of, (int)G, phi);
                for (size_t i = 0; i < G; i++)
                    expect_close("grouped path-dependent value", tree->values[cell + i], phi[i]);
                grouped_shapley(&interventional, group_of, (int)G, phi);
                for (size_t i = 0; i < G; i++) {
                    expect_close("grouped interventional value", iv->values[cell + i], phi[i]);
                    expect_close("grouped exact value", exact->values[cell + i], phi[i]);
                    if (!(fabs(kern->values[cell + i] - phi[i]) <= 1e-8 * fmax(1.0, fabs(phi[i]))))
                        fail_msg("grouped kernel %.17g, oracle %.17g", kern->values[cell + i], phi[i]);
                }
                grouped_shapley(&interventional, two_groups, 2, pair);
                for (size_t i = 0; i < 2; i++)
                    expect_close("grouped permutation value", perm->values[(r * K + k) * 2 + i],
                                 pair[i]);
            }
        gbx_explanation_free(tree);
        gbx_explanation_free(iv);
        gbx_explanation_free(exact);
        gbx_explanation_free(kern);
        gbx_explanation_free(perm);
        gbx_data_free(background);
        gbx_data_free(rows);
        gbx_model_free(model);
    }
    /* Probability space: the grouped margin values of each background row, rescaled. */
    rng_state = 104;
    gbx_model *model = random_model(M, 1, 5, 5);
    gbx_data *rows = random_rows(5, M, 0.1), *background = random_rows(6, M, 0.1);
    gbx_explanation *e = explain_grouped(model, rows, GBX_METHOD_TREE_INTERVENTIONAL, background,
                                         group_of, G, 0, GBX_SPACE_PROBABILITY);
    for (size_t r = 0; r < rows->rows; r++) {
        const double *x = rows->values + r * M;
        double expected[8] = {0}, phi[8];
        gbx_data one = {1, M, (double *)x, NULL, NULL, 1};
        game whole = {model, x, &one, 0};
        double margin_x = worth(&whole, 0), p_x = margin_x;
        model->transform(model, &p_x);
        for (size_t b = 0; b < background->rows; b++) {
            one.values = background->values + b * M;
            game g = {model, x, &one, 0};
            double margin_b = worth(&g, 0), p_b = margin_b;
            model->transform(model, &p_b);
            grouped_shapley(&g, group_of, (int)G, phi);
            double gap = margin_x - margin_b, scale = gap == 0 ? 1.0 : (p_x - p_b) / gap;
            for (size_t i = 0; i < G; i++) expected[i] += phi[i] * scale / (double)background->rows;
        }
        for (size_t i = 0; i < G; i++)
            expect_close("grouped probability value", e->values[r * G + i], expected[i]);
    }
    gbx_explanation_free(e);
    gbx_data_free(background);
    gbx_data_free(rows);
    gbx_model_free(model);
}

/* A weighted background (a k-means summary): every method takes each background row at its
 * weight, as the oracle does. The weights are uneven and the rows include duplicates, so a
 * method that ignored them or counted patterns instead of weighing them would show. */
static void test_weighted_background(void **state)
{
    (void)state;
    const size_t M = 5, K = 2;
    rng_state = 121;
    gbx_model *model = random_model(M, K, 6, 5);
    gbx_data *rows = random_rows(6, M, 0.1), *background = random_rows(8, M, 0.1);
    memcpy(background->values + 6 * M, background->values, 2 * M * sizeof(double));
    background->weights = malloc(8 * sizeof(double));
    double total = 0;
    for (size_t b = 0; b < 8; b++) total += background->weights[b] = 0.2 + uniform();
    for (size_t b = 0; b < 8; b++) background->weights[b] /= total;
    gbx_method methods[] = {GBX_METHOD_TREE_INTERVENTIONAL, GBX_METHOD_EXACT, GBX_METHOD_KERNEL};
    double phi[16];
    for (int m = 0; m < 3; m++) {
        gbx_explanation *e = explain(model, rows, methods[m], background, 0, GBX_SPACE_RAW, 2);
        for (size_t r = 0; r < rows->rows; r++)
            for (size_t k = 0; k < K; k++) {
                game g = {model, rows->values + r * M, background, (int)k};
                shapley(&g, phi);
                expect_close("weighted base value", e->base_values[r * K + k], worth(&g, 0));
                for (size_t f = 0; f < M; f++)
                    if (!(fabs(e->values[(r * K + k) * M + f] - phi[f]) <= 1e-8 * fmax(1.0, fabs(phi[f]))))
                        fail_msg("method %d, weighted background: %.17g, oracle %.17g", m,
                                 e->values[(r * K + k) * M + f], phi[f]);
            }
        gbx_explanation_free(e);
    }
    /* Permutation: an unbiased estimate of the weighted values, within its standard errors. */
    gbx_explanation *p = permutation(model, rows, background, 20000, 9, 2);
    for (size_t r = 0; r < rows->rows; r++)
        for (size_t k = 0; k < K; k++) {
            game g = {model, rows->values + r * M, background, (int)k};
            shapley(&g, phi);
            for (size_t f = 0; f < M; f++) {
                size_t i = (r * K + k) * M + f;
                if (!(fabs(p->values[i] - phi[f]) <= 5 * p->standard_errors[i] + 1e-12))
                    fail_msg("weighted permutation %g, oracle %g, standard error %g", p->values[i],
                             phi[f], p->standard_errors[i]);
            }
        }
    gbx_explanation_free(p);
    /* Probability space: each background row's rescaled values, at its weight. */
    gbx_model *logistic = random_model(M, 1, 5, 5);
    gbx_explanation *e = explain(logistic, rows, GBX_METHOD_TREE_INTERVENTIONAL, background, 0,
                                 GBX_SPACE_PROBABILITY, 2);
    for (size_t r = 0; r < rows->rows; r++) {
        const double *x = rows->values + r * M;
        double expected[16] = {0};
        gbx_data one = {1, M, (double *)x, NULL, NULL, 1};
        game whole = {logistic, x, &one, 0};
        double margin_x = worth(&whole, 0), p_x = margin_x;
        logistic->transform(logistic, &p_x);
        for (size_t b = 0; b < background->rows; b++) {
            one.values = background->values + b * M;
            game g = {logistic, x, &one, 0};
            double margin_b = worth(&g, 0), p_b = margin_b;
            logistic->transform(logistic, &p_b);
            shapley(&g, phi);
            double gap = margin_x - margin_b, scale = gap == 0 ? 1.0 : (p_x - p_b) / gap;
            for (size_t f = 0; f < M; f++) expected[f] += phi[f] * scale * background->weights[b];
        }
        for (size_t f = 0; f < M; f++)
            expect_close("weighted probability value", e->values[r * M + f], expected[f]);
    }
    gbx_explanation_free(e);
    gbx_model_free(logistic);
    gbx_data_free(background);
    gbx_data_free(rows);
    gbx_model_free(model);
}

/* The sampling error of permutation and kernel against exact falls like 1/sqrt(budget): the
 * root mean squared error over rows and fixed seeds at budgets B, 4B and 16B, fitted on a
 * log-log line, has a slope near -1/2 (kernel a little steeper, as it enumerates more of
 * the smallest and largest coalition sizes when the budget grows). */
static void test_error_falls_with_budget(void **state)
{
    (void)state;
    const size_t M = 16;
    rng_state = 131;
    gbx_model *model = random_model(M, 1, 10, 6);
    gbx_data *rows = random_rows(6, M, 0.05), *background = random_rows(5, M, 0.05);
    gbx_explanation *e = explain(model, rows, GBX_METHOD_EXACT, background, 0, GBX_SPACE_RAW, 2);
    gbx_method methods[] = {GBX_METHOD_PERMUTATION, GBX_METHOD_KERNEL};
    size_t first[] = {320, 300};
    for (int m = 0; m < 2; m++) {
        double x[3], y[3];
        for (int level = 0; level < 3; level++) {
            size_t budget = first[m] << (2 * level);
            double squares = 0;
            int count = 0;
            for (uint64_t seed = 0; seed < 12; seed++) {
                gbx_explanation *k = sampled(methods[m], model, rows, background, budget, seed, 2);
                for (size_t i = 0; i < rows->rows * M; i++, count++)
                    squares += pow(k->values[i] - e->values[i], 2);
                gbx_explanation_free(k);
            }
            x[level] = log((double)budget);
            y[level] = log(sqrt(squares / count));
        }
        double mx = (x[0] + x[1] + x[2]) / 3, my = (y[0] + y[1] + y[2]) / 3, sxy = 0, sxx = 0;
        for (int i = 0; i < 3; i++) sxy += (x[i] - mx) * (y[i] - my), sxx += (x[i] - mx) * (x[i] - mx);
        double slope = sxy / sxx;
        print_message("%s: error ~ budget^%.3f\n", m ? "kernel" : "permutation", slope);
        if (!(slope > (m ? -0.8 : -0.65) && slope < -0.35))
            fail_msg("%s: error falls like budget^%g, not budget^-1/2", m ? "kernel" : "permutation",
                     slope);
    }
    gbx_explanation_free(e);
    gbx_data_free(background);
    gbx_data_free(rows);
    gbx_model_free(model);
}

/* The same tree model seen only through predict_raw, so the methods evaluate hybrid rows
 * instead of reading the coalition tables: both ways must give the same values. */
static const gbx_model *hidden_trees;
static size_t hidden_calls; /* rows predicted, for counting model calls */

static gbx_status predict_hidden(const gbx_model *model, const double *rows, size_t count,
                                 double *out, gbx_error *error)
{
    (void)model;
#pragma omp atomic
    hidden_calls += count;
    return gbx_tree_ensemble_predict_raw(hidden_trees, rows, count, out, error);
}

/* The tables remember a tree's value per pattern of its own players: keyed by bit sets up to
 * 64 players, by the mask bytes beyond, and not at all for trees testing many players. */
static void test_coalition_tables_match_hybrids(void **state)
{
    (void)state;
    const size_t K = 2;
    const struct {
        size_t features;
        int depth, methods;
    } shapes[] = {{6, 7, 3}, {70, 3, 2}, {40, 6, 2}};
    rng_state = 141;
    for (size_t shape = 0; shape < sizeof shapes / sizeof shapes[0]; shape++) {
        size_t M = shapes[shape].features;
        gbx_model *model = random_model(M, K, 8, shapes[shape].depth);
        gbx_data *rows = random_rows(5, M, 0.15), *background = random_rows(9, M, 0.15);
        gbx_model blackbox = *model;
        blackbox.trees = NULL;
        blackbox.predict_raw = predict_hidden;
        hidden_trees = model;
        gbx_method methods[] = {GBX_METHOD_KERNEL, GBX_METHOD_PERMUTATION, GBX_METHOD_EXACT};
        for (int m = 0; m < shapes[shape].methods; m++) {
            gbx_explanation *tables = sampled(methods[m], model, rows, background, 300, 4, 2);
            gbx_explanation *hybrids = sampled(methods[m], &blackbox, rows, background, 300, 4, 2);
            for (size_t i = 0; i < rows->rows * K * M; i++)
                if (!(fabs(tables->values[i] - hybrids->values[i]) <= 1e-9 * fmax(1.0, fabs(hybrids->values[i]))))
                    fail_msg("%zu features, method %d: tables %.17g, hybrids %.17g", M, m,
                             tables->values[i], hybrids->values[i]);
            gbx_explanation_free(tables);
            gbx_explanation_free(hybrids);
        }
        gbx_data_free(background);
        gbx_data_free(rows);
        gbx_model_free(model);
    }
}

/* Permutation against one drawn background row per pair: an unbiased estimate of the same
 * values, within its standard errors of exact (uneven weights, so rows must be drawn by
 * weight), adding up exactly, and cheaper per order. */
static void test_permutation_one_background_row(void **state)
{
    (void)state;
    const size_t M = 6, K = 1;
    rng_state = 151;
    gbx_model *model = random_model(M, K, 8, 5);
    gbx_data *rows = random_rows(6, M, 0.1), *background = random_rows(10, M, 0.1);
    background->weights = malloc(10 * sizeof(double));
    double total = 0;
    for (size_t b = 0; b < 10; b++) total += background->weights[b] = b < 5 ? 0.02 : 1.0;
    for (size_t b = 0; b < 10; b++) background->weights[b] /= total;
    gbx_explanation *e = explain(model, rows, GBX_METHOD_EXACT, background, 0, GBX_SPACE_RAW, 1);
    gbx_explainer_options options;
    gbx_explainer_options_init(&options);
    options.method = GBX_METHOD_PERMUTATION;
    options.background = background;
    options.max_evals = 60000;
    options.seed = 3;
    options.sample_background = 1;
    options.threads = 2;
    gbx_explanation *p = explain_with(model, rows, &options);
    double worst = 0;
    for (size_t r = 0; r < rows->rows; r++) {
        double sum = 0;
        for (size_t f = 0; f < M; f++) {
            size_t i = r * M + f;
            double z = fabs(p->values[i] - e->values[i]) / p->standard_errors[i];
            if (z > worst) worst = z;
            if (!(z <= 5)) fail_msg("one background row: %g, exact %g, standard error %g",
                                    p->values[i], e->values[i], p->standard_errors[i]);
            sum += p->values[i];
        }
        expect_close("one background row: local accuracy", sum, p->predictions[r] - p->base_values[r]);
    }
    print_message("one background row: within %.2f standard errors of exact\n", worst);
    gbx_explanation_free(p);
    gbx_explanation_free(e);
    gbx_data_free(background);
    gbx_data_free(rows);
    gbx_model_free(model);
}

/* Kernel with --sample-background 2: each draw of a coalition against two background rows
 * drawn by weight (uneven weights, so rows must be drawn by weight). An unbiased estimate of
 * the same values: within its standard errors of exact (so those errors include the rows'
 * spread), adding up exactly, and the same bits at any thread count. */
static void test_kernel_sampled_background(void **state)
{
    (void)state;
    const size_t M = 10, K = 1;
    rng_state = 313;
    gbx_model *model = random_model(M, K, 8, 5);
    gbx_data *rows = random_rows(6, M, 0.1), *background = random_rows(10, M, 0.1);
    background->weights = malloc(10 * sizeof(double));
    double total = 0;
    for (size_t b = 0; b < 10; b++) total += background->weights[b] = b < 5 ? 0.02 : 1.0;
    for (size_t b = 0; b < 10; b++) background->weights[b] /= total;
    gbx_explanation *e = explain(model, rows, GBX_METHOD_EXACT, background, 0, GBX_SPACE_RAW, 1);
    gbx_explainer_options options;
    gbx_explainer_options_init(&options);
    options.method = GBX_METHOD_KERNEL;
    options.background = background;
    options.max_evals = 1500;
    options.seed = 5;
    options.sample_background = 2;
    options.threads = 1;
    gbx_explanation *one = explain_with(model, rows, &options);
    options.threads = 2;
    gbx_explanation *p = explain_with(model, rows, &options);
    double worst = 0;
    for (size_t r = 0; r < rows->rows; r++) {
        double sum = 0;
        for (size_t f = 0; f < M; f++) {
            size_t i = r * M + f;
            assert_memory_equal(&one->values[i], &p->values[i], sizeof(double));
            if (!(p->standard_errors[i] > 0))
                fail_msg("sampled background: standard error %g", p->standard_errors[i]);
            double z = fabs(p->values[i] - e->values[i]) / p->standard_errors[i];
            if (z > worst) worst = z;
            if (!(z <= 5)) fail_msg("sampled background: %g, exact %g, standard error %g",
                                    p->values[i], e->values[i], p->standard_errors[i]);
            sum += p->values[i];
        }
        expect_close("sampled background: local accuracy", sum, p->predictions[r] - p->base_values[r]);
    }
    print_message("sampled background: within %.2f standard errors of exact\n", worst);
    /* More rows per draw than the background has: the whole background, as without. */
    options.sample_background = 10;
    gbx_explanation *whole = explain_with(model, rows, &options);
    options.sample_background = 0;
    gbx_explanation *plain = explain_with(model, rows, &options);
    assert_memory_equal(whole->values, plain->values, rows->rows * M * sizeof(double));
    gbx_explanation_free(whole);
    gbx_explanation_free(plain);
    gbx_explanation_free(one);
    gbx_explanation_free(p);
    gbx_explanation_free(e);
    gbx_data_free(background);
    gbx_data_free(rows);
    gbx_model_free(model);
}

/* --tolerance: a loose tolerance stops early (fewer model calls) with every standard error
 * within it and the values still within a few standard errors of exact; a tolerance no row
 * can meet uses every coalition and gives exactly the values without one. */
static void test_kernel_tolerance(void **state)
{
    (void)state;
    const size_t M = 12;
    rng_state = 161;
    gbx_model *model = random_model(M, 1, 8, 5);
    gbx_data *rows = random_rows(4, M, 0.05), *background = random_rows(6, M, 0.05);
    gbx_model blackbox = *model;
    blackbox.trees = NULL;
    blackbox.predict_raw = predict_hidden;
    hidden_trees = model;
    gbx_explanation *e = explain(model, rows, GBX_METHOD_EXACT, background, 0, GBX_SPACE_RAW, 1);
    gbx_explanation *results[3];
    size_t calls[3];
    /* The loose tolerance: three times the largest standard error at the full budget, which
     * about a ninth of the drawn coalitions should reach (the enumerated sizes, about half of
     * this budget, are always evaluated). */
    double tolerances[3] = {0, 0, 1e-12};
    for (int t = 0; t < 3; t++) {
        gbx_explainer_options options;
        gbx_explainer_options_init(&options);
        options.method = GBX_METHOD_KERNEL;
        options.background = background;
        options.max_evals = 3000;
        options.seed = 8;
        options.tolerance = tolerances[t];
        hidden_calls = 0;
        results[t] = explain_with(&blackbox, rows, &options);
        calls[t] = hidden_calls;
        if (t == 0)
            for (size_t i = 0; i < rows->rows * M; i++)
                if (3 * results[0]->standard_errors[i] > tolerances[1])
                    tolerances[1] = 3 * results[0]->standard_errors[i];
    }
    print_message("kernel model calls: %zu without a tolerance, %zu at %g\n", calls[0], calls[1],
                  tolerances[1]);
    assert_true(calls[1] < calls[0] * 3 / 4);
    for (size_t i = 0; i < rows->rows * M; i++) {
        assert_true(results[1]->standard_errors[i] <= tolerances[1]);
        if (!(fabs(results[1]->values[i] - e->values[i]) <= 5 * results[1]->standard_errors[i] + 1e-9))
            fail_msg("tolerance %g: %g, exact %g, standard error %g", tolerances[1],
                     results[1]->values[i], e->values[i], results[1]->standard_errors[i]);
    }
    assert_int_equal(calls[2], calls[0]);
    assert_memory_equal(results[2]->values, results[0]->values, rows->rows * M * sizeof(double));
    for (int t = 0; t < 3; t++) gbx_explanation_free(results[t]);
    gbx_explanation_free(e);
    gbx_data_free(background);
    gbx_data_free(rows);
    gbx_model_free(model);
}

/* Every predictor (the scalar compact walk and, where the CPU has them, the AVX-512 and AVX2
 * ones) gives the node-by-node walk's margins bit for bit. */
static void expect_predictors_match_walk(const char *name, gbx_model *model, const double *rows,
                                         size_t n)
{
    size_t M = model->features, K = model->outputs;
    double *fast = malloc(n * K * sizeof(double)), *walk = malloc(K * sizeof(double));
    const char *predictors[] = {"scalar", "avx512", "avx2"};
    gbx_error error;
    for (int p = 0; p < 3; p++) {
        if (!gbx_tree_ensemble_select_predictor(model->trees, predictors[p])) {
            print_message("%s: no %s predictor on this machine\n", name, predictors[p]);
            continue;
        }
        assert_int_equal(model->predict_raw(model, rows, n, fast, &error), GBX_OK);
        for (size_t r = 0; r < n; r++) {
            gbx_tree_ensemble_margin(model, rows + r * M, walk);
            if (memcmp(walk, fast + r * K, K * sizeof(double)) != 0)
                fail_msg("%s row %zu: %s %.17g, walk %.17g", name, r, predictors[p], fast[r * K],
                         walk[0]);
        }
    }
    gbx_tree_ensemble_select_predictor(model->trees, "vector");
    free(fast);
    free(walk);
}

/* The compact trees XGBoost models are predicted with give exactly the node-by-node walk's
 * margins, missing values (with defaults both ways: xgb_old_1x has left ones) and values beyond
 * float's range included, for binary, multiclass and dart models. */
static void test_compact_prediction(void **state)
{
    (void)state;
    const char *names[] = {"xgb_credit_binary", "xgb_iris_softprob", "xgb_dart", "xgb_old_1x"};
    for (int m = 0; m < 4; m++) {
        char path[512];
        gbx_model *model = NULL;
        gbx_data *data = NULL;
        gbx_error error;
        snprintf(path, sizeof path, "tests/conformance/fixtures/%s.json", names[m]);
        if (gbx_model_load(path, &model, &error)) fail_msg("%s", error.message);
        assert_non_null(model->trees->compact);
        snprintf(path, sizeof path, "tests/conformance/fixtures/%s.data.csv", names[m]);
        if (gbx_data_read_csv(path, model, &data, &error)) fail_msg("%s", error.message);
        size_t n = data->rows, M = data->columns;
        for (size_t i = 0; i < n * M; i += 7) data->values[i] = NAN;
        for (size_t i = 3; i < n * M; i += 11) data->values[i] = i % 2 ? 1e300 : -1e300;
        expect_predictors_match_walk(names[m], model, data->values, n);
        gbx_data_free(data);
        gbx_model_free(model);
    }
    /* Random float-split trees of every depth the two vector ways take (up to 5 levels by
     * packed answers, deeper a level at a time, and every level so with more than 4096
     * features), uneven, with missing values both ways. */
    for (int depth = 1; depth <= 11; depth += 2) {
        rng_state = 500 + (uint64_t)depth;
        size_t M = depth == 11 ? 5000 : 23;
        gbx_model *model = random_model(M, 3, 40, depth == 11 ? 3 : depth);
        for (size_t t = 0; t < model->trees->tree_count; t++)
            for (size_t i = 0; i < model->trees->trees[t].node_count; i++)
                if (model->trees->trees[t].nodes[i].kind != GBX_NODE_LEAF)
                    model->trees->trees[t].nodes[i].kind = GBX_SPLIT_LESS_FLOAT;
        gbx_tree_ensemble_compile(model->trees);
        assert_non_null(model->trees->compact);
        /* With missing values and without (the vector predictors skip their handling in a
         * block that has none). */
        for (int missing = 0; missing < 2; missing++) {
            gbx_data *rows = random_rows(77, M, missing ? 0.2 : 0.0);
            /* Some values fall exactly on a split's threshold, which goes right. */
            for (size_t t = 0, r = 0; t < model->trees->tree_count; t++, r = (r + 1) % rows->rows) {
                const gbx_node *root = &model->trees->trees[t].nodes[0];
                if (root->kind != GBX_NODE_LEAF)
                    rows->values[r * M + (size_t)root->feature] = root->threshold_float;
            }
            char name[64];
            snprintf(name, sizeof name, "depth %d, %zu features, %s missing values",
                     depth == 11 ? 3 : depth, M, missing ? "with" : "without");
            expect_predictors_match_walk(name, model, rows->values, rows->rows);
            gbx_data_free(rows);
        }
        gbx_model_free(model);
    }
}

/* LIME on a model that is exactly linear in LIME's representation: per feature a tree worth
 * c_j where the value lies in the explained row's bin (lime's bins: cut[b-1] < x <= cut[b])
 * or equals its category, and 0 elsewhere, so every neighbour's prediction is c . z. The
 * weighted ridge fit then recovers c, up to alpha 1 against Gram entries in the thousands:
 * with quartiles and euclidean distance (the distance table and the bit-count Gram matrix of
 * a 0/1 representation), with cosine (the product of the centred representation), and with
 * deciles; two categorical features, of 3 and of 6 categories, take the few- and the
 * many-category draws. */
enum { LIME_P = 8, LIME_TRAINING = 1000 };

static void interval_tree(gbx_tree *tree, int feature, double below, double top, double value)
{
    tree->node_count = 5;
    tree->nodes = calloc(5, sizeof(gbx_node));
    gbx_node *n = tree->nodes;
    n[0] = (gbx_node){.kind = GBX_SPLIT_LESS_EQUAL, .feature = feature, .threshold = below, .left = 1, .right = 2, .missing_type = GBX_MISSING_NAN};
    n[2] = (gbx_node){.kind = GBX_SPLIT_LESS_EQUAL, .feature = feature, .threshold = top, .left = 3, .right = 4, .missing_type = GBX_MISSING_NAN};
    n[1] = (gbx_node){.kind = GBX_NODE_LEAF, .left = -1, .right = -1, .value = 0.0};
    n[3] = (gbx_node){.kind = GBX_NODE_LEAF, .left = -1, .right = -1, .value = value};
    n[4] = (gbx_node){.kind = GBX_NODE_LEAF, .left = -1, .right = -1, .value = 0.0};
    assert_int_equal(gbx_tree_validate(tree, (size_t)feature, LIME_P, NULL), GBX_OK);
}

static void test_lime_linear_in_representation(void **state)
{
    (void)state;
    enum { P = LIME_P, TRAINING = LIME_TRAINING, BINNED = 6 };
    gbx_data *training = gbx_data_alloc(TRAINING, P, NULL), *row = gbx_data_alloc(1, P, NULL);
    uint8_t categorical[P] = {0};
    double c[P];
    for (int j = 0; j < P; j++) {
        /* binned columns hold 1..1000 (numpy's quantiles: cut q at 1 + 9.99 q% of the way),
         * categorical ones 1..3 and 1..6 */
        int levels = j < BINNED ? TRAINING : j == BINNED ? 3 : 6;
        for (int i = 0; i < TRAINING; i++)
            training->values[i * P + j] = (double)((i * 7 + j * 13) % levels + 1);
        c[j] = (j % 2 ? -1.0 : 1.0) * (0.5 + j);
        categorical[j] = j >= BINNED;
    }
    const char *names[] = {"quartiles, euclidean", "quartiles, cosine", "deciles, euclidean"};
    for (int config = 0; config < 3; config++) {
        int bins = config == 2 ? 10 : 4;
        gbx_model *model = gbx_model_alloc("test");
        model->features = P;
        model->link = GBX_LINK_IDENTITY;
        model->transform = gbx_transform_identity;
        assert_int_equal(gbx_model_set_outputs(model, 1, "output"), GBX_OK);
        model->trees = calloc(1, sizeof *model->trees);
        model->trees->tree_count = P;
        model->trees->trees = calloc(P, sizeof(gbx_tree));
        model->trees->base_margin = calloc(1, sizeof(double));
        for (int j = 0; j < P; j++) {
            if (j < BINNED) { /* x in bin j % bins: the bin as (below, top] */
                int bin = j % bins;
                double share = 100.0 / bins * 9.99; /* cut q sits at 1 + q share */
                double below = bin == 0 ? 0.0 : 1.0 + bin * share, top = bin == bins - 1 ? 2000.0 : 1.0 + (bin + 1) * share;
                row->values[j] = (below + (bin == bins - 1 ? 1000.0 : top)) / 2;
                interval_tree(&model->trees->trees[j], j, below, top, c[j]);
            } else { /* x is category 2 (of 3) or 4 (of 6) */
                row->values[j] = j == BINNED ? 2.0 : 4.0;
                interval_tree(&model->trees->trees[j], j, row->values[j] - 0.5, row->values[j] + 0.5, c[j]);
            }
        }
        gbx_explainer_options options;
        gbx_explainer_options_init(&options);
        options.method = GBX_METHOD_LIME;
        options.background = training;
        options.max_evals = 40000;
        options.lime_selection = GBX_LIME_ALL;
        options.lime_cosine = config == 1;
        options.lime_discretizer = config == 2 ? GBX_LIME_DECILE : GBX_LIME_QUARTILE;
        options.categorical = categorical;
        options.seed = 3;
        gbx_explanation *e = explain_with(model, row, &options);
        for (int j = 0; j < P; j++)
            if (!(fabs(e->values[j] - c[j]) <= 1e-3 * fabs(c[j])))
                fail_msg("%s: feature %d weight %.6f, the model's %.6f", names[config], j,
                         e->values[j], c[j]);
        gbx_explanation_free(e);
        gbx_model_free(model);
    }
    gbx_data_free(training);
    gbx_data_free(row);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_dependent_shallow),
        cmocka_unit_test(test_path_dependent_deep_repeated_features),
        cmocka_unit_test(test_path_dependent_multiclass),
        cmocka_unit_test(test_interventional),
        cmocka_unit_test(test_threads_do_not_change_results),
        cmocka_unit_test(test_kernels_agree),
        cmocka_unit_test(test_interventional_tables),
        cmocka_unit_test(test_exact),
        cmocka_unit_test(test_exact_refuses_many_features),
        cmocka_unit_test(test_permutation_two_features_is_exact),
        cmocka_unit_test(test_permutation_converges),
        cmocka_unit_test(test_kernel),
        cmocka_unit_test(test_kernel_logit_link),
        cmocka_unit_test(test_groups),
        cmocka_unit_test(test_weighted_background),
        cmocka_unit_test(test_error_falls_with_budget),
        cmocka_unit_test(test_coalition_tables_match_hybrids),
        cmocka_unit_test(test_permutation_one_background_row),
        cmocka_unit_test(test_kernel_sampled_background),
        cmocka_unit_test(test_compact_prediction),
        cmocka_unit_test(test_kernel_tolerance),
        cmocka_unit_test(test_lime_linear_in_representation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
