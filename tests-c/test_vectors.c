/* The shared test vectors (the JSON files of vectors/, see its README) checked
 * through the C ABI, case by case, as the Rust runner
 * (vectors/generate/tests/vectors.rs) checks them through the core.
 *
 * Every file in the directory must have a checker here, so a new vector
 * file cannot go unchecked. A failing case is reported and counted, the
 * rest still run; the closing line gives the counts. A malformed vector
 * file (a missing field, a wrong type) stops the test at once. */
#include <dirent.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "check.h"
#include "json.h"

#ifndef CHARTER_VECTORS_DIR
#error "CHARTER_VECTORS_DIR must name the vectors directory (tests-c/CMakeLists.txt defines it)"
#endif

#define HASH_LEN CHARTER_AUDIT_HASH_LEN

static unsigned long passed, failed;

/* ---- Reading the vectors: anything unexpected is fatal ---- */

static const char *current_file = "";

static void die(const char *fmt, ...) {
    va_list args;
    fprintf(stderr, "vectors/%s: ", current_file);
    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);
    fputc('\n', stderr);
    exit(1);
}

static const json_value *get(const json_value *object, const char *key, json_type type) {
    const json_value *v = json_member(object, key);
    if (v == NULL || v->type != type) {
        die("\"%s\" is missing or of the wrong type", key);
    }
    return v;
}

/* The string `key`, which must hold no NUL byte. */
static const char *text(const json_value *object, const char *key) {
    const json_value *v = get(object, key, JSON_STRING);
    if (memchr(v->string, '\0', v->length) != NULL) {
        die("\"%s\" holds a NUL byte", key);
    }
    return v->string;
}

/* The string `key`, or NULL for a JSON null. */
static const char *text_or_null(const json_value *object, const char *key) {
    const json_value *v = json_member(object, key);
    if (v != NULL && v->type == JSON_NULL) {
        return NULL;
    }
    return text(object, key);
}

static bool flag(const json_value *object, const char *key) { return get(object, key, JSON_BOOL)->boolean; }

static int64_t integer(const json_value *object, const char *key) {
    return get(object, key, JSON_INTEGER)->integer;
}

static uint64_t natural(const json_value *object, const char *key) {
    int64_t v = integer(object, key);
    if (v < 0) {
        die("\"%s\" is negative", key);
    }
    return (uint64_t)v;
}

static int32_t int32_of(const json_value *object, const char *key) {
    int64_t v = integer(object, key);
    if (v < INT32_MIN || v > INT32_MAX) {
        die("\"%s\" is not an int32", key);
    }
    return (int32_t)v;
}

static const json_value *list(const json_value *object, const char *key) {
    return get(object, key, JSON_ARRAY);
}

/* Element `i` of `array`, of type `type`. */
static const json_value *at(const json_value *array, size_t i, json_type type) {
    if (i >= array->count || array->items[i].type != type) {
        die("element %zu is missing or of the wrong type", i);
    }
    return &array->items[i];
}

