/* A subscription waited on like a socket: charter_client_watch_fd (an
 * eventfd in an epoll set) and charter_client_watch (a callback), with the
 * drain protocol, the end, replacement, sessions and misuse. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "readiness_helpers.h"
#include "session_fixture.h"

/* Whether `fd` is readable right now. */
static int readable(int fd) {
    struct pollfd p;
    p.fd = fd;
    p.events = POLLIN;
    p.revents = 0;
    CHECK(poll(&p, 1, 0) >= 0);
    return (p.revents & POLLIN) != 0;
}

/* Step one of the protocol: read the fd until EAGAIN. */
static void reset(int fd) {
    uint64_t count;
    while (read(fd, &count, sizeof count) > 0) {
    }
    CHECK(errno == EAGAIN || errno == EWOULDBLOCK);
}

/* Step two: receive until WOULD_BLOCK; returns how many, or -status when
 * the subscription has ended. */
static long drain(charter_client_t *cl, uint64_t id) {
    long n = 0;
    for (;;) {
        charter_message_t *msg = NULL;
        charter_status_t st = charter_client_recv(cl, id, 0, &msg);
        if (st == CHARTER_E_WOULD_BLOCK) return n;
        if (st != CHARTER_OK) return -(long)(-st);
        charter_message_free(msg);
        n++;
    }
}

