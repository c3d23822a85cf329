/* Waiting without a thread, one arm at a time: charter_waiter_t with
 * charter_client_poll_recv and charter_client_disarm, and the cancellable
 * receive (charter_cancel_t). The fd and callback watches are in
 * test_watch.c. */
#include <pthread.h>
#include <stdint.h>

#include "check.h"
#include "readiness_helpers.h"
#include "receiver.h"
#include "session_fixture.h"

/* What a waiter's callback touches: a count and a condition to wait on. */
typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    unsigned calls;
    /* Set once the waiter is freed; a call after that counts in `late`. */
    int freed;
    unsigned late;
} wakes_t;

static void wakes_init(wakes_t *w) {
    CHECK(pthread_mutex_init(&w->lock, NULL) == 0);
    CHECK(pthread_cond_init(&w->changed, NULL) == 0);
    w->calls = 0;
    w->freed = 0;
    w->late = 0;
}

static void wakes_destroy(wakes_t *w) {
    pthread_cond_destroy(&w->changed);
    pthread_mutex_destroy(&w->lock);
}

static unsigned wakes_calls(wakes_t *w) {
    unsigned n;
    pthread_mutex_lock(&w->lock);
    n = w->calls;
    pthread_mutex_unlock(&w->lock);
    return n;
}

static void on_ready(void *user_data) {
    wakes_t *w = (wakes_t *)user_data;
    pthread_mutex_lock(&w->lock);
    if (w->freed) {
        w->late++;
    } else {
        w->calls++;
    }
    pthread_cond_broadcast(&w->changed);
    pthread_mutex_unlock(&w->lock);
}

/* Waits until the callback has been called more than `seen` times. */
static void wakes_wait_past(wakes_t *w, unsigned seen) {
    pthread_mutex_lock(&w->lock);
    while (w->calls <= seen) pthread_cond_wait(&w->changed, &w->lock);
    pthread_mutex_unlock(&w->lock);
}

static void expect_payload(charter_message_t *msg, const char *text) {
    CHECK(msg != NULL);
    CHECK(msg->payload_len == strlen(text) && memcmp(msg->payload, text, msg->payload_len) == 0);
    charter_message_free(msg);
}

static void an_armed_waiter_is_called_once_then_polled(void) {
    charter_bus_t *bus = NULL;
    charter_client_t *cl;
    charter_waiter_t *waiter = NULL;
    charter_message_t *msg = (charter_message_t *)(uintptr_t)0x99;
    charter_subscription_stats_t stats;
    wakes_t wakes;
    uint64_t id, recheck = 7;
    wakes_init(&wakes);
    cl = subscribed_client(&bus, "a", &id);
    CHECK_OK(charter_waiter_new(on_ready, &wakes, &waiter));

    CHECK_STATUS(charter_client_poll_recv(cl, id, waiter, &msg, &recheck), CHARTER_E_WOULD_BLOCK);
    CHECK(msg == (charter_message_t *)(uintptr_t)0x99); /* untouched */
    CHECK(recheck == UINT64_MAX);                       /* no session: only a message or the end */
    /* Arming it again where it is armed keeps one arm; recheck is optional. */
    CHECK_STATUS(charter_client_poll_recv(cl, id, waiter, &msg, NULL), CHARTER_E_WOULD_BLOCK);
    publish(cl, "a", "1");
    publish(cl, "a", "2");
    CHECK(wakes_calls(&wakes) == 1); /* on the publisher's thread, before publish returned */

    CHECK_OK(charter_client_poll_recv(cl, id, waiter, &msg, &recheck));
    expect_payload(msg, "1");
    CHECK_OK(charter_client_poll_recv(cl, id, waiter, &msg, NULL));
    expect_payload(msg, "2");
    CHECK_OK(charter_client_subscription_stats(cl, id, &stats));
    CHECK(stats.delivered == 2 && stats.queued == 0);

    /* Disarmed: not called, and nothing is consumed. */
    CHECK_STATUS(charter_client_poll_recv(cl, id, waiter, &msg, NULL), CHARTER_E_WOULD_BLOCK);
    CHECK_OK(charter_client_disarm(cl, id, waiter));
    CHECK_OK(charter_client_disarm(cl, id, waiter)); /* not armed: still OK */
    publish(cl, "a", "3");
    CHECK(wakes_calls(&wakes) == 1);
    CHECK_OK(charter_client_subscription_stats(cl, id, &stats));
    CHECK(stats.queued == 1 && stats.delivered == 2);
    CHECK_OK(charter_client_poll_recv(cl, id, waiter, &msg, NULL));
    expect_payload(msg, "3");

    CHECK_OK(charter_waiter_free(waiter));
    CHECK_STATUS(charter_waiter_free(waiter), CHARTER_E_ALREADY_FREED);
    close_bus(cl, bus);
    wakes_destroy(&wakes);
}