static int nibble(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

/* The bytes of the lowercase hex string `s`, malloc'd (at least one byte
 * so an empty string still gives a pointer); their count in `len`. */
static uint8_t *unhex(const json_value *s, size_t *len) {
    uint8_t *out;
    size_t i;
    if (s->type != JSON_STRING || s->length % 2 != 0) {
        die("a hex string of odd length or not a string");
    }
    out = malloc(s->length / 2 + 1);
    CHECK(out != NULL);
    for (i = 0; i < s->length / 2; i++) {
        int hi = nibble(s->string[2 * i]), lo = nibble(s->string[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            die("\"%s\" is not lowercase hex", s->string);
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    *len = s->length / 2;
    return out;
}

/* The 32-byte hash in the hex string `s`. */
static void hash_of(const json_value *s, uint8_t out[HASH_LEN]) {
    size_t len;
    uint8_t *bytes = unhex(s, &len);
    if (len != HASH_LEN) {
        die("a hash of %zu bytes", len);
    }
    memcpy(out, bytes, HASH_LEN);
    free(bytes);
}

/* The hashes of the array `proof`, concatenated and malloc'd. */
static uint8_t *proof_of(const json_value *proof, size_t *len) {
    uint8_t *out = malloc(proof->count * HASH_LEN + 1);
    size_t i;
    CHECK(out != NULL);
    for (i = 0; i < proof->count; i++) {
        hash_of(at(proof, i, JSON_STRING), out + i * HASH_LEN);
    }
    *len = proof->count * HASH_LEN;
    return out;
}

/* ---- Cases ---- */

typedef struct {
    char where[192];
    bool bad;
} case_t;

static void start(case_t *c, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    vsnprintf(c->where, sizeof c->where, fmt, args);
    va_end(args);
    c->bad = false;
}

/* Notes a failed expectation of case `c` when `ok` is false. */
static void expect(case_t *c, bool ok, const char *fmt, ...) {
    va_list args;
    if (ok) {
        return;
    }
    fprintf(stderr, "FAIL vectors/%s %s: ", current_file, c->where);
    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);
    fputc('\n', stderr);
    c->bad = true;
}

/* Notes that `status` was `want`, with Charter's message when it was not. */
static void expect_status(case_t *c, charter_status_t status, charter_status_t want, const char *call) {
    char *msg;
    if (status == want) {
        return;
    }
    msg = charter_last_error_message();
    expect(c, false, "%s returned %s, expected %s (%s)", call, charter_status_name(status),
           charter_status_name(want), msg != NULL ? msg : "no message");
    charter_string_free(msg);
}

static void finish(case_t *c) {
    if (c->bad) {
        failed++;
    } else {
        passed++;
    }
}

/* ---- status.json ---- */

#define STATUS(name) {name, #name}
static const struct {
    charter_status_t code;
    const char *name;
} STATUSES[] = {
    STATUS(CHARTER_OK),
    STATUS(CHARTER_E_NULL_ARGUMENT),
    STATUS(CHARTER_E_INVALID_ARGUMENT),
    STATUS(CHARTER_E_INVALID_UTF8),
    STATUS(CHARTER_E_INVALID_HANDLE),
    STATUS(CHARTER_E_WRONG_HANDLE_TYPE),
    STATUS(CHARTER_E_HANDLE_FREED),
    STATUS(CHARTER_E_ALREADY_FREED),
    STATUS(CHARTER_E_LIMIT_EXCEEDED),
    STATUS(CHARTER_E_NOT_FOUND),
    STATUS(CHARTER_E_DENIED),
    STATUS(CHARTER_E_EXPIRED),
    STATUS(CHARTER_E_NOT_YET_VALID),
    STATUS(CHARTER_E_REVOKED),
    STATUS(CHARTER_E_BAD_SIGNATURE),
    STATUS(CHARTER_E_MALFORMED),
    STATUS(CHARTER_E_UNTRUSTED_ROOT),
    STATUS(CHARTER_E_WOULD_BLOCK),
    STATUS(CHARTER_E_TIMEOUT),
    STATUS(CHARTER_E_CLOSED),
    STATUS(CHARTER_E_IO),
    STATUS(CHARTER_E_CORRUPT),
    STATUS(CHARTER_E_PANIC),
    STATUS(CHARTER_E_INTERNAL),
    STATUS(CHARTER_E_CANCELLED),
};
#define STATUS_COUNT (sizeof STATUSES / sizeof STATUSES[0])

/* Each case: charter_status_name gives its name, and the header's constant
 * of that name has its code. The header's constants are the vector's,
 * all of them, in order. */
static void check_status(const json_value *file) {
    const json_value *cases = list(file, "cases");
    size_t i, j;
    case_t c;
    start(&c, "the header's status constants");
    expect(&c, cases->count == STATUS_COUNT, "%zu cases, the header has %zu statuses", cases->count,
           (size_t)STATUS_COUNT);
    finish(&c);
    for (i = 0; i < cases->count; i++) {
        const json_value *v = at(cases, i, JSON_OBJECT);
        charter_status_t code = int32_of(v, "code");
        const char *name = text(v, "name");
        bool found = false;
        start(&c, "cases[%zu] (%s)", i, name);
        expect(&c, strcmp(charter_status_name(code), name) == 0, "charter_status_name(%d) is %s", code,
               charter_status_name(code));
        for (j = 0; j < STATUS_COUNT; j++) {
            if (strcmp(STATUSES[j].name, name) == 0) {
                found = true;
                expect(&c, STATUSES[j].code == code, "%s is %d in charter.h", name, STATUSES[j].code);
                expect(&c, j == i, "%s is entry %zu in the header's order", name, j);
            }
        }
        expect(&c, found, "charter.h has no %s", name);
        finish(&c);
    }
}

/* ---- topics.json ---- */

static charter_status_t validity(bool valid) { return valid ? CHARTER_OK : CHARTER_E_INVALID_ARGUMENT; }

/* One validity case. A text with a NUL byte cannot be passed to the C ABI,
 * whose strings end at the first NUL: a C caller can only hand over its
 * prefix. Such a text is invalid as a topic and as a pattern (a NUL is a
 * control character), which is what the vector must say. */
static void check_validity(case_t *c, const json_value *v) {
    const json_value *t = get(v, "text", JSON_STRING);
    bool topic = flag(v, "valid_topic"), pattern = flag(v, "valid_pattern");
    if (memchr(t->string, '\0', t->length) != NULL) {
        expect(c, !topic && !pattern, "a text with a NUL byte is valid in the vector");
        return;
    }
    expect_status(c, charter_topic_validate(t->string), validity(topic), "charter_topic_validate");
    expect_status(c, charter_pattern_validate(t->string), validity(pattern), "charter_pattern_validate");
}

/* A relation between two texts that the C ABI answers with a bool: the
 * vectors' list `name` holds cases {left: .., right: .., answer: bool}. */
typedef struct {
    const char *name, *left, *right, *answer, *infix;
    charter_status_t (*fn)(const char *, const char *, bool *);
    const char *fn_name;
} relation_t;

static const relation_t RELATIONS[] = {
    {"matching", "pattern", "topic", "matches", "~", charter_topic_matches, "charter_topic_matches"},
    {"containment", "inner", "outer", "contained", "in", charter_pattern_contains, "charter_pattern_contains"},
};

static void check_relation(const json_value *file, const relation_t *r) {
    const json_value *cases = list(file, r->name);
    size_t i;
    case_t c;
    for (i = 0; i < cases->count; i++) {
        const json_value *v = at(cases, i, JSON_OBJECT);
        const char *left = text(v, r->left), *right = text(v, r->right);
        bool want = flag(v, r->answer), got = !want;
        start(&c, "%s[%zu] (%s %s %s)", r->name, i, left, r->infix, right);
        expect_status(&c, r->fn(left, right, &got), CHARTER_OK, r->fn_name);
        expect(&c, got == want, "%s is %d, expected %d", r->answer, got, want);
        finish(&c);
    }
}

static void check_topics(const json_value *file) {
    const json_value *validities = list(file, "validity");
    size_t i;
    case_t c;
    for (i = 0; i < validities->count; i++) {
        start(&c, "validity[%zu]", i);
        check_validity(&c, at(validities, i, JSON_OBJECT));
        finish(&c);
    }
    for (i = 0; i < sizeof RELATIONS / sizeof RELATIONS[0]; i++) check_relation(file, &RELATIONS[i]);
}

/* ---- tokens.json ---- */

/* The principal of the public key `pk` in the file's key table, or NULL. */
static const char *principal_of(const json_value *keys, const char *pk) {
    size_t i;
    for (i = 0; i < keys->count; i++) {
        const json_value *k = at(keys, i, JSON_OBJECT);
        if (strcmp(text(k, "public_key"), pk) == 0) {
            return text(k, "principal");
        }
    }
    return NULL;
}

/* The checks of a valid case: the holder (principal and subject), the text
 * form and the link ids. */
static void check_valid_token(case_t *c, const json_value *v, const json_value *keys, charter_token_t *tok,
                              const char *principal, const uint8_t *bytes, size_t len) {
    const char *subject = text(v, "subject");
    const char *want_principal = principal_of(keys, subject);
    const json_value *ids = list(v, "link_ids");
    charter_token_t *parsed = NULL;
    char *inspect = NULL, *line = NULL, *id;
    uint8_t *encoded = NULL;
    size_t encoded_len = 0, links = 0, i;
    charter_status_t st;

    expect(c, want_principal != NULL, "the subject %s is not in the key table", subject);
    expect(c, want_principal == NULL || strcmp(principal, want_principal) == 0,
           "the holder is %s, expected %s (the subject's principal)", principal,
           want_principal ? want_principal : "?");

    /* The last link's subject, as charter_token_inspect shows it. */
    st = charter_token_inspect(tok, &inspect);
    expect_status(c, st, CHARTER_OK, "charter_token_inspect");
    if (st == CHARTER_OK) {
        char *next;
        for (next = strstr(inspect, "\n  subject  "); next != NULL; next = strstr(next + 1, "\n  subject  ")) {
            line = next + strlen("\n  subject  ");
        }
        expect(c, line != NULL && strncmp(line, subject, strlen(subject)) == 0 && line[strlen(subject)] == ' ',
               "the last link's subject is not %s in:\n%s", subject, inspect);
    }
    charter_string_free(inspect);

    st = charter_token_from_text(text(v, "token_text"), &parsed);
    expect_status(c, st, CHARTER_OK, "charter_token_from_text");
    if (st == CHARTER_OK) {
        st = charter_token_encode(parsed, &encoded, &encoded_len);
        expect_status(c, st, CHARTER_OK, "charter_token_encode");
        expect(c, st != CHARTER_OK || (encoded_len == len && memcmp(encoded, bytes, len) == 0),
               "token_text does not decode to token_hex");
        charter_bytes_free(encoded, encoded_len);
        CHECK_OK(charter_token_free(parsed));
    }

    CHECK_OK(charter_token_link_count(tok, &links));
    expect(c, links == ids->count, "%zu links, expected %zu", links, ids->count);
    for (i = 0; i < links && i < ids->count; i++) {
        const char *want = at(ids, i, JSON_STRING)->string;
        CHECK_OK(charter_token_link_id(tok, i, &id));
        expect(c, strcmp(id, want) == 0, "link %zu has id %s, expected %s", i, id, want);
        charter_string_free(id);
    }
}

static void check_token(case_t *c, const json_value *v, const json_value *keys, uint64_t skew,
                        uint64_t lifetime) {
    const json_value *roots_v = list(v, "roots"), *revoked = list(v, "revoked");
    const char *want = text(v, "expect");
    const char **roots = malloc((roots_v->count + 1) * sizeof *roots);
    charter_authority_options_t opts;
    charter_authority_t *auth = NULL;
    charter_token_t *tok = NULL;
    char *principal = NULL;
    size_t len, i;
    uint8_t *bytes = unhex(get(v, "token_hex", JSON_STRING), &len);
    charter_status_t st;

    CHECK(roots != NULL);
    for (i = 0; i < roots_v->count; i++) {
        roots[i] = at(roots_v, i, JSON_STRING)->string;
    }
    CHECK_OK(charter_authority_options_default(&opts));
    opts.max_lifetime_s = lifetime;
    opts.clock_skew_s = skew;
    /* fixed_time 0 would mean the system clock. */
    opts.fixed_time = natural(v, "now");
    if (opts.fixed_time == 0) {
        die("a token case with \"now\" 0");
    }
    st = charter_authority_new(roots, roots_v->count, &opts, &auth);
    expect_status(c, st, CHARTER_OK, "charter_authority_new");
    for (i = 0; st == CHARTER_OK && i < revoked->count; i++) {
        bool fresh = false;
        expect_status(c, charter_authority_revoke(auth, at(revoked, i, JSON_STRING)->string, &fresh), CHARTER_OK,
                      "charter_authority_revoke");
        expect(c, fresh, "revoked[%zu] was already revoked", i);
    }
    if (st == CHARTER_OK) {
        st = charter_token_decode(bytes, len, &tok);
        if (st == CHARTER_OK) {
            st = charter_authority_verify(auth, tok, &principal);
        }
        expect(c, strcmp(charter_status_name(st), want) == 0, "the outcome is %s, expected %s",
               charter_status_name(st), want);
        if (st == CHARTER_OK && strcmp(want, "CHARTER_OK") == 0) {
            check_valid_token(c, v, keys, tok, principal, bytes, len);
        }
    }
    charter_string_free(principal);
    CHECK_OK(charter_token_free(tok));
    CHECK_OK(charter_authority_free(auth));
    free(bytes);
    free(roots);
}

static void check_tokens(const json_value *file) {
    const json_value *cases = list(file, "cases"), *keys = list(file, "keys");
    uint64_t skew = natural(file, "clock_skew"), lifetime = natural(file, "max_lifetime");
    size_t i;
    case_t c;
    for (i = 0; i < cases->count; i++) {
        const json_value *v = at(cases, i, JSON_OBJECT);
        start(&c, "cases[%zu] (%s)", i, text(v, "name"));
        check_token(&c, v, keys, skew, lifetime);
        finish(&c);
    }
}

/* ---- audit.json ---- */

static int32_t decision_of(const char *name) {
    int32_t d = strcmp(name, "allow") == 0   ? CHARTER_AUDIT_ALLOW
                : strcmp(name, "deny") == 0  ? CHARTER_AUDIT_DENY
                : strcmp(name, "error") == 0 ? CHARTER_AUDIT_ERROR
                                             : -1;
    if (d < 0) {
        die("unknown decision \"%s\"", name);
    }
    return d;
}


/* When the file has a checkpoint of `size` records, the log (now of that
 * size) signs exactly its note: Ed25519 signatures are deterministic. */
static void check_log_checkpoint(case_t *c, charter_audit_t *log, const json_value *checkpoints,
                                 uint64_t size) {
    size_t i;
    for (i = 0; i < checkpoints->count; i++) {
        const json_value *cp = at(checkpoints, i, JSON_OBJECT);
        char *note = NULL;
        if (natural(cp, "size") != size) {
            continue;
        }
        CHECK_OK(charter_audit_checkpoint(log, &note));
        expect(c, strcmp(note, text(cp, "note")) == 0, "the log signs\n%s\nnot checkpoints[%zu]", note, i);
        charter_string_free(note);
    }
}

/* Appends every record to a fresh log signing as the file's signer: each
 * gets its index and leaf hash, the root after n appends is roots[n], and
 * the log signs the file's checkpoints. The leaf hashes of the records'
 * canonical encodings go to `leaves`. */
static charter_audit_t *check_records(const json_value *file, const json_value *records, const json_value *roots,
                                      uint8_t (*leaves)[HASH_LEN]) {
    const json_value *checkpoints = list(file, "checkpoints");
    charter_audit_options_t opts;
    charter_keypair_t *signer = NULL;
    charter_audit_t *log = NULL;
    char *vkey = NULL;
    uint8_t root[HASH_LEN], want[HASH_LEN], *der;
    size_t i, der_len;
    case_t c;

    der = unhex(get(get(file, "signer", JSON_OBJECT), "pkcs8_hex", JSON_STRING), &der_len);
    CHECK_OK(charter_keypair_from_pkcs8(der, der_len, &signer));
    free(der);
    CHECK_OK(charter_audit_options_default(&opts));
    opts.signer = signer;
    opts.origin = text(file, "origin");
    CHECK_OK(charter_audit_in_memory(&opts, &log));
    CHECK_OK(charter_keypair_free(signer));

    start(&c, "a fresh log");
    CHECK_OK(charter_audit_verifier_key(log, &vkey));
    expect(&c, strcmp(vkey, text(file, "verifier_key")) == 0, "the verifier key is %s", vkey);
    charter_string_free(vkey);
    CHECK_OK(charter_audit_root(log, root));
    hash_of(at(roots, 0, JSON_STRING), want);
    expect(&c, memcmp(root, want, HASH_LEN) == 0, "the empty root is not roots[0]");
    check_log_checkpoint(&c, log, checkpoints, 0);
    finish(&c);

    for (i = 0; i < records->count; i++) {
        const json_value *v = at(records, i, JSON_OBJECT);
        charter_audit_record_t r;
        uint8_t *leaf, hash[HASH_LEN];
        uint64_t index = UINT64_MAX;
        size_t leaf_len;
        charter_status_t st;
        start(&c, "records[%zu]", i);
        leaf = unhex(get(v, "leaf_hex", JSON_STRING), &leaf_len);
        hash_of(get(v, "leaf_hash_hex", JSON_STRING), leaves[i]);
        CHECK_OK(charter_audit_leaf_hash(leaf, leaf_len, hash));
        expect(&c, memcmp(hash, leaves[i], HASH_LEN) == 0, "the leaf hash of leaf_hex is not leaf_hash_hex");
        free(leaf);

        memset(&r, 0, sizeof r);
        r.time_ms = natural(v, "time");
        r.actor = text_or_null(v, "actor");
        r.actor_unproven = flag(v, "actor_unproven");
        r.action = text(v, "action");
        r.resource = text(v, "resource");
        r.decision = decision_of(text(v, "decision"));
        r.reason = int32_of(v, "reason");
        r.detail = text(v, "detail");
        st = charter_audit_append(log, &r, &index);
        expect_status(&c, st, CHARTER_OK, "charter_audit_append");
        if (st != CHARTER_OK) {
            finish(&c);
            continue;
        }
        expect(&c, index == natural(v, "index") && index == i, "appended at %llu", (unsigned long long)index);
        CHECK_OK(charter_audit_record_hash(log, index, hash));
        expect(&c, memcmp(hash, leaves[i], HASH_LEN) == 0, "the log's leaf hash is not leaf_hash_hex");
        CHECK_OK(charter_audit_root(log, root));
        hash_of(at(roots, i + 1, JSON_STRING), want);
        expect(&c, memcmp(root, want, HASH_LEN) == 0, "the root after %zu appends is not roots[%zu]", i + 1, i + 1);
        check_log_checkpoint(&c, log, checkpoints, i + 1);
        finish(&c);
    }
    return log;
}

/* The proof `got` from the log (freed here) equals the vector's. */
static void expect_same_proof(case_t *c, charter_status_t st, uint8_t *got, size_t got_len, const uint8_t *want,
                              size_t want_len) {
    expect_status(c, st, CHARTER_OK, "the log's proof");
    expect(c, st != CHARTER_OK || (got_len == want_len && memcmp(got, want, want_len) == 0),
           "the log proves it otherwise");
    if (st == CHARTER_OK) {
        charter_bytes_free(got, got_len);
    }
}

/* Each proof verifies with the standalone verifier against the vector
 * roots, and the log makes the same one. */
static void check_proofs(const json_value *file, charter_audit_t *log, uint8_t (*leaves)[HASH_LEN],
                         uint8_t (*root)[HASH_LEN], size_t tree_sizes) {
    const json_value *inclusion = list(file, "inclusion"), *consistency = list(file, "consistency");
    size_t i, len, got_len = 0;
    uint8_t *proof, *got = NULL;
    charter_status_t st;
    case_t c;
    for (i = 0; i < inclusion->count; i++) {
        const json_value *v = at(inclusion, i, JSON_OBJECT);
        uint64_t index = natural(v, "index"), size = natural(v, "size");
        start(&c, "inclusion[%zu] (%llu in %llu)", i, (unsigned long long)index, (unsigned long long)size);
        if (index >= size || size >= tree_sizes) {
            die("an inclusion case past the records");
        }
        proof = proof_of(list(v, "proof"), &len);
        expect_status(&c, charter_audit_verify_inclusion(leaves[index], index, size, proof, len, root[size]),
                      CHARTER_OK, "charter_audit_verify_inclusion");
        st = charter_audit_prove_inclusion(log, index, size, &got, &got_len);
        expect_same_proof(&c, st, got, got_len, proof, len);
        free(proof);
        finish(&c);
    }
    for (i = 0; i < consistency->count; i++) {
        const json_value *v = at(consistency, i, JSON_OBJECT);
        uint64_t m = natural(v, "old_size"), n = natural(v, "new_size");
        start(&c, "consistency[%zu] (%llu to %llu)", i, (unsigned long long)m, (unsigned long long)n);
        if (m > n || n >= tree_sizes) {
            die("a consistency case past the records");
        }
        proof = proof_of(list(v, "proof"), &len);
        expect_status(&c, charter_audit_verify_consistency(m, n, root[m], root[n], proof, len), CHARTER_OK,
                      "charter_audit_verify_consistency");
        st = charter_audit_prove_consistency(log, m, n, &got, &got_len);
        expect_same_proof(&c, st, got, got_len, proof, len);
        free(proof);
        finish(&c);
    }
}

/* Each cosigned note verifies with the log key and every witness key at
 * its quorum exactly when the file says so, with the status it names; the
 * witness request's cosignature is the one the first witness key signs
 * (Ed25519 is deterministic). */
static void check_cosignatures(const json_value *file, const char *vkey) {
    const json_value *witnesses = list(file, "witnesses"), *cases = list(file, "cosignatures");
    const json_value *request = get(file, "witness_request", JSON_OBJECT);
    const char *keys[8];
    size_t i;
    case_t c;
    if (witnesses->count > 8) {
        die("%zu witnesses", witnesses->count);
    }
    for (i = 0; i < witnesses->count; i++) {
        keys[i] = text(at(witnesses, i, JSON_OBJECT), "verifier_key");
    }
    for (i = 0; i < cases->count; i++) {
        const json_value *v = at(cases, i, JSON_OBJECT);
        size_t count = SIZE_MAX;
        uint64_t size = UINT64_MAX;
        charter_status_t st;
        start(&c, "cosignatures[%zu] (%s)", i, text(v, "name"));
        st = charter_audit_verify_cosigned(text(v, "note"), vkey, keys, witnesses->count, (size_t)natural(v, "quorum"),
                                           &size, NULL, &count);
        if (flag(v, "valid")) {
            expect_status(&c, st, CHARTER_OK, "charter_audit_verify_cosigned");
            expect(&c, size == natural(v, "size"), "size %llu", (unsigned long long)size);
            expect(&c, count == list(v, "cosigned_by")->count, "%zu witnesses verified", count);
        } else {
            expect(&c, st != CHARTER_OK && strcmp(charter_status_name(st), text(v, "status")) == 0,
                   "returned %s, expected %s", charter_status_name(st), text(v, "status"));
        }
        finish(&c);
    }
    start(&c, "witness_request");
    {
        const json_value *w = at(witnesses, 0, JSON_OBJECT);
        const char *pkcs8_hex = text(get(w, "key", JSON_OBJECT), "pkcs8_hex");
        uint8_t der[128];
        size_t len = strlen(pkcs8_hex) / 2, k;
        unsigned byte;
        charter_keypair_t *key = NULL;
        char *line = NULL;
        CHECK(len <= sizeof der);
        for (k = 0; k < len; k++) {
            CHECK(sscanf(pkcs8_hex + 2 * k, "%2x", &byte) == 1);
            der[k] = (uint8_t)byte;
        }
        CHECK_OK(charter_keypair_from_pkcs8(der, len, &key));
        CHECK_OK(charter_audit_cosign(text(request, "note"), text(request, "witness"), key,
                                      natural(request, "timestamp"), &line));
        expect(&c, strcmp(line, text(request, "cosignature")) == 0, "cosigned\n%s", line);
        charter_string_free(line);
        CHECK_OK(charter_keypair_free(key));
    }
    finish(&c);
}

static void check_audit(const json_value *file) {
    const json_value *records = list(file, "records"), *roots = list(file, "roots");
    const json_value *checkpoints = list(file, "checkpoints");
    const char *origin = text(file, "origin"), *vkey = text(file, "verifier_key");
    uint8_t(*leaves)[HASH_LEN] = malloc((records->count + 1) * sizeof *leaves);
    uint8_t(*root)[HASH_LEN] = malloc(roots->count * sizeof *root);
    charter_audit_t *log;
    size_t i;
    case_t c;

    CHECK(leaves != NULL && root != NULL);
    if (roots->count != records->count + 1) {
        die("%zu roots for %zu records", roots->count, records->count);
    }
    for (i = 0; i < roots->count; i++) {
        hash_of(at(roots, i, JSON_STRING), root[i]);
    }
    log = check_records(file, records, roots, leaves);
    check_proofs(file, log, leaves, root, roots->count);
    CHECK_OK(charter_audit_free(log));

    for (i = 0; i < checkpoints->count; i++) {
        const json_value *v = at(checkpoints, i, JSON_OBJECT);
        char *got_origin = NULL;
        uint64_t size = UINT64_MAX, want_size = natural(v, "size");
        uint8_t got[HASH_LEN], want[HASH_LEN];
        charter_status_t st;
        start(&c, "checkpoints[%zu] (size %llu)", i, (unsigned long long)want_size);
        if (want_size >= roots->count) {
            die("a checkpoint past the records");
        }
        hash_of(get(v, "root_hex", JSON_STRING), want);
        expect(&c, memcmp(want, root[want_size], HASH_LEN) == 0, "root_hex is not roots[%llu]",
               (unsigned long long)want_size);
        st = charter_audit_verify_checkpoint(text(v, "note"), vkey, &got_origin, &size, got);
        expect_status(&c, st, CHARTER_OK, "charter_audit_verify_checkpoint");
        if (st == CHARTER_OK) {
            expect(&c, strcmp(got_origin, origin) == 0, "origin %s", got_origin);
            expect(&c, size == want_size, "size %llu", (unsigned long long)size);
            expect(&c, memcmp(got, want, HASH_LEN) == 0, "the root is not roots[size]");
            charter_string_free(got_origin);
        }
        finish(&c);
    }
    check_cosignatures(file, vkey);
    free(leaves);
    free(root);
}

/* ---- The directory ---- */

static const struct {
    const char *name;
    void (*check)(const json_value *file);
} CHECKERS[] = {
    {"status.json", check_status},
    {"topics.json", check_topics},
    {"tokens.json", check_tokens},
    {"audit.json", check_audit},
};
#define CHECKER_COUNT (sizeof CHECKERS / sizeof CHECKERS[0])

/* The index in CHECKERS of the checker of `name`, or CHECKER_COUNT. */
static size_t checker_of(const char *name) {
    size_t i = 0;
    while (i < CHECKER_COUNT && strcmp(CHECKERS[i].name, name) != 0) {
        i++;
    }
    return i;
}

static int by_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of the .json files in `dir`, sorted, malloc'd; their count in
 * `count`. */
static char **json_files(const char *dir, size_t *count) {
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL;
    size_t n = 0;
    if (d == NULL) {
        fprintf(stderr, "cannot open %s\n", dir);
        exit(1);
    }
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len > 5 && strcmp(e->d_name + len - 5, ".json") == 0) {
            char **grown = realloc(names, (n + 1) * sizeof *names);
            CHECK(grown != NULL);
            names = grown;
            names[n] = malloc(len + 1);
            CHECK(names[n] != NULL);
            memcpy(names[n], e->d_name, len + 1);
            n++;
        }
    }
    closedir(d);
    if (n > 0) {
        qsort(names, n, sizeof *names, by_name);
    }
    *count = n;
    return names;
}

static void check_file(const char *dir, const char *name, bool *seen) {
    char path[512], error[256];
    unsigned long before = passed + failed, failed_before = failed;
    json_value *file;
    size_t i;
    case_t c;
    current_file = name;
    CHECK((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) < sizeof path);
    file = json_read_file(path, error, sizeof error);
    if (file == NULL) {
        die("%s", error);
    }
    start(&c, "(the file)");
    expect(&c, integer(file, "schema") == 1, "schema %lld, this test reads 1", (long long)integer(file, "schema"));
    expect(&c, get(file, "description", JSON_STRING)->length > 0, "an empty description");
    i = checker_of(name);
    expect(&c, i < CHECKER_COUNT, "no checker for this file in tests-c/test_vectors.c");
    finish(&c);
    if (i < CHECKER_COUNT && !c.bad) {
        seen[i] = true;
        CHECKERS[i].check(file);
    }
    json_free(file);
    printf("%s - vectors/%s: %lu cases\n", failed == failed_before ? "ok" : "not ok", name,
           passed + failed - before);
    fflush(stdout);
}

int main(void) {
    const char *dir = CHARTER_VECTORS_DIR;
    bool seen[CHECKER_COUNT] = {false};
    size_t count, i;
    char **names = json_files(dir, &count);
    for (i = 0; i < count; i++) {
        check_file(dir, names[i], seen);
        free(names[i]);
    }
    free(names);
    for (i = 0; i < CHECKER_COUNT; i++) {
        if (!seen[i]) {
            fprintf(stderr, "FAIL vectors/%s was not found or not checked\n", CHECKERS[i].name);
            failed++;
        }
    }
    printf("%lu passed, %lu failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
