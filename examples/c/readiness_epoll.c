/* Many subscriptions in one epoll set, with no thread per subscription.
 *
 * Each subscription gets a watch fd (charter_client_watch_fd) in one epoll
 * set. A publisher thread sends ROUNDS messages to each; the event loop
 * waits in epoll_wait only, and for every readable fd follows the
 * protocol of docs/c-api.md ("Waiting without a thread"): reset the fd,
 * then drain with charter_client_recv(..., 0, ...) until
 * CHARTER_E_WOULD_BLOCK. At the end every subscription is unsubscribed:
 * its fd becomes readable once more, the drain reports the end, and the
 * loop removes the fd and frees the watch.
 *
 * Usage: readiness_epoll [subscriptions] [rounds]   (default 200 20) */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "charter.h"

typedef struct {
    uint64_t id;
    charter_watch_t *watch;
    int fd;
    uint64_t received;
} sub_t;

typedef struct {
    charter_client_t *client;
    size_t count, rounds;
} producer_t;

static void fail(const char *what, charter_status_t status) {
    char *msg = charter_last_error_message();
    fprintf(stderr, "%s: %s (%s)\n", what, charter_status_name(status), msg ? msg : "");
    charter_string_free(msg);
    exit(1);
}

#define TRY(what, expr)                               \
    do {                                              \
        charter_status_t st_ = (expr);                \
        if (st_ != CHARTER_OK) fail((what), st_);     \
    } while (0)

static void *produce(void *arg) {
    producer_t *p = (producer_t *)arg;
    char topic[32];
    size_t round, i;
    for (round = 0; round < p->rounds; round++) {
        for (i = 0; i < p->count; i++) {
            snprintf(topic, sizeof topic, "sensors.%zu", i);
            TRY("publish", charter_client_publish(p->client, topic, (const uint8_t *)&round, sizeof round,
                                                  NULL, 0, NULL));
        }
    }
    return NULL;
}

/* Resets the fd, then receives until the queue is empty. Returns 0, or
 * the status that says the subscription has ended. */
static charter_status_t drain(charter_client_t *client, sub_t *s) {
    uint64_t count;
    while (read(s->fd, &count, sizeof count) > 0) {
    }
    for (;;) {
        charter_message_t *msg = NULL;
        charter_status_t st = charter_client_recv(client, s->id, 0, &msg);
        if (st == CHARTER_E_WOULD_BLOCK) return CHARTER_OK;
        if (st != CHARTER_OK) return st;
        s->received++;
        charter_message_free(msg);
    }
}

int main(int argc, char **argv) {
    size_t count = argc > 1 ? strtoul(argv[1], NULL, 10) : 200;
    size_t rounds = argc > 2 ? strtoul(argv[2], NULL, 10) : 20;
    size_t i, live, total = 0;
    charter_bus_t *bus = NULL;
    producer_t producer;
    pthread_t thread;
    sub_t *subs = (sub_t *)calloc(count, sizeof *subs);
    struct epoll_event events[64];
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (subs == NULL || ep < 0 || count == 0) return 1;

    TRY("bus", charter_bus_new(NULL, &bus));
    TRY("client", charter_client_new(bus, NULL, &producer.client));
    for (i = 0; i < count; i++) {
        char topic[32];
        struct epoll_event ev;
        snprintf(topic, sizeof topic, "sensors.%zu", i);
        TRY("subscribe", charter_client_subscribe(producer.client, topic, NULL, &subs[i].id));
        TRY("watch", charter_client_watch_fd(producer.client, subs[i].id, &subs[i].watch, &subs[i].fd, NULL));
        ev.events = EPOLLIN;
        ev.data.ptr = &subs[i];
        if (epoll_ctl(ep, EPOLL_CTL_ADD, subs[i].fd, &ev) != 0) return 1;
    }

    producer.count = count;
    producer.rounds = rounds;
    if (pthread_create(&thread, NULL, produce, &producer) != 0) return 1;
    while (total < count * rounds) {
        int n = epoll_wait(ep, events, 64, -1), k;
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return 1;
        for (k = 0; k < n; k++) {
            sub_t *s = (sub_t *)events[k].data.ptr;
            uint64_t before = s->received;
            TRY("drain", drain(producer.client, s));
            total += (size_t)(s->received - before);
        }
    }
    pthread_join(thread, NULL);

    /* The end: every fd becomes readable, and the drain says why. */
    for (i = 0; i < count; i++) TRY("unsubscribe", charter_client_unsubscribe(producer.client, subs[i].id, NULL));
    live = count;
    while (live > 0) {
        int n = epoll_wait(ep, events, 64, -1), k;
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return 1;
        for (k = 0; k < n; k++) {
            sub_t *s = (sub_t *)events[k].data.ptr;
            charter_status_t why = drain(producer.client, s);
            if (why == CHARTER_OK) continue;
            if (why != CHARTER_E_NOT_FOUND) fail("end", why);
            epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL);
            TRY("free watch", charter_watch_free(s->watch));
            live--;
        }
    }
    for (i = 0; i < count; i++) {
        if (subs[i].received != rounds) {
            fprintf(stderr, "subscription %zu received %llu of %zu\n", i, (unsigned long long)subs[i].received,
                    rounds);
            return 1;
        }
    }
    printf("%zu subscriptions in one epoll set received %zu messages, each exactly %zu\n", count, total, rounds);
    close(ep);
    free(subs);
    TRY("free client", charter_client_free(producer.client));
    TRY("free bus", charter_bus_free(bus));
    return 0;
}
