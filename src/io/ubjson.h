/* UBJSON (Universal Binary JSON) decoding into json-c objects, so that binary and text model
 * files share one loader. Covers the whole draft-12 spec including optimized containers. */
#ifndef GBX_UBJSON_H
#define GBX_UBJSON_H

#include "../core/core.h"

#include <json-c/json.h>

/* Parses one UBJSON value filling the whole buffer. Errors give the byte offset. */
gbx_status gbx_ubjson_parse(const unsigned char *bytes, size_t length, json_object **out,
                            gbx_error *error);

#endif
