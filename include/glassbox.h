/*
 * glassbox — explain model decisions, natively and exactly.
 *
 * The whole flow (error handling shortened; examples/embed.c is it in full):
 *
 *     gbx_error error;
 *     gbx_model *model;
 *     gbx_model_load("credit.json", &model, &error);         // XGBoost, LightGBM, ONNX, Keras...
 *
 *     gbx_data_reader *reader;                               // CSV (columns matched by name),
 *     gbx_data_reader_open("applicants.csv", model, &reader, &error);     // .npy, images
 *
 *     gbx_explainer_options options;
 *     gbx_explainer_options_init(&options);                  // method "auto": TreeSHAP for trees
 *     gbx_explainer *explainer;
 *     gbx_explainer_create(model, &options, &explainer, &error);
 *
 *     gbx_data *chunk;
 *     while (gbx_data_reader_next(reader, 4096, &chunk, &error) == GBX_OK && chunk) {
 *         gbx_explanation *explanation;
 *         gbx_explainer_explain(explainer, chunk, &explanation, &error);
 *         const double *phi = gbx_explanation_values(explanation);  // [rows][outputs][features]
 *         gbx_reasons *reasons;                                     // why, in words
 *         gbx_reasons_compute(explanation, &reasons_options, &reasons, &error);
 *         char *svg; size_t size;                                   // a plot, in memory
 *         gbx_plot_render(explanation, &plot_options, "svg", &svg, &size, &error);
 *         ...
 *         gbx_free(svg); gbx_reasons_free(reasons);
 *         gbx_explanation_free(explanation);
 *         gbx_data_free(chunk);
 *     }
 *     gbx_explainer_free(explainer); gbx_data_reader_free(reader); gbx_model_free(model);
 *
 * Conventions
 * - Every function that can fail returns a gbx_status and, when given a gbx_error, fills it
 *   with a message that names the place (file:line:column, JSON path, tree index) and, for a
 *   bad option, the option's field ("options.layer").
 * - The library never prints (notes go to gbx_set_log's callback) and never exits. It keeps no
 *   global state but that callback: everything lives in the objects the caller creates and
 *   frees. (Loading a network also sets OpenBLAS to one thread per call, since glassbox runs
 *   the batches on its own threads.)
 * - Ownership. What a function hands out through an `out` pointer (gbx_model **, gbx_data **,
 *   gbx_explanation **, char **bytes...) belongs to the caller, who frees it with the matching
 *   gbx_*_free (or gbx_free for bytes and text). Every `const` pointer an accessor returns
 *   (names, arrays, rows of reasons) belongs to the object it came from and stays valid until
 *   that object is freed. Strings and arrays passed in are copied, unless a declaration says
 *   it keeps them.
 * - Lifetimes. An explainer keeps its model (free the explainer first); a data reader reads
 *   what it needs of the model when opened and keeps nothing of it. An explanation owns
 *   everything in it and outlives the explainer and data that
 *   made it. A writer copies what it needs: explainers and explanations may be freed once a
 *   call returns. gbx_groups_apply points options at the groups, which must outlive
 *   gbx_explainer_create.
 * - Threads. Distinct objects may be used from distinct threads at once, and one explainer or
 *   model from several (explaining and predicting do not change them; plugins that are not
 *   thread-safe, child processes and HTTP connections are serialised or pooled inside).
 *   Results do not depend on the thread count.
 */
#ifndef GLASSBOX_H
#define GLASSBOX_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks the library's API: the shared library exports these functions and nothing else. */
#if defined(__GNUC__)
#define GBX_API __attribute__((visibility("default")))
#else
#define GBX_API
#endif

#define GBX_VERSION "0.2.0"

/* ---- status codes and errors ------------------------------------------------------------ */

typedef enum {
    GBX_OK = 0,
    GBX_ERR_USAGE,       /* a bad argument from the caller */
    GBX_ERR_IO,          /* a file could not be opened, read or written */
    GBX_ERR_PARSE,       /* malformed input: CSV, JSON, model file */
    GBX_ERR_UNSUPPORTED, /* well-formed input that glassbox does not handle (yet) */
    GBX_ERR_MISMATCH,    /* data and model disagree (missing column, wrong width) */
    GBX_ERR_NOMEM,
    GBX_ERR_INTERNAL
} gbx_status;

/* ---- notes ------------------------------------------------------------------------------
 * The library never prints and never exits. What it would say in passing (a CSV column the
 * model does not use) goes to a callback the program sets, before other threads use the
 * library; without one, nowhere. message is valid during the call only. */
typedef enum { GBX_LOG_NOTE, GBX_LOG_WARNING } gbx_log_level;
typedef void gbx_log_function(gbx_log_level level, const char *message, void *user);
GBX_API void gbx_set_log(gbx_log_function *function, void *user);

/* Frees memory the library handed over (plots rendered in memory, texts). */
GBX_API void gbx_free(void *memory);
/* Hex SHA-256 of bytes into out (64 digits and a NUL): model versions, the service's token
 * hashes and its audit chain use the same digest. */
GBX_API void gbx_sha256_hex(const void *bytes, size_t length, char out[65]);

/* Text for a status code; never NULL. */
GBX_API const char *gbx_strerror(gbx_status status);

/* Filled by any failing call that is given one; message names the place of the error. */
typedef struct {
    gbx_status status;
    char message[1024];
} gbx_error;

/* An output file written safely, for a program's own outputs as for the library's: to a
 * temporary file of a unique name created beside the path (never through a planted link),
 * then renamed into place by gbx_output_close, which checks every write and the flush; on
 * failure or gbx_output_abort the previous file is left as it was. "-" is standard output. */
typedef struct gbx_output gbx_output;
GBX_API gbx_status gbx_output_open(const char *path, gbx_output **out, gbx_error *error);
GBX_API FILE *gbx_output_file(gbx_output *output); /* valid until close or abort */
GBX_API gbx_status gbx_output_close(gbx_output *output, gbx_error *error); /* frees it */
GBX_API void gbx_output_abort(gbx_output *output);                         /* frees it */

