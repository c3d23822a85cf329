/* vectors/bridge/messages.json through the C ABI.
 *
 * Seal cases: each message sealed again by charter_bridge_seal, as its
 * holder (the vectors' key of the token's subject) with its envelope's
 * origin, sequence number and time, must give exactly the vector's proof
 * (Ed25519 is deterministic; C has no Ed25519 of its own to check it
 * with, as the bindings do). The signed batch among the verify cases is
 * sealed again the same way, by charter_bridge_seal_batch.
 *
 * Verify cases: every one, in order, through one charter_bridge_verifier_t
 * (the replay window carries from case to case), must come out as the
 * vector states: the principal when accepted, else the reason
 * (CHARTER_BRIDGE_REFUSED_*, named by charter_bridge_reason_name).
 *
 * Then misuse of both: bad arguments, NULLs and a double free. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "check.h"
#include "json.h"

#ifndef CHARTER_VECTORS_DIR
#error "CHARTER_VECTORS_DIR must name the vectors directory (tests-c/CMakeLists.txt defines it)"
#endif

static const json_value *member(const json_value *object, const char *key, json_type type) {
    const json_value *v = json_member(object, key);
    if (v == NULL || v->type != type) {
        fprintf(stderr, "vectors/bridge/messages.json: \"%s\" is missing or of the wrong type\n", key);
        exit(1);
    }
    return v;
}

static int nibble(char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The bytes of a lowercase hex string, malloc'd (at least one byte). */
static uint8_t *unhex(const json_value *s, size_t *len) {
    uint8_t *out = malloc(s->length / 2 + 1);
    size_t i;
    CHECK(out != NULL && s->length % 2 == 0);
    for (i = 0; i < s->length / 2; i++) {
        int hi = nibble(s->string[2 * i]), lo = nibble(s->string[2 * i + 1]);
        CHECK(hi >= 0 && lo >= 0);
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    *len = s->length / 2;
    return out;
}

/* The value of header `name` in a case's headers (as sent), or NULL. */
static const char *find_header(const json_value *headers, const char *name) {
    size_t i;
    for (i = 0; i < headers->count; i++) {
        const json_value *pair = &headers->items[i];
        CHECK(pair->type == JSON_ARRAY && pair->count == 2);
        if (strcmp(pair->items[0].string, name) == 0) {
            return pair->items[1].string;
        }
    }
    return NULL;
}

/* The value of header `name` in a case's headers (as sent), or exit. */
static const char *header_value(const json_value *headers, const char *name) {
    const char *value = find_header(headers, name);
    if (value == NULL) {
        fprintf(stderr, "vectors/bridge/messages.json: a case has no %s header\n", name);
        exit(1);
    }
    return value;
}

/* A case's headers as charter_header_t, calloc'd. */
static charter_header_t *c_headers(const json_value *headers) {
    charter_header_t *out = calloc(headers->count + 1, sizeof *out);
    size_t i;
    CHECK(out != NULL);
    for (i = 0; i < headers->count; i++) {
        const json_value *pair = &headers->items[i];
        CHECK(pair->type == JSON_ARRAY && pair->count == 2);
        out[i].name = pair->items[0].string;
        out[i].value = pair->items[1].string;
    }
    return out;
}

/* The key pair of the vectors' key whose public key is `public_key`. */
static charter_keypair_t *vector_key(const json_value *file, const char *public_key) {
    const json_value *keys = member(file, "keys", JSON_ARRAY);
    size_t i;
    for (i = 0; i < keys->count; i++) {
        if (strcmp(member(&keys->items[i], "public_key", JSON_STRING)->string, public_key) == 0) {
            size_t len;
            uint8_t *der = unhex(member(&keys->items[i], "pkcs8_hex", JSON_STRING), &len);
            charter_keypair_t *pair = NULL;
            CHECK_OK(charter_keypair_from_pkcs8(der, len, &pair));
            free(der);
            return pair;
        }
    }
    fprintf(stderr, "vectors/bridge/messages.json: no key is %s\n", public_key);
    exit(1);
}

/* A canonical decimal header value. */
static uint64_t decimal(const char *text) {
    char *end = NULL;
    unsigned long long value = strtoull(text, &end, 10);
    CHECK(end != text && *end == '\0');
    return (uint64_t)value;
}

/* One seal case, sealed again with every header as sent (the envelope's
 * are ignored); returns whether the proof is the vector's. */
static bool seal_case(const json_value *file, const json_value *c) {
    const char *name = member(c, "name", JSON_STRING)->string;
    const json_value *headers_v = member(c, "headers", JSON_ARRAY);
    const json_value *reply_v = json_member(c, "reply");
    const char *want = member(c, "proof", JSON_STRING)->string;
    charter_header_t *headers = c_headers(headers_v);
    charter_token_t *token = NULL;
    charter_keypair_t *holder;
    char *subject_key = NULL, *proof = NULL;
    size_t payload_len;
    uint8_t *payload = unhex(member(c, "payload_hex", JSON_STRING), &payload_len);
    bool ok;
    CHECK(strcmp(header_value(headers_v, "Charter-Proof"), want) == 0);
    CHECK_OK(charter_token_from_text(header_value(headers_v, "Charter-Token"), &token));
    CHECK_OK(charter_token_subject(token, &subject_key));
    holder = vector_key(file, subject_key);
    CHECK_OK(charter_bridge_seal(token, holder, header_value(headers_v, "Charter-Origin"),
                                 decimal(header_value(headers_v, "Charter-Seq")),
                                 decimal(header_value(headers_v, "Charter-Time")),
                                 member(c, "subject", JSON_STRING)->string,
                                 reply_v != NULL && reply_v->type == JSON_STRING ? reply_v->string : NULL, headers,
                                 headers_v->count, payload, payload_len, &proof));
    ok = strcmp(proof, want) == 0;
    if (!ok) {
        fprintf(stderr, "FAIL %s: sealed %s, expected %s\n", name, proof, want);
    }
    charter_string_free(proof);
    charter_string_free(subject_key);
    CHECK_OK(charter_keypair_free(holder));
    CHECK_OK(charter_token_free(token));
    free(payload);
    free(headers);
    return ok;
}

/* The signed batch among the verify cases: its accepted messages, one for
 * each place (Charter-Batch "index.count.root.path"), sealed again
 * together by charter_bridge_seal_batch, as their holder with their
 * origin, first sequence number and time, must give exactly their proof
 * and each its place. Returns how many messages matched; exits when the
 * vectors hold no whole batch. */
static unsigned long batch_sealed_again(const json_value *file, unsigned long *failed) {
    enum { MOST = 8 };
    const json_value *cases = member(file, "verify_cases", JSON_ARRAY);
    const json_value *found[MOST] = {NULL};
    charter_bridge_unsealed_t messages[MOST];
    charter_header_t *headers[MOST] = {NULL};
    uint8_t *payloads[MOST] = {NULL};
    char *places[MOST] = {NULL}, *proof = NULL, *subject_key = NULL;
    const json_value *first_headers;
    charter_token_t *token = NULL;
    charter_keypair_t *holder;
    unsigned long count = 0, matched = 0, i;
    for (i = 0; i < cases->count; i++) {
        const json_value *c = &cases->items[i];
        const char *place = find_header(member(c, "headers", JSON_ARRAY), "Charter-Batch");
        unsigned long index, of;
        if (place == NULL || strcmp(member(c, "result", JSON_STRING)->string, "accepted") != 0) continue;
        CHECK(sscanf(place, "%lu.%lu.", &index, &of) == 2 && index < of && of <= MOST);
        CHECK(count == 0 || count == of);
        count = of;
        found[index] = c;
    }
    CHECK(count >= 2);
    for (i = 0; i < count; i++) {
        const json_value *c = found[i];
        const json_value *headers_v, *reply_v;
        if (c == NULL) {
            fprintf(stderr, "vectors/bridge/messages.json: no accepted message has place %lu of %lu\n", i, count);
            exit(1);
        }
        headers_v = member(c, "headers", JSON_ARRAY);
        reply_v = json_member(c, "reply");
        headers[i] = c_headers(headers_v);
        payloads[i] = unhex(member(c, "payload_hex", JSON_STRING), &messages[i].payload_len);
        messages[i].subject = member(c, "subject", JSON_STRING)->string;
        messages[i].reply = reply_v != NULL && reply_v->type == JSON_STRING ? reply_v->string : NULL;
        messages[i].headers = headers[i];
        messages[i].header_count = headers_v->count;
        messages[i].payload = payloads[i];
        /* One sender, one time, consecutive sequence numbers. */
        CHECK(decimal(header_value(headers_v, "Charter-Seq")) ==
              decimal(header_value(member(found[0], "headers", JSON_ARRAY), "Charter-Seq")) + i);
    }
    first_headers = member(found[0], "headers", JSON_ARRAY);
    CHECK_OK(charter_token_from_text(header_value(first_headers, "Charter-Token"), &token));
    CHECK_OK(charter_token_subject(token, &subject_key));
    holder = vector_key(file, subject_key);
    CHECK_OK(charter_bridge_seal_batch(token, holder, header_value(first_headers, "Charter-Origin"),
                                       decimal(header_value(first_headers, "Charter-Seq")),
                                       decimal(header_value(first_headers, "Charter-Time")), messages, count, &proof,
                                       places));
    for (i = 0; i < count; i++) {
        const json_value *headers_v = member(found[i], "headers", JSON_ARRAY);
        const char *want_proof = header_value(headers_v, "Charter-Proof");
        const char *want_place = header_value(headers_v, "Charter-Batch");
        if (strcmp(proof, want_proof) == 0 && strcmp(places[i], want_place) == 0) {
            matched++;
        } else {
            fprintf(stderr, "FAIL %s: sealed again as %s with %s, expected %s with %s\n",
                    member(found[i], "name", JSON_STRING)->string, proof, places[i], want_proof, want_place);
            (*failed)++;
        }
        charter_string_free(places[i]);
        free(payloads[i]);
        free(headers[i]);
    }
    charter_string_free(proof);
    charter_string_free(subject_key);
    CHECK_OK(charter_keypair_free(holder));
    CHECK_OK(charter_token_free(token));
    return matched;
}

/* Misuse of charter_bridge_seal, with the first seal case's token and
 * holder: every argument checked, nothing written on a failure; a
 * covered field changed changes the proof. */
static void check_seal_misuse(const json_value *file) {
    const json_value *c = &member(file, "seal_cases", JSON_ARRAY)->items[0];
    const json_value *headers_v = member(c, "headers", JSON_ARRAY);
    const char *origin = header_value(headers_v, "Charter-Origin");
    uint64_t seq = decimal(header_value(headers_v, "Charter-Seq"));
    uint64_t time_ms = decimal(header_value(headers_v, "Charter-Time"));
    const char *want = member(c, "proof", JSON_STRING)->string;
    charter_header_t header = {"a", "1"};
    charter_token_t *token = NULL;
    charter_keypair_t *holder, *stranger = NULL;
    char *subject_key = NULL, *proof = NULL;
    char *untouched = (char *)&header;
    CHECK_OK(charter_token_from_text(header_value(headers_v, "Charter-Token"), &token));
    CHECK_OK(charter_token_subject(token, &subject_key));
    holder = vector_key(file, subject_key);
    charter_string_free(subject_key);

    /* Each covered field changed: another proof. */
    CHECK_OK(charter_bridge_seal(token, holder, origin, seq, time_ms, "a.b", NULL, NULL, 0, NULL, 0, &proof));
    CHECK(strlen(proof) == 86 && strcmp(proof, want) != 0);
    charter_string_free(proof);
    CHECK_OK(charter_bridge_seal(token, holder, origin, seq, time_ms, "a.b", "_INBOX.x", NULL, 0, NULL, 0, &proof));
    CHECK(strcmp(proof, want) != 0);
    charter_string_free(proof);

    CHECK_OK(charter_keypair_generate(&stranger));
    CHECK_STATUS(charter_bridge_seal(token, stranger, origin, seq, time_ms, "a.b", NULL, NULL, 0, NULL, 0,
                                     &untouched),
                 CHARTER_E_INVALID_ARGUMENT);
    CHECK_MESSAGE_HAS("the key is not the token's subject");
    CHECK_STATUS(charter_bridge_seal(token, holder, "11111111111111111111111111111111A", seq, time_ms, "a.b",
                                     NULL, NULL, 0, NULL, 0, &untouched),
                 CHARTER_E_MALFORMED);
    CHECK_STATUS(charter_bridge_seal(token, holder, "ABABABABABABABABABABABABABABABAB", seq, time_ms, "a.b", NULL,
                                     NULL, 0, NULL, 0, &untouched),
                 CHARTER_E_MALFORMED);
    CHECK_STATUS(charter_bridge_seal(token, holder, NULL, seq, time_ms, "a.b", NULL, NULL, 0, NULL, 0, &untouched),
                 CHARTER_E_NULL_ARGUMENT);
    CHECK_MESSAGE_HAS("origin");
    CHECK_STATUS(charter_bridge_seal(token, holder, origin, seq, time_ms, NULL, NULL, NULL, 0, NULL, 0, &untouched),
                 CHARTER_E_NULL_ARGUMENT);
    CHECK_MESSAGE_HAS("subject");
    CHECK_STATUS(charter_bridge_seal(token, holder, origin, seq, time_ms, "a.b", NULL, NULL, 2, NULL, 0, &untouched),
                 CHARTER_E_NULL_ARGUMENT);
    CHECK_STATUS(charter_bridge_seal(token, holder, origin, seq, time_ms, "a.b", NULL, NULL, 0, NULL, 5, &untouched),
                 CHARTER_E_NULL_ARGUMENT);
    CHECK_STATUS(charter_bridge_seal(token, holder, origin, seq, time_ms, "a.b", NULL, &header,
                                     CHARTER_BRIDGE_MAX_ENTRIES + 1, NULL, 0, &untouched),
                 CHARTER_E_LIMIT_EXCEEDED);
    CHECK_STATUS(charter_bridge_seal(NULL, holder, origin, seq, time_ms, "a.b", NULL, NULL, 0, NULL, 0, &untouched),
                 CHARTER_E_NULL_ARGUMENT);
    CHECK_STATUS(charter_bridge_seal((charter_token_t *)holder, holder, origin, seq, time_ms, "a.b", NULL, NULL, 0,
                                     NULL, 0, &untouched),
                 CHARTER_E_WRONG_HANDLE_TYPE);
    CHECK(untouched == (char *)&header);
    CHECK_STATUS(charter_bridge_seal(token, holder, origin, seq, time_ms, "a.b", NULL, NULL, 0, NULL, 0, NULL),
                 CHARTER_E_NULL_ARGUMENT);
    CHECK_OK(charter_keypair_free(stranger));
    CHECK_OK(charter_keypair_free(holder));
    CHECK_OK(charter_token_free(token));
}

/* The verifier the vectors describe: their roots and revocations, the
 * authority's clock at authority_now, the verifier's at now_ms. */
static charter_bridge_verifier_t *vector_verifier(const json_value *file, charter_authority_t **out_auth) {
    const json_value *roots = member(file, "trusted_roots", JSON_ARRAY);
    const json_value *revoked = member(file, "revoked_links", JSON_ARRAY);
    uint64_t skew_ms = (uint64_t)member(file, "max_skew_ms", JSON_INTEGER)->integer;
    const char *root_texts[8];
    charter_authority_options_t ao;
    charter_bridge_verifier_options_t vo;
    charter_authority_t *auth = NULL;
    charter_bridge_verifier_t *verifier = NULL;
    size_t i;
    CHECK(roots->count <= 8);
    for (i = 0; i < roots->count; i++) {
        root_texts[i] = roots->items[i].string;
    }
    CHECK_OK(charter_authority_options_default(&ao));
    ao.clock_skew_s = skew_ms / 1000;
    ao.fixed_time = (uint64_t)member(file, "authority_now", JSON_INTEGER)->integer;
    CHECK_OK(charter_authority_new(root_texts, roots->count, &ao, &auth));
    for (i = 0; i < revoked->count; i++) {
        bool fresh = false;
        CHECK_OK(charter_authority_revoke(auth, revoked->items[i].string, &fresh));
        CHECK(fresh);
    }
    CHECK_OK(charter_bridge_verifier_options_default(&vo));
    vo.authority = auth;
    vo.max_skew_ms = (uint32_t)skew_ms;
    vo.fixed_time_ms = (uint64_t)member(file, "now_ms", JSON_INTEGER)->integer;
    CHECK_OK(charter_bridge_verifier_new(&vo, &verifier));
    *out_auth = auth;
    return verifier;
}

/* One verify case; returns whether it came out as stated. */
static bool check_case(charter_bridge_verifier_t *verifier, const json_value *c, bool *reasons_seen) {
    const char *name = member(c, "name", JSON_STRING)->string;
    const json_value *headers_v = member(c, "headers", JSON_ARRAY);
    const json_value *expect_v = member(c, "expect", JSON_OBJECT);
    const json_value *reply_v = json_member(c, "reply");
    const char *kind = member(expect_v, "kind", JSON_STRING)->string;
    const char *want = member(c, "result", JSON_STRING)->string;
    charter_header_t *headers = c_headers(headers_v);
    charter_bridge_expect_t expect = {0};
    size_t payload_len;
    uint8_t *payload = unhex(member(c, "payload_hex", JSON_STRING), &payload_len);
    int32_t reason = -1;
    char *principal = NULL;
    charter_status_t status;
    const char *got;
    bool ok;
    if (strcmp(kind, "publish") == 0) {
        expect.kind = CHARTER_BRIDGE_EXPECT_PUBLISH;
    } else if (strcmp(kind, "request") == 0) {
        expect.kind = CHARTER_BRIDGE_EXPECT_REQUEST;
    } else {
        CHECK(strcmp(kind, "reply") == 0);
        expect.kind = CHARTER_BRIDGE_EXPECT_REPLY;
        expect.subject = member(expect_v, "subject", JSON_STRING)->string;
        expect.inbox = member(expect_v, "inbox", JSON_STRING)->string;
        expect.nonce = member(expect_v, "nonce", JSON_STRING)->string;
        expect.sent_ms = (uint64_t)member(expect_v, "sent_ms", JSON_INTEGER)->integer;
    }
    status = charter_bridge_verifier_check(
        verifier, member(c, "subject", JSON_STRING)->string,
        reply_v != NULL && reply_v->type == JSON_STRING ? reply_v->string : NULL, headers, headers_v->count,
        payload, payload_len, &expect, &reason, &principal);
    got = charter_bridge_reason_name(reason);
    ok = got != NULL && strcmp(got, want) == 0;
    if (status == CHARTER_OK) {
        ok = ok && reason == CHARTER_BRIDGE_ACCEPTED && principal != NULL &&
             strcmp(principal, member(c, "principal", JSON_STRING)->string) == 0;
    } else {
        /* A refusal has a reason, a status of its own and no principal. */
        ok = ok && reason > CHARTER_BRIDGE_ACCEPTED && principal == NULL;
    }
    if (!ok) {
        fprintf(stderr, "FAIL %s: %s (%s, principal %s), expected %s\n", name, got != NULL ? got : "?",
                charter_status_name(status), principal != NULL ? principal : "none", want);
    }
    if (reason >= 0 && reason <= CHARTER_BRIDGE_REFUSED_AUDIT_FAILED) {
        reasons_seen[reason] = true;
    }
    charter_string_free(principal);
    free(payload);
    free(headers);
    return ok;
}

/* Misuse of the handle: every argument checked before anything happens. */
static void check_misuse(charter_bridge_verifier_t *verifier, charter_authority_t *auth) {
    charter_bridge_verifier_options_t vo;
    charter_bridge_verifier_t *other = NULL;
    charter_bridge_expect_t expect = {CHARTER_BRIDGE_EXPECT_PUBLISH, NULL, NULL, NULL, 0};
    charter_header_t header = {"a", "1"};
    int32_t reason = -1;
    char *principal = (char *)&reason;
    CHECK_OK(charter_bridge_verifier_options_default(&vo));
    CHECK(vo.max_skew_ms == 30000 && vo.fixed_time_ms == 0 && vo.authority == NULL);
    CHECK_STATUS(charter_bridge_verifier_new(&vo, &other), CHARTER_E_NULL_ARGUMENT);
    CHECK_STATUS(charter_bridge_verifier_new(NULL, &other), CHARTER_E_NULL_ARGUMENT);
    vo.authority = auth;
    CHECK_STATUS(charter_bridge_verifier_new(&vo, NULL), CHARTER_E_NULL_ARGUMENT);
    /* An unsigned message: refused with its reason, nothing else written. */
    CHECK_STATUS(charter_bridge_verifier_check(verifier, "a.b", NULL, &header, 1, NULL, 0, &expect, &reason,
                                               &principal),
                 CHARTER_E_DENIED);
    CHECK(reason == CHARTER_BRIDGE_REFUSED_UNSIGNED && principal == NULL);
    /* Bad arguments: the reason says nothing was judged. */
    expect.kind = 7;
    CHECK_STATUS(charter_bridge_verifier_check(verifier, "a.b", NULL, NULL, 0, NULL, 0, &expect, &reason,
                                               &principal),
                 CHARTER_E_INVALID_ARGUMENT);
    CHECK(reason == CHARTER_BRIDGE_ACCEPTED && principal == NULL);
    expect.kind = CHARTER_BRIDGE_EXPECT_REPLY;
    CHECK_STATUS(charter_bridge_verifier_check(verifier, "a.b", NULL, NULL, 0, NULL, 0, &expect, &reason,
                                               &principal),
                 CHARTER_E_NULL_ARGUMENT);
    CHECK_STATUS(charter_bridge_verifier_check(verifier, "a.b", NULL, NULL, 0, NULL, 0, NULL, &reason, &principal),
                 CHARTER_E_NULL_ARGUMENT);
    CHECK_STATUS(charter_bridge_verifier_check(verifier, NULL, NULL, NULL, 0, NULL, 0, &expect, &reason, &principal),
                 CHARTER_E_NULL_ARGUMENT);
    CHECK_STATUS(charter_bridge_verifier_check(verifier, "a.b", NULL, NULL, 3, NULL, 0, &expect, &reason, &principal),
                 CHARTER_E_NULL_ARGUMENT);
    CHECK_STATUS(charter_bridge_verifier_check(verifier, "a.b", NULL, &header, CHARTER_BRIDGE_MAX_ENTRIES + 1,
                                               NULL, 0, &expect, &reason, &principal),
                 CHARTER_E_LIMIT_EXCEEDED);
    CHECK_STATUS(charter_bridge_verifier_check(verifier, "a.b", NULL, NULL, 0, NULL, 0, &expect, NULL, &principal),
                 CHARTER_E_NULL_ARGUMENT);
    CHECK_STATUS(charter_bridge_verifier_check(verifier, "a.b", NULL, NULL, 0, NULL, 0, &expect, &reason, NULL),
                 CHARTER_E_NULL_ARGUMENT);
    CHECK_STATUS(charter_bridge_verifier_check((charter_bridge_verifier_t *)auth, "a.b", NULL, NULL, 0, NULL, 0,
                                               &expect, &reason, &principal),
                 CHARTER_E_WRONG_HANDLE_TYPE);
    CHECK(charter_bridge_reason_name(-1) == NULL);
    CHECK(charter_bridge_reason_name(CHARTER_BRIDGE_REFUSED_AUDIT_FAILED + 1) == NULL);
    CHECK(strcmp(charter_bridge_reason_name(CHARTER_BRIDGE_ACCEPTED), "accepted") == 0);
    CHECK(strcmp(charter_bridge_reason_name(CHARTER_BRIDGE_REFUSED_BAD_PROOF), "bad_proof") == 0);
    CHECK_OK(charter_bridge_verifier_free(NULL));
}

int main(void) {
    char error[256];
    json_value *file = json_read_file(CHARTER_VECTORS_DIR "/bridge/messages.json", error, sizeof error);
    const json_value *cases;
    charter_authority_t *auth = NULL;
    charter_bridge_verifier_t *verifier;
    bool reasons_seen[CHARTER_BRIDGE_REFUSED_AUDIT_FAILED + 1] = {false};
    unsigned long sealed = 0, batched = 0, passed = 0, failed = 0;
    size_t i;
    if (file == NULL) {
        fprintf(stderr, "vectors/bridge/messages.json: %s\n", error);
        return 1;
    }
    CHECK(member(file, "schema", JSON_INTEGER)->integer == 1);
    cases = member(file, "seal_cases", JSON_ARRAY);
    CHECK(cases->count >= 4);
    for (i = 0; i < cases->count; i++) {
        if (seal_case(file, &cases->items[i])) {
            sealed++;
        } else {
            failed++;
        }
    }
    check_seal_misuse(file);
    batched = batch_sealed_again(file, &failed);
    verifier = vector_verifier(file, &auth);
    cases = member(file, "verify_cases", JSON_ARRAY);
    for (i = 0; i < cases->count; i++) {
        if (check_case(verifier, &cases->items[i], reasons_seen)) {
            passed++;
        } else {
            failed++;
        }
    }
    /* Every reason but audit_failed (no log in the vectors) is covered. */
    for (i = 0; i < CHARTER_BRIDGE_REFUSED_AUDIT_FAILED; i++) {
        if (!reasons_seen[i]) {
            fprintf(stderr, "FAIL the vectors do not cover %s\n", charter_bridge_reason_name((int32_t)i));
            failed++;
        }
    }
    check_misuse(verifier, auth);
    CHECK_OK(charter_bridge_verifier_free(verifier));
    CHECK_STATUS(charter_bridge_verifier_free(verifier), CHARTER_E_ALREADY_FREED);
    CHECK_OK(charter_authority_free(auth));
    json_free(file);
    printf("%s - vectors/bridge/messages.json: %lu seal cases, %lu messages of a batch sealed again and %lu verify "
           "cases passed, %lu failed\n",
           failed == 0 ? "ok" : "not ok", sealed, batched, passed, failed);
    return failed == 0 ? 0 : 1;
}
