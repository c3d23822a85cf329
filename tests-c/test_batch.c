/* Batches through the C ABI: charter_client_publish_many publishes each
 * payload as charter_client_publish would and stops at the first that
 * fails; charter_client_recv_many fills the caller's array. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "bus_fixture.h"
#include "check.h"

static void publish_many_then_recv_many(void) {
    charter_bus_t *bus = NULL;
    charter_client_t *cl = open_bus(&bus);
    uint64_t id;
    charter_payload_t payloads[5];
    char bodies[5] = {'a', 'b', 'c', 'd', 'e'};
    charter_header_t header = {"trace", "t1"};
    charter_message_t *msgs[8];
    size_t published = 99, count = 99, i;
    charter_publish_report_t report;
    CHECK_OK(charter_client_subscribe(cl, "batch.*", NULL, &id));
    for (i = 0; i < 5; i++) {
        payloads[i].data = (const uint8_t *)&bodies[i];
        payloads[i].len = 1;
    }
    CHECK_OK(charter_client_publish_many(cl, "batch.one", payloads, 5, &header, 1, &published, &report));
    CHECK(published == 5);
    CHECK(report.matched == 5 && report.delivered == 5 && report.dropped == 0);
    CHECK_OK(charter_client_recv_many(cl, id, 0, msgs, 3, &count));
    CHECK(count == 3);
    for (i = 0; i < 3; i++) {
        CHECK(msgs[i]->payload_len == 1 && msgs[i]->payload[0] == (uint8_t)bodies[i]);
        CHECK(msgs[i]->header_count == 1 && strcmp(msgs[i]->headers[0].value, "t1") == 0);
        charter_message_free(msgs[i]);
    }
    CHECK_OK(charter_client_recv_many(cl, id, CHARTER_WAIT_FOREVER, msgs, 8, &count));
    CHECK(count == 2 && msgs[0]->payload[0] == 'd' && msgs[1]->payload[0] == 'e');
    CHECK(msgs[0]->seq < msgs[1]->seq);
    charter_message_free(msgs[0]);
    charter_message_free(msgs[1]);
    /* Nothing queued: the status of a receive, and nothing written. */
    count = 77;
    msgs[0] = NULL;
    CHECK_STATUS(charter_client_recv_many(cl, id, 0, msgs, 8, &count), CHARTER_E_WOULD_BLOCK);
    CHECK_STATUS(charter_client_recv_many(cl, id, 10, msgs, 8, &count), CHARTER_E_TIMEOUT);
    CHECK(count == 77 && msgs[0] == NULL);
    /* An empty batch publishes nothing and succeeds. */
    CHECK_OK(charter_client_publish_many(cl, "batch.one", NULL, 0, NULL, 0, &published, NULL));
    CHECK(published == 0);
    close_bus(cl, bus);
}

static void a_batch_stops_at_the_first_failure(void) {
    charter_bus_t *bus = NULL;
    charter_client_t *cl = open_bus(&bus);
    charter_subscribe_options_t options;
    charter_subscription_stats_t stats;
    charter_payload_t payloads[6];
    uint64_t id;
    size_t published = 99, i;
    charter_publish_report_t report;
    CHECK_OK(charter_subscribe_options_default(&options));
    options.capacity = 2;
    options.overflow = CHARTER_OVERFLOW_ERROR;
    CHECK_OK(charter_client_subscribe(cl, "full", &options, &id));
    for (i = 0; i < 6; i++) {
        payloads[i].data = (const uint8_t *)"x";
        payloads[i].len = 1;
    }
    CHECK_STATUS(charter_client_publish_many(cl, "full", payloads, 6, NULL, 0, &published, &report),
                 CHARTER_E_LIMIT_EXCEEDED);
    CHECK_MESSAGE_HAS("message 2 of the batch");
    CHECK(published == 2 && report.delivered == 2);
    CHECK_OK(charter_client_subscription_stats(cl, id, &stats));
    CHECK(stats.received == 3 && stats.queued == 2 && stats.dropped.rejected == 1);
    CHECK(stats.received == stats.delivered + stats.queued + stats.dropped.rejected);
    close_bus(cl, bus);
}

