/* Registry ids, run-once handlers and waiting removal through the C ABI:
 * a foreign or guessed id is not found, a run-once handler runs once
 * across racing threads, and unregister_and_wait / clear_and_wait return
 * only after the running handler returned and drop_user_data ran. */
#include <pthread.h>

#include "check.h"
#include "registry_handlers.h"
#include "timing.h"

static void foreign_stale_and_guessed_ids_are_not_found(void) {
    charter_registry_t *a = NULL, *b = NULL;
    uint64_t a_id, b_id, guess;
    bool removed = true, contains = true;
    CHECK_OK(charter_registry_new(&a));
    CHECK_OK(charter_registry_new(&b));
    CHECK_OK(charter_registry_register(a, 0, ignore_event, NULL, NULL, &a_id));
    CHECK_OK(charter_registry_register(b, 0, ignore_event, NULL, NULL, &b_id));
    CHECK(a_id != b_id);
    /* Registry B must not end its own handler when given A's id. */
    CHECK_OK(charter_registry_unregister(b, a_id, &removed));
    CHECK(!removed);
    CHECK_OK(charter_registry_unregister_and_wait(b, a_id, &removed));
    CHECK(!removed);
    CHECK_OK(charter_registry_contains(b, b_id, &contains));
    CHECK(contains);
    for (guess = 0; guess < 4096; guess++) {
        if (guess == b_id) continue;
        CHECK_OK(charter_registry_contains(b, guess, &contains));
        CHECK(!contains);
    }
    CHECK_OK(charter_registry_unregister(b, b_id, &removed));
    CHECK(removed);
    CHECK_OK(charter_registry_unregister(b, b_id, &removed));
    CHECK(!removed); /* stale */
    CHECK_OK(charter_registry_free(a));
    CHECK_OK(charter_registry_free(b));
}

/* --- run-once ------------------------------------------------------------ */

/* Every run-once handler's calls and drops; rounds_called counts what
 * the notifies report. */
static counts_t once;
static uint64_t rounds_called;

static charter_status_t once_panics(void *user_data, const uint8_t *event, size_t len) {
    count_call(user_data, event, len);
    return CHARTER_E_PANIC;
}

static void *notify_many(void *arg) {
    charter_registry_t *reg = (charter_registry_t *)arg;
    charter_notify_report_t r;
    int i;
    for (i = 0; i < 200; i++) {
        if (charter_registry_notify(reg, NULL, 0, &r) != CHARTER_OK) return (void *)1;
        add(&rounds_called, r.delivered + r.failed + r.panicked);
    }
    return NULL;
}

static void register_once_runs_once_when_notifies_race(void) {
    charter_registry_t *reg = NULL;
    pthread_t threads[4];
    uint64_t id;
    size_t len = 1;
    bool contains = true;
    int i;
    charter_notify_report_t r;
    store(&once.calls, 0);
    store(&once.drops, 0);
    store(&rounds_called, 0);
    CHECK_OK(charter_registry_new(&reg));
    CHECK_OK(charter_registry_register_once(reg, 0, count_call, &once, count_drop, &id));
    for (i = 0; i < 4; i++) CHECK(pthread_create(&threads[i], NULL, notify_many, reg) == 0);
    for (i = 0; i < 4; i++) {
        void *ret;
        CHECK(pthread_join(threads[i], &ret) == 0);
        CHECK(ret == NULL);
    }
    CHECK(load(&once.calls) == 1);
    CHECK(load(&rounds_called) == 1);
    CHECK(load(&once.drops) == 1); /* dropped right after its call */
    CHECK_OK(charter_registry_contains(reg, id, &contains));
    CHECK(!contains);
    CHECK_OK(charter_registry_len(reg, &len));
    CHECK(len == 0);

    /* Removed even when it reports a panic. */
    CHECK_OK(charter_registry_register_once(reg, 0, once_panics, &once, count_drop, &id));
    CHECK_OK(charter_registry_notify(reg, NULL, 0, &r));
    CHECK(r.panicked == 1);
    CHECK_OK(charter_registry_notify(reg, NULL, 0, &r));
    CHECK(r.panicked == 0 && r.delivered == 0);
    CHECK(load(&once.calls) == 2 && load(&once.drops) == 2);

    /* Never run: dropped once by free. */
    CHECK_OK(charter_registry_register_once(reg, 0, count_call, &once, count_drop, &id));
    CHECK_OK(charter_registry_free(reg));
    CHECK(load(&once.calls) == 2 && load(&once.drops) == 3);
}

/* --- waiting removal ----------------------------------------------------- */

typedef struct {
    charter_registry_t *reg;
    uint64_t id;
    uint64_t entered, release, running, drops, waiter_done;
    int clear; /* the waiter calls clear_and_wait instead */
} blocker_t;

