/* shim_audit.c: the audit log wrappers; see shim.h. */

#include <stdlib.h>
#include <string.h>

#include "shim_result.h"

/* A NUL-terminated view of an optional Go string: NULL when s is NULL. */
static const char *optional(const char *s, size_t len, char *buf) {
    return s == NULL ? NULL : chgo_terminated(s, len, buf);
}

chgo_handle chgo_audit_open(const char *path, size_t path_len, int32_t fsync, uint32_t interval_ms,
                            charter_keypair_t *signer, const char *origin, size_t origin_len,
                            uint64_t checkpoint_every, uint32_t checkpoint_interval_ms,
                            const char *reason, size_t reason_len) {
    char path_buf[CHGO_INLINE_STRING], origin_buf[CHGO_INLINE_STRING];
    char reason_buf[CHGO_INLINE_STRING];
    charter_audit_options_t options;
    chgo_handle r = {0};
    charter_audit_options_default(&options);
    options.fsync = fsync;
    options.fsync_interval_ms = interval_ms;
    options.signer = signer;
    options.origin = optional(origin, origin_len, origin_buf);
    options.checkpoint_every = checkpoint_every;
    options.checkpoint_interval_ms = checkpoint_interval_ms;
    if (path == NULL) {
        RESULT(r, charter_audit_in_memory(&options, (charter_audit_t **)&r.handle));
    } else if (reason != NULL) {
        RESULT(r, charter_audit_start_over(chgo_terminated(path, path_len, path_buf), &options,
                                           chgo_terminated(reason, reason_len, reason_buf),
                                           (charter_audit_t **)&r.handle));
    } else {
        RESULT(r, charter_audit_open(chgo_terminated(path, path_len, path_buf), &options,
                                     (charter_audit_t **)&r.handle));
    }
    return r;
}

chgo_status chgo_audit_free(charter_audit_t *log) {
    return chgo_status_of(charter_audit_free(log));
}

chgo_value chgo_audit_append(charter_audit_t *log, uint64_t time_ms, const char *actor,
                             size_t actor_len, bool actor_unproven, const char *action,
                             size_t action_len, const char *resource, size_t resource_len,
                             int32_t decision, int32_t reason, const char *detail, size_t detail_len) {
    char actor_buf[CHGO_INLINE_STRING], action_buf[CHGO_INLINE_STRING];
    char resource_buf[CHGO_INLINE_STRING], detail_buf[CHGO_INLINE_STRING];
    charter_audit_record_t record;
    chgo_value r = {0};
    memset(&record, 0, sizeof record);
    record.time_ms = time_ms;
    record.actor = optional(actor, actor_len, actor_buf);
    record.actor_unproven = actor_unproven;
    record.action = chgo_terminated(action, action_len, action_buf);
    record.resource = chgo_terminated(resource, resource_len, resource_buf);
    record.decision = decision;
    record.reason = reason;
    record.detail = chgo_terminated(detail, detail_len, detail_buf);
    RESULT(r, charter_audit_append(log, &record, &r.value));
    return r;
}

chgo_status chgo_audit_sync(charter_audit_t *log) {
    return chgo_status_of(charter_audit_sync(log));
}

chgo_value chgo_audit_len(charter_audit_t *log) {
    RETURN_RESULT(chgo_value, charter_audit_len(log, &r.value));
}

chgo_hash chgo_audit_root(charter_audit_t *log) {
    RETURN_RESULT(chgo_hash, charter_audit_root(log, r.hash));
}

chgo_hash chgo_audit_root_at(charter_audit_t *log, uint64_t size) {
    RETURN_RESULT(chgo_hash, charter_audit_root_at(log, size, r.hash));
}

chgo_hash chgo_audit_record_hash(charter_audit_t *log, uint64_t index) {
    RETURN_RESULT(chgo_hash, charter_audit_record_hash(log, index, r.hash));
}

chgo_bytes chgo_audit_prove_inclusion(charter_audit_t *log, uint64_t index, uint64_t size) {
    RETURN_RESULT(chgo_bytes, charter_audit_prove_inclusion(log, index, size, &r.data, &r.len));
}

chgo_bytes chgo_audit_prove_consistency(charter_audit_t *log, uint64_t old_size, uint64_t new_size) {
    RETURN_RESULT(chgo_bytes, charter_audit_prove_consistency(log, old_size, new_size, &r.data, &r.len));
}

chgo_owned_record chgo_audit_get(charter_audit_t *log, uint64_t index) {
    RETURN_RESULT(chgo_owned_record, charter_audit_get(log, index, &r.record));
}

