/* charter_client_recv_into: a batch written into the caller's buffer. Each
 * entry's offsets point at what was published; a message that does not fit
 * in what is left stays queued; one too big for the whole buffer fails and
 * consumes nothing. */
#include <stdbool.h>
#include <stdint.h>

#include "bus_fixture.h"
#include "check.h"

/* The NUL-terminated text at `offset` in buf equals `want`, with `len`. */
static bool text_at(const uint8_t *buf, size_t offset, size_t len, const char *want) {
    return len == strlen(want) && memcmp(buf + offset, want, len) == 0 && buf[offset + len] == 0;
}

static void every_field_lands_in_the_buffer(void) {
    charter_bus_t *bus = NULL;
    uint64_t id, reply_id;
    charter_client_t *cl = subscribed_client(&bus, "into.>", &id);
    charter_header_t headers[2] = {{"trace", "t1"}, {"k", ""}};
    charter_received_t entries[8];
    charter_subscription_stats_t stats;
    uint8_t buf[512];
    size_t count = 99;
    bool more = true;
    publish(cl, "into.a", "one");
    publish(cl, "into.a", "");
    CHECK_OK(charter_client_publish(cl, "into.b", (const uint8_t *)"hd", 2, headers, 2, NULL));
    CHECK_OK(charter_client_request_start(cl, "into.req", (const uint8_t *)"?", 1, NULL, 0, &reply_id));
    memset(buf, 0xAA, sizeof buf);
    CHECK_OK(charter_client_recv_into(cl, id, buf, sizeof buf, entries, 8, &count, &more));
    CHECK(count == 4 && !more);
    CHECK(entries[0].seq < entries[1].seq && entries[1].seq < entries[2].seq && entries[2].seq < entries[3].seq);
    /* The same topic twice in a row is written once. */
    CHECK(text_at(buf, entries[0].topic_offset, entries[0].topic_len, "into.a"));
    CHECK(entries[1].topic_offset == entries[0].topic_offset && entries[1].topic_len == 6);
    CHECK(entries[0].payload_len == 3 && memcmp(buf + entries[0].payload_offset, "one", 3) == 0);
    CHECK(entries[1].payload_len == 0 && entries[1].header_count == 0 && entries[1].headers_len == 0);
    CHECK(entries[0].reply_to_len == 0);
    CHECK(text_at(buf, entries[2].topic_offset, entries[2].topic_len, "into.b"));
    CHECK(entries[2].payload_len == 2 && memcmp(buf + entries[2].payload_offset, "hd", 2) == 0);
    /* Headers: name, NUL, value, NUL, in order; an empty value is a NUL. */
    CHECK(entries[2].header_count == 2 && entries[2].headers_len == 12);
    CHECK(memcmp(buf + entries[2].headers_offset, "trace\0t1\0k\0\0", 12) == 0);
    CHECK(text_at(buf, entries[3].topic_offset, entries[3].topic_len, "into.req"));
    CHECK(entries[3].reply_to_len > 0 && buf[entries[3].reply_to_offset + entries[3].reply_to_len] == 0);
    CHECK(memchr(buf + entries[3].reply_to_offset, 0, entries[3].reply_to_len) == NULL);
    /* Taken means delivered; nothing is left. */
    CHECK_OK(charter_client_subscription_stats(cl, id, &stats));
    CHECK(stats.delivered == 4 && stats.queued == 0);
    count = 77;
    CHECK_STATUS(charter_client_recv_into(cl, id, buf, sizeof buf, entries, 8, &count, NULL), CHARTER_E_WOULD_BLOCK);
    CHECK(count == 77);
    close_bus(cl, bus);
}

