/* shim_capability.c: the capability wrappers; see shim.h. */

#include <stdlib.h>
#include <string.h>

#include "shim_result.h"

/* String arrays up to this many (Charter's grant limit) are unpacked on the
 * stack; longer ones (root key lists) take one malloc. */
#define CHGO_STACK_STRINGS 64

/* The pointer array of count packed strings "a\0b\0...": stack (with room
 * for CHGO_STACK_STRINGS) when it fits, else malloc'd; NULL when count is 0
 * or malloc failed. Release it with release_strings. */
static const char **unpack_strings(const char *packed, size_t count, const char **stack) {
    if (count == 0) {
        return NULL;
    }
    const char **out = count <= CHGO_STACK_STRINGS ? stack : malloc(count * sizeof *out);
    if (out == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < count; i++) {
        out[i] = packed;
        packed += strlen(packed) + 1;
    }
    return out;
}

static void release_strings(const char **strings, const char **stack) {
    if (strings != stack) {
        free((void *)strings);
    }
}

/* ---- Key pairs ---- */

chgo_handle chgo_keypair_generate(void) {
    RETURN_RESULT(chgo_handle, charter_keypair_generate((charter_keypair_t **)&r.handle));
}

chgo_handle chgo_keypair_from_pkcs8(const uint8_t *der, size_t len) {
    RETURN_RESULT(chgo_handle, charter_keypair_from_pkcs8(der, len, (charter_keypair_t **)&r.handle));
}

chgo_bytes chgo_keypair_to_pkcs8(charter_keypair_t *pair) {
    RETURN_RESULT(chgo_bytes, charter_keypair_to_pkcs8(pair, &r.data, &r.len));
}

chgo_string chgo_keypair_public_key(charter_keypair_t *pair) {
    RETURN_RESULT(chgo_string, charter_keypair_public_key(pair, &r.value));
}

chgo_string chgo_keypair_principal(charter_keypair_t *pair) {
    RETURN_RESULT(chgo_string, charter_keypair_principal(pair, &r.value));
}

chgo_status chgo_keypair_free(charter_keypair_t *pair) {
    return chgo_status_of(charter_keypair_free(pair));
}

chgo_handle chgo_keypair_from_pem(const char *text, size_t len) {
    char buf[CHGO_INLINE_STRING];
    chgo_handle r = {0};
    RESULT(r, charter_keypair_from_pem(chgo_terminated(text, len, buf), (charter_keypair_t **)&r.handle));
    return r;
}

chgo_string chgo_public_key_parse(const char *text, size_t len) {
    char buf[CHGO_INLINE_STRING];
    chgo_string r = {0};
    RESULT(r, charter_public_key_parse(chgo_terminated(text, len, buf), &r.value));
    return r;
}

chgo_string chgo_keypair_to_pem(charter_keypair_t *pair) {
    RETURN_RESULT(chgo_string, charter_keypair_to_pem(pair, &r.value));
}

chgo_handle chgo_keypair_read_file(const char *path, size_t len, bool allow_open_permissions) {
    char buf[CHGO_INLINE_STRING];
    chgo_handle r = {0};
    RESULT(r, charter_keypair_read_file(chgo_terminated(path, len, buf), allow_open_permissions,
                                        (charter_keypair_t **)&r.handle));
    return r;
}

chgo_status chgo_keypair_write_file(charter_keypair_t *pair, const char *path, size_t len, bool pem) {
    char buf[CHGO_INLINE_STRING];
    return chgo_status_of(charter_keypair_write_file(pair, chgo_terminated(path, len, buf), pem));
}

/* ---- Tokens ---- */

chgo_handle chgo_token_mint(charter_keypair_t *root, const char *subject, size_t subject_len,
                            const char *grants, size_t grant_count, uint64_t not_before,
                            uint64_t not_after) {
    char buf[CHGO_INLINE_STRING];
    const char *stack[CHGO_STACK_STRINGS];
    chgo_handle r = {0};
    const char **gs = unpack_strings(grants, grant_count, stack);
    if (grant_count > 0 && gs == NULL) {
        r.status = CHGO_OUT_OF_MEMORY;
        return r;
    }
    RESULT(r, charter_token_mint(root, chgo_terminated(subject, subject_len, buf), gs, grant_count,
                                 not_before, not_after, (charter_token_t **)&r.handle));
    release_strings(gs, stack);
    return r;
}

