/* The bus through the C ABI: messages, callbacks, request/reply, overflow,
 * blocking receives, closing, and the handle table for the bus handle. */
#include <pthread.h>

#include "bus_fixture.h"
#include "check.h"
#include "free_race.h"
#include "receiver.h"

static void publish_recv_and_message_fields(void) {
    charter_bus_t *bus = new_bus();
    charter_client_t *cl = client_of(bus);
    uint64_t exact, wild, other;
    charter_header_t headers[2] = {{"trace", "abc"}, {"kind", "order"}};
    charter_publish_report_t report;
    charter_message_t *msg = NULL;
    CHECK_OK(charter_client_subscribe(cl, "orders.eu.created", NULL, &exact));
    CHECK_OK(charter_client_subscribe(cl, "orders.*.created", NULL, &wild));
    CHECK_OK(charter_client_subscribe(cl, "payments.>", NULL, &other));
    CHECK(exact != wild && wild != other);
    CHECK_OK(charter_client_publish(cl, "orders.eu.created", (const uint8_t *)"order-17", 8, headers, 2, &report));
    CHECK(report.matched == 2 && report.delivered == 2 && report.dropped == 0);
    CHECK_OK(charter_client_recv(cl, exact, 0, &msg));
    CHECK(strcmp(msg->topic, "orders.eu.created") == 0);
    CHECK(msg->payload_len == 8 && memcmp(msg->payload, "order-17", 8) == 0);
    CHECK(msg->header_count == 2);
    CHECK(strcmp(msg->headers[0].name, "trace") == 0 && strcmp(msg->headers[0].value, "abc") == 0);
    CHECK(strcmp(msg->headers[1].name, "kind") == 0);
    CHECK(msg->reply_to == NULL);
    CHECK(msg->seq == 1);
    charter_message_free(msg);
    msg = NULL;
    CHECK_OK(charter_client_recv(cl, wild, 100, &msg));
    charter_message_free(msg);
    msg = (charter_message_t *)(uintptr_t)0x99;
    CHECK_STATUS(charter_client_recv(cl, other, 0, &msg), CHARTER_E_WOULD_BLOCK);
    CHECK_STATUS(charter_client_recv(cl, other, 20, &msg), CHARTER_E_TIMEOUT);
    CHECK(msg == (charter_message_t *)(uintptr_t)0x99); /* untouched on failure */
    CHECK_STATUS(charter_client_recv(cl, 424242, 0, &msg), CHARTER_E_NOT_FOUND);
    charter_message_free(NULL);
    close_bus(cl, bus);
}