/* A malloc'd copy of s, or NULL when s is NULL or malloc failed. */
static char *copy(const char *s) {
    size_t n;
    char *out;
    if (s == NULL) {
        return NULL;
    }
    n = strlen(s) + 1;
    out = malloc(n);
    if (out != NULL) {
        memcpy(out, s, n);
    }
    return out;
}

static void free_record(chgo_record *r) {
    free(r->actor);
    free(r->action);
    free(r->resource);
    free(r->detail);
}

/* Where charter_audit_each's records go. */
typedef struct {
    chgo_record *records;
    size_t count;
    size_t max;
    int out_of_memory;
} collector;

/* Copies one record into the batch; stops the iteration when the batch is
 * full or a copy failed. */
static charter_status_t collect(void *user_data, const charter_audit_record_t *record) {
    collector *c = (collector *)user_data;
    chgo_record *r = &c->records[c->count];
    r->index = record->index;
    r->time_ms = record->time_ms;
    r->decision = record->decision;
    r->reason = record->reason;
    r->actor_unproven = record->actor_unproven;
    r->actor = copy(record->actor);
    r->action = copy(record->action);
    r->resource = copy(record->resource);
    r->detail = copy(record->detail);
    if ((record->actor != NULL && r->actor == NULL) || r->action == NULL || r->resource == NULL ||
        r->detail == NULL) {
        free_record(r);
        c->out_of_memory = 1;
        return CHGO_OUT_OF_MEMORY;
    }
    c->count++;
    return c->count < c->max ? CHARTER_OK : CHARTER_E_LIMIT_EXCEEDED;
}

chgo_audit_batch chgo_audit_each(charter_audit_t *log, uint64_t from_index, uint64_t time_from_ms,
                                 uint64_t time_until_ms, const char *actor, size_t actor_len,
                                 int32_t decision, size_t max) {
    char actor_buf[CHGO_INLINE_STRING];
    charter_audit_query_t query;
    collector c = {0};
    chgo_audit_batch r = {0};
    c.max = max;
    c.records = malloc(max * sizeof *c.records);
    if (max == 0 || c.records == NULL) {
        free(c.records);
        r.status = CHGO_OUT_OF_MEMORY;
        return r;
    }
    charter_audit_query_default(&query);
    query.from_index = from_index;
    query.time_from_ms = time_from_ms;
    query.time_until_ms = time_until_ms;
    query.actor = optional(actor, actor_len, actor_buf);
    query.decision = decision;
    RESULT(r, charter_audit_each(log, &query, collect, &c, NULL));
    if (r.status == CHARTER_OK && c.out_of_memory) {
        r.status = CHGO_OUT_OF_MEMORY;
    }
    r.records = c.records;
    r.count = c.count;
    return r;
}

void chgo_audit_batch_free(chgo_record *records, size_t count) {
    size_t i;
    for (i = 0; i < count; i++) {
        free_record(&records[i]);
    }
    free(records);
}

chgo_string chgo_audit_verifier_key(charter_audit_t *log) {
    RETURN_RESULT(chgo_string, charter_audit_verifier_key(log, &r.value));
}

chgo_string chgo_audit_checkpoint(charter_audit_t *log) {
    RETURN_RESULT(chgo_string, charter_audit_checkpoint(log, &r.value));
}

chgo_string chgo_audit_latest_checkpoint(charter_audit_t *log) {
    RETURN_RESULT(chgo_string, charter_audit_latest_checkpoint(log, &r.value));
}

chgo_report chgo_audit_verify(charter_audit_t *log, const char *note, size_t note_len) {
    char buf[CHGO_INLINE_STRING];
    chgo_report r = {0};
    if (note == NULL) {
        RESULT(r, charter_audit_verify(log, &r.report, &r.problem));
    } else {
        RESULT(r, charter_audit_verify_against(log, chgo_terminated(note, note_len, buf), &r.report,
                                               &r.problem));
    }
    return r;
}

chgo_recovery chgo_audit_recovery(charter_audit_t *log) {
    RETURN_RESULT(chgo_recovery, charter_audit_recovery(log, &r.recovery));
}

chgo_hash chgo_audit_leaf_hash(const uint8_t *leaf, size_t len) {
    RETURN_RESULT(chgo_hash, charter_audit_leaf_hash(leaf, len, r.hash));
}

chgo_status chgo_audit_verify_inclusion(const uint8_t *leaf_hash, uint64_t index, uint64_t size,
                                        const uint8_t *proof, size_t proof_len,
                                        const uint8_t *root) {
    return chgo_status_of(charter_audit_verify_inclusion(leaf_hash, index, size, proof, proof_len, root));
}

chgo_status chgo_audit_verify_consistency(uint64_t old_size, uint64_t new_size,
                                          const uint8_t *old_root, const uint8_t *new_root,
                                          const uint8_t *proof, size_t proof_len) {
    return chgo_status_of(
        charter_audit_verify_consistency(old_size, new_size, old_root, new_root, proof, proof_len));
}

