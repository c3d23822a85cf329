/* Registry handlers the tests share: one that does nothing, and one that
 * counts its calls and its drop in a counts_t, read and written atomically
 * because notifiers call it from many threads. Inline, so a test that uses
 * only some of them builds without warnings. */
#ifndef CHARTER_TESTS_REGISTRY_HANDLERS_H
#define CHARTER_TESTS_REGISTRY_HANDLERS_H

#include <stddef.h>
#include <stdint.h>

#include "charter.h"

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

#endif