static void bad_input_names_the_rule(void) {
    charter_bus_t *bus = new_bus();
    charter_client_t *cl = client_of(bus);
    uint64_t id;
    charter_header_t bad = {"bad name", "v"};
    charter_subscribe_options_t opts;
    charter_bus_limits_t limits;
    charter_bus_t *other = NULL;
    CHECK_STATUS(charter_client_publish(cl, "a..b", NULL, 0, NULL, 0, NULL), CHARTER_E_INVALID_ARGUMENT);
    CHECK_MESSAGE_HAS("empty token at position 2");
    CHECK_STATUS(charter_client_publish(cl, "a.*", NULL, 0, NULL, 0, NULL), CHARTER_E_INVALID_ARGUMENT);
    CHECK_MESSAGE_HAS("wildcard");
    CHECK_STATUS(charter_client_subscribe(cl, "_charter.>", NULL, &id), CHARTER_E_INVALID_ARGUMENT);
    CHECK_MESSAGE_HAS("reserved");
    CHECK_STATUS(charter_client_publish(cl, "a\xff", NULL, 0, NULL, 0, NULL), CHARTER_E_INVALID_UTF8);
    CHECK_MESSAGE_HAS("topic is not UTF-8");
    CHECK_STATUS(charter_client_publish(cl, NULL, NULL, 0, NULL, 0, NULL), CHARTER_E_NULL_ARGUMENT);
    CHECK_STATUS(charter_client_publish(cl, "t", NULL, 5, NULL, 0, NULL), CHARTER_E_NULL_ARGUMENT);
    CHECK_MESSAGE_HAS("payload is NULL");
    CHECK_STATUS(charter_client_publish(cl, "t", NULL, 0, &bad, 1, NULL), CHARTER_E_INVALID_ARGUMENT);
    CHECK_MESSAGE_HAS("header name");
    CHECK_STATUS(charter_client_publish(cl, "t", NULL, 0, NULL, 1000000, NULL), CHARTER_E_LIMIT_EXCEEDED);
    CHECK_MESSAGE_HAS("1000000 headers");
    CHECK_OK(charter_subscribe_options_default(&opts));
    CHECK(opts.capacity == 1024 && opts.overflow == CHARTER_OVERFLOW_DROP_OLDEST);
    opts.overflow = 17;
    CHECK_STATUS(charter_client_subscribe(cl, "t", &opts, &id), CHARTER_E_INVALID_ARGUMENT);
    CHECK_MESSAGE_HAS("CHARTER_OVERFLOW_");
    /* The core's rule and words, passed through: a pull subscription has
       no handler to run on a thread. */
    CHECK_OK(charter_subscribe_options_default(&opts));
    opts.dispatch = CHARTER_DISPATCH_THREAD;
    CHECK_STATUS(charter_client_subscribe(cl, "t", &opts, &id), CHARTER_E_INVALID_ARGUMENT);
    CHECK_MESSAGE_HAS("thread dispatch applies to subscriptions with a handler only");
    CHECK_OK(charter_bus_limits_default(&limits));
    CHECK(limits.max_topic_len == 256 && limits.max_topic_tokens == 16);
    limits.max_topic_tokens = 17;
    CHECK_STATUS(charter_bus_new(&limits, &other), CHARTER_E_INVALID_ARGUMENT);
    CHECK(other == NULL);
    close_bus(cl, bus);
}

/* --- callbacks ------------------------------------------------------------ */

typedef struct {
    charter_bus_t *bus;
    charter_client_t *cl;
    uint64_t self_id;
    int calls, drops;
    char last_topic[64];
    char last_payload[64];
    charter_status_t inner_status;
} cb_t;

/* A callback's state, zeroed, on a new bus with a client. */
static cb_t cb_on_a_new_bus(void) {
    cb_t c;
    memset(&c, 0, sizeof c);
    c.cl = open_bus(&c.bus);
    return c;
}

static charter_status_t record(void *user_data, const charter_message_t *msg) {
    cb_t *c = (cb_t *)user_data;
    c->calls++;
    snprintf(c->last_topic, sizeof c->last_topic, "%s", msg->topic);
    snprintf(c->last_payload, sizeof c->last_payload, "%.*s", (int)msg->payload_len, (const char *)msg->payload);
    return CHARTER_OK;
}

static charter_status_t failing(void *user_data, const charter_message_t *msg) {
    (void)msg;
    ((cb_t *)user_data)->calls++;
    return CHARTER_E_INTERNAL;
}

static void cb_drop(void *user_data) { ((cb_t *)user_data)->drops++; }

static void callbacks_and_drop_user_data(void) {
    charter_bus_t *bus = new_bus();
    charter_client_t *cl = client_of(bus);
    cb_t a, b;
    uint64_t ia, ib;
    bool removed;
    charter_subscription_stats_t st;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    CHECK_OK(charter_client_subscribe_callback(cl, "sensors.>", NULL, record, &a, cb_drop, &ia));
    CHECK_OK(charter_client_subscribe_callback(cl, "sensors.*", NULL, failing, &b, cb_drop, &ib));
    CHECK_OK(charter_client_publish(cl, "sensors.t1", (const uint8_t *)"21.5", 4, NULL, 0, NULL));
    CHECK(a.calls == 1 && strcmp(a.last_topic, "sensors.t1") == 0 && strcmp(a.last_payload, "21.5") == 0);
    CHECK(b.calls == 1);
    CHECK_OK(charter_client_subscription_stats(cl, ib, &st));
    CHECK(st.received == 1 && st.delivered == 1 && st.handler_failures == 1);
    CHECK_OK(charter_client_unsubscribe(cl, ib, &removed));
    CHECK(removed && b.drops == 1);
    CHECK_OK(charter_client_unsubscribe(cl, ib, &removed));
    CHECK(!removed && b.drops == 1);
    CHECK_STATUS(charter_client_subscribe_callback(cl, "x", NULL, NULL, &a, cb_drop, &ia), CHARTER_E_NULL_ARGUMENT);
    CHECK_STATUS(charter_client_subscribe_callback(cl, "_charter.x", NULL, record, &b, cb_drop, &ib),
                 CHARTER_E_INVALID_ARGUMENT);
    CHECK(b.drops == 1); /* a failed subscribe leaves user_data to the caller */
    close_bus(cl, bus);
    CHECK(a.drops == 1);
}