/* ---- data: a dense row-major matrix of doubles, NaN = missing ---------------------------- */

typedef struct gbx_data gbx_data;

/* Copies values (rows x columns, row-major); names may be NULL (columns are then f0, f1, ...). */
GBX_API gbx_status gbx_data_create(size_t rows, size_t columns, const double *values,
                                   const char *const *names, gbx_data **out, gbx_error *error);
/* The same without copying: the data keeps the values pointer, and the caller keeps the
 * values unchanged and alive until gbx_data_free (a binding's array, lent for one call). */
GBX_API gbx_status gbx_data_wrap(size_t rows, size_t columns, const double *values,
                                 const char *const *names, gbx_data **out, gbx_error *error);
GBX_API void gbx_data_free(gbx_data *data);
GBX_API size_t gbx_data_rows(const gbx_data *data);
GBX_API size_t gbx_data_columns(const gbx_data *data);
GBX_API const double *gbx_data_values(const gbx_data *data);
GBX_API const char *gbx_data_column_name(const gbx_data *data, size_t column);

typedef struct gbx_model gbx_model;

/* Streaming CSV input. A header row is required; quoted fields, CRLF and a UTF-8 BOM are
 * accepted; empty cells, NA, NaN, nan, null (any case) are missing values. When model is given
 * and has feature names, columns are matched to them by name (any order, extra columns ignored
 * with a note to the log, a missing column is an error naming it); otherwise by position. */
typedef struct gbx_data_reader gbx_data_reader;
GBX_API gbx_status gbx_data_reader_open(const char *path, const gbx_model *model,
                                        gbx_data_reader **out, gbx_error *error);
/* Reads up to max_rows rows; *chunk is NULL at the end of the file. */
GBX_API gbx_status gbx_data_reader_next(gbx_data_reader *reader, size_t max_rows, gbx_data **chunk,
                                        gbx_error *error);
/* Bytes consumed so far and the file size (0 when unknown, e.g. a pipe), for progress. */
GBX_API void gbx_data_reader_progress(const gbx_data_reader *reader, uint64_t *bytes_read,
                                      uint64_t *bytes_total);
/* The data's name for model feature f (its column header). */
GBX_API const char *gbx_data_reader_feature_name(const gbx_data_reader *reader, size_t feature);
/* Quiet: no notes from this reader to the log (default: notes on). */
GBX_API void gbx_data_reader_set_quiet(gbx_data_reader *reader, int quiet);
/* PNG and JPEG images (a file, or a folder of them read in name order) are rows of a network's
 * input, laid out as it takes them ([C, H, W], [H, W, C] or [H, W]; grey and colour converted
 * as PIL does). Each pixel p (0 to 255) of channel c becomes (p * scale - mean[c]) / std[c];
 * the defaults (scale 1/255, mean 0, std 1) give torchvision's ToTensor values in [0, 1]. */
typedef struct {
    double scale;
    double mean[3], std[3];
} gbx_pixel_options;
GBX_API void gbx_pixel_options_init(gbx_pixel_options *options);
GBX_API void gbx_data_reader_set_pixels(gbx_data_reader *reader, const gbx_pixel_options *options);
GBX_API void gbx_data_reader_free(gbx_data_reader *reader);

/* `count` rows drawn without replacement (all of them when count >= rows), in their original
 * order; the same seed draws the same rows. For summarising large background sets. */
GBX_API gbx_status gbx_data_sample(const gbx_data *data, size_t count, uint64_t seed,
                                   gbx_data **out, gbx_error *error);

/* Background summaries. A sample keeps `count` rows; k-means keeps `count` centres, each
 * coordinate moved to the nearest value its column holds and each centre weighted by its
 * share of the rows (as shap.kmeans). With stratify >= 0, each distinct value of that column
 * (missing values one more) gets a share of `count` in proportion to its rows (at least one),
 * and a sampled row weighs its stratum's share over the rows drawn from it. The summary is
 * weighted (gbx_data_weights) except for a plain sample. */
typedef enum { GBX_SUMMARY_SAMPLE, GBX_SUMMARY_KMEANS } gbx_summary;
GBX_API gbx_status gbx_data_summarise(const gbx_data *data, gbx_summary method, size_t count,
                                      long stratify, uint64_t seed, gbx_data **out,
                                      gbx_error *error);
/* The same with the stratifying column by name (NULL: none); an unknown name is an error. */
GBX_API gbx_status gbx_data_summarise_by(const gbx_data *data, gbx_summary method, size_t count,
                                         const char *stratify, uint64_t seed, gbx_data **out,
                                         gbx_error *error);
/* The column called name, or -1. */
GBX_API long gbx_data_column_index(const gbx_data *data, const char *name);
/* One row: the (weighted) mean of the rows, missing values left out (all missing: NaN). */
GBX_API gbx_status gbx_data_mean(const gbx_data *data, gbx_data **out, gbx_error *error);
/* Row weights of a summary (summing to 1), or NULL when every row weighs the same. */
GBX_API const double *gbx_data_weights(const gbx_data *data);

/* Reads a whole CSV file (or .npy array, or images) at once (for background sets and small
 * inputs); gbx_data_read also says how image pixels are scaled (NULL: the defaults). */
GBX_API gbx_status gbx_data_read_csv(const char *path, const gbx_model *model, gbx_data **out,
                                     gbx_error *error);
GBX_API gbx_status gbx_data_read(const char *path, const gbx_model *model,
                                 const gbx_pixel_options *pixels, gbx_data **out, gbx_error *error);

/* ---- models ------------------------------------------------------------------------------ */

