/*
 * shim.h: the C side of the Go binding.
 *
 * Charter reports error detail through a thread-local "last error", but a
 * goroutine may move to another OS thread between two cgo calls. Each
 * chgo_* wrapper therefore makes its Charter call and, on failure, takes
 * the message in the same cgo call, returning both by value. Returning by
 * value also means Go never passes a pointer to an out-parameter, so
 * nothing is forced onto the heap.
 *
 * This header holds declarations only: callback.go includes it in a cgo
 * preamble next to //export, where definitions are not allowed.
 */

#ifndef CHARTER_GO_SHIM_H
#define CHARTER_GO_SHIM_H

#include <stdint.h>

#include "charter.h"

/* The outcome of a call with no result. message is set, caller-owned, only
 * when status is not CHARTER_OK. */
typedef struct {
    charter_status_t status;
    char *message;
} chgo_status;

/* The outcome of a call that creates a registry. */
typedef struct {
    charter_status_t status;
    char *message;
    charter_registry_t *registry;
} chgo_registry;

/* The outcome of a call with an integer result (an id, a length or a bool
 * as 0 or 1). */
typedef struct {
    charter_status_t status;
    char *message;
    uint64_t value;
} chgo_value;

/* The outcome of a notify. */
typedef struct {
    charter_status_t status;
    char *message;
    charter_notify_report_t report;
} chgo_notify;

chgo_registry chgo_registry_new(void);
chgo_registry chgo_registry_new_with_max_depth(uint32_t max_depth);
chgo_status chgo_registry_free(charter_registry_t *reg);

/* Registers the Go handler behind the runtime/cgo.Handle `handle`. When the
 * registration ends, Charter calls back into Go to delete the handle. */
chgo_value chgo_registry_register(charter_registry_t *reg, int32_t priority, uintptr_t handle);
chgo_value chgo_registry_register_once(charter_registry_t *reg, int32_t priority, uintptr_t handle);
chgo_value chgo_registry_unregister(charter_registry_t *reg, uint64_t id);
chgo_value chgo_registry_unregister_and_wait(charter_registry_t *reg, uint64_t id);
chgo_value chgo_registry_contains(charter_registry_t *reg, uint64_t id);
chgo_value chgo_registry_len(charter_registry_t *reg);
chgo_status chgo_registry_clear(charter_registry_t *reg);
chgo_status chgo_registry_clear_and_wait(charter_registry_t *reg);
chgo_notify chgo_registry_notify(charter_registry_t *reg, const uint8_t *event, size_t len);

/* ---- Bus ----
 *
 * Strings from Go (topics, patterns, reply inboxes) arrive as a pointer and
 * a length, since Go strings carry no NUL. The wrappers copy one shorter
 * than CHGO_INLINE_STRING onto the C stack and terminate it; a longer one
 * (never a valid topic: Charter allows at most 256 bytes) must already be
 * followed by a NUL, which the Go side arranges. So a valid topic costs
 * no Go allocation.
 *
 * Headers arrive packed as "name\0value\0name\0value\0..." with their
 * count: a Go buffer may not hold pointers when passed to C, so the
 * wrappers build the charter_header_t array themselves. */

#define CHGO_INLINE_STRING 257

/* The outcome of a call that creates a bus. */
typedef struct {
    charter_status_t status;
    char *message;
    charter_bus_t *bus;
} chgo_bus;

/* The outcome of a call that creates a client. */
typedef struct {
    charter_status_t status;
    char *message;
    charter_client_t *client;
} chgo_client;

/* The outcome of a publish or respond. */
typedef struct {
    charter_status_t status;
    char *message;
    charter_publish_report_t report;
} chgo_publish;

/* The outcome of a receive: msg is caller-owned on success. */
typedef struct {
    charter_status_t status;
    char *message;
    charter_message_t *msg;
} chgo_message;

/* The outcome of a subscription stats call. */
typedef struct {
    charter_status_t status;
    char *message;
    charter_subscription_stats_t stats;
} chgo_subscription_stats;

/* The outcome of a bus stats call. */
typedef struct {
    charter_status_t status;
    char *message;
    charter_bus_stats_t stats;
} chgo_stats;

