/* fork(): objects that own a background thread (a thread-dispatched
 * subscription, an audit log with an interval fsync) can be used, closed
 * and freed in a forked child without a panic or a word on stderr. In the
 * child, where those threads do not exist, a publish to such a
 * subscription and an append to such a log fail with CHARTER_E_CLOSED;
 * ending them succeeds. The parent's objects keep working. A waiter or
 * watch whose callback was running on another thread at the fork is freed
 * in the child without waiting for that call, which never returns there. */
#include <pthread.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bus_fixture.h"
#include "check.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int handled;

static charter_status_t on_message(void *user_data, const charter_message_t *msg) {
    (void)user_data;
    (void)msg;
    pthread_mutex_lock(&lock);
    handled++;
    pthread_mutex_unlock(&lock);
    return CHARTER_OK;
}

static int handled_now(void) {
    int n;
    pthread_mutex_lock(&lock);
    n = handled;
    pthread_mutex_unlock(&lock);
    return n;
}

static charter_bus_t *bus;
static charter_client_t *client;
static charter_audit_t *log_;
static uint64_t threaded;
static char path[] = "/tmp/charter-fork-XXXXXX";

static int append(void) {
    charter_audit_record_t r;
    memset(&r, 0, sizeof r);
    r.time_ms = 1;
    r.action = "publish";
    r.resource = "t.x";
    r.decision = CHARTER_AUDIT_ALLOW;
    return charter_audit_append(log_, &r, NULL);
}

static void set_up(void) {
    charter_subscribe_options_t opts;
    charter_audit_options_t aopts;
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    client = open_bus(&bus);
    CHECK_OK(charter_subscribe_options_default(&opts));
    opts.dispatch = CHARTER_DISPATCH_THREAD;
    CHECK_OK(charter_client_subscribe_callback(client, "t.>", &opts, on_message, NULL, NULL, &threaded));
    CHECK_OK(charter_audit_options_default(&aopts));
    aopts.fsync = CHARTER_AUDIT_FSYNC_INTERVAL;
    aopts.fsync_interval_ms = 5;
    CHECK_OK(charter_audit_open(path, &aopts, &log_));
    CHECK_OK(charter_client_publish(client, "t.x", (const uint8_t *)"m", 1, NULL, 0, NULL));
    CHECK_OK(append());
}

/* Runs `child` in a forked child with stderr sent to a file: it must exit
 * with 0 and print nothing. The child ends with _exit: LeakSanitizer cannot
 * scan a child whose parent had threads (Python's test covers a child that
 * exits through its interpreter with everything open). */
static void in_child(const char *name, int (*child)(void)) {
    char out[] = "/tmp/charter-fork-err-XXXXXX";
    char buf[512];
    int fd = mkstemp(out), status = 0;
    ssize_t n;
    pid_t pid;
    CHECK(fd >= 0);
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        dup2(fd, STDERR_FILENO);
        _exit(child());
    }
    CHECK(waitpid(pid, &status, 0) == pid);
    n = pread(fd, buf, sizeof buf - 1, 0);
    close(fd);
    unlink(out);
    buf[n > 0 ? n : 0] = '\0';
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || n != 0) {
        fprintf(stderr, "%s: child %s %d, stderr: \"%s\"\n", name, WIFEXITED(status) ? "exited with" : "got signal",
                WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), buf);
        exit(1);
    }
}

/* Uses each object, then ends and frees it. */
static int use_then_close(void) {
    bool removed = false;
    if (charter_client_publish(client, "t.x", (const uint8_t *)"m", 1, NULL, 0, NULL) != CHARTER_E_CLOSED) return 2;
    if (append() != CHARTER_E_CLOSED) return 3;
    if (charter_client_unsubscribe(client, threaded, &removed) != CHARTER_OK || !removed) return 4;
    if (charter_client_publish(client, "t.x", (const uint8_t *)"m", 1, NULL, 0, NULL) != CHARTER_OK) return 5;
    if (charter_audit_free(log_) != CHARTER_OK) return 6;
    if (charter_client_free(client) != CHARTER_OK) return 7;
    if (charter_bus_free(bus) != CHARTER_OK) return 8;
    return 0;
}