typedef enum {
    GBX_LINK_IDENTITY, /* raw output is the prediction */
    GBX_LINK_LOGIT,    /* prediction = 1 / (1 + exp(-scale * margin)) */
    GBX_LINK_SOFTMAX,  /* prediction = softmax over the outputs */
    GBX_LINK_LOG,      /* prediction = exp(margin) (Poisson, Gamma, Tweedie) */
    GBX_LINK_OTHER     /* a transform that explanations do not invert (e.g. LightGBM sqrt) */
} gbx_link;

/* Loads XGBoost JSON/UBJSON or LightGBM text models (the format is detected from the content),
 * "plugin:PATH.so[:ARGUMENT]" (a shared library, see glassbox_plugin.h), "cmd:COMMAND" (a
 * child process speaking glassbox's line protocol, see the README) or an http(s):// URL of a
 * served model (TF Serving REST .../v1/models/NAME:predict, Open Inference Protocol
 * .../v2/models/NAME/infer). */
GBX_API gbx_status gbx_model_load(const char *path, gbx_model **out, gbx_error *error);
typedef struct {
    double timeout_seconds; /* cmd: and http models: longest wait for an answer (0 = 60 s) */
} gbx_model_options;
GBX_API gbx_status gbx_model_load_with(const char *path, const gbx_model_options *options,
                                       gbx_model **out, gbx_error *error);
/* A model file's bytes, already in memory (a binding's live model saved to a buffer, a file
 * broadcast to a cluster): the formats gbx_model_load reads from a file, detected alike, with
 * the same SHA-256 as the file. name says where the bytes came from, in messages. */
GBX_API gbx_status gbx_model_load_bytes(const void *bytes, size_t length, const char *name,
                                        gbx_model **out, gbx_error *error);
/* A black box inside the calling program (a binding's callable): every method that works
 * through predictions works on it, as on a plugin (include/glassbox_plugin.h has the same
 * rules: predict returns nonzero with a message on failure, is called from one thread at a
 * time unless thread_safe, and gets NaN for missing values). */
typedef struct {
    size_t features, outputs;                /* outputs: 1 to 64 */
    const char *const *feature_names;        /* [features], or NULL: f0, f1, ... */
    const char *const *output_names;         /* [outputs], or NULL: output_0, ... */
    int thread_safe;
    int (*predict)(void *user, const double *rows, size_t count, double *out, char *error,
                   size_t error_size);       /* raw outputs, [count][outputs] */
    void (*release)(void *user);             /* when the model is freed, or NULL */
    void *user;
    const char *name;  /* the model's name in messages; its fingerprint is the name's SHA-256 */
} gbx_model_function;
/* The names are copied; user is kept, and released with the model (also when this fails). */
GBX_API gbx_status gbx_model_from_function(const gbx_model_function *function, gbx_model **out,
                                           gbx_error *error);
GBX_API void gbx_model_free(gbx_model *model);
GBX_API const char *gbx_model_type(const gbx_model *model);      /* "xgboost", "lightgbm" */
GBX_API const char *gbx_model_objective(const gbx_model *model); /* as named by the library */
GBX_API const char *gbx_model_sha256(const gbx_model *model);    /* hex digest of the file */
/* A served model's URL and the version its server reports serving ("" for other models or an
 * unknown version). A URL that pins a version (.../versions/N) the server does not serve there
 * is refused at load. */
GBX_API const char *gbx_model_source(const gbx_model *model);
GBX_API const char *gbx_model_version(const gbx_model *model);
GBX_API size_t gbx_model_features(const gbx_model *model);
/* Feature name, or NULL when the model file has none. */
GBX_API const char *gbx_model_feature_name(const gbx_model *model, size_t feature);
GBX_API size_t gbx_model_outputs(const gbx_model *model);
GBX_API const char *gbx_model_output_name(const gbx_model *model, size_t output);
GBX_API gbx_link gbx_model_link(const gbx_model *model);
/* The output called name, or -1. */
GBX_API long gbx_model_output_index(const gbx_model *model, const char *name);
/* The output a network method explains, from "all", "predicted", an index or a name, as
 * gbx_explainer_options.output takes it. */
GBX_API gbx_status gbx_model_output_choice(const gbx_model *model, const char *choice, long *out,
                                           gbx_error *error);
GBX_API int gbx_model_is_tree(const gbx_model *model);   /* XGBoost, LightGBM */
GBX_API int gbx_model_is_linear(const gbx_model *model); /* glassbox_linear */
/* Predictions for every row: out is [rows][outputs]; raw = margin, otherwise transformed. */
GBX_API gbx_status gbx_model_predict(const gbx_model *model, const gbx_data *data, int raw,
                                     double *out, gbx_error *error);

/* ---- explainers -------------------------------------------------------------------------- */

typedef enum {
    GBX_METHOD_AUTO,              /* trees: TREE, or TREE_INTERVENTIONAL given a background;
                                   * linear models: LINEAR; other models: EXACT */
    GBX_METHOD_TREE,              /* path-dependent TreeSHAP */
    GBX_METHOD_TREE_INTERVENTIONAL, /* interventional TreeSHAP against a background set */
    GBX_METHOD_EXACT,             /* any model: all 2^M coalitions against a background set */
    GBX_METHOD_PERMUTATION,       /* any model: antithetic permutation sampling (seeded) */
    GBX_METHOD_LINEAR,            /* linear models: exact interventional LinearSHAP */
    GBX_METHOD_KERNEL,            /* any model: KernelSHAP (shap's sampling plan, seeded) */
    GBX_METHOD_LIME,              /* any model: LIME tabular (lime's defaults, seeded) */
    /* Networks (ONNX, Keras), through their gradients, as captum computes them: */
    GBX_METHOD_SALIENCY,          /* |gradient| of each output */
    GBX_METHOD_INPUT_X_GRADIENT,  /* input * gradient */
    GBX_METHOD_SMOOTHGRAD,        /* saliency averaged over noisy copies (samples, stdevs) */
    GBX_METHOD_INTEGRATED_GRADIENTS, /* from a baseline (zeros, or a one-row background) */
    GBX_METHOD_GRADIENT_SHAP,     /* expected gradients over the background (samples, stdevs) */
    GBX_METHOD_DEEP,              /* DeepSHAP: DeepLIFT rescale multipliers averaged over the
                                   * background, as shap's DeepExplainer and captum's
                                   * DeepLiftShap */
    GBX_METHOD_GRAD_CAM           /* Grad-CAM at options.layer, upsampled to the input */
} gbx_method;

