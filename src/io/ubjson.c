#include "ubjson.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#define MAX_DEPTH 64

typedef struct {
    const unsigned char *bytes;
    size_t length;
    size_t offset;
    gbx_error *error;
} cursor;

static gbx_status truncated(cursor *in)
{
    return gbx_fail(in->error, GBX_ERR_PARSE, "UBJSON truncated at byte %zu", in->offset);
}

static gbx_status take(cursor *in, size_t count, const unsigned char **out)
{
    if (count > in->length - in->offset) return truncated(in);
    *out = in->bytes + in->offset;
    in->offset += count;
    return GBX_OK;
}

static uint64_t big_endian(const unsigned char *p, int size)
{
    uint64_t value = 0;
    for (int i = 0; i < size; i++) value = value << 8 | p[i];
    return value;
}

static int integer_size(unsigned char marker)
{
    switch (marker) {
    case 'i': case 'U': return 1;
    case 'I': return 2;
    case 'l': return 4;
    case 'L': return 8;
    default: return 0;
    }
}

/* Reads an integer of the given marker's type. */
static gbx_status read_integer(cursor *in, unsigned char marker, int64_t *out)
{
    int size = integer_size(marker);
    const unsigned char *p = NULL;
    if (!size)
        return gbx_fail(in->error, GBX_ERR_PARSE, "UBJSON: expected an integer type at byte %zu, "
                        "found marker 0x%02x", in->offset, marker);
    gbx_status status = take(in, (size_t)size, &p);
    if (status != GBX_OK) return status;
    uint64_t bits = big_endian(p, size);
    switch (marker) {
    case 'i': *out = (int8_t)bits; break;
    case 'U': *out = (uint8_t)bits; break;
    case 'I': *out = (int16_t)bits; break;
    case 'l': *out = (int32_t)bits; break;
    default: *out = (int64_t)bits; break;
    }
    return GBX_OK;
}

static gbx_status read_length(cursor *in, size_t *out)
{
    const unsigned char *marker = NULL;
    int64_t value;
    gbx_status status = take(in, 1, &marker);
    if (status == GBX_OK) status = read_integer(in, *marker, &value);
    if (status != GBX_OK) return status;
    if (value < 0 || (uint64_t)value > in->length)
        return gbx_fail(in->error, GBX_ERR_PARSE, "UBJSON: bad length %lld at byte %zu",
                        (long long)value, in->offset);
    *out = (size_t)value;
    return GBX_OK;
}

static gbx_status read_string(cursor *in, json_object **out)
{
    size_t length;
    const unsigned char *text = NULL;
    gbx_status status = read_length(in, &length);
    if (status == GBX_OK) status = take(in, length, &text);
    if (status != GBX_OK) return status;
    *out = json_object_new_string_len((const char *)text, (int)length);
    return *out ? GBX_OK : gbx_fail(in->error, GBX_ERR_NOMEM, "UBJSON: out of memory");
}

static gbx_status read_value(cursor *in, unsigned char marker, int depth, json_object **out);

/* Reads the optional "$type" and "#count" header of an optimized container. */
static gbx_status read_container_header(cursor *in, unsigned char *type, size_t *count,
                                        int *counted)
{
    *type = 0;
    *counted = 0;
    if (in->offset < in->length && in->bytes[in->offset] == '$') {
        const unsigned char *p = NULL;
        in->offset++;
        gbx_status status = take(in, 1, &p);
        if (status != GBX_OK) return status;
        *type = *p;
        if (in->offset >= in->length || in->bytes[in->offset] != '#')
            return gbx_fail(in->error, GBX_ERR_PARSE, "UBJSON: '$' without '#' at byte %zu",
                            in->offset);
    }
    if (in->offset < in->length && in->bytes[in->offset] == '#') {
        in->offset++;
        *counted = 1;
        return read_length(in, count);
    }
    return GBX_OK;
}

static gbx_status next_marker(cursor *in, unsigned char *marker)
{
    const unsigned char *p = NULL;
    do {
        gbx_status status = take(in, 1, &p);
        if (status != GBX_OK) return status;
    } while (*p == 'N');
    *marker = *p;
    return GBX_OK;
}

