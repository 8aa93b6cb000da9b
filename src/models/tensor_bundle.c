/* TensorFlow's variables bundle (see tensor_bundle.h). The index is small (one entry per
 * variable), so it is read whole and its entries kept in a sorted array; every length, offset
 * and count read from a file is checked against the file's size before it is used. */
#include "tensor_bundle.h"

#include "tensorflow.pb-c.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The index is a few hundred bytes per variable: 256 MB is far beyond any real model. */
#define INDEX_LIMIT ((size_t)256 << 20)
#define FOOTER_LENGTH 48
#define BLOCK_TRAILER 5 /* compression type, masked CRC-32C */
static const uint64_t table_magic = 0xdb4775248b80fb57ull;

typedef struct {
    char *key;
    size_t key_length;
    const uint8_t *value; /* into the index bytes */
    size_t value_length;
} entry;

struct gbx_tensor_bundle {
    char *prefix;
    char *index;     /* the index file's bytes */
    size_t index_length;
    entry *entries;  /* in the table's (sorted) order */
    size_t count, capacity;
    int shards;
};

/* ---- CRC-32C ------------------------------------------------------------------------------ */

static uint32_t crc_table[256];

static void crc_table_init(void)
{
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78u ^ (c >> 1) : c >> 1;
        crc_table[n] = c;
    }
}

uint32_t gbx_crc32c(const void *bytes, size_t length)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, crc_table_init);
    const uint8_t *p = bytes;
    uint32_t crc = 0xffffffffu;
    for (size_t i = 0; i < length; i++) crc = crc_table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return crc ^ 0xffffffffu;
}

uint32_t gbx_crc32c_mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

/* ---- the sorted table --------------------------------------------------------------------- */

/* A varint at *p (before end); 0 when it is cut short or longer than 64 bits. */
static int varint(const uint8_t **p, const uint8_t *end, uint64_t *value)
{
    *value = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t byte = *(*p)++;
        *value |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80)) return 1;
    }
    return 0;
}

static uint32_t fixed32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The block a handle (offset, size varints at *p) points to, checked: inside the file,
 * uncompressed, its checksum right. */
static gbx_status block(gbx_tensor_bundle *b, const uint8_t **p, const uint8_t *end,
                        const uint8_t **content, size_t *length, gbx_error *error)
{
    uint64_t offset, size;
    if (!varint(p, end, &offset) || !varint(p, end, &size) || offset > b->index_length ||
        size > b->index_length - offset || BLOCK_TRAILER > b->index_length - offset - size)
        return gbx_fail(error, GBX_ERR_PARSE, "%s.index: a block lies outside the file",
                        b->prefix);
    const uint8_t *start = (const uint8_t *)b->index + offset;
    if (start[size] != 0)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "%s.index: compressed blocks (type %d) are "
                        "not read; glassbox reads the uncompressed index TensorFlow writes",
                        b->prefix, start[size]);
    uint32_t stored = fixed32(start + size + 1);
    if (gbx_crc32c_mask(gbx_crc32c(start, size + 1)) != stored)
        return gbx_fail(error, GBX_ERR_PARSE, "%s.index: a block's checksum is wrong (the file "
                        "is damaged)", b->prefix);
    *content = start;
    *length = (size_t)size;
    return GBX_OK;
}

typedef gbx_status (*entry_visitor)(gbx_tensor_bundle *b, const char *key, size_t key_length,
                                    const uint8_t *value, size_t value_length, gbx_error *error);

