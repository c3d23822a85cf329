/* shim.c: see shim.h. */

#include "shim_result.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "_cgo_export.h"

/* The exported Go functions take non-const pointers and integers; these
 * adapters give them the exact types Charter's function pointers have. */
static charter_status_t handler_adapter(void *user_data, const uint8_t *event, size_t len) {
    return charterGoHandler((uintptr_t)user_data, (uint8_t *)event, len);
}

static void drop_adapter(void *user_data) {
    charterGoDrop((uintptr_t)user_data);
}

static void ready_adapter(void *user_data) {
    charterGoReady((uintptr_t)user_data);
}

static charter_status_t message_adapter(void *user_data, const charter_message_t *msg) {
    return charterGoMessage((uintptr_t)user_data, (charter_message_t *)msg);
}

chgo_registry chgo_registry_new(void) {
    RETURN_RESULT(chgo_registry, charter_registry_new(&r.registry));
}

chgo_registry chgo_registry_new_with_max_depth(uint32_t max_depth) {
    RETURN_RESULT(chgo_registry, charter_registry_new_with_max_depth(max_depth, &r.registry));
}

chgo_status chgo_registry_free(charter_registry_t *reg) {
    return chgo_status_of(charter_registry_free(reg));
}

chgo_value chgo_registry_register(charter_registry_t *reg, int32_t priority, uintptr_t handle) {
    RETURN_RESULT(chgo_value, charter_registry_register(reg, priority, handler_adapter, (void *)handle,
                                                        drop_adapter, &r.value));
}

chgo_value chgo_registry_register_once(charter_registry_t *reg, int32_t priority, uintptr_t handle) {
    RETURN_RESULT(chgo_value, charter_registry_register_once(reg, priority, handler_adapter, (void *)handle,
                                                             drop_adapter, &r.value));
}

chgo_value chgo_registry_unregister_and_wait(charter_registry_t *reg, uint64_t id) {
    bool removed = false;
    charter_status_t status = charter_registry_unregister_and_wait(reg, id, &removed);
    return chgo_value_of(status, removed);
}

chgo_value chgo_registry_unregister(charter_registry_t *reg, uint64_t id) {
    bool removed = false;
    charter_status_t status = charter_registry_unregister(reg, id, &removed);
    return chgo_value_of(status, removed);
}

chgo_value chgo_registry_contains(charter_registry_t *reg, uint64_t id) {
    bool contains = false;
    charter_status_t status = charter_registry_contains(reg, id, &contains);
    return chgo_value_of(status, contains);
}

chgo_value chgo_registry_len(charter_registry_t *reg) {
    size_t len = 0;
    charter_status_t status = charter_registry_len(reg, &len);
    return chgo_value_of(status, len);
}

chgo_status chgo_registry_clear(charter_registry_t *reg) {
    return chgo_status_of(charter_registry_clear(reg));
}

chgo_status chgo_registry_clear_and_wait(charter_registry_t *reg) {
    return chgo_status_of(charter_registry_clear_and_wait(reg));
}

chgo_notify chgo_registry_notify(charter_registry_t *reg, const uint8_t *event, size_t len) {
    RETURN_RESULT(chgo_notify, charter_registry_notify(reg, event, len, &r.report));
}

/* ---- Bus ---- */

/* Headers up to this many are unpacked on the stack; more are rare (the
 * default bus limit is 64) and take one malloc. */
#define CHGO_STACK_HEADERS 16

const char *chgo_terminated(const char *s, size_t len, char *buf) {
    if (len >= CHGO_INLINE_STRING) {
        return s;
    }
    if (len > 0) {
        memcpy(buf, s, len);
    }
    buf[len] = '\0';
    return buf;
}

/* The charter_header_t array of count packed headers: stack (with room for
 * CHGO_STACK_HEADERS) when it fits, else malloc'd; NULL when count is 0 or
 * malloc failed. Release it with release_headers. */
static charter_header_t *unpack_headers(const char *packed, size_t count, charter_header_t *stack) {
    if (count == 0) {
        return NULL;
    }
    charter_header_t *out = count <= CHGO_STACK_HEADERS ? stack : malloc(count * sizeof *out);
    if (out == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < count; i++) {
        out[i].name = packed;
        packed += strlen(packed) + 1;
        out[i].value = packed;
        packed += strlen(packed) + 1;
    }
    return out;
}