static void what_does_not_fit_stays_queued(void) {
    charter_bus_t *bus = NULL;
    uint64_t id;
    charter_client_t *cl = subscribed_client(&bus, "fit", &id);
    charter_received_t entries[4];
    charter_subscription_stats_t stats;
    uint8_t buf[64];
    size_t count = 0;
    bool more = false;
    /* "fit\0" (4) + 10 + 10 + 10: the third does not fit in 30 bytes. */
    publish(cl, "fit", "0123456789");
    publish(cl, "fit", "abcdefghij");
    publish(cl, "fit", "ABCDEFGHIJ");
    CHECK_OK(charter_client_recv_into(cl, id, buf, 30, entries, 4, &count, &more));
    CHECK(count == 2 && more);
    CHECK(memcmp(buf + entries[1].payload_offset, "abcdefghij", 10) == 0);
    /* `max` stops a batch too, and then it is not for want of room. */
    publish(cl, "fit", "KLMNOPQRST");
    CHECK_OK(charter_client_recv_into(cl, id, buf, sizeof buf, entries, 1, &count, &more));
    CHECK(count == 1 && !more && memcmp(buf + entries[0].payload_offset, "ABCDEFGHIJ", 10) == 0);
    /* The next message alone needs 14 bytes: 13 fail and take nothing. */
    count = 55;
    more = true;
    CHECK_STATUS(charter_client_recv_into(cl, id, buf, 13, entries, 4, &count, &more), CHARTER_E_LIMIT_EXCEEDED);
    CHECK_MESSAGE_HAS("needs 14 bytes");
    CHECK(count == 55 && more);
    CHECK_STATUS(charter_client_recv_into(cl, id, NULL, 0, entries, 4, &count, NULL), CHARTER_E_LIMIT_EXCEEDED);
    CHECK_OK(charter_client_subscription_stats(cl, id, &stats));
    CHECK(stats.queued == 1 && stats.delivered == 3);
    CHECK_OK(charter_client_recv_into(cl, id, buf, 14, entries, 4, &count, &more));
    CHECK(count == 1 && !more && memcmp(buf + entries[0].payload_offset, "KLMNOPQRST", 10) == 0);
    close_bus(cl, bus);
}

/* After the bus closes, this receive answers as charter_client_recv does on
 * a twin subscription, message for message, then status for status. */
static void a_closed_bus_answers_as_recv_does(void) {
    charter_bus_t *bus = new_bus();
    charter_client_t *cl = client_of(bus);
    charter_received_t entries[4];
    charter_message_t *msg = NULL;
    uint8_t buf[64];
    size_t count = 0;
    uint64_t id, twin;
    charter_status_t into, recv;
    CHECK_OK(charter_client_subscribe(cl, "end", NULL, &id));
    CHECK_OK(charter_client_subscribe(cl, "end", NULL, &twin));
    publish(cl, "end", "last");
    CHECK_OK(charter_bus_close(bus));
    into = charter_client_recv_into(cl, id, buf, sizeof buf, entries, 4, &count, NULL);
    recv = charter_client_recv(cl, twin, 0, &msg);
    CHECK(into == recv);
    if (recv == CHARTER_OK) {
        CHECK(count == 1 && memcmp(buf + entries[0].payload_offset, msg->payload, 4) == 0);
        charter_message_free(msg);
        into = charter_client_recv_into(cl, id, buf, sizeof buf, entries, 4, &count, NULL);
        recv = charter_client_recv(cl, twin, 0, &msg);
        CHECK(into == recv && into != CHARTER_OK);
    }
    close_bus(cl, bus);
}

static charter_status_t ignore(void *user_data, const charter_message_t *msg) {
    (void)user_data;
    (void)msg;
    return CHARTER_OK;
}

static void every_argument_is_checked(void) {
    charter_bus_t *bus = NULL;
    uint64_t id, handler_id;
    charter_client_t *cl = subscribed_client(&bus, "args", &id);
    charter_received_t entries[2];
    charter_subscription_stats_t stats;
    uint8_t buf[32];
    size_t count = 99;
    publish(cl, "args", "x");
    CHECK_STATUS(charter_client_recv_into(cl, id, buf, sizeof buf, entries, 0, &count, NULL),
                 CHARTER_E_INVALID_ARGUMENT);
    CHECK_STATUS(charter_client_recv_into(cl, id, buf, sizeof buf, entries, CHARTER_BATCH_MAX + 1, &count, NULL),
                 CHARTER_E_LIMIT_EXCEEDED);
    CHECK_STATUS(charter_client_recv_into(cl, id, buf, sizeof buf, entries, SIZE_MAX, &count, NULL),
                 CHARTER_E_LIMIT_EXCEEDED);
    CHECK_STATUS(charter_client_recv_into(cl, id, buf, sizeof buf, NULL, 2, &count, NULL), CHARTER_E_NULL_ARGUMENT);
    CHECK_STATUS(charter_client_recv_into(cl, id, NULL, 8, entries, 2, &count, NULL), CHARTER_E_NULL_ARGUMENT);
    CHECK_STATUS(charter_client_recv_into(cl, id, buf, SIZE_MAX, entries, 2, &count, NULL),
                 CHARTER_E_LIMIT_EXCEEDED);
    CHECK_STATUS(charter_client_recv_into(cl, id, buf, sizeof buf, entries, 2, NULL, NULL), CHARTER_E_NULL_ARGUMENT);
    CHECK_STATUS(charter_client_recv_into(NULL, id, buf, sizeof buf, entries, 2, &count, NULL),
                 CHARTER_E_NULL_ARGUMENT);
    CHECK_STATUS(charter_client_recv_into(cl, 424242, buf, sizeof buf, entries, 2, &count, NULL),
                 CHARTER_E_NOT_FOUND);
    CHECK_OK(charter_client_subscribe_callback(cl, "args", NULL, ignore, NULL, NULL, &handler_id));
    CHECK_STATUS(charter_client_recv_into(cl, handler_id, buf, sizeof buf, entries, 2, &count, NULL),
                 CHARTER_E_INVALID_ARGUMENT);
    CHECK(count == 99);
    /* Every refusal left the message queued. */
    CHECK_OK(charter_client_subscription_stats(cl, id, &stats));
    CHECK(stats.queued == 1 && stats.delivered == 0);
    close_bus(cl, bus);
}

