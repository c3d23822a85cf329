/* The C scale harness for waiting without a thread: N subscriptions, each
 * with a watch fd, in one epoll set, for N = 100, 1,000 and 10,000 (or the
 * counts given as arguments). For each N it prints:
 *
 *   threads   OS threads above the process's baseline, all N waiting
 *   rss       resident memory above the baseline, MiB
 *   idle      CPU of the whole process over IDLE_SECONDS with all waiting,
 *             as a percentage of one core (getrusage)
 *   wake      latency for one message, p50 and p99, in microseconds: a
 *             publisher thread publishes to a random subscription; the
 *             clock stops when the event loop has received it (epoll wake,
 *             reset, charter_client_recv)
 *   burst     one message to each of the N subscriptions: time from the
 *             first publish until the loop has received all of them, ms
 *   cancel    a thread blocked in charter_client_recv_cancellable, cancelled
 *             from the main thread: time until it has returned, p50/p99 us
 *   loss      published minus received, over everything above (the bus's
 *             own count of deliveries must agree)
 *
 * The targets (docs/BENCHMARKS.md): at most 16 threads, idle CPU below 1%,
 * wake p50 <= 100 us and p99 <= 1 ms, burst <= 200 ms, cancel <= 1 ms, no
 * loss. The soft RLIMIT_NOFILE is raised to the hard limit (10,000 watch
 * fds need more than the usual 1,024).
 *
 * Build and run: benches/c/readiness_scale.sh (make bench runs it). A
 * failed call stops it through the C tests' CHECK_OK (tests-c/check.h). */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "charter.h"
#include "check.h"

#define WAKE_SAMPLES 2000
#define CANCEL_SAMPLES 200
#define IDLE_SECONDS 3

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int thread_count(void) {
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int n = 0;
    if (d == NULL) return -1;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.') n++;
    }
    closedir(d);
    return n;
}

static double rss_mib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    if (f == NULL) return -1;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1) break;
    }
    fclose(f);
    return (double)kb / 1024.0;
}

static double cpu_seconds(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_utime.tv_sec + (double)u.ru_utime.tv_usec / 1e6 + (double)u.ru_stime.tv_sec +
           (double)u.ru_stime.tv_usec / 1e6;
}

static int compare_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t percentile(uint64_t *v, size_t n, double p) {
    size_t at = (size_t)(p * (double)(n - 1) + 0.5);
    qsort(v, n, sizeof *v, compare_u64);
    return v[at];
}

typedef struct {
    uint64_t id;
    charter_watch_t *watch;
    int fd;
} sub_t;

typedef struct {
    charter_client_t *client;
    sub_t *subs;
    size_t count;
    int ep;
    uint64_t published, received;
    /* The publisher waits for the loop before the next wake sample. */
    sem_t go, done;
    int phase; /* 0 wake samples, 1 burst */
    uint64_t burst_started;
} bench_t;

static void publish_to(bench_t *b, size_t i, uint64_t stamp) {
    char topic[32];
    snprintf(topic, sizeof topic, "scale.%zu", i);
    CHECK_OK(charter_client_publish(b->client, topic, (const uint8_t *)&stamp, sizeof stamp, NULL, 0, NULL));
    __atomic_add_fetch(&b->published, 1, __ATOMIC_RELAXED);
}

static void *publisher(void *arg) {
    bench_t *b = (bench_t *)arg;
    unsigned seed = 12345;
    size_t k, i;

    /* Each sample starts once the loop is asleep in epoll_wait, so it
     * measures a wake-up and not a loop that happened to be running. */
    struct timespec asleep = {0, 300000};
    for (k = 0; k < WAKE_SAMPLES; k++) {
        sem_wait(&b->go);
        nanosleep(&asleep, NULL);
        seed = seed * 1103515245u + 12345u;
        publish_to(b, (seed >> 8) % b->count, now_ns());
    }
    sem_wait(&b->go);
    b->burst_started = now_ns();
    for (i = 0; i < b->count; i++) publish_to(b, i, 0);
    return NULL;
}

