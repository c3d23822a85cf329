/* charter_bridge_seal_batch: many messages sealed in C under one
 * signature, as an exporting bridge seals them, and accepted by
 * charter_bridge_verifier_t whatever order they arrive in.
 *
 * Every message of a batch carries the same Charter-Proof and its own
 * Charter-Batch (its place in the batch's Merkle tree); the verifier
 * checks each message's place and the batch's signature once. No NATS
 * server is needed: the messages go from the sealer to the verifier as a
 * program that talks to NATS itself would send and receive them. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "session_fixture.h"

#define ORIGIN "0123456789abcdef0123456789abcdef"
/* The authority's clock (s) and the verifier's (ms): inside the token. */
#define NOW_S 1700000000u
#define NOW_MS ((uint64_t)NOW_S * 1000u)
#define MOST CHARTER_BRIDGE_MAX_BATCH

/* A holder with a token to publish on orders.>, and an authority that
 * trusts its root. */
typedef struct {
    charter_keypair_t *root, *holder;
    char *root_pk, *holder_pk, *token_text, *principal;
    charter_token_t *token;
    charter_authority_t *auth;
} world_t;

static world_t world(void) {
    world_t w;
    const char *grants[1] = {"publish orders.>"};
    w.root = new_keypair(&w.root_pk);
    w.holder = new_keypair(&w.holder_pk);
    CHECK_OK(charter_token_mint(w.root, w.holder_pk, grants, 1, NOW_S - 60, NOW_S + 3600, &w.token));
    CHECK_OK(charter_token_to_text(w.token, &w.token_text));
    CHECK_OK(charter_keypair_principal(w.holder, &w.principal));
    w.auth = authority_at(w.root_pk, NOW_S, NULL);
    return w;
}

static void free_world(world_t *w) {
    CHECK_OK(charter_authority_free(w->auth));
    CHECK_OK(charter_token_free(w->token));
    charter_string_free(w->token_text);
    charter_string_free(w->principal);
    free_keypair(w->holder, w->holder_pk);
    free_keypair(w->root, w->root_pk);
}

static charter_bridge_verifier_t *new_verifier(const world_t *w) {
    charter_bridge_verifier_options_t vo;
    charter_bridge_verifier_t *v = NULL;
    CHECK_OK(charter_bridge_verifier_options_default(&vo));
    vo.authority = w->auth;
    vo.fixed_time_ms = NOW_MS;
    CHECK_OK(charter_bridge_verifier_new(&vo, &v));
    return v;
}

/* `n` messages to seal: message i goes to orders.<i> with the payload
 * "line <i>" and the application header trace: <i>. */
typedef struct {
    size_t n;
    char subjects[MOST + 1][32];
    char payloads[MOST + 1][32];
    char traces[MOST + 1][24];
    charter_header_t headers[MOST + 1][1];
    charter_bridge_unsealed_t messages[MOST + 1];
} batch_t;

static void fill(batch_t *b, size_t n) {
    size_t i;
    memset(b, 0, sizeof *b);
    b->n = n;
    for (i = 0; i < n; i++) {
        snprintf(b->subjects[i], sizeof b->subjects[i], "orders.%lu", (unsigned long)i);
        snprintf(b->payloads[i], sizeof b->payloads[i], "line %lu", (unsigned long)i);
        snprintf(b->traces[i], sizeof b->traces[i], "%lu", (unsigned long)i);
        b->headers[i][0].name = "trace";
        b->headers[i][0].value = b->traces[i];
        b->messages[i].subject = b->subjects[i];
        b->messages[i].headers = b->headers[i];
        b->messages[i].header_count = 1;
        b->messages[i].payload = (const uint8_t *)b->payloads[i];
        b->messages[i].payload_len = strlen(b->payloads[i]);
    }
}

static void free_batches(char **batches, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) charter_string_free(batches[i]);
}

/* Message i of `b` as it arrives from NATS, sealed with `proof` and
 * `place` (NULL: no Charter-Batch) under sequence number `seq`, checked by
 * `v`; returns the reason (CHARTER_BRIDGE_ACCEPTED or a refusal). */
