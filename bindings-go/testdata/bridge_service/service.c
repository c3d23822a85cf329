/* The C service of the cross-language bridge test (bridge_langs_test.go):
 * one bus, carried onto NATS by a sealed and verifying charter_bridge_t.
 *
 * Usage: service NATS_URL DIR PREFIX SELF PEER
 * DIR holds root.pub, SELF.token, SELF.key and PEER.principal. The
 * service answers PREFIX.SELF.svc ("SELF answers " + the request), prints
 * "ready" once its bridge is up, and on "go" from stdin: publishes
 * PREFIX.SELF.event, asks PREFIX.PEER.svc, receives PREFIX.PEER.event, and
 * checks that the reply and the event are the peer's and proven by its
 * bridge (Charter-Principal). It prints "done", keeps answering until
 * stdin closes, then prints "refused N" and exits 0; any failure exits 1. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charter.h"

static const char *self, *peer;
static char peer_principal[128];
static charter_client_t *client;

static void fail(const char *what, charter_status_t status) {
    char *msg = charter_last_error_message();
    fprintf(stderr, "c service: %s: %s (%s)\n", what, charter_status_name(status), msg != NULL ? msg : "");
    charter_string_free(msg);
    exit(1);
}

#define OK(call)                                                                                   \
    do {                                                                                           \
        charter_status_t s_ = (call);                                                              \
        if (s_ != CHARTER_OK) fail(#call, s_);                                                     \
    } while (0)

/* The contents of DIR/NAME, its trailing newline removed, malloc'd. */
static char *read_text(const char *dir, const char *name) {
    char path[1024];
    FILE *f;
    char *text = calloc(1, 8192);
    size_t n;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "r");
    if (f == NULL || text == NULL) {
        fprintf(stderr, "c service: cannot read %s\n", path);
        exit(1);
    }
    n = fread(text, 1, 8191, f);
    fclose(f);
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r')) {
        text[--n] = '\0';
    }
    return text;
}

static const char *header(const charter_message_t *m, const char *name) {
    size_t i;
    for (i = 0; i < m->header_count; i++) {
        if (strcmp(m->headers[i].name, name) == 0) {
            return m->headers[i].value;
        }
    }
    return NULL;
}

/* Whether `m` was proven to come from the peer, with `payload`. */
static bool from_peer(const charter_message_t *m, const char *payload) {
    const char *who = header(m, "Charter-Principal");
    return who != NULL && strcmp(who, peer_principal) == 0 && header(m, "Charter-Status") == NULL &&
           m->payload_len == strlen(payload) && memcmp(m->payload, payload, m->payload_len) == 0;
}

static charter_status_t answer(void *user_data, const charter_message_t *m) {
    char reply[512];
    const char *who = header(m, "Charter-Principal");
    (void)user_data;
    snprintf(reply, sizeof reply, "%s answers %.*s", self, (int)m->payload_len, (const char *)m->payload);
    if (who == NULL || strcmp(who, peer_principal) != 0) {
        snprintf(reply, sizeof reply, "%s refuses an unproven request", self);
    }
    return charter_client_respond(client, m, (const uint8_t *)reply, strlen(reply), NULL, 0, NULL);
}