/* Resets the fd of `s` and receives everything queued; returns the last
 * message's stamp (0 when none) and counts what it received. */
static uint64_t drain(bench_t *b, sub_t *s, size_t *got) {
    uint64_t count, stamp = 0;
    while (read(s->fd, &count, sizeof count) > 0) {
    }
    for (;;) {
        charter_message_t *msg = NULL;
        charter_status_t st = charter_client_recv(b->client, s->id, 0, &msg);
        if (st == CHARTER_E_WOULD_BLOCK) return stamp;
        CHECK_OK(st);
        memcpy(&stamp, msg->payload, sizeof stamp);
        charter_message_free(msg);
        (*got)++;
        b->received++;
    }
}

/* Waits in epoll until `want` messages have been received. */
static void loop_until(bench_t *b, size_t want, uint64_t *last_stamp) {
    struct epoll_event events[256];
    size_t got = 0;
    while (got < want) {
        int n = epoll_wait(b->ep, events, 256, -1), k;
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) exit(1);
        for (k = 0; k < n; k++) {
            uint64_t stamp = drain(b, (sub_t *)events[k].data.ptr, &got);
            if (stamp != 0 && last_stamp != NULL) *last_stamp = stamp;
        }
    }
}

typedef struct {
    charter_client_t *client;
    charter_cancel_t *cancel;
    uint64_t id, returned_ns;
    charter_status_t status;
    sem_t started;
} canceller_t;

static void *wait_cancellable(void *arg) {
    canceller_t *c = (canceller_t *)arg;
    charter_message_t *msg = NULL;
    sem_post(&c->started);
    c->status = charter_client_recv_cancellable(c->client, c->id, CHARTER_WAIT_FOREVER, c->cancel, &msg);
    c->returned_ns = now_ns();
    charter_message_free(msg);
    return NULL;
}