static void the_end_calls_the_waiter(ending_t how) {
    charter_bus_t *bus = NULL;
    charter_client_t *cl;
    charter_waiter_t *waiter = NULL;
    charter_message_t *msg = NULL;
    wakes_t wakes;
    uint64_t id;
    const charter_status_t after[3] = {CHARTER_E_NOT_FOUND, CHARTER_E_CLOSED, CHARTER_E_CLOSED};
    wakes_init(&wakes);
    cl = subscribed_client(&bus, "a", &id);
    CHECK_OK(charter_waiter_new(on_ready, &wakes, &waiter));
    CHECK_STATUS(charter_client_poll_recv(cl, id, waiter, &msg, NULL), CHARTER_E_WOULD_BLOCK);
    end_subscription(how, cl, bus, id);
    CHECK(wakes_calls(&wakes) == 1);
    CHECK_STATUS(charter_client_poll_recv(cl, id, waiter, &msg, NULL), after[how]);
    CHECK(msg == NULL);
    CHECK(wakes_calls(&wakes) == 1);
    CHECK_OK(charter_waiter_free(waiter));
    close_after(how, cl, bus);
    wakes_destroy(&wakes);
}

/* Request as "start, then wait": the reply inbox is a subscription like any
 * other, so a waiter waits on it. */
static void a_waiter_waits_for_a_reply(void) {
    charter_bus_t *bus = NULL;
    charter_client_t *cl;
    charter_waiter_t *waiter = NULL;
    charter_message_t *msg = NULL, *request = NULL;
    wakes_t wakes;
    uint64_t service, reply_id, recheck = 0;
    wakes_init(&wakes);
    cl = subscribed_client(&bus, "svc.time", &service);
    CHECK_OK(charter_waiter_new(on_ready, &wakes, &waiter));
    CHECK_OK(charter_client_request_start(cl, "svc.time", (const uint8_t *)"now?", 4, NULL, 0, &reply_id));
    CHECK_STATUS(charter_client_poll_recv(cl, reply_id, waiter, &msg, &recheck), CHARTER_E_WOULD_BLOCK);
    CHECK(recheck == UINT64_MAX);
    CHECK_OK(charter_client_recv(cl, service, 0, &request));
    CHECK(request->reply_to != NULL);
    CHECK_OK(charter_client_respond(cl, request, (const uint8_t *)"noon", 4, NULL, 0, NULL));
    charter_message_free(request);
    CHECK(wakes_calls(&wakes) == 1);
    CHECK_OK(charter_client_poll_recv(cl, reply_id, waiter, &msg, NULL));
    expect_payload(msg, "noon");
    CHECK_OK(charter_client_unsubscribe(cl, reply_id, NULL));
    CHECK_OK(charter_waiter_free(waiter));
    close_bus(cl, bus);
    wakes_destroy(&wakes);
}

/* Freeing an armed waiter disarms it: its callback is never called, and
 * the subscription has no waiter left (an idle subscription with a waiter
 * armed is never evicted; one without is). */
static void freeing_an_armed_waiter_disarms_it(void) {
    charter_bus_t *bus = NULL;
    charter_client_t *cl;
    charter_waiter_t *kept = NULL, *freed = NULL;
    charter_message_t *msg = NULL;
    charter_subscribe_options_t opts;
    wakes_t wakes;
    uint64_t with_kept, with_freed;
    size_t evicted = 99;
    wakes_init(&wakes);
    cl = open_bus(&bus);
    CHECK_OK(charter_subscribe_options_default(&opts));
    opts.idle_ttl_ms = 1;
    CHECK_OK(charter_client_subscribe(cl, "kept", &opts, &with_kept));
    CHECK_OK(charter_client_subscribe(cl, "freed", &opts, &with_freed));
    CHECK_OK(charter_waiter_new(on_ready, &wakes, &kept));
    CHECK_OK(charter_waiter_new(on_ready, &wakes, &freed));
    CHECK_STATUS(charter_client_poll_recv(cl, with_kept, kept, &msg, NULL), CHARTER_E_WOULD_BLOCK);
    CHECK_STATUS(charter_client_poll_recv(cl, with_freed, freed, &msg, NULL), CHARTER_E_WOULD_BLOCK);
    CHECK_OK(charter_waiter_free(freed));
    sleep_ms(20);
    CHECK_OK(charter_bus_evict_idle(bus, &evicted));
    CHECK(evicted == 1);
    /* Evicted, its id still answers: ended, armed with nothing. */
    CHECK_STATUS(charter_client_poll_recv(cl, with_freed, kept, &msg, NULL), CHARTER_E_CLOSED);
    publish(cl, "kept", "x");
    CHECK(wakes_calls(&wakes) == 1);
    /* A freed waiter is refused, never dereferenced. */
    CHECK_STATUS(charter_client_poll_recv(cl, with_kept, freed, &msg, NULL), CHARTER_E_HANDLE_FREED);
    CHECK_STATUS(charter_client_disarm(cl, with_kept, freed), CHARTER_E_HANDLE_FREED);
    CHECK_OK(charter_waiter_free(kept));
    close_bus(cl, bus);
    wakes_destroy(&wakes);
}

/* One waiter armed on many subscriptions, some of which end: each
 * readable one calls it, and freeing it disarms every live one. */
