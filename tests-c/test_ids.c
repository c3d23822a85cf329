/* Subscription ids are scoped to their bus and unpredictable: an id from
 * another bus, an ended id or a guessed one is CHARTER_E_NOT_FOUND (and
 * unsubscribing it removes nothing), never another subscription. Both
 * buses once numbered their subscriptions 1, 2, 3, ... Once the bus is
 * closed, every id is CHARTER_E_CLOSED. */
#include <stdbool.h>
#include <stdint.h>

#include "bus_fixture.h"
#include "check.h"

static void publish_one(charter_client_t *client) {
    CHECK_OK(charter_client_publish(client, "t.x", (const uint8_t *)"m", 1, NULL, 0, NULL));
}

static void foreign_id_is_not_found(void) {
    charter_bus_t *a = NULL, *b = NULL;
    charter_client_t *ca = NULL, *cb = NULL;
    charter_message_t *msg = NULL;
    charter_subscription_stats_t stats;
    uint64_t id_a = 0, id_b = 0;
    bool removed = true;
    CHECK_OK(charter_bus_new(NULL, &a));
    CHECK_OK(charter_bus_new(NULL, &b));
    CHECK_OK(charter_client_new(a, NULL, &ca));
    CHECK_OK(charter_client_new(b, NULL, &cb));
    CHECK_OK(charter_client_subscribe(ca, "t.>", NULL, &id_a));
    CHECK_OK(charter_client_subscribe(cb, "t.>", NULL, &id_b));
    CHECK(id_a != id_b);
    CHECK(id_a < ((uint64_t)1 << 53) && id_b < ((uint64_t)1 << 53));
    publish_one(cb);
    CHECK_STATUS(charter_client_recv(cb, id_a, 0, &msg), CHARTER_E_NOT_FOUND);
    CHECK(msg == NULL);
    CHECK_STATUS(charter_client_subscription_stats(cb, id_a, &stats), CHARTER_E_NOT_FOUND);
    CHECK_OK(charter_client_unsubscribe(cb, id_a, &removed));
    CHECK(!removed);
    /* Both subscriptions are intact: B's still holds its message. */
    CHECK_OK(charter_client_subscription_stats(ca, id_a, &stats));
    CHECK_OK(charter_client_recv(cb, id_b, 0, &msg));
    charter_message_free(msg);
    CHECK_OK(charter_client_free(ca));
    close_bus(cb, a);
    CHECK_OK(charter_bus_free(b));
}

static void ended_id_is_not_found(void) {
    charter_bus_t *bus = NULL;
    charter_client_t *client = NULL;
    charter_message_t *msg = NULL;
    uint64_t old = 0, fresh = 0;
    bool removed = false;
    client = subscribed_client(&bus, "t.>", &old);
    CHECK_OK(charter_client_unsubscribe(client, old, &removed));
    CHECK(removed);
    CHECK_OK(charter_client_subscribe(client, "t.>", NULL, &fresh));
    CHECK(fresh != old);
    publish_one(client);
    CHECK_STATUS(charter_client_recv(client, old, 0, &msg), CHARTER_E_NOT_FOUND);
    CHECK_OK(charter_client_unsubscribe(client, old, &removed));
    CHECK(!removed);
    CHECK_OK(charter_client_recv(client, fresh, 0, &msg));
    charter_message_free(msg);
    close_bus(client, bus);
}

/* Knowing one id tells nothing about the next: neither small numbers nor
 * the neighbours of a known id reach the other subscriptions. */
static void guessed_ids_are_not_found(void) {
    enum { SUBS = 16 };
    charter_bus_t *bus = NULL;
    charter_client_t *client = NULL;
    charter_subscription_stats_t stats;
    uint64_t ids[SUBS], guess;
    int i, j, k;
    client = open_bus(&bus);
    for (i = 0; i < SUBS; i++) {
        CHECK_OK(charter_client_subscribe(client, "t.>", NULL, &ids[i]));
    }
    for (guess = 0; guess < 4096; guess++) {
        for (k = 0; k < SUBS && ids[k] != guess; k++) {
        }
        if (k == SUBS) {
            CHECK_STATUS(charter_client_subscription_stats(client, guess, &stats), CHARTER_E_NOT_FOUND);
        }
    }
    for (i = 0; i < SUBS; i++) {
        for (j = -64; j <= 64; j++) {
            guess = ids[i] + (uint64_t)(int64_t)j;
            for (k = 0; k < SUBS && ids[k] != guess; k++) {
            }
            if (k == SUBS) {
                CHECK_STATUS(charter_client_subscription_stats(client, guess, &stats), CHARTER_E_NOT_FOUND);
            }
        }
    }
    /* Nearly never two of them within 64 of each other, as counters were. */
    for (i = 1, k = 0; i < SUBS; i++) {
        uint64_t gap = ids[i] > ids[i - 1] ? ids[i] - ids[i - 1] : ids[i - 1] - ids[i];
        k += gap <= 64;
    }
    CHECK(k == 0);
    close_bus(client, bus);
}