static void the_fd_follows_the_queue(void) {
    charter_bus_t *bus = NULL;
    charter_client_t *cl;
    charter_watch_t *watch = NULL;
    uint64_t id, recheck = 0;
    int fd = -1, flags;
    cl = subscribed_client(&bus, "a", &id);
    CHECK_OK(charter_client_watch_fd(cl, id, &watch, &fd, &recheck));
    CHECK(fd >= 0 && recheck == UINT64_MAX);
    flags = fcntl(fd, F_GETFL);
    CHECK(flags >= 0 && (flags & O_NONBLOCK) != 0);
    CHECK((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
    CHECK(!readable(fd));
    publish(cl, "a", "1");
    CHECK(readable(fd));
    publish(cl, "a", "2");
    reset(fd);
    CHECK(!readable(fd));
    CHECK(drain(cl, id) == 2);
    CHECK(!readable(fd));
    publish(cl, "a", "3");
    CHECK(readable(fd)); /* a new edge after the drain */
    reset(fd);
    CHECK(drain(cl, id) == 1);
    CHECK_OK(charter_watch_free(watch));
    CHECK_STATUS(charter_watch_free(watch), CHARTER_E_ALREADY_FREED);
    close_bus(cl, bus);
}

static void a_readable_queue_makes_a_new_fd_readable(void) {
    charter_bus_t *bus = NULL;
    charter_client_t *cl;
    charter_watch_t *watch = NULL;
    uint64_t id;
    int fd = -1;
    cl = subscribed_client(&bus, "a", &id);
    publish(cl, "a", "early");
    CHECK_OK(charter_client_watch_fd(cl, id, &watch, &fd, NULL));
    CHECK(readable(fd));
    reset(fd);
    CHECK(drain(cl, id) == 1);
    CHECK_OK(charter_watch_free(watch));
    close_bus(cl, bus);
}

/* The fd becomes readable, stays open, and the drain reports the end. */
static void the_end_makes_the_fd_readable(ending_t how) {
    charter_bus_t *bus = NULL;
    charter_client_t *cl;
    charter_watch_t *watch = NULL;
    uint64_t id;
    int fd = -1;
    const charter_status_t after[3] = {CHARTER_E_NOT_FOUND, CHARTER_E_CLOSED, CHARTER_E_CLOSED};
    cl = subscribed_client(&bus, "a", &id);
    CHECK_OK(charter_client_watch_fd(cl, id, &watch, &fd, NULL));
    publish(cl, "a", "queued");
    reset(fd);
    end_subscription(how, cl, bus, id);
    CHECK(readable(fd));
    CHECK(fcntl(fd, F_GETFD) >= 0); /* still open: the watch owns it */
    reset(fd);
    CHECK(drain(cl, id) == -(long)(-after[how]));
    CHECK_OK(charter_watch_free(watch));
    CHECK(fcntl(fd, F_GETFD) < 0 && errno == EBADF); /* closed by the free */
    close_after(how, cl, bus);
}

/* A reply inbox is a subscription: its fd says when the reply is in. */
static void an_fd_waits_for_a_reply(void) {
    charter_bus_t *bus = NULL;
    charter_client_t *cl;
    charter_watch_t *watch = NULL;
    charter_message_t *request = NULL, *reply = NULL;
    uint64_t service, reply_id;
    int fd = -1;
    cl = subscribed_client(&bus, "svc", &service);
    CHECK_OK(charter_client_request_start(cl, "svc", (const uint8_t *)"?", 1, NULL, 0, &reply_id));
    CHECK_OK(charter_client_watch_fd(cl, reply_id, &watch, &fd, NULL));
    CHECK(!readable(fd));
    CHECK_OK(charter_client_recv(cl, service, 0, &request));
    CHECK_OK(charter_client_respond(cl, request, (const uint8_t *)"!", 1, NULL, 0, NULL));
    charter_message_free(request);
    CHECK(readable(fd));
    reset(fd);
    CHECK_OK(charter_client_recv(cl, reply_id, 0, &reply));
    CHECK(reply->payload_len == 1 && reply->payload[0] == '!');
    charter_message_free(reply);
    CHECK_OK(charter_watch_free(watch));
    CHECK_OK(charter_client_unsubscribe(cl, reply_id, NULL));
    close_bus(cl, bus);
}

/* A subscription has one watch: a second replaces the first, whose fd
 * stays silent, and freeing the first leaves the second in place. */
static void a_new_watch_replaces_the_old(void) {
    charter_bus_t *bus = NULL;
    charter_client_t *cl;
    charter_watch_t *first = NULL, *second = NULL;
    uint64_t id;
    int fd1 = -1, fd2 = -1;
    cl = subscribed_client(&bus, "a", &id);
    CHECK_OK(charter_client_watch_fd(cl, id, &first, &fd1, NULL));
    CHECK_OK(charter_client_watch_fd(cl, id, &second, &fd2, NULL));
    CHECK(fd1 != fd2);
    CHECK_OK(charter_watch_free(first));
    publish(cl, "a", "1");
    CHECK(readable(fd2));
    reset(fd2);
    CHECK(drain(cl, id) == 1);
    CHECK_OK(charter_watch_free(second));
    close_bus(cl, bus);
}

/* The consumer waits in epoll only, against a producer thread. */
static void no_wake_up_is_lost_through_epoll(void) {
    charter_bus_t *bus = NULL;
    charter_watch_t *watch = NULL;
    charter_subscribe_options_t opts;
    charter_subscription_stats_t stats;
    struct epoll_event ev, got;
    producer_t p;
    pthread_t t;
    uint64_t id, next = 0, wakes = 0;
    int fd = -1, ep;
    p.client = open_bus(&bus);
    p.count = measuring() ? 1000000u : 20000u;
    CHECK_OK(charter_subscribe_options_default(&opts));
    opts.capacity = 64;
    opts.overflow = CHARTER_OVERFLOW_BLOCK;
    opts.block_timeout_ms = CHARTER_WAIT_FOREVER;
    CHECK_OK(charter_client_subscribe(p.client, "race", &opts, &id));
    CHECK_OK(charter_client_watch_fd(p.client, id, &watch, &fd, NULL));
    ep = epoll_create1(EPOLL_CLOEXEC);
    CHECK(ep >= 0);
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN | EPOLLET; /* edge-triggered: the strictest reader */
    ev.data.u64 = id;
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0);
    CHECK(pthread_create(&t, NULL, produce, &p) == 0);
    while (next < p.count) {
        int n = epoll_wait(ep, &got, 1, -1);
        if (n < 0 && errno == EINTR) continue;
        CHECK(n == 1 && got.data.u64 == id);
        wakes++;
        reset(fd);
        for (;;) {
            charter_message_t *msg = NULL;
            charter_status_t st = charter_client_recv(p.client, id, 0, &msg);
            if (st == CHARTER_E_WOULD_BLOCK) break;
            CHECK_OK(st);
            CHECK(msg->payload_len == sizeof next && memcmp(msg->payload, &next, sizeof next) == 0);
            charter_message_free(msg);
            next++;
        }
    }
    CHECK(pthread_join(t, NULL) == 0);
    CHECK_OK(charter_client_subscription_stats(p.client, id, &stats));
    CHECK(stats.delivered == p.count && stats.queued == 0);
    printf("# %llu messages in %llu epoll wakes\n", (unsigned long long)p.count, (unsigned long long)wakes);
    CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL) == 0);
    CHECK(close(ep) == 0);
    CHECK_OK(charter_watch_free(watch));
    close_bus(p.client, bus);
}