/* Creates a bus, enforcing auth's grants when auth is not NULL. */
chgo_bus chgo_bus_new(charter_bus_limits_t limits, charter_authority_t *auth);
chgo_status chgo_bus_free(charter_bus_t *bus);
/* A client of bus for the holder of session, or for a caller without one
 * when session is NULL: every message call below goes through one. */
chgo_client chgo_client_new(charter_bus_t *bus, charter_session_t *session);
chgo_status chgo_client_free(charter_client_t *client);
chgo_value chgo_client_subscribe(charter_client_t *client, const char *pattern, size_t pattern_len,
                                 charter_subscribe_options_t options);
/* Subscribes the Go MessageFunc behind the runtime/cgo.Handle `handle`;
 * Charter calls back into Go to delete the handle when the subscription
 * ends. */
chgo_value chgo_client_subscribe_callback(charter_client_t *client, const char *pattern,
                                          size_t pattern_len, charter_subscribe_options_t options,
                                          uintptr_t handle);
chgo_value chgo_client_unsubscribe(charter_client_t *client, uint64_t id);
chgo_publish chgo_client_publish(charter_client_t *client, const char *topic, size_t topic_len,
                                 const uint8_t *payload, size_t len, const char *headers,
                                 size_t header_count);
chgo_message chgo_client_recv(charter_client_t *client, uint64_t id, uint32_t timeout_ms);

/* The outcome of a batch publish: on failure, published counts the
 * messages before the one that failed and report adds up theirs. */
typedef struct {
    charter_status_t status;
    char *message;
    size_t published;
    charter_publish_report_t report;
} chgo_publish_many;

/* The outcome of a batch receive: count messages written to the caller's
 * array, each caller-owned. message is not set for CHARTER_E_WOULD_BLOCK. */
typedef struct {
    charter_status_t status;
    char *message;
    size_t count;
} chgo_recv_many;

/* One payload of chgo_client_publish_many as Go lays it out: its offset
 * in the batch's packed data, and its length. A Go buffer passed to C may
 * not hold Go pointers, so Go writes offsets; the wrapper turns each slot
 * into a charter_payload_t in place (the two have one size and layout). */
typedef struct {
    size_t offset;
    size_t len;
} chgo_payload;

/* Publishes the count payloads that slots describe, packed in data (a
 * payload repeated is packed once, its offset repeated). Rewrites slots
 * into charter_payload_t values: Go must not read them after the call. */
chgo_publish_many chgo_client_publish_many(charter_client_t *client, const char *topic, size_t topic_len,
                                           const uint8_t *data, chgo_payload *slots, size_t count,
                                           const char *headers, size_t header_count);
/* Takes up to max queued messages into out without waiting. */
chgo_recv_many chgo_client_recv_many(charter_client_t *client, uint64_t id, charter_message_t **out, size_t max);
/* The outcome of charter_client_recv_into: count entries written, and
 * whether a message was left queued for want of room. message is not set
 * for CHARTER_E_WOULD_BLOCK. */
typedef struct {
    charter_status_t status;
    char *message;
    size_t count;
    bool more;
} chgo_recv_into;

/* Takes up to max queued messages into the caller's buf and entries
 * (Go memory without pointers) without waiting. */
chgo_recv_into chgo_client_recv_into(charter_client_t *client, uint64_t id, uint8_t *buf, size_t buf_len,
                                     charter_received_t *entries, size_t max);
/* Frees the count messages of a batch receive in one cgo call. */
void chgo_messages_free(charter_message_t **msgs, size_t count);
chgo_value chgo_client_request_start(charter_client_t *client, const char *topic, size_t topic_len,
                                     const uint8_t *payload, size_t len, const char *headers,
                                     size_t header_count);
/* Answers the request whose reply inbox is reply_to. */
chgo_publish chgo_client_respond(charter_client_t *client, const char *reply_to, size_t reply_to_len,
                                 const uint8_t *payload, size_t len, const char *headers,
                                 size_t header_count);
chgo_subscription_stats chgo_client_subscription_stats(charter_client_t *client, uint64_t id);
chgo_stats chgo_bus_stats(charter_bus_t *bus);
chgo_value chgo_bus_evict_idle(charter_bus_t *bus);