static int32_t arrive(charter_bridge_verifier_t *v, const world_t *w, const batch_t *b, size_t i, uint64_t seq,
                      const char *proof, const char *place) {
    charter_header_t headers[7];
    charter_bridge_expect_t expect = {CHARTER_BRIDGE_EXPECT_PUBLISH, NULL, NULL, NULL, 0};
    char seq_text[24], time_text[24], *principal = NULL;
    size_t count = 6;
    int32_t reason = -1;
    charter_status_t status;
    snprintf(seq_text, sizeof seq_text, "%llu", (unsigned long long)seq);
    snprintf(time_text, sizeof time_text, "%llu", (unsigned long long)NOW_MS);
    headers[0] = b->headers[i][0];
    headers[1].name = "Charter-Origin";
    headers[1].value = ORIGIN;
    headers[2].name = "Charter-Seq";
    headers[2].value = seq_text;
    headers[3].name = "Charter-Time";
    headers[3].value = time_text;
    headers[4].name = "Charter-Token";
    headers[4].value = w->token_text;
    headers[5].name = "Charter-Proof";
    headers[5].value = proof;
    if (place != NULL) {
        headers[6].name = "Charter-Batch";
        headers[6].value = place;
        count = 7;
    }
    status = charter_bridge_verifier_check(v, b->subjects[i], NULL, headers, count, b->messages[i].payload,
                                           b->messages[i].payload_len, &expect, &reason, &principal);
    if (status == CHARTER_OK) {
        CHECK(reason == CHARTER_BRIDGE_ACCEPTED);
        CHECK(principal != NULL && strcmp(principal, w->principal) == 0);
    } else {
        CHECK(reason > CHARTER_BRIDGE_ACCEPTED && principal == NULL);
    }
    charter_string_free(principal);
    return reason;
}

/* Every message of a batch of `n` arrives in the order `order`, at a
 * fresh verifier: each is accepted. */
static void accepted_in_order(const world_t *w, const batch_t *b, uint64_t first, const char *proof,
                              char *const *places, const size_t *order) {
    charter_bridge_verifier_t *v = new_verifier(w);
    size_t k;
    for (k = 0; k < b->n; k++) {
        size_t i = order[k];
        int32_t reason = arrive(v, w, b, i, first + i, proof, places[i]);
        if (reason != CHARTER_BRIDGE_ACCEPTED) {
            fprintf(stderr, "message %lu of %lu (arriving %lu-th): %s\n", (unsigned long)i, (unsigned long)b->n,
                    (unsigned long)k, charter_bridge_reason_name(reason));
            exit(1);
        }
    }
    /* Each once only: the same message again is a replay. */
    CHECK(arrive(v, w, b, order[0], first + order[0], proof, places[order[0]]) == CHARTER_BRIDGE_REFUSED_REPLAYED);
    CHECK_OK(charter_bridge_verifier_free(v));
}

/* The next permutation of order[0..n) in lexicographic order; false after
 * the last. */
static bool next_permutation(size_t *order, size_t n) {
    size_t i = n - 1, j = n - 1, lo, hi;
    while (i > 0 && order[i - 1] >= order[i]) i--;
    if (i == 0) return false;
    while (order[j] <= order[i - 1]) j--;
    lo = order[i - 1], order[i - 1] = order[j], order[j] = lo;
    for (lo = i, hi = n - 1; lo < hi; lo++, hi--) {
        size_t t = order[lo];
        order[lo] = order[hi], order[hi] = t;
    }
    return true;
}

/* A batch of 2 and 3 in every order; of 5 and 64 (an export's batch) in
 * order, reversed and interleaved (a receiver's replay window is 64, so
 * any order of an export's batch is accepted). Every message of a batch
 * carries the one signature, and its own place. */
