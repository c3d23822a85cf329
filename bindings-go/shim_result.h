/*
 * shim_result.h: how every shim*.c file turns a Charter status into a
 * chgo_* result; see shim.h for why the message is taken in the same cgo
 * call. Included by the shim*.c files and by the cgo preambles that define
 * wrappers of their own (bridge.go, bridge_verifier.go); it defines, so a
 * preamble next to //export (callback.go's) may not include it.
 */

#ifndef CHARTER_GO_SHIM_RESULT_H
#define CHARTER_GO_SHIM_RESULT_H

#include "shim.h"

/* The status reported when the shim could not allocate a copy (a header or
 * string array, a record). There is no Charter message for it: cError
 * accepts a NULL message. */
#define CHGO_OUT_OF_MEMORY CHARTER_E_LIMIT_EXCEEDED

/* The message of a failed call on this thread (caller-owned), or NULL after
 * a success. */
static inline char *chgo_message_of(charter_status_t status) {
    return status == CHARTER_OK ? NULL : charter_last_error_message();
}

/* The outcome of a call with no result. */
static inline chgo_status chgo_status_of(charter_status_t status) {
    chgo_status r = {status, chgo_message_of(status)};
    return r;
}

/* The outcome of a call with an integer result (an id, a count, a bool as
 * 0 or 1). */
static inline chgo_value chgo_value_of(charter_status_t status, uint64_t value) {
    chgo_value r = {status, chgo_message_of(status), value};
    return r;
}

/* Returns r as out of memory when unpacking count packed items (headers,
 * strings) from Go gave no array p. */
#define RETURN_IF_UNPACK_FAILED(r, p, count)                                                       \
    do {                                                                                           \
        if ((count) > 0 && (p) == NULL) {                                                          \
            (r).status = CHGO_OUT_OF_MEMORY;                                                       \
            return (r);                                                                            \
        }                                                                                          \
    } while (0)

/* Makes call, storing its status in r and, on failure, the message of the
 * thread's last error. */
#define RESULT(r, call)                                                                            \
    do {                                                                                           \
        (r).status = (call);                                                                       \
        (r).message = chgo_message_of((r).status);                                                 \
    } while (0)

/* The whole body of a wrapper whose call writes its outputs into a zeroed
 * result of type T: call may name that result `r` (`&r.value`). */
#define RETURN_RESULT(T, call)                                                                     \
    do {                                                                                           \
        T r = {0};                                                                                 \
        RESULT(r, call);                                                                           \
        return r;                                                                                  \
    } while (0)

#endif