/* Walks a block's entries (each key shares a prefix with the one before it). */
static gbx_status walk_block(gbx_tensor_bundle *b, const uint8_t *content, size_t length,
                             entry_visitor visit, gbx_error *error)
{
    if (length < 4) return gbx_fail(error, GBX_ERR_PARSE, "%s.index: a block is too short", b->prefix);
    uint32_t restarts = fixed32(content + length - 4);
    if (restarts > (length - 4) / 4)
        return gbx_fail(error, GBX_ERR_PARSE, "%s.index: a block's restart count is wrong",
                        b->prefix);
    const uint8_t *p = content, *end = content + length - 4 - 4 * (size_t)restarts;
    char *key = NULL;
    size_t key_length = 0;
    gbx_status status = GBX_OK;
    while (p < end && status == GBX_OK) {
        uint64_t shared, unshared, value_length;
        if (!varint(&p, end, &shared) || !varint(&p, end, &unshared) ||
            !varint(&p, end, &value_length) || shared > key_length ||
            unshared > (size_t)(end - p) || value_length > (size_t)(end - p) - unshared) {
            status = gbx_fail(error, GBX_ERR_PARSE, "%s.index: an entry runs past its block",
                              b->prefix);
            break;
        }
        char *longer = realloc(key, (size_t)(shared + unshared) + 1);
        if (!longer) {
            status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
            break;
        }
        key = longer;
        memcpy(key + shared, p, (size_t)unshared);
        key_length = (size_t)(shared + unshared);
        key[key_length] = '\0';
        p += unshared;
        status = visit(b, key, key_length, p, (size_t)value_length, error);
        p += value_length;
    }
    free(key);
    return status;
}

static gbx_status keep_entry(gbx_tensor_bundle *b, const char *key, size_t key_length,
                             const uint8_t *value, size_t value_length, gbx_error *error)
{
    if (b->count == b->capacity) {
        size_t capacity = b->capacity ? 2 * b->capacity : 64;
        entry *more = realloc(b->entries, capacity * sizeof *more);
        if (!more) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
        b->entries = more;
        b->capacity = capacity;
    }
    entry *e = &b->entries[b->count];
    if (!(e->key = malloc(key_length + 1))) return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    memcpy(e->key, key, key_length + 1);
    e->key_length = key_length;
    e->value = value;
    e->value_length = value_length;
    b->count++;
    return GBX_OK;
}

/* An index-block entry points to a data block: keep that block's entries. */
static gbx_status data_block(gbx_tensor_bundle *b, const char *key, size_t key_length,
                             const uint8_t *value, size_t value_length, gbx_error *error)
{
    (void)key, (void)key_length;
    const uint8_t *content;
    size_t length;
    gbx_status status = block(b, &value, value + value_length, &content, &length, error);
    return status == GBX_OK ? walk_block(b, content, length, keep_entry, error) : status;
}

static const entry *find(const gbx_tensor_bundle *b, const char *key)
{
    size_t low = 0, high = b->count, length = strlen(key);
    while (low < high) {
        size_t mid = low + (high - low) / 2;
        const entry *e = &b->entries[mid];
        size_t common = e->key_length < length ? e->key_length : length;
        int order = memcmp(e->key, key, common);
        if (order == 0) order = e->key_length < length ? -1 : e->key_length > length;
        if (order == 0) return e;
        if (order < 0) low = mid + 1;
        else high = mid;
    }
    return NULL;
}

static gbx_status read_header(gbx_tensor_bundle *b, gbx_error *error)
{
    const entry *e = find(b, "");
    Gbxtf__BundleHeaderProto *header =
        e ? gbxtf__bundle_header_proto__unpack(NULL, e->value_length, e->value) : NULL;
    if (!header)
        return gbx_fail(error, GBX_ERR_PARSE, "%s.index: no bundle header (not a TensorFlow "
                        "variables index)", b->prefix);
    int shards = header->num_shards, endianness = header->endianness;
    gbxtf__bundle_header_proto__free_unpacked(header, NULL);
    if (endianness != 0)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "%s.index: the tensors are big-endian",
                        b->prefix);
    if (shards < 1 || shards > 99999)
        return gbx_fail(error, GBX_ERR_PARSE, "%s.index: %d data shards", b->prefix, shards);
    b->shards = shards;
    return GBX_OK;
}