static void a_batch_is_accepted_in_every_order(void) {
    static const size_t sizes[] = {2, 3, 5, 64};
    static batch_t b;
    world_t w = world();
    size_t s;
    for (s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t n = sizes[s], order[64], i;
        uint64_t first = 1000 * (s + 1);
        char *proof = NULL, *places[64];
        fill(&b, n);
        CHECK_OK(charter_bridge_seal_batch(w.token, w.holder, ORIGIN, first, NOW_MS, b.messages, n, &proof, places));
        CHECK(strlen(proof) == 86);
        for (i = 0; i < n; i++) {
            char prefix[48];
            CHECK(places[i] != NULL);
            snprintf(prefix, sizeof prefix, "%lu.%lu.", (unsigned long)i, (unsigned long)n);
            CHECK(strncmp(places[i], prefix, strlen(prefix)) == 0);
            order[i] = i;
        }
        if (n <= 3) {
            do accepted_in_order(&w, &b, first, proof, places, order);
            while (next_permutation(order, n));
        } else {
            accepted_in_order(&w, &b, first, proof, places, order);
            for (i = 0; i < n; i++) order[i] = n - 1 - i;
            accepted_in_order(&w, &b, first, proof, places, order);
            for (i = 0; i < n; i++) order[i] = i % 2 == 0 ? i / 2 : n - 1 - i / 2;
            accepted_in_order(&w, &b, first, proof, places, order);
        }
        charter_string_free(proof);
        free_batches(places, n);
    }
    free_world(&w);
}

/* The most a batch may hold: its first, last and every 15th message in
 * between accepted, in order (a proof has 8 hashes). */
static void the_largest_batch_is_accepted(void) {
    static batch_t b;
    static char *places[MOST];
    world_t w = world();
    charter_bridge_verifier_t *v = new_verifier(&w);
    char *proof = NULL;
    size_t i;
    fill(&b, MOST);
    CHECK_OK(charter_bridge_seal_batch(w.token, w.holder, ORIGIN, 1, NOW_MS, b.messages, MOST, &proof, places));
    CHECK((MOST - 1) % 15 == 0); /* so the last is among them */
    for (i = 0; i < MOST; i += 15) {
        CHECK(arrive(v, &w, &b, i, 1 + i, proof, places[i]) == CHARTER_BRIDGE_ACCEPTED);
    }
    charter_string_free(proof);
    free_batches(places, MOST);
    CHECK_OK(charter_bridge_verifier_free(v));
    free_world(&w);
}

/* A batch of one is sealed alone: the proof charter_bridge_seal gives, and
 * no place. */
static void a_batch_of_one_is_sealed_alone(void) {
    static batch_t b;
    world_t w = world();
    charter_bridge_verifier_t *v = new_verifier(&w);
    char *proof = NULL, *alone = NULL, *place = (char *)&w;
    fill(&b, 1);
    CHECK_OK(charter_bridge_seal_batch(w.token, w.holder, ORIGIN, 7, NOW_MS, b.messages, 1, &proof, &place));
    CHECK(place == NULL);
    CHECK_OK(charter_bridge_seal(w.token, w.holder, ORIGIN, 7, NOW_MS, b.subjects[0], NULL, b.headers[0], 1,
                                 b.messages[0].payload, b.messages[0].payload_len, &alone));
    CHECK(strcmp(proof, alone) == 0);
    CHECK(arrive(v, &w, &b, 0, 7, proof, NULL) == CHARTER_BRIDGE_ACCEPTED);
    charter_string_free(alone);
    charter_string_free(proof);
    CHECK_OK(charter_bridge_verifier_free(v));
    free_world(&w);
}

/* Each message is bound to its own place, sequence number and content:
 * moved, renumbered or altered, it is refused as a bad proof. */