int main(int argc, char **argv) {
    const char *url, *dir, *prefix;
    char *root, *token_text, *principal;
    char topic[256], peer_svc[256], peer_event[256], own_svc[256], own_event[256], text[512], line[64];
    const char *exports[2], *servers[1];
    charter_bridge_import_t imports[2];
    charter_authority_options_t ao;
    charter_bridge_options_t o;
    charter_subscribe_options_t so;
    charter_bridge_stats_t stats;
    charter_authority_t *auth = NULL;
    charter_keypair_t *key = NULL;
    charter_token_t *token = NULL;
    charter_bus_t *bus = NULL;
    charter_bridge_t *bridge = NULL;
    charter_message_t *m = NULL;
    uint64_t events, svc;
    unsigned long long refused;
    if (argc != 6) {
        fprintf(stderr, "usage: service NATS_URL DIR PREFIX SELF PEER\n");
        return 2;
    }
    url = argv[1], dir = argv[2], prefix = argv[3], self = argv[4], peer = argv[5];
    snprintf(topic, sizeof topic, "%s.principal", peer);
    principal = read_text(dir, topic);
    snprintf(peer_principal, sizeof peer_principal, "%s", principal);
    free(principal);
    root = read_text(dir, "root.pub");
    snprintf(topic, sizeof topic, "%s.token", self);
    token_text = read_text(dir, topic);
    snprintf(topic, sizeof topic, "%s/%s.key", dir, self);
    OK(charter_keypair_read_file(topic, true, &key));
    OK(charter_token_from_text(token_text, &token));
    OK(charter_authority_options_default(&ao));
    OK(charter_authority_new((const char *const *)&root, 1, &ao, &auth));
    OK(charter_bus_new(NULL, &bus));
    OK(charter_client_new(bus, NULL, &client));
    snprintf(own_svc, sizeof own_svc, "%s.%s.svc", prefix, self);
    snprintf(own_event, sizeof own_event, "%s.%s.event", prefix, self);
    snprintf(peer_svc, sizeof peer_svc, "%s.%s.svc", prefix, peer);
    snprintf(peer_event, sizeof peer_event, "%s.%s.event", prefix, peer);
    OK(charter_subscribe_options_default(&so));
    OK(charter_client_subscribe_callback(client, own_svc, &so, answer, NULL, NULL, &svc));
    OK(charter_client_subscribe(client, peer_event, &so, &events));

    OK(charter_bridge_options_default(&o));
    servers[0] = url;
    exports[0] = own_event, exports[1] = peer_svc;
    memset(imports, 0, sizeof imports);
    imports[0].pattern = peer_event, imports[1].pattern = own_svc;
    o.servers = servers, o.server_count = 1;
    o.exports = exports, o.export_count = 2;
    o.imports = imports, o.import_count = 2;
    o.token = token, o.key = key, o.authority = auth;
    OK(charter_bridge_start(bus, &o, &bridge));
    OK(charter_bridge_flush(bridge, 20000));
    printf("ready\n");
    fflush(stdout);

    if (fgets(line, sizeof line, stdin) == NULL || strncmp(line, "go", 2) != 0) {
        fprintf(stderr, "c service: no go\n");
        return 1;
    }
    snprintf(text, sizeof text, "event from %s", self);
    OK(charter_client_publish(client, own_event, (const uint8_t *)text, strlen(text), NULL, 0, NULL));
    snprintf(text, sizeof text, "ping from %s", self);
    OK(charter_client_request(client, peer_svc, (const uint8_t *)text, strlen(text), NULL, 0, 20000, &m));
    snprintf(text, sizeof text, "%s answers ping from %s", peer, self);
    if (!from_peer(m, text)) {
        fprintf(stderr, "c service: the reply is %.*s from %s\n", (int)m->payload_len, (const char *)m->payload,
                header(m, "Charter-Principal") != NULL ? header(m, "Charter-Principal") : "nobody proven");
        return 1;
    }
    charter_message_free(m);
    OK(charter_client_recv(client, events, 20000, &m));
    snprintf(text, sizeof text, "event from %s", peer);
    if (!from_peer(m, text)) {
        fprintf(stderr, "c service: the event is %.*s\n", (int)m->payload_len, (const char *)m->payload);
        return 1;
    }
    charter_message_free(m);
    printf("done\n");
    fflush(stdout);
    while (fgets(line, sizeof line, stdin) != NULL) {
    }
    OK(charter_bridge_stats(bridge, &stats));
    refused = (unsigned long long)(stats.refused_unsigned + stats.refused_malformed + stats.refused_chain +
                                   stats.refused_bad_proof + stats.refused_not_granted + stats.refused_stale +
                                   stats.refused_replayed + stats.refused_revoked + stats.refused_misdirected +
                                   stats.refused_audit_failed);
    printf("refused %llu\n", refused);
    fflush(stdout);
    OK(charter_bridge_free(bridge));
    OK(charter_client_free(client));
    OK(charter_bus_free(bus));
    OK(charter_authority_free(auth));
    OK(charter_token_free(token));
    OK(charter_keypair_free(key));
    free(root);
    free(token_text);
    return 0;
}
