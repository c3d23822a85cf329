/* Capabilities through the C ABI: keys, tokens, the authority, sessions,
 * revocation, an enforcing bus, and the handle table for the new types. */
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bus_fixture.h"
#include "check.h"
#include "free_race.h"
#include "receiver.h"
#include "session_fixture.h"

#define T0 1000000u
#define DAY 86400u

typedef struct {
    charter_keypair_t *root, *alice, *bob;
    char *root_pk, *alice_pk, *bob_pk;
    charter_authority_t *auth;
} world_t;

static char *public_key(charter_keypair_t *k) {
    char *pk = NULL;
    CHECK_OK(charter_keypair_public_key(k, &pk));
    CHECK(strncmp(pk, "charter-pk1:", 12) == 0);
    return pk;
}

static world_t world(void) {
    world_t w;
    charter_authority_options_t opts;
    w.root = new_keypair(&w.root_pk);
    w.alice = new_keypair(&w.alice_pk);
    w.bob = new_keypair(&w.bob_pk);
    CHECK_OK(charter_authority_options_default(&opts));
    CHECK(opts.clock_skew_s == 60 && opts.fixed_time == 0);
    w.auth = authority_at(w.root_pk, T0, NULL);
    return w;
}

static void end_world(world_t *w) {
    CHECK_OK(charter_authority_free(w->auth));
    free_keypair(w->root, w->root_pk);
    free_keypair(w->alice, w->alice_pk);
    free_keypair(w->bob, w->bob_pk);
}

/* root -> alice (publish orders.*.created, subscribe payments.>) -> bob
 * (publish orders.eu.created). */
static charter_token_t *chain(world_t *w) {
    const char *wide[2] = {"publish orders.*.created", "subscribe payments.>"};
    const char *narrow[1] = {"publish orders.eu.created"};
    charter_token_t *root = NULL, *child = NULL;
    CHECK_OK(charter_token_mint(w->root, w->alice_pk, wide, 2, T0, T0 + DAY, &root));
    CHECK_OK(charter_token_delegate(root, w->alice, w->bob_pk, narrow, 1, T0, T0 + 3600, &child));
    CHECK_OK(charter_token_free(root));
    return child;
}

static void keys_and_pkcs8(void) {
    charter_keypair_t *k = NULL, *again = NULL;
    uint8_t *der = NULL;
    size_t len = 0;
    char *pk, *pk2, *id = NULL;
    CHECK_OK(charter_keypair_generate(&k));
    CHECK_OK(charter_keypair_to_pkcs8(k, &der, &len));
    CHECK(der != NULL && len > 32);
    CHECK_OK(charter_keypair_from_pkcs8(der, len, &again));
    pk = public_key(k);
    pk2 = public_key(again);
    CHECK(strcmp(pk, pk2) == 0);
    CHECK_OK(charter_keypair_principal(k, &id));
    CHECK(strncmp(id, "charter-id1:", 12) == 0);
    der[len / 2] ^= 0xff;
    CHECK_STATUS(charter_keypair_from_pkcs8(der, 10, &again), CHARTER_E_MALFORMED);
    charter_bytes_free(der, len);
    charter_string_free(pk);
    charter_string_free(pk2);
    charter_string_free(id);
    CHECK_OK(charter_keypair_free(k));
    CHECK_OK(charter_keypair_free(again));
}

/* Key files: PKCS#8 v1 out, PEM both ways, 0600 on creation, never an
 * overwrite, and a file others may access refused unless allowed. */