/* --- the callback form ------------------------------------------------ */

typedef struct {
    pthread_mutex_t lock;
    unsigned calls;
    /* Set once the watch is freed; a call after that counts in `late`. */
    int freed;
    unsigned late;
} calls_t;

static void calls_init(calls_t *c) {
    CHECK(pthread_mutex_init(&c->lock, NULL) == 0);
    c->calls = 0;
    c->freed = 0;
    c->late = 0;
}

static void count_call(void *user_data) {
    calls_t *c = (calls_t *)user_data;
    pthread_mutex_lock(&c->lock);
    if (c->freed) {
        c->late++;
    } else {
        c->calls++;
    }
    pthread_mutex_unlock(&c->lock);
}

static unsigned calls_of(calls_t *c) {
    unsigned n;
    pthread_mutex_lock(&c->lock);
    n = c->calls;
    pthread_mutex_unlock(&c->lock);
    return n;
}

static void a_callback_watch_fires_on_edges_and_the_end(void) {
    charter_bus_t *bus = NULL;
    charter_client_t *cl;
    charter_watch_t *watch = NULL;
    calls_t c;
    uint64_t id;
    calls_init(&c);
    cl = subscribed_client(&bus, "a", &id);
    publish(cl, "a", "early");
    CHECK_OK(charter_client_watch(cl, id, count_call, &c, &watch, NULL));
    CHECK(calls_of(&c) == 1); /* readable already: called before it returned */
    publish(cl, "a", "more");
    CHECK(calls_of(&c) == 1); /* not an edge */
    CHECK(drain(cl, id) == 2);
    publish(cl, "a", "next");
    CHECK(calls_of(&c) == 2);
    CHECK(drain(cl, id) == 1);
    CHECK_OK(charter_client_unsubscribe(cl, id, NULL));
    CHECK(calls_of(&c) == 3); /* the end */
    CHECK_OK(charter_watch_free(watch));
    close_bus(cl, bus);
    pthread_mutex_destroy(&c.lock);
}

/* Watches made and freed while another thread publishes: once
 * charter_watch_free returns, the callback is never called (its state says
 * it was freed, and a call after that counts as late), and an fd watch's
 * descriptor is closed. The states are made before the publisher thread
 * starts, so ThreadSanitizer sees them published to it. */
static void watches_freed_while_another_thread_publishes(void) {
    charter_bus_t *bus = NULL;
    charter_subscribe_options_t opts;
    publisher_t p;
    pthread_t t;
    uint64_t id;
    int round, rounds = measuring() ? 20000 : 500;
    calls_t *all;
    p.client = open_bus(&bus);
    p.stop = 0;
    CHECK(pthread_mutex_init(&p.lock, NULL) == 0);
    CHECK_OK(charter_subscribe_options_default(&opts));
    opts.capacity = 4;
    CHECK_OK(charter_client_subscribe(p.client, "hot", &opts, &id));
    all = (calls_t *)calloc((size_t)rounds, sizeof *all);
    CHECK(all != NULL);
    for (round = 0; round < rounds; round++) calls_init(&all[round]);
    CHECK(pthread_create(&t, NULL, publish_until_stopped, &p) == 0);
    for (round = 0; round < rounds; round++) {
        calls_t *c = &all[round];
        charter_watch_t *watch = NULL;
        int fd = -1;
        if (round % 2 == 0) {
            CHECK_OK(charter_client_watch(p.client, id, count_call, c, &watch, NULL));
        } else {
            CHECK_OK(charter_client_watch_fd(p.client, id, &watch, &fd, NULL));
        }
        drain(p.client, id);
        CHECK_OK(charter_watch_free(watch));
        if (fd >= 0) CHECK(fcntl(fd, F_GETFD) < 0 && errno == EBADF);
        pthread_mutex_lock(&c->lock);
        c->freed = 1;
        pthread_mutex_unlock(&c->lock);
    }
    pthread_mutex_lock(&p.lock);
    p.stop = 1;
    pthread_mutex_unlock(&p.lock);
    CHECK(pthread_join(t, NULL) == 0);
    for (round = 0; round < rounds; round++) {
        CHECK(all[round].late == 0);
        pthread_mutex_destroy(&all[round].lock);
    }
    free(all);
    pthread_mutex_destroy(&p.lock);
    close_bus(p.client, bus);
}