typedef enum {
    GBX_KERNEL_L1_OFF,          /* every feature in the fit (default: exact at full budget) */
    GBX_KERNEL_L1_NUM_FEATURES, /* the first K features of the least-angle path */
    GBX_KERNEL_L1_AIC,          /* the lasso path's step with the least AIC */
    GBX_KERNEL_L1_BIC           /* ... BIC */
} gbx_kernel_l1;

typedef enum {
    GBX_LIME_QUARTILE,   /* continuous features cut at their quartiles (lime's default) */
    GBX_LIME_DECILE,     /* at their deciles */
    GBX_LIME_CONTINUOUS  /* not cut: drawn from a normal, represented standardized */
} gbx_lime_discretizer;

typedef enum {
    GBX_LIME_AUTO,            /* forward with at most 6 features, highest weights above */
    GBX_LIME_FORWARD,         /* greedy forward selection by weighted R^2 */
    GBX_LIME_HIGHEST_WEIGHTS, /* the largest |coefficients| of a ridge fit on all features */
    GBX_LIME_ALL              /* every feature (lime's "none") */
} gbx_lime_selection;

typedef enum {
    GBX_SPACE_RAW,        /* margin / log-odds: values add up to the raw output */
    GBX_SPACE_PROBABILITY /* interventional only, logistic and softmax models */
} gbx_output_space;

/* Integrated Gradients' rule, as captum names them. */
typedef enum {
    GBX_INTEGRATION_GAUSS_LEGENDRE, GBX_INTEGRATION_RIEMANN_LEFT, GBX_INTEGRATION_RIEMANN_RIGHT,
    GBX_INTEGRATION_RIEMANN_MIDDLE, GBX_INTEGRATION_RIEMANN_TRAPEZOID
} gbx_integration;

/* How deep passes multipliers through a softmax. shap's DeepExplainers differ: its TensorFlow
 * one takes the softmax apart (a shift by the maximum, Exp, Sum and a division, each with its
 * own rule), its PyTorch one and captum rescale element by element. AUTO follows the model's
 * origin: Keras files and tf2onnx exports take TensorFlow's rule, everything else PyTorch's. */
typedef enum {
    GBX_SOFTMAX_RULE_AUTO, GBX_SOFTMAX_RULE_TENSORFLOW, GBX_SOFTMAX_RULE_PYTORCH
} gbx_softmax_rule;

/* The most threads any option may ask for, and the most coalitions or samples per row. */
#define GBX_MAX_THREADS 1024
#define GBX_MAX_EVALS 100000000

typedef struct {
    gbx_method method;
    int threads;                  /* 0 = all cores, at most GBX_MAX_THREADS; results do not
                                   * depend on it */
    int interactions;             /* also compute SHAP interaction values (method tree) */
    const gbx_data *background;   /* for the methods that take one (gbx_method_background):
                                   * columns as the model's; copied by gbx_explainer_create,
                                   * so it may be freed once the explainer is made */
    gbx_output_space output_space;
    size_t max_evals;             /* sampling methods: coalitions per row (0: permutation 500,
                                   * kernel 2M + 2048) */
    uint64_t seed;                /* sampling methods: same seed, same output, any threads */
    int logit_link;               /* kernel: explain logit(E[prediction]), shap's link="logit" */
    gbx_kernel_l1 kernel_l1;      /* kernel: feature selection before the fit (shap's l1_reg) */
    size_t kernel_l1_features;    /* kernel: K of num_features(K) */
    double tolerance;             /* kernel: stop drawing coalitions once every standard error
                                   * is at most this (0: always use max_evals) */
    size_t sample_background;     /* permutation and kernel: background rows per draw, drawn by
                                   * weight, instead of the whole background (0, as shap): an
                                   * unbiased estimate at fewer model calls per draw. Permutation
                                   * takes 1 (one row per pair of orders), kernel any count */
    /* Feature groups: columns explained together as one feature (one-hot dummies), by every
     * method. The values are the Shapley values of the game whose players are the groups. */
    size_t group_count;             /* 0: every column is its own feature */
    const size_t *group_of_feature; /* [model features]: each column's group, < group_count;
                                     * every group has a column */
    const char *const *group_names; /* [group_count] */
    /* LIME (the background set is its training data; max_evals its samples, default 5000) */
    gbx_lime_discretizer lime_discretizer;
    gbx_lime_selection lime_selection;
    int lime_cosine;             /* cosine distance instead of euclidean */
    size_t lime_features;        /* features in each local model (0: 10, as lime) */
    double lime_kernel_width;    /* 0: 0.75 sqrt(M) */
    const uint8_t *categorical;  /* [model features]: categorical columns (sampled by training
                                  * frequency, never binned), or NULL for none */
    /* Gradient methods. The background is the baseline: integrated gradients take one row
     * (none: zeros), gradient shap draws from all. */
    size_t steps;                /* integrated gradients: points (0: 50) */
    gbx_integration integration; /* integrated gradients: rule (default Gauss-Legendre) */
    gbx_softmax_rule softmax_rule; /* deep: the softmax rule (default AUTO: by origin) */
    size_t samples;              /* smoothgrad, gradient shap: draws per row (0: 5) */
    double stdevs;               /* smoothgrad, gradient shap: noise (negative: 1 and 0) */
    const char *layer;           /* grad cam: the tensor (a convolution's output) to map; kept
                                  * by pointer, so it must outlive the explainer */
    long output;                 /* network methods: GBX_OUTPUT_ALL (default), an output's
                                  * index, or GBX_OUTPUT_PREDICTED (each row's largest) */
} gbx_explainer_options;

