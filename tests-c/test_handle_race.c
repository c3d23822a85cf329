/* HandleGuard under load through the real C ABI: many threads use and free
 * the same handles at once, for every handle type. Each round checks that
 * exactly one free wins, that every call returns OK or HANDLE_FREED (or,
 * for a publish through a client of a bus, CLOSED: the bus's free closes it
 * first; never anything else, never a crash), that an operation in flight when the
 * handle is freed completes, and, through drop_user_data, that the inner
 * object is dropped exactly once and never while a call still uses it.
 *
 * CHARTER_RACE_ROUNDS overrides the number of rounds (default 20). */
#include <pthread.h>

#include "bus_fixture.h"
#include "check.h"
#include "session_fixture.h"

#define THREADS 8
#define FREEING 3 /* of the THREADS, how many also free the handle */
#define HANDLERS 4
#define T0 1000000u

static int load(int *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
static void add(int *p, int n) { __atomic_fetch_add(p, n, __ATOMIC_SEQ_CST); }

/* One registration's user_data: counts its calls and its drop, and flags a
 * call that arrives after the drop. */
typedef struct {
    int calls, drops, calls_after_drop;
} slot_t;

static charter_status_t handler(void *user_data, const uint8_t *event, size_t len) {
    slot_t *s = (slot_t *)user_data;
    (void)event;
    (void)len;
    if (load(&s->drops) != 0) add(&s->calls_after_drop, 1);
    add(&s->calls, 1);
    return CHARTER_OK;
}

static charter_status_t on_message(void *user_data, const charter_message_t *msg) {
    (void)msg;
    return handler(user_data, NULL, 0);
}

static void drop_slot(void *user_data) { add(&((slot_t *)user_data)->drops, 1); }

enum kind { REGISTRY, BUS, KEYPAIR, TOKEN, AUTHORITY, SESSION, AUDIT, KINDS };
static const char *const kind_names[KINDS] = {"registry", "bus", "keypair", "token", "authority", "session", "audit"};

typedef struct {
    enum kind kind;
    void *handle;
    pthread_barrier_t start;
    charter_status_t free_results[FREEING];
    int bad_status, ok_ops, freed_ops, closed_ops, short_reports;
} race_t;

typedef struct {
    race_t *race;
    int index;
} racer_t;

/* The bus race publishes through this client of the raced bus, which
 * outlives the bus's handle (and is freed after the round). */
static charter_client_t *bus_client;

/* One operation of the handle's type: OK, or HANDLE_FREED once freed (a
 * bus publish that finds the bus closed counts in closed_ops, as OK). */
static charter_status_t operate(race_t *r) {
    charter_status_t st;
    switch (r->kind) {
    case REGISTRY: {
        charter_notify_report_t report;
        st = charter_registry_notify((charter_registry_t *)r->handle, (const uint8_t *)"e", 1, &report);
        if (st == CHARTER_OK && report.delivered != HANDLERS) add(&r->short_reports, 1);
        return st;
    }
    case BUS: {
        charter_publish_report_t report;
        charter_bus_stats_t stats;
        st = charter_client_publish(bus_client, "race.t", (const uint8_t *)"p", 1, NULL, 0, &report);
        /* A bus free closes the bus first, so a publish in flight may find
         * fewer subscriptions, or the bus closed; thread-dispatched queues
         * may overflow under this load. Either way the report adds up. */
        if (st == CHARTER_OK && (report.matched > HANDLERS || report.delivered + report.dropped != report.matched))
            add(&r->short_reports, 1);
        if (st == CHARTER_E_CLOSED) add(&r->closed_ops, 1);
        else if (st != CHARTER_OK) return st;
        return charter_bus_stats((charter_bus_t *)r->handle, &stats);
    }
    case KEYPAIR: {
        char *pk = NULL;
        st = charter_keypair_public_key((charter_keypair_t *)r->handle, &pk);
        charter_string_free(pk);
        return st;
    }
    case TOKEN: {
        size_t n = 0;
        st = charter_token_link_count((charter_token_t *)r->handle, &n);
        if (st == CHARTER_OK && n != 1) add(&r->short_reports, 1);
        return st;
    }
    case AUTHORITY: {
        uint8_t challenge[CHARTER_CHALLENGE_LEN];
        return charter_authority_challenge((charter_authority_t *)r->handle, challenge);
    }
    case SESSION:
        return charter_session_check((charter_session_t *)r->handle, CHARTER_ACTION_PUBLISH, "race.t");
    case AUDIT: {
        uint64_t len = 0;
        return charter_audit_len((charter_audit_t *)r->handle, &len);
    }
    default:
        return CHARTER_E_INTERNAL;
    }
}

static charter_status_t free_handle(enum kind kind, void *h) {
    switch (kind) {
    case REGISTRY: return charter_registry_free((charter_registry_t *)h);
    case BUS: return charter_bus_free((charter_bus_t *)h);
    case KEYPAIR: return charter_keypair_free((charter_keypair_t *)h);
    case TOKEN: return charter_token_free((charter_token_t *)h);
    case AUTHORITY: return charter_authority_free((charter_authority_t *)h);
    case SESSION: return charter_session_free((charter_session_t *)h);
    case AUDIT: return charter_audit_free((charter_audit_t *)h);
    default: return CHARTER_E_INTERNAL;
    }
}

static void *racer(void *arg) {
    racer_t *a = (racer_t *)arg;
    race_t *r = a->race;
    int i;
    pthread_barrier_wait(&r->start);
    /* Freeing threads free after a few operations, at staggered points;
     * every thread keeps operating until it sees the handle freed. */
    for (i = 0;; i++) {
        charter_status_t st;
        if (a->index < FREEING && i == 2 + 3 * a->index) {
            r->free_results[a->index] = free_handle(r->kind, r->handle);
        }
        st = operate(r);
        if (st == CHARTER_OK) {
            add(&r->ok_ops, 1);
        } else if (st == CHARTER_E_HANDLE_FREED) {
            add(&r->freed_ops, 1);
            if (a->index >= FREEING || i > 2 + 3 * a->index) break;
        } else {
            add(&r->bad_status, 1);
            break;
        }
    }
    return NULL;
}

typedef struct {
    charter_keypair_t *root, *holder;
    char *root_pk, *holder_pk;
} keys_t;

static charter_token_t *mint(keys_t *k) {
    const char *grants[1] = {"publish race.>"};
    charter_token_t *t = NULL;
    CHECK_OK(charter_token_mint(k->root, k->holder_pk, grants, 1, T0, T0 + 3600, &t));
    return t;
}

static charter_authority_t *authority(keys_t *k) {
    charter_authority_options_t opts;
    const char *roots[1];
    charter_authority_t *auth = NULL;
    CHECK_OK(charter_authority_options_default(&opts));
    opts.fixed_time = T0;
    roots[0] = k->root_pk;
    CHECK_OK(charter_authority_new(roots, 1, &opts, &auth));
    return auth;
}

/* Creates a handle of `kind`; registrations' user_data go to `slots`. */
static void *create(enum kind kind, keys_t *k, slot_t *slots) {
    int i;
    switch (kind) {
    case REGISTRY: {
        charter_registry_t *reg = NULL;
        uint64_t id;
        CHECK_OK(charter_registry_new(&reg));
        for (i = 0; i < HANDLERS; i++) CHECK_OK(charter_registry_register(reg, i, handler, &slots[i], drop_slot, &id));
        return reg;
    }
    case BUS: {
        charter_bus_t *bus = NULL;
        charter_subscribe_options_t opts;
        uint64_t id;
        bus_client = open_bus(&bus);
        CHECK_OK(charter_subscribe_options_default(&opts));
        for (i = 0; i < HANDLERS; i++) {
            opts.dispatch = i % 2 == 0 ? CHARTER_DISPATCH_INLINE : CHARTER_DISPATCH_THREAD;
            CHECK_OK(charter_client_subscribe_callback(bus_client, "race.*", &opts, on_message, &slots[i], drop_slot,
                                                       &id));
        }
        return bus;
    }
    case KEYPAIR: {
        charter_keypair_t *pair = NULL;
        CHECK_OK(charter_keypair_generate(&pair));
        return pair;
    }
    case TOKEN: return mint(k);
    case AUTHORITY: return authority(k);
    case SESSION: {
        uint8_t challenge[CHARTER_CHALLENGE_LEN], proof[CHARTER_PROOF_LEN];
        charter_authority_t *auth = authority(k);
        charter_token_t *token = mint(k);
        charter_session_t *s = NULL;
        CHECK_OK(charter_authority_challenge(auth, challenge));
        CHECK_OK(charter_token_prove(token, k->holder, challenge, proof));
        CHECK_OK(charter_authority_open_session(auth, token, challenge, proof, &s));
        CHECK_OK(charter_token_free(token));
        CHECK_OK(charter_authority_free(auth));
        return s;
    }
    case AUDIT: {
        charter_audit_t *log = NULL;
        CHECK_OK(charter_audit_in_memory(NULL, &log));
        return log;
    }
    default: return NULL;
    }
}

static int rounds(void) {
    const char *env = getenv("CHARTER_RACE_ROUNDS");
    int n = env ? atoi(env) : 20;
    return n > 0 ? n : 20;
}

static void race_kind(enum kind kind, keys_t *k) {
    int round, n = rounds();
    long total_ok = 0, total_freed = 0;
    for (round = 0; round < n; round++) {
        slot_t slots[HANDLERS];
        race_t r;
        racer_t args[THREADS];
        pthread_t threads[THREADS];
        int i, wins = 0, already = 0;
        memset(slots, 0, sizeof slots);
        memset(&r, 0, sizeof r);
        r.kind = kind;
        r.handle = create(kind, k, slots);
        CHECK(pthread_barrier_init(&r.start, NULL, THREADS) == 0);
        for (i = 0; i < THREADS; i++) {
            args[i].race = &r;
            args[i].index = i;
            CHECK(pthread_create(&threads[i], NULL, racer, &args[i]) == 0);
        }
        for (i = 0; i < THREADS; i++) CHECK(pthread_join(threads[i], NULL) == 0);
        pthread_barrier_destroy(&r.start);
        for (i = 0; i < FREEING; i++) {
            if (r.free_results[i] == CHARTER_OK) wins++;
            if (r.free_results[i] == CHARTER_E_ALREADY_FREED) already++;
        }
        CHECK(wins == 1 && already == FREEING - 1);
        CHECK(r.bad_status == 0);
        CHECK(r.short_reports == 0);
        CHECK(r.freed_ops >= THREADS);
        /* Later calls see the handle freed; a further free is refused. */
        CHECK_STATUS(operate(&r), CHARTER_E_HANDLE_FREED);
        CHECK_STATUS(free_handle(kind, r.handle), CHARTER_E_ALREADY_FREED);
        if (kind == BUS) CHECK_OK(charter_client_free(bus_client));
        if (kind == REGISTRY || kind == BUS) {
            for (i = 0; i < HANDLERS; i++) {
                CHECK(load(&slots[i].drops) == 1);
                CHECK(load(&slots[i].calls_after_drop) == 0);
            }
        }
        total_ok += r.ok_ops;
        total_freed += r.freed_ops;
    }
    printf("# %s: %d rounds, %ld operations OK, %ld saw HANDLE_FREED\n", kind_names[kind], n, total_ok,
           total_freed);
}

static void every_handle_type_races_use_and_free(void) {
    keys_t k;
    int kind;
    k.root = new_keypair(&k.root_pk);
    k.holder = new_keypair(&k.holder_pk);
    for (kind = 0; kind < KINDS; kind++) race_kind((enum kind)kind, &k);
    free_keypair(k.root, k.root_pk);
    free_keypair(k.holder, k.holder_pk);
}

int main(void) {
    RUN(every_handle_type_races_use_and_free);
    return 0;
}
