/* TensorFlow's variables bundle, as a SavedModel stores its weights: `PREFIX.index`, a sorted
 * table (LevelDB's format, uncompressed) from each checkpoint key to where its tensor lies, and
 * the data shards `PREFIX.data-NNNNN-of-MMMMM` holding the tensors' bytes. */
#ifndef GBX_TENSOR_BUNDLE_H
#define GBX_TENSOR_BUNDLE_H

#include "../nn/graph.h"

typedef struct gbx_tensor_bundle gbx_tensor_bundle;

/* Reads the index `prefix`.index (shards are opened when a tensor is read). */
gbx_status gbx_tensor_bundle_open(const char *prefix, gbx_tensor_bundle **out, gbx_error *error);
/* The tensor stored under `key` (float types become float, integer and bool types int64),
 * its bytes checked against the bundle's checksum. */
gbx_status gbx_tensor_bundle_read(gbx_tensor_bundle *bundle, const char *key,
                                  gbx_nn_tensor *tensor, gbx_error *error);
/* The scalar string stored under `key` (a serialized message such as the checkpoint's object
 * graph): *bytes (malloc'd) and *length. */
gbx_status gbx_tensor_bundle_read_string(gbx_tensor_bundle *bundle, const char *key, char **bytes,
                                         size_t *length, gbx_error *error);
/* How many data shards the bundle has. */
int gbx_tensor_bundle_shards(const gbx_tensor_bundle *bundle);
void gbx_tensor_bundle_close(gbx_tensor_bundle *bundle);

/* CRC-32C (Castagnoli), as TensorFlow's files checksum their bytes, and its masked form
 * (what LevelDB-format tables store). */
uint32_t gbx_crc32c(const void *bytes, size_t length);
uint32_t gbx_crc32c_mask(uint32_t crc);

#endif
