/* json.c: see json.h. */

#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const unsigned char *start;
    const unsigned char *p;
    const unsigned char *end;
    char *error;
    size_t error_size;
} parser;

/* Records what is wrong at the current position; returns 0 for `return
 * fail(...)`. Only the first failure is kept: it is the cause. */
static int fail(parser *ps, const char *what) {
    if (ps->error_size > 0 && ps->error[0] == '\0') {
        snprintf(ps->error, ps->error_size, "byte %zu: %s", (size_t)(ps->p - ps->start), what);
    }
    return 0;
}

static void skip_whitespace(parser *ps) {
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')) {
        ps->p++;
    }
}

/* Frees what `value` owns, leaving it a JSON_NULL. */
static void clear(json_value *value) {
    size_t i;
    if (value->type == JSON_ARRAY || value->type == JSON_OBJECT) {
        for (i = 0; i < value->count; i++) {
            clear(&value->items[i]);
            if (value->keys != NULL) {
                clear(&value->keys[i]);
            }
        }
    }
    free(value->string);
    free(value->items);
    free(value->keys);
    memset(value, 0, sizeof *value);
}

static int literal(parser *ps, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0) {
        return fail(ps, "not a JSON value");
    }
    ps->p += n;
    return 1;
}

static int digit(parser *ps) { return ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9'; }

static int parse_integer(parser *ps, json_value *out) {
    int negative = 0;
    uint64_t magnitude = 0;
    uint64_t limit = (uint64_t)INT64_MAX;
    if (*ps->p == '-') {
        negative = 1;
        limit += 1;
        ps->p++;
    }
    if (!digit(ps)) {
        return fail(ps, "a number needs a digit");
    }
    if (*ps->p == '0') {
        ps->p++;
        if (digit(ps)) {
            return fail(ps, "a number may not have a leading zero");
        }
    } else {
        while (digit(ps)) {
            uint64_t d = (uint64_t)(*ps->p - '0');
            if (magnitude > (limit - d) / 10) {
                return fail(ps, "an integer outside int64_t");
            }
            magnitude = magnitude * 10 + d;
            ps->p++;
        }
    }
    if (ps->p < ps->end && (*ps->p == '.' || *ps->p == 'e' || *ps->p == 'E')) {
        return fail(ps, "a number with a fraction or an exponent (only integers are read)");
    }
    out->type = JSON_INTEGER;
    if (!negative) {
        out->integer = (int64_t)magnitude;
    } else if (magnitude == (uint64_t)INT64_MAX + 1) {
        out->integer = INT64_MIN;
    } else {
        out->integer = -(int64_t)magnitude;
    }
    return 1;
}

/* Four hex digits of a \u escape. *out is written on failure too (0), so
 * no caller can read it unset: GCC 12 at -O2 cannot see that fail() returns
 * 0 and warns (-Werror=maybe-uninitialized) about the low surrogate. */
static int hex4(parser *ps, uint32_t *out) {
    uint32_t v = 0;
    int i;
    *out = 0;
    if (ps->end - ps->p < 4) {
        return fail(ps, "a \\u escape needs four hex digits");
    }
    for (i = 0; i < 4; i++) {
        unsigned char c = ps->p[i];
        uint32_t d;
        if (c >= '0' && c <= '9') {
            d = (uint32_t)(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            d = (uint32_t)(c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            d = (uint32_t)(c - 'A' + 10);
        } else {
            return fail(ps, "a \\u escape needs four hex digits");
        }
        v = v << 4 | d;
    }
    ps->p += 4;
    *out = v;
    return 1;
}

/* Appends the UTF-8 encoding of the scalar value `c` at `out`; returns the
 * number of bytes (1 to 4). */
static size_t put_utf8(uint32_t c, char *out) {
    if (c < 0x80) {
        out[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        out[0] = (char)(0xC0 | c >> 6);
        out[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        out[0] = (char)(0xE0 | c >> 12);
        out[1] = (char)(0x80 | (c >> 6 & 0x3F));
        out[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | c >> 18);
    out[1] = (char)(0x80 | (c >> 12 & 0x3F));
    out[2] = (char)(0x80 | (c >> 6 & 0x3F));
    out[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

/* The length of the well-formed UTF-8 sequence at ps->p (RFC 3629), or 0. */
static size_t utf8_sequence(const parser *ps) {
    const unsigned char *s = ps->p;
    size_t avail = (size_t)(ps->end - s), n, i;
    uint32_t c, min;
    if (s[0] < 0x80) {
        return 1;
    } else if ((s[0] & 0xE0) == 0xC0) {
        n = 2, c = s[0] & 0x1Fu, min = 0x80;
    } else if ((s[0] & 0xF0) == 0xE0) {
        n = 3, c = s[0] & 0x0Fu, min = 0x800;
    } else if ((s[0] & 0xF8) == 0xF0) {
        n = 4, c = s[0] & 0x07u, min = 0x10000;
    } else {
        return 0;
    }
    if (avail < n) {
        return 0;
    }
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            return 0;
        }
        c = c << 6 | (s[i] & 0x3Fu);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
        return 0;
    }
    return n;
}

/* A \u escape after its backslash and 'u', a surrogate pair included. */
static int unicode_escape(parser *ps, uint32_t *out) {
    uint32_t c, low;
    if (!hex4(ps, &c)) {
        return 0;
    }
    if (c >= 0xDC00 && c <= 0xDFFF) {
        return fail(ps, "a \\u escape of a lone low surrogate");
    }
    if (c >= 0xD800 && c <= 0xDBFF) {
        if (ps->end - ps->p < 2 || ps->p[0] != '\\' || ps->p[1] != 'u') {
            return fail(ps, "a high surrogate not followed by a \\u escape");
        }
        ps->p += 2;
        if (!hex4(ps, &low)) {
            return 0;
        }
        if (low < 0xDC00 || low > 0xDFFF) {
            return fail(ps, "a high surrogate not followed by a low one");
        }
        c = 0x10000 + ((c - 0xD800) << 10) + (low - 0xDC00);
    }
    *out = c;
    return 1;
}

/* A string, its opening quote at ps->p. Every escape is no longer than
 * what it stands for, so the decoded bytes fit in the raw span. */
static int parse_string(parser *ps, json_value *out) {
    const unsigned char *q = ps->p + 1;
    char *buf;
    size_t len = 0;
    while (q < ps->end && *q != '"') {
        q += (*q == '\\' && q + 1 < ps->end) ? 2 : 1;
    }
    if (q >= ps->end) {
        return fail(ps, "an unterminated string");
    }
    buf = malloc((size_t)(q - ps->p));
    if (buf == NULL) {
        return fail(ps, "out of memory");
    }
    out->type = JSON_STRING;
    out->string = buf;
    ps->p++;
    while (*ps->p != '"') {
        unsigned char c = *ps->p;
        if (c < 0x20) {
            return fail(ps, "a control character inside a string");
        }
        if (c == '\\') {
            uint32_t code;
            ps->p++;
            switch (*ps->p++) {
            case '"': buf[len++] = '"'; break;
            case '\\': buf[len++] = '\\'; break;
            case '/': buf[len++] = '/'; break;
            case 'b': buf[len++] = '\b'; break;
            case 'f': buf[len++] = '\f'; break;
            case 'n': buf[len++] = '\n'; break;
            case 'r': buf[len++] = '\r'; break;
            case 't': buf[len++] = '\t'; break;
            case 'u':
                if (!unicode_escape(ps, &code)) {
                    return 0;
                }
                len += put_utf8(code, buf + len);
                break;
            default:
                ps->p--;
                return fail(ps, "an unknown escape");
            }
        } else {
            size_t n = utf8_sequence(ps);
            if (n == 0) {
                return fail(ps, "a string that is not UTF-8");
            }
            memcpy(buf + len, ps->p, n);
            len += n;
            ps->p += n;
        }
    }
    ps->p++;
    buf[len] = '\0';
    out->length = len;
    return 1;
}

static int parse_value(parser *ps, json_value *out, unsigned depth);

/* Appends `item` (and `key`, for an object) to the container `out`, which
 * takes them over; frees them on failure. */
static int append(parser *ps, json_value *out, json_value *item, json_value *key) {
    json_value *items = realloc(out->items, (out->count + 1) * sizeof *items);
    if (items != NULL) {
        out->items = items;
    }
    if (items != NULL && key != NULL) {
        json_value *keys = realloc(out->keys, (out->count + 1) * sizeof *keys);
        if (keys == NULL) {
            items = NULL;
        } else {
            out->keys = keys;
            keys[out->count] = *key;
        }
    }
    if (items == NULL) {
        clear(item);
        if (key != NULL) {
            clear(key);
        }
        return fail(ps, "out of memory");
    }
    items[out->count++] = *item;
    return 1;
}

/* An array or an object, its opening bracket at ps->p. */
static int parse_container(parser *ps, json_value *out, unsigned depth) {
    int object = *ps->p == '{';
    char close = object ? '}' : ']';
    size_t i;
    if (depth >= JSON_MAX_DEPTH) {
        return fail(ps, "nested too deeply");
    }
    out->type = object ? JSON_OBJECT : JSON_ARRAY;
    ps->p++;
    skip_whitespace(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        return 1;
    }
    for (;;) {
        json_value key, item;
        memset(&key, 0, sizeof key);
        memset(&item, 0, sizeof item);
        skip_whitespace(ps);
        if (object) {
            if (ps->p >= ps->end || *ps->p != '"') {
                return fail(ps, "an object key must be a string");
            }
            if (!parse_string(ps, &key)) {
                clear(&key);
                return 0;
            }
            for (i = 0; i < out->count; i++) {
                if (out->keys[i].length == key.length && memcmp(out->keys[i].string, key.string, key.length) == 0) {
                    clear(&key);
                    return fail(ps, "a duplicate key");
                }
            }
            skip_whitespace(ps);
            if (ps->p >= ps->end || *ps->p != ':') {
                clear(&key);
                return fail(ps, "a key must be followed by ':'");
            }
            ps->p++;
        }
        if (!parse_value(ps, &item, depth + 1)) {
            clear(&item);
            clear(&key);
            return 0;
        }
        if (!append(ps, out, &item, object ? &key : NULL)) {
            return 0;
        }
        skip_whitespace(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == close) {
            ps->p++;
            return 1;
        }
        return fail(ps, object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static int parse_value(parser *ps, json_value *out, unsigned depth) {
    skip_whitespace(ps);
    if (ps->p >= ps->end) {
        return fail(ps, "a value is missing");
    }
    switch (*ps->p) {
    case '{':
    case '[':
        return parse_container(ps, out, depth);
    case '"':
        return parse_string(ps, out);
    case 't':
        out->type = JSON_BOOL;
        out->boolean = true;
        return literal(ps, "true");
    case 'f':
        out->type = JSON_BOOL;
        return literal(ps, "false");
    case 'n':
        return literal(ps, "null");
    default:
        if (*ps->p == '-' || digit(ps)) {
            return parse_integer(ps, out);
        }
        return fail(ps, "not a JSON value");
    }
}

json_value *json_parse(const char *text, size_t len, char *error, size_t error_size) {
    parser ps;
    json_value *root;
    if (error_size > 0) {
        error[0] = '\0';
    }
    ps.start = ps.p = (const unsigned char *)text;
    ps.end = ps.start + len;
    ps.error = error;
    ps.error_size = error_size;
    if (len > JSON_MAX_INPUT) {
        fail(&ps, "the input is over JSON_MAX_INPUT bytes");
        return NULL;
    }
    root = calloc(1, sizeof *root);
    if (root == NULL) {
        fail(&ps, "out of memory");
        return NULL;
    }
    if (parse_value(&ps, root, 0)) {
        skip_whitespace(&ps);
        if (ps.p == ps.end) {
            return root;
        }
        fail(&ps, "text after the value");
    }
    json_free(root);
    return NULL;
}

json_value *json_read_file(const char *path, char *error, size_t error_size) {
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    size_t len = 0, cap = 0;
    json_value *root = NULL;
    if (f == NULL) {
        snprintf(error, error_size, "cannot open %s", path);
        return NULL;
    }
    for (;;) {
        if (len == cap) {
            char *grown = NULL;
            if (cap <= JSON_MAX_INPUT) {
                cap = cap == 0 ? 65536 : cap * 2;
                grown = realloc(text, cap);
            }
            if (grown == NULL) {
                snprintf(error, error_size, "%s: over JSON_MAX_INPUT bytes, or out of memory", path);
                break;
            }
            text = grown;
        }
        len += fread(text + len, 1, cap - len, f);
        if (ferror(f)) {
            snprintf(error, error_size, "cannot read %s", path);
            break;
        }
        if (feof(f)) {
            root = json_parse(text, len, error, error_size);
            break;
        }
    }
    fclose(f);
    free(text);
    return root;
}

void json_free(json_value *value) {
    if (value != NULL) {
        clear(value);
        free(value);
    }
}

const json_value *json_member(const json_value *object, const char *key) {
    size_t i, n = strlen(key);
    if (object == NULL || object->type != JSON_OBJECT) {
        return NULL;
    }
    for (i = 0; i < object->count; i++) {
        if (object->keys[i].length == n && memcmp(object->keys[i].string, key, n) == 0) {
            return &object->items[i];
        }
    }
    return NULL;
}
