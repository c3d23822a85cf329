/* Charter in a libuv loop: a service and its callers on one thread, with
 * no thread per wait.
 *
 * The service's subscription and each request's reply inbox get a watch
 * fd (charter_client_watch_fd) handed to uv_poll. When one is readable the
 * loop follows the protocol of docs/c-api.md ("Waiting without a thread"):
 * reset the fd, then drain with charter_client_recv(..., 0, ...) until
 * CHARTER_E_WOULD_BLOCK. The caller sends REQUESTS requests one after the
 * other ("start, then wait": charter_client_request_start, then the reply
 * inbox's fd); after the last reply it unsubscribes the service, whose fd
 * then reports the end, and the loop runs out of handles and returns.
 *
 * Usage: readiness_libuv [requests]   (default 100) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "charter.h"

typedef struct endpoint endpoint_t;
typedef void (*on_message_fn)(endpoint_t *e, charter_message_t *msg);

/* A subscription watched by the loop. */
struct endpoint {
    uv_poll_t poll; /* first: the uv handle's address is the endpoint's */
    uint64_t id;
    charter_watch_t *watch;
    on_message_fn on_message;
    int ended;
};

static charter_client_t *client;
static uv_loop_t loop;
static endpoint_t service;
static unsigned long requests, replies;

static void check(const char *what, charter_status_t status) {
    char *msg;
    if (status == CHARTER_OK) return;
    msg = charter_last_error_message();
    fprintf(stderr, "%s: %s (%s)\n", what, charter_status_name(status), msg ? msg : "");
    charter_string_free(msg);
    exit(1);
}

static void closed(uv_handle_t *handle) {
    endpoint_t *e = (endpoint_t *)handle;
    /* uv has let go of the fd: now the watch may close it. */
    check("free watch", charter_watch_free(e->watch));
    if (e != &service) free(e);
}

static void on_readable(uv_poll_t *handle, int status, int events) {
    endpoint_t *e = (endpoint_t *)handle;
    uint64_t count;
    int fd;
    (void)events;
    if (status < 0 || e->ended) return;
    if (uv_fileno((uv_handle_t *)handle, &fd) == 0) {
        while (read(fd, &count, sizeof count) > 0) {
        }
    }
    for (;;) {
        charter_message_t *msg = NULL;
        charter_status_t st = charter_client_recv(client, e->id, 0, &msg);
        if (st == CHARTER_E_WOULD_BLOCK) return;
        if (st != CHARTER_OK) {
            /* The subscription has ended: stop watching it. */
            e->ended = 1;
            uv_close((uv_handle_t *)&e->poll, closed);
            return;
        }
        e->on_message(e, msg);
        charter_message_free(msg);
        if (e->ended) return;
    }
}

static void watch(endpoint_t *e, uint64_t id, on_message_fn on_message) {
    int fd = -1;
    e->id = id;
    e->on_message = on_message;
    e->ended = 0;
    check("watch", charter_client_watch_fd(client, id, &e->watch, &fd, NULL));
    if (uv_poll_init(&loop, &e->poll, fd) != 0 || uv_poll_start(&e->poll, UV_READABLE, on_readable) != 0) {
        fprintf(stderr, "uv_poll failed\n");
        exit(1);
    }
}

static void on_request(endpoint_t *e, charter_message_t *msg) {
    (void)e;
    check("respond", charter_client_respond(client, msg, msg->payload, msg->payload_len, NULL, 0, NULL));
}

static void send_request(void);

static void on_reply(endpoint_t *e, charter_message_t *msg) {
    unsigned long n;
    if (msg->payload_len != sizeof n) exit(1);
    memcpy(&n, msg->payload, sizeof n);
    if (n != replies) {
        fprintf(stderr, "reply %lu came for request %lu\n", n, replies);
        exit(1);
    }
    replies++;
    /* One reply per inbox: end it and stop watching it. */
    check("unsubscribe inbox", charter_client_unsubscribe(client, e->id, NULL));
    e->ended = 1;
    uv_close((uv_handle_t *)&e->poll, closed);
    if (replies < requests) {
        send_request();
    } else {
        check("unsubscribe service", charter_client_unsubscribe(client, service.id, NULL));
    }
}

static void send_request(void) {
    endpoint_t *inbox = (endpoint_t *)calloc(1, sizeof *inbox);
    uint64_t reply_id;
    unsigned long n = replies;
    if (inbox == NULL) exit(1);
    check("request", charter_client_request_start(client, "svc.echo", (const uint8_t *)&n, sizeof n, NULL, 0,
                                                  &reply_id));
    watch(inbox, reply_id, on_reply);
}

int main(int argc, char **argv) {
    charter_bus_t *bus = NULL;
    uint64_t service_id;
    requests = argc > 1 ? strtoul(argv[1], NULL, 10) : 100;
    if (requests == 0 || uv_loop_init(&loop) != 0) return 1;
    check("bus", charter_bus_new(NULL, &bus));
    check("client", charter_client_new(bus, NULL, &client));
    check("subscribe", charter_client_subscribe(client, "svc.echo", NULL, &service_id));
    watch(&service, service_id, on_request);
    send_request();
    uv_run(&loop, UV_RUN_DEFAULT);
    if (replies != requests || !service.ended) {
        fprintf(stderr, "%lu of %lu replies\n", replies, requests);
        return 1;
    }
    printf("%lu requests answered in one libuv loop, with no thread per wait\n", replies);
    check("loop close", uv_loop_close(&loop) == 0 ? CHARTER_OK : CHARTER_E_INTERNAL);
    check("free client", charter_client_free(client));
    check("free bus", charter_bus_free(bus));
    return 0;
}