static gbx_status read_array(cursor *in, int depth, json_object **out)
{
    unsigned char type;
    size_t count = 0;
    int counted;
    gbx_status status = read_container_header(in, &type, &count, &counted);
    if (status != GBX_OK) return status;
    json_object *array = json_object_new_array_ext(counted ? (int)(count < 1u << 20 ? count : 1u << 20) : 8);
    if (!array) return gbx_fail(in->error, GBX_ERR_NOMEM, "UBJSON: out of memory");
    for (size_t i = 0; !counted || i < count; i++) {
        unsigned char marker = type;
        if (!type) {
            status = next_marker(in, &marker);
            if (status != GBX_OK) break;
            if (!counted && marker == ']') break;
        }
        json_object *element;
        status = read_value(in, marker, depth + 1, &element);
        if (status != GBX_OK) break;
        json_object_array_add(array, element);
    }
    if (status != GBX_OK) {
        json_object_put(array);
        return status;
    }
    *out = array;
    return GBX_OK;
}

static gbx_status read_object(cursor *in, int depth, json_object **out)
{
    unsigned char type;
    size_t count = 0;
    int counted;
    gbx_status status = read_container_header(in, &type, &count, &counted);
    if (status != GBX_OK) return status;
    json_object *object = json_object_new_object();
    if (!object) return gbx_fail(in->error, GBX_ERR_NOMEM, "UBJSON: out of memory");
    for (size_t i = 0; !counted || i < count; i++) {
        if (!counted) {
            while (in->offset < in->length && in->bytes[in->offset] == 'N') in->offset++;
            if (in->offset < in->length && in->bytes[in->offset] == '}') {
                in->offset++;
                break;
            }
        }
        json_object *key, *value;
        status = read_string(in, &key);
        if (status != GBX_OK) break;
        unsigned char marker = type;
        if (!type) status = next_marker(in, &marker);
        if (status == GBX_OK) status = read_value(in, marker, depth + 1, &value);
        if (status == GBX_OK) json_object_object_add(object, json_object_get_string(key), value);
        json_object_put(key);
        if (status != GBX_OK) break;
    }
    if (status != GBX_OK) {
        json_object_put(object);
        return status;
    }
    *out = object;
    return GBX_OK;
}

static gbx_status read_value(cursor *in, unsigned char marker, int depth, json_object **out)
{
    if (depth > MAX_DEPTH)
        return gbx_fail(in->error, GBX_ERR_PARSE, "UBJSON: nesting deeper than %d at byte %zu",
                        MAX_DEPTH, in->offset);
    const unsigned char *p = NULL;
    gbx_status status;
    *out = NULL;
    switch (marker) {
    case 'Z': return GBX_OK; /* json-c represents null as NULL */
    case 'T': *out = json_object_new_boolean(1); break;
    case 'F': *out = json_object_new_boolean(0); break;
    case 'i': case 'U': case 'I': case 'l': case 'L': {
        int64_t value;
        status = read_integer(in, marker, &value);
        if (status != GBX_OK) return status;
        *out = json_object_new_int64(value);
        break;
    }
    case 'd': {
        if ((status = take(in, 4, &p)) != GBX_OK) return status;
        uint32_t bits = (uint32_t)big_endian(p, 4);
        float value;
        memcpy(&value, &bits, 4);
        *out = json_object_new_double(value);
        break;
    }
    case 'D': {
        if ((status = take(in, 8, &p)) != GBX_OK) return status;
        uint64_t bits = big_endian(p, 8);
        double value;
        memcpy(&value, &bits, 8);
        *out = json_object_new_double(value);
        break;
    }
    case 'C':
        if ((status = take(in, 1, &p)) != GBX_OK) return status;
        *out = json_object_new_string_len((const char *)p, 1);
        break;
    case 'S': case 'H': return read_string(in, out);
    case '[': return read_array(in, depth, out);
    case '{': return read_object(in, depth, out);
    default:
        return gbx_fail(in->error, GBX_ERR_PARSE, "UBJSON: unknown marker 0x%02x at byte %zu",
                        marker, in->offset - 1);
    }
    return *out ? GBX_OK : gbx_fail(in->error, GBX_ERR_NOMEM, "UBJSON: out of memory");
}

gbx_status gbx_ubjson_parse(const unsigned char *bytes, size_t length, json_object **out,
                            gbx_error *error)
{
    cursor in = {bytes, length, 0, error};
    unsigned char marker;
    json_object *value = NULL;
    gbx_status status = next_marker(&in, &marker);
    if (status == GBX_OK) status = read_value(&in, marker, 0, &value);
    if (status != GBX_OK) return status;
    if (in.offset != length) {
        json_object_put(value);
        return gbx_fail(error, GBX_ERR_PARSE, "UBJSON: %zu trailing bytes after the value",
                        length - in.offset);
    }
    *out = value;
    return GBX_OK;
}
