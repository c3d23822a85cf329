/* Keys, an authority and a session: what the tests of capabilities, of an
 * enforcing bus and of its readiness start from. Inline, so a test that
 * uses only some of them builds without warnings. */
#ifndef CHARTER_TESTS_SESSION_FIXTURE_H
#define CHARTER_TESTS_SESSION_FIXTURE_H

#include <stdint.h>
#include <string.h>

#include "charter.h"
#include "check.h"

/* A new key pair, its public key (which always has the charter-pk1:
 * prefix) in `*pk`. free_keypair frees both. */
static inline charter_keypair_t *new_keypair(char **pk) {
    charter_keypair_t *key = NULL;
    CHECK_OK(charter_keypair_generate(&key));
    CHECK_OK(charter_keypair_public_key(key, pk));
    CHECK(strncmp(*pk, "charter-pk1:", 12) == 0);
    return key;
}

static inline void free_keypair(charter_keypair_t *key, char *pk) {
    CHECK_OK(charter_keypair_free(key));
    charter_string_free(pk);
}

/* An authority trusting the one root `root_pk`, its clock fixed at `now`
 * (0: the system clock), recording its decisions through `recorder` unless
 * that is NULL. */
static inline charter_authority_t *authority_at(const char *root_pk, uint64_t now,
                                                const charter_audit_recorder_t *recorder) {
    charter_authority_options_t opts;
    charter_authority_t *auth = NULL;
    const char *roots[1];
    CHECK_OK(charter_authority_options_default(&opts));
    opts.fixed_time = now;
    roots[0] = root_pk;
    if (recorder == NULL) {
        CHECK_OK(charter_authority_new(roots, 1, &opts, &auth));
    } else {
        CHECK_OK(charter_authority_new_with_recorder(roots, 1, &opts, recorder, &auth));
    }
    return auth;
}

/* A session for `token`, its holder `holder` answering a fresh challenge. */
static inline charter_session_t *session_for(charter_authority_t *auth, charter_token_t *token,
                                             charter_keypair_t *holder) {
    uint8_t challenge[CHARTER_CHALLENGE_LEN], proof[CHARTER_PROOF_LEN];
    charter_session_t *s = NULL;
    CHECK_OK(charter_authority_challenge(auth, challenge));
    CHECK_OK(charter_token_prove(token, holder, challenge, proof));
    CHECK_OK(charter_authority_open_session(auth, token, challenge, proof, &s));
    return s;
}

/* A holder with a session on jobs.> (subscribe and publish) from `t0`
 * until `until`, the authority's clock at `t0`; `link` is the session's
 * one link, to revoke. */
typedef struct {
    charter_keypair_t *root, *holder;
    char *root_pk, *holder_pk, *link;
    charter_authority_t *auth;
    charter_session_t *session;
} holder_world_t;

static inline holder_world_t holder_world(uint64_t t0, uint64_t until) {
    holder_world_t w;
    const char *grants[2] = {"subscribe jobs.>", "publish jobs.>"};
    charter_token_t *t = NULL;
    w.root = new_keypair(&w.root_pk);
    w.holder = new_keypair(&w.holder_pk);
    w.auth = authority_at(w.root_pk, t0, NULL);
    CHECK_OK(charter_token_mint(w.root, w.holder_pk, grants, 2, t0, until, &t));
    CHECK_OK(charter_token_link_id(t, 0, &w.link));
    w.session = session_for(w.auth, t, w.holder);
    CHECK_OK(charter_token_free(t));
    return w;
}

static inline void end_holder_world(holder_world_t *w) {
    CHECK_OK(charter_session_free(w->session));
    CHECK_OK(charter_authority_free(w->auth));
    free_keypair(w->root, w->root_pk);
    free_keypair(w->holder, w->holder_pk);
    charter_string_free(w->link);
}

#endif