/* ---- Readiness (readiness.go, wait.go) ----
 *
 * A waiter's C function calls the exported charterGoReady with the
 * runtime/cgo.Handle of the channel it signals. */

/* The outcome of a call that creates a waiter. */
typedef struct {
    charter_status_t status;
    char *message;
    charter_waiter_t *waiter;
} chgo_waiter;

/* The outcome of a poll: a message (CHARTER_OK), or CHARTER_E_WOULD_BLOCK
 * with the waiter armed and recheck_ms the time until the subscription's
 * session expires (UINT64_MAX: none), or the error that ended it. message
 * is not set for CHARTER_E_WOULD_BLOCK, the common case. */
typedef struct {
    charter_status_t status;
    char *message;
    charter_message_t *msg;
    uint64_t recheck_ms;
} chgo_polled;

chgo_waiter chgo_waiter_new(uintptr_t handle);
void chgo_waiter_free(charter_waiter_t *waiter);
chgo_polled chgo_client_poll_recv(charter_client_t *client, uint64_t id, charter_waiter_t *waiter);
chgo_status chgo_client_disarm(charter_client_t *client, uint64_t id, charter_waiter_t *waiter);

/* A NUL-terminated copy of the len bytes at s in buf (CHGO_INLINE_STRING
 * bytes), or s itself when too long for buf: the Go side terminates those. */
const char *chgo_terminated(const char *s, size_t len, char *buf);

/* ---- Capabilities (shim_capability.c) ----
 *
 * Single strings arrive as pointer and length, as on the bus. String
 * arrays (grants, root keys) arrive packed as "a\0b\0..." with their count,
 * for the same reason as headers. Strings and bytes that Charter returns
 * are handed to Go, which copies and frees them. */

/* The outcome of a call that creates a key pair, token, authority or
 * session; Go casts handle to the type it asked for. */
typedef struct {
    charter_status_t status;
    char *message;
    void *handle;
} chgo_handle;

/* The outcome of a call with a string result, caller-owned on success. */
typedef struct {
    charter_status_t status;
    char *message;
    char *value;
} chgo_string;

/* The outcome of a call with a byte result, caller-owned on success (free
 * with charter_bytes_free(data, len)). */
typedef struct {
    charter_status_t status;
    char *message;
    uint8_t *data;
    size_t len;
} chgo_bytes;

chgo_handle chgo_keypair_generate(void);
chgo_handle chgo_keypair_from_pkcs8(const uint8_t *der, size_t len);
chgo_bytes chgo_keypair_to_pkcs8(charter_keypair_t *pair);
chgo_string chgo_keypair_public_key(charter_keypair_t *pair);
chgo_string chgo_keypair_principal(charter_keypair_t *pair);
chgo_string chgo_public_key_parse(const char *text, size_t len);
chgo_status chgo_keypair_free(charter_keypair_t *pair);
chgo_handle chgo_keypair_from_pem(const char *text, size_t len);
chgo_string chgo_keypair_to_pem(charter_keypair_t *pair);
chgo_handle chgo_keypair_read_file(const char *path, size_t len, bool allow_open_permissions);
chgo_status chgo_keypair_write_file(charter_keypair_t *pair, const char *path, size_t len, bool pem);

chgo_handle chgo_token_mint(charter_keypair_t *root, const char *subject, size_t subject_len,
                            const char *grants, size_t grant_count, uint64_t not_before,
                            uint64_t not_after);
chgo_handle chgo_token_delegate(charter_token_t *token, charter_keypair_t *holder,
                                const char *subject, size_t subject_len, const char *grants,
                                size_t grant_count, uint64_t not_before, uint64_t not_after);
chgo_handle chgo_token_decode(const uint8_t *bytes, size_t len);
chgo_handle chgo_token_from_text(const char *text, size_t text_len);
chgo_bytes chgo_token_encode(charter_token_t *token);
chgo_string chgo_token_to_text(charter_token_t *token);
chgo_string chgo_token_inspect(charter_token_t *token);
chgo_value chgo_token_link_count(charter_token_t *token);
chgo_string chgo_token_subject(charter_token_t *token);
chgo_string chgo_token_root_key(charter_token_t *token);
chgo_string chgo_token_link_id(charter_token_t *token, size_t index);
/* Writes CHARTER_PROOF_LEN bytes to out_proof. */
chgo_status chgo_token_prove(charter_token_t *token, charter_keypair_t *holder,
                             const uint8_t *challenge, uint8_t *out_proof);
