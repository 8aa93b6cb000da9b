/* Feature metadata (--features features.json): how people should read each column.
 *
 *   {"features": {"Duration": {"display": "Loan duration", "unit": "months",
 *                              "description": "...", "format": "%.0f", "group": "Loan",
 *                              "sensitive": false, "raises": "the loan is long",
 *                              "lowers": "the loan is short", "step": 6}}}
 *
 * Columns not listed keep their own names. "format" is one printf conversion of a number
 * (%f, %e or %g with optional flags, width and precision); "step" is the change a what-if
 * tries, in the column's unit. */
#ifndef GBX_FEATURES_H
#define GBX_FEATURES_H

#include "../core/core.h"

typedef struct {
    char *column;
    char *display, *unit, *description, *format, *group, *raises, *lowers; /* NULL if absent */
    int sensitive;
    double step; /* 0 when absent */
} gbx_feature_info;

struct gbx_feature_metadata {
    gbx_feature_info *items;
    size_t count;
};

/* The entry for a column, or NULL (metadata may be NULL too). */
const gbx_feature_info *gbx_feature_metadata_find(const gbx_feature_metadata *metadata,
                                                  const char *column);

/* A value as the metadata says to write it (its format and unit), into out. */
void gbx_feature_format(const gbx_feature_info *info, double value, char *out, size_t size);
/* The name to show: the display name, or the column's own. */
const char *gbx_feature_display(const gbx_feature_info *info, const char *column);

#endif
