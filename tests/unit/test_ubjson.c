/* The UBJSON decoder on hand-assembled byte strings covering the draft-12 types, optimized
 * containers and no-ops (XGBoost's own files exercise only part of the format; the conformance
 * test loads those), and the errors: each names the byte where decoding stopped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "io/ubjson.h"

#include <string.h>

static json_object *parse_ok(const char *bytes, size_t length)
{
    json_object *value = NULL;
    gbx_error error = {0};
    gbx_status status = gbx_ubjson_parse((const unsigned char *)bytes, length, &value, &error);
    if (status != GBX_OK) fail_msg("unexpected error: %s", error.message);
    return value;
}

static void expect_error(const char *bytes, size_t length, const char *fragment)
{
    json_object *value = NULL;
    gbx_error error = {0};
    assert_int_equal(gbx_ubjson_parse((const unsigned char *)bytes, length, &value, &error),
                     GBX_ERR_PARSE);
    assert_null(value);
    if (!strstr(error.message, fragment))
        fail_msg("message \"%s\" lacks \"%s\"", error.message, fragment);
}

#define PARSE(literal) parse_ok(literal, sizeof literal - 1)
#define EXPECT_ERROR(literal, fragment) expect_error(literal, sizeof literal - 1, fragment)

static void test_scalars(void **state)
{
    (void)state;
    json_object *o = PARSE("{"
                           "i\x02" "i8" "i\xfe"
                           "i\x02" "u8" "U\xfe"
                           "i\x03" "i16" "I\xff\x00"
                           "i\x03" "i32" "l\x80\x00\x00\x00"
                           "i\x03" "i64" "L\x00\x00\x01\x00\x00\x00\x00\x00"
                           "i\x03" "f32" "d\x3f\xc0\x00\x00"
                           "i\x03" "f64" "D\xc0\x09\x21\xfb\x54\x44\x2d\x18"
                           "i\x01" "s" "Si\x05hello"
                           "i\x01" "c" "Cx"
                           "i\x01" "h" "Hi\x04" "1e99"
                           "i\x01" "t" "T"
                           "i\x01" "f" "F"
                           "i\x01" "z" "Z"
                           "}");
    json_object *v;
    assert_true(json_object_object_get_ex(o, "i8", &v));
    assert_int_equal(json_object_get_int64(v), -2);
    json_object_object_get_ex(o, "u8", &v);
    assert_int_equal(json_object_get_int64(v), 254);
    json_object_object_get_ex(o, "i16", &v);
    assert_int_equal(json_object_get_int64(v), -256);
    json_object_object_get_ex(o, "i32", &v);
    assert_int_equal(json_object_get_int64(v), INT32_MIN);
    json_object_object_get_ex(o, "i64", &v);
    assert_int_equal(json_object_get_int64(v), 1LL << 40);
    json_object_object_get_ex(o, "f32", &v);
    assert_true(json_object_get_double(v) == 1.5);
    json_object_object_get_ex(o, "f64", &v);
    assert_true(json_object_get_double(v) == -3.141592653589793);
    json_object_object_get_ex(o, "s", &v);
    assert_string_equal(json_object_get_string(v), "hello");
    json_object_object_get_ex(o, "c", &v);
    assert_string_equal(json_object_get_string(v), "x");
    json_object_object_get_ex(o, "h", &v);
    assert_string_equal(json_object_get_string(v), "1e99");
    json_object_object_get_ex(o, "t", &v);
    assert_true(json_object_get_boolean(v));
    json_object_object_get_ex(o, "f", &v);
    assert_false(json_object_get_boolean(v));
    assert_true(json_object_object_get_ex(o, "z", &v));
    assert_null(v);
    json_object_put(o);
}

static void test_containers(void **state)
{
    (void)state;
    /* Typed and counted float32 array, as XGBoost writes split_conditions. */
    json_object *a = PARSE("[$d#i\x03\x3f\x80\x00\x00\x40\x00\x00\x00\xbf\x00\x00\x00");
    assert_int_equal(json_object_array_length(a), 3);
    assert_true(json_object_get_double(json_object_array_get_idx(a, 2)) == -0.5);
    json_object_put(a);
    /* Counted, untyped, with no-ops between elements; nested containers. */
    a = PARSE("N[#i\x03" "N" "i\x01" "[i\x02]" "{i\x01kSi\x01v}");
    assert_int_equal(json_object_array_length(a), 3);
    assert_int_equal(json_object_array_length(json_object_array_get_idx(a, 1)), 1);
    json_object_put(a);
    /* Typed and counted object (a count replaces the closing marker); an empty typed array. */
    json_object *o = PARSE("{$U#i\x02i\x01" "a" "\x07" "i\x01" "b" "\x09");
    json_object *v;
    assert_true(json_object_object_get_ex(o, "b", &v));
    assert_int_equal(json_object_get_int64(v), 9);
    json_object_put(o);
    a = PARSE("[$i#i\x00");
    assert_int_equal(json_object_array_length(a), 0);
    json_object_put(a);
}

static void test_errors(void **state)
{
    (void)state;
    EXPECT_ERROR("[i\x01i", "truncated at byte 4");
    EXPECT_ERROR("{i\x03" "abc", "truncated at byte 6");
    EXPECT_ERROR("{$U#i\x01i\x01" "a" "\x07}", "1 trailing bytes");
    EXPECT_ERROR("[i\x01?]", "unknown marker 0x3f at byte 3");
    EXPECT_ERROR("i\x01i\x02", "2 trailing bytes");
    EXPECT_ERROR("[$i]", "'$' without '#' at byte 3");
    EXPECT_ERROR("[#i\xff", "bad length -1");
    EXPECT_ERROR("Si\x7f" "abc", "bad length 127");
    EXPECT_ERROR("[#S", "expected an integer type at byte 3");
    char deep[80];
    memset(deep, '[', sizeof deep);
    expect_error(deep, sizeof deep, "nesting deeper than 64");
    EXPECT_ERROR("", "truncated at byte 0");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalars),
        cmocka_unit_test(test_containers),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