#define GBX_OUTPUT_ALL (-1L)
#define GBX_OUTPUT_PREDICTED (-2L)

GBX_API void gbx_explainer_options_init(gbx_explainer_options *options);
/* Sets one option by name from text, as a binding or a config file gives it; names as the
 * CLI's flags spell them, '_' for '-' accepted: "method", "threads", "interactions" (true or
 * false), "output-space" (raw, probability), "max-evals", "seed", "link" (identity, logit),
 * "l1-reg" (off, aic, bic, num_features(K)), "tolerance", "sample-background" (all, one, a
 * count), "discretizer" (quartile, decile, none), "distance" (euclidean, cosine),
 * "feature-selection" (auto, forward, highest-weights, none), "num-features", "kernel-width",
 * "steps", "integration" (gausslegendre, riemann_left, ...), "softmax-rule" (auto, tensorflow,
 * pytorch), "samples", "stdevs". A bad name or value is GBX_ERR_USAGE, naming what is allowed.
 * (Arrays, the background, groups, categorical columns, the layer and the output are set in
 * the struct.) */
GBX_API gbx_status gbx_explainer_options_set(gbx_explainer_options *options, const char *name,
                                             const char *value, gbx_error *error);
/* The names gbx_explainer_options_set takes: i from 0 to the count - 1. */
GBX_API size_t gbx_explainer_option_count(void);
GBX_API const char *gbx_explainer_option_name(size_t i);

/* A feature groups file: {"groups": {"NAME": ["column", ...], ...}} (a bare {"NAME": [...]}
 * object too). Columns not named stay features of their own; the explained features keep the
 * columns' order, each group where its first column stands. feature_names are the model's
 * columns (the model's names, or the data's header). Errors name the group and column. */
typedef struct gbx_groups gbx_groups;
GBX_API gbx_status gbx_groups_read(const char *path, size_t features,
                                   const char *const *feature_names, gbx_groups **out,
                                   gbx_error *error);
GBX_API size_t gbx_groups_count(const gbx_groups *groups); /* features explained */
/* Points the options' group fields at the groups (which must outlive the explainer's
 * creation). */
GBX_API void gbx_groups_apply(const gbx_groups *groups, gbx_explainer_options *options);
GBX_API void gbx_groups_free(gbx_groups *groups);
/* Groups from arrays: group_of_column[columns] names each column's group (< count, every
 * group used), group_names[count] their names. The arrays are copied. */
GBX_API gbx_status gbx_groups_create(size_t columns, const size_t *group_of_column,
                                     const char *const *group_names, size_t count,
                                     gbx_groups **out, gbx_error *error);
GBX_API size_t gbx_groups_columns(const gbx_groups *groups); /* the columns grouped */
/* The group of a column (SIZE_MAX past the end), and a group's name (NULL past the end). */
GBX_API size_t gbx_groups_group_of(const gbx_groups *groups, size_t column);
GBX_API const char *gbx_groups_name(const gbx_groups *groups, size_t group);
/* Parses a method's name: "auto", "tree", "tree-interventional", "exact", "permutation",
 * "linear", "kernel", "lime", "saliency", "input-x-gradient", "smoothgrad",
 * "integrated-gradients", "gradient-shap", "deep", "grad-cam" (and the spellings files of
 * glassbox 0.1 used, "tree_path_dependent", "integrated_gradients"...). */
GBX_API gbx_status gbx_method_parse(const char *name, gbx_method *out);
/* The method's one name, as --method, gbx_method_parse and explanation files spell it:
 * gbx_method_parse(gbx_method_name(m)) gives m back for every method. */
GBX_API const char *gbx_method_name(gbx_method method);
/* Whether a method takes a background: 2 needs one, 1 takes one (integrated gradients'
 * baseline), 0 takes none; auto 1 (trees and linear models use it when given). */
GBX_API int gbx_method_background(gbx_method method);
/* The method auto stands for with this model (and a background given or not); any other
 * method is returned as it is. */
GBX_API gbx_method gbx_method_resolve(const gbx_model *model, gbx_method method, int background);

typedef struct gbx_explainer gbx_explainer;
GBX_API gbx_status gbx_explainer_create(const gbx_model *model,
                                        const gbx_explainer_options *options, gbx_explainer **out,
                                        gbx_error *error);
GBX_API void gbx_explainer_free(gbx_explainer *explainer);
/* The method the explainer runs (auto resolved). */
GBX_API gbx_method gbx_explainer_method(const gbx_explainer *explainer);
/* The features explained: the model's, or the groups when the options gave some. */
GBX_API size_t gbx_explainer_features(const gbx_explainer *explainer);
/* Name of explained feature i: its group's name, or a layer element's (LAYER[i], when a
 * gradient method attributes at a layer), or NULL for a model's own feature (see
 * gbx_model_feature_name). */
GBX_API const char *gbx_explainer_feature_name(const gbx_explainer *explainer, size_t i);
/* The expected model output E[f(X)] per output (margin space unless probability was asked). */
GBX_API const double *gbx_explainer_base_values(const gbx_explainer *explainer);

/* ---- explanations ------------------------------------------------------------------------
 * One object for everything an explanation file holds: the numbers, the explained rows, the
 * names of features, columns and outputs, and the provenance. An explainer makes it, a file
 * read gives it back, and every sink (file, plot, reasons, report) takes it. An explanation
 * owns all its memory and outlives the explainer and data that made it; every pointer an
 * accessor returns stays valid until gbx_explanation_free. Sizes: n rows, K outputs, M
 * explained features (columns, groups of columns, or a layer's elements), J data columns. */

typedef struct gbx_explanation gbx_explanation;
/* Explains every row of data (columns as the model's features). */
GBX_API gbx_status gbx_explainer_explain(const gbx_explainer *explainer, const gbx_data *data,
                                         gbx_explanation **out, gbx_error *error);
