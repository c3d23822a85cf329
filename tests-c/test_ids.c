/* Subscription ids are scoped to their bus and unpredictable: an id from
 * another bus, an ended id or a guessed one is CHARTER_E_NOT_FOUND (and
 * unsubscribing it removes nothing), never another subscription. Both
 * buses once numbered their subscriptions 1, 2, 3, ... */
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

int main(void) {
    RUN(foreign_id_is_not_found);
    RUN(ended_id_is_not_found);
    RUN(guessed_ids_are_not_found);
    return 0;
}
