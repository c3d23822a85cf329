/* Minimal assertions for the C harness: fail loudly with the status name
 * and Charter's own message, so a red test explains itself. */
#ifndef CHARTER_TESTS_CHECK_H
#define CHARTER_TESTS_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter.h"

#define CHECK(cond)                                                                 \
    do {                                                                            \
        if (!(cond)) {                                                              \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            exit(1);                                                                \
        }                                                                           \
    } while (0)

#define CHECK_STATUS(expr, expected)                                                \
    do {                                                                            \
        charter_status_t got_ = (expr);                                             \
        if (got_ != (expected)) {                                                   \
            char *msg_ = charter_last_error_message();                              \
            fprintf(stderr, "%s:%d: %s returned %s, expected %s (%s)\n", __FILE__,  \
                    __LINE__, #expr, charter_status_name(got_),                     \
                    charter_status_name(expected), msg_ ? msg_ : "no message");     \
            charter_string_free(msg_);                                              \
            exit(1);                                                                \
        }                                                                           \
    } while (0)

#define CHECK_OK(expr) CHECK_STATUS(expr, CHARTER_OK)

/* The last error message on this thread contains `needle`. */
#define CHECK_MESSAGE_HAS(needle)                                                   \
    do {                                                                            \
        char *msg_ = charter_last_error_message();                                  \
        if (msg_ == NULL || strstr(msg_, (needle)) == NULL) {                       \
            fprintf(stderr, "%s:%d: last error \"%s\" lacks \"%s\"\n", __FILE__,    \
                    __LINE__, msg_ ? msg_ : "(null)", (needle));                    \
            exit(1);                                                                \
        }                                                                           \
        charter_string_free(msg_);                                                  \
    } while (0)

#define RUN(test)                         \
    do {                                  \
        test();                           \
        printf("ok - %s\n", #test);       \
        fflush(stdout);                   \
    } while (0)

/* A test taking one argument, run with `arg`: "ok - test(arg)". */
#define RUN_WITH(test, arg)                   \
    do {                                      \
        test(arg);                            \
        printf("ok - %s(%s)\n", #test, #arg); \
        fflush(stdout);                       \
    } while (0)

#endif
