/* Shared by the readiness tests (test_readiness.c, test_watch.c): a
 * callback that ignores its message and publishers for racing a consumer
 * (the bus and its client are bus_fixture.h's). Whether this run measures
 * (the plain label, where the rounds are many) or is slowed by a sanitizer
 * is memory.h's `measuring`. */
#ifndef CHARTER_TESTS_READINESS_HELPERS_H
#define CHARTER_TESTS_READINESS_HELPERS_H

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "bus_fixture.h"
#include "charter.h"
#include "check.h"
#include "memory.h"

static charter_status_t ignore_message(void *user_data, const charter_message_t *msg) {
    (void)user_data;
    (void)msg;
    return CHARTER_OK;
}

/* How a subscription ends, in the tests that wait for its end. */
typedef enum { UNSUBSCRIBE, CLOSE_THE_BUS, FREE_THE_BUS } ending_t;

/* Ends subscription `id` of `cl`, on `bus`, as `how` says. */
static void end_subscription(ending_t how, charter_client_t *cl, charter_bus_t *bus, uint64_t id) {
    if (how == UNSUBSCRIBE) CHECK_OK(charter_client_unsubscribe(cl, id, NULL));
    if (how == CLOSE_THE_BUS) CHECK_OK(charter_bus_close(bus));
    if (how == FREE_THE_BUS) CHECK_OK(charter_bus_free(bus));
}

/* Frees the client, then the bus unless the ending freed it already. */
static void close_after(ending_t how, charter_client_t *cl, charter_bus_t *bus) {
    CHECK_OK(charter_client_free(cl));
    if (how != FREE_THE_BUS) CHECK_OK(charter_bus_free(bus));
}

/* Publishes `count` messages on "race", each its own index. */
typedef struct {
    charter_client_t *client;
    uint64_t count;
} producer_t;

static void *produce(void *arg) {
    producer_t *p = (producer_t *)arg;
    uint64_t i;
    for (i = 0; i < p->count; i++) {
        CHECK_OK(charter_client_publish(p->client, "race", (const uint8_t *)&i, sizeof i, NULL, 0, NULL));
    }
    return NULL;
}

/* Publishes on "hot" until `stop` is set (under `lock`). */
typedef struct {
    charter_client_t *client;
    pthread_mutex_t lock;
    int stop;
} publisher_t;

static void *publish_until_stopped(void *arg) {
    publisher_t *p = (publisher_t *)arg;
    for (;;) {
        int stop;
        pthread_mutex_lock(&p->lock);
        stop = p->stop;
        pthread_mutex_unlock(&p->lock);
        if (stop) break;
        CHECK_OK(charter_client_publish(p->client, "hot", (const uint8_t *)"x", 1, NULL, 0, NULL));
    }
    return NULL;
}

#endif