/* --- sessions ---------------------------------------------------------- */

#define T0 1700000000u

static void revoking_the_session_makes_the_fd_readable(void) {
    holder_world_t w = holder_world(T0, T0 + 600);
    charter_bus_t *bus = NULL;
    charter_client_t *cl = NULL;
    charter_watch_t *watch = NULL;
    uint64_t id, recheck = 0;
    int fd = -1;
    CHECK_OK(charter_bus_new_with_authority(NULL, w.auth, &bus));
    CHECK_OK(charter_client_new(bus, w.session, &cl));
    CHECK_OK(charter_client_subscribe(cl, "jobs.>", NULL, &id));
    CHECK_OK(charter_client_watch_fd(cl, id, &watch, &fd, &recheck));
    CHECK(recheck == (600u + 60u) * 1000u); /* the window's end plus the clock skew */
    CHECK(!readable(fd));
    CHECK_OK(charter_authority_revoke(w.auth, w.link, NULL));
    CHECK(readable(fd));
    reset(fd);
    CHECK(drain(cl, id) == -(long)(-CHARTER_E_REVOKED));
    CHECK_OK(charter_watch_free(watch));
    close_bus(cl, bus);
    end_holder_world(&w);
}

/* Out of descriptors, a new watch fd is refused as a limit, with the limit
 * named, and the watches made before still work. */
static void running_out_of_fds_is_a_limit(void) {
    charter_bus_t *bus = NULL;
    charter_client_t *cl;
    charter_watch_t *watches[64];
    struct rlimit saved, low;
    charter_status_t st = CHARTER_OK;
    uint64_t id;
    int fd = -1, made = 0, probe, i;
    cl = subscribed_client(&bus, "a", &id);
    CHECK(getrlimit(RLIMIT_NOFILE, &saved) == 0);
    probe = dup(2);
    CHECK(probe >= 0 && close(probe) == 0);
    low = saved;
    low.rlim_cur = (rlim_t)probe + 8; /* room for a few more than the lowest free fd */
    CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0);
    while (made < 64) {
        st = charter_client_watch_fd(cl, id, &watches[made], &fd, NULL);
        if (st != CHARTER_OK) break;
        made++;
    }
    CHECK(st == CHARTER_E_LIMIT_EXCEEDED);
    CHECK_MESSAGE_HAS("RLIMIT_NOFILE");
    CHECK(made > 0 && made <= 8);
    CHECK(setrlimit(RLIMIT_NOFILE, &saved) == 0);
    publish(cl, "a", "1"); /* the last watch made is the subscription's */
    CHECK(readable(fd));
    for (i = 0; i < made; i++) CHECK_OK(charter_watch_free(watches[i]));
    close_bus(cl, bus);
}

