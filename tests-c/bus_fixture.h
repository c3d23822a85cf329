/* A bus and a client without a session: what most bus tests start from
 * and end with. Inline, so a test that uses only some of them builds
 * without warnings. */
#ifndef CHARTER_TESTS_BUS_FIXTURE_H
#define CHARTER_TESTS_BUS_FIXTURE_H

#include <stdint.h>
#include <string.h>

#include "charter.h"
#include "check.h"

static inline charter_bus_t *new_bus(void) {
    charter_bus_t *bus = NULL;
    CHECK_OK(charter_bus_new(NULL, &bus));
    return bus;
}

/* A client without a session: what the owner of an open bus publishes,
 * subscribes and receives through. */
static inline charter_client_t *client_of(charter_bus_t *bus) {
    charter_client_t *cl = NULL;
    CHECK_OK(charter_client_new(bus, NULL, &cl));
    return cl;
}

/* A new bus in `*bus` and a client of it. */
static inline charter_client_t *open_bus(charter_bus_t **bus) {
    *bus = new_bus();
    return client_of(*bus);
}

/* A new bus in `*bus`, a client of it, and that client's subscription to
 * `topic` (default options) in `*id`. */
static inline charter_client_t *subscribed_client(charter_bus_t **bus, const char *topic, uint64_t *id) {
    charter_client_t *cl = open_bus(bus);
    CHECK_OK(charter_client_subscribe(cl, topic, NULL, id));
    return cl;
}

/* Frees the client, then its bus: each must succeed. */
static inline void close_bus(charter_client_t *cl, charter_bus_t *bus) {
    CHECK_OK(charter_client_free(cl));
    CHECK_OK(charter_bus_free(bus));
}

/* Publishes `text` (without its NUL) on `topic`, with no headers. */
static inline void publish(charter_client_t *cl, const char *topic, const char *text) {
    CHECK_OK(charter_client_publish(cl, topic, (const uint8_t *)text, strlen(text), NULL, 0, NULL));
}

#endif