static charter_status_t republish_and_leave(void *user_data, const charter_message_t *msg) {
    cb_t *c = (cb_t *)user_data;
    bool removed = false;
    uint64_t late;
    c->calls++;
    if (charter_client_publish(c->cl, "side", msg->payload, msg->payload_len, NULL, 0, NULL) != CHARTER_OK)
        return CHARTER_E_INTERNAL;
    if (charter_client_subscribe(c->cl, "late", NULL, &late) != CHARTER_OK) return CHARTER_E_INTERNAL;
    if (charter_client_unsubscribe(c->cl, c->self_id, &removed) != CHARTER_OK || !removed) return CHARTER_E_INTERNAL;
    return CHARTER_OK;
}

static void callbacks_reenter_the_bus(void) {
    cb_t c = cb_on_a_new_bus();
    uint64_t side;
    charter_message_t *msg = NULL;
    charter_bus_stats_t stats;
    CHECK_OK(charter_client_subscribe(c.cl, "side", NULL, &side));
    CHECK_OK(charter_client_subscribe_callback(c.cl, "loop", NULL, republish_and_leave, &c, cb_drop, &c.self_id));
    CHECK_OK(charter_client_publish(c.cl, "loop", (const uint8_t *)"1", 1, NULL, 0, NULL));
    CHECK_OK(charter_client_publish(c.cl, "loop", (const uint8_t *)"2", 1, NULL, 0, NULL));
    CHECK(c.calls == 1 && c.drops == 1);
    CHECK_OK(charter_client_recv(c.cl, side, 0, &msg));
    CHECK(msg->payload[0] == '1');
    charter_message_free(msg);
    CHECK_OK(charter_bus_stats(c.bus, &stats));
    CHECK(stats.published == 3 && stats.live_subscriptions == 2);
    close_bus(c.cl, c.bus);
}

static charter_status_t free_own_bus(void *user_data, const charter_message_t *msg) {
    cb_t *c = (cb_t *)user_data;
    (void)msg;
    c->calls++;
    c->inner_status = charter_bus_free(c->bus);
    return CHARTER_OK;
}

static void callback_frees_its_bus(void) {
    cb_t c = cb_on_a_new_bus();
    uint64_t id;
    CHECK_OK(charter_client_subscribe_callback(c.cl, "t", NULL, free_own_bus, &c, cb_drop, &id));
    CHECK_OK(charter_client_publish(c.cl, "t", NULL, 0, NULL, 0, NULL));
    CHECK(c.inner_status == CHARTER_OK && c.calls == 1 && c.drops == 1);
    /* The client keeps what it needs alive; the bus it speaks for is closed. */
    CHECK_STATUS(charter_client_publish(c.cl, "t", NULL, 0, NULL, 0, NULL), CHARTER_E_CLOSED);
    CHECK_OK(charter_client_free(c.cl));
    CHECK_STATUS(charter_client_publish(c.cl, "t", NULL, 0, NULL, 0, NULL), CHARTER_E_HANDLE_FREED);
}

static charter_status_t responder(void *user_data, const charter_message_t *msg) {
    cb_t *c = (cb_t *)user_data;
    char reply[64];
    int n = snprintf(reply, sizeof reply, "re: %.*s", (int)msg->payload_len, (const char *)msg->payload);
    charter_header_t h = {"from", "responder"};
    c->calls++;
    return charter_client_respond(c->cl, msg, (const uint8_t *)reply, (size_t)n, &h, 1, NULL);
}

