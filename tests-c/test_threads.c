/* Concurrency through the C ABI: notifiers racing writers, per-thread
 * error messages, racing frees, and a free while a call is in flight. */
#include <pthread.h>
#include <unistd.h>

#include "check.h"
#include "registry_handlers.h"

#define NOTIFIERS 8
#define WRITERS 2
#define ROUNDS 4000

/* The handler registered for the whole race, and those the writers
 * register and unregister. */
static counts_t permanent, churned;

static void *notifier(void *arg) {
    charter_registry_t *reg = (charter_registry_t *)arg;
    charter_notify_report_t r;
    int i;
    for (i = 0; i < ROUNDS; i++) {
        if (charter_registry_notify(reg, (const uint8_t *)"e", 1, &r) != CHARTER_OK) return (void *)1;
        if (r.delivered < 1 || r.failed != 0 || r.panicked != 0) return (void *)2;
    }
    return NULL;
}

static void *writer(void *arg) {
    charter_registry_t *reg = (charter_registry_t *)arg;
    uint64_t id;
    bool removed;
    int i;
    for (i = 0; i < ROUNDS / 4; i++) {
        if (charter_registry_register(reg, i % 3, count_call, &churned, count_drop, &id) != CHARTER_OK) return (void *)1;
        if (charter_registry_unregister(reg, id, &removed) != CHARTER_OK || !removed) return (void *)2;
    }
    return NULL;
}

static void notifiers_race_writers(void) {
    charter_registry_t *reg = NULL;
    pthread_t threads[NOTIFIERS + WRITERS];
    uint64_t id;
    size_t len;
    void *ret;
    int i;
    CHECK_OK(charter_registry_new(&reg));
    CHECK_OK(charter_registry_register(reg, 0, count_call, &permanent, NULL, &id));
    for (i = 0; i < NOTIFIERS; i++) CHECK(pthread_create(&threads[i], NULL, notifier, reg) == 0);
    for (i = 0; i < WRITERS; i++) CHECK(pthread_create(&threads[NOTIFIERS + i], NULL, writer, reg) == 0);
    for (i = 0; i < NOTIFIERS + WRITERS; i++) {
        CHECK(pthread_join(threads[i], &ret) == 0);
        CHECK(ret == NULL);
    }
    CHECK(load(&permanent.calls) == (uint64_t)NOTIFIERS * ROUNDS);
    CHECK(load(&churned.drops) == (uint64_t)WRITERS * (ROUNDS / 4));
    CHECK_OK(charter_registry_len(reg, &len));
    CHECK(len == 1);
    CHECK_OK(charter_registry_free(reg));
}

/* --- error messages belong to their thread ------------------------------ */

#define ERROR_THREADS 16

static void *fail_repeatedly(void *arg) {
    unsigned depth = 100 + (unsigned)(uintptr_t)arg;
    char expected[64];
    charter_registry_t *reg;
    int i;
    snprintf(expected, sizeof expected, "got %u", depth);
    for (i = 0; i < 500; i++) {
        char *msg;
        int mine;
        if (charter_registry_new_with_max_depth(depth, &reg) != CHARTER_E_INVALID_ARGUMENT) return (void *)1;
        msg = charter_last_error_message();
        mine = msg != NULL && strstr(msg, expected) != NULL;
        charter_string_free(msg);
        if (!mine) return (void *)2;
        if (i % 50 == 0) {
            /* A success on this thread clears its message. */
            if (charter_registry_new(&reg) != CHARTER_OK) return (void *)3;
            if (charter_last_error_message() != NULL) return (void *)4;
            if (charter_registry_free(reg) != CHARTER_OK) return (void *)5;
        }
    }
    return NULL;
}

static void error_messages_are_per_thread(void) {
    pthread_t threads[ERROR_THREADS];
    void *ret;
    uintptr_t i;
    for (i = 0; i < ERROR_THREADS; i++) CHECK(pthread_create(&threads[i], NULL, fail_repeatedly, (void *)i) == 0);
    for (i = 0; i < ERROR_THREADS; i++) {
        CHECK(pthread_join(threads[i], &ret) == 0);
        CHECK(ret == NULL);
    }
}

/* --- 16 threads free the same handle ------------------------------------ */

#define FREERS 16

typedef struct {
    pthread_barrier_t barrier;
    charter_registry_t *reg;
    charter_status_t results[FREERS];
} free_race_t;

