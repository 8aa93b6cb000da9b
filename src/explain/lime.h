/* LIME for tabular data, with the defaults of lime's LimeTabularExplainer.
 *
 * The training data (the background set) is summarised once: each continuous feature is cut at
 * its quartiles (or deciles) into bins, with the mean, spread and bounds of the training values
 * in each bin; each categorical feature keeps its values and their frequencies. To explain a
 * row, `samples` neighbours are drawn: every feature independently takes a bin (or category)
 * with its training frequency, and a binned feature a value from the normal distribution of
 * its bin truncated to the bin's bounds (each neighbour so, and the neighbours together spread
 * evenly over the bins by an orthogonal array: strata.h). Each neighbour is described by which features fall in
 * the same bin as the row (1) or not (0); it is weighted by the exponential kernel of its
 * distance to the row in that representation (width 0.75 sqrt(M)). A weighted ridge regression
 * (alpha 1) of the model's predictions on the representation, over the features picked by the
 * feature selection, is the local explanation: per feature its coefficient times the row's own
 * representation (1 when binned), the intercept, the local prediction at the row and the
 * weighted R^2 of the fit. Without a discretizer, continuous features are drawn from a normal
 * with the training mean and standard deviation and represented by their standardized value.
 *
 * Where lime returns (min - mean) / std for a bin whose values are all equal (a z-score where a
 * value belongs), glassbox returns that value; missing values form a category of their own
 * (lime cannot take them). Each row draws from its own random stream keyed by the seed and the
 * row's values, so results do not depend on batches or threads. */
#ifndef GBX_LIME_H
#define GBX_LIME_H

#include "../models/model.h"
#include "players.h"

typedef struct gbx_lime gbx_lime;

typedef struct {
    gbx_lime_discretizer discretizer;
    gbx_lime_selection selection;
    int cosine;               /* cosine distance instead of euclidean */
    size_t features;          /* features in the local model (0: 10) */
    size_t samples;           /* neighbours per row (0: 5000) */
    double kernel_width;      /* 0: 0.75 sqrt(M) */
    const uint8_t *categorical; /* [M] or NULL */
    uint64_t seed;
} gbx_lime_options;

/* players: groups of columns explained as one feature (one-hot dummies are drawn together
 * from a training row, and the feature is 1 when all its columns equal the row's); NULL for
 * every column alone. */
gbx_status gbx_lime_prepare(const gbx_model *model, const gbx_data *training,
                            const gbx_players *players, const gbx_lime_options *options,
                            gbx_lime **out, gbx_error *error);
void gbx_lime_free(gbx_lime *lime);
/* The explained outputs are the model's predictions (probabilities for classifiers), as lime
 * explains predict_proba. values: [count][outputs][players], 0 for features left out of the
 * local model; intercepts, local_predictions, scores (weighted R^2) and predictions:
 * [count][outputs]. */
gbx_status gbx_lime_explain(const gbx_lime *lime, const double *rows, size_t count,
                            double *values, double *intercepts, double *local_predictions,
                            double *scores, double *predictions, int threads, gbx_error *error);

#endif