chgo_handle chgo_token_delegate(charter_token_t *token, charter_keypair_t *holder,
                                const char *subject, size_t subject_len, const char *grants,
                                size_t grant_count, uint64_t not_before, uint64_t not_after) {
    char buf[CHGO_INLINE_STRING];
    const char *stack[CHGO_STACK_STRINGS];
    chgo_handle r = {0};
    const char **gs = unpack_strings(grants, grant_count, stack);
    if (grant_count > 0 && gs == NULL) {
        r.status = CHGO_OUT_OF_MEMORY;
        return r;
    }
    RESULT(r, charter_token_delegate(token, holder, chgo_terminated(subject, subject_len, buf), gs,
                                     grant_count, not_before, not_after,
                                     (charter_token_t **)&r.handle));
    release_strings(gs, stack);
    return r;
}

chgo_handle chgo_token_decode(const uint8_t *bytes, size_t len) {
    RETURN_RESULT(chgo_handle, charter_token_decode(bytes, len, (charter_token_t **)&r.handle));
}

chgo_handle chgo_token_from_text(const char *text, size_t text_len) {
    char buf[CHGO_INLINE_STRING];
    chgo_handle r = {0};
    RESULT(r, charter_token_from_text(chgo_terminated(text, text_len, buf),
                                      (charter_token_t **)&r.handle));
    return r;
}

chgo_bytes chgo_token_encode(charter_token_t *token) {
    RETURN_RESULT(chgo_bytes, charter_token_encode(token, &r.data, &r.len));
}

chgo_string chgo_token_to_text(charter_token_t *token) {
    RETURN_RESULT(chgo_string, charter_token_to_text(token, &r.value));
}

chgo_string chgo_token_inspect(charter_token_t *token) {
    RETURN_RESULT(chgo_string, charter_token_inspect(token, &r.value));
}

chgo_value chgo_token_link_count(charter_token_t *token) {
    size_t count = 0;
    charter_status_t status = charter_token_link_count(token, &count);
    return chgo_value_of(status, count);
}

chgo_string chgo_token_subject(charter_token_t *token) {
    RETURN_RESULT(chgo_string, charter_token_subject(token, &r.value));
}

chgo_string chgo_token_root_key(charter_token_t *token) {
    RETURN_RESULT(chgo_string, charter_token_root_key(token, &r.value));
}

chgo_string chgo_token_link_id(charter_token_t *token, size_t index) {
    RETURN_RESULT(chgo_string, charter_token_link_id(token, index, &r.value));
}

chgo_status chgo_token_prove(charter_token_t *token, charter_keypair_t *holder,
                             const uint8_t *challenge, uint8_t *out_proof) {
    return chgo_status_of(charter_token_prove(token, holder, challenge, out_proof));
}

chgo_status chgo_token_free(charter_token_t *token) {
    return chgo_status_of(charter_token_free(token));
}

/* ---- Authorities ---- */

chgo_handle chgo_authority_new(const char *roots, size_t root_count,
                               charter_authority_options_t options) {
    const char *stack[CHGO_STACK_STRINGS];
    chgo_handle r = {0};
    const char **keys = unpack_strings(roots, root_count, stack);
    if (root_count > 0 && keys == NULL) {
        r.status = CHGO_OUT_OF_MEMORY;
        return r;
    }
    RESULT(r, charter_authority_new(keys, root_count, &options, (charter_authority_t **)&r.handle));
    release_strings(keys, stack);
    return r;
}