static void release_headers(charter_header_t *headers, charter_header_t *stack) {
    if (headers != stack) {
        free(headers);
    }
}

/* The whole body of a wrapper that sends with header_count packed headers:
 * unpacks them into `hs`, makes call into a zeroed result `r` of type T and
 * releases them. call may terminate one string in `buf`. */
#define RETURN_SENT_WITH_HEADERS(T, headers, header_count, call)                                   \
    do {                                                                                           \
        char buf[CHGO_INLINE_STRING];                                                              \
        charter_header_t stack[CHGO_STACK_HEADERS];                                                \
        T r = {0};                                                                                 \
        charter_header_t *hs = unpack_headers(headers, header_count, stack);                       \
        RETURN_IF_UNPACK_FAILED(r, hs, header_count);                                              \
        RESULT(r, call);                                                                           \
        release_headers(hs, stack);                                                                \
        return r;                                                                                  \
    } while (0)

chgo_bus chgo_bus_new(charter_bus_limits_t limits, charter_authority_t *auth) {
    RETURN_RESULT(chgo_bus, auth == NULL ? charter_bus_new(&limits, &r.bus)
                            : charter_bus_new_with_authority(&limits, auth, &r.bus));
}

chgo_status chgo_bus_free(charter_bus_t *bus) {
    return chgo_status_of(charter_bus_free(bus));
}

chgo_client chgo_client_new(charter_bus_t *bus, charter_session_t *session) {
    RETURN_RESULT(chgo_client, charter_client_new(bus, session, &r.client));
}

chgo_status chgo_client_free(charter_client_t *client) {
    return chgo_status_of(charter_client_free(client));
}

chgo_value chgo_client_subscribe(charter_client_t *client, const char *pattern, size_t pattern_len,
                                 charter_subscribe_options_t options) {
    char buf[CHGO_INLINE_STRING];
    chgo_value r = {0};
    const char *p = chgo_terminated(pattern, pattern_len, buf);
    RESULT(r, charter_client_subscribe(client, p, &options, &r.value));
    return r;
}

chgo_value chgo_client_subscribe_callback(charter_client_t *client, const char *pattern,
                                          size_t pattern_len, charter_subscribe_options_t options,
                                          uintptr_t handle) {
    char buf[CHGO_INLINE_STRING];
    chgo_value r = {0};
    const char *p = chgo_terminated(pattern, pattern_len, buf);
    RESULT(r, charter_client_subscribe_callback(client, p, &options, message_adapter, (void *)handle,
                                                 drop_adapter, &r.value));
    return r;
}

chgo_value chgo_client_unsubscribe(charter_client_t *client, uint64_t id) {
    bool removed = false;
    charter_status_t status = charter_client_unsubscribe(client, id, &removed);
    return chgo_value_of(status, removed);
}

chgo_publish chgo_client_publish(charter_client_t *client, const char *topic, size_t topic_len, const uint8_t *payload, size_t len,
                              const char *headers, size_t header_count) {
    RETURN_SENT_WITH_HEADERS(chgo_publish, headers, header_count,
                             charter_client_publish(client, chgo_terminated(topic, topic_len, buf), payload, len, hs,
                                                    header_count, &r.report));
}

chgo_message chgo_client_recv(charter_client_t *client, uint64_t id, uint32_t timeout_ms) {
    RETURN_RESULT(chgo_message, charter_client_recv(client, id, timeout_ms, &r.msg));
}

chgo_waiter chgo_waiter_new(uintptr_t handle) {
    RETURN_RESULT(chgo_waiter, charter_waiter_new(ready_adapter, (void *)handle, &r.waiter));
}

void chgo_waiter_free(charter_waiter_t *waiter) {
    /* Called by a cleanup, with nobody to report to; a waiter is freed
     * once, so only a bug could fail here. */
    (void)charter_waiter_free(waiter);
}

chgo_polled chgo_client_poll_recv(charter_client_t *client, uint64_t id, charter_waiter_t *waiter) {
    chgo_polled r = {0};
    r.recheck_ms = UINT64_MAX;
    r.status = charter_client_poll_recv(client, id, waiter, &r.msg, &r.recheck_ms);
    r.message = r.status == CHARTER_E_WOULD_BLOCK ? NULL : chgo_message_of(r.status);
    return r;
}