chgo_status chgo_token_free(charter_token_t *token);

chgo_handle chgo_authority_new(const char *roots, size_t root_count,
                               charter_authority_options_t options);
chgo_status chgo_authority_set_time(charter_authority_t *auth, uint64_t now);
chgo_status chgo_authority_trust(charter_authority_t *auth, const char *key, size_t key_len);
chgo_value chgo_authority_distrust(charter_authority_t *auth, const char *key, size_t key_len);
chgo_string chgo_authority_verify(charter_authority_t *auth, charter_token_t *token);
/* Writes CHARTER_CHALLENGE_LEN bytes to out_challenge. */
chgo_status chgo_authority_challenge(charter_authority_t *auth, uint8_t *out_challenge);
chgo_handle chgo_authority_open_session(charter_authority_t *auth, charter_token_t *token,
                                        const uint8_t *challenge, const uint8_t *proof);
chgo_value chgo_authority_revoke(charter_authority_t *auth, const char *link_id, size_t len);
chgo_value chgo_authority_unrevoke(charter_authority_t *auth, const char *link_id, size_t len);
chgo_string chgo_authority_export_revocations(charter_authority_t *auth);
chgo_value chgo_authority_import_revocations(charter_authority_t *auth, const char *text,
                                             size_t len);
chgo_status chgo_authority_free(charter_authority_t *auth);

chgo_status chgo_session_check(charter_session_t *session, int32_t action, const char *topic,
                               size_t topic_len);
chgo_value chgo_session_is_active(charter_session_t *session);
chgo_string chgo_session_principal(charter_session_t *session);
chgo_value chgo_session_expires_at(charter_session_t *session);
chgo_status chgo_session_free(charter_session_t *session);

/* ---- Audit logs (shim_audit.c) ----
 *
 * Strings arrive as pointer and length, as on the bus; those of a record
 * longer than CHGO_INLINE_STRING are terminated by the Go side. Records
 * come back in batches: charter_audit_each calls a C collector, never Go,
 * so the Go iterator yields with no C frame below it. */

/* The outcome of a call that writes a 32-byte hash. */
typedef struct {
    charter_status_t status;
    char *message;
    uint8_t hash[CHARTER_AUDIT_HASH_LEN];
} chgo_hash;

/* The outcome of a call that writes a caller-owned record (free with
 * charter_audit_record_free). */
typedef struct {
    charter_status_t status;
    char *message;
    charter_audit_record_t *record;
} chgo_owned_record;

/* One record of a batch: malloc'd copies (actor NULL when none). */
typedef struct {
    uint64_t index;
    uint64_t time_ms;
    int32_t decision;
    int32_t reason;
    char *actor;
    char *action;
    char *resource;
    char *detail;
    bool actor_unproven;
} chgo_record;

/* Up to max records of an iteration, and its outcome: the records come
 * before the failure, if any. Free with chgo_audit_batch_free. */
typedef struct {
    charter_status_t status;
    char *message;
    chgo_record *records;
    size_t count;
} chgo_audit_batch;

/* The outcome of a verify. problem is caller-owned, NULL when ok;
 * witnesses (a file verify's witness names, one per line) caller-owned or
 * NULL. */
typedef struct {
    charter_status_t status;
    char *message;
    charter_audit_report_t report;
    char *problem;
    char *witnesses;
} chgo_report;

/* The outcome of charter_audit_recovery. */
typedef struct {
    charter_status_t status;
    char *message;
    charter_audit_recovery_t recovery;
} chgo_recovery;

/* The outcome of charter_audit_verify_checkpoint. */
typedef struct {
    charter_status_t status;
    char *message;
    char *origin;
    uint64_t size;
    uint8_t root[CHARTER_AUDIT_HASH_LEN];
} chgo_checkpoint;