chgo_handle chgo_authority_new_with_recorder(const char *roots, size_t root_count,
                                             charter_authority_options_t options,
                                             charter_audit_t *log, int32_t scope) {
    const char *stack[CHGO_STACK_STRINGS];
    charter_audit_recorder_t recorder;
    chgo_handle r = {0};
    const char **keys = unpack_strings(roots, root_count, stack);
    if (root_count > 0 && keys == NULL) {
        r.status = CHGO_OUT_OF_MEMORY;
        return r;
    }
    recorder.log = log;
    recorder.scope = scope;
    RESULT(r, charter_authority_new_with_recorder(keys, root_count, &options, &recorder,
                                                  (charter_authority_t **)&r.handle));
    release_strings(keys, stack);
    return r;
}

chgo_status chgo_authority_set_time(charter_authority_t *auth, uint64_t now) {
    return chgo_status_of(charter_authority_set_time(auth, now));
}

chgo_status chgo_authority_trust(charter_authority_t *auth, const char *key, size_t key_len) {
    char buf[CHGO_INLINE_STRING];
    return chgo_status_of(charter_authority_trust(auth, chgo_terminated(key, key_len, buf)));
}

chgo_value chgo_authority_distrust(charter_authority_t *auth, const char *key, size_t key_len) {
    char buf[CHGO_INLINE_STRING];
    bool removed = false;
    charter_status_t status = charter_authority_distrust(auth, chgo_terminated(key, key_len, buf), &removed);
    return chgo_value_of(status, removed);
}

chgo_string chgo_authority_verify(charter_authority_t *auth, charter_token_t *token) {
    RETURN_RESULT(chgo_string, charter_authority_verify(auth, token, &r.value));
}

chgo_status chgo_authority_challenge(charter_authority_t *auth, uint8_t *out_challenge) {
    return chgo_status_of(charter_authority_challenge(auth, out_challenge));
}

chgo_handle chgo_authority_open_session(charter_authority_t *auth, charter_token_t *token,
                                        const uint8_t *challenge, const uint8_t *proof) {
    RETURN_RESULT(chgo_handle, charter_authority_open_session(auth, token, challenge, proof,
                                                              (charter_session_t **)&r.handle));
}

chgo_value chgo_authority_revoke(charter_authority_t *auth, const char *link_id, size_t len) {
    char buf[CHGO_INLINE_STRING];
    bool added = false;
    charter_status_t status = charter_authority_revoke(auth, chgo_terminated(link_id, len, buf), &added);
    return chgo_value_of(status, added);
}

chgo_value chgo_authority_unrevoke(charter_authority_t *auth, const char *link_id, size_t len) {
    char buf[CHGO_INLINE_STRING];
    bool removed = false;
    charter_status_t status = charter_authority_unrevoke(auth, chgo_terminated(link_id, len, buf), &removed);
    return chgo_value_of(status, removed);
}

chgo_string chgo_authority_export_revocations(charter_authority_t *auth) {
    RETURN_RESULT(chgo_string, charter_authority_export_revocations(auth, &r.value));
}

chgo_value chgo_authority_import_revocations(charter_authority_t *auth, const char *text,
                                             size_t len) {
    char buf[CHGO_INLINE_STRING];
    size_t count = 0;
    charter_status_t status = charter_authority_import_revocations(auth, chgo_terminated(text, len, buf), &count);
    return chgo_value_of(status, count);
}

chgo_status chgo_authority_free(charter_authority_t *auth) {
    return chgo_status_of(charter_authority_free(auth));
}

/* ---- Sessions ---- */

chgo_status chgo_session_check(charter_session_t *session, int32_t action, const char *topic,
                               size_t topic_len) {
    char buf[CHGO_INLINE_STRING];
    return chgo_status_of(charter_session_check(session, action, chgo_terminated(topic, topic_len, buf)));
}

chgo_value chgo_session_is_active(charter_session_t *session) {
    bool active = false;
    charter_status_t status = charter_session_is_active(session, &active);
    return chgo_value_of(status, active);
}

chgo_string chgo_session_principal(charter_session_t *session) {
    RETURN_RESULT(chgo_string, charter_session_principal(session, &r.value));
}

chgo_value chgo_session_expires_at(charter_session_t *session) {
    RETURN_RESULT(chgo_value, charter_session_expires_at(session, &r.value));
}

chgo_status chgo_session_free(charter_session_t *session) {
    return chgo_status_of(charter_session_free(session));
}
