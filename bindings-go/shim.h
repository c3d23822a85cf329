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

#endif /* CHARTER_GO_SHIM_H */