/* Opens the log at path (in memory when path is NULL), or starts it over
 * when reason is not NULL. signer and origin may be NULL. */
chgo_handle chgo_audit_open(const char *path, size_t path_len, int32_t fsync, uint32_t interval_ms,
                            charter_keypair_t *signer, const char *origin, size_t origin_len,
                            uint64_t checkpoint_every, uint32_t checkpoint_interval_ms,
                            const char *reason, size_t reason_len);
chgo_status chgo_audit_free(charter_audit_t *log);
chgo_value chgo_audit_append(charter_audit_t *log, uint64_t time_ms, const char *actor,
                             size_t actor_len, bool actor_unproven, const char *action,
                             size_t action_len, const char *resource, size_t resource_len,
                             int32_t decision, int32_t reason, const char *detail, size_t detail_len);
chgo_status chgo_audit_sync(charter_audit_t *log);
chgo_value chgo_audit_len(charter_audit_t *log);
chgo_hash chgo_audit_root(charter_audit_t *log);
chgo_hash chgo_audit_root_at(charter_audit_t *log, uint64_t size);
chgo_hash chgo_audit_record_hash(charter_audit_t *log, uint64_t index);
chgo_bytes chgo_audit_prove_inclusion(charter_audit_t *log, uint64_t index, uint64_t size);
chgo_bytes chgo_audit_prove_consistency(charter_audit_t *log, uint64_t old_size, uint64_t new_size);
chgo_owned_record chgo_audit_get(charter_audit_t *log, uint64_t index);
/* At most max records, from from_index on, that the filter selects. actor
 * is NULL for any actor. */
chgo_audit_batch chgo_audit_each(charter_audit_t *log, uint64_t from_index, uint64_t time_from_ms,
                                 uint64_t time_until_ms, const char *actor, size_t actor_len,
                                 int32_t decision, size_t max);
void chgo_audit_batch_free(chgo_record *records, size_t count);
chgo_string chgo_audit_verifier_key(charter_audit_t *log);
chgo_string chgo_audit_checkpoint(charter_audit_t *log);
/* value is NULL when there is no checkpoint yet. */
chgo_string chgo_audit_latest_checkpoint(charter_audit_t *log);
/* Verifies against note too when it is not NULL. */
chgo_report chgo_audit_verify(charter_audit_t *log, const char *note, size_t note_len);
chgo_recovery chgo_audit_recovery(charter_audit_t *log);
chgo_hash chgo_audit_leaf_hash(const uint8_t *leaf, size_t len);
chgo_status chgo_audit_verify_inclusion(const uint8_t *leaf_hash, uint64_t index, uint64_t size,
                                        const uint8_t *proof, size_t proof_len,
                                        const uint8_t *root);
chgo_status chgo_audit_verify_consistency(uint64_t old_size, uint64_t new_size,
                                          const uint8_t *old_root, const uint8_t *new_root,
                                          const uint8_t *proof, size_t proof_len);
chgo_checkpoint chgo_audit_verify_checkpoint(const char *note, size_t note_len, const char *key,
                                             size_t key_len);

/* The auditor's path, cosignatures and witnesses. String arrays arrive
 * packed, "a\0b\0...", as for authorities. */

/* The outcome of charter_audit_prove_file_inclusion: the proof (free with
 * charter_bytes_free) and the root of the tree it is for. */
typedef struct {
    charter_status_t status;
    char *message;
    uint8_t *data;
    size_t len;
    uint8_t root[CHARTER_AUDIT_HASH_LEN];
} chgo_proof;

/* The outcome of charter_audit_verify_cosigned_names; names is
 * caller-owned on success (one name per line). */
typedef struct {
    charter_status_t status;
    char *message;
    uint64_t size;
    uint8_t root[CHARTER_AUDIT_HASH_LEN];
    size_t count;
    char *names;
} chgo_cosigned;

/* The outcome of charter_audit_parse_witness_request; proof and note are
 * caller-owned on success. */
typedef struct {
    charter_status_t status;
    char *message;
    uint64_t old_size;
    uint8_t *proof;
    size_t proof_len;
    char *note;
} chgo_witness_request;