static void one_waiter_on_many_subscriptions(void) {
    enum { N = 40 };
    charter_bus_t *bus = NULL;
    charter_client_t *cl;
    charter_waiter_t *waiter = NULL;
    charter_message_t *msg = NULL;
    charter_subscribe_options_t opts;
    wakes_t wakes;
    uint64_t ids[N];
    size_t evicted = 0;
    int i;
    wakes_init(&wakes);
    cl = open_bus(&bus);
    CHECK_OK(charter_subscribe_options_default(&opts));
    opts.idle_ttl_ms = 1;
    for (i = 0; i < N; i++) {
        char topic[16];
        snprintf(topic, sizeof topic, "many.%d", i);
        CHECK_OK(charter_client_subscribe(cl, topic, &opts, &ids[i]));
    }
    CHECK_OK(charter_waiter_new(on_ready, &wakes, &waiter));
    for (i = 0; i < N; i++) {
        CHECK_STATUS(charter_client_poll_recv(cl, ids[i], waiter, &msg, NULL), CHARTER_E_WOULD_BLOCK);
    }
    publish(cl, "many.7", "x");
    CHECK(wakes_calls(&wakes) == 1);
    CHECK_OK(charter_client_poll_recv(cl, ids[7], waiter, &msg, NULL));
    expect_payload(msg, "x");
    /* The first half ends: each was armed, so each end calls it. */
    for (i = 0; i < N / 2; i++) CHECK_OK(charter_client_unsubscribe(cl, ids[i], NULL));
    CHECK(wakes_calls(&wakes) == 1 + N / 2 - 1); /* all but many.7, armed no more */
    for (i = N / 2; i < N; i++) {
        CHECK_STATUS(charter_client_poll_recv(cl, ids[i], waiter, &msg, NULL), CHARTER_E_WOULD_BLOCK);
    }
    CHECK_OK(charter_waiter_free(waiter));
    sleep_ms(20);
    CHECK_OK(charter_bus_evict_idle(bus, &evicted));
    CHECK(evicted == N / 2); /* none of them holds an arm any more */
    CHECK(wakes_calls(&wakes) == N / 2);
    close_bus(cl, bus);
    wakes_destroy(&wakes);
}

/* Ten thousand waiters armed on one subscription: one message calls each
 * once; re-armed, the bus's end calls each once more; freeing them all
 * afterwards is quiet. */
static void ten_thousand_waiters_on_one_subscription(void) {
    int n = measuring() ? 10000 : 1000, i;
    charter_bus_t *bus = NULL;
    charter_client_t *cl;
    charter_waiter_t **waiters = (charter_waiter_t **)calloc((size_t)n, sizeof *waiters);
    charter_message_t *msg = NULL;
    wakes_t wakes;
    uint64_t id;
    CHECK(waiters != NULL);
    wakes_init(&wakes);
    cl = subscribed_client(&bus, "crowd", &id);
    for (i = 0; i < n; i++) {
        CHECK_OK(charter_waiter_new(on_ready, &wakes, &waiters[i]));
        CHECK_STATUS(charter_client_poll_recv(cl, id, waiters[i], &msg, NULL), CHARTER_E_WOULD_BLOCK);
    }
    publish(cl, "crowd", "1");
    CHECK(wakes_calls(&wakes) == (unsigned)n);
    /* One of them takes the message; the others find the queue empty. */
    CHECK_OK(charter_client_poll_recv(cl, id, waiters[0], &msg, NULL));
    expect_payload(msg, "1");
    for (i = 0; i < n; i++) {
        CHECK_STATUS(charter_client_poll_recv(cl, id, waiters[i], &msg, NULL), CHARTER_E_WOULD_BLOCK);
    }
    CHECK_OK(charter_bus_close(bus));
    CHECK(wakes_calls(&wakes) == 2u * (unsigned)n);
    for (i = 0; i < n; i++) CHECK_OK(charter_waiter_free(waiters[i]));
    CHECK(wakes_calls(&wakes) == 2u * (unsigned)n);
    free(waiters);
    close_bus(cl, bus);
    wakes_destroy(&wakes);
}

/* A callback that frees its own waiter: the free does not wait for the
 * call it is made from. */
typedef struct {
    charter_waiter_t *waiter;
    charter_status_t freed;
    unsigned calls;
} self_free_t;

static void free_myself(void *user_data) {
    self_free_t *s = (self_free_t *)user_data;
    s->calls++;
    s->freed = charter_waiter_free(s->waiter);
}

static void a_callback_may_free_its_own_waiter(void) {
    charter_bus_t *bus = NULL;
    charter_client_t *cl;
    charter_message_t *msg = NULL;
    self_free_t s = {NULL, 12345, 0};
    uint64_t id;
    cl = subscribed_client(&bus, "a", &id);
    CHECK_OK(charter_waiter_new(free_myself, &s, &s.waiter));
    CHECK_STATUS(charter_client_poll_recv(cl, id, s.waiter, &msg, NULL), CHARTER_E_WOULD_BLOCK);
    publish(cl, "a", "1");
    CHECK(s.calls == 1 && s.freed == CHARTER_OK);
    publish(cl, "a", "2");
    CHECK(s.calls == 1);
    close_bus(cl, bus);
}

/* Waiters armed, then freed, while another thread publishes: once
 * charter_waiter_free returns, the callback is never called (each waiter's
 * state says it was freed, and a call after that counts as late). The
 * states are made before the publisher thread starts, so ThreadSanitizer
 * sees them published to it (the library's own locks are invisible to it). */