/* Frees the objects without ending anything first. */
static int free_at_once(void) {
    if (charter_bus_free(bus) != CHARTER_OK) return 2;
    if (charter_audit_free(log_) != CHARTER_OK) return 3;
    if (charter_client_free(client) != CHARTER_OK) return 4;
    return 0;
}

static void child_closes_and_exits_quietly(void) {
    in_child("use_then_close", use_then_close);
    in_child("free_at_once", free_at_once);
}

static void parent_keeps_working(void) {
    int before = handled_now(), spins;
    CHECK_OK(charter_client_publish(client, "t.x", (const uint8_t *)"m", 1, NULL, 0, NULL));
    CHECK_OK(append());
    for (spins = 0; handled_now() == before && spins < 5000; spins++) {
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    CHECK(handled_now() > before);
    CHECK_OK(charter_audit_free(log_));
    close_bus(client, bus);
    unlink(path);
}

/* fork() while a readiness callback runs on another thread of the parent:
 * in the child that call never returns (its thread does not exist), so
 * freeing the waiter or the watch there must not wait for it. */
static pthread_mutex_t ready_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ready_cond = PTHREAD_COND_INITIALIZER;
static int inside, released;
static charter_bus_t *rbus;
static charter_client_t *rclient;
static charter_waiter_t *rwaiter;
static charter_watch_t *rwatch;
static uint64_t rsub[2];

/* The callback of both: says it is inside, then stays until released (at
 * most 20 s, so a failure cannot hang the parent). */
static void stay_inside(void *user_data) {
    struct timespec until;
    (void)user_data;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 20;
    pthread_mutex_lock(&ready_lock);
    inside++;
    pthread_cond_broadcast(&ready_cond);
    while (!released && pthread_cond_timedwait(&ready_cond, &ready_lock, &until) == 0) {
    }
    pthread_mutex_unlock(&ready_lock);
}

static void *publish_to(void *arg) {
    const char *topic = arg;
    CHECK_OK(charter_client_publish(rclient, topic, (const uint8_t *)"m", 1, NULL, 0, NULL));
    return NULL;
}

static int free_while_a_parent_callback_runs(void) {
    alarm(10); /* a free that waits for the parent's call dies here */
    if (charter_waiter_free(rwaiter) != CHARTER_OK) return 2;
    if (charter_watch_free(rwatch) != CHARTER_OK) return 3;
    if (charter_client_free(rclient) != CHARTER_OK) return 4;
    if (charter_bus_free(rbus) != CHARTER_OK) return 5;
    return 0;
}

static void a_child_frees_handles_whose_callback_runs_in_the_parent(void) {
    charter_message_t *msg = NULL;
    pthread_t threads[2];
    rclient = subscribed_client(&rbus, "w.a", &rsub[0]);
    CHECK_OK(charter_client_subscribe(rclient, "w.b", NULL, &rsub[1]));
    CHECK_OK(charter_waiter_new(stay_inside, NULL, &rwaiter));
    CHECK_STATUS(charter_client_poll_recv(rclient, rsub[0], rwaiter, &msg, NULL), CHARTER_E_WOULD_BLOCK);
    CHECK_OK(charter_client_watch(rclient, rsub[1], stay_inside, NULL, &rwatch, NULL));
    CHECK(pthread_create(&threads[0], NULL, publish_to, "w.a") == 0);
    CHECK(pthread_create(&threads[1], NULL, publish_to, "w.b") == 0);
    pthread_mutex_lock(&ready_lock);
    while (inside < 2) pthread_cond_wait(&ready_cond, &ready_lock);
    pthread_mutex_unlock(&ready_lock);
    in_child("free_while_a_parent_callback_runs", free_while_a_parent_callback_runs);
    pthread_mutex_lock(&ready_lock);
    released = 1;
    pthread_cond_broadcast(&ready_cond);
    pthread_mutex_unlock(&ready_lock);
    CHECK(pthread_join(threads[0], NULL) == 0);
    CHECK(pthread_join(threads[1], NULL) == 0);
    CHECK_OK(charter_waiter_free(rwaiter));
    CHECK_OK(charter_watch_free(rwatch));
    close_bus(rclient, rbus);
}

int main(void) {
    set_up();
    RUN(child_closes_and_exits_quietly);
    RUN(a_child_frees_handles_whose_callback_runs_in_the_parent);
    RUN(parent_keeps_working);
    return 0;
}
