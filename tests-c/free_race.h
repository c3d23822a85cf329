/* Sixteen threads freeing one handle at once (test_audit.c, test_bus.c,
 * test_capability.c): exactly one free succeeds and the other fifteen are
 * told ALREADY_FREED, whatever the handle's type. */
#ifndef CHARTER_TESTS_FREE_RACE_H
#define CHARTER_TESTS_FREE_RACE_H

#include <pthread.h>

#include "charter.h"
#include "check.h"

#define FREE_RACE_THREADS 16

/* Frees one handle: a test's wrapper around a charter_*_free, so that the
 * call goes through the function's own type. */
typedef charter_status_t (*free_handle_fn)(void *handle);

typedef struct {
    pthread_barrier_t *barrier;
    free_handle_fn free_handle;
    void *handle;
    charter_status_t result;
} freer_t;

static inline void *free_when_released(void *arg) {
    freer_t *f = (freer_t *)arg;
    pthread_barrier_wait(f->barrier);
    f->result = f->free_handle(f->handle);
    return NULL;
}

/* Frees `handle` with `free_handle` on FREE_RACE_THREADS threads released
 * together, and checks that one free succeeded and the rest found the
 * handle already freed. */
static inline void free_on_sixteen_threads(free_handle_fn free_handle, void *handle) {
    pthread_barrier_t barrier;
    freer_t f[FREE_RACE_THREADS];
    pthread_t th[FREE_RACE_THREADS];
    int i, ok = 0, already = 0;
    CHECK(pthread_barrier_init(&barrier, NULL, FREE_RACE_THREADS) == 0);
    for (i = 0; i < FREE_RACE_THREADS; i++) {
        f[i].barrier = &barrier;
        f[i].free_handle = free_handle;
        f[i].handle = handle;
        CHECK(pthread_create(&th[i], NULL, free_when_released, &f[i]) == 0);
    }
    for (i = 0; i < FREE_RACE_THREADS; i++) CHECK(pthread_join(th[i], NULL) == 0);
    for (i = 0; i < FREE_RACE_THREADS; i++) {
        ok += f[i].result == CHARTER_OK;
        already += f[i].result == CHARTER_E_ALREADY_FREED;
    }
    CHECK(ok == 1 && already == FREE_RACE_THREADS - 1);
    pthread_barrier_destroy(&barrier);
}

#endif