static void waiters_freed_while_another_thread_publishes(void) {
    charter_bus_t *bus = NULL;
    charter_subscribe_options_t opts;
    publisher_t p;
    pthread_t t;
    uint64_t id;
    int round, rounds = measuring() ? 20000 : 500;
    unsigned woken = 0;
    wakes_t *all;
    p.client = open_bus(&bus);
    p.stop = 0;
    CHECK(pthread_mutex_init(&p.lock, NULL) == 0);
    CHECK_OK(charter_subscribe_options_default(&opts));
    opts.capacity = 4; /* DROP_OLDEST: the publisher never waits */
    CHECK_OK(charter_client_subscribe(p.client, "hot", &opts, &id));
    all = (wakes_t *)calloc((size_t)rounds, sizeof *all);
    CHECK(all != NULL);
    for (round = 0; round < rounds; round++) wakes_init(&all[round]);
    CHECK(pthread_create(&t, NULL, publish_until_stopped, &p) == 0);
    for (round = 0; round < rounds; round++) {
        wakes_t *wakes = &all[round];
        charter_waiter_t *waiter = NULL;
        charter_message_t *msg = NULL;
        charter_status_t st;
        CHECK_OK(charter_waiter_new(on_ready, wakes, &waiter));
        /* Drain until armed, so the publisher fires it while it is freed. */
        while ((st = charter_client_poll_recv(p.client, id, waiter, &msg, NULL)) == CHARTER_OK) {
            charter_message_free(msg);
        }
        CHECK(st == CHARTER_E_WOULD_BLOCK);
        CHECK_OK(charter_waiter_free(waiter));
        pthread_mutex_lock(&wakes->lock);
        wakes->freed = 1;
        woken += wakes->calls;
        pthread_mutex_unlock(&wakes->lock);
    }
    pthread_mutex_lock(&p.lock);
    p.stop = 1;
    pthread_mutex_unlock(&p.lock);
    CHECK(pthread_join(t, NULL) == 0);
    for (round = 0; round < rounds; round++) {
        CHECK(all[round].late == 0);
        wakes_destroy(&all[round]);
    }
    free(all);
    printf("# %d waiters freed while armed, %u of them called before their free\n", rounds, woken);
    pthread_mutex_destroy(&p.lock);
    close_bus(p.client, bus);
}

/* A free on one thread waits for the call running on another: the
 * callback blocks until told, and the free must not return before. */
typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int entered, release, returned;
} slow_t;

static void slow_ready(void *user_data) {
    slow_t *s = (slow_t *)user_data;
    pthread_mutex_lock(&s->lock);
    s->entered = 1;
    pthread_cond_broadcast(&s->changed);
    while (!s->release) pthread_cond_wait(&s->changed, &s->lock);
    s->returned = 1;
    pthread_mutex_unlock(&s->lock);
}

typedef struct {
    charter_client_t *client;
} pub_once_t;

static void *publish_once(void *arg) {
    pub_once_t *p = (pub_once_t *)arg;
    CHECK_OK(charter_client_publish(p->client, "a", (const uint8_t *)"x", 1, NULL, 0, NULL));
    return NULL;
}