/* --- misuse ------------------------------------------------------------- */
static void misuse_is_reported(void) {
    charter_bus_t *bus = NULL;
    charter_client_t *cl;
    charter_watch_t *watch = (charter_watch_t *)(uintptr_t)0x99;
    calls_t c;
    uint64_t id, callback_id;
    int fd = -7;
    calls_init(&c);
    cl = subscribed_client(&bus, "a", &id);
    CHECK_OK(charter_client_subscribe_callback(cl, "b", NULL, ignore_message, NULL, NULL, &callback_id));
    CHECK_STATUS(charter_client_watch_fd(cl, id, NULL, &fd, NULL), CHARTER_E_NULL_ARGUMENT);
    CHECK_STATUS(charter_client_watch_fd(cl, id, &watch, NULL, NULL), CHARTER_E_NULL_ARGUMENT);
    CHECK_MESSAGE_HAS("fd_out");
    CHECK_STATUS(charter_client_watch_fd(NULL, id, &watch, &fd, NULL), CHARTER_E_NULL_ARGUMENT);
    CHECK_STATUS(charter_client_watch_fd((charter_client_t *)(void *)bus, id, &watch, &fd, NULL),
                 CHARTER_E_WRONG_HANDLE_TYPE);
    CHECK_STATUS(charter_client_watch_fd(cl, id + 1, &watch, &fd, NULL), CHARTER_E_NOT_FOUND);
    CHECK_STATUS(charter_client_watch_fd(cl, callback_id, &watch, &fd, NULL), CHARTER_E_INVALID_ARGUMENT);
    CHECK_STATUS(charter_client_watch(cl, id, NULL, &c, &watch, NULL), CHARTER_E_NULL_ARGUMENT);
    CHECK_STATUS(charter_client_watch(cl, id, count_call, &c, NULL, NULL), CHARTER_E_NULL_ARGUMENT);
    CHECK_STATUS(charter_client_watch(cl, callback_id, count_call, &c, &watch, NULL),
                 CHARTER_E_INVALID_ARGUMENT);
    CHECK(watch == (charter_watch_t *)(uintptr_t)0x99 && fd == -7); /* untouched on failure */
    CHECK_STATUS(charter_watch_free((charter_watch_t *)(void *)bus), CHARTER_E_WRONG_HANDLE_TYPE);
    CHECK_STATUS(charter_watch_free((charter_watch_t *)(void *)&fd), CHARTER_E_INVALID_HANDLE);
    CHECK_OK(charter_watch_free(NULL));
    CHECK(calls_of(&c) == 0);
    close_bus(cl, bus);
    pthread_mutex_destroy(&c.lock);
}

/* A watch callback that drains, then frees its own watch and installs a
 * replacement (an fd watch) from inside the call: the replacement follows
 * the queue, and the freed callback is never called again. */
typedef struct {
    charter_client_t *client;
    uint64_t id;
    charter_watch_t *watch, *replacement;
    int fd;
    unsigned calls;
    long drained;
    charter_status_t freed, installed;
} replace_t;

static void replace_myself(void *user_data) {
    replace_t *r = (replace_t *)user_data;
    r->calls++;
    r->drained += drain(r->client, r->id);
    if (r->replacement == NULL) {
        r->freed = charter_watch_free(r->watch);
        r->installed = charter_client_watch_fd(r->client, r->id, &r->replacement, &r->fd, NULL);
    }
}

static void a_callback_may_replace_its_own_watch(void) {
    charter_bus_t *bus;
    replace_t r;
    memset(&r, 0, sizeof r);
    r.client = subscribed_client(&bus, "a", &r.id);
    CHECK_OK(charter_client_watch(r.client, r.id, replace_myself, &r, &r.watch, NULL));
    publish(r.client, "a", "1");
    CHECK(r.calls == 1 && r.drained == 1);
    CHECK_OK(r.freed);
    CHECK_OK(r.installed);
    CHECK(!readable(r.fd));
    publish(r.client, "a", "2");
    CHECK(readable(r.fd));
    reset(r.fd);
    CHECK(drain(r.client, r.id) == 1);
    CHECK(r.calls == 1);
    CHECK_OK(charter_bus_close(bus));
    CHECK(readable(r.fd));
    CHECK(r.calls == 1);
    CHECK_OK(charter_watch_free(r.replacement));
    close_bus(r.client, bus);
}

int main(void) {
    RUN(the_fd_follows_the_queue);
    RUN(a_readable_queue_makes_a_new_fd_readable);
    RUN_WITH(the_end_makes_the_fd_readable, UNSUBSCRIBE);
    RUN_WITH(the_end_makes_the_fd_readable, CLOSE_THE_BUS);
    RUN_WITH(the_end_makes_the_fd_readable, FREE_THE_BUS);
    RUN(an_fd_waits_for_a_reply);
    RUN(a_new_watch_replaces_the_old);
    RUN(no_wake_up_is_lost_through_epoll);
    RUN(a_callback_watch_fires_on_edges_and_the_end);
    RUN(a_callback_may_replace_its_own_watch);
    RUN(watches_freed_while_another_thread_publishes);
    RUN(revoking_the_session_makes_the_fd_readable);
    RUN(running_out_of_fds_is_a_limit);
    RUN(misuse_is_reported);
    return 0;
}