static void every_argument_is_checked_before_anything_is_published(void) {
    charter_bus_t *bus = NULL;
    charter_client_t *cl = open_bus(&bus);
    charter_payload_t payloads[3] = {{(const uint8_t *)"ok", 2}, {NULL, 5}, {(const uint8_t *)"z", 1}};
    charter_subscription_stats_t stats;
    charter_message_t *msgs[2];
    uint64_t id;
    size_t published = 99, count = 99;
    CHECK_OK(charter_client_subscribe(cl, "t", NULL, &id));
    CHECK_STATUS(charter_client_publish_many(cl, "t", payloads, 3, NULL, 0, &published, NULL),
                 CHARTER_E_NULL_ARGUMENT);
    CHECK_MESSAGE_HAS("payloads[1]");
    CHECK(published == 99);
    CHECK_STATUS(charter_client_publish_many(cl, "t", NULL, 3, NULL, 0, NULL, NULL), CHARTER_E_NULL_ARGUMENT);
    CHECK_STATUS(charter_client_publish_many(cl, "t", payloads, CHARTER_BATCH_MAX + 1, NULL, 0, NULL, NULL),
                 CHARTER_E_LIMIT_EXCEEDED);
    CHECK_STATUS(charter_client_publish_many(cl, "t", payloads, SIZE_MAX, NULL, 0, NULL, NULL),
                 CHARTER_E_LIMIT_EXCEEDED);
    CHECK_STATUS(charter_client_publish_many(cl, "bad..topic", payloads, 1, NULL, 0, NULL, NULL),
                 CHARTER_E_INVALID_ARGUMENT);
    CHECK_STATUS(charter_client_publish_many(NULL, "t", payloads, 1, NULL, 0, NULL, NULL),
                 CHARTER_E_NULL_ARGUMENT);
    CHECK_OK(charter_client_subscription_stats(cl, id, &stats));
    CHECK(stats.received == 0);
    CHECK_STATUS(charter_client_recv_many(cl, id, 0, msgs, 0, &count), CHARTER_E_INVALID_ARGUMENT);
    CHECK_STATUS(charter_client_recv_many(cl, id, 0, NULL, 2, &count), CHARTER_E_NULL_ARGUMENT);
    CHECK_STATUS(charter_client_recv_many(cl, id, 0, msgs, 2, NULL), CHARTER_E_NULL_ARGUMENT);
    CHECK_STATUS(charter_client_recv_many(cl, id, 0, msgs, SIZE_MAX, &count), CHARTER_E_LIMIT_EXCEEDED);
    CHECK_STATUS(charter_client_recv_many(cl, 424242, 0, msgs, 2, &count), CHARTER_E_NOT_FOUND);
    CHECK(count == 99);
    close_bus(cl, bus);
}

/* One buffer repeated, then a shorter view of it, then it again: each
 * message carries its own payload's bytes (a repeat shares one copy). */
static void a_repeated_payload_is_each_message_s_own(void) {
    charter_bus_t *bus = NULL;
    uint64_t id;
    charter_client_t *cl = subscribed_client(&bus, "rep", &id);
    static const uint8_t text[] = "repeated";
    charter_payload_t payloads[5] = {{text, 8}, {text, 8}, {text, 3}, {text + 1, 3}, {text, 8}};
    const char *want[5] = {"repeated", "repeated", "rep", "epe", "repeated"};
    charter_message_t *msgs[5];
    size_t published = 0, count = 0, i;
    CHECK_OK(charter_client_publish_many(cl, "rep", payloads, 5, NULL, 0, &published, NULL));
    CHECK(published == 5);
    CHECK_OK(charter_client_recv_many(cl, id, 0, msgs, 5, &count));
    CHECK(count == 5);
    for (i = 0; i < 5; i++) {
        CHECK(msgs[i]->payload_len == strlen(want[i]) && memcmp(msgs[i]->payload, want[i], strlen(want[i])) == 0);
        charter_message_free(msgs[i]);
    }
    close_bus(cl, bus);
}