chgo_status chgo_client_disarm(charter_client_t *client, uint64_t id, charter_waiter_t *waiter) {
    return chgo_status_of(charter_client_disarm(client, id, waiter));
}

chgo_value chgo_client_request_start(charter_client_t *client, const char *topic, size_t topic_len,
                                     const uint8_t *payload, size_t len, const char *headers,
                                     size_t header_count) {
    RETURN_SENT_WITH_HEADERS(chgo_value, headers, header_count,
                             charter_client_request_start(client, chgo_terminated(topic, topic_len, buf), payload,
                                                          len, hs, header_count, &r.value));
}

chgo_publish chgo_client_respond(charter_client_t *client, const char *reply_to, size_t reply_to_len,
                                 const uint8_t *payload, size_t len, const char *headers,
                                 size_t header_count) {
    /* Go keeps only the reply inbox of a request, not Charter's message. */
    RETURN_SENT_WITH_HEADERS(chgo_publish, headers, header_count,
                             charter_client_reply(client, chgo_terminated(reply_to, reply_to_len, buf), payload, len,
                                                  hs, header_count, &r.report));
}

/* ---- Batches ---- */

_Static_assert(sizeof(chgo_payload) == sizeof(charter_payload_t), "a slot becomes a charter_payload_t in place");
_Static_assert(offsetof(chgo_payload, len) == offsetof(charter_payload_t, len), "a slot's len stays where it is");

chgo_publish_many chgo_client_publish_many(charter_client_t *client, const char *topic, size_t topic_len,
                                           const uint8_t *data, chgo_payload *slots, size_t count,
                                           const char *headers, size_t header_count) {
    char buf[CHGO_INLINE_STRING];
    charter_header_t header_stack[CHGO_STACK_HEADERS];
    chgo_publish_many r = {0};
    /* Each slot is rewritten in place, through memcpy, which gives Go's
     * untyped memory the type charter_payload_t: no array is built or
     * allocated for a batch. */
    for (size_t i = 0; i < count; i++) {
        charter_payload_t p = {slots[i].len == 0 ? NULL : data + slots[i].offset, slots[i].len};
        memcpy(&slots[i], &p, sizeof p);
    }
    charter_header_t *hs = unpack_headers(headers, header_count, header_stack);
    if (header_count > 0 && hs == NULL) {
        r.status = CHGO_OUT_OF_MEMORY;
    } else {
        const char *t = chgo_terminated(topic, topic_len, buf);
        RESULT(r, charter_client_publish_many(client, t, count == 0 ? NULL : (const charter_payload_t *)(void *)slots,
                                              count, hs, header_count, &r.published, &r.report));
    }
    release_headers(hs, header_stack);
    return r;
}

chgo_recv_many chgo_client_recv_many(charter_client_t *client, uint64_t id, charter_message_t **out, size_t max) {
    chgo_recv_many r = {0};
    r.status = charter_client_recv_many(client, id, 0, out, max, &r.count);
    r.message = r.status == CHARTER_E_WOULD_BLOCK ? NULL : chgo_message_of(r.status);
    return r;
}

chgo_recv_into chgo_client_recv_into(charter_client_t *client, uint64_t id, uint8_t *buf, size_t buf_len,
                                     charter_received_t *entries, size_t max) {
    chgo_recv_into r = {0};
    r.status = charter_client_recv_into(client, id, buf, buf_len, entries, max, &r.count, &r.more);
    r.message = r.status == CHARTER_E_WOULD_BLOCK ? NULL : chgo_message_of(r.status);
    return r;
}

void chgo_messages_free(charter_message_t **msgs, size_t count) {
    for (size_t i = 0; i < count; i++) {
        charter_message_free(msgs[i]);
    }
}

chgo_subscription_stats chgo_client_subscription_stats(charter_client_t *client, uint64_t id) {
    RETURN_RESULT(chgo_subscription_stats, charter_client_subscription_stats(client, id, &r.stats));
}

chgo_stats chgo_bus_stats(charter_bus_t *bus) {
    RETURN_RESULT(chgo_stats, charter_bus_stats(bus, &r.stats));
}

chgo_value chgo_bus_evict_idle(charter_bus_t *bus) {
    size_t count = 0;
    charter_status_t status = charter_bus_evict_idle(bus, &count);
    return chgo_value_of(status, count);
}