chgo_checkpoint chgo_audit_verify_checkpoint(const char *note, size_t note_len, const char *key,
                                             size_t key_len) {
    char note_buf[CHGO_INLINE_STRING], key_buf[CHGO_INLINE_STRING];
    chgo_checkpoint r = {0};
    RESULT(r, charter_audit_verify_checkpoint(chgo_terminated(note, note_len, note_buf),
                                              chgo_terminated(key, key_len, key_buf), &r.origin,
                                              &r.size, r.root));
    return r;
}

/* The array of count packed strings, malloc'd (free it); NULL when count
 * is 0 or malloc failed. */
static const char **unpack(const char *packed, size_t count) {
    const char **out;
    size_t i;
    if (count == 0) {
        return NULL;
    }
    out = malloc(count * sizeof *out);
    if (out == NULL) {
        return NULL;
    }
    for (i = 0; i < count; i++) {
        out[i] = packed;
        packed += strlen(packed) + 1;
    }
    return out;
}

chgo_report chgo_audit_verify_file(const char *path, size_t path_len, const char *log_key,
                                   size_t log_key_len, bool allow_missing_checkpoint,
                                   const char *against, size_t against_len, const char *witnesses,
                                   size_t witness_count, size_t quorum, const char *state,
                                   size_t state_len) {
    char path_buf[CHGO_INLINE_STRING], key_buf[CHGO_INLINE_STRING];
    char against_buf[CHGO_INLINE_STRING], state_buf[CHGO_INLINE_STRING];
    charter_audit_verify_options_t options;
    chgo_report r = {0};
    const char **keys = unpack(witnesses, witness_count);
    RETURN_IF_UNPACK_FAILED(r, keys, witness_count);
    charter_audit_verify_options_default(&options);
    options.log_key = optional(log_key, log_key_len, key_buf);
    options.allow_missing_checkpoint = allow_missing_checkpoint;
    options.against = optional(against, against_len, against_buf);
    options.witnesses = keys;
    options.witness_count = witness_count;
    options.quorum = quorum;
    options.state_path = optional(state, state_len, state_buf);
    RESULT(r, charter_audit_verify_file_witnesses(chgo_terminated(path, path_len, path_buf), &options,
                                                  &r.report, &r.problem, &r.witnesses));
    free((void *)keys);
    return r;
}

chgo_proof chgo_audit_prove_file_inclusion(const char *path, size_t path_len, uint64_t index,
                                           uint64_t size) {
    char buf[CHGO_INLINE_STRING];
    chgo_proof r = {0};
    RESULT(r, charter_audit_prove_file_inclusion(chgo_terminated(path, path_len, buf), index, size,
                                                 &r.data, &r.len, r.root));
    return r;
}

chgo_bytes chgo_audit_prove_file_consistency(const char *path, size_t path_len, uint64_t old_size,
                                             uint64_t new_size) {
    char buf[CHGO_INLINE_STRING];
    chgo_bytes r = {0};
    RESULT(r, charter_audit_prove_file_consistency(chgo_terminated(path, path_len, buf), old_size,
                                                   new_size, &r.data, &r.len));
    return r;
}

chgo_string chgo_audit_cosigner_key(charter_keypair_t *key, const char *name, size_t name_len) {
    char buf[CHGO_INLINE_STRING];
    chgo_string r = {0};
    RESULT(r, charter_audit_cosigner_key(key, chgo_terminated(name, name_len, buf), &r.value));
    return r;
}

chgo_string chgo_audit_cosign(const char *note, size_t note_len, const char *name, size_t name_len,
                              charter_keypair_t *key, uint64_t timestamp) {
    char note_buf[CHGO_INLINE_STRING], name_buf[CHGO_INLINE_STRING];
    chgo_string r = {0};
    RESULT(r, charter_audit_cosign(chgo_terminated(note, note_len, note_buf),
                                   chgo_terminated(name, name_len, name_buf), key, timestamp,
                                   &r.value));
    return r;
}

chgo_cosigned chgo_audit_verify_cosigned(const char *note, size_t note_len, const char *log_key,
                                         size_t log_key_len, const char *witnesses,
                                         size_t witness_count, size_t quorum,
                                         uint64_t *timestamps) {
    char note_buf[CHGO_INLINE_STRING], key_buf[CHGO_INLINE_STRING];
    chgo_cosigned r = {0};
    const char **keys = unpack(witnesses, witness_count);
    RETURN_IF_UNPACK_FAILED(r, keys, witness_count);
    RESULT(r, charter_audit_verify_cosigned_names(chgo_terminated(note, note_len, note_buf),
                                                  chgo_terminated(log_key, log_key_len, key_buf), keys,
                                                  witness_count, quorum, &r.size, r.root, &r.names,
                                                  timestamps, witness_count, &r.count));
    free((void *)keys);
    return r;
}

