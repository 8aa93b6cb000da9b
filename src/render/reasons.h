/* Principal reasons for an adverse decision, as lenders must give them: the features that
 * pushed the output toward the adverse outcome, largest first (at most `top`), one-hot groups
 * summed into one reason, sensitive features never named as reasons (their total is reported
 * apart, masked), each said in words from the feature metadata; with the model and the rows,
 * a what-if in the feature's unit, computed by evaluating the model again. The public side
 * (gbx_reasons_compute) resolves the options into these. */
#ifndef GBX_REASONS_H
#define GBX_REASONS_H

#include "../io/explanation.h"
#include "../io/features.h"
#include "../models/model.h"

typedef struct {
    size_t top;                         /* reasons per row at most (0: 4) */
    int adverse_lower;                  /* the adverse outcome is a lower output */
    long output;                        /* the output explained; -1: the first */
    long row;                           /* one row, or -1 for every row */
    const gbx_feature_metadata *features; /* may be NULL */
    const size_t *group_of_feature;     /* one-hot groups: [features] -> group, or NULL */
    const char *const *group_names;     /* [groups] */
    size_t group_count;
    int spread_groups;                  /* the groups' values were spread over their columns
                                           (a grouped file): only a set column speaks for one */
    gbx_audience audience;              /* what is said of the sensitive features */
    const double *threshold;            /* a decision threshold (see gbx_reasons_options), or NULL */
    const gbx_model *model;             /* what-if: the model and the explained rows, or NULL */
    const double *rows;                 /* [row_count][row_width] */
    size_t row_count, row_width;
} reasons_options;

#endif
