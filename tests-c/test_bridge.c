/* The NATS bridge through the C ABI, against a real nats-server on a free
 * loopback port: options checked before anything starts, messages carried
 * between two buses, sealed messages accepted and an unsigned one refused,
 * counted and audited, requests answered across, start and flush refused
 * on a bridge's own thread, a durable import that skips what the
 * application's committed position covers, and the handle's close/free
 * lifecycle. Skips (exit 77) when nats-server is not installed;
 * scripts/install-deps.sh installs it. */
/* nftw, to remove the server's JetStream store. */
#define _XOPEN_SOURCE 700
#include <arpa/inet.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bus_fixture.h"
#include "check.h"
#include "session_fixture.h"
#include "timing.h"

#define SKIP 77
#define PATIENCE_MS 10000u

static pid_t server_pid = -1;
static char server_url[64];
static char workdir[] = "/tmp/charter-bridge-XXXXXX";
static char store_dir[64];

static const char *nats_binary(void) {
    static const char *const candidates[] = {"/usr/sbin/nats-server", "/usr/bin/nats-server",
                                             "/usr/local/bin/nats-server"};
    for (size_t i = 0; i < sizeof candidates / sizeof *candidates; i++) {
        if (access(candidates[i], X_OK) == 0) return candidates[i];
    }
    return NULL;
}

static int free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(fd, (struct sockaddr *)&addr, sizeof addr) == 0);
    socklen_t len = sizeof addr;
    CHECK(getsockname(fd, (struct sockaddr *)&addr, &len) == 0);
    close(fd);
    return ntohs(addr.sin_port);
}

/* Starts the server and waits for its "Server is ready" line. */
static void start_server(const char *binary) {
    int port = free_port();
    char port_text[16];
    snprintf(port_text, sizeof port_text, "%d", port);
    snprintf(server_url, sizeof server_url, "nats://127.0.0.1:%d", port);
    int pipefd[2];
    CHECK(pipe(pipefd) == 0);
    server_pid = fork();
    CHECK(server_pid >= 0);
    if (server_pid == 0) {
        dup2(pipefd[1], 2);
        close(pipefd[0]);
        close(pipefd[1]);
        execl(binary, binary, "-a", "127.0.0.1", "-p", port_text, "-js", "-sd", store_dir, (char *)NULL);
        _exit(127);
    }
    close(pipefd[1]);
    FILE *log = fdopen(pipefd[0], "r");
    CHECK(log != NULL);
    char line[512];
    int ready = 0;
    while (!ready && fgets(line, sizeof line, log) != NULL) {
        ready = strstr(line, "Server is ready") != NULL;
    }
    CHECK(ready);
    /* The rest of the log is not read: closing the pipe sends later lines
     * nowhere instead of blocking the server on a full pipe. */
    fclose(log);
}