/* A batch with a payload over 1 KiB takes the other way through Charter
 * (its own copy of each payload, one for a buffer repeated): the short
 * payloads around it, and the long one twice, arrive as published. */
static void a_long_payload_among_short_ones(void) {
    charter_bus_t *bus = NULL;
    uint64_t id;
    charter_client_t *cl = subscribed_client(&bus, "long", &id);
    static uint8_t big[2000];
    charter_payload_t payloads[5] = {{(const uint8_t *)"a", 1}, {big, sizeof big}, {NULL, 0},
                                     {big, sizeof big}, {(const uint8_t *)"zz", 2}};
    charter_received_t entries[8];
    static uint8_t buf[8192];
    size_t published = 0, count = 0, i;
    bool more = true;
    for (i = 0; i < sizeof big; i++) {
        big[i] = (uint8_t)(i * 13);
    }
    CHECK_OK(charter_client_publish_many(cl, "long", payloads, 5, NULL, 0, &published, NULL));
    CHECK(published == 5);
    CHECK_OK(charter_client_recv_into(cl, id, buf, sizeof buf, entries, 8, &count, &more));
    CHECK(count == 5 && !more);
    for (i = 0; i < 5; i++) {
        CHECK(entries[i].payload_len == payloads[i].len);
        CHECK(payloads[i].len == 0 || memcmp(buf + entries[i].payload_offset, payloads[i].data, payloads[i].len) == 0);
        CHECK(entries[i].topic_offset == entries[0].topic_offset);
    }
    close_bus(cl, bus);
}

/* CHARTER_BATCH_MAX payloads go out in one call and come back in one
 * charter_client_recv_into, in order; one more is refused both ways. */
static void the_largest_batch(void) {
    const size_t n = CHARTER_BATCH_MAX;
    charter_bus_t *bus = NULL;
    charter_client_t *cl = open_bus(&bus);
    charter_subscribe_options_t options;
    charter_payload_t *payloads = malloc((n + 1) * sizeof *payloads);
    uint16_t *bodies = malloc(n * sizeof *bodies);
    charter_received_t *entries = malloc((n + 1) * sizeof *entries);
    size_t buf_len = 3 * n + 16, published = 0, count = 0, i;
    uint8_t *buf = malloc(buf_len);
    bool more = true;
    uint64_t id;
    CHECK(payloads != NULL && bodies != NULL && entries != NULL && buf != NULL);
    CHECK_OK(charter_subscribe_options_default(&options));
    options.capacity = n;
    CHECK_OK(charter_client_subscribe(cl, "max", &options, &id));
    for (i = 0; i < n; i++) {
        bodies[i] = (uint16_t)i;
        payloads[i].data = (const uint8_t *)&bodies[i];
        payloads[i].len = sizeof bodies[i];
    }
    payloads[n] = payloads[0];
    CHECK_STATUS(charter_client_publish_many(cl, "max", payloads, n + 1, NULL, 0, &published, NULL),
                 CHARTER_E_LIMIT_EXCEEDED);
    CHECK_OK(charter_client_publish_many(cl, "max", payloads, n, NULL, 0, &published, NULL));
    CHECK(published == n);
    CHECK_STATUS(charter_client_recv_into(cl, id, buf, buf_len, entries, n + 1, &count, &more),
                 CHARTER_E_LIMIT_EXCEEDED);
    CHECK_OK(charter_client_recv_into(cl, id, buf, buf_len, entries, n, &count, &more));
    CHECK(count == n && !more);
    for (i = 0; i < n; i++) {
        CHECK(entries[i].payload_len == 2 && memcmp(buf + entries[i].payload_offset, &bodies[i], 2) == 0);
        CHECK(i == 0 || entries[i].seq > entries[i - 1].seq);
    }
    free(buf);
    free(entries);
    free(bodies);
    free(payloads);
    close_bus(cl, bus);
}

int main(void) {
    RUN(publish_many_then_recv_many);
    RUN(a_batch_stops_at_the_first_failure);
    RUN(every_argument_is_checked_before_anything_is_published);
    RUN(a_repeated_payload_is_each_message_s_own);
    RUN(a_long_payload_among_short_ones);
    RUN(the_largest_batch);
    return 0;
}