gbx_status gbx_tensor_bundle_open(const char *prefix, gbx_tensor_bundle **out, gbx_error *error)
{
    gbx_tensor_bundle *b = gbx_calloc(1, sizeof *b);
    size_t length = strlen(prefix);
    char *path = malloc(length + 7);
    if (!b || !path || !(b->prefix = gbx_strdup(prefix))) {
        free(path);
        gbx_tensor_bundle_close(b);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    memcpy(path, prefix, length);
    memcpy(path + length, ".index", 7);
    gbx_status status = gbx_read_file(path, &b->index, &b->index_length, error);
    free(path);
    if (status == GBX_OK && (b->index_length < FOOTER_LENGTH || b->index_length > INDEX_LIMIT))
        status = gbx_fail(error, GBX_ERR_PARSE, "%s.index: %zu bytes is no variables index",
                          prefix, b->index_length);
    const uint8_t *footer = status == GBX_OK
        ? (const uint8_t *)b->index + b->index_length - FOOTER_LENGTH : NULL;
    if (status == GBX_OK &&
        ((uint64_t)fixed32(footer + 40) | (uint64_t)fixed32(footer + 44) << 32) != table_magic)
        status = gbx_fail(error, GBX_ERR_PARSE, "%s.index: not a TensorFlow table (its magic "
                          "number is wrong)", prefix);
    const uint8_t *content = NULL;
    size_t content_length = 0;
    if (status == GBX_OK) {
        const uint8_t *p = footer;
        uint64_t skipped;
        /* The metaindex handle comes first; the index handle second. */
        if (!varint(&p, footer + 40, &skipped) || !varint(&p, footer + 40, &skipped))
            status = gbx_fail(error, GBX_ERR_PARSE, "%s.index: a damaged footer", prefix);
        if (status == GBX_OK)
            status = block(b, &p, footer + 40, &content, &content_length, error);
    }
    if (status == GBX_OK) status = walk_block(b, content, content_length, data_block, error);
    if (status == GBX_OK) status = read_header(b, error);
    if (status != GBX_OK) {
        gbx_tensor_bundle_close(b);
        return status;
    }
    *out = b;
    return GBX_OK;
}

int gbx_tensor_bundle_shards(const gbx_tensor_bundle *bundle) { return bundle->shards; }

void gbx_tensor_bundle_close(gbx_tensor_bundle *bundle)
{
    if (!bundle) return;
    for (size_t i = 0; i < bundle->count; i++) free(bundle->entries[i].key);
    free(bundle->entries);
    free(bundle->index);
    free(bundle->prefix);
    free(bundle);
}

/* ---- tensors ------------------------------------------------------------------------------ */

/* TensorFlow's DataType numbers glassbox reads, and each one's size in bytes. */
enum { DT_FLOAT = 1, DT_DOUBLE = 2, DT_INT32 = 3, DT_UINT8 = 4, DT_INT16 = 5, DT_INT8 = 6,
       DT_STRING = 7, DT_INT64 = 9, DT_BOOL = 10 };

static size_t element_size(int dtype)
{
    switch (dtype) {
    case DT_FLOAT: case DT_INT32: return 4;
    case DT_DOUBLE: case DT_INT64: return 8;
    case DT_INT16: return 2;
    case DT_UINT8: case DT_INT8: case DT_BOOL: return 1;
    default: return 0;
    }
}

static void convert(int dtype, const uint8_t *raw, gbx_nn_tensor *tensor)
{
    for (size_t j = 0; j < tensor->count; j++) {
        switch (dtype) {
        case DT_FLOAT: { float v; memcpy(&v, raw + 4 * j, 4); tensor->f[j] = v; break; }
        case DT_DOUBLE: { double v; memcpy(&v, raw + 8 * j, 8); tensor->f[j] = (float)v; break; }
        case DT_INT32: { int32_t v; memcpy(&v, raw + 4 * j, 4); tensor->i[j] = v; break; }
        case DT_INT64: { int64_t v; memcpy(&v, raw + 8 * j, 8); tensor->i[j] = v; break; }
        case DT_INT16: { int16_t v; memcpy(&v, raw + 2 * j, 2); tensor->i[j] = v; break; }
        case DT_INT8: tensor->i[j] = (int8_t)raw[j]; break;
        default: tensor->i[j] = raw[j]; break; /* uint8, bool */
        }
    }
}

/* The shape an entry declares, checked: at most GBX_NN_MAX_RANK dimensions, none negative,
 * their product within the engine's largest tensor. */
static gbx_status entry_shape(const gbx_tensor_bundle *b, const char *key,
                              const Gbxtf__BundleEntryProto *e, int *rank, int64_t *dims,
                              gbx_error *error)
{
    size_t count = 1, n = e->shape ? e->shape->n_dim : 0;
    if (n > GBX_NN_MAX_RANK)
        return gbx_fail(error, GBX_ERR_UNSUPPORTED, "%s: variable %s has %zu dimensions",
                        b->prefix, key, n);
    for (size_t d = 0; d < n; d++) {
        int64_t size = e->shape->dim[d]->size;
        if (size < 0 || (uint64_t)size > GBX_NN_MAX_VALUES ||
            (size && count > GBX_NN_MAX_VALUES / (size_t)size))
            return gbx_fail(error, GBX_ERR_PARSE, "%s: variable %s has a bad or too large shape",
                            b->prefix, key);
        dims[d] = size;
        count *= (size_t)size;
    }
    *rank = (int)n;
    return GBX_OK;
}

/* Reads `size` bytes at `offset` of the shard into a new buffer. */
static gbx_status shard_bytes(const gbx_tensor_bundle *b, int shard, int64_t offset,
                              size_t size, uint8_t **bytes, gbx_error *error)
{
    size_t length = strlen(b->prefix) + 32;
    char *path = malloc(length);
    *bytes = malloc(size ? size : 1);
    if (!path || !*bytes) {
        free(path);
        free(*bytes);
        return gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
    }
    snprintf(path, length, "%s.data-%05d-of-%05d", b->prefix, shard, b->shards);
    FILE *file = fopen(path, "rb");
    gbx_status status = GBX_OK;
    if (!file) status = gbx_fail(error, GBX_ERR_IO, "%s: cannot open the data shard", path);
    else if (fseeko(file, (off_t)offset, SEEK_SET) != 0 || fread(*bytes, 1, size, file) != size)
        status = gbx_fail(error, GBX_ERR_PARSE, "%s: shorter than its index says (a tensor at "
                          "byte %lld)", path, (long long)offset);
    if (file) fclose(file);
    free(path);
    if (status != GBX_OK) {
        free(*bytes);
        *bytes = NULL;
    }
    return status;
}

/* The index entry of a key, decoded (free with gbxtf__bundle_entry_proto__free_unpacked). */
static gbx_status entry_of(const gbx_tensor_bundle *b, const char *key,
                           Gbxtf__BundleEntryProto **out, gbx_error *error)
{
    const entry *found = find(b, key);
    if (!found || !*key)
        return gbx_fail(error, GBX_ERR_PARSE, "%s: the variables hold no %s", b->prefix, key);
    *out = gbxtf__bundle_entry_proto__unpack(NULL, found->value_length, found->value);
    return *out ? GBX_OK : gbx_fail(error, GBX_ERR_PARSE, "%s: the index entry of %s is damaged",
                                    b->prefix, key);
}

gbx_status gbx_tensor_bundle_read(gbx_tensor_bundle *b, const char *key, gbx_nn_tensor *tensor,
                                  gbx_error *error)
{
    Gbxtf__BundleEntryProto *e;
    gbx_status found = entry_of(b, key, &e, error);
    if (found != GBX_OK) return found;
    int rank = 0;
    int64_t dims[GBX_NN_MAX_RANK];
    size_t size = element_size(e->dtype);
    gbx_status status = GBX_OK;
    if (!size)
        status = gbx_fail(error, GBX_ERR_UNSUPPORTED, "%s: variable %s has TensorFlow type %d "
                          "(glassbox reads float, double, integer and bool variables)",
                          b->prefix, key, e->dtype);
    else if (e->n_slices)
        status = gbx_fail(error, GBX_ERR_UNSUPPORTED, "%s: variable %s is partitioned into "
                          "slices", b->prefix, key);
    else if (e->shard_id < 0 || e->shard_id >= b->shards || e->offset < 0)
        status = gbx_fail(error, GBX_ERR_PARSE, "%s: variable %s points to shard %d of %d",
                          b->prefix, key, e->shard_id, b->shards);
    if (status == GBX_OK) status = entry_shape(b, key, e, &rank, dims, error);
    gbx_nn_type type = e->dtype == DT_FLOAT || e->dtype == DT_DOUBLE ? GBX_NN_FLOAT : GBX_NN_INT64;
    if (status == GBX_OK) status = gbx_nn_tensor_alloc_unset(tensor, type, rank, dims, error);
    if (status == GBX_OK && (e->size < 0 || (uint64_t)e->size != tensor->count * size)) {
        gbx_nn_tensor_release(tensor);
        status = gbx_fail(error, GBX_ERR_PARSE, "%s: variable %s holds %lld bytes for %zu values",
                          b->prefix, key, (long long)e->size, tensor->count);
    }
    uint8_t *raw = NULL;
    if (status == GBX_OK) {
        status = shard_bytes(b, e->shard_id, e->offset, (size_t)e->size, &raw, error);
        if (status == GBX_OK && gbx_crc32c_mask(gbx_crc32c(raw, (size_t)e->size)) != e->crc32c)
            status = gbx_fail(error, GBX_ERR_PARSE, "%s: variable %s fails its checksum (the data "
                              "shard is damaged)", b->prefix, key);
        if (status == GBX_OK) convert(e->dtype, raw, tensor);
        else gbx_nn_tensor_release(tensor);
    }
    free(raw);
    gbxtf__bundle_entry_proto__free_unpacked(e, NULL);
    return status;
}

/* A string tensor's bytes are each element's length (a varint), a checksum of those lengths
 * (4 bytes), then the elements; a scalar has one. */
gbx_status gbx_tensor_bundle_read_string(gbx_tensor_bundle *b, const char *key, char **bytes,
                                         size_t *length, gbx_error *error)
{
    Gbxtf__BundleEntryProto *e;
    gbx_status found = entry_of(b, key, &e, error);
    if (found != GBX_OK) return found;
    gbx_status status = GBX_OK;
    if (e->dtype != DT_STRING || (e->shape && e->shape->n_dim != 0))
        status = gbx_fail(error, GBX_ERR_PARSE, "%s: %s is not a string", b->prefix, key);
    else if (e->shard_id < 0 || e->shard_id >= b->shards || e->offset < 0 || e->size < 5 ||
             (uint64_t)e->size > INDEX_LIMIT)
        status = gbx_fail(error, GBX_ERR_PARSE, "%s: the index entry of %s is damaged",
                          b->prefix, key);
    uint8_t *raw = NULL;
    if (status == GBX_OK) status = shard_bytes(b, e->shard_id, e->offset, (size_t)e->size, &raw, error);
    if (status == GBX_OK) {
        const uint8_t *p = raw, *end = raw + e->size;
        uint64_t size;
        if (!varint(&p, end, &size) || (size_t)(end - p) < 4 || size != (uint64_t)(end - p - 4))
            status = gbx_fail(error, GBX_ERR_PARSE, "%s: string %s is damaged", b->prefix, key);
        else if (!(*bytes = malloc((size_t)size + 1)))
            status = gbx_fail(error, GBX_ERR_NOMEM, "out of memory");
        else {
            memcpy(*bytes, p + 4, (size_t)size);
            (*bytes)[size] = '\0';
            *length = (size_t)size;
        }
    }
    free(raw);
    gbxtf__bundle_entry_proto__free_unpacked(e, NULL);
    return status;
}
