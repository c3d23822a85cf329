/* This process's memory, read from /proc, for the tests that bound it: a
 * refused input raises no peak, a churn of handles leaks nothing. The
 * bounds are asserted only where the run measures (the plain label; a
 * sanitizer or valgrind run has its own allocator). Inline, so a test that
 * uses only some of them builds without warnings. */
#ifndef CHARTER_TESTS_MEMORY_H
#define CHARTER_TESTS_MEMORY_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

/* Whether this run measures memory: bounds are asserted only then. */
static inline int measuring(void) { return getenv("CHARTER_TEST_MEASURE_MEMORY") != NULL; }

/* The resident set size, in bytes. */
static inline long resident_bytes(void) {
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    CHECK(f != NULL);
    CHECK(fscanf(f, "%ld %ld", &pages, &resident) == 2);
    fclose(f);
    return resident * sysconf(_SC_PAGESIZE);
}

/* The value in KiB of `field` ("VmHWM:", "VmRSS:") of /proc/self/status;
 * -1 when there is none. */
static inline long vm_kib(const char *field) {
    char line[256];
    long kib = -1;
    size_t n = strlen(field);
    FILE *f = fopen("/proc/self/status", "r");
    CHECK(f != NULL);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, field, n) == 0) {
            kib = strtol(line + n, NULL, 10);
        }
    }
    fclose(f);
    return kib;
}

/* Resets the peak RSS (VmHWM) to the current RSS; 0 when the kernel will
 * not (then the peak cannot be measured). */
static inline int reset_peak_rss(void) {
    FILE *f = fopen("/proc/self/clear_refs", "w");
    int ok;
    if (f == NULL) {
        return 0;
    }
    ok = fputs("5", f) >= 0;
    return fclose(f) == 0 && ok;
}

#endif