static charter_status_t blocking(void *user_data, const uint8_t *event, size_t len) {
    blocker_t *b = (blocker_t *)user_data;
    (void)event;
    (void)len;
    add(&b->running, 1);
    store(&b->entered, 1);
    while (!load(&b->release)) sleep_ms(1);
    add(&b->running, (uint64_t)-1);
    return CHARTER_OK;
}

static void blocker_drop(void *user_data) {
    blocker_t *b = (blocker_t *)user_data;
    /* The handler must have returned before its user data is released. */
    if (load(&b->running) != 0) abort();
    add(&b->drops, 1);
}

static void *notify_once(void *arg) {
    blocker_t *b = (blocker_t *)arg;
    return charter_registry_notify(b->reg, NULL, 0, NULL) == CHARTER_OK ? NULL : (void *)1;
}

static void *wait_for_removal(void *arg) {
    blocker_t *b = (blocker_t *)arg;
    bool removed = false;
    charter_status_t s;
    if (b->clear) {
        s = charter_registry_clear_and_wait(b->reg);
        removed = true;
    } else {
        s = charter_registry_unregister_and_wait(b->reg, b->id, &removed);
    }
    /* Once the wait is over the handler is not running and was dropped. */
    if (s != CHARTER_OK || !removed || load(&b->running) != 0 || load(&b->drops) != 1) return (void *)1;
    store(&b->waiter_done, 1);
    return NULL;
}

static void removal_waits_for_a_running_handler(int clear) {
    blocker_t b;
    pthread_t notifier, waiter;
    void *ret;
    memset(&b, 0, sizeof b);
    b.clear = clear;
    CHECK_OK(charter_registry_new(&b.reg));
    CHECK_OK(charter_registry_register(b.reg, 0, blocking, &b, blocker_drop, &b.id));
    CHECK(pthread_create(&notifier, NULL, notify_once, &b) == 0);
    while (!load(&b.entered)) sleep_ms(1);
    CHECK(pthread_create(&waiter, NULL, wait_for_removal, &b) == 0);
    sleep_ms(30);
    CHECK(!load(&b.waiter_done)); /* still waiting: the handler runs */
    CHECK(load(&b.drops) == 0);
    store(&b.release, 1);
    CHECK(pthread_join(waiter, &ret) == 0);
    CHECK(ret == NULL);
    CHECK(pthread_join(notifier, &ret) == 0);
    CHECK(ret == NULL);
    CHECK(load(&b.drops) == 1);
    CHECK_OK(charter_registry_free(b.reg));
    CHECK(load(&b.drops) == 1);
}

static void unregister_and_wait_waits_for_a_running_handler(void) { removal_waits_for_a_running_handler(0); }

static void clear_and_wait_waits_for_a_running_handler(void) { removal_waits_for_a_running_handler(1); }

static charter_status_t waits_on_itself(void *user_data, const uint8_t *event, size_t len) {
    self_removal_t *s = (self_removal_t *)user_data;
    bool removed = false;
    (void)event;
    (void)len;
    s->calls++;
    s->inner = charter_registry_unregister_and_wait(s->reg, s->self_id, &removed);
    if (!removed) s->inner = CHARTER_E_INTERNAL;
    if (s->inner == CHARTER_OK) s->inner = charter_registry_clear_and_wait(s->reg);
    return CHARTER_OK;
}

static void waiting_removal_inside_its_own_handler_does_not_deadlock(void) {
    check_removes_itself(waits_on_itself);
}

static void null_and_freed_handles_are_refused(void) {
    charter_registry_t *reg = NULL;
    uint64_t id = 5;
    CHECK_STATUS(charter_registry_unregister_and_wait(NULL, 1, NULL), CHARTER_E_NULL_ARGUMENT);
    CHECK_STATUS(charter_registry_clear_and_wait(NULL), CHARTER_E_NULL_ARGUMENT);
    CHECK_OK(charter_registry_new(&reg));
    CHECK_STATUS(charter_registry_register_once(reg, 0, NULL, NULL, NULL, &id), CHARTER_E_NULL_ARGUMENT);
    CHECK(id == 5);
    CHECK_OK(charter_registry_free(reg));
    CHECK_STATUS(charter_registry_clear_and_wait(reg), CHARTER_E_HANDLE_FREED);
}

int main(void) {
    RUN(foreign_stale_and_guessed_ids_are_not_found);
    RUN(register_once_runs_once_when_notifies_race);
    RUN(unregister_and_wait_waits_for_a_running_handler);
    RUN(clear_and_wait_waits_for_a_running_handler);
    RUN(waiting_removal_inside_its_own_handler_does_not_deadlock);
    RUN(null_and_freed_handles_are_refused);
    return 0;
}
