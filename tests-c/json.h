/* json.h: a small, strict JSON reader (RFC 8259) for the C harness, which
 * reads the shared test vectors with it.
 *
 * Strict: exactly one value with only whitespace around it; UTF-8 only
 * (no overlong forms, surrogates or code points past U+10FFFF, in the raw
 * text or through \u escapes); no control characters inside strings; no
 * duplicate keys in an object. Numbers must be integers within int64_t:
 * a fraction or an exponent is refused rather than rounded.
 *
 * Bounded and total: at most JSON_MAX_INPUT bytes and JSON_MAX_DEPTH
 * levels of nesting; any input gives either a tree or a message saying
 * what is wrong and at which byte, never undefined behaviour.
 *
 * Strings keep their exact bytes and length: a \u0000 escape is a NUL byte
 * inside the string (which a C string argument could not carry), so check
 * `length` before treating `string` as a C string. */
#ifndef CHARTER_TESTS_JSON_H
#define CHARTER_TESTS_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_INPUT ((size_t)64 << 20)
#define JSON_MAX_DEPTH 64

typedef enum { JSON_NULL, JSON_BOOL, JSON_INTEGER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } json_type;

typedef struct json_value {
    json_type type;
    /* JSON_BOOL */
    bool boolean;
    /* JSON_INTEGER */
    int64_t integer;
    /* JSON_STRING: `length` bytes, then a NUL terminator */
    char *string;
    size_t length;
    /* JSON_ARRAY and JSON_OBJECT: `count` values; an object's keys[i]
     * (each a JSON_STRING) names items[i] */
    size_t count;
    struct json_value *items;
    struct json_value *keys;
} json_value;

/* Parses the `len` bytes at `text`. Returns the tree (free it with
 * json_free), or NULL with a message in `error` (`error_size` bytes). */
json_value *json_parse(const char *text, size_t len, char *error, size_t error_size);

/* Reads and parses the file at `path`, as json_parse. */
json_value *json_read_file(const char *path, char *error, size_t error_size);

/* Frees a tree from json_parse or json_read_file. NULL is allowed. */
void json_free(json_value *value);

/* The member `key` of `object`, or NULL when `object` is not an object or
 * has no such member. */
const json_value *json_member(const json_value *object, const char *key);

#endif
