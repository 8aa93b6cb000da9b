/* What each audience may see of the sensitive features (audience.c). */
#ifndef GBX_AUDIENCE_H
#define GBX_AUDIENCE_H

#include "../io/explanation.h"
#include "../io/features.h"

/* Which features and columns of the explanation are sensitive ([features] and [columns] flags,
 * the caller frees them): marked in the metadata themselves, or holding a marked column. */
gbx_status gbx_audience_sensitive(const gbx_explanation *explanation,
                                  const gbx_feature_metadata *metadata, uint8_t **features,
                                  uint8_t **columns, gbx_error *error);

#endif