static void request_and_respond(void) {
    cb_t c = cb_on_a_new_bus();
    uint64_t id;
    charter_message_t *reply = NULL;
    int i;
    for (i = 0; i < 2; i++) {
        charter_subscribe_options_t opts;
        CHECK_OK(charter_subscribe_options_default(&opts));
        opts.dispatch = i == 0 ? CHARTER_DISPATCH_INLINE : CHARTER_DISPATCH_THREAD;
        CHECK_OK(charter_client_subscribe_callback(c.cl, i == 0 ? "echo" : "echo.thread", &opts, responder, &c, NULL, &id));
    }
    CHECK_OK(charter_client_request(c.cl, "echo", (const uint8_t *)"hi", 2, NULL, 0, 1000, &reply));
    CHECK(reply->payload_len == 6 && memcmp(reply->payload, "re: hi", 6) == 0);
    CHECK(reply->header_count == 1 && strcmp(reply->headers[0].value, "responder") == 0);
    charter_message_free(reply);
    CHECK_OK(charter_client_request(c.cl, "echo.thread", (const uint8_t *)"yo", 2, NULL, 0, CHARTER_WAIT_FOREVER, &reply));
    CHECK(memcmp(reply->payload, "re: yo", 6) == 0);
    CHECK(strncmp(reply->topic, "_charter.inbox.", 15) == 0);
    charter_message_free(reply);
    {
        uint64_t pending;
        bool removed;
        CHECK_OK(charter_client_request_start(c.cl, "echo.thread", (const uint8_t *)"s", 1, NULL, 0, &pending));
        CHECK_OK(charter_client_recv(c.cl, pending, CHARTER_WAIT_FOREVER, &reply));
        CHECK(memcmp(reply->payload, "re: s", 5) == 0);
        charter_message_free(reply);
        CHECK_OK(charter_client_unsubscribe(c.cl, pending, &removed));
        CHECK(removed);
        CHECK_STATUS(charter_client_request_start(c.cl, "nobody", NULL, 0, NULL, 0, &pending), CHARTER_E_NOT_FOUND);
    }
    CHECK_STATUS(charter_client_request(c.cl, "nobody", NULL, 0, NULL, 0, 1000, &reply), CHARTER_E_NOT_FOUND);
    CHECK_STATUS(charter_client_reply(c.cl, "orders.eu", NULL, 0, NULL, 0, NULL), CHARTER_E_INVALID_ARGUMENT);
    CHECK_MESSAGE_HAS("not a reply inbox");
    {
        charter_message_t plain;
        memset(&plain, 0, sizeof plain);
        CHECK_STATUS(charter_client_respond(c.cl, &plain, NULL, 0, NULL, 0, NULL), CHARTER_E_INVALID_ARGUMENT);
        CHECK_MESSAGE_HAS("the message is not a request: it has no reply inbox");
    }
    CHECK_OK(charter_client_subscribe(c.cl, "silent", NULL, &id));
    CHECK_STATUS(charter_client_request(c.cl, "silent", NULL, 0, NULL, 0, 20, &reply), CHARTER_E_TIMEOUT);
    close_bus(c.cl, c.bus);
}

static void overflow_and_accounting(void) {
    charter_bus_t *bus = new_bus();
    charter_client_t *cl = client_of(bus);
    charter_subscribe_options_t opts;
    uint64_t strict, lossy;
    charter_publish_report_t report = {77, 77, 77};
    charter_subscription_stats_t st;
    int i;
    CHECK_OK(charter_subscribe_options_default(&opts));
    opts.capacity = 2;
    opts.overflow = CHARTER_OVERFLOW_ERROR;
    CHECK_OK(charter_client_subscribe(cl, "q", &opts, &strict));
    opts.overflow = CHARTER_OVERFLOW_DROP_NEWEST;
    CHECK_OK(charter_client_subscribe(cl, "q", &opts, &lossy));
    CHECK_OK(charter_client_publish(cl, "q", NULL, 0, NULL, 0, NULL));
    CHECK_OK(charter_client_publish(cl, "q", NULL, 0, NULL, 0, NULL));
    CHECK_STATUS(charter_client_publish(cl, "q", NULL, 0, NULL, 0, &report), CHARTER_E_LIMIT_EXCEEDED);
    CHECK_MESSAGE_HAS("0 of 2 subscriptions accepted it");
    CHECK(report.matched == 77); /* untouched on failure */
    for (i = 0; i < 3; i++) charter_client_publish(cl, "q", NULL, 0, NULL, 0, NULL);
    CHECK_OK(charter_client_subscription_stats(cl, lossy, &st));
    CHECK(st.received == 6 && st.queued == 2 && st.dropped.overflow == 4 && st.slow_episodes == 1);
    CHECK(st.received == st.delivered + st.queued + st.dropped.overflow);
    CHECK_OK(charter_client_subscription_stats(cl, strict, &st));
    CHECK(st.dropped.rejected == 4);
    CHECK_STATUS(charter_client_subscription_stats(cl, 999, &st), CHARTER_E_NOT_FOUND);
    close_bus(cl, bus);
}

