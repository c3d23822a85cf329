/* The monotonic clock and a pause, for the tests that measure how soon a
 * wake-up comes or give another thread time to block. Inline, so a test
 * that uses only one of them builds without warnings. */
#ifndef CHARTER_TESTS_TIMING_H
#define CHARTER_TESTS_TIMING_H

#include <stdint.h>
#include <time.h>

/* Microseconds on the monotonic clock. */
static inline uint64_t now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static inline void sleep_ms(long ms) {
    struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&pause, NULL);
}

#endif
