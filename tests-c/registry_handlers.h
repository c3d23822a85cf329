/* Registry handlers the tests share: one that does nothing, one that
 * counts its calls and its drop in a counts_t, read and written atomically
 * because notifiers call it from many threads, and the check of a handler
 * that removes its own registration. Inline, so a test that uses only some
 * of them builds without warnings. */
#ifndef CHARTER_TESTS_REGISTRY_HANDLERS_H
#define CHARTER_TESTS_REGISTRY_HANDLERS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "charter.h"
#include "check.h"

static inline uint64_t load(uint64_t *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
static inline void store(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_SEQ_CST); }
static inline void add(uint64_t *p, uint64_t n) { __atomic_fetch_add(p, n, __ATOMIC_SEQ_CST); }

static inline charter_status_t ignore_event(void *user_data, const uint8_t *event, size_t len) {
    (void)user_data;
    (void)event;
    (void)len;
    return CHARTER_OK;
}

/* What count_call and count_drop count; their user_data points to one. */
typedef struct {
    uint64_t calls, drops;
} counts_t;

static inline charter_status_t count_call(void *user_data, const uint8_t *event, size_t len) {
    (void)event;
    (void)len;
    add(&((counts_t *)user_data)->calls, 1);
    return CHARTER_OK;
}

static inline void count_drop(void *user_data) { add(&((counts_t *)user_data)->drops, 1); }

/* What a handler that removes itself is given: its registry and id; it
 * counts its calls and sets `inner` to how the calls it made inside went. */
typedef struct {
    charter_registry_t *reg;
    uint64_t self_id;
    int calls, drops;
    charter_status_t inner;
} self_removal_t;

static inline void count_self_drop(void *user_data) { ((self_removal_t *)user_data)->drops++; }

/* Registers `fn` on a new registry and notifies twice: the first round
 * delivers to it once, it removes itself, and its user data is dropped once
 * the round let go of it; the second round finds nothing. */
static inline void check_removes_itself(charter_handler_fn fn) {
    self_removal_t s;
    charter_notify_report_t r;
    size_t len;
    memset(&s, 0, sizeof s);
    CHECK_OK(charter_registry_new(&s.reg));
    CHECK_OK(charter_registry_register(s.reg, 0, fn, &s, count_self_drop, &s.self_id));
    CHECK_OK(charter_registry_notify(s.reg, NULL, 0, &r));
    CHECK(r.delivered == 1 && s.calls == 1);
    CHECK_OK(s.inner);
    CHECK(s.drops == 1);
    CHECK_OK(charter_registry_len(s.reg, &len));
    CHECK(len == 0);
    CHECK_OK(charter_registry_notify(s.reg, NULL, 0, &r));
    CHECK(r.delivered == 0 && s.calls == 1);
    CHECK_OK(charter_registry_free(s.reg));
    CHECK(s.drops == 1);
}

#endif
