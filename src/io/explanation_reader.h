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
    size_t rows, outputs, features, columns;
    char **feature_names;   /* [features] */
    char **output_names;    /* [outputs]; "predicted" when each row explains its own */
    char **column_names;    /* [columns]: the data's (the features unless grouped) */
    double *values;         /* [rows][outputs][features] */
    double *base_values;    /* [rows][outputs] */
    double *predictions;    /* [rows][outputs] */
    double *data;           /* [rows][columns], NaN where missing; NULL when not written */
    double *explained;      /* [rows]: the output each row explains (--class predicted), or NULL */
} gbx_explanation_document;

/* Reads path; the error names the file and what is wrong with it. */
gbx_status gbx_explanation_document_read(const char *path, gbx_explanation_document **out,
                                         gbx_error *error);
void gbx_explanation_document_free(gbx_explanation_document *document);

#endif