static void key_files_and_pem(void) {
    char dir[] = "/tmp/charter-keys-XXXXXX", der_path[64], pem_path[64];
    charter_keypair_t *k = NULL, *again = NULL;
    uint8_t *der = NULL;
    size_t len = 0;
    char *pem = NULL, *pk = NULL, *pk2 = NULL;
    struct stat st;
    CHECK(mkdtemp(dir) != NULL);
    CHECK(snprintf(der_path, sizeof der_path, "%s/root.der", dir) < (int)sizeof der_path);
    CHECK(snprintf(pem_path, sizeof pem_path, "%s/root.pem", dir) < (int)sizeof pem_path);
    k = new_keypair(&pk);
    CHECK_OK(charter_keypair_to_pkcs8(k, &der, &len));
    CHECK(len == 48 && memcmp(der, "\x30\x2e\x02\x01\x00", 5) == 0); /* RFC 8410 v1 */
    charter_bytes_free(der, len);

    CHECK_OK(charter_keypair_to_pem(k, &pem));
    CHECK(strncmp(pem, "-----BEGIN PRIVATE KEY-----\n", 28) == 0);
    CHECK_OK(charter_keypair_from_pem(pem, &again));
    pk2 = public_key(again);
    CHECK(strcmp(pk, pk2) == 0);
    charter_string_free(pk2);
    CHECK_OK(charter_keypair_free(again));
    again = NULL;
    pem[30] = '*';
    CHECK_STATUS(charter_keypair_from_pem(pem, &again), CHARTER_E_MALFORMED);
    CHECK(again == NULL);
    charter_string_free(pem);

    CHECK_OK(charter_keypair_write_file(k, der_path, false));
    CHECK_OK(charter_keypair_write_file(k, pem_path, true));
    CHECK(stat(der_path, &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK_STATUS(charter_keypair_write_file(k, der_path, true), CHARTER_E_INVALID_ARGUMENT);
    CHECK_MESSAGE_HAS("already exists");
    CHECK_OK(charter_keypair_read_file(pem_path, false, &again));
    pk2 = public_key(again);
    CHECK(strcmp(pk, pk2) == 0);
    charter_string_free(pk2);
    CHECK_OK(charter_keypair_free(again));
    again = NULL;
    CHECK(chmod(der_path, 0644) == 0);
    CHECK_STATUS(charter_keypair_read_file(der_path, false, &again), CHARTER_E_INVALID_ARGUMENT);
    CHECK_MESSAGE_HAS("mode 0644");
    CHECK(again == NULL);
    CHECK_OK(charter_keypair_read_file(der_path, true, &again));
    CHECK_OK(charter_keypair_free(again));
    CHECK_STATUS(charter_keypair_read_file(dir, false, &again), CHARTER_E_INVALID_ARGUMENT);
    CHECK_STATUS(charter_keypair_read_file(NULL, false, &again), CHARTER_E_NULL_ARGUMENT);
    CHECK_STATUS(charter_keypair_read_file(der_path, false, NULL), CHARTER_E_NULL_ARGUMENT);
    CHECK_STATUS(charter_keypair_write_file(NULL, der_path, false), CHARTER_E_NULL_ARGUMENT);

    CHECK(unlink(der_path) == 0 && unlink(pem_path) == 0 && rmdir(dir) == 0);
    charter_string_free(pk);
    CHECK_OK(charter_keypair_free(k));
}

static void mint_delegate_verify_inspect(void) {
    world_t w = world();
    charter_token_t *t = chain(&w), *copy = NULL;
    char *principal = NULL, *bob_id = NULL, *text = NULL, *report = NULL, *id0 = NULL;
    uint8_t *bytes = NULL;
    size_t len = 0, links = 0;
    CHECK_OK(charter_authority_verify(w.auth, t, &principal));
    CHECK_OK(charter_keypair_principal(w.bob, &bob_id));
    CHECK(strcmp(principal, bob_id) == 0);
    CHECK_OK(charter_token_link_count(t, &links));
    CHECK(links == 2);
    CHECK_OK(charter_token_link_id(t, 0, &id0));
    CHECK(strlen(id0) == 64);
    CHECK_STATUS(charter_token_link_id(t, 2, &text), CHARTER_E_INVALID_ARGUMENT);
    CHECK_OK(charter_token_subject(t, &text));
    CHECK(strcmp(text, w.bob_pk) == 0);
    charter_string_free(text);
    CHECK_OK(charter_token_root_key(t, &text));
    CHECK(strcmp(text, w.root_pk) == 0);
    charter_string_free(text);
    text = NULL;
    CHECK_STATUS(charter_token_subject(t, NULL), CHARTER_E_NULL_ARGUMENT);
    CHECK_STATUS(charter_token_root_key(NULL, &text), CHARTER_E_NULL_ARGUMENT);
    CHECK_OK(charter_public_key_parse(w.bob_pk, &text));
    CHECK(strcmp(text, w.bob_pk) == 0);
    charter_string_free(text);
    text = NULL;
    CHECK_STATUS(charter_public_key_parse("charter-pk1:AAAA", &text), CHARTER_E_MALFORMED);
    CHECK_STATUS(charter_public_key_parse(NULL, &text), CHARTER_E_NULL_ARGUMENT);
    CHECK(text == NULL);
    CHECK_OK(charter_token_inspect(t, &report));
    CHECK(strstr(report, "grant    publish orders.eu.created") != NULL);
    CHECK(strstr(report, id0) != NULL);
    CHECK_OK(charter_token_to_text(t, &text));
    CHECK(strncmp(text, "charter-tok1:", 13) == 0);
    CHECK_OK(charter_token_from_text(text, &copy));
    CHECK_OK(charter_authority_verify(w.auth, copy, NULL));
    CHECK_OK(charter_token_free(copy));
    CHECK_OK(charter_token_encode(t, &bytes, &len));
    CHECK_OK(charter_token_decode(bytes, len, &copy));
    CHECK_OK(charter_token_free(copy));
    CHECK_STATUS(charter_token_decode(bytes, len - 1, &copy), CHARTER_E_MALFORMED);
    CHECK_MESSAGE_HAS("token ends inside");
    bytes[len - 1] ^= 1;
    CHECK_OK(charter_token_decode(bytes, len, &copy));
    CHECK_STATUS(charter_authority_verify(w.auth, copy, NULL), CHARTER_E_BAD_SIGNATURE);
    CHECK_OK(charter_token_free(copy));
    charter_bytes_free(bytes, len);
    charter_string_free(principal);
    charter_string_free(bob_id);
    charter_string_free(text);
    charter_string_free(report);
    charter_string_free(id0);
    CHECK_OK(charter_token_free(t));
    end_world(&w);
}

static void precise_failures(void) {
    world_t w = world();
    charter_token_t *t = chain(&w), *wider = NULL, *foreign = NULL;
    const char *wide[1] = {"publish orders.>"};
    const char *bad[1] = {"delete everything"};
    charter_keypair_t *other = NULL;
    CHECK_STATUS(charter_token_delegate(t, w.bob, w.alice_pk, wide, 1, T0, T0 + 60, &wider), CHARTER_E_DENIED);
    CHECK_MESSAGE_HAS("not within the parent's grants");
    CHECK(wider == NULL);
    CHECK_STATUS(charter_token_delegate(t, w.alice, w.alice_pk, wide, 1, T0, T0 + 60, &wider),
                 CHARTER_E_INVALID_ARGUMENT);
    CHECK_STATUS(charter_token_mint(w.root, w.bob_pk, bad, 1, T0, T0 + 60, &wider), CHARTER_E_INVALID_ARGUMENT);
    CHECK_MESSAGE_HAS("unknown action");
    CHECK_STATUS(charter_token_mint(w.root, "charter-pk1:nope", wide, 1, T0, T0 + 60, &wider), CHARTER_E_MALFORMED);
    CHECK_OK(charter_keypair_generate(&other));
    CHECK_OK(charter_token_mint(other, w.bob_pk, wide, 1, T0, T0 + 60, &foreign));
    CHECK_STATUS(charter_authority_verify(w.auth, foreign, NULL), CHARTER_E_UNTRUSTED_ROOT);
    CHECK_OK(charter_authority_set_time(w.auth, T0 - 61));
    CHECK_STATUS(charter_authority_verify(w.auth, t, NULL), CHARTER_E_NOT_YET_VALID);
    CHECK_OK(charter_authority_set_time(w.auth, T0 + 3600 + 60));
    CHECK_STATUS(charter_authority_verify(w.auth, t, NULL), CHARTER_E_EXPIRED);
    CHECK_OK(charter_token_free(t));
    CHECK_OK(charter_token_free(foreign));
    CHECK_OK(charter_keypair_free(other));
    end_world(&w);
}

static charter_session_t *open_session(world_t *w, charter_token_t *t, charter_keypair_t *holder) {
    uint8_t challenge[CHARTER_CHALLENGE_LEN], proof[CHARTER_PROOF_LEN];
    charter_session_t *s = NULL;
    CHECK_OK(charter_authority_challenge(w->auth, challenge));
    CHECK_OK(charter_token_prove(t, holder, challenge, proof));
    CHECK_OK(charter_authority_open_session(w->auth, t, challenge, proof, &s));
    CHECK_STATUS(charter_authority_open_session(w->auth, t, challenge, proof, &s), CHARTER_E_DENIED);
    return s;
}

static void sessions_and_revocation(void) {
    world_t w = world();
    charter_token_t *t = chain(&w);
    charter_session_t *s = open_session(&w, t, w.bob);
    uint8_t challenge[CHARTER_CHALLENGE_LEN], proof[CHARTER_PROOF_LEN];
    char *id0 = NULL, *exported = NULL;
    bool active = false, fresh = false;
    uint64_t expires = 0;
    size_t imported = 99;
    CHECK_OK(charter_session_check(s, CHARTER_ACTION_PUBLISH, "orders.eu.created"));
    CHECK_STATUS(charter_session_check(s, CHARTER_ACTION_PUBLISH, "orders.us.created"), CHARTER_E_DENIED);
    CHECK_MESSAGE_HAS("no publish grant covers \"orders.us.created\"");
    CHECK_STATUS(charter_session_check(s, 9, "x"), CHARTER_E_INVALID_ARGUMENT);
    CHECK_OK(charter_session_expires_at(s, &expires));
    CHECK(expires == T0 + 3600);
    CHECK_OK(charter_authority_challenge(w.auth, challenge));
    CHECK_STATUS(charter_token_prove(t, w.alice, challenge, proof), CHARTER_E_INVALID_ARGUMENT);
    memset(proof, 0, sizeof proof);
    CHECK_STATUS(charter_authority_open_session(w.auth, t, challenge, proof, &s), CHARTER_E_BAD_SIGNATURE);
    CHECK_OK(charter_token_link_id(t, 0, &id0));
    CHECK_OK(charter_authority_revoke(w.auth, id0, &fresh));
    CHECK(fresh);
    CHECK_STATUS(charter_session_check(s, CHARTER_ACTION_PUBLISH, "orders.eu.created"), CHARTER_E_REVOKED);
    CHECK_OK(charter_session_is_active(s, &active));
    CHECK(!active);
    CHECK_OK(charter_authority_export_revocations(w.auth, &exported));
    CHECK(strncmp(exported, id0, 64) == 0 && exported[64] == '\n');
    CHECK_STATUS(charter_authority_import_revocations(w.auth, "zz\n", &imported), CHARTER_E_MALFORMED);
    CHECK(imported == 99);
    CHECK_OK(charter_authority_import_revocations(w.auth, exported, &imported));
    CHECK(imported == 0);
    CHECK_OK(charter_authority_unrevoke(w.auth, id0, &fresh));
    CHECK(fresh);
    CHECK_OK(charter_authority_verify(w.auth, t, NULL));
    CHECK_STATUS(charter_authority_revoke(w.auth, "not hex", NULL), CHARTER_E_MALFORMED);
    charter_string_free(id0);
    charter_string_free(exported);
    CHECK_OK(charter_session_free(s));
    CHECK_OK(charter_token_free(t));
    end_world(&w);
}

static void an_enforcing_bus(void) {
    world_t w = world();
    charter_token_t *t = chain(&w);
    charter_session_t *s = open_session(&w, t, w.bob);
    charter_bus_t *bus = NULL;
    charter_client_t *bob = NULL, *nobody = NULL, *wrong = NULL;
    charter_bus_stats_t stats;
    uint64_t sub;
    charter_publish_report_t report;
    CHECK_OK(charter_bus_new_with_authority(NULL, w.auth, &bus));
    CHECK_OK(charter_client_new(bus, s, &bob));
    CHECK_OK(charter_client_new(bus, NULL, &nobody));
    CHECK_STATUS(charter_client_publish(nobody, "orders.eu.created", NULL, 0, NULL, 0, NULL), CHARTER_E_DENIED);
    CHECK_MESSAGE_HAS("requires a session");
    CHECK_STATUS(charter_client_subscribe(bob, "orders.>", NULL, &sub), CHARTER_E_DENIED);
    CHECK_OK(charter_client_publish(bob, "orders.eu.created", (const uint8_t *)"x", 1, NULL, 0, &report));
    CHECK(report.matched == 0);
    CHECK_STATUS(charter_client_publish(bob, "orders.us.created", NULL, 0, NULL, 0, NULL), CHARTER_E_DENIED);
    CHECK_OK(charter_bus_stats(bus, &stats));
    CHECK(stats.denied == 3 && stats.published == 1);
    CHECK_STATUS(charter_client_new(bus, (charter_session_t *)t, &wrong), CHARTER_E_WRONG_HANDLE_TYPE);
    CHECK(wrong == NULL);
    CHECK_STATUS(charter_client_new(NULL, s, &wrong), CHARTER_E_NULL_ARGUMENT);
    CHECK_OK(charter_client_free(bob));
    CHECK_OK(charter_client_free(nobody));
    CHECK_OK(charter_client_free(NULL));
    CHECK_OK(charter_bus_free(bus));
    CHECK_OK(charter_session_free(s));
    CHECK_OK(charter_token_free(t));
    end_world(&w);
}

/* A session straight from the root for `holder`, with `grants`, valid
 * from T0 to `until`. */
static charter_session_t *session_with(world_t *w, charter_keypair_t *holder, const char *holder_pk,
                                       const char **grants, size_t n, uint64_t from, uint64_t until,
                                       char **out_link) {
    charter_token_t *t = NULL;
    charter_session_t *s;
    CHECK_OK(charter_token_mint(w->root, holder_pk, grants, n, from, until, &t));
    s = open_session(w, t, holder);
    if (out_link) CHECK_OK(charter_token_link_id(t, 0, out_link));
    CHECK_OK(charter_token_free(t));
    return s;
}

static void start_waiter(pthread_t *t, receiver_t *w) {
    w->status = 12345;
    CHECK(pthread_create(t, NULL, receive_forever, w) == 0);
    sleep_ms(50);
}

/* A waiting receiver wakes at once on revocation, distrust or expiry: the
 * core wakes it before the ending call returns. How soon the woken thread
 * then runs is the scheduler's business (a benchmark's figure, not a unit
 * test's), so the plain run allows 200 ms, far below the wait's other end
 * (forever); sanitizers and valgrind slow every call many times over, so
 * there the wake only has to come. */
static uint64_t wake_bound_us(void) { return getenv("CHARTER_TEST_MEASURE_MEMORY") ? 200000u : 5000000u; }

static void a_subscription_is_reachable_only_through_its_client(void) {
    world_t w = world();
    const char *reads[1] = {"subscribe payroll.>"};
    const char *writes[1] = {"publish payroll.>"};
    charter_session_t *reader = session_with(&w, w.alice, w.alice_pk, reads, 1, T0, T0 + DAY, NULL);
    charter_session_t *writer = session_with(&w, w.bob, w.bob_pk, writes, 1, T0, T0 + DAY, NULL);
    charter_bus_t *bus = NULL;
    charter_client_t *alice = NULL, *alice_again = NULL, *bob = NULL, *nobody = NULL;
    charter_subscription_stats_t st;
    charter_message_t *msg = NULL;
    uint64_t id;
    bool removed = true;
    CHECK_OK(charter_bus_new_with_authority(NULL, w.auth, &bus));
    CHECK_OK(charter_client_new(bus, reader, &alice));
    CHECK_OK(charter_client_new(bus, reader, &alice_again));
    CHECK_OK(charter_client_new(bus, writer, &bob));
    CHECK_OK(charter_client_new(bus, NULL, &nobody));
    CHECK_OK(charter_client_subscribe(alice, "payroll.>", NULL, &id));
    CHECK_OK(charter_client_publish(bob, "payroll.salaries", (const uint8_t *)"secret", 6, NULL, 0, NULL));

    /* Without a session: refused. */
    CHECK_STATUS(charter_client_recv(nobody, id, 0, &msg), CHARTER_E_DENIED);
    CHECK_STATUS(charter_client_subscription_stats(nobody, id, &st), CHARTER_E_DENIED);
    CHECK_STATUS(charter_client_unsubscribe(nobody, id, &removed), CHARTER_E_DENIED);
    /* Another session: as if the id did not exist. */
    CHECK_STATUS(charter_client_recv(bob, id, 0, &msg), CHARTER_E_NOT_FOUND);
    CHECK(msg == NULL);
    CHECK_STATUS(charter_client_subscription_stats(bob, id, &st), CHARTER_E_NOT_FOUND);
    CHECK_OK(charter_client_unsubscribe(bob, id, &removed));
    CHECK(!removed);
    /* The holder, through any client of its session. */
    CHECK_OK(charter_client_subscription_stats(alice_again, id, &st));
    CHECK(st.queued == 1);
    CHECK_OK(charter_client_recv(alice, id, 0, &msg));
    CHECK(msg->payload_len == 6 && memcmp(msg->payload, "secret", 6) == 0);
    charter_message_free(msg);
    CHECK_OK(charter_client_unsubscribe(alice_again, id, &removed));
    CHECK(removed);

    CHECK_OK(charter_client_free(alice));
    CHECK_OK(charter_client_free(alice_again));
    CHECK_OK(charter_client_free(bob));
    CHECK_OK(charter_client_free(nobody));
    CHECK_OK(charter_bus_free(bus));
    CHECK_OK(charter_session_free(reader));
    CHECK_OK(charter_session_free(writer));
    end_world(&w);
}

/* how: 0 revoke, 1 distrust the root, 2 move the fixed clock past expiry.
 * Returns how long after the call the waiting receiver woke, in us. */
static uint64_t ending_a_session_ends_its_subscriptions_at_once(int how) {
    world_t w = world();
    const char *reads[2] = {"subscribe payroll.>", "publish payroll.>"};
    const char *writes[1] = {"publish payroll.>"};
    char *link = NULL;
    charter_session_t *reader = session_with(&w, w.alice, w.alice_pk, reads, 2, T0, T0 + 3600, &link);
    charter_session_t *writer = session_with(&w, w.bob, w.bob_pk, writes, 1, T0, T0 + DAY, NULL);
    charter_bus_t *bus = NULL;
    charter_client_t *alice = NULL, *bob = NULL;
    charter_bus_stats_t stats;
    charter_publish_report_t report;
    charter_message_t *msg = NULL;
    charter_status_t why = how == 2 ? CHARTER_E_EXPIRED : CHARTER_E_REVOKED;
    uint64_t queued, before;
    receiver_t waiter = {0};
    pthread_t t;
    bool removed = false;
    CHECK_OK(charter_bus_new_with_authority(NULL, w.auth, &bus));
    CHECK_OK(charter_client_new(bus, reader, &alice));
    CHECK_OK(charter_client_new(bus, writer, &bob));
    CHECK_OK(charter_client_subscribe(alice, "payroll.>", NULL, &queued));
    CHECK_OK(charter_client_subscribe(alice, "payroll.bonus", NULL, &waiter.id));
    CHECK_OK(charter_client_publish(bob, "payroll.salaries", (const uint8_t *)"1", 1, NULL, 0, NULL));
    CHECK_OK(charter_client_publish(bob, "payroll.salaries", (const uint8_t *)"2", 1, NULL, 0, NULL));
    waiter.client = alice;
    start_waiter(&t, &waiter);

    before = now_us();
    if (how == 0) CHECK_OK(charter_authority_revoke(w.auth, link, &removed));
    if (how == 1) CHECK_OK(charter_authority_distrust(w.auth, w.root_pk, &removed));
    if (how == 2) CHECK_OK(charter_authority_set_time(w.auth, T0 + 3600 + 60));
    CHECK(pthread_join(t, NULL) == 0);
    CHECK(waiter.status == why);
    printf("# the waiting receiver woke %llu us after the call\n", (unsigned long long)(waiter.woke_us - before));

    /* Queued messages were dropped and counted; nothing more is delivered. */
    CHECK_OK(charter_bus_stats(bus, &stats));
    CHECK(stats.subscriptions.dropped.session_ended == 2 && stats.subscriptions.queued == 0);
    CHECK(stats.live_subscriptions == 0);
    CHECK_STATUS(charter_client_recv(alice, queued, 0, &msg), why);
    CHECK(msg == NULL);
    CHECK_STATUS(charter_client_publish(alice, "payroll.x", NULL, 0, NULL, 0, NULL), why);
    CHECK_STATUS(charter_session_check(reader, CHARTER_ACTION_SUBSCRIBE, "payroll.>"), why);
    if (how != 1) {
        CHECK_OK(charter_client_publish(bob, "payroll.salaries", NULL, 0, NULL, 0, &report));
        CHECK(report.matched == 0);
    }

    charter_string_free(link);
    CHECK_OK(charter_client_free(alice));
    CHECK_OK(charter_client_free(bob));
    CHECK_OK(charter_bus_free(bus));
    CHECK_OK(charter_session_free(reader));
    CHECK_OK(charter_session_free(writer));
    end_world(&w);
    return waiter.woke_us - before;
}

/* The core wakes receivers before the call returns, but on a loaded
 * machine (and under valgrind, which runs one thread at a time) the woken
 * thread may wait long for a core to run on: up to five attempts, one of
 * which must wake within the bound; none may take 30 s (a lost wake-up
 * would never end). */
static void woke_in_time(int how) {
    int attempt;
    uint64_t late = 0;
    for (attempt = 0; attempt < 5; attempt++) {
        late = ending_a_session_ends_its_subscriptions_at_once(how);
        CHECK(late < 30000000u);
        if (late < wake_bound_us()) return;
    }
    CHECK(late < wake_bound_us());
}

static void revocation_ends_subscriptions_at_once(void) { woke_in_time(0); }
static void distrust_ends_subscriptions_at_once(void) { woke_in_time(1); }
static void expiry_ends_subscriptions_at_once(void) { woke_in_time(2); }

/* On the system clock, nobody moves time: a waiting receive wakes at the
 * expiry instant by itself. */
static void a_waiting_receive_wakes_at_the_expiry_instant(void) {
    charter_keypair_t *root = NULL, *holder = NULL;
    char *root_pk, *holder_pk;
    charter_authority_options_t opts;
    charter_authority_t *auth = NULL;
    const char *roots[1];
    const char *reads[1] = {"subscribe t"};
    charter_token_t *t = NULL;
    charter_session_t *s = NULL;
    charter_bus_t *bus = NULL;
    charter_client_t *client = NULL;
    uint8_t challenge[CHARTER_CHALLENGE_LEN], proof[CHARTER_PROOF_LEN];
    struct timespec wall;
    uint64_t expiry_us, lateness;
    int lead;
    receiver_t waiter = {0};
    root = new_keypair(&root_pk);
    holder = new_keypair(&holder_pk);
    CHECK_OK(charter_authority_options_default(&opts));
    opts.clock_skew_s = 0;
    roots[0] = root_pk;
    CHECK_OK(charter_authority_new(roots, 1, &opts, &auth));
    /* Expires 3 to 4 s from now: room for minting, proving and opening the
     * session and subscribing, even under valgrind, where each signature
     * takes a while. On a machine so loaded that the token expires before
     * the subscription exists, again with 16 s of room. */
    for (lead = 4; lead <= 16; lead += 12) {
        charter_status_t opened;
        /* Read together, so the expiry instant is known on the monotonic clock. */
        expiry_us = now_us();
        clock_gettime(CLOCK_REALTIME, &wall);
        expiry_us += (uint64_t)lead * 1000000u - (uint64_t)wall.tv_nsec / 1000u;
        CHECK_OK(charter_token_mint(root, holder_pk, reads, 1, (uint64_t)wall.tv_sec - 10,
                                    (uint64_t)wall.tv_sec + lead, &t));
        CHECK_OK(charter_authority_challenge(auth, challenge));
        CHECK_OK(charter_token_prove(t, holder, challenge, proof));
        opened = charter_authority_open_session(auth, t, challenge, proof, &s);
        if (opened == CHARTER_OK) {
            CHECK_OK(charter_bus_new_with_authority(NULL, auth, &bus));
            opened = charter_client_new(bus, s, &client);
        }
        if (opened == CHARTER_OK) opened = charter_client_subscribe(client, "t", NULL, &waiter.id);
        if (opened == CHARTER_OK) break;
        CHECK(opened == CHARTER_E_EXPIRED && lead == 4);
        if (client) CHECK_OK(charter_client_free(client));
        if (bus) CHECK_OK(charter_bus_free(bus));
        if (s) CHECK_OK(charter_session_free(s));
        CHECK_OK(charter_token_free(t));
        client = NULL, bus = NULL, s = NULL, t = NULL;
    }
    waiter.client = client;
    receive_forever(&waiter);
    CHECK(waiter.status == CHARTER_E_EXPIRED);
    CHECK(waiter.woke_us + 2000u >= expiry_us); /* not before it (to clock reading precision) */
    lateness = waiter.woke_us > expiry_us ? waiter.woke_us - expiry_us : 0;
    printf("# the waiting receiver woke %llu us after the expiry instant\n", (unsigned long long)lateness);
    CHECK(lateness < wake_bound_us());
    close_bus(client, bus);
    CHECK_OK(charter_session_free(s));
    CHECK_OK(charter_token_free(t));
    CHECK_OK(charter_authority_free(auth));
    free_keypair(root, root_pk);
    free_keypair(holder, holder_pk);
}

static void handle_table_for_the_new_types(void) {
    world_t w = world();
    charter_token_t *t = chain(&w);
    charter_session_t *s = open_session(&w, t, w.bob);
    char *text = NULL;
    size_t n;
    bool b;
    charter_authority_t *sysclock = NULL;
    CHECK_STATUS(charter_token_to_text((charter_token_t *)w.alice, &text), CHARTER_E_WRONG_HANDLE_TYPE);
    CHECK_MESSAGE_HAS("token is a charter_keypair_t, expected charter_token_t");
    CHECK_STATUS(charter_keypair_public_key((charter_keypair_t *)t, &text), CHARTER_E_WRONG_HANDLE_TYPE);
    CHECK_STATUS(charter_session_is_active((charter_session_t *)w.auth, &b), CHARTER_E_WRONG_HANDLE_TYPE);
    CHECK_STATUS(charter_authority_free((charter_authority_t *)s), CHARTER_E_WRONG_HANDLE_TYPE);
    CHECK_STATUS(charter_token_link_count((charter_token_t *)&n, &n), CHARTER_E_INVALID_HANDLE);
    CHECK_STATUS(charter_token_link_count(NULL, &n), CHARTER_E_NULL_ARGUMENT);
    CHECK_OK(charter_token_free(NULL));
    CHECK_OK(charter_session_free(NULL));
    CHECK_OK(charter_keypair_free(NULL));
    CHECK_OK(charter_authority_free(NULL));
    CHECK_OK(charter_session_free(s));
    CHECK_STATUS(charter_session_is_active(s, &b), CHARTER_E_HANDLE_FREED);
    CHECK_STATUS(charter_session_free(s), CHARTER_E_ALREADY_FREED);
    CHECK_OK(charter_token_free(t));
    CHECK_STATUS(charter_token_link_count(t, &n), CHARTER_E_HANDLE_FREED);
    CHECK_STATUS(charter_token_free(t), CHARTER_E_ALREADY_FREED);
    CHECK_OK(charter_authority_new(NULL, 0, NULL, &sysclock));
    CHECK_STATUS(charter_authority_set_time(sysclock, 5), CHARTER_E_INVALID_ARGUMENT);
    CHECK_OK(charter_authority_free(sysclock));
    end_world(&w);
}

/* CHARTER_MAX_ROOTS roots are accepted; one more is refused, by count,
 * before any key is read. */
static void roots_per_authority(void) {
    world_t w = world();
    static const char *roots[CHARTER_MAX_ROOTS + 1];
    charter_authority_t *auth = NULL;
    for (size_t i = 0; i <= CHARTER_MAX_ROOTS; i++) roots[i] = w.root_pk;
    CHECK_OK(charter_authority_new(roots, CHARTER_MAX_ROOTS, NULL, &auth));
    CHECK_OK(charter_authority_free(auth));
    auth = NULL;
    CHECK_STATUS(charter_authority_new(roots, CHARTER_MAX_ROOTS + 1, NULL, &auth), CHARTER_E_LIMIT_EXCEEDED);
    CHECK_MESSAGE_HAS("root_keys: 1025 entries; the limit is 1024");
    CHECK(auth == NULL);
    end_world(&w);
}

static charter_status_t free_token(void *token) { return charter_token_free(token); }

static void sixteen_threads_free_one_token(void) {
    world_t w = world();
    int round;
    for (round = 0; round < 10; round++) free_on_sixteen_threads(free_token, chain(&w));
    end_world(&w);
}

int main(void) {
    RUN(keys_and_pkcs8);
    RUN(key_files_and_pem);
    RUN(mint_delegate_verify_inspect);
    RUN(precise_failures);
    RUN(sessions_and_revocation);
    RUN(an_enforcing_bus);
    RUN(a_subscription_is_reachable_only_through_its_client);
    RUN(revocation_ends_subscriptions_at_once);
    RUN(distrust_ends_subscriptions_at_once);
    RUN(expiry_ends_subscriptions_at_once);
    RUN(a_waiting_receive_wakes_at_the_expiry_instant);
    RUN(handle_table_for_the_new_types);
    RUN(roots_per_authority);
    RUN(sixteen_threads_free_one_token);
    return 0;
}