GBX_API void gbx_explanation_free(gbx_explanation *explanation);
GBX_API size_t gbx_explanation_rows(const gbx_explanation *explanation);
GBX_API size_t gbx_explanation_outputs(const gbx_explanation *explanation);
GBX_API size_t gbx_explanation_features(const gbx_explanation *explanation);
GBX_API size_t gbx_explanation_columns(const gbx_explanation *explanation);
/* The numbers: values [n][K][M], base values and predictions [n][K]. */
GBX_API const double *gbx_explanation_values(const gbx_explanation *explanation);
GBX_API const double *gbx_explanation_base_values(const gbx_explanation *explanation);
GBX_API const double *gbx_explanation_predictions(const gbx_explanation *explanation);
/* The explained rows, [n][J] (NaN where missing), or NULL when a file was written without. */
GBX_API const double *gbx_explanation_data(const gbx_explanation *explanation);
/* Names; NULL past the end. */
GBX_API const char *gbx_explanation_feature_name(const gbx_explanation *explanation,
                                                 size_t feature);
GBX_API const char *gbx_explanation_output_name(const gbx_explanation *explanation,
                                                size_t output);
GBX_API const char *gbx_explanation_column_name(const gbx_explanation *explanation,
                                                size_t column);
/* The output called name, or -1. */
GBX_API long gbx_explanation_output_index(const gbx_explanation *explanation, const char *name);
/* Whether the features are groups of columns (explained with feature groups). */
GBX_API int gbx_explanation_is_grouped(const gbx_explanation *explanation);
/* The explained feature data column j belongs to: its group, or j itself; -1 past the end. */
GBX_API long gbx_explanation_group_of_column(const gbx_explanation *explanation, size_t column);
/* A network's input tensor per row (the columns, flattened): its rank, and its dimensions
 * through *shape (may be NULL); 0 for tabular models. */
GBX_API size_t gbx_explanation_input_shape(const gbx_explanation *explanation,
                                           const size_t **shape);
/* [n][K][M], the standard error of each value for sampling methods, or NULL. */
GBX_API const double *gbx_explanation_standard_errors(const gbx_explanation *explanation);
/* [n][K][M][M], or NULL without interactions. */
GBX_API const double *gbx_explanation_interactions(const gbx_explanation *explanation);
/* LIME: the local model's prediction at each row and its weighted R^2, [n][K] (NULL for other
 * methods); the intercepts are the base values. */
GBX_API const double *gbx_explanation_local_predictions(const gbx_explanation *explanation);
GBX_API const double *gbx_explanation_scores(const gbx_explanation *explanation);
/* Integrated gradients and gradient shap: per row and output, the sum of the values minus
 * (prediction - base value), as captum's convergence delta; NULL for other methods. */
GBX_API const double *gbx_explanation_convergence_deltas(const gbx_explanation *explanation);
/* With GBX_OUTPUT_PREDICTED: the output each row explains (its index, as a double); else NULL. */
GBX_API const double *gbx_explanation_classes(const gbx_explanation *explanation);
/* Outputs per explained row: the model's, or 1 when a network method explains one. */
GBX_API size_t gbx_explainer_outputs(const gbx_explainer *explainer);

/* What made the numbers. The strings belong to the explanation ("" when a file did not
 * record them, as a CSV file does not). */
typedef struct {
    const char *method;       /* as files spell it: "tree_path_dependent", "kernel", ... */
    const char *parameters;   /* a JSON object: every parameter that shaped the numbers,
                                 the background's row count and SHA-256 among them */
    uint64_t seed;
    const char *version;      /* the glassbox that computed them */
    const char *model_sha256; /* the model file's */
    const char *model_type;   /* "xgboost", "onnx", ... */
    const char *objective;    /* the model's objective or operator */
    const char *output_space; /* "margin", "probability", "prediction", ... */
    const char *background_sha256; /* the background's (or baseline's) fingerprint, or "" */
    const char *model_source;  /* a served model's URL, or "" */
    const char *model_version; /* the version its server reported serving, or "" */
} gbx_provenance;
GBX_API gbx_provenance gbx_explanation_provenance(const gbx_explanation *explanation);

/* ---- explanation files (glassbox.explanation/1 JSON, or CSV) ------------------------------ */

typedef struct {
    int include_data;     /* write the explained rows under "data" (JSON only) */
    const char *format;   /* "json" or "csv"; NULL = from the file extension */
    int threads;          /* threads formatting numbers (0 = all cores); the text is the same */
} gbx_writer_options;

/* Reads a file gbx_explanation_write (or glassbox explain) wrote, JSON or CSV (the format is
 * told by the content). A file written from what was read is the same, byte for byte. A CSV
 * file holds the values, base values, predictions and names only. */
GBX_API gbx_status gbx_explanation_read(const char *path, gbx_explanation **out,
                                        gbx_error *error);
/* Writes the explanation to path ("-": standard output), through a temporary file renamed
 * into place: on failure nothing partial is left under the path. */
GBX_API gbx_status gbx_explanation_write(const gbx_explanation *explanation, const char *path,
                                         const gbx_writer_options *options, gbx_error *error);

/* Streams explanations to a file chunk by chunk: memory does not grow with the row count, and
 * the file is the one gbx_explanation_write would write of all the rows. The writer copies
 * what it needs; the explainer and each explanation may be freed once the call returns. */
typedef struct gbx_explanation_writer gbx_explanation_writer;
GBX_API gbx_status gbx_explanation_writer_open(const char *path, const gbx_explainer *explainer,
                                               const gbx_writer_options *options,
                                               gbx_explanation_writer **out, gbx_error *error);
GBX_API gbx_status gbx_explanation_writer_write(gbx_explanation_writer *writer,
                                                const gbx_explanation *explanation,
                                                gbx_error *error);