static void run(size_t count) {
    bench_t b;
    charter_bus_t *bus = NULL;
    charter_bus_limits_t limits;
    charter_bus_stats_t stats;
    uint64_t wake[WAKE_SAMPLES], cancel[CANCEL_SAMPLES];
    int threads_before = thread_count(), threads_waiting;
    double rss_before = rss_mib(), rss_waiting, cpu0, cpu1, idle;
    uint64_t t0, t1, burst_ns;
    struct epoll_event none;
    pthread_t thread;
    size_t i, k;

    memset(&b, 0, sizeof b);
    b.count = count;
    b.subs = (sub_t *)calloc(count, sizeof *b.subs);
    b.ep = epoll_create1(EPOLL_CLOEXEC);
    if (b.subs == NULL || b.ep < 0) exit(1);
    CHECK_OK(charter_bus_limits_default(&limits));
    CHECK_OK(charter_bus_new(&limits, &bus));
    CHECK_OK(charter_client_new(bus, NULL, &b.client));
    for (i = 0; i < count; i++) {
        char topic[32];
        struct epoll_event ev;
        snprintf(topic, sizeof topic, "scale.%zu", i);
        CHECK_OK(charter_client_subscribe(b.client, topic, NULL, &b.subs[i].id));
        CHECK_OK(charter_client_watch_fd(b.client, b.subs[i].id, &b.subs[i].watch, &b.subs[i].fd, NULL));
        ev.events = EPOLLIN;
        ev.data.ptr = &b.subs[i];
        if (epoll_ctl(b.ep, EPOLL_CTL_ADD, b.subs[i].fd, &ev) != 0) {
            perror("epoll_ctl");
            exit(1);
        }
    }

    /* Idle: everything waiting, nothing published. */
    threads_waiting = thread_count() - threads_before;
    rss_waiting = rss_mib() - rss_before;
    cpu0 = cpu_seconds();
    t0 = now_ns();
    while (now_ns() - t0 < (uint64_t)IDLE_SECONDS * 1000000000u) {
        int n = epoll_wait(b.ep, &none, 1, IDLE_SECONDS * 1000);
        if (n > 0) {
            fprintf(stderr, "an idle fd was readable\n");
            exit(1);
        }
    }
    cpu1 = cpu_seconds();
    idle = 100.0 * (cpu1 - cpu0) / ((double)(now_ns() - t0) / 1e9);

    /* One message at a time, then the burst. */
    sem_init(&b.go, 0, 0);
    sem_init(&b.done, 0, 0);
    if (pthread_create(&thread, NULL, publisher, &b) != 0) exit(1);
    for (k = 0; k < WAKE_SAMPLES; k++) {
        uint64_t stamp = 0;
        sem_post(&b.go);
        loop_until(&b, 1, &stamp);
        wake[k] = now_ns() - stamp;
    }
    sem_post(&b.go);
    loop_until(&b, count, NULL);
    burst_ns = now_ns() - b.burst_started;
    pthread_join(thread, NULL);

    /* Cancellation of a blocked receive, with everything else waiting. */
    for (k = 0; k < CANCEL_SAMPLES; k++) {
        canceller_t c;
        struct timespec pause = {0, 200000};
        memset(&c, 0, sizeof c);
        c.client = b.client;
        c.id = b.subs[k % count].id;
        sem_init(&c.started, 0, 0);
        CHECK_OK(charter_cancel_new(&c.cancel));
        if (pthread_create(&thread, NULL, wait_cancellable, &c) != 0) exit(1);
        sem_wait(&c.started);
        nanosleep(&pause, NULL); /* let it block */
        t1 = now_ns();
        CHECK_OK(charter_cancel_cancel(c.cancel));
        pthread_join(thread, NULL);
        if (c.status != CHARTER_E_CANCELLED) CHECK_OK(c.status);
        cancel[k] = c.returned_ns - t1;
        CHECK_OK(charter_cancel_free(c.cancel));
        sem_destroy(&c.started);
    }

    CHECK_OK(charter_bus_stats(bus, &stats));
    printf("| %zu | %d | %.1f | %.2f%% | %.0f / %.0f | %.1f | %.0f / %.0f | %llu |\n", count, threads_waiting,
           rss_waiting, idle, (double)percentile(wake, WAKE_SAMPLES, 0.50) / 1e3,
           (double)percentile(wake, WAKE_SAMPLES, 0.99) / 1e3, (double)burst_ns / 1e6,
           (double)percentile(cancel, CANCEL_SAMPLES, 0.50) / 1e3,
           (double)percentile(cancel, CANCEL_SAMPLES, 0.99) / 1e3,
           (unsigned long long)(b.published - b.received));
    if (stats.subscriptions.delivered != b.received || stats.subscriptions.queued != 0) {
        fprintf(stderr, "the bus counts %llu delivered, %llu queued; the loop received %llu\n",
                (unsigned long long)stats.subscriptions.delivered, (unsigned long long)stats.subscriptions.queued,
                (unsigned long long)b.received);
        exit(1);
    }
    fflush(stdout);

    for (i = 0; i < count; i++) {
        epoll_ctl(b.ep, EPOLL_CTL_DEL, b.subs[i].fd, NULL);
        CHECK_OK(charter_watch_free(b.subs[i].watch));
    }
    close(b.ep);
    free(b.subs);
    sem_destroy(&b.go);
    sem_destroy(&b.done);
    CHECK_OK(charter_client_free(b.client));
    CHECK_OK(charter_bus_free(bus));
}

int main(int argc, char **argv) {
    static const size_t defaults[3] = {100, 1000, 10000};
    struct rlimit files;
    int i;
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
        files.rlim_cur = files.rlim_max;
        setrlimit(RLIMIT_NOFILE, &files);
    }
    printf("| subscriptions | threads above baseline | RSS above baseline (MiB) | idle CPU | wake p50 / p99 (us) "
           "| burst (ms) | cancel p50 / p99 (us) | loss |\n");
    printf("|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    if (argc > 1) {
        for (i = 1; i < argc; i++) run(strtoul(argv[i], NULL, 10));
    } else {
        for (i = 0; i < 3; i++) run(defaults[i]);
    }
    return 0;
}