static void a_message_is_bound_to_its_place(void) {
    static batch_t b;
    world_t w = world();
    charter_bridge_verifier_t *v = new_verifier(&w);
    char *proof = NULL, *places[3];
    fill(&b, 3);
    CHECK_OK(charter_bridge_seal_batch(w.token, w.holder, ORIGIN, 50, NOW_MS, b.messages, 3, &proof, places));
    CHECK(arrive(v, &w, &b, 1, 51, proof, places[0]) == CHARTER_BRIDGE_REFUSED_BAD_PROOF);
    CHECK(arrive(v, &w, &b, 1, 51, proof, NULL) == CHARTER_BRIDGE_REFUSED_BAD_PROOF);
    CHECK(arrive(v, &w, &b, 1, 52, proof, places[1]) == CHARTER_BRIDGE_REFUSED_BAD_PROOF);
    b.payloads[1][0] = 'L';
    CHECK(arrive(v, &w, &b, 1, 51, proof, places[1]) == CHARTER_BRIDGE_REFUSED_BAD_PROOF);
    b.payloads[1][0] = 'l';
    CHECK(arrive(v, &w, &b, 1, 51, proof, places[1]) == CHARTER_BRIDGE_ACCEPTED);
    charter_string_free(proof);
    free_batches(places, 3);
    CHECK_OK(charter_bridge_verifier_free(v));
    free_world(&w);
}

/* Bad input fails with its status, names what is wrong and writes
 * nothing. */