typedef struct {
    free_race_t *race;
    int index;
} freer_arg_t;

static void *freer(void *arg) {
    freer_arg_t *a = (freer_arg_t *)arg;
    pthread_barrier_wait(&a->race->barrier);
    a->race->results[a->index] = charter_registry_free(a->race->reg);
    return NULL;
}

static void sixteen_threads_free_one_handle(void) {
    int round;
    for (round = 0; round < 50; round++) {
        free_race_t race;
        freer_arg_t args[FREERS];
        pthread_t threads[FREERS];
        int i, ok = 0, already = 0;
        CHECK(pthread_barrier_init(&race.barrier, NULL, FREERS) == 0);
        CHECK_OK(charter_registry_new(&race.reg));
        for (i = 0; i < FREERS; i++) {
            args[i].race = &race;
            args[i].index = i;
            CHECK(pthread_create(&threads[i], NULL, freer, &args[i]) == 0);
        }
        for (i = 0; i < FREERS; i++) CHECK(pthread_join(threads[i], NULL) == 0);
        for (i = 0; i < FREERS; i++) {
            if (race.results[i] == CHARTER_OK) ok++;
            if (race.results[i] == CHARTER_E_ALREADY_FREED) already++;
        }
        CHECK(ok == 1 && already == FREERS - 1);
        pthread_barrier_destroy(&race.barrier);
    }
}

/* --- free while another thread is mid-operation -------------------------- */

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int entered, released, dropped, dropped_before_return;
    charter_registry_t *reg;
    charter_status_t notify_status;
    charter_notify_report_t report;
} inflight_t;

static charter_status_t slow_handler(void *user_data, const uint8_t *event, size_t len) {
    inflight_t *s = (inflight_t *)user_data;
    (void)event;
    (void)len;
    pthread_mutex_lock(&s->lock);
    s->entered = 1;
    pthread_cond_broadcast(&s->cond);
    while (!s->released) pthread_cond_wait(&s->cond, &s->lock);
    s->dropped_before_return = s->dropped;
    pthread_mutex_unlock(&s->lock);
    return CHARTER_OK;
}

static void slow_drop(void *user_data) {
    inflight_t *s = (inflight_t *)user_data;
    pthread_mutex_lock(&s->lock);
    s->dropped++;
    pthread_mutex_unlock(&s->lock);
}

static void *inflight_notifier(void *arg) {
    inflight_t *s = (inflight_t *)arg;
    s->notify_status = charter_registry_notify(s->reg, NULL, 0, &s->report);
    return NULL;
}

static void free_while_another_thread_is_mid_operation(void) {
    inflight_t s;
    pthread_t t;
    uint64_t id;
    size_t len;
    memset(&s, 0, sizeof s);
    pthread_mutex_init(&s.lock, NULL);
    pthread_cond_init(&s.cond, NULL);
    CHECK_OK(charter_registry_new(&s.reg));
    CHECK_OK(charter_registry_register(s.reg, 0, slow_handler, &s, slow_drop, &id));
    CHECK(pthread_create(&t, NULL, inflight_notifier, &s) == 0);
    pthread_mutex_lock(&s.lock);
    while (!s.entered) pthread_cond_wait(&s.cond, &s.lock);
    pthread_mutex_unlock(&s.lock);
    /* The free returns at once although a handler is running. */
    CHECK_OK(charter_registry_free(s.reg));
    CHECK_STATUS(charter_registry_len(s.reg, &len), CHARTER_E_HANDLE_FREED);
    pthread_mutex_lock(&s.lock);
    CHECK(s.dropped == 0); /* still in use by the in-flight notify */
    s.released = 1;
    pthread_cond_broadcast(&s.cond);
    pthread_mutex_unlock(&s.lock);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK(s.notify_status == CHARTER_OK);
    CHECK(s.report.delivered == 1);
    CHECK(s.dropped_before_return == 0);
    CHECK(s.dropped == 1);
    CHECK_STATUS(charter_registry_notify(s.reg, NULL, 0, NULL), CHARTER_E_HANDLE_FREED);
}

int main(void) {
    RUN(notifiers_race_writers);
    RUN(error_messages_are_per_thread);
    RUN(sixteen_threads_free_one_handle);
    RUN(free_while_another_thread_is_mid_operation);
    return 0;
}