static charter_status_t publish_into_full_block(void *user_data, const charter_message_t *msg) {
    cb_t *c = (cb_t *)user_data;
    (void)msg;
    c->inner_status = charter_client_publish(c->cl, "full", NULL, 0, NULL, 0, NULL);
    return CHARTER_OK;
}

static void block_inside_a_callback_would_block(void) {
    cb_t c = cb_on_a_new_bus();
    charter_subscribe_options_t opts;
    uint64_t full, outer;
    CHECK_OK(charter_subscribe_options_default(&opts));
    opts.capacity = 1;
    opts.overflow = CHARTER_OVERFLOW_BLOCK;
    opts.block_timeout_ms = 60000;
    CHECK_OK(charter_client_subscribe(c.cl, "full", &opts, &full));
    CHECK_OK(charter_client_publish(c.cl, "full", NULL, 0, NULL, 0, NULL));
    CHECK_OK(charter_client_subscribe_callback(c.cl, "outer", NULL, publish_into_full_block, &c, NULL, &outer));
    CHECK_OK(charter_client_publish(c.cl, "outer", NULL, 0, NULL, 0, NULL));
    CHECK(c.inner_status == CHARTER_E_WOULD_BLOCK);
    close_bus(c.cl, c.bus);
}

/* --- blocking receivers and closing ---------------------------------------- */

static void close_and_free_wake_blocked_receivers(void) {
    int round;
    for (round = 0; round < 2; round++) {
        /* A receiver the scheduler starts after the free finds its handle
         * freed instead of blocking: that round says nothing about waking,
         * so it runs again with a longer head start (a receiver that did
         * block must get CLOSED; any other status fails). */
        int attempt;
        charter_status_t status = 12345;
        for (attempt = 0; attempt < 6 && status != CHARTER_E_CLOSED; attempt++) {
            charter_bus_t *bus = NULL;
            receiver_t w = {0};
            pthread_t t;
            w.client = open_bus(&bus);
            w.status = 12345;
            CHECK_OK(charter_client_subscribe(w.client, "t", NULL, &w.id));
            CHECK(pthread_create(&t, NULL, receive_forever, &w) == 0);
            sleep_ms(20 << attempt);
            if (round == 0) {
                CHECK_OK(charter_bus_close(bus));
            } else {
                close_bus(w.client, bus);
            }
            CHECK(pthread_join(t, NULL) == 0);
            status = w.status;
            CHECK(status == CHARTER_E_CLOSED || (round == 1 && status == CHARTER_E_HANDLE_FREED));
            if (round == 0) {
                CHECK_STATUS(charter_client_publish(w.client, "t", NULL, 0, NULL, 0, NULL), CHARTER_E_CLOSED);
                CHECK_OK(charter_bus_close(bus));
                close_bus(w.client, bus);
            }
        }
        CHECK(status == CHARTER_E_CLOSED);
    }
}

/* --- four publishers, exact accounting ------------------------------------ */

static void *publish_many(void *arg) {
    charter_client_t *cl = (charter_client_t *)arg;
    int i;
    for (i = 0; i < 2000; i++) charter_client_publish(cl, "load.x", (const uint8_t *)&i, sizeof i, NULL, 0, NULL);
    return NULL;
}

