/*
 * shim.h: the C side of the Go binding.
 *
 * Charter reports error detail through a thread-local "last error", but a
 * goroutine may move to another OS thread between two cgo calls. Each
 * chgo_* wrapper therefore makes its Charter call and, on failure, takes
 * the message in the same cgo call, returning both by value. Returning by
 * value also means Go never passes a pointer to an out-parameter, so
 * nothing is forced onto the heap.
 *
 * This header holds declarations only: callback.go includes it in a cgo
 * preamble next to //export, where definitions are not allowed.
 */

#ifndef CHARTER_GO_SHIM_H
#define CHARTER_GO_SHIM_H

#include <stdint.h>

#include "charter.h"

/* The outcome of a call with no result. message is set, caller-owned, only
 * when status is not CHARTER_OK. */
typedef struct {
    charter_status_t status;
    char *message;
} chgo_status;

/* The outcome of a call that creates a registry. */
typedef struct {
    charter_status_t status;
    char *message;
    charter_registry_t *registry;
} chgo_registry;

/* The outcome of a call with an integer result (an id, a length or a bool
 * as 0 or 1). */
typedef struct {
    charter_status_t status;
    char *message;
    uint64_t value;
} chgo_value;

/* The outcome of a notify. */
typedef struct {
    charter_status_t status;
    char *message;
    charter_notify_report_t report;
} chgo_notify;

chgo_registry chgo_registry_new(void);
chgo_registry chgo_registry_new_with_max_depth(uint32_t max_depth);
chgo_status chgo_registry_free(charter_registry_t *reg);

/* Registers the Go handler behind the runtime/cgo.Handle `handle`. When the
 * registration ends, Charter calls back into Go to delete the handle. */
chgo_value chgo_registry_register(charter_registry_t *reg, int32_t priority, uintptr_t handle);
chgo_value chgo_registry_unregister(charter_registry_t *reg, uint64_t id);
chgo_value chgo_registry_contains(charter_registry_t *reg, uint64_t id);
chgo_value chgo_registry_len(charter_registry_t *reg);
chgo_status chgo_registry_clear(charter_registry_t *reg);
chgo_notify chgo_registry_notify(charter_registry_t *reg, const uint8_t *event, size_t len);

/* ---- Bus ----
 *
 * Strings from Go (topics, patterns, reply inboxes) arrive as a pointer and
 * a length, since Go strings carry no NUL. The wrappers copy one shorter
 * than CHGO_INLINE_STRING onto the C stack and terminate it; a longer one
 * (never a valid topic: Charter allows at most 256 bytes) must already be
 * followed by a NUL, which the Go side arranges. So a valid topic costs
 * no Go allocation.
 *
 * Headers arrive packed as "name\0value\0name\0value\0..." with their
 * count: a Go buffer may not hold pointers when passed to C, so the
 * wrappers build the charter_header_t array themselves. */

#define CHGO_INLINE_STRING 257

/* The outcome of a call that creates a bus. */
typedef struct {
    charter_status_t status;
    char *message;
    charter_bus_t *bus;
} chgo_bus;

/* The outcome of a publish or respond. */
typedef struct {
    charter_status_t status;
    char *message;
    charter_publish_report_t report;
} chgo_publish;

/* The outcome of a receive: msg is caller-owned on success. */
typedef struct {
    charter_status_t status;
    char *message;
    charter_message_t *msg;
} chgo_message;

/* The outcome of a subscription stats call. */
typedef struct {
    charter_status_t status;
    char *message;
    charter_subscription_stats_t stats;
} chgo_subscription_stats;

/* The outcome of a bus stats call. */
typedef struct {
    charter_status_t status;
    char *message;
    charter_bus_stats_t stats;
} chgo_stats;

chgo_bus chgo_bus_new(charter_bus_limits_t limits);
chgo_status chgo_bus_free(charter_bus_t *bus);
chgo_value chgo_bus_subscribe(charter_bus_t *bus, const char *pattern, size_t pattern_len,
                              charter_subscribe_options_t options);
/* Subscribes the Go MessageFunc behind the runtime/cgo.Handle `handle`;
 * Charter calls back into Go to delete the handle when the subscription
 * ends. */
chgo_value chgo_bus_subscribe_callback(charter_bus_t *bus, const char *pattern, size_t pattern_len,
                                       charter_subscribe_options_t options, uintptr_t handle);
chgo_value chgo_bus_unsubscribe(charter_bus_t *bus, uint64_t id);
chgo_publish chgo_bus_publish(charter_bus_t *bus, const char *topic, size_t topic_len,
                              const uint8_t *payload, size_t len, const char *headers,
                              size_t header_count);
chgo_message chgo_bus_recv(charter_bus_t *bus, uint64_t id, uint32_t timeout_ms);
chgo_value chgo_bus_request_start(charter_bus_t *bus, const char *topic, size_t topic_len,
                                  const uint8_t *payload, size_t len, const char *headers,
                                  size_t header_count);
/* Answers the request whose reply inbox is reply_to. */
chgo_publish chgo_bus_respond(charter_bus_t *bus, const char *reply_to, size_t reply_to_len,
                              const uint8_t *payload, size_t len, const char *headers,
                              size_t header_count);
chgo_subscription_stats chgo_bus_subscription_stats(charter_bus_t *bus, uint64_t id);
chgo_stats chgo_bus_stats(charter_bus_t *bus);
chgo_value chgo_bus_evict_idle(charter_bus_t *bus);

#endif /* CHARTER_GO_SHIM_H */
