/* A thread blocked in a receive that waits forever: what the tests of
 * waking (by a close, a free, a session's end or a cancel) start. */
#ifndef CHARTER_TESTS_RECEIVER_H
#define CHARTER_TESTS_RECEIVER_H

#include <stdint.h>

#include "charter.h"
#include "timing.h"

typedef struct {
    charter_client_t *client;
    uint64_t id;
    /* NULL: charter_client_recv; otherwise charter_client_recv_cancellable
     * with this cancellation. */
    charter_cancel_t *cancel;
    /* What the receive returned, and when (now_us). */
    charter_status_t status;
    uint64_t woke_us;
} receiver_t;

/* A thread's body: receives once on `arg` (a receiver_t), waiting forever. */
static inline void *receive_forever(void *arg) {
    receiver_t *r = (receiver_t *)arg;
    charter_message_t *msg = NULL;
    if (r->cancel == NULL) {
        r->status = charter_client_recv(r->client, r->id, CHARTER_WAIT_FOREVER, &msg);
    } else {
        r->status = charter_client_recv_cancellable(r->client, r->id, CHARTER_WAIT_FOREVER, r->cancel, &msg);
    }
    r->woke_us = now_us();
    charter_message_free(msg);
    return NULL;
}

#endif