static void concurrent_publishers_exact_accounting(void) {
    int policy;
    for (policy = CHARTER_OVERFLOW_DROP_OLDEST; policy <= CHARTER_OVERFLOW_ERROR; policy++) {
        charter_bus_t *bus = new_bus();
        charter_client_t *cl = client_of(bus);
        charter_subscribe_options_t opts;
        charter_subscription_stats_t st;
        charter_bus_stats_t bs;
        pthread_t t[4];
        uint64_t id;
        int i;
        CHECK_OK(charter_subscribe_options_default(&opts));
        opts.capacity = 64;
        opts.overflow = policy;
        opts.block_timeout_ms = 1;
        CHECK_OK(charter_client_subscribe(cl, "load.>", &opts, &id));
        for (i = 0; i < 4; i++) CHECK(pthread_create(&t[i], NULL, publish_many, cl) == 0);
        for (i = 0; i < 4; i++) CHECK(pthread_join(t[i], NULL) == 0);
        CHECK_OK(charter_client_subscription_stats(cl, id, &st));
        CHECK(st.received == 8000);
        CHECK(st.received == st.delivered + st.queued + st.dropped.overflow + st.dropped.expired +
                                 st.dropped.timeout + st.dropped.rejected + st.dropped.closed);
        CHECK(st.queued == 64);
        CHECK_OK(charter_bus_close(bus));
        CHECK_OK(charter_bus_stats(bus, &bs));
        CHECK(bs.subscriptions.received == 8000 && bs.subscriptions.queued == 0);
        CHECK(bs.subscriptions.dropped.closed == 64);
        close_bus(cl, bus);
    }
}

/* --- the handle table, now with two handle types --------------------------- */

static void handle_table_for_the_bus(void) {
    charter_bus_t *bus = new_bus();
    charter_client_t *cl = client_of(bus);
    charter_registry_t *reg = NULL;
    size_t len;
    uint64_t id;
    int on_stack;
    CHECK_OK(charter_registry_new(&reg));
    CHECK_OK(charter_bus_free(NULL));
    CHECK_STATUS(charter_client_publish(NULL, "t", NULL, 0, NULL, 0, NULL), CHARTER_E_NULL_ARGUMENT);
    CHECK_MESSAGE_HAS("client is NULL");
    CHECK_STATUS(charter_client_publish((charter_client_t *)reg, "t", NULL, 0, NULL, 0, NULL),
                 CHARTER_E_WRONG_HANDLE_TYPE);
    CHECK_MESSAGE_HAS("client is a charter_registry_t, expected charter_client_t");
    CHECK_STATUS(charter_client_publish((charter_client_t *)bus, "t", NULL, 0, NULL, 0, NULL),
                 CHARTER_E_WRONG_HANDLE_TYPE);
    CHECK_MESSAGE_HAS("client is a charter_bus_t, expected charter_client_t");
    CHECK_STATUS(charter_bus_close((charter_bus_t *)cl), CHARTER_E_WRONG_HANDLE_TYPE);
    CHECK_STATUS(charter_registry_len((charter_registry_t *)bus, &len), CHARTER_E_WRONG_HANDLE_TYPE);
    CHECK_STATUS(charter_bus_free((charter_bus_t *)reg), CHARTER_E_WRONG_HANDLE_TYPE);
    CHECK_STATUS(charter_registry_free((charter_registry_t *)bus), CHARTER_E_WRONG_HANDLE_TYPE);
    CHECK_STATUS(charter_client_subscribe((charter_client_t *)&on_stack, "t", NULL, &id), CHARTER_E_INVALID_HANDLE);
    close_bus(cl, bus);
    CHECK_STATUS(charter_client_subscribe(cl, "t", NULL, &id), CHARTER_E_HANDLE_FREED);
    CHECK_STATUS(charter_bus_free(bus), CHARTER_E_ALREADY_FREED);
    CHECK_STATUS(charter_bus_free((charter_bus_t *)reg), CHARTER_E_WRONG_HANDLE_TYPE);
    CHECK_OK(charter_registry_free(reg));
}

static charter_status_t free_bus(void *bus) { return charter_bus_free(bus); }