static void never_ready(void *user_data) {
    (void)user_data;
}

/* The last error is exactly `expected`. */
static void last_error_is(const char *expected) {
    char *got = charter_last_error_message();
    if (got == NULL || strcmp(got, expected) != 0) {
        fprintf(stderr, "last error \"%s\", expected \"%s\"\n", got != NULL ? got : "(null)", expected);
        exit(1);
    }
    charter_string_free(got);
}

/* Every call by id answers `id` of the closed bus of `client` with
 * CHARTER_E_CLOSED, in the words of every call on a closed bus, and
 * writes nothing; unsubscribing removes nothing. */
static void closed_for_every_call(charter_client_t *client, uint64_t id) {
    static const char words[] = "CHARTER_E_CLOSED: the bus is closed";
    charter_message_t *msg = NULL, *msgs[2] = {NULL, NULL};
    charter_subscription_stats_t stats;
    charter_waiter_t *waiter = NULL;
    charter_cancel_t *cancel = NULL;
    charter_watch_t *watch = NULL;
    size_t count = 99;
    uint64_t recheck = 99;
    int fd = -1;
    bool removed = true;
    CHECK_OK(charter_waiter_new(never_ready, NULL, &waiter));
    CHECK_OK(charter_cancel_new(&cancel));
    CHECK_STATUS(charter_client_recv(client, id, 0, &msg), CHARTER_E_CLOSED);
    last_error_is(words);
    CHECK_STATUS(charter_client_recv(client, id, 1000, &msg), CHARTER_E_CLOSED);
    last_error_is(words);
    CHECK_STATUS(charter_client_recv_many(client, id, 0, msgs, 2, &count), CHARTER_E_CLOSED);
    last_error_is(words);
    CHECK_STATUS(charter_client_recv_cancellable(client, id, 1000, cancel, &msg), CHARTER_E_CLOSED);
    last_error_is(words);
    CHECK_STATUS(charter_client_poll_recv(client, id, waiter, &msg, &recheck), CHARTER_E_CLOSED);
    last_error_is(words);
    CHECK_STATUS(charter_client_disarm(client, id, waiter), CHARTER_E_CLOSED);
    last_error_is(words);
    CHECK_STATUS(charter_client_watch_fd(client, id, &watch, &fd, &recheck), CHARTER_E_CLOSED);
    last_error_is(words);
    CHECK_STATUS(charter_client_watch(client, id, never_ready, NULL, &watch, &recheck), CHARTER_E_CLOSED);
    last_error_is(words);
    CHECK_STATUS(charter_client_subscription_stats(client, id, &stats), CHARTER_E_CLOSED);
    last_error_is(words);
    CHECK(msg == NULL && msgs[0] == NULL && count == 99 && recheck == 99 && watch == NULL && fd == -1);
    CHECK_OK(charter_client_unsubscribe(client, id, &removed));
    CHECK(!removed);
    CHECK_OK(charter_cancel_free(cancel));
    CHECK_OK(charter_waiter_free(waiter));
}

/* Closing (or freeing) the bus forgets every id and keeps nothing per id:
 * a live one, an unsubscribed one, one of another bus and a guessed one
 * are all CHARTER_E_CLOSED, not CHARTER_E_NOT_FOUND. */
static void a_closed_bus_answers_every_id_closed(void) {
    int how;
    for (how = 0; how < 2; how++) {
        charter_bus_t *bus = NULL, *other = NULL;
        charter_client_t *client = NULL, *elsewhere = NULL;
        charter_message_t *msg = NULL;
        uint64_t live = 0, gone = 0, foreign = 0;
        client = subscribed_client(&bus, "t.>", &live);
        CHECK_OK(charter_client_subscribe(client, "u", NULL, &gone));
        CHECK_OK(charter_client_unsubscribe(client, gone, NULL));
        elsewhere = subscribed_client(&other, "t.>", &foreign);
        publish_one(client);
        if (how == 0) {
            CHECK_OK(charter_bus_close(bus));
        } else {
            CHECK_OK(charter_bus_free(bus));
        }
        closed_for_every_call(client, live);
        closed_for_every_call(client, gone);
        closed_for_every_call(client, foreign);
        closed_for_every_call(client, 424242);
        /* The answer is the closed bus's, not the ids': the open bus
         * still knows its own and not the other's. */
        CHECK_STATUS(charter_client_recv(elsewhere, foreign, 0, &msg), CHARTER_E_WOULD_BLOCK);
        CHECK_STATUS(charter_client_recv(elsewhere, live, 0, &msg), CHARTER_E_NOT_FOUND);
        close_bus(elsewhere, other);
        CHECK_OK(charter_client_free(client));
        if (how == 0) CHECK_OK(charter_bus_free(bus));
    }
}

int main(void) {
    RUN(foreign_id_is_not_found);
    RUN(ended_id_is_not_found);
    RUN(guessed_ids_are_not_found);
    RUN(a_closed_bus_answers_every_id_closed);
    return 0;
}