/* Finishes the file and frees the writer; on failure nothing partial is left under the path. */
GBX_API gbx_status gbx_explanation_writer_close(gbx_explanation_writer *writer, gbx_error *error);
/* Discards an unfinished file and frees the writer. */
GBX_API void gbx_explanation_writer_abort(gbx_explanation_writer *writer);

/* ---- feature metadata ---------------------------------------------------------------------
 * How people should read each column (a JSON file):
 *   {"features": {"Duration": {"display": "Loan duration", "unit": "months", "format": "%.0f",
 *                 "sensitive": false, "raises": "the loan is long", "lowers": "the loan is
 *                 short", "step": 6}}}
 * "sensitive" features are never given as reasons to an applicant; "step" is the change a
 * what-if tries. */
typedef struct gbx_feature_metadata gbx_feature_metadata;
GBX_API gbx_status gbx_feature_metadata_read(const char *path, gbx_feature_metadata **out,
                                             gbx_error *error);
GBX_API void gbx_feature_metadata_free(gbx_feature_metadata *metadata);

/* ---- audiences ----------------------------------------------------------------------------
 * Who is shown an explanation, and so what they may see of the features the metadata marks
 * sensitive (a feature holding a marked column is sensitive too, whatever its own name or
 * mark):
 *   applicant  sensitive features are absent: no name, no value, no total (their values are
 *              folded into each row's base value, so the rest still adds up to the prediction)
 *   analyst    folded into one "Protected attributes" feature; their columns renamed and their
 *              values hidden
 *   auditor    everything, the sensitive features marked
 * Every sink takes the audience in its options; applicant is the zero value. */
typedef enum { GBX_AUDIENCE_APPLICANT, GBX_AUDIENCE_ANALYST, GBX_AUDIENCE_AUDITOR } gbx_audience;
/* "applicant", "analyst", "auditor". */
GBX_API gbx_status gbx_audience_parse(const char *name, gbx_audience *out);
GBX_API const char *gbx_audience_name(gbx_audience audience);
/* The explanation as the audience may see it (a new object; without metadata, a copy). */
GBX_API gbx_status gbx_explanation_for_audience(const gbx_explanation *explanation,
                                                const gbx_feature_metadata *metadata,
                                                gbx_audience audience, gbx_explanation **out,
                                                gbx_error *error);

/* Whether an explained feature is sensitive (for an auditor's marks). */
GBX_API int gbx_explanation_sensitive(const gbx_explanation *explanation,
                                      const gbx_feature_metadata *metadata, size_t feature);

/* ---- plots -------------------------------------------------------------------------------
 * Drawn from an explanation file (JSON) into .svg, .png or .pdf by the file's extension:
 *   waterfall  one row: bars from the base value to the prediction, the largest first, the
 *              rest folded into "N other features"
 *   force      one row: the values raising the output as one block, those lowering it as
 *              another, meeting at the prediction; with rows_last, many rows stacked side by
 *              side (ordered by similarity or by output)
 *   decision   one or many rows: lines from the base value up through the features to each
 *              prediction
 *   bar        mean |value| per feature over all rows, or per cohort of a data column
 *   beeswarm   every row's value per feature, coloured by the feature's own value
 *   dependence one feature's value against its data value, coloured by another feature
 *   heatmap    rows x features, the values as colours, rows ordered by similarity
 *   histogram  one feature's distribution over the rows, the explained row marked
 *   image      a network's image input, its attribution map, and the two blended
 *   text       token attributions as highlighted HTML (.html), a paragraph per row
 * Red raises the output, blue lowers it (shap's colours). */
typedef struct {
    const char *kind;     /* "waterfall", "force", "decision", "bar", "beeswarm", "dependence",
                             "heatmap", "histogram", "image" or "text" */
    size_t row;           /* waterfall, force, decision, histogram, image, text: the row */
    size_t rows_last;     /* force, decision, text: with rows_last > row, the rows
                             row..rows_last-1 */
    long output;          /* the output shown, by index; -1: the first (the title says which) */
    const char *output_name; /* or by name (NULL: by index) */
    size_t max_display;   /* features drawn, the last one folding the rest (0: 10) */
    const gbx_feature_metadata *features; /* display names, units, formats, or NULL */
    const char *feature;  /* dependence, histogram: the feature, by column or display name */
    const char *color;    /* dependence: the colouring feature (NULL: the strongest
                             interaction, as shap chooses it; "none": no colour) */
    const char *cohort;   /* bar: a data column; one bar per feature and value of the column */
    const char *order;    /* force over rows, heatmap: "similarity" (default), "output" or
                             "original" */
    const char *vocabulary; /* text: one token per line (line i is id i), or NULL: the ids */
    gbx_audience audience;  /* what may be shown of sensitive features (default applicant) */
} gbx_plot_options;
GBX_API void gbx_plot_options_init(gbx_plot_options *options);
/* Draws the plot in memory: format "svg", "png" or "pdf" ("html" for text plots). *bytes
 * (NUL-terminated after *size bytes for SVG and HTML) belongs to the caller, who frees it with
 * gbx_free. The options' strings are read during the call only. */
GBX_API gbx_status gbx_plot_render(const gbx_explanation *explanation,
                                   const gbx_plot_options *options, const char *format,
                                   char **bytes, size_t *size, gbx_error *error);
/* Draws the plot into output_path, its format told by the extension (.svg, .png, .pdf;
 * .html for text plots), through a temporary file renamed into place. */
GBX_API gbx_status gbx_plot_explanation(const gbx_explanation *explanation,
                                        const gbx_plot_options *options, const char *output_path,
                                        gbx_error *error);
/* The same from an explanation file. */
GBX_API gbx_status gbx_plot(const char *explanation_path, const gbx_plot_options *options,
                            const char *output_path, gbx_error *error);

/* Groups over an explanation's features (by their names), for reasons and reports; refused for
 * an explanation already made by groups. */
GBX_API gbx_status gbx_groups_read_for(const char *path, const gbx_explanation *explanation,
                                       gbx_groups **out, gbx_error *error);

