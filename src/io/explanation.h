/* The explanation: one object for everything an explanation file holds (names, provenance,
 * the explained rows and every array a method gives), made by an explainer or read from a
 * file, and taken as it is by every sink (the file writer, plots, reasons, the report). */
#ifndef GBX_EXPLANATION_H
#define GBX_EXPLANATION_H

#include "../core/core.h"

#include <stdio.h>

#define GBX_EXPLANATION_MAX_RANK 8

struct gbx_explanation {
    size_t rows, outputs, features, columns;
    /* Names, all owned. The columns are the data's (the model's inputs); the features are
     * what was explained: the columns themselves, feature groups, or a layer's elements. */
    char **feature_names;    /* [features] */
    char **output_names;     /* [outputs]; "predicted" when each row explains its own */
    char **column_names;     /* [columns] */
    size_t *group_of_column; /* [columns]: the feature (group) of each column, or NULL */
    size_t input_rank;       /* a network's input tensor per row (the columns, flattened), */
    size_t input_shape[GBX_EXPLANATION_MAX_RANK]; /* or rank 0 */
    int input_layout;        /* GBX_LAYOUT_*: where an image input keeps its channels */
    /* Provenance: owned strings, "" when unknown. parameters is a JSON object's text, which
     * holds the background's fingerprint too (kept apart in background_sha256). */
    char *method, *parameters, *version, *model_sha256, *model_type, *objective, *output_space;
    char *background_sha256;
    char *model_source, *model_version; /* a served model's URL and version, or "" */
    uint64_t seed;
    int base_folded;           /* an applicant's view: the base values hold the sensitive
                                * features' share, so they are not E[f(X)] */
    /* The numbers, row-major; the optional ones NULL when the method has none. */
    double *values;            /* [rows][outputs][features] */
    double *base_values;       /* [rows][outputs] */
    double *predictions;       /* [rows][outputs] */
    double *data;              /* [rows][columns], NaN where missing */
    double *interactions;      /* [rows][outputs][features][features] */
    double *standard_errors;   /* [rows][outputs][features] */
    double *local_predictions; /* [rows][outputs] (LIME) */
    double *scores;            /* [rows][outputs] (LIME's weighted R^2) */
    double *deltas;            /* [rows][outputs] (convergence deltas) */
    double *classes;           /* [rows]: the output each row explains */
};

/* The arrays above as table rows, so that copying, subsetting, reading and writing go over
 * one list; the order is the order of the file's keys. */
typedef enum {
    GBX_PER_ROW_OUTPUT_FEATURE,         /* [K][M] */
    GBX_PER_ROW_OUTPUT,                 /* [K] */
    GBX_PER_ROW_COLUMN,                 /* [J] */
    GBX_PER_ROW_OUTPUT_FEATURE_FEATURE, /* [K][M][M] */
    GBX_PER_ROW_ONE                     /* one number */
} gbx_array_shape;

typedef struct {
    const char *key;       /* the file's key */
    size_t offset;         /* of the double * in struct gbx_explanation */
    gbx_array_shape shape;
    int required;          /* values, base values and predictions */
    int missing_allowed;   /* null stands for NaN (data, standard errors) */
} gbx_explanation_array;

extern const gbx_explanation_array gbx_explanation_arrays[];
extern const size_t gbx_explanation_array_count;

/* The array a row of the table describes, and how many numbers it holds per row. */
double **gbx_explanation_array_of(gbx_explanation *explanation, const gbx_explanation_array *a);
size_t gbx_explanation_array_width(const gbx_explanation *explanation,
                                   const gbx_explanation_array *a);
/* The shape of one row's numbers, outermost first; returns its rank (0 for one number). */
int gbx_explanation_array_dims(const gbx_explanation *explanation,
                               const gbx_explanation_array *a, size_t *dims);

/* An empty explanation (no rows, no arrays) with copies of source's names and provenance. */
gbx_explanation *gbx_explanation_copy_header(const gbx_explanation *source);
/* Allocates the arrays source has (or, with source NULL, the required ones) for rows rows. */
gbx_status gbx_explanation_allocate(gbx_explanation *explanation, size_t rows,
                                    const gbx_explanation *source, gbx_error *error);
/* A copy holding only the given rows (in that order), for plots drawn over a sample. */
gbx_status gbx_explanation_subset(const gbx_explanation *explanation, const size_t *rows,
                                  size_t count, gbx_explanation **out, gbx_error *error);
/* A copy of every row. */
gbx_status gbx_explanation_subset_all(const gbx_explanation *explanation, gbx_explanation **out,
                                      gbx_error *error);
/* A copy with feature f's values summed into group_of_feature[f] (< groups, named
 * group_names), as `explain --groups` would have written it; the data keeps its columns. */
gbx_status gbx_explanation_grouped(const gbx_explanation *explanation,
                                   const size_t *group_of_feature, const char *const *group_names,
                                   size_t groups, gbx_explanation **out, gbx_error *error);
/* A grouped explanation (group_of_column set) spread back over its data columns, so that
 * code working per column (reasons' wording by the column that is set) can read it: each
 * group's value goes to its column that holds 1 when exactly one does (a one-hot group),
 * else is shared equally among its columns. The group sums are kept exactly; single
 * columns' values are unchanged. */
gbx_status gbx_explanation_spread_groups(const gbx_explanation *explanation, gbx_explanation **out,
                                   gbx_error *error);
/* Whether the data's columns are named apart from the features (groups, a layer's elements). */
int gbx_explanation_columns_differ(const gbx_explanation *explanation);

/* The explainer's names and provenance, as every explanation it makes starts (no rows). */
const gbx_explanation *gbx_explainer_header(const gbx_explainer *explainer);

/* A JSON string (quoted, escaped) onto file. */
void gbx_json_write_string(FILE *file, const char *text);

/* Names: a copy of count strings (NULL entries become ""), and its release. */
char **gbx_names_copy(const char *const *names, size_t count);
void gbx_names_free(char **names, size_t count);

#endif