/* The outcome of charter_witness_latest. */
typedef struct {
    charter_status_t status;
    char *message;
    uint64_t size;
    uint8_t root[CHARTER_AUDIT_HASH_LEN];
    bool found;
} chgo_latest;

/* Verifies the log file at path. log_key, against and state may be NULL. */
chgo_report chgo_audit_verify_file(const char *path, size_t path_len, const char *log_key,
                                   size_t log_key_len, bool allow_missing_checkpoint,
                                   const char *against, size_t against_len, const char *witnesses,
                                   size_t witness_count, size_t quorum, const char *state,
                                   size_t state_len);
chgo_proof chgo_audit_prove_file_inclusion(const char *path, size_t path_len, uint64_t index,
                                           uint64_t size);
chgo_bytes chgo_audit_prove_file_consistency(const char *path, size_t path_len, uint64_t old_size,
                                             uint64_t new_size);
chgo_string chgo_audit_cosigner_key(charter_keypair_t *key, const char *name, size_t name_len);
chgo_string chgo_audit_cosign(const char *note, size_t note_len, const char *name, size_t name_len,
                              charter_keypair_t *key, uint64_t timestamp);
chgo_cosigned chgo_audit_verify_cosigned(const char *note, size_t note_len, const char *log_key,
                                         size_t log_key_len, const char *witnesses,
                                         size_t witness_count, size_t quorum, uint64_t *timestamps);
chgo_string chgo_audit_witness_request(uint64_t old_size, const uint8_t *proof, size_t proof_len,
                                       const char *note, size_t note_len);
chgo_witness_request chgo_audit_parse_witness_request(const char *body, size_t body_len);
chgo_handle chgo_witness_open(const char *state, size_t state_len, const char *name,
                              size_t name_len, charter_keypair_t *key, const char *log_keys,
                              size_t log_key_count);
chgo_status chgo_witness_free(charter_witness_t *witness);

/* The outcome of charter_audit_view_len. */
typedef struct {
    charter_status_t status;
    char *message;
    uint64_t len;
    uint8_t root[CHARTER_AUDIT_HASH_LEN];
} chgo_view_len;

chgo_handle chgo_audit_view_open(const char *path, size_t path_len);
chgo_status chgo_audit_view_free(charter_audit_view_t *view);
chgo_view_len chgo_audit_view_len(charter_audit_view_t *view);
chgo_proof chgo_audit_view_prove_inclusion(charter_audit_view_t *view, uint64_t index, uint64_t size);
chgo_bytes chgo_audit_view_prove_consistency(charter_audit_view_t *view, uint64_t old_size,
                                             uint64_t new_size);
chgo_string chgo_audit_view_witness_request(charter_audit_view_t *view, uint64_t old_size);
chgo_string chgo_witness_verifier_key(charter_witness_t *witness);
/* timestamp 0 is now. */
chgo_string chgo_witness_add_checkpoint(charter_witness_t *witness, uint64_t old_size,
                                        const uint8_t *proof, size_t proof_len, const char *note,
                                        size_t note_len, uint64_t timestamp);
chgo_latest chgo_witness_latest(charter_witness_t *witness, const char *origin, size_t origin_len);

/* Creates a bus recording into log, enforcing auth's grants when auth is
 * not NULL. */
chgo_bus chgo_bus_new_with_recorder(charter_bus_limits_t limits, charter_authority_t *auth,
                                    charter_audit_t *log, int32_t scope);
chgo_handle chgo_authority_new_with_recorder(const char *roots, size_t root_count,
                                             charter_authority_options_t options,
                                             charter_audit_t *log, int32_t scope);

/* ---- Topics (shim_topic.c) ----
 *
 * Strings arrive as pointer and length, as on the bus. A match or a
 * containment comes back as value 0 or 1. */

chgo_status chgo_topic_validate(const char *topic, size_t topic_len);
chgo_status chgo_pattern_validate(const char *pattern, size_t pattern_len);
chgo_value chgo_topic_matches(const char *pattern, size_t pattern_len, const char *topic, size_t topic_len);
chgo_value chgo_pattern_contains(const char *inner, size_t inner_len, const char *outer, size_t outer_len);

#endif /* CHARTER_GO_SHIM_H */