static void *release_later(void *arg) {
    slow_t *s = (slow_t *)arg;
    sleep_ms(50);
    pthread_mutex_lock(&s->lock);
    s->release = 1;
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

static void free_waits_for_a_running_callback(void) {
    charter_bus_t *bus = NULL;
    charter_waiter_t *waiter = NULL;
    charter_message_t *msg = NULL;
    slow_t s;
    pub_once_t p;
    pthread_t publisher, releaser;
    uint64_t id;
    memset(&s, 0, sizeof s);
    CHECK(pthread_mutex_init(&s.lock, NULL) == 0);
    CHECK(pthread_cond_init(&s.changed, NULL) == 0);
    p.client = subscribed_client(&bus, "a", &id);
    CHECK_OK(charter_waiter_new(slow_ready, &s, &waiter));
    CHECK_STATUS(charter_client_poll_recv(p.client, id, waiter, &msg, NULL), CHARTER_E_WOULD_BLOCK);
    CHECK(pthread_create(&publisher, NULL, publish_once, &p) == 0);
    pthread_mutex_lock(&s.lock);
    while (!s.entered) pthread_cond_wait(&s.changed, &s.lock);
    pthread_mutex_unlock(&s.lock);
    CHECK(pthread_create(&releaser, NULL, release_later, &s) == 0);
    CHECK_OK(charter_waiter_free(waiter));
    pthread_mutex_lock(&s.lock);
    CHECK(s.returned == 1);
    pthread_mutex_unlock(&s.lock);
    CHECK(pthread_join(publisher, NULL) == 0);
    CHECK(pthread_join(releaser, NULL) == 0);
    close_bus(p.client, bus);
    pthread_cond_destroy(&s.changed);
    pthread_mutex_destroy(&s.lock);
}

/* A producer and a consumer race; the consumer waits only through its
 * waiter and must see every message, in order. */
static void no_wake_up_is_lost(void) {
    charter_bus_t *bus = NULL;
    charter_waiter_t *waiter = NULL;
    charter_subscribe_options_t opts;
    charter_subscription_stats_t stats;
    producer_t p;
    pthread_t t;
    wakes_t wakes;
    uint64_t id, next = 0, parked = 0;
    wakes_init(&wakes);
    p.client = open_bus(&bus);
    p.count = measuring() ? 1000000u : 20000u;
    CHECK_OK(charter_subscribe_options_default(&opts));
    opts.capacity = 64;
    opts.overflow = CHARTER_OVERFLOW_BLOCK;
    opts.block_timeout_ms = CHARTER_WAIT_FOREVER;
    CHECK_OK(charter_client_subscribe(p.client, "race", &opts, &id));
    CHECK_OK(charter_waiter_new(on_ready, &wakes, &waiter));
    CHECK(pthread_create(&t, NULL, produce, &p) == 0);
    while (next < p.count) {
        charter_message_t *msg = NULL;
        unsigned seen = wakes_calls(&wakes);
        charter_status_t st = charter_client_poll_recv(p.client, id, waiter, &msg, NULL);
        if (st == CHARTER_E_WOULD_BLOCK) {
            wakes_wait_past(&wakes, seen);
            parked++;
            continue;
        }
        CHECK_OK(st);
        CHECK(msg->payload_len == sizeof next && memcmp(msg->payload, &next, sizeof next) == 0);
        charter_message_free(msg);
        next++;
    }
    CHECK(pthread_join(t, NULL) == 0);
    CHECK_OK(charter_client_subscription_stats(p.client, id, &stats));
    CHECK(stats.delivered == p.count && stats.queued == 0);
    printf("# %llu messages, the consumer parked %llu times\n", (unsigned long long)p.count,
           (unsigned long long)parked);
    CHECK_OK(charter_waiter_free(waiter));
    close_bus(p.client, bus);
    wakes_destroy(&wakes);
}

/* --- sessions ------------------------------------------------------- */

#define T0 1700000000u

/* how: 0 revoke the session's link, 1 move the authority's clock past its
 * expiry. Either wakes the armed waiter at once; the recheck said when. */
static void ending_the_session_calls_the_waiter(int how) {
    holder_world_t w = holder_world(T0, T0 + 600);
    charter_bus_t *bus = NULL;
    charter_client_t *cl = NULL;
    charter_waiter_t *waiter = NULL;
    charter_message_t *msg = NULL;
    wakes_t wakes;
    uint64_t id, recheck = 0;
    wakes_init(&wakes);
    CHECK_OK(charter_bus_new_with_authority(NULL, w.auth, &bus));
    CHECK_OK(charter_client_new(bus, w.session, &cl));
    CHECK_OK(charter_client_subscribe(cl, "jobs.>", NULL, &id));
    CHECK_OK(charter_waiter_new(on_ready, &wakes, &waiter));
    CHECK_STATUS(charter_client_poll_recv(cl, id, waiter, &msg, &recheck), CHARTER_E_WOULD_BLOCK);
    /* The window's end plus the authority's 60 s of clock skew. */
    CHECK(recheck == (600u + 60u) * 1000u);
    if (how == 0) CHECK_OK(charter_authority_revoke(w.auth, w.link, NULL));
    if (how == 1) CHECK_OK(charter_authority_set_time(w.auth, T0 + 600 + 61));
    CHECK(wakes_calls(&wakes) == 1);
    CHECK_STATUS(charter_client_poll_recv(cl, id, waiter, &msg, NULL),
                 how == 0 ? CHARTER_E_REVOKED : CHARTER_E_EXPIRED);
    CHECK_OK(charter_waiter_free(waiter));
    close_bus(cl, bus);
    end_holder_world(&w);
    wakes_destroy(&wakes);
}

static void revoking_the_session_calls_the_waiter(void) { ending_the_session_calls_the_waiter(0); }
static void expiring_the_session_calls_the_waiter(void) { ending_the_session_calls_the_waiter(1); }

/* A subscription made through a session is reached only through a client
 * of that session: another client cannot poll it or arm on it. */
static void a_waiter_reaches_only_its_own_subscriptions(void) {
    holder_world_t w = holder_world(T0, T0 + 600);
    charter_bus_t *bus = NULL;
    charter_client_t *owner = NULL, *other = NULL;
    charter_waiter_t *waiter = NULL;
    charter_message_t *msg = NULL;
    wakes_t wakes;
    uint64_t id;
    wakes_init(&wakes);
    CHECK_OK(charter_bus_new_with_authority(NULL, w.auth, &bus));
    CHECK_OK(charter_client_new(bus, w.session, &owner));
    CHECK_OK(charter_client_new(bus, NULL, &other));
    CHECK_OK(charter_client_subscribe(owner, "jobs.>", NULL, &id));
    CHECK_OK(charter_waiter_new(on_ready, &wakes, &waiter));
    CHECK_STATUS(charter_client_poll_recv(other, id, waiter, &msg, NULL), CHARTER_E_DENIED);
    CHECK_STATUS(charter_client_disarm(other, id, waiter), CHARTER_E_DENIED);
    CHECK_STATUS(charter_client_poll_recv(owner, id + 1, waiter, &msg, NULL), CHARTER_E_NOT_FOUND);
    CHECK_OK(charter_waiter_free(waiter));
    CHECK_OK(charter_client_free(owner));
    close_bus(other, bus);
    end_holder_world(&w);
    wakes_destroy(&wakes);
}

/* --- cancellation ---------------------------------------------------- */
static void a_cancelled_receive_consumes_nothing(void) {
    charter_bus_t *bus = NULL;
    charter_client_t *cl;
    charter_cancel_t *cancel = NULL;
    charter_message_t *msg = NULL;
    uint64_t id;
    cl = subscribed_client(&bus, "a", &id);
    CHECK_OK(charter_cancel_new(&cancel));
    publish(cl, "a", "1");
    CHECK_OK(charter_client_recv_cancellable(cl, id, 0, cancel, &msg));
    expect_payload(msg, "1");
    msg = NULL;
    CHECK_STATUS(charter_client_recv_cancellable(cl, id, 0, cancel, &msg), CHARTER_E_WOULD_BLOCK);
    CHECK_STATUS(charter_client_recv_cancellable(cl, id, 10, cancel, &msg), CHARTER_E_TIMEOUT);
    /* Cancelled before: fails at once, even with a message queued. */
    publish(cl, "a", "2");
    CHECK_OK(charter_cancel_cancel(cancel));
    CHECK_OK(charter_cancel_cancel(cancel));
    CHECK_STATUS(charter_client_recv_cancellable(cl, id, CHARTER_WAIT_FOREVER, cancel, &msg),
                 CHARTER_E_CANCELLED);
    CHECK_MESSAGE_HAS("nothing was consumed");
    CHECK(msg == NULL);
    CHECK_OK(charter_client_recv(cl, id, 0, &msg));
    expect_payload(msg, "2");
    CHECK_OK(charter_cancel_free(cancel));
    CHECK_STATUS(charter_cancel_free(cancel), CHARTER_E_ALREADY_FREED);
    close_bus(cl, bus);
}

static void cancelling_wakes_a_waiting_receive(void) {
    charter_bus_t *bus = NULL;
    charter_subscription_stats_t stats;
    charter_message_t *msg = NULL;
    receiver_t r;
    pthread_t t;
    uint64_t before;
    r.client = open_bus(&bus);
    r.status = 12345;
    CHECK_OK(charter_client_subscribe(r.client, "a", NULL, &r.id));
    CHECK_OK(charter_cancel_new(&r.cancel));
    CHECK(pthread_create(&t, NULL, receive_forever, &r) == 0);
    sleep_ms(50);
    before = now_us();
    CHECK_OK(charter_cancel_cancel(r.cancel));
    CHECK(pthread_join(t, NULL) == 0);
    CHECK(r.status == CHARTER_E_CANCELLED);
    printf("# the cancelled receive returned %llu us after the cancel\n",
           (unsigned long long)(r.woke_us - before));
    /* Nothing was taken, and a later message is received normally. */
    publish(r.client, "a", "after");
    CHECK_OK(charter_client_subscription_stats(r.client, r.id, &stats));
    CHECK(stats.delivered == 0 && stats.queued == 1);
    CHECK_OK(charter_client_recv(r.client, r.id, 0, &msg));
    expect_payload(msg, "after");
    /* Freeing the cancellation while a receive waits with it is safe; the
     * receive then waits for a message. */
    CHECK_OK(charter_cancel_free(r.cancel));
    close_bus(r.client, bus);
}

/* --- misuse ----------------------------------------------------------- */
static void misuse_is_reported(void) {
    charter_bus_t *bus = NULL;
    charter_client_t *cl;
    charter_waiter_t *waiter = NULL;
    charter_cancel_t *cancel = NULL;
    charter_message_t *msg = NULL;
    wakes_t wakes;
    uint64_t id;
    int not_a_handle = 0;
    wakes_init(&wakes);
    cl = subscribed_client(&bus, "a", &id);

    CHECK_STATUS(charter_waiter_new(NULL, &wakes, &waiter), CHARTER_E_NULL_ARGUMENT);
    CHECK_MESSAGE_HAS("fn");
    CHECK_STATUS(charter_waiter_new(on_ready, &wakes, NULL), CHARTER_E_NULL_ARGUMENT);
    CHECK_OK(charter_waiter_new(on_ready, &wakes, &waiter));
    CHECK_STATUS(charter_client_poll_recv(cl, id, waiter, NULL, NULL), CHARTER_E_NULL_ARGUMENT);
    CHECK_MESSAGE_HAS("message_out");
    CHECK_STATUS(charter_client_poll_recv(NULL, id, waiter, &msg, NULL), CHARTER_E_NULL_ARGUMENT);
    CHECK_STATUS(charter_client_poll_recv(cl, id, NULL, &msg, NULL), CHARTER_E_NULL_ARGUMENT);
    CHECK_STATUS(charter_client_poll_recv(cl, id, (charter_waiter_t *)(void *)bus, &msg, NULL),
                 CHARTER_E_WRONG_HANDLE_TYPE);
    CHECK_MESSAGE_HAS("charter_waiter_t");
    CHECK_STATUS(charter_client_poll_recv((charter_client_t *)(void *)waiter, id, waiter, &msg, NULL),
                 CHARTER_E_WRONG_HANDLE_TYPE);
    CHECK_STATUS(charter_client_poll_recv(cl, id, (charter_waiter_t *)(void *)&not_a_handle, &msg, NULL),
                 CHARTER_E_INVALID_HANDLE);
    CHECK_STATUS(charter_client_disarm(cl, id, NULL), CHARTER_E_NULL_ARGUMENT);
    CHECK_STATUS(charter_waiter_free((charter_waiter_t *)(void *)bus), CHARTER_E_WRONG_HANDLE_TYPE);
    CHECK_OK(charter_waiter_free(NULL));

    CHECK_STATUS(charter_cancel_new(NULL), CHARTER_E_NULL_ARGUMENT);
    CHECK_STATUS(charter_cancel_cancel(NULL), CHARTER_E_NULL_ARGUMENT);
    CHECK_STATUS(charter_cancel_cancel((charter_cancel_t *)(void *)waiter), CHARTER_E_WRONG_HANDLE_TYPE);
    CHECK_OK(charter_cancel_new(&cancel));
    CHECK_STATUS(charter_client_recv_cancellable(cl, id, 0, NULL, &msg), CHARTER_E_NULL_ARGUMENT);
    CHECK_STATUS(charter_client_recv_cancellable(cl, id, 0, cancel, NULL), CHARTER_E_NULL_ARGUMENT);
    CHECK_STATUS(charter_client_recv_cancellable(cl, id + 1, 0, cancel, &msg), CHARTER_E_NOT_FOUND);
    CHECK_OK(charter_cancel_free(cancel));
    CHECK_STATUS(charter_cancel_cancel(cancel), CHARTER_E_HANDLE_FREED);
    CHECK_STATUS(charter_client_recv_cancellable(cl, id, 0, cancel, &msg), CHARTER_E_HANDLE_FREED);
    CHECK_OK(charter_cancel_free(NULL));

    CHECK_OK(charter_waiter_free(waiter));
    close_bus(cl, bus);
    wakes_destroy(&wakes);
}

static void a_callback_subscription_cannot_be_polled(void) {
    charter_bus_t *bus = NULL;
    charter_client_t *cl;
    charter_waiter_t *waiter = NULL;
    charter_cancel_t *cancel = NULL;
    charter_message_t *msg = NULL;
    wakes_t wakes;
    uint64_t id;
    wakes_init(&wakes);
    cl = open_bus(&bus);
    CHECK_OK(charter_client_subscribe_callback(cl, "a", NULL, ignore_message, NULL, NULL, &id));
    CHECK_OK(charter_waiter_new(on_ready, &wakes, &waiter));
    CHECK_OK(charter_cancel_new(&cancel));
    CHECK_STATUS(charter_client_poll_recv(cl, id, waiter, &msg, NULL), CHARTER_E_INVALID_ARGUMENT);
    CHECK_MESSAGE_HAS("delivers to its handler");
    CHECK_STATUS(charter_client_recv_cancellable(cl, id, 0, cancel, &msg), CHARTER_E_INVALID_ARGUMENT);
    CHECK_OK(charter_cancel_free(cancel));
    CHECK_OK(charter_waiter_free(waiter));
    close_bus(cl, bus);
    wakes_destroy(&wakes);
}

/* One waiter armed on subscriptions of two buses: freeing one bus calls
 * it once; it goes on working on the other; freeing it after both have
 * gone is clean. */
static void one_waiter_across_two_buses(void) {
    charter_bus_t *buses[2];
    charter_client_t *cls[2];
    charter_waiter_t *waiter = NULL;
    charter_message_t *msg = NULL;
    uint64_t ids[2];
    wakes_t wakes;
    int i;
    wakes_init(&wakes);
    CHECK_OK(charter_waiter_new(on_ready, &wakes, &waiter));
    for (i = 0; i < 2; i++) {
        cls[i] = subscribed_client(&buses[i], "a", &ids[i]);
        CHECK_STATUS(charter_client_poll_recv(cls[i], ids[i], waiter, &msg, NULL), CHARTER_E_WOULD_BLOCK);
    }
    close_bus(cls[0], buses[0]);
    CHECK(wakes_calls(&wakes) == 1);
    publish(cls[1], "a", "b");
    CHECK(wakes_calls(&wakes) == 2);
    CHECK_OK(charter_client_poll_recv(cls[1], ids[1], waiter, &msg, NULL));
    expect_payload(msg, "b");
    CHECK_STATUS(charter_client_poll_recv(cls[1], ids[1], waiter, &msg, NULL), CHARTER_E_WOULD_BLOCK);
    close_bus(cls[1], buses[1]);
    CHECK(wakes_calls(&wakes) == 3);
    CHECK_OK(charter_waiter_free(waiter));
    CHECK(wakes_calls(&wakes) == 3);
    wakes_destroy(&wakes);
}

/* Deep re-entrancy: a callback that, called by a publish, frees the
 * client and the bus that publish is going through. Every waiter armed on
 * the bus is called exactly once (the first by the publish, the others by
 * the free), and the publish returns. */
typedef struct {
    charter_bus_t *bus;
    charter_client_t *client;
    unsigned calls;
    charter_status_t freed;
} teardown_t;

static void tear_down_the_bus(void *user_data) {
    teardown_t *t = (teardown_t *)user_data;
    if (t->calls++ == 0) {
        charter_status_t a = charter_client_free(t->client), b = charter_bus_free(t->bus);
        t->freed = a != CHARTER_OK ? a : b;
    }
}

static void a_callback_may_free_the_bus_it_is_called_from(void) {
    enum { n = 8 };
    teardown_t t = {0};
    charter_client_t *publisher;
    charter_waiter_t *waiters[n];
    charter_message_t *msg = NULL;
    uint64_t ids[n];
    charter_status_t published;
    int i;
    t.client = open_bus(&t.bus);
    publisher = client_of(t.bus);
    for (i = 0; i < n; i++) {
        CHECK_OK(charter_client_subscribe(t.client, "a", NULL, &ids[i]));
        CHECK_OK(charter_waiter_new(tear_down_the_bus, &t, &waiters[i]));
        CHECK_STATUS(charter_client_poll_recv(t.client, ids[i], waiters[i], &msg, NULL), CHARTER_E_WOULD_BLOCK);
    }
    published = charter_client_publish(publisher, "a", (const uint8_t *)"m", 1, NULL, 0, NULL);
    CHECK(published == CHARTER_OK || published == CHARTER_E_CLOSED);
    CHECK_OK(t.freed);
    CHECK(t.calls == n);
    CHECK_STATUS(charter_client_publish(publisher, "a", (const uint8_t *)"m", 1, NULL, 0, NULL), CHARTER_E_CLOSED);
    for (i = 0; i < n; i++) CHECK_OK(charter_waiter_free(waiters[i]));
    CHECK(t.calls == n);
    CHECK_OK(charter_client_free(publisher));
}

/* A callback that receives, re-arms and publishes again on the same
 * subscription: each publish calls it again, nested, until the bus's bound
 * on nested publishes refuses one with CHARTER_E_LIMIT_EXCEEDED (no stack
 * overflow). Every message published is received once. */
typedef struct {
    charter_client_t *client;
    charter_waiter_t *waiter;
    uint64_t id;
    unsigned received, published;
    charter_status_t poll_end, refused;
} echo_t;

static void receive_and_publish_again(void *user_data) {
    echo_t *e = (echo_t *)user_data;
    charter_message_t *msg = NULL;
    charter_status_t st;
    while ((st = charter_client_poll_recv(e->client, e->id, e->waiter, &msg, NULL)) == CHARTER_OK) {
        e->received++;
        charter_message_free(msg);
    }
    if (st != CHARTER_E_WOULD_BLOCK) e->poll_end = st;
    if (e->refused == CHARTER_OK) {
        st = charter_client_publish(e->client, "e", (const uint8_t *)"m", 1, NULL, 0, NULL);
        if (st == CHARTER_OK)
            e->published++;
        else
            e->refused = st;
    }
}

static void a_callback_may_receive_and_publish_again(void) {
    charter_bus_t *bus;
    charter_message_t *msg = NULL;
    echo_t e = {0};
    e.client = open_bus(&bus);
    e.poll_end = CHARTER_OK;
    CHECK_OK(charter_client_subscribe(e.client, "e", NULL, &e.id));
    CHECK_OK(charter_waiter_new(receive_and_publish_again, &e, &e.waiter));
    CHECK_STATUS(charter_client_poll_recv(e.client, e.id, e.waiter, &msg, NULL), CHARTER_E_WOULD_BLOCK);
    CHECK_OK(charter_client_publish(e.client, "e", (const uint8_t *)"m", 1, NULL, 0, NULL));
    CHECK(e.poll_end == CHARTER_OK);
    CHECK(e.refused == CHARTER_E_LIMIT_EXCEEDED);
    CHECK(e.published > 0);
    CHECK(e.received == e.published + 1);
    CHECK_OK(charter_waiter_free(e.waiter));
    close_bus(e.client, bus);
}

int main(void) {
    RUN(an_armed_waiter_is_called_once_then_polled);
    RUN_WITH(the_end_calls_the_waiter, UNSUBSCRIBE);
    RUN_WITH(the_end_calls_the_waiter, CLOSE_THE_BUS);
    RUN_WITH(the_end_calls_the_waiter, FREE_THE_BUS);
    RUN(a_waiter_waits_for_a_reply);
    RUN(freeing_an_armed_waiter_disarms_it);
    RUN(one_waiter_on_many_subscriptions);
    RUN(ten_thousand_waiters_on_one_subscription);
    RUN(a_callback_may_free_its_own_waiter);
    RUN(one_waiter_across_two_buses);
    RUN(a_callback_may_free_the_bus_it_is_called_from);
    RUN(a_callback_may_receive_and_publish_again);
    RUN(waiters_freed_while_another_thread_publishes);
    RUN(free_waits_for_a_running_callback);
    RUN(no_wake_up_is_lost);
    RUN(revoking_the_session_calls_the_waiter);
    RUN(expiring_the_session_calls_the_waiter);
    RUN(a_waiter_reaches_only_its_own_subscriptions);
    RUN(a_cancelled_receive_consumes_nothing);
    RUN(cancelling_wakes_a_waiting_receive);
    RUN(misuse_is_reported);
    RUN(a_callback_subscription_cannot_be_polled);
    return 0;
}
