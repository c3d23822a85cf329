/* shim.c: see shim.h. */

#include "shim.h"

#include "_cgo_export.h"

/* The message of a failed call on this thread, or NULL after a success. */
static char *message_of(charter_status_t status) {
    return status == CHARTER_OK ? NULL : charter_last_error_message();
}

/* The exported Go functions take non-const pointers and integers; these
 * adapters give them the exact types Charter's function pointers have. */
static charter_status_t handler_adapter(void *user_data, const uint8_t *event, size_t len) {
    return charterGoHandler((uintptr_t)user_data, (uint8_t *)event, len);
}

static void drop_adapter(void *user_data) {
    charterGoDrop((uintptr_t)user_data);
}

chgo_registry chgo_registry_new(void) {
    chgo_registry r = {0};
    r.status = charter_registry_new(&r.registry);
    r.message = message_of(r.status);
    return r;
}

chgo_registry chgo_registry_new_with_max_depth(uint32_t max_depth) {
    chgo_registry r = {0};
    r.status = charter_registry_new_with_max_depth(max_depth, &r.registry);
    r.message = message_of(r.status);
    return r;
}

chgo_status chgo_registry_free(charter_registry_t *reg) {
    chgo_status r = {0};
    r.status = charter_registry_free(reg);
    r.message = message_of(r.status);
    return r;
}

chgo_value chgo_registry_register(charter_registry_t *reg, int32_t priority, uintptr_t handle) {
    chgo_value r = {0};
    r.status = charter_registry_register(reg, priority, handler_adapter, (void *)handle,
                                         drop_adapter, &r.value);
    r.message = message_of(r.status);
    return r;
}

chgo_value chgo_registry_unregister(charter_registry_t *reg, uint64_t id) {
    chgo_value r = {0};
    bool removed = false;
    r.status = charter_registry_unregister(reg, id, &removed);
    r.value = removed;
    r.message = message_of(r.status);
    return r;
}

chgo_value chgo_registry_contains(charter_registry_t *reg, uint64_t id) {
    chgo_value r = {0};
    bool contains = false;
    r.status = charter_registry_contains(reg, id, &contains);
    r.value = contains;
    r.message = message_of(r.status);
    return r;
}

chgo_value chgo_registry_len(charter_registry_t *reg) {
    chgo_value r = {0};
    size_t len = 0;
    r.status = charter_registry_len(reg, &len);
    r.value = len;
    r.message = message_of(r.status);
    return r;
}

chgo_status chgo_registry_clear(charter_registry_t *reg) {
    chgo_status r = {0};
    r.status = charter_registry_clear(reg);
    r.message = message_of(r.status);
    return r;
}

chgo_notify chgo_registry_notify(charter_registry_t *reg, const uint8_t *event, size_t len) {
    chgo_notify r = {0};
    r.status = charter_registry_notify(reg, event, len, &r.report);
    r.message = message_of(r.status);
    return r;
}