/* A run of one topic shares its bytes; a topic that changes is written
 * again, even one seen before the change. */
static void topics_that_change_within_a_batch(void) {
    charter_bus_t *bus = NULL;
    uint64_t id;
    charter_client_t *cl = subscribed_client(&bus, "tc.*", &id);
    const char *topics[5] = {"tc.a", "tc.b", "tc.a", "tc.a", "tc.b"};
    charter_received_t entries[8];
    uint8_t buf[256];
    size_t count = 0, i;
    for (i = 0; i < 5; i++) {
        publish(cl, topics[i], "p");
    }
    CHECK_OK(charter_client_recv_into(cl, id, buf, sizeof buf, entries, 8, &count, NULL));
    CHECK(count == 5);
    for (i = 0; i < 5; i++) {
        CHECK(text_at(buf, entries[i].topic_offset, entries[i].topic_len, topics[i]));
        CHECK(entries[i].payload_len == 1 && buf[entries[i].payload_offset] == 'p');
    }
    CHECK(entries[3].topic_offset == entries[2].topic_offset);
    CHECK(entries[2].topic_offset != entries[0].topic_offset && entries[4].topic_offset != entries[1].topic_offset);
    close_bus(cl, bus);
}

/* The vector a call takes its messages through is kept by its thread: a
 * call after one of thousands of messages takes only its own, and one that
 * fails leaves the next as it would have been. */
static void each_call_takes_only_its_own(void) {
    enum { MANY = 3000 };
    charter_bus_t *bus = NULL;
    charter_client_t *cl = open_bus(&bus);
    charter_subscribe_options_t options;
    static charter_received_t entries[MANY];
    static uint8_t buf[8 * MANY];
    uint16_t i;
    size_t count = 0;
    uint64_t id;
    CHECK_OK(charter_subscribe_options_default(&options));
    options.capacity = MANY;
    CHECK_OK(charter_client_subscribe(cl, "own", &options, &id));
    for (i = 0; i < MANY; i++) {
        CHECK_OK(charter_client_publish(cl, "own", (const uint8_t *)&i, sizeof i, NULL, 0, NULL));
    }
    CHECK_OK(charter_client_recv_into(cl, id, buf, sizeof buf, entries, MANY, &count, NULL));
    CHECK(count == MANY);
    for (i = 0; i < 3; i++) {
        CHECK_OK(charter_client_publish(cl, "own", (const uint8_t *)&i, sizeof i, NULL, 0, NULL));
    }
    CHECK_STATUS(charter_client_recv_into(cl, id, buf, 2, entries, MANY, &count, NULL), CHARTER_E_LIMIT_EXCEEDED);
    CHECK_OK(charter_client_recv_into(cl, id, buf, sizeof buf, entries, 2, &count, NULL));
    CHECK(count == 2 && memcmp(buf + entries[1].payload_offset, &(uint16_t){1}, 2) == 0);
    CHECK_OK(charter_client_recv_into(cl, id, buf, sizeof buf, entries, MANY, &count, NULL));
    CHECK(count == 1 && memcmp(buf + entries[0].payload_offset, &(uint16_t){2}, 2) == 0);
    close_bus(cl, bus);
}

int main(void) {
    RUN(every_field_lands_in_the_buffer);
    RUN(what_does_not_fit_stays_queued);
    RUN(a_closed_bus_answers_as_recv_does);
    RUN(every_argument_is_checked);
    RUN(topics_that_change_within_a_batch);
    RUN(each_call_takes_only_its_own);
    return 0;
}