static void misuse_is_reported_and_writes_nothing(void) {
    static batch_t b;
    static char *places[MOST + 1];
    static char long_value[70000];
    world_t w = world();
    charter_keypair_t *stranger = NULL;
    char *untouched = (char *)&w, *proof = untouched;
    size_t i;
    fill(&b, MOST + 1);
    for (i = 0; i <= MOST; i++) places[i] = untouched;

    CHECK_STATUS(charter_bridge_seal_batch(w.token, w.holder, ORIGIN, 1, NOW_MS, b.messages, 0, &proof, places),
                 CHARTER_E_INVALID_ARGUMENT);
    CHECK_MESSAGE_HAS("count is 0");
    CHECK_STATUS(
        charter_bridge_seal_batch(w.token, w.holder, ORIGIN, 1, NOW_MS, b.messages, MOST + 1, &proof, places),
        CHARTER_E_LIMIT_EXCEEDED);
    CHECK_MESSAGE_HAS("messages: 257 entries; the limit is 256");
    CHECK_STATUS(charter_bridge_seal_batch(w.token, w.holder, ORIGIN, 1, NOW_MS, b.messages, SIZE_MAX, &proof, places),
                 CHARTER_E_LIMIT_EXCEEDED);
    CHECK_STATUS(charter_bridge_seal_batch(w.token, w.holder, ORIGIN, 1, NOW_MS, NULL, 3, &proof, places),
                 CHARTER_E_NULL_ARGUMENT);
    CHECK_MESSAGE_HAS("messages");
    CHECK_STATUS(charter_bridge_seal_batch(w.token, w.holder, ORIGIN, 1, NOW_MS, b.messages, 3, NULL, places),
                 CHARTER_E_NULL_ARGUMENT);
    CHECK_MESSAGE_HAS("out_proof");
    CHECK_STATUS(charter_bridge_seal_batch(w.token, w.holder, ORIGIN, 1, NOW_MS, b.messages, 3, &proof, NULL),
                 CHARTER_E_NULL_ARGUMENT);
    CHECK_MESSAGE_HAS("out_batches");
    CHECK_STATUS(charter_bridge_seal_batch(w.token, w.holder, NULL, 1, NOW_MS, b.messages, 3, &proof, places),
                 CHARTER_E_NULL_ARGUMENT);
    CHECK_MESSAGE_HAS("origin");
    CHECK_STATUS(charter_bridge_seal_batch(w.token, w.holder, "0123", 1, NOW_MS, b.messages, 3, &proof, places),
                 CHARTER_E_MALFORMED);
    CHECK_STATUS(charter_bridge_seal_batch(NULL, w.holder, ORIGIN, 1, NOW_MS, b.messages, 3, &proof, places),
                 CHARTER_E_NULL_ARGUMENT);
    CHECK_STATUS(charter_bridge_seal_batch((charter_token_t *)w.holder, w.holder, ORIGIN, 1, NOW_MS, b.messages, 3,
                                           &proof, places),
                 CHARTER_E_WRONG_HANDLE_TYPE);
    CHECK_OK(charter_keypair_generate(&stranger));
    CHECK_STATUS(charter_bridge_seal_batch(w.token, stranger, ORIGIN, 1, NOW_MS, b.messages, 3, &proof, places),
                 CHARTER_E_INVALID_ARGUMENT);
    CHECK_MESSAGE_HAS("the key is not the token's subject");
    CHECK_OK(charter_keypair_free(stranger));

    /* A bad member, named. */
    b.messages[2].subject = NULL;
    CHECK_STATUS(charter_bridge_seal_batch(w.token, w.holder, ORIGIN, 1, NOW_MS, b.messages, 3, &proof, places),
                 CHARTER_E_NULL_ARGUMENT);
    CHECK_MESSAGE_HAS("messages[2].subject");
    b.messages[2].subject = b.subjects[2];
    b.messages[1].payload = NULL;
    CHECK_STATUS(charter_bridge_seal_batch(w.token, w.holder, ORIGIN, 1, NOW_MS, b.messages, 3, &proof, places),
                 CHARTER_E_NULL_ARGUMENT);
    CHECK_MESSAGE_HAS("messages[1].payload");
    b.messages[1].payload = (const uint8_t *)b.payloads[1];
    b.messages[0].headers = NULL;
    CHECK_STATUS(charter_bridge_seal_batch(w.token, w.holder, ORIGIN, 1, NOW_MS, b.messages, 3, &proof, places),
                 CHARTER_E_NULL_ARGUMENT);
    CHECK_MESSAGE_HAS("messages[0].headers");
    b.messages[0].headers = b.headers[0];
    b.messages[2].header_count = CHARTER_BRIDGE_MAX_ENTRIES + 1;
    CHECK_STATUS(charter_bridge_seal_batch(w.token, w.holder, ORIGIN, 1, NOW_MS, b.messages, 3, &proof, places),
                 CHARTER_E_LIMIT_EXCEEDED);
    CHECK_MESSAGE_HAS("messages[2].headers");
    b.messages[2].header_count = 1;
    b.headers[1][0].value = NULL;
    CHECK_STATUS(charter_bridge_seal_batch(w.token, w.holder, ORIGIN, 1, NOW_MS, b.messages, 3, &proof, places),
                 CHARTER_E_NULL_ARGUMENT);
    CHECK_MESSAGE_HAS("messages[1].headers[0].value");
    /* A header value too long to seal: refused by the bridge's sealer, for
     * the message it belongs to. */
    memset(long_value, 'x', sizeof long_value - 1);
    b.headers[1][0].value = long_value;
    CHECK_STATUS(charter_bridge_seal_batch(w.token, w.holder, ORIGIN, 1, NOW_MS, b.messages, 3, &proof, places),
                 CHARTER_E_LIMIT_EXCEEDED);
    CHECK_MESSAGE_HAS("messages[1]: ");
    b.headers[1][0].value = b.traces[1];
    /* Sequence numbers past UINT64_MAX. */
    CHECK_STATUS(
        charter_bridge_seal_batch(w.token, w.holder, ORIGIN, UINT64_MAX - 1, NOW_MS, b.messages, 3, &proof, places),
        CHARTER_E_INVALID_ARGUMENT);
    CHECK_MESSAGE_HAS("messages[2]: ");

    CHECK(proof == untouched);
    for (i = 0; i <= MOST; i++) CHECK(places[i] == untouched);
    /* Fixed, the same call succeeds. */
    CHECK_OK(charter_bridge_seal_batch(w.token, w.holder, ORIGIN, UINT64_MAX - 2, NOW_MS, b.messages, 3, &proof,
                                       places));
    CHECK(places[3] == untouched);
    charter_string_free(proof);
    free_batches(places, 3);
    free_world(&w);
}

int main(void) {
    RUN(a_batch_is_accepted_in_every_order);
    RUN(the_largest_batch_is_accepted);
    RUN(a_batch_of_one_is_sealed_alone);
    RUN(a_message_is_bound_to_its_place);
    RUN(misuse_is_reported_and_writes_nothing);
    return 0;
}
