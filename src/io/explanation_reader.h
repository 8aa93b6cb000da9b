/* Explanation files (glassbox.explanation/1, as gbx_explanation_writer writes them) read back
 * whole, for the commands that start from one: plots, and later reasons and reports. */
#ifndef GBX_EXPLANATION_READER_H
#define GBX_EXPLANATION_READER_H

#include "../core/core.h"

typedef struct {
    char *method;        /* "tree_path_dependent", "kernel", ... */
    char *model_type;    /* "xgboost", "onnx", ... */
    char *objective;     /* the model's objective or operator, "" when unknown */
    char *output_space;  /* "margin", "probability", "prediction", ... */
    char *model_sha256;  /* "" when absent, as the strings below */
    char *parameters;    /* the method's parameters as JSON text ("{}" when absent) */
    char *seed;          /* the seed as written */
    char *version;       /* the glassbox that wrote the file */
    size_t rows, outputs, features, columns;
    char **feature_names;   /* [features] */
    char **output_names;    /* [outputs]; "predicted" when each row explains its own */
    char **column_names;    /* [columns]: the data's (the features unless grouped) */
    double *values;         /* [rows][outputs][features] */
    double *base_values;    /* [rows][outputs] */
    double *predictions;    /* [rows][outputs] */
    double *data;           /* [rows][columns], NaN where missing; NULL when not written */
    double *explained;      /* [rows]: the output each row explains (--class predicted), or NULL */
    size_t *group_of_column; /* [columns]: the feature (group) each data column belongs to,
                              when the file lists "groups" (explain --groups); else NULL */
    size_t input_rank;      /* a network's input tensor per row (the features, flattened), */
    size_t input_shape[8];  /* or 0 */
} gbx_explanation_document;

/* Reads path; the error names the file and what is wrong with it. */
gbx_status gbx_explanation_document_read(const char *path, gbx_explanation_document **out,
                                         gbx_error *error);
/* A copy holding only the given rows (in that order), for plots drawn over a sample. */
gbx_status gbx_explanation_document_subset(const gbx_explanation_document *document,
                                           const size_t *rows, size_t count,
                                           gbx_explanation_document **out, gbx_error *error);
/* A copy with feature f's values summed into group_of_feature[f] (< groups, named
 * group_names), as `explain --groups` would have written it; the data keeps its columns. */
gbx_status gbx_explanation_document_grouped(const gbx_explanation_document *document,
                                            const size_t *group_of_feature,
                                            const char *const *group_names, size_t groups,
                                            gbx_explanation_document **out, gbx_error *error);
/* A grouped explanation (group_of_column set) spread back over its data columns, so that
 * code working per column (reasons' wording by the column that is set) can read it: each
 * group's value goes to its column that holds 1 when exactly one does (a one-hot group),
 * else is shared equally among its columns. The group sums are kept exactly; single
 * columns' values are unchanged. */
gbx_status gbx_explanation_document_columns(const gbx_explanation_document *document,
                                            gbx_explanation_document **out, gbx_error *error);
void gbx_explanation_document_free(gbx_explanation_document *document);

#endif
