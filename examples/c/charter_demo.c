/* Charter end-to-end demo: an operator grants the billing service the right
 * to publish order events, billing hands a narrower right to a worker, an
 * enforcing bus checks every call against proven sessions, the operator
 * revokes the worker, and every decision lands in a signed audit log that
 * the `charter` CLI then verifies (see run_demo.sh).
 *
 * Usage: charter_demo DIR   (writes DIR/audit.log, its checkpoint and
 * DIR/audit.vkey; DIR must exist and hold no earlier log). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "charter.h"

#define ORIGIN "demo.charter.local/audit"

/* A principal of the scenario: its key, its token and, once proven, its
 * session. */
typedef struct {
    const char *name;
    charter_keypair_t *key;
    char *public_key, *principal;
    charter_token_t *token;
    charter_session_t *session;
} party_t;

/* Counts of the decisions read back from the log. */
typedef struct {
    unsigned allowed, denied, other;
} tally_t;

static int fail(charter_status_t status, const char *what) {
    char *message = charter_last_error_message();
    fprintf(stderr, "charter_demo: %s failed: %s\n", what, message ? message : charter_status_name(status));
    charter_string_free(message);
    return 1;
}

/* Prints one authorization outcome. A refusal is an expected result here,
 * so it is shown with its status and message rather than treated as an
 * error; only a status that is not an authorization verdict stops the demo. */
static int show(charter_status_t status, const char *who, const char *what, const char *topic) {
    char *message;
    if (status == CHARTER_OK) {
        printf("   allowed  %-8s %-10s %s\n", who, what, topic);
        return 0;
    }
    if (status != CHARTER_E_DENIED && status != CHARTER_E_REVOKED && status != CHARTER_E_EXPIRED)
        return fail(status, what);
    message = charter_last_error_message();
    printf("   denied   %-8s %-10s %s\n", who, what, topic);
    printf("            %s\n", message ? message : charter_status_name(status));
    charter_string_free(message);
    return 0;
}

static int new_party(party_t *p, const char *name) {
    charter_status_t s;
    p->name = name;
    if ((s = charter_keypair_generate(&p->key)) != CHARTER_OK) return fail(s, "charter_keypair_generate");
    if ((s = charter_keypair_public_key(p->key, &p->public_key)) != CHARTER_OK)
        return fail(s, "charter_keypair_public_key");
    if ((s = charter_keypair_principal(p->key, &p->principal)) != CHARTER_OK)
        return fail(s, "charter_keypair_principal");
    return 0;
}

/* Each party speaks to the bus through a client made with its session:
 * the client is all a component needs, and it can do no more than the
 * session's grants allow. */
static int publish(charter_bus_t *bus, const party_t *p, const char *topic, const char *order) {
    charter_client_t *client = NULL;
    charter_status_t s = charter_client_new(bus, p->session, &client);
    int rc;
    if (s == CHARTER_OK) s = charter_client_publish(client, topic, (const uint8_t *)order, strlen(order), NULL, 0, NULL);
    rc = show(s, p->name, "publish", topic);
    charter_client_free(client);
    return rc;
}

static int subscribe(charter_bus_t *bus, const party_t *p, const char *pattern, uint64_t *out_id) {
    charter_client_t *client = NULL;
    charter_status_t s = charter_client_new(bus, p->session, &client);
    int rc;
    if (s == CHARTER_OK) s = charter_client_subscribe(client, pattern, NULL, out_id);
    rc = show(s, p->name, "subscribe", pattern);
    charter_client_free(client);
    return rc;
}

/* Proof of possession: the holder signs a fresh challenge from the
 * authority with its key, so a token copied off the wire opens nothing. */
static charter_status_t open_session(charter_authority_t *auth, party_t *p) {
    uint8_t challenge[CHARTER_CHALLENGE_LEN], proof[CHARTER_PROOF_LEN];
    charter_status_t status = charter_authority_challenge(auth, challenge);
    if (status == CHARTER_OK) status = charter_token_prove(p->token, p->key, challenge, proof);
    if (status == CHARTER_OK) status = charter_authority_open_session(auth, p->token, challenge, proof, &p->session);
    return status;
}

static charter_status_t count(void *user_data, const charter_audit_record_t *r) {
    tally_t *t = (tally_t *)user_data;
    if (r->decision == CHARTER_AUDIT_ALLOW)
        t->allowed++;
    else if (r->decision == CHARTER_AUDIT_DENY)
        t->denied++;
    else
        t->other++;
    return CHARTER_OK;
}

