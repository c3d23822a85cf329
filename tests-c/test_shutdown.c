/* Calls made while the process or a thread shuts down (an atexit handler,
 * a pthread_key destructor on a thread that used Charter) do their work
 * and return their status: they never abort and never print, though the
 * last-error text may be unavailable by then. Each scenario runs in a child
 * whose exit status and stderr are checked. */
#include <pthread.h>

#include "check.h"
#include "shutdown_calls.h"

static void calls_at_exit(void) {
    int failed = shutdown_calls();
    if (failed) {
        _exit(10 + failed);
    }
}

static void atexit_scenario(void) {
    if (use_charter() != 0) _exit(2);
    if (atexit(calls_at_exit) != 0) _exit(3);
    exit(0);
}

static void calls_from_an_atexit_handler(void) {
    CHECK(child_exits_quietly("atexit", atexit_scenario) == 0);
}

static pthread_key_t key;
static int key_result = -1;

static void calls_in_key_destructor(void *value) {
    (void)value;
    key_result = shutdown_calls();
}

static void *thread_that_used_charter(void *arg) {
    (void)arg;
    if (use_charter() != 0) return (void *)1;
    pthread_setspecific(key, &key);
    return NULL;
}

static void key_scenario(void) {
    pthread_t thread;
    void *result = NULL;
    if (pthread_key_create(&key, calls_in_key_destructor) != 0) _exit(2);
    if (pthread_create(&thread, NULL, thread_that_used_charter, NULL) != 0) _exit(3);
    if (pthread_join(thread, &result) != 0 || result != NULL) _exit(4);
    if (key_result != 0) _exit(10 + key_result);
    exit(0);
}

static void calls_from_a_pthread_key_destructor(void) {
    CHECK(child_exits_quietly("pthread_key", key_scenario) == 0);
}

int main(void) {
    RUN(calls_from_an_atexit_handler);
    RUN(calls_from_a_pthread_key_destructor);
    return 0;
}