/* ---- reasons ------------------------------------------------------------------------------
 * The principal reasons for an adverse outcome, as lenders must give them: per row, the
 * features that pushed the output toward it, largest first; one-hot groups as one reason;
 * sensitive features never given as reasons (their total is kept apart); each said in words
 * from the feature metadata; with a model, a what-if per reason (the model evaluated again
 * with the feature moved by its "step"). */
typedef struct {
    size_t top;                 /* reasons per row at most (default 4) */
    int adverse_lower;          /* the adverse outcome is a lower output (default: higher) */
    long output;                /* the output, by index (-1, the default: the first) */
    const char *output_name;    /* or by name (NULL: by index) */
    long row;                   /* one row, or -1 (the default) for every row */
    const gbx_feature_metadata *features; /* display names, sentences, sensitive, or NULL */
    const gbx_groups *groups;   /* one-hot groups given as one reason each (over the
                                   explanation's features), or NULL; an explanation made by
                                   groups keeps its own */
    const gbx_model *model;     /* what-ifs: the model, evaluated at the explained rows, or NULL */
    const gbx_data *data;       /* the explained rows, or NULL: the explanation's own */
    gbx_audience audience;      /* who reads them (default applicant) */
    /* A decision threshold, or NULL: none. A probability where the output stands for one (a
     * logistic margin, a probability output), else in the output's own units. With one, only
     * adverse decisions are given reasons. */
    const double *threshold;
} gbx_reasons_options;
GBX_API void gbx_reasons_options_init(gbx_reasons_options *options);

/* One reason. Its strings belong to the gbx_reasons it came from. */
typedef struct {
    const char *feature;     /* the feature or group given as the reason */
    const char *display;     /* its display name */
    double contribution;     /* its value (a group's summed), signed */
    const char *value;       /* the row's value as the metadata writes it ("" for none) */
    const char *sentence;    /* the reason in words */
    const char *what_if;     /* the what-if in words, or "" */
    double what_if_change;   /* the prediction's change in the what-if (0 without) */
} gbx_reason;
typedef struct {
    size_t row;              /* the explanation's row */
    double prediction, base_value;
    int decision;            /* GBX_DECISION_* (NONE without a threshold) */
    size_t count;            /* reasons, strongest first */
    const gbx_reason *reasons;
    /* The sensitive features, never given as reasons, as the audience may see them: none for
     * an applicant (and no total); "Protected attributes" for an analyst; each display name
     * for an auditor. */
    size_t sensitive_count;
    const char *const *sensitive;
    double sensitive_total;  /* their total toward the adverse outcome (0 for an applicant) */
} gbx_reasons_row;
enum { GBX_DECISION_NONE, GBX_DECISION_FAVOURABLE, GBX_DECISION_ADVERSE };
typedef struct gbx_reasons gbx_reasons;
GBX_API gbx_status gbx_reasons_compute(const gbx_explanation *explanation,
                                       const gbx_reasons_options *options, gbx_reasons **out,
                                       gbx_error *error);
GBX_API size_t gbx_reasons_rows(const gbx_reasons *reasons);
/* Row i of the reasons (NULL past the end); valid until gbx_reasons_free. */
GBX_API const gbx_reasons_row *gbx_reasons_row_at(const gbx_reasons *reasons, size_t i);
/* Writes them as "text" (sentences for people), "json" or "csv". */
GBX_API gbx_status gbx_reasons_write(const gbx_reasons *reasons, const char *format, FILE *out,
                                     gbx_error *error);
/* The same into a file ("-": standard output), through a temporary file renamed into place. */
GBX_API gbx_status gbx_reasons_write_file(const gbx_reasons *reasons, const char *path,
                                          const char *format, gbx_error *error);
GBX_API void gbx_reasons_free(gbx_reasons *reasons);

/* ---- reports ----------------------------------------------------------------------------
 * One self-contained HTML file (inline SVG, CSS and script; nothing fetched) from an
 * explanation file: provenance (model SHA-256, method, parameters, seed, additivity error),
 * global importance (bar, beeswarm), every row in a searchable, sortable, paged table with its
 * principal reason, and a section per chosen row (waterfall, force, reasons in words,
 * histograms of its top features with the row marked). */
typedef struct {
    const char *title;       /* NULL: "Explanation report" */
    const gbx_feature_metadata *features; /* display names, sentences, sensitive, or NULL */
    const gbx_groups *groups; /* one-hot groups given as one reason and drawn as one feature
                                 (over the explanation's features), or NULL */
    const gbx_model *model;  /* what-ifs in the reasons: the model, evaluated at the explained
                                rows (the data, or the explanation's own), or NULL */
    const gbx_data *data;    /* the explained rows, for an explanation written without them;
                                or NULL */
    long output;             /* the output shown, by index; -1: the first */
    const char *output_name; /* or by name */
    size_t top;              /* reasons per row at most (0: 4) */
    int adverse_lower;       /* the adverse outcome is a lower output */
    size_t rows_first, rows_last; /* the rows given a section: [first, last); last 0: first+100 */
    size_t sample;           /* rows in the beeswarm at most (0: 1000) */
    gbx_audience audience;   /* who reads it (default, from gbx_report_options_init: analyst) */
    const double *threshold; /* a decision threshold (as gbx_reasons_options takes it): each
                                row's decision shown, reasons for adverse ones only; or NULL */
} gbx_report_options;
GBX_API void gbx_report_options_init(gbx_report_options *options);
/* Writes the report of the explanation to output_path, through a temporary file renamed into
 * place. */
GBX_API gbx_status gbx_report_explanation(const gbx_explanation *explanation,
                                          const gbx_report_options *options,
                                          const char *output_path, gbx_error *error);
/* The same from an explanation file (options as above; the groups are over its features). */
GBX_API gbx_status gbx_report(const char *explanation_path, const gbx_report_options *options,
                              const char *output_path, gbx_error *error);

#ifdef __cplusplus
}
#endif
#endif