static int write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    int ok = f && fputs(text, f) >= 0 && fputc('\n', f) != EOF;
    if (f && fclose(f) != 0) ok = 0;
    if (!ok) fprintf(stderr, "charter_demo: cannot write %s\n", path);
    return !ok;
}

/* Everything the scenario allocates, so main can free it on any path. */
typedef struct {
    party_t operator, billing, worker;
    charter_keypair_t *log_key;
    charter_audit_t *log;
    charter_authority_t *auth;
    charter_bus_t *bus;
    char *note, *vkey;
} demo_t;

static void free_party(party_t *p) {
    charter_session_free(p->session);
    charter_token_free(p->token);
    charter_string_free(p->public_key);
    charter_string_free(p->principal);
    charter_keypair_free(p->key);
}

static int run(demo_t *d, const char *dir) {
    const char *billing_grants[] = {"publish orders.*.created", "subscribe payments.>"};
    const char *worker_grants[] = {"publish orders.eu.created"};
    uint64_t now = (uint64_t)time(NULL), records = 0, sub = 0;
    char log_path[1024], vkey_path[1024], *link = NULL;
    charter_audit_options_t opts;
    charter_audit_recorder_t recorder;
    charter_audit_record_t revocation;
    charter_status_t s;
    bool active = true;
    tally_t tally = {0, 0, 0};

    if (snprintf(log_path, sizeof log_path, "%s/audit.log", dir) >= (int)sizeof log_path ||
        snprintf(vkey_path, sizeof vkey_path, "%s/audit.vkey", dir) >= (int)sizeof vkey_path) {
        fprintf(stderr, "charter_demo: directory name too long\n");
        return 1;
    }
    printf("Charter %s end-to-end demo\n\n", charter_version());

    printf("1. The operator creates a root key and opens the audit log\n");
    if (new_party(&d->operator, "operator")) return 1;
    printf("   root     %s\n", d->operator.public_key);

    /* The log signs its checkpoints with a key of its own: auditors then
     * trust the log's key without being able to mint tokens. */
    if ((s = charter_keypair_generate(&d->log_key)) != CHARTER_OK) return fail(s, "charter_keypair_generate");
    charter_audit_options_default(&opts);
    opts.signer = d->log_key;
    opts.origin = ORIGIN;
    if ((s = charter_audit_open(log_path, &opts, &d->log)) != CHARTER_OK) return fail(s, "charter_audit_open");
    charter_audit_len(d->log, &records);
    if (records != 0) {
        fprintf(stderr, "charter_demo: %s already holds %llu records; give an empty directory\n", log_path,
                (unsigned long long)records);
        return 1;
    }
    /* Scope ALL: allowed calls are evidence too, not only refusals. The
     * authority records session openings, the bus every publish and
     * subscribe. */
    recorder.log = d->log;
    recorder.scope = CHARTER_AUDIT_SCOPE_ALL;
    if ((s = charter_authority_new_with_recorder((const char *const *)&d->operator.public_key, 1, NULL, &recorder, &d->auth)) !=
        CHARTER_OK)
        return fail(s, "charter_authority_new_with_recorder");
    if ((s = charter_bus_new_with_recorder(NULL, d->auth, &recorder, &d->bus)) != CHARTER_OK)
        return fail(s, "charter_bus_new_with_recorder");
    printf("   log      %s: the authority's and the bus's every decision\n", log_path);

    printf("\n2. The operator issues billing a token for one hour\n");
    if (new_party(&d->billing, "billing")) return 1;
    if ((s = charter_token_mint(d->operator.key, d->billing.public_key, billing_grants, 2, now, now + 3600,
                                &d->billing.token)) != CHARTER_OK)
        return fail(s, "charter_token_mint");
    printf("   billing  %s\n", d->billing.principal);
    printf("   grants   %s, %s\n", billing_grants[0], billing_grants[1]);

    printf("\n3. billing delegates a narrower token to a worker for 15 minutes\n");
    if (new_party(&d->worker, "worker")) return 1;
    if ((s = charter_token_delegate(d->billing.token, d->billing.key, d->worker.public_key, worker_grants, 1, now,
                                    now + 900, &d->worker.token)) != CHARTER_OK)
        return fail(s, "charter_token_delegate");
    printf("   worker   %s\n", d->worker.principal);
    printf("   grants   %s (a delegation can only narrow)\n", worker_grants[0]);

    printf("\n4. Both prove their keys, open sessions and use the enforcing bus\n");
    if (show(open_session(d->auth, &d->billing), "billing", "open", "session (key proven)") ||
        show(open_session(d->auth, &d->worker), "worker", "open", "session (key proven)"))
        return 1;
    if (!d->billing.session || !d->worker.session) return fail(CHARTER_E_DENIED, "opening a session");
    if (subscribe(d->bus, &d->billing, "payments.>", &sub) || subscribe(d->bus, &d->worker, "payments.>", &sub) ||
        publish(d->bus, &d->billing, "orders.eu.created", "order 1001") ||
        publish(d->bus, &d->billing, "orders.us.created", "order 1002") ||
        publish(d->bus, &d->billing, "orders.eu.deleted", "order 1001") ||
        publish(d->bus, &d->billing, "payments.eu.settled", "order 1001") ||
        publish(d->bus, &d->worker, "orders.eu.created", "order 1003") ||
        publish(d->bus, &d->worker, "orders.us.created", "order 1004"))
        return 1;

    /* Link 0 is the operator's grant to billing, link 1 billing's grant to
     * the worker: revoking link 1 cuts off the worker and no one else. */
    printf("\n5. The operator revokes the worker's delegation\n");
    if ((s = charter_token_link_id(d->worker.token, 1, &link)) != CHARTER_OK) return fail(s, "charter_token_link_id");
    s = charter_authority_revoke(d->auth, link, NULL);
    if (s == CHARTER_OK) {
        /* The revocation is the operator's act, not a bus or authority
         * decision, so it is appended to the log by hand. */
        memset(&revocation, 0, sizeof revocation);
        revocation.time_ms = (uint64_t)time(NULL) * 1000;
        revocation.actor = d->operator.principal;
        revocation.action = "revoke";
        revocation.resource = link;
        revocation.decision = CHARTER_AUDIT_ALLOW;
        revocation.detail = "the worker's delegation";
        s = charter_audit_append(d->log, &revocation, NULL);
    }
    printf("   revoked  link %.16s...\n", link);
    charter_string_free(link);
    if (s != CHARTER_OK) return fail(s, "revoking");
    charter_session_is_active(d->worker.session, &active);
    printf("   worker's session active: %s\n", active ? "yes" : "no");
    if (publish(d->bus, &d->worker, "orders.eu.created", "order 1005")) return 1;
    charter_session_free(d->worker.session);
    d->worker.session = NULL;
    if (show(open_session(d->auth, &d->worker), "worker", "open", "session (key proven)")) return 1;
    printf("   billing's own token is untouched:\n");
    if (publish(d->bus, &d->billing, "orders.eu.created", "order 1006"))
        return 1;

    printf("\n6. The log signs a checkpoint; auditors get it and the verifier key\n");
    if ((s = charter_audit_checkpoint(d->log, &d->note)) != CHARTER_OK) return fail(s, "charter_audit_checkpoint");
    if ((s = charter_audit_verifier_key(d->log, &d->vkey)) != CHARTER_OK) return fail(s, "charter_audit_verifier_key");
    if (write_file(vkey_path, d->vkey)) return 1;
    if ((s = charter_audit_each(d->log, NULL, count, &tally, &records)) != CHARTER_OK)
        return fail(s, "charter_audit_each");
    printf("   checkpoint    %s.checkpoint\n", log_path);
    printf("   verifier key  %s\n", vkey_path);
    printf("   recorded      %llu records: %u allowed, %u denied\n", (unsigned long long)records, tally.allowed,
           tally.denied);
    return tally.other != 0;
}

int main(int argc, char **argv) {
    demo_t d;
    int rc;
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    memset(&d, 0, sizeof d);
    rc = run(&d, argv[1]);
    /* The bus and the authority hold the log open; freeing the log last
     * releases its file lock so the CLI can read it. */
    charter_bus_free(d.bus);
    charter_authority_free(d.auth);
    charter_audit_free(d.log);
    free_party(&d.operator);
    free_party(&d.billing);
    free_party(&d.worker);
    charter_keypair_free(d.log_key);
    charter_string_free(d.note);
    charter_string_free(d.vkey);
    return rc;
}