static void sixteen_threads_free_one_bus(void) {
    int round;
    for (round = 0; round < 20; round++) {
        charter_bus_t *bus = new_bus();
        charter_client_t *cl = client_of(bus);
        uint64_t id;
        CHECK_OK(charter_client_subscribe(cl, "t", NULL, &id));
        free_on_sixteen_threads(free_bus, bus);
        CHECK_STATUS(charter_client_subscribe(cl, "t", NULL, &id), CHARTER_E_CLOSED);
        CHECK_OK(charter_client_free(cl));
    }
}

/* --- nesting: callbacks that publish again --------------------------------- */

typedef struct {
    charter_client_t *to; /* where the callback publishes */
    int calls, deepest_failure;
    charter_status_t last;
} echo_t;

static charter_status_t echo_again(void *user_data, const charter_message_t *msg) {
    echo_t *e = (echo_t *)user_data;
    charter_status_t st;
    e->calls++;
    st = charter_client_publish(e->to, msg->topic, NULL, 0, NULL, 0, NULL);
    if (st != CHARTER_OK) {
        e->last = st;
        e->deepest_failure = e->calls;
    }
    return st;
}

static void a_callback_publishing_to_its_own_topic_is_bounded(void) {
    charter_bus_t *bus = new_bus();
    charter_client_t *cl = client_of(bus);
    charter_bus_stats_t stats;
    echo_t e;
    uint64_t id;
    memset(&e, 0, sizeof e);
    e.to = cl;
    CHECK_OK(charter_client_subscribe_callback(cl, "loop", NULL, echo_again, &e, NULL, &id));
    CHECK_OK(charter_client_publish(cl, "loop", NULL, 0, NULL, 0, NULL));
    CHECK(e.calls == (int)CHARTER_BUS_MAX_NESTING);
    CHECK(e.last == CHARTER_E_LIMIT_EXCEEDED && e.deepest_failure == (int)CHARTER_BUS_MAX_NESTING);
    CHECK_OK(charter_bus_stats(bus, &stats));
    CHECK(stats.depth_exceeded == 1 && stats.subscriptions.handler_failures == 1);
    CHECK(stats.published == CHARTER_BUS_MAX_NESTING);
    close_bus(cl, bus);
}

static void two_buses_ping_ponging_are_bounded(void) {
    charter_bus_t *a = new_bus(), *b = new_bus();
    charter_client_t *ca = client_of(a), *cb = client_of(b);
    charter_bus_stats_t sa, sb;
    echo_t ea, eb;
    uint64_t id;
    memset(&ea, 0, sizeof ea);
    memset(&eb, 0, sizeof eb);
    ea.to = cb; /* a's callback publishes on b */
    eb.to = ca; /* and b's on a */
    CHECK_OK(charter_client_subscribe_callback(ca, "ping", NULL, echo_again, &ea, NULL, &id));
    CHECK_OK(charter_client_subscribe_callback(cb, "ping", NULL, echo_again, &eb, NULL, &id));
    CHECK_OK(charter_client_publish(ca, "ping", NULL, 0, NULL, 0, NULL));
    CHECK(ea.calls + eb.calls <= 2 * (int)CHARTER_BUS_MAX_NESTING);
    CHECK(ea.last == CHARTER_E_LIMIT_EXCEEDED || eb.last == CHARTER_E_LIMIT_EXCEEDED);
    CHECK_OK(charter_bus_stats(a, &sa));
    CHECK_OK(charter_bus_stats(b, &sb));
    CHECK(sa.depth_exceeded + sb.depth_exceeded == 1);
    CHECK_OK(charter_client_free(ca));
    close_bus(cb, a);
    CHECK_OK(charter_bus_free(b));
}

int main(void) {
    RUN(publish_recv_and_message_fields);
    RUN(bad_input_names_the_rule);
    RUN(callbacks_and_drop_user_data);
    RUN(callbacks_reenter_the_bus);
    RUN(callback_frees_its_bus);
    RUN(request_and_respond);
    RUN(overflow_and_accounting);
    RUN(block_inside_a_callback_would_block);
    RUN(close_and_free_wake_blocked_receivers);
    RUN(concurrent_publishers_exact_accounting);
    RUN(handle_table_for_the_bus);
    RUN(sixteen_threads_free_one_bus);
    RUN(a_callback_publishing_to_its_own_topic_is_bounded);
    RUN(two_buses_ping_ponging_are_bounded);
    return 0;
}