static void stop_server(void) {
    if (server_pid > 0) {
        kill(server_pid, SIGKILL);
        waitpid(server_pid, NULL, 0);
        server_pid = -1;
    }
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* Reads `bridge`'s counters into `s` until `cond` holds: the bridge counts
 * on its own threads, just after handing a message on. */
#define AWAIT_STATS(bridge, s, cond)                                                   \
    do {                                                                               \
        memset(&(s), 0, sizeof(s));                                                    \
        for (unsigned waited_ = 0;; waited_ += 10) {                                   \
            CHECK_OK(charter_bridge_stats((bridge), &(s)));                            \
            if ((cond) || waited_ >= PATIENCE_MS) break;                               \
            sleep_ms(10);                                                              \
        }                                                                              \
        CHECK(cond);                                                                   \
    } while (0)

static uint64_t now_seconds(void) { return (uint64_t)time(NULL); }

static charter_bridge_t *start(charter_bus_t *bus, charter_bridge_options_t *o) {
    const char *servers[1] = {server_url};
    o->servers = servers;
    o->server_count = 1;
    charter_bridge_t *bridge = NULL;
    CHECK_OK(charter_bridge_start(bus, o, &bridge));
    CHECK_OK(charter_bridge_flush(bridge, PATIENCE_MS));
    return bridge;
}

/* Frees two bridged buses: their bridges, then their clients, then the buses. */
static void free_pair(charter_bridge_t *ba, charter_bridge_t *bb, charter_client_t *ca, charter_client_t *cb,
                      charter_bus_t *a, charter_bus_t *b) {
    CHECK_OK(charter_bridge_free(ba));
    CHECK_OK(charter_bridge_free(bb));
    CHECK_OK(charter_client_free(ca));
    CHECK_OK(charter_client_free(cb));
    CHECK_OK(charter_bus_free(a));
    CHECK_OK(charter_bus_free(b));
}

static charter_message_t *receive(charter_client_t *client, uint64_t id) {
    charter_message_t *message = NULL;
    CHECK_OK(charter_client_recv(client, id, PATIENCE_MS, &message));
    return message;
}

static const char *header(const charter_message_t *m, const char *name) {
    for (size_t i = 0; i < m->header_count; i++) {
        if (strcmp(m->headers[i].name, name) == 0) return m->headers[i].value;
    }
    return NULL;
}

static void options_are_checked_before_anything_starts(void) {
    charter_bus_t *bus = NULL;
    CHECK_OK(charter_bus_new(NULL, &bus));
    charter_bridge_options_t o;
    CHECK_OK(charter_bridge_options_default(&o));
    CHECK(o.request_timeout_ms == 5000 && o.max_skew_ms == 30000 && o.worker_threads == 1);
    CHECK(!o.bare_exports);
    charter_bridge_t *bridge = NULL;
    CHECK_STATUS(charter_bridge_start(bus, NULL, &bridge), CHARTER_E_NULL_ARGUMENT);
    CHECK_STATUS(charter_bridge_start(bus, &o, &bridge), CHARTER_E_INVALID_ARGUMENT);
    CHECK_MESSAGE_HAS("at least one server");

    const char *servers[1] = {server_url};
    o.servers = servers;
    o.server_count = 1;
    const char *bad[1] = {"orders..created"};
    o.exports = bad;
    o.export_count = 1;
    CHECK_STATUS(charter_bridge_start(bus, &o, &bridge), CHARTER_E_INVALID_ARGUMENT);
    o.export_count = CHARTER_BRIDGE_MAX_ENTRIES + 1;
    CHECK_STATUS(charter_bridge_start(bus, &o, &bridge), CHARTER_E_LIMIT_EXCEEDED);
    o.export_count = 0;

    charter_keypair_t *key = NULL;
    CHECK_OK(charter_keypair_generate(&key));
    o.key = key;
    CHECK_STATUS(charter_bridge_start(bus, &o, &bridge), CHARTER_E_INVALID_ARGUMENT);
    CHECK_MESSAGE_HAS("go together");
    o.key = NULL;
    CHECK_STATUS(charter_bridge_start((charter_bus_t *)key, &o, &bridge), CHARTER_E_WRONG_HANDLE_TYPE);
    CHECK(bridge == NULL);
    CHECK_OK(charter_keypair_free(key));
    CHECK_OK(charter_bus_free(bus));
}

static void messages_cross_between_two_buses(void) {
    charter_bus_t *a = NULL, *b = NULL;
    charter_client_t *ca = open_bus(&a), *cb = open_bus(&b);

    charter_bridge_options_t oa, ob;
    CHECK_OK(charter_bridge_options_default(&oa));
    CHECK_OK(charter_bridge_options_default(&ob));
    const char *exports[1] = {"orders.>"};
    oa.exports = exports;
    oa.export_count = 1;
    charter_bridge_import_t imports[1] = {{"orders.>", "workers", false}};
    ob.imports = imports;
    ob.import_count = 1;
    charter_bridge_t *ba = start(a, &oa);
    charter_bridge_t *bb = start(b, &ob);

    char *origin = NULL;
    CHECK_OK(charter_bridge_origin(ba, &origin));
    CHECK(strlen(origin) == 32);
    bool connected = false;
    CHECK_OK(charter_bridge_is_connected(ba, &connected));
    CHECK(connected);

    uint64_t id = 0;
    CHECK_OK(charter_client_subscribe(cb, "orders.>", NULL, &id));
    charter_header_t headers[1] = {{"kind", "created"}};
    CHECK_OK(charter_client_publish(ca, "orders.eu", (const uint8_t *)"hello", 5, headers, 1, NULL));
    charter_message_t *m = receive(cb, id);
    CHECK(strcmp(m->topic, "orders.eu") == 0);
    CHECK(m->payload_len == 5 && memcmp(m->payload, "hello", 5) == 0);
    CHECK(header(m, "kind") != NULL && strcmp(header(m, "kind"), "created") == 0);
    CHECK(header(m, "Charter-Origin") != NULL && strcmp(header(m, "Charter-Origin"), origin) == 0);
    charter_message_free(m);
    charter_string_free(origin);

    charter_bridge_stats_t sa, sb;
    AWAIT_STATS(ba, sa, sa.exported == 1);
    AWAIT_STATS(bb, sb, sb.imported == 1);

    /* Close ends the bridge, not the handle: later calls say CLOSED. */
    CHECK_OK(charter_bridge_close(bb));
    CHECK_OK(charter_bridge_close(bb));
    CHECK_STATUS(charter_bridge_stats(bb, &sb), CHARTER_E_CLOSED);
    CHECK_STATUS(charter_bridge_flush(bb, 10), CHARTER_E_CLOSED);
    CHECK_OK(charter_bridge_free(bb));
    CHECK_STATUS(charter_bridge_free(bb), CHARTER_E_ALREADY_FREED);
    CHECK_STATUS(charter_bridge_stats(bb, &sb), CHARTER_E_HANDLE_FREED);
    CHECK_OK(charter_bridge_free(ba));
    CHECK_OK(charter_bridge_free(NULL));

    CHECK_OK(charter_client_free(ca));
    CHECK_OK(charter_client_free(cb));
    CHECK_OK(charter_bus_free(a));
    CHECK_OK(charter_bus_free(b));
}

/* A bare export sends no header of its own: the importing bridge takes
 * its publish for a plain NATS client's. */
static void a_bare_export_is_imported_as_a_plain_clients(void) {
    charter_bus_t *a = NULL, *b = NULL;
    charter_client_t *ca = open_bus(&a), *cb = open_bus(&b);
    charter_bridge_options_t oa, ob;
    CHECK_OK(charter_bridge_options_default(&oa));
    CHECK_OK(charter_bridge_options_default(&ob));
    const char *exports[1] = {"bare.>"};
    oa.exports = exports;
    oa.export_count = 1;
    oa.bare_exports = true;
    charter_bridge_import_t imports[1] = {{"bare.>", NULL, false}};
    ob.imports = imports;
    ob.import_count = 1;
    charter_bridge_t *bb = start(b, &ob);
    charter_bridge_t *ba = start(a, &oa);

    uint64_t id = 0;
    CHECK_OK(charter_client_subscribe(cb, "bare.>", NULL, &id));
    CHECK_OK(charter_client_publish(ca, "bare.one", (const uint8_t *)"1", 1, NULL, 0, NULL));
    charter_message_t *m = receive(cb, id);
    CHECK(strcmp(m->topic, "bare.one") == 0);
    CHECK(header(m, "Charter-Origin") != NULL && strcmp(header(m, "Charter-Origin"), "nats") == 0);
    charter_message_free(m);
    free_pair(ba, bb, ca, cb, a, b);
}

/* The responder on the far bus: answers every request inline, on the
 * bridge's own thread. */
static charter_status_t respond(void *user_data, const charter_message_t *request) {
    charter_client_t *client = user_data;
    charter_status_t status =
        charter_client_respond(client, request, (const uint8_t *)"pong", 4, NULL, 0, NULL);
    if (status != CHARTER_OK) fprintf(stderr, "respond: %s\n", charter_status_name(status));
    return status;
}

static void requests_are_answered_across(void) {
    charter_bus_t *a = NULL, *b = NULL;
    charter_client_t *ca = open_bus(&a), *cb = open_bus(&b);
    uint64_t responder = 0;
    CHECK_OK(charter_client_subscribe_callback(cb, "svc.ping", NULL, respond, cb, NULL, &responder));

    charter_bridge_options_t oa, ob;
    CHECK_OK(charter_bridge_options_default(&oa));
    CHECK_OK(charter_bridge_options_default(&ob));
    const char *exports[1] = {"svc.>"};
    oa.exports = exports;
    oa.export_count = 1;
    oa.request_timeout_ms = PATIENCE_MS;
    charter_bridge_import_t imports[1] = {{"svc.>", NULL, false}};
    ob.imports = imports;
    ob.import_count = 1;
    charter_bridge_t *ba = start(a, &oa);
    charter_bridge_t *bb = start(b, &ob);

    charter_message_t *reply = NULL;
    CHECK_OK(charter_client_request(ca, "svc.ping", (const uint8_t *)"ping", 4, NULL, 0, PATIENCE_MS, &reply));
    CHECK(reply->payload_len == 4 && memcmp(reply->payload, "pong", 4) == 0);
    CHECK(header(reply, "Charter-Status") == NULL);
    charter_message_free(reply);

    /* Nothing answers svc.none on the far bus: the request fails as one
     * that nothing local matched does. */
    reply = NULL;
    CHECK_STATUS(charter_client_request(ca, "svc.none", NULL, 0, NULL, 0, PATIENCE_MS, &reply), CHARTER_E_NOT_FOUND);
    CHECK(reply == NULL);

    /* Started, then waited on by id: the bridge ended the reply inbox with
     * its error, which the id keeps answering (every receive, not only
     * the first) until the requester unsubscribes it. */
    uint64_t inbox = 0;
    bool removed = true;
    CHECK_OK(charter_client_request_start(ca, "svc.none", NULL, 0, NULL, 0, &inbox));
    for (int i = 0; i < 2; i++) {
        CHECK_STATUS(charter_client_recv(ca, inbox, PATIENCE_MS, &reply), CHARTER_E_NOT_FOUND);
        char *why = charter_last_error_message();
        CHECK(why != NULL && strcmp(why, "CHARTER_E_NOT_FOUND: no responder on NATS for the request") == 0);
        charter_string_free(why);
    }
    CHECK(reply == NULL);
    CHECK_OK(charter_client_unsubscribe(ca, inbox, &removed));
    CHECK(!removed); /* it had ended already */
    CHECK_STATUS(charter_client_recv(ca, inbox, 0, &reply), CHARTER_E_NOT_FOUND);
    char *gone = charter_last_error_message();
    CHECK(gone != NULL && strstr(gone, ": no subscription ") != NULL);
    charter_string_free(gone);

    charter_bridge_stats_t sa;
    AWAIT_STATS(ba, sa, sa.requests_out == 3);
    free_pair(ba, bb, ca, cb, a, b);
}

/* What a callback on the importing bridge's own thread got when it tried
 * to start a bridge and to flush its own. */
struct on_its_thread {
    charter_bus_t *bus;
    charter_client_t *client;
    charter_bridge_t *importer;
    charter_status_t started, flushed;
    char *start_message, *flush_message;
};

static charter_status_t start_and_flush(void *user_data, const charter_message_t *message) {
    (void)message;
    struct on_its_thread *t = user_data;
    charter_bridge_options_t o;
    CHECK_OK(charter_bridge_options_default(&o));
    const char *servers[1] = {server_url};
    o.servers = servers;
    o.server_count = 1;
    charter_bridge_t *started = NULL;
    t->started = charter_bridge_start(t->bus, &o, &started);
    t->start_message = charter_last_error_message();
    CHECK(started == NULL);
    t->flushed = charter_bridge_flush(t->importer, PATIENCE_MS);
    t->flush_message = charter_last_error_message();
    return charter_client_publish(t->client, "done.it", (const uint8_t *)"x", 1, NULL, 0, NULL);
}

/* Start and flush block on a bridge's runtime: on one of its threads (an
 * inline callback of an import) the bridge crate refuses them, and its
 * status and words come through the C ABI unchanged. */
static void a_callback_on_a_bridges_thread_cannot_start_or_flush_one(void) {
    charter_bus_t *a = NULL, *b = NULL;
    charter_client_t *ca = open_bus(&a), *cb = open_bus(&b);
    charter_bridge_options_t oa, ob;
    CHECK_OK(charter_bridge_options_default(&oa));
    CHECK_OK(charter_bridge_options_default(&ob));
    const char *exports[1] = {"stop.>"};
    oa.exports = exports;
    oa.export_count = 1;
    charter_bridge_import_t imports[1] = {{"stop.>", NULL, false}};
    ob.imports = imports;
    ob.import_count = 1;
    charter_bridge_t *bb = start(b, &ob);
    struct on_its_thread t = {b, cb, bb, CHARTER_OK, CHARTER_OK, NULL, NULL};
    uint64_t done = 0, callback = 0;
    CHECK_OK(charter_client_subscribe(cb, "done.>", NULL, &done));
    CHECK_OK(charter_client_subscribe_callback(cb, "stop.>", NULL, start_and_flush, &t, NULL, &callback));
    charter_bridge_t *ba = start(a, &oa);
    CHECK_OK(charter_client_publish(ca, "stop.now", (const uint8_t *)"stop", 4, NULL, 0, NULL));
    charter_message_free(receive(cb, done));
    CHECK(t.started == CHARTER_E_WOULD_BLOCK && t.flushed == CHARTER_E_WOULD_BLOCK);
    CHECK(t.start_message != NULL &&
          strcmp(t.start_message,
                 "CHARTER_E_WOULD_BLOCK: a bridge cannot be started inside an async runtime "
                 "(a handler a bridge runs is in one): it would block the runtime's thread; "
                 "call it from a plain thread") == 0);
    CHECK(t.flush_message != NULL &&
          strcmp(t.flush_message,
                 "CHARTER_E_WOULD_BLOCK: a bridge cannot be flushed inside an async runtime "
                 "(a handler a bridge runs is in one): it would block the runtime's thread; "
                 "call it from a plain thread") == 0);
    charter_string_free(t.start_message);
    charter_string_free(t.flush_message);
    free_pair(ba, bb, ca, cb, a, b);
}

static void sealed_messages_pass_and_unsigned_ones_are_refused_and_audited(void) {
    char *root_pk = NULL, *holder_pk = NULL;
    charter_keypair_t *root = new_keypair(&root_pk), *holder = new_keypair(&holder_pk);
    const char *grants[1] = {"publish alerts.>"};
    charter_token_t *token = NULL;
    CHECK_OK(charter_token_mint(root, holder_pk, grants, 1, now_seconds() - 60, now_seconds() + 3600, &token));
    charter_authority_t *authority = authority_at(root_pk, 0, NULL);
    char path[128];
    snprintf(path, sizeof path, "%s/refusals.log", workdir);
    charter_audit_t *log = NULL;
    CHECK_OK(charter_audit_open(path, NULL, &log));
    charter_audit_recorder_t recorder = {log, CHARTER_AUDIT_SCOPE_DENIALS};

    charter_bus_t *a = NULL, *b = NULL, *c = NULL;
    charter_client_t *ca = open_bus(&a), *cb = open_bus(&b), *cc = open_bus(&c);

    const char *exports[1] = {"alerts.>"};
    charter_bridge_options_t sealed, plain, verifying;
    CHECK_OK(charter_bridge_options_default(&sealed));
    sealed.exports = exports;
    sealed.export_count = 1;
    sealed.token = token;
    sealed.key = holder;
    plain = sealed;
    plain.token = NULL;
    plain.key = NULL;
    CHECK_OK(charter_bridge_options_default(&verifying));
    charter_bridge_import_t imports[1] = {{"alerts.>", NULL, false}};
    verifying.imports = imports;
    verifying.import_count = 1;
    verifying.authority = authority;
    verifying.recorder = &recorder;
    const char *servers[1] = {server_url};
    sealed.servers = servers;
    sealed.server_count = 1;
    sealed.bare_exports = true;
    charter_bridge_t *refused = NULL;
    CHECK_STATUS(charter_bridge_start(a, &sealed, &refused), CHARTER_E_INVALID_ARGUMENT);
    CHECK_MESSAGE_HAS("bare exports carry no seal");
    sealed.bare_exports = false;
    charter_bridge_t *ba = start(a, &sealed);
    charter_bridge_t *bc = start(c, &plain);
    charter_bridge_t *bb = start(b, &verifying);
    /* The handles named in the options stay the caller's; the bridges
     * keep what they need. */
    CHECK_OK(charter_token_free(token));
    CHECK_OK(charter_keypair_free(holder));

    uint64_t id = 0;
    CHECK_OK(charter_client_subscribe(cb, "alerts.>", NULL, &id));
    CHECK_OK(charter_client_publish(ca, "alerts.fire", (const uint8_t *)"sealed", 6, NULL, 0, NULL));
    charter_message_t *m = receive(cb, id);
    CHECK(m->payload_len == 6 && memcmp(m->payload, "sealed", 6) == 0);
    /* The proven sender: the holder's principal. */
    CHECK(header(m, "Charter-Principal") != NULL);
    charter_message_free(m);

    CHECK_OK(charter_client_publish(cc, "alerts.fire", (const uint8_t *)"forged", 6, NULL, 0, NULL));
    charter_bridge_stats_t sb;
    AWAIT_STATS(bb, sb, sb.refused_unsigned == 1);
    CHECK(sb.imported == 1 && sb.refused_bad_proof == 0);
    CHECK_STATUS(charter_client_recv(cb, id, 0, &m), CHARTER_E_WOULD_BLOCK);
    uint64_t records = 0;
    CHECK_OK(charter_audit_len(log, &records));
    CHECK(records == 1);

    CHECK_OK(charter_bridge_free(ba));
    CHECK_OK(charter_bridge_free(bb));
    CHECK_OK(charter_bridge_free(bc));
    CHECK_OK(charter_client_free(ca));
    CHECK_OK(charter_client_free(cb));
    CHECK_OK(charter_client_free(cc));
    CHECK_OK(charter_bus_free(a));
    CHECK_OK(charter_bus_free(b));
    CHECK_OK(charter_bus_free(c));
    CHECK_OK(charter_audit_free(log));
    CHECK_OK(charter_authority_free(authority));
    free_keypair(root, root_pk);
    charter_string_free(holder_pk);
    unlink(path);
}

/* A durable import started from the application's committed position
 * (everything through sequence 2, and 4) never delivers those: it
 * acknowledges them, counted as duplicate_suppressed. The bridge creates
 * the stream when it binds, so the exporter publishes until the importer
 * has delivered sequence 5. */
static void a_durable_import_skips_what_the_committed_position_covers(void) {
    charter_bus_t *a = NULL, *b = NULL;
    charter_client_t *ca = open_bus(&a), *cb = open_bus(&b);
    uint64_t id = 0;
    CHECK_OK(charter_client_subscribe(cb, "jobs.>", NULL, &id));

    charter_bridge_durable_options_t d;
    CHECK_OK(charter_bridge_durable_options_default(&d));
    CHECK(d.ack_wait_ms == 30000 && d.max_ack_pending == 1024 && d.handled_through == 0 && d.handled_count == 0);
    CHECK(d.sealed_through == 0 && d.sealed == NULL && d.sealed_count == 0);
    charter_bridge_options_t ob;
    CHECK_OK(charter_bridge_options_default(&ob));
    charter_bridge_durable_import_t durable[1] = {{"jobs.>", "JOBS", "c-importer", &d}};
    ob.durable_imports = durable;
    ob.durable_import_count = 1;
    const char *servers[1] = {server_url};
    ob.servers = servers;
    ob.server_count = 1;
    charter_bridge_t *bridge = NULL;
    d.handled_count = 1;
    CHECK_STATUS(charter_bridge_start(b, &ob, &bridge), CHARTER_E_NULL_ARGUMENT);
    CHECK_MESSAGE_HAS("options.durable_imports[0].options.handled");
    uint64_t handled[1] = {4};
    d.handled = handled;
    d.handled_count = (size_t)1 << 20 | 1;
    CHECK_STATUS(charter_bridge_start(b, &ob, &bridge), CHARTER_E_LIMIT_EXCEEDED);
    CHECK(bridge == NULL);
    d.handled_count = 1;
    d.sealed_count = 1;
    CHECK_STATUS(charter_bridge_start(b, &ob, &bridge), CHARTER_E_NULL_ARGUMENT);
    CHECK_MESSAGE_HAS("options.durable_imports[0].options.sealed");
    uint64_t sealed[1] = {7};
    d.sealed = sealed;
    d.sealed_count = (size_t)1 << 20 | 1;
    CHECK_STATUS(charter_bridge_start(b, &ob, &bridge), CHARTER_E_LIMIT_EXCEEDED);
    CHECK_MESSAGE_HAS("sealed set");
    CHECK(bridge == NULL);
    d.sealed_count = 1;
    d.handled_through = 2;
    charter_bridge_t *bb = start(b, &ob);

    charter_bridge_options_t oa;
    CHECK_OK(charter_bridge_options_default(&oa));
    const char *exports[1] = {"jobs.>"};
    oa.exports = exports;
    oa.export_count = 1;
    charter_bridge_t *ba = start(a, &oa);

    bool seen[8] = {false};
    for (unsigned waited = 0; !seen[5]; waited += 100) {
        CHECK(waited < PATIENCE_MS);
        CHECK_OK(charter_client_publish(ca, "jobs.one", (const uint8_t *)"x", 1, NULL, 0, NULL));
        charter_message_t *m = NULL;
        charter_status_t status;
        while ((status = charter_client_recv(cb, id, 100, &m)) == CHARTER_OK) {
            unsigned long long seq = strtoull(header(m, "Charter-Stream-Seq"), NULL, 10);
            unsigned long long floor = strtoull(header(m, "Charter-Stream-Floor"), NULL, 10);
            CHECK(seq != 1 && seq != 2 && seq != 4);
            CHECK(floor >= 2 && floor < seq);
            if (seq < 8) {
                CHECK(!seen[seq]);
                seen[seq] = true;
            }
            charter_message_free(m);
        }
        CHECK(status == CHARTER_E_TIMEOUT);
    }
    CHECK(seen[3]);
    charter_bridge_stats_t sb;
    AWAIT_STATS(bb, sb, sb.duplicate_suppressed == 3);

    free_pair(ba, bb, ca, cb, a, b);
}

int main(void) {
    const char *binary = nats_binary();
    if (binary == NULL) {
        printf("SKIPPED: nats-server is not installed (scripts/install-deps.sh installs it)\n");
        return SKIP;
    }
    CHECK(mkdtemp(workdir) != NULL);
    snprintf(store_dir, sizeof store_dir, "%s/js", workdir);
    start_server(binary);
    atexit(stop_server);
    RUN(options_are_checked_before_anything_starts);
    RUN(messages_cross_between_two_buses);
    RUN(a_bare_export_is_imported_as_a_plain_clients);
    RUN(requests_are_answered_across);
    RUN(a_callback_on_a_bridges_thread_cannot_start_or_flush_one);
    RUN(sealed_messages_pass_and_unsigned_ones_are_refused_and_audited);
    RUN(a_durable_import_skips_what_the_committed_position_covers);
    stop_server();
    nftw(workdir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
    return 0;
}