chgo_string chgo_audit_witness_request(uint64_t old_size, const uint8_t *proof, size_t proof_len,
                                       const char *note, size_t note_len) {
    char buf[CHGO_INLINE_STRING];
    chgo_string r = {0};
    RESULT(r, charter_audit_witness_request(old_size, proof, proof_len,
                                            chgo_terminated(note, note_len, buf), &r.value));
    return r;
}

chgo_witness_request chgo_audit_parse_witness_request(const char *body, size_t body_len) {
    char buf[CHGO_INLINE_STRING];
    chgo_witness_request r = {0};
    RESULT(r, charter_audit_parse_witness_request(chgo_terminated(body, body_len, buf), &r.old_size,
                                                  &r.proof, &r.proof_len, &r.note));
    return r;
}

chgo_handle chgo_witness_open(const char *state, size_t state_len, const char *name,
                              size_t name_len, charter_keypair_t *key, const char *log_keys,
                              size_t log_key_count) {
    char state_buf[CHGO_INLINE_STRING], name_buf[CHGO_INLINE_STRING];
    chgo_handle r = {0};
    const char **keys = unpack(log_keys, log_key_count);
    RETURN_IF_UNPACK_FAILED(r, keys, log_key_count);
    RESULT(r, charter_witness_open(chgo_terminated(state, state_len, state_buf),
                                   chgo_terminated(name, name_len, name_buf), key, keys,
                                   log_key_count, (charter_witness_t **)&r.handle));
    free((void *)keys);
    return r;
}

chgo_status chgo_witness_free(charter_witness_t *witness) {
    return chgo_status_of(charter_witness_free(witness));
}

chgo_string chgo_witness_verifier_key(charter_witness_t *witness) {
    RETURN_RESULT(chgo_string, charter_witness_verifier_key(witness, &r.value));
}

chgo_string chgo_witness_add_checkpoint(charter_witness_t *witness, uint64_t old_size,
                                        const uint8_t *proof, size_t proof_len, const char *note,
                                        size_t note_len, uint64_t timestamp) {
    char buf[CHGO_INLINE_STRING];
    chgo_string r = {0};
    RESULT(r, charter_witness_add_checkpoint(witness, old_size, proof, proof_len,
                                             chgo_terminated(note, note_len, buf), timestamp,
                                             &r.value));
    return r;
}

chgo_latest chgo_witness_latest(charter_witness_t *witness, const char *origin, size_t origin_len) {
    char buf[CHGO_INLINE_STRING];
    chgo_latest r = {0};
    RESULT(r, charter_witness_latest(witness, chgo_terminated(origin, origin_len, buf), &r.size,
                                     r.root, &r.found));
    return r;
}

chgo_bus chgo_bus_new_with_recorder(charter_bus_limits_t limits, charter_authority_t *auth,
                                    charter_audit_t *log, int32_t scope) {
    charter_audit_recorder_t recorder;
    chgo_bus r = {0};
    recorder.log = log;
    recorder.scope = scope;
    RESULT(r, charter_bus_new_with_recorder(&limits, auth, &recorder, &r.bus));
    return r;
}

chgo_handle chgo_audit_view_open(const char *path, size_t path_len) {
    char buf[CHGO_INLINE_STRING];
    chgo_handle r = {0};
    RESULT(r, charter_audit_view_open(chgo_terminated(path, path_len, buf),
                                      (charter_audit_view_t **)&r.handle));
    return r;
}

chgo_status chgo_audit_view_free(charter_audit_view_t *view) {
    return chgo_status_of(charter_audit_view_free(view));
}

chgo_view_len chgo_audit_view_len(charter_audit_view_t *view) {
    RETURN_RESULT(chgo_view_len, charter_audit_view_len(view, &r.len, r.root));
}

chgo_proof chgo_audit_view_prove_inclusion(charter_audit_view_t *view, uint64_t index, uint64_t size) {
    RETURN_RESULT(chgo_proof, charter_audit_view_prove_inclusion(view, index, size, &r.data, &r.len, r.root));
}

chgo_bytes chgo_audit_view_prove_consistency(charter_audit_view_t *view, uint64_t old_size,
                                             uint64_t new_size) {
    RETURN_RESULT(chgo_bytes, charter_audit_view_prove_consistency(view, old_size, new_size, &r.data, &r.len));
}

chgo_string chgo_audit_view_witness_request(charter_audit_view_t *view, uint64_t old_size) {
    RETURN_RESULT(chgo_string, charter_audit_view_witness_request(view, old_size, &r.value));
}
