/* The audit log through the C ABI: the handle table for charter_audit_t,
 * the tree checked by the standalone verifiers, signed checkpoints, files
 * tampered with, reopened and torn, filtered iteration, and decisions
 * recorded by a bus and an authority; the append-only rules of issue 15
 * (rollback refused, explicit start over, only torn frames cut), the
 * read-only auditor path, FIFOs refused, cosignatures and a witness. */
#include <dirent.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bus_fixture.h"
#include "check.h"
#include "free_race.h"
#include "memory.h"
#include "session_fixture.h"

#define T0 1000000u
#define ORIGIN "example.com/audit-test"

/* A scratch directory, removed (with the files the tests leave) at the end. */
static char dir[64];

static void path_of(char *out, size_t size, const char *name) {
    CHECK((size_t)snprintf(out, size, "%s/%s", dir, name) < size);
}

static void remove_log(const char *name) {
    char path[128], checkpoint[160];
    path_of(path, sizeof path, name);
    CHECK((size_t)snprintf(checkpoint, sizeof checkpoint, "%s.checkpoint", path) < sizeof checkpoint);
    unlink(path);
    unlink(checkpoint);
}

static charter_audit_t *signed_log(charter_keypair_t *key, const char *file, int fsync) {
    charter_audit_options_t opts;
    charter_audit_t *log = NULL;
    char path[128];
    CHECK_OK(charter_audit_options_default(&opts));
    CHECK(opts.fsync == CHARTER_AUDIT_FSYNC_ALWAYS && opts.signer == NULL && opts.origin == NULL);
    opts.fsync = fsync;
    opts.fsync_interval_ms = 5;
    opts.signer = key;
    opts.origin = ORIGIN;
    if (file == NULL) {
        CHECK_OK(charter_audit_in_memory(&opts, &log));
    } else {
        path_of(path, sizeof path, file);
        CHECK_OK(charter_audit_open(path, &opts, &log));
    }
    return log;
}

static uint64_t append(charter_audit_t *log, uint64_t time, const char *actor, const char *resource,
                       int32_t decision) {
    charter_audit_record_t r;
    uint64_t index = UINT64_MAX;
    memset(&r, 0, sizeof r);
    r.time_ms = time;
    r.actor = actor;
    r.action = "publish";
    r.resource = resource;
    r.decision = decision;
    r.reason = decision == CHARTER_AUDIT_ALLOW ? CHARTER_OK : CHARTER_E_DENIED;
    r.detail = decision == CHARTER_AUDIT_ALLOW ? NULL : "no grant covers it";
    CHECK_OK(charter_audit_append(log, &r, &index));
    return index;
}

static void append_get_and_limits(void) {
    charter_audit_t *log = NULL;
    charter_audit_record_t r, *got = NULL;
    charter_audit_recovery_t recovery = {7, 7};
    charter_keypair_t *key = NULL;
    char *principal = NULL, long_action[80], *text = NULL;
    uint64_t len = 99, index = 99;
    CHECK_OK(charter_keypair_generate(&key));
    CHECK_OK(charter_keypair_principal(key, &principal));
    CHECK_OK(charter_audit_in_memory(NULL, &log));
    CHECK_OK(charter_audit_len(log, &len));
    CHECK(len == 0);
    CHECK(append(log, T0, principal, "orders.eu", CHARTER_AUDIT_DENY) == 0);
    CHECK(append(log, T0 + 1, NULL, "orders.us", CHARTER_AUDIT_ALLOW) == 1);
    CHECK_OK(charter_audit_len(log, &len));
    CHECK(len == 2);
    CHECK_OK(charter_audit_get(log, 0, &got));
    CHECK(got->index == 0 && got->time_ms == T0 && got->decision == CHARTER_AUDIT_DENY);
    CHECK(got->reason == CHARTER_E_DENIED && strcmp(got->actor, principal) == 0);
    CHECK(strcmp(got->action, "publish") == 0 && strcmp(got->resource, "orders.eu") == 0);
    CHECK(strcmp(got->detail, "no grant covers it") == 0);
    charter_audit_record_free(got);
    got = NULL;
    CHECK_OK(charter_audit_get(log, 1, &got));
    CHECK(got->actor == NULL && strcmp(got->detail, "") == 0);
    charter_audit_record_free(got);
    charter_audit_record_free(NULL);
    got = NULL;
    CHECK_STATUS(charter_audit_get(log, 2, &got), CHARTER_E_NOT_FOUND);
    CHECK(got == NULL);

    memset(&r, 0, sizeof r);
    CHECK_STATUS(charter_audit_append(log, &r, &index), CHARTER_E_NULL_ARGUMENT);
    CHECK_MESSAGE_HAS("record.action is NULL");
    CHECK_STATUS(charter_audit_append(log, NULL, &index), CHARTER_E_NULL_ARGUMENT);
    r.action = "";
    CHECK_STATUS(charter_audit_append(log, &r, &index), CHARTER_E_INVALID_ARGUMENT);
    memset(long_action, 'a', sizeof long_action - 1);
    long_action[sizeof long_action - 1] = '\0';
    r.action = long_action;
    CHECK_STATUS(charter_audit_append(log, &r, &index), CHARTER_E_LIMIT_EXCEEDED);
    CHECK_MESSAGE_HAS("action is 79 bytes; the limit is 64");
    r.action = "publish";
    r.decision = 3;
    CHECK_STATUS(charter_audit_append(log, &r, &index), CHARTER_E_INVALID_ARGUMENT);
    CHECK_MESSAGE_HAS("the record's decision must be allow (0), deny (1) or error (2), got 3");
    r.decision = CHARTER_AUDIT_ALLOW;
    r.actor = "charter-id1:nope";
    CHECK_STATUS(charter_audit_append(log, &r, &index), CHARTER_E_MALFORMED);
    r.actor = NULL;
    r.actor_unproven = true;
    CHECK_STATUS(charter_audit_append(log, &r, &index), CHARTER_E_INVALID_ARGUMENT);
    CHECK_MESSAGE_HAS("cannot mark its actor unproven");
    CHECK(index == 99);
    CHECK_OK(charter_audit_len(log, &len));
    CHECK(len == 2);
    r.actor = principal;
    CHECK_OK(charter_audit_append(log, &r, &index));
    CHECK(index == 2);
    CHECK_OK(charter_audit_get(log, 2, &got));
    CHECK(strcmp(got->actor, principal) == 0 && got->actor_unproven);
    charter_audit_record_free(got);
    got = NULL;

    CHECK_OK(charter_audit_recovery(log, &recovery));
    CHECK(recovery.records == 0 && recovery.truncated_bytes == 0);
    CHECK_OK(charter_audit_sync(log));
    CHECK_STATUS(charter_audit_checkpoint(log, &text), CHARTER_E_INVALID_ARGUMENT);
    CHECK_MESSAGE_HAS("no signer");
    CHECK_STATUS(charter_audit_verifier_key(log, &text), CHARTER_E_INVALID_ARGUMENT);
    CHECK(text == NULL);
    CHECK_OK(charter_audit_free(log));
    charter_string_free(principal);
    CHECK_OK(charter_keypair_free(key));
}

static void bad_options(void) {
    charter_audit_options_t opts;
    charter_audit_t *log = NULL;
    charter_keypair_t *key = NULL;
    char path[128];
    CHECK_OK(charter_keypair_generate(&key));
    CHECK_OK(charter_audit_options_default(&opts));
    opts.fsync = 9;
    CHECK_STATUS(charter_audit_in_memory(&opts, &log), CHARTER_E_INVALID_ARGUMENT);
    CHECK_MESSAGE_HAS("options.fsync");
    opts.fsync = CHARTER_AUDIT_FSYNC_INTERVAL;
    opts.fsync_interval_ms = 0;
    CHECK_STATUS(charter_audit_in_memory(&opts, &log), CHARTER_E_INVALID_ARGUMENT);
    opts.fsync = CHARTER_AUDIT_FSYNC_NEVER;
    opts.origin = "has a space";
    CHECK_STATUS(charter_audit_in_memory(&opts, &log), CHARTER_E_INVALID_ARGUMENT);
    opts.signer = key;
    opts.origin = "plus+sign";
    CHECK_STATUS(charter_audit_in_memory(&opts, &log), CHARTER_E_INVALID_ARGUMENT);
    opts.signer = (charter_keypair_t *)&opts;
    opts.origin = NULL;
    CHECK_STATUS(charter_audit_in_memory(&opts, &log), CHARTER_E_INVALID_HANDLE);
    CHECK(log == NULL);
    CHECK_STATUS(charter_audit_open(NULL, NULL, &log), CHARTER_E_NULL_ARGUMENT);
    path_of(path, sizeof path, "missing-dir/log");
    CHECK_STATUS(charter_audit_open(path, NULL, &log), CHARTER_E_IO);
    CHECK(log == NULL);
    CHECK_OK(charter_keypair_free(key));
}

/* Every inclusion and consistency proof of every tree size up to 17 checks
 * out with the standalone verifiers, and every altered one fails. */
static void proofs_check_with_the_standalone_verifiers(void) {
    charter_keypair_t *key = NULL;
    charter_audit_t *log;
    uint8_t roots[18][CHARTER_AUDIT_HASH_LEN], leaf[CHARTER_AUDIT_HASH_LEN], root[CHARTER_AUDIT_HASH_LEN];
    uint8_t *proof = NULL;
    size_t len = 0;
    uint64_t n, i, m;
    char resource[32];
    CHECK_OK(charter_keypair_generate(&key));
    log = signed_log(key, NULL, CHARTER_AUDIT_FSYNC_ALWAYS);
    CHECK_OK(charter_audit_root(log, roots[0]));
    for (n = 1; n <= 17; n++) {
        snprintf(resource, sizeof resource, "orders.%u", (unsigned)n);
        CHECK(append(log, T0 + n, NULL, resource, CHARTER_AUDIT_ALLOW) == n - 1);
        CHECK_OK(charter_audit_root(log, roots[n]));
        CHECK_OK(charter_audit_root_at(log, n, root));
        CHECK(memcmp(root, roots[n], sizeof root) == 0);
        CHECK(memcmp(roots[n], roots[n - 1], sizeof root) != 0);
    }
    for (n = 1; n <= 17; n++) {
        for (i = 0; i < n; i++) {
            CHECK_OK(charter_audit_record_hash(log, i, leaf));
            CHECK_OK(charter_audit_prove_inclusion(log, i, n, &proof, &len));
            CHECK(len % CHARTER_AUDIT_HASH_LEN == 0);
            CHECK_OK(charter_audit_verify_inclusion(leaf, i, n, proof, len, roots[n]));
            CHECK_STATUS(charter_audit_verify_inclusion(leaf, i, n, proof, len, roots[n - 1]),
                         CHARTER_E_BAD_SIGNATURE);
            if (len > 0) {
                proof[0] ^= 1;
                CHECK_STATUS(charter_audit_verify_inclusion(leaf, i, n, proof, len, roots[n]),
                             CHARTER_E_BAD_SIGNATURE);
                CHECK_STATUS(charter_audit_verify_inclusion(leaf, i, n, proof, len - 1, roots[n]),
                             CHARTER_E_MALFORMED);
            }
            charter_bytes_free(proof, len);
        }
        for (m = 0; m <= n; m++) {
            CHECK_OK(charter_audit_prove_consistency(log, m, n, &proof, &len));
            CHECK_OK(charter_audit_verify_consistency(m, n, roots[m], roots[n], proof, len));
            if (m > 0 && m < n) {
                CHECK_STATUS(charter_audit_verify_consistency(m, n, roots[m - 1], roots[n], proof, len),
                             CHARTER_E_BAD_SIGNATURE);
            }
            charter_bytes_free(proof, len);
        }
    }
    CHECK_STATUS(charter_audit_prove_inclusion(log, 17, 17, &proof, &len), CHARTER_E_INVALID_ARGUMENT);
    CHECK_STATUS(charter_audit_prove_consistency(log, 5, 18, &proof, &len), CHARTER_E_INVALID_ARGUMENT);
    CHECK_STATUS(charter_audit_record_hash(log, 17, leaf), CHARTER_E_NOT_FOUND);
    CHECK_STATUS(charter_audit_verify_inclusion(leaf, 3, 2, NULL, 0, root), CHARTER_E_INVALID_ARGUMENT);
    CHECK_STATUS(charter_audit_verify_inclusion(NULL, 0, 1, NULL, 0, root), CHARTER_E_NULL_ARGUMENT);
    CHECK_STATUS(charter_audit_verify_consistency(2, 1, root, root, NULL, 0), CHARTER_E_INVALID_ARGUMENT);
    CHECK_OK(charter_audit_free(log));
    CHECK_OK(charter_keypair_free(key));
}

static void leaf_hash_is_rfc9162(void) {
    /* SHA-256 of the single byte 0x00: the leaf hash of the empty leaf. */
    static const uint8_t empty_leaf[CHARTER_AUDIT_HASH_LEN] = {
        0x6e, 0x34, 0x0b, 0x9c, 0xff, 0xb3, 0x7a, 0x98, 0x9c, 0xa5, 0x44, 0xe6, 0xbb, 0x78, 0x0a, 0x2c,
        0x78, 0x90, 0x1d, 0x3f, 0xb3, 0x37, 0x38, 0x76, 0x85, 0x11, 0xa3, 0x06, 0x17, 0xaf, 0xa0, 0x1d};
    uint8_t hash[CHARTER_AUDIT_HASH_LEN], other[CHARTER_AUDIT_HASH_LEN];
    CHECK_OK(charter_audit_leaf_hash(NULL, 0, hash));
    CHECK(memcmp(hash, empty_leaf, sizeof hash) == 0);
    CHECK_OK(charter_audit_leaf_hash((const uint8_t *)"a", 1, other));
    CHECK(memcmp(hash, other, sizeof hash) != 0);
    CHECK_STATUS(charter_audit_leaf_hash(NULL, 1, hash), CHARTER_E_NULL_ARGUMENT);
    CHECK_STATUS(charter_audit_leaf_hash(NULL, 0, NULL), CHARTER_E_NULL_ARGUMENT);
}

static void checkpoints_verify(void) {
    charter_keypair_t *key = NULL, *other = NULL;
    charter_audit_t *log, *stranger;
    char *note = NULL, *vkey = NULL, *other_vkey = NULL, *origin = NULL, *latest = NULL;
    uint8_t root[CHARTER_AUDIT_HASH_LEN], signed_root[CHARTER_AUDIT_HASH_LEN];
    uint64_t size = 0;
    CHECK_OK(charter_keypair_generate(&key));
    CHECK_OK(charter_keypair_generate(&other));
    log = signed_log(key, NULL, CHARTER_AUDIT_FSYNC_ALWAYS);
    stranger = signed_log(other, NULL, CHARTER_AUDIT_FSYNC_ALWAYS);
    latest = (char *)"untouched";
    CHECK_OK(charter_audit_latest_checkpoint(log, &latest));
    CHECK(latest == NULL);
    append(log, T0, NULL, "a", CHARTER_AUDIT_ALLOW);
    append(log, T0, NULL, "b", CHARTER_AUDIT_DENY);
    append(log, T0, NULL, "c", CHARTER_AUDIT_ALLOW);
    CHECK_OK(charter_audit_checkpoint(log, &note));
    CHECK(strncmp(note, ORIGIN "\n3\n", strlen(ORIGIN) + 3) == 0);
    CHECK_OK(charter_audit_latest_checkpoint(log, &latest));
    CHECK(strcmp(latest, note) == 0);
    CHECK_OK(charter_audit_verifier_key(log, &vkey));
    CHECK(strncmp(vkey, ORIGIN "+", strlen(ORIGIN) + 1) == 0);
    CHECK_OK(charter_audit_verifier_key(stranger, &other_vkey));
    CHECK_OK(charter_audit_root(log, root));
    CHECK_OK(charter_audit_verify_checkpoint(note, vkey, &origin, &size, signed_root));
    CHECK(strcmp(origin, ORIGIN) == 0 && size == 3);
    CHECK(memcmp(root, signed_root, sizeof root) == 0);
    CHECK_OK(charter_audit_verify_checkpoint(note, vkey, NULL, NULL, NULL));
    /* A note by another key (same origin) has no signature the verifier
     * trusts; an altered note no longer verifies. */
    CHECK(charter_audit_verify_checkpoint(note, other_vkey, NULL, NULL, NULL) != CHARTER_OK);
    note[strlen(ORIGIN) + 1] = '4';
    size = 99;
    CHECK_STATUS(charter_audit_verify_checkpoint(note, vkey, NULL, &size, NULL), CHARTER_E_BAD_SIGNATURE);
    CHECK(size == 99);
    CHECK_STATUS(charter_audit_verify_checkpoint("not a note", vkey, NULL, NULL, NULL), CHARTER_E_MALFORMED);
    CHECK_STATUS(charter_audit_verify_checkpoint(note, "nope", NULL, NULL, NULL), CHARTER_E_MALFORMED);
    charter_string_free(note);
    charter_string_free(latest);
    charter_string_free(vkey);
    charter_string_free(other_vkey);
    charter_string_free(origin);
    CHECK_OK(charter_audit_free(log));
    CHECK_OK(charter_audit_free(stranger));
    CHECK_OK(charter_keypair_free(key));
    CHECK_OK(charter_keypair_free(other));
}

/* Reads the whole file at path into a malloc'd buffer. */
static uint8_t *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    uint8_t *data;
    long size;
    CHECK(f != NULL);
    CHECK(fseek(f, 0, SEEK_END) == 0);
    size = ftell(f);
    CHECK(size > 0);
    CHECK(fseek(f, 0, SEEK_SET) == 0);
    data = (uint8_t *)malloc((size_t)size);
    CHECK(data != NULL);
    CHECK(fread(data, 1, (size_t)size, f) == (size_t)size);
    fclose(f);
    *len = (size_t)size;
    return data;
}

static void write_file(const char *path, const uint8_t *data, size_t len) {
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    CHECK(fwrite(data, 1, len, f) == len);
    CHECK(fclose(f) == 0);
}

/* The offset of the first occurrence of needle in data. */
static size_t find(const uint8_t *data, size_t len, const char *needle) {
    size_t n = strlen(needle), i;
    for (i = 0; i + n <= len; i++) {
        if (memcmp(data + i, needle, n) == 0) return i;
    }
    CHECK(!"needle not found");
    return 0;
}

static void reopen_keeps_everything(void) {
    charter_keypair_t *key = NULL;
    charter_audit_t *log;
    charter_audit_recovery_t recovery;
    charter_audit_report_t report;
    charter_audit_record_t *got = NULL;
    uint8_t root[CHARTER_AUDIT_HASH_LEN], again[CHARTER_AUDIT_HASH_LEN];
    char *note = NULL, *problem = (char *)"untouched";
    uint64_t len = 0;
    int i;
    CHECK_OK(charter_keypair_generate(&key));
    remove_log("reopen.log");
    log = signed_log(key, "reopen.log", CHARTER_AUDIT_FSYNC_INTERVAL);
    for (i = 0; i < 10; i++) append(log, T0 + (uint64_t)i, NULL, "orders.eu", CHARTER_AUDIT_ALLOW);
    CHECK_OK(charter_audit_checkpoint(log, &note));
    CHECK_OK(charter_audit_root(log, root));
    CHECK_OK(charter_audit_free(log));

    log = signed_log(key, "reopen.log", CHARTER_AUDIT_FSYNC_ALWAYS);
    CHECK_OK(charter_audit_recovery(log, &recovery));
    CHECK(recovery.records == 10 && recovery.truncated_bytes == 0);
    CHECK_OK(charter_audit_len(log, &len));
    CHECK(len == 10);
    CHECK_OK(charter_audit_root(log, again));
    CHECK(memcmp(root, again, sizeof root) == 0);
    CHECK_OK(charter_audit_get(log, 9, &got));
    CHECK(got->time_ms == T0 + 9);
    charter_audit_record_free(got);
    append(log, T0 + 10, NULL, "orders.us", CHARTER_AUDIT_DENY);
    CHECK_OK(charter_audit_verify(log, &report, &problem));
    CHECK(report.ok && problem == NULL && !report.has_first_bad);
    CHECK(report.records == 11 && report.has_checkpoint && report.checkpoint_size == 10);
    CHECK_OK(charter_audit_verify_against(log, note, &report, NULL));
    CHECK(report.ok);
    CHECK_STATUS(charter_audit_verify_against(log, "garbage", &report, NULL), CHARTER_E_MALFORMED);
    CHECK_OK(charter_audit_free(log));
    charter_string_free(note);
    CHECK_OK(charter_keypair_free(key));
    remove_log("reopen.log");
}

/* One byte of record 2's resource changed on disk: verify names record 2,
 * get refuses it, and reopening fails naming it. */
static void tampering_names_the_first_bad_record(void) {
    charter_keypair_t *key = NULL;
    charter_audit_t *log, *reopened = NULL;
    charter_audit_report_t report;
    charter_audit_record_t *got = NULL;
    char path[128], *problem = NULL;
    uint8_t *data;
    size_t len;
    CHECK_OK(charter_keypair_generate(&key));
    remove_log("tamper.log");
    log = signed_log(key, "tamper.log", CHARTER_AUDIT_FSYNC_NEVER);
    append(log, T0, NULL, "resource-0", CHARTER_AUDIT_ALLOW);
    append(log, T0, NULL, "resource-1", CHARTER_AUDIT_ALLOW);
    append(log, T0, NULL, "resource-2", CHARTER_AUDIT_DENY);
    append(log, T0, NULL, "resource-3", CHARTER_AUDIT_ALLOW);
    CHECK_OK(charter_audit_sync(log));
    CHECK_OK(charter_audit_verify(log, &report, NULL));
    CHECK(report.ok && report.records == 4 && !report.has_checkpoint);

    path_of(path, sizeof path, "tamper.log");
    data = read_file(path, &len);
    data[find(data, len, "resource-2") + 9] = '7';
    write_file(path, data, len);
    free(data);

    CHECK_OK(charter_audit_verify(log, &report, &problem));
    CHECK(!report.ok && report.has_first_bad && report.first_bad == 2 && report.records == 2);
    CHECK(report.problem_status == CHARTER_E_CORRUPT);
    CHECK(problem != NULL && strstr(problem, "record 2") != NULL);
    charter_string_free(problem);
    CHECK_STATUS(charter_audit_get(log, 2, &got), CHARTER_E_CORRUPT);
    CHECK(got == NULL);
    CHECK_OK(charter_audit_get(log, 3, &got));
    charter_audit_record_free(got);
    CHECK_OK(charter_audit_free(log));

    CHECK_STATUS(charter_audit_open(path, NULL, &reopened), CHARTER_E_CORRUPT);
    CHECK_MESSAGE_HAS("record 2");
    CHECK(reopened == NULL);
    CHECK_OK(charter_keypair_free(key));
    remove_log("tamper.log");
}

/* A crash during an append leaves a torn last record: reopening cuts it
 * off and reports it, and the log goes on from there. */
static void torn_tail_is_recovered(void) {
    charter_audit_t *log;
    charter_audit_recovery_t recovery;
    charter_audit_report_t report;
    char path[128];
    uint8_t *data;
    size_t len;
    uint64_t n = 0;
    remove_log("torn.log");
    path_of(path, sizeof path, "torn.log");
    CHECK_OK(charter_audit_open(path, NULL, &log));
    append(log, T0, NULL, "resource-0", CHARTER_AUDIT_ALLOW);
    append(log, T0, NULL, "resource-1", CHARTER_AUDIT_ALLOW);
    append(log, T0, NULL, "resource-2", CHARTER_AUDIT_ALLOW);
    CHECK_OK(charter_audit_free(log));

    data = read_file(path, &len);
    write_file(path, data, find(data, len, "resource-2"));
    free(data);

    CHECK_OK(charter_audit_open(path, NULL, &log));
    CHECK_OK(charter_audit_recovery(log, &recovery));
    CHECK(recovery.records == 2 && recovery.truncated_bytes > 0);
    CHECK_OK(charter_audit_len(log, &n));
    CHECK(n == 2);
    CHECK(append(log, T0, NULL, "resource-2 again", CHARTER_AUDIT_ALLOW) == 2);
    CHECK_OK(charter_audit_verify(log, &report, NULL));
    CHECK(report.ok && report.records == 3);
    CHECK_OK(charter_audit_free(log));
    remove_log("torn.log");
}


/* Removes every file in the scratch directory whose name starts with
 * prefix (a log, its checkpoint, what start_over kept, state files). */
static void remove_prefixed(const char *prefix) {
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[512];
    CHECK(d != NULL);
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0) continue;
        CHECK((size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < sizeof path);
        CHECK(unlink(path) == 0);
    }
    closedir(d);
}

/* Issue 15: the log cut back to 5 records at a frame boundary (a rollback
 * that looks intact) is refused for writing, naming the missing record;
 * starting over needs a new origin and says what it replaced. */
static void rollback_is_refused_and_start_over_is_explicit(void) {
    charter_keypair_t *key = NULL;
    charter_audit_t *log, *again = NULL;
    charter_audit_options_t opts;
    charter_audit_record_t *first = NULL;
    char path[128], name[32], *note = NULL;
    uint8_t *data;
    size_t len;
    uint64_t n = 0;
    int i;
    CHECK_OK(charter_keypair_generate(&key));
    remove_prefixed("rollback.log");
    log = signed_log(key, "rollback.log", CHARTER_AUDIT_FSYNC_NEVER);
    for (i = 0; i < 10; i++) {
        CHECK((size_t)snprintf(name, sizeof name, "resource-%d", i) < sizeof name);
        append(log, T0, NULL, name, CHARTER_AUDIT_ALLOW);
    }
    CHECK_OK(charter_audit_checkpoint(log, &note));
    charter_string_free(note);
    CHECK_OK(charter_audit_free(log));

    path_of(path, sizeof path, "rollback.log");
    CHECK_OK(charter_audit_options_default(&opts));
    opts.signer = key;
    opts.origin = ORIGIN;
    data = read_file(path, &len);
    /* Cut where record 5's frame starts: its 40-byte head and the 23 fixed
     * leaf bytes (version, index, time, decision, reason, no actor), the
     * action ("publish" with its 2-byte length) and the resource's 2-byte
     * length precede the resource. */
    write_file(path, data, find(data, len, "resource-5") - 2 - 9 - 23 - 40);
    free(data);
    CHECK_STATUS(charter_audit_open(path, &opts, &again), CHARTER_E_CORRUPT);
    CHECK_MESSAGE_HAS("record 5 is missing");
    CHECK(again == NULL);

    CHECK_STATUS(charter_audit_start_over(path, &opts, "restored from a backup", &again), CHARTER_E_INVALID_ARGUMENT);
    CHECK_MESSAGE_HAS("new origin");
    opts.origin = ORIGIN "-2";
    CHECK_OK(charter_audit_start_over(path, &opts, "restored from a backup", &again));
    CHECK_OK(charter_audit_len(again, &n));
    CHECK(n == 1);
    CHECK_OK(charter_audit_get(again, 0, &first));
    CHECK(strcmp(first->action, "start_over") == 0 && strcmp(first->resource, ORIGIN) == 0);
    CHECK(strstr(first->detail, "at size 10") != NULL && strstr(first->detail, "restored from a backup") != NULL);
    charter_audit_record_free(first);
    CHECK_OK(charter_audit_free(again));
    CHECK_OK(charter_keypair_free(key));
    remove_prefixed("rollback.log");
}

/* Record 2's length and its inverted copy rewritten (8 bytes) so that the
 * file seems to end inside it: CORRUPT, and nothing is cut. */
static void a_rewritten_frame_length_is_corrupt_not_a_torn_tail(void) {
    charter_audit_t *log = NULL;
    char path[128];
    uint8_t *data, *after;
    size_t len, after_len, at;
    uint32_t claimed;
    remove_prefixed("length.log");
    path_of(path, sizeof path, "length.log");
    CHECK_OK(charter_audit_open(path, NULL, &log));
    append(log, T0, NULL, "resource-0", CHARTER_AUDIT_ALLOW);
    append(log, T0, NULL, "resource-1", CHARTER_AUDIT_ALLOW);
    append(log, T0, NULL, "resource-2", CHARTER_AUDIT_ALLOW);
    append(log, T0, NULL, "resource-3", CHARTER_AUDIT_ALLOW);
    append(log, T0, NULL, "resource-4", CHARTER_AUDIT_ALLOW);
    CHECK_OK(charter_audit_free(log));
    data = read_file(path, &len);
    at = find(data, len, "resource-2") - 2 - 9 - 23 - 40;
    claimed = (uint32_t)(len - at);
    data[at] = (uint8_t)(claimed >> 24);
    data[at + 1] = (uint8_t)(claimed >> 16);
    data[at + 2] = (uint8_t)(claimed >> 8);
    data[at + 3] = (uint8_t)claimed;
    data[at + 4] = (uint8_t)~(claimed >> 24);
    data[at + 5] = (uint8_t)~(claimed >> 16);
    data[at + 6] = (uint8_t)~(claimed >> 8);
    data[at + 7] = (uint8_t)~claimed;
    write_file(path, data, len);
    CHECK_STATUS(charter_audit_open(path, NULL, &log), CHARTER_E_CORRUPT);
    CHECK_MESSAGE_HAS("record 2 ");
    after = read_file(path, &after_len);
    CHECK(after_len == len && memcmp(after, data, len) == 0);
    free(after);
    free(data);
    remove_prefixed("length.log");
}

/* Issue 14 item 8: a FIFO is refused with a message saying so, by the
 * writer and the auditor alike, and neither waits for a writer of it. */
static void a_fifo_is_refused_without_blocking(void) {
    charter_audit_t *log = NULL;
    charter_audit_report_t report;
    uint8_t *proof = NULL;
    size_t proof_len = 0;
    char path[128];
    remove_prefixed("fifo.log");
    path_of(path, sizeof path, "fifo.log");
    CHECK(mkfifo(path, 0600) == 0);
    CHECK_STATUS(charter_audit_open(path, NULL, &log), CHARTER_E_INVALID_ARGUMENT);
    CHECK_MESSAGE_HAS("a FIFO, not a regular file");
    CHECK_STATUS(charter_audit_verify_file(path, NULL, &report, NULL), CHARTER_E_INVALID_ARGUMENT);
    CHECK_MESSAGE_HAS("a FIFO");
    CHECK_STATUS(charter_audit_prove_file_consistency(path, 0, 0, &proof, &proof_len), CHARTER_E_INVALID_ARGUMENT);
    CHECK_STATUS(charter_audit_open(dir, NULL, &log), CHARTER_E_INVALID_ARGUMENT);
    CHECK_MESSAGE_HAS("a directory");
    CHECK(log == NULL && proof == NULL);
    remove_prefixed("fifo.log");
}

/* The auditor's path: a read-only file, beside the writer that holds its
 * lock, checked against the log key; a missing checkpoint fails unless
 * allowed; proofs from the file match the writer's. */
/* `proof` (freed here) is the consistency proof from `old_size` to
 * `new_size` that the writer's own log gives. */
static void expect_writers_consistency_proof(charter_audit_t *log, uint64_t old_size, uint64_t new_size,
                                             uint8_t *proof, size_t proof_len) {
    uint8_t *mine = NULL;
    size_t mine_len = 0;
    CHECK_OK(charter_audit_prove_consistency(log, old_size, new_size, &mine, &mine_len));
    CHECK(proof_len == mine_len && memcmp(proof, mine, proof_len) == 0);
    charter_bytes_free(proof, proof_len);
    charter_bytes_free(mine, mine_len);
}

static void the_auditor_reads_a_read_only_file_beside_the_writer(void) {
    charter_keypair_t *key = NULL;
    charter_audit_t *log;
    charter_audit_verify_options_t vopts;
    charter_audit_report_t report;
    uint8_t root[CHARTER_AUDIT_HASH_LEN], leaf[CHARTER_AUDIT_HASH_LEN], *proof = NULL;
    size_t proof_len = 0;
    char path[128], *vkey = NULL, *note = NULL, *problem = NULL;
    int i;
    CHECK_OK(charter_keypair_generate(&key));
    remove_prefixed("auditor.log");
    log = signed_log(key, "auditor.log", CHARTER_AUDIT_FSYNC_ALWAYS);
    for (i = 0; i < 8; i++) append(log, T0 + (uint64_t)i, NULL, "orders.eu", CHARTER_AUDIT_ALLOW);
    CHECK_OK(charter_audit_verifier_key(log, &vkey));
    path_of(path, sizeof path, "auditor.log");
    CHECK(chmod(path, 0400) == 0);

    CHECK_OK(charter_audit_verify_options_default(&vopts));
    CHECK(vopts.log_key == NULL && vopts.witness_count == 0 && !vopts.allow_missing_checkpoint);
    vopts.log_key = vkey;
    CHECK_OK(charter_audit_verify_file(path, &vopts, &report, &problem));
    CHECK(!report.ok && problem != NULL && strstr(problem, "no signed checkpoint") != NULL);
    CHECK(report.problem_status == CHARTER_E_BAD_SIGNATURE);
    charter_string_free(problem);
    vopts.allow_missing_checkpoint = true;
    CHECK_OK(charter_audit_verify_file(path, &vopts, &report, &problem));
    CHECK(report.ok && problem == NULL && report.records == 8);

    CHECK_OK(charter_audit_checkpoint(log, &note));
    vopts.allow_missing_checkpoint = false;
    CHECK_OK(charter_audit_verify_file(path, &vopts, &report, &problem));
    CHECK(report.ok && report.has_checkpoint && report.checkpoint_size == 8 && report.witness_count == 0);
    CHECK(report.problem_status == CHARTER_OK);
    vopts.quorum = 1;
    CHECK_STATUS(charter_audit_verify_file(path, &vopts, &report, NULL), CHARTER_E_INVALID_ARGUMENT);
    {
        charter_keypair_t *wkey = NULL;
        char cp_path[160], cosigned[4096], *wvkey = NULL, *line = NULL, *names = NULL;
        const char *wkeys[1];
        int n;
        CHECK_OK(charter_keypair_generate(&wkey));
        CHECK_OK(charter_audit_cosigner_key(wkey, "w.example", &wvkey));
        CHECK_OK(charter_audit_cosign(note, "w.example", wkey, 1700000000, &line));
        n = snprintf(cosigned, sizeof cosigned, "%s%s", note, line);
        CHECK(n > 0 && (size_t)n < sizeof cosigned);
        CHECK((size_t)snprintf(cp_path, sizeof cp_path, "%s.checkpoint", path) < sizeof cp_path);
        write_file(cp_path, (const uint8_t *)cosigned, (size_t)n);
        wkeys[0] = wvkey;
        vopts.witnesses = wkeys;
        vopts.witness_count = 1;
        CHECK_OK(charter_audit_verify_file_witnesses(path, &vopts, &report, &problem, &names));
        CHECK(report.ok && problem == NULL && report.witness_count == 1 && strcmp(names, "w.example") == 0);
        charter_string_free(names);
        CHECK_STATUS(charter_audit_verify_file_witnesses(path, &vopts, &report, &problem, NULL), CHARTER_E_NULL_ARGUMENT);
        vopts.witnesses = NULL;
        vopts.witness_count = 0;
        vopts.quorum = 0;
        CHECK_OK(charter_audit_verify_file_witnesses(path, &vopts, &report, &problem, &names));
        CHECK(report.ok && report.witness_count == 0 && strcmp(names, "") == 0);
        charter_string_free(names);
        charter_string_free(line);
        charter_string_free(wvkey);
        CHECK_OK(charter_keypair_free(wkey));
    }

    CHECK_OK(charter_audit_prove_file_inclusion(path, 3, 8, &proof, &proof_len, root));
    CHECK_OK(charter_audit_record_hash(log, 3, leaf));
    CHECK_OK(charter_audit_verify_inclusion(leaf, 3, 8, proof, proof_len, root));
    charter_bytes_free(proof, proof_len);
    CHECK_OK(charter_audit_prove_file_consistency(path, 2, 8, &proof, &proof_len));
    expect_writers_consistency_proof(log, 2, 8, proof, proof_len);

    {
        /* A view answers many proofs from one read, and keeps its snapshot
         * while the writer appends. */
        charter_audit_view_t *view = NULL;
        uint8_t view_root[CHARTER_AUDIT_HASH_LEN];
        uint64_t len = 0;
        char *body = NULL;
        CHECK_STATUS(charter_audit_view_open(path, NULL), CHARTER_E_NULL_ARGUMENT);
        CHECK_STATUS(charter_audit_view_open("no-such-audit.log", &view), CHARTER_E_NOT_FOUND);
        CHECK_OK(charter_audit_view_open(path, &view));
        append(log, T0 + 8, NULL, "orders.eu", CHARTER_AUDIT_ALLOW);
        CHECK_OK(charter_audit_view_len(view, &len, view_root));
        CHECK(len == 8);
        CHECK_OK(charter_audit_view_prove_inclusion(view, 3, 8, &proof, &proof_len, view_root));
        CHECK(memcmp(view_root, root, sizeof root) == 0);
        CHECK_OK(charter_audit_verify_inclusion(leaf, 3, 8, proof, proof_len, root));
        charter_bytes_free(proof, proof_len);
        CHECK_OK(charter_audit_view_prove_consistency(view, 2, 8, &proof, &proof_len));
        expect_writers_consistency_proof(log, 2, 8, proof, proof_len);
        CHECK_STATUS(charter_audit_view_prove_consistency(view, 2, 9, &proof, &proof_len), CHARTER_E_INVALID_ARGUMENT);
        CHECK_OK(charter_audit_view_witness_request(view, 0, &body));
        CHECK(strncmp(body, "old 0\n\n", 7) == 0);
        charter_string_free(body);
        CHECK_OK(charter_audit_view_free(view));
        CHECK_STATUS(charter_audit_view_free(view), CHARTER_E_ALREADY_FREED);
        CHECK_OK(charter_audit_view_free(NULL));
        CHECK(charter_audit_view_len(view, &len, NULL) != CHARTER_OK);
    }

    CHECK_OK(charter_audit_free(log));
    charter_string_free(note);
    charter_string_free(vkey);
    CHECK_OK(charter_keypair_free(key));
    CHECK(chmod(path, 0600) == 0);
    remove_prefixed("auditor.log");
}

/* A witness cosigns a checkpoint, refuses a stale old size (naming the size
 * it holds) and a bad proof, cosigns a consistent one; a verifier requires
 * two of two witnesses. */
static void a_witness_and_two_of_two(void) {
    charter_keypair_t *key = NULL, *wkey = NULL, *w2key = NULL;
    charter_audit_t *log;
    charter_witness_t *witness = NULL;
    char state[128], *vkey = NULL, *wvkey = NULL, *w2vkey = NULL, *note3 = NULL, *note6 = NULL;
    char *line = NULL, *line2 = NULL, cosigned[4096];
    const char *logs[1], *witnesses[2];
    uint8_t *proof = NULL, root[CHARTER_AUDIT_HASH_LEN];
    size_t proof_len = 0, count = 0;
    uint64_t size = 0;
    bool found = false;
    int i;
    CHECK_OK(charter_keypair_generate(&key));
    CHECK_OK(charter_keypair_generate(&wkey));
    CHECK_OK(charter_keypair_generate(&w2key));
    remove_prefixed("witness.");
    log = signed_log(key, NULL, CHARTER_AUDIT_FSYNC_ALWAYS);
    CHECK_OK(charter_audit_verifier_key(log, &vkey));
    path_of(state, sizeof state, "witness.state");
    logs[0] = vkey;
    CHECK_STATUS(charter_witness_open(state, "witness.example/w1", wkey, NULL, 1, &witness), CHARTER_E_NULL_ARGUMENT);
    CHECK_OK(charter_witness_open(state, "witness.example/w1", wkey, logs, 1, &witness));
    CHECK_OK(charter_witness_verifier_key(witness, &wvkey));
    CHECK_OK(charter_audit_cosigner_key(w2key, "witness.example/w2", &w2vkey));

    for (i = 0; i < 3; i++) append(log, T0, NULL, "orders.eu", CHARTER_AUDIT_ALLOW);
    CHECK_OK(charter_audit_checkpoint(log, &note3));
    CHECK_OK(charter_witness_add_checkpoint(witness, 0, NULL, 0, note3, 1700000000, &line));
    charter_string_free(line);
    CHECK_OK(charter_witness_latest(witness, ORIGIN, &size, root, &found));
    CHECK(found && size == 3);

    for (i = 0; i < 3; i++) append(log, T0, NULL, "orders.us", CHARTER_AUDIT_DENY);
    CHECK_OK(charter_audit_checkpoint(log, &note6));
    CHECK_STATUS(charter_witness_add_checkpoint(witness, 0, NULL, 0, note6, 1700000001, &line), CHARTER_E_DENIED);
    CHECK_MESSAGE_HAS("has size 3");
    CHECK_OK(charter_audit_prove_consistency(log, 3, 6, &proof, &proof_len));
    proof[0] ^= 1;
    CHECK_STATUS(charter_witness_add_checkpoint(witness, 3, proof, proof_len, note6, 1700000001, &line), CHARTER_E_CORRUPT);
    proof[0] ^= 1;
    CHECK_OK(charter_witness_add_checkpoint(witness, 3, proof, proof_len, note6, 0, &line));
    charter_bytes_free(proof, proof_len);
    CHECK_OK(charter_audit_cosign(note6, "witness.example/w2", w2key, 1700000002, &line2));

    witnesses[0] = wvkey;
    witnesses[1] = w2vkey;
    CHECK((size_t)snprintf(cosigned, sizeof cosigned, "%s%s", note6, line) < sizeof cosigned);
    CHECK_STATUS(charter_audit_verify_cosigned(cosigned, vkey, witnesses, 2, 2, NULL, NULL, NULL), CHARTER_E_BAD_SIGNATURE);
    CHECK_MESSAGE_HAS("1 of the 2");
    CHECK((size_t)snprintf(cosigned, sizeof cosigned, "%s%s%s", note6, line, line2) < sizeof cosigned);
    CHECK_OK(charter_audit_verify_cosigned(cosigned, vkey, witnesses, 2, 2, &size, root, &count));
    CHECK(size == 6 && count == 2);
    CHECK_STATUS(charter_audit_verify_cosigned(cosigned, vkey, witnesses, 2, 3, NULL, NULL, NULL), CHARTER_E_INVALID_ARGUMENT);
    CHECK_STATUS(charter_audit_verify_cosigned(cosigned, vkey, witnesses, 65, 1, NULL, NULL, NULL), CHARTER_E_LIMIT_EXCEEDED);
    {
        char *names = NULL;
        uint64_t stamps[2] = {0, 0};
        CHECK_OK(charter_audit_verify_cosigned_names(cosigned, vkey, witnesses, 2, 2, &size, root, &names, stamps, 2, &count));
        CHECK(count == 2 && size == 6);
        CHECK(strcmp(names, "witness.example/w1\nwitness.example/w2") == 0);
        CHECK(stamps[0] > 1700000002 && stamps[1] == 1700000002);
        charter_string_free(names);
        names = NULL;
        CHECK_STATUS(charter_audit_verify_cosigned_names(cosigned, vkey, witnesses, 2, 2, NULL, NULL, &names, stamps, 1, &count),
                     CHARTER_E_INVALID_ARGUMENT);
        CHECK(names == NULL);
        CHECK_OK(charter_audit_verify_cosigned_names(cosigned, vkey, witnesses, 2, 1, NULL, NULL, &names, NULL, 0, &count));
        charter_string_free(names);
        CHECK_STATUS(charter_audit_verify_cosigned_names(cosigned, vkey, witnesses, 2, 1, NULL, NULL, NULL, NULL, 0, &count),
                     CHARTER_E_NULL_ARGUMENT);
        CHECK_STATUS(charter_audit_verify_cosigned_names(cosigned, vkey, witnesses, 2, 1, NULL, NULL, &names, NULL, 0, NULL),
                     CHARTER_E_NULL_ARGUMENT);
    }

    charter_string_free(line);
    charter_string_free(line2);
    charter_string_free(note3);
    charter_string_free(note6);
    charter_string_free(vkey);
    charter_string_free(wvkey);
    charter_string_free(w2vkey);
    CHECK_OK(charter_witness_free(witness));
    CHECK_STATUS(charter_witness_free(witness), CHARTER_E_ALREADY_FREED);
    CHECK_OK(charter_audit_free(log));
    CHECK_OK(charter_keypair_free(key));
    CHECK_OK(charter_keypair_free(wkey));
    CHECK_OK(charter_keypair_free(w2key));
    remove_prefixed("witness.");
}

/* The tlog-witness add-checkpoint body round-trips through the C ABI, and
 * anything that is not one is refused with nothing written. */
static void a_witness_request_round_trips(void) {
    charter_keypair_t *key = NULL;
    charter_audit_t *log;
    char *note = NULL, *body = NULL, *parsed_note = NULL;
    uint8_t *proof = NULL, *parsed = NULL;
    size_t proof_len = 0, parsed_len = 0;
    uint64_t old_size = 0;
    int i;
    CHECK_OK(charter_keypair_generate(&key));
    log = signed_log(key, NULL, CHARTER_AUDIT_FSYNC_ALWAYS);
    for (i = 0; i < 5; i++) append(log, T0, NULL, "orders.eu", CHARTER_AUDIT_ALLOW);
    CHECK_OK(charter_audit_checkpoint(log, &note));
    CHECK_OK(charter_audit_prove_consistency(log, 2, 5, &proof, &proof_len));
    CHECK(proof_len > 0);
    CHECK_OK(charter_audit_witness_request(2, proof, proof_len, note, &body));
    CHECK(strncmp(body, "old 2\n", 6) == 0);
    CHECK_OK(charter_audit_parse_witness_request(body, &old_size, &parsed, &parsed_len, &parsed_note));
    CHECK(old_size == 2 && parsed_len == proof_len && memcmp(parsed, proof, proof_len) == 0);
    CHECK(strcmp(parsed_note, note) == 0);
    charter_bytes_free(parsed, parsed_len);
    charter_string_free(parsed_note);
    charter_string_free(body);

    CHECK_STATUS(charter_audit_witness_request(2, proof, proof_len - 1, note, &body), CHARTER_E_MALFORMED);
    CHECK_STATUS(charter_audit_witness_request(2, proof, proof_len, note, NULL), CHARTER_E_NULL_ARGUMENT);
    CHECK_STATUS(charter_audit_witness_request(2, NULL, 32, note, &body), CHARTER_E_NULL_ARGUMENT);
    parsed = NULL;
    parsed_note = NULL;
    CHECK(charter_audit_parse_witness_request("old x\n\nnote\n", &old_size, &parsed, &parsed_len, &parsed_note)
          != CHARTER_OK);
    CHECK(parsed == NULL && parsed_note == NULL);
    CHECK(charter_audit_parse_witness_request("", &old_size, &parsed, &parsed_len, &parsed_note) != CHARTER_OK);
    CHECK_STATUS(charter_audit_parse_witness_request(NULL, &old_size, &parsed, &parsed_len, &parsed_note),
                 CHARTER_E_NULL_ARGUMENT);
    CHECK_STATUS(charter_audit_parse_witness_request("old 0\n\n", &old_size, &parsed, NULL, &parsed_note),
                 CHARTER_E_NULL_ARGUMENT);
    charter_bytes_free(proof, proof_len);
    charter_string_free(note);
    CHECK_OK(charter_audit_free(log));
    CHECK_OK(charter_keypair_free(key));
}

typedef struct {
    uint64_t indexes[32];
    size_t count;
    size_t stop_after; /* 0: never */
    charter_audit_t *log;
    int append_inside, free_inside;
    charter_status_t inner;
} visit_t;

static charter_status_t visit(void *user_data, const charter_audit_record_t *record) {
    visit_t *v = (visit_t *)user_data;
    CHECK(v->count < 32);
    v->indexes[v->count++] = record->index;
    CHECK(record->action != NULL && record->resource != NULL && record->detail != NULL);
    if (v->append_inside) append(v->log, T0, NULL, "from inside", CHARTER_AUDIT_ALLOW);
    if (v->free_inside && v->count == 1) v->inner = charter_audit_free(v->log);
    if (v->stop_after != 0 && v->count == v->stop_after) return CHARTER_E_INVALID_ARGUMENT;
    return CHARTER_OK;
}

static void iteration_with_filters(void) {
    charter_audit_t *log = NULL;
    charter_audit_query_t q;
    charter_keypair_t *alice = NULL, *bob = NULL;
    char *a = NULL, *b = NULL;
    visit_t v;
    uint64_t count = 99, len = 0;
    CHECK_OK(charter_keypair_generate(&alice));
    CHECK_OK(charter_keypair_generate(&bob));
    CHECK_OK(charter_keypair_principal(alice, &a));
    CHECK_OK(charter_keypair_principal(bob, &b));
    CHECK_OK(charter_audit_in_memory(NULL, &log));
    append(log, 100, a, "r0", CHARTER_AUDIT_ALLOW);
    append(log, 200, b, "r1", CHARTER_AUDIT_DENY);
    append(log, 300, a, "r2", CHARTER_AUDIT_DENY);
    append(log, 400, NULL, "r3", CHARTER_AUDIT_ERROR);
    append(log, 500, b, "r4", CHARTER_AUDIT_DENY);
    append(log, 600, a, "r5", CHARTER_AUDIT_ALLOW);

    memset(&v, 0, sizeof v);
    CHECK_OK(charter_audit_each(log, NULL, visit, &v, &count));
    CHECK(count == 6 && v.count == 6 && v.indexes[5] == 5);

    CHECK_OK(charter_audit_query_default(&q));
    CHECK(q.decision == CHARTER_AUDIT_ANY_DECISION && q.time_until_ms == UINT64_MAX && q.actor == NULL);
    q.decision = CHARTER_AUDIT_DENY;
    memset(&v, 0, sizeof v);
    CHECK_OK(charter_audit_each(log, &q, visit, &v, &count));
    CHECK(count == 3 && v.indexes[0] == 1 && v.indexes[1] == 2 && v.indexes[2] == 4);

    q.actor = b;
    memset(&v, 0, sizeof v);
    CHECK_OK(charter_audit_each(log, &q, visit, &v, NULL));
    CHECK(v.count == 2 && v.indexes[0] == 1 && v.indexes[1] == 4);

    CHECK_OK(charter_audit_query_default(&q));
    q.time_from_ms = 200;
    q.time_until_ms = 500;
    q.from_index = 2;
    memset(&v, 0, sizeof v);
    CHECK_OK(charter_audit_each(log, &q, visit, &v, NULL));
    CHECK(v.count == 2 && v.indexes[0] == 2 && v.indexes[1] == 3);

    CHECK_OK(charter_audit_query_default(&q));
    q.decision = 7;
    CHECK_STATUS(charter_audit_each(log, &q, visit, &v, NULL), CHARTER_E_INVALID_ARGUMENT);
    q.decision = CHARTER_AUDIT_ANY_DECISION;
    q.actor = "charter-id1:???";
    CHECK_STATUS(charter_audit_each(log, &q, visit, &v, NULL), CHARTER_E_MALFORMED);
    CHECK_STATUS(charter_audit_each(log, NULL, NULL, &v, NULL), CHARTER_E_NULL_ARGUMENT);

    /* A callback that returns an error stops the iteration. */
    memset(&v, 0, sizeof v);
    v.stop_after = 2;
    CHECK_OK(charter_audit_each(log, NULL, visit, &v, &count));
    CHECK(count == 2 && v.count == 2);

    /* Appending from inside a callback: no lock is held, and the iteration
     * covers the records there were when it started. */
    memset(&v, 0, sizeof v);
    v.log = log;
    v.append_inside = 1;
    CHECK_OK(charter_audit_each(log, NULL, visit, &v, &count));
    CHECK(count == 6);
    CHECK_OK(charter_audit_len(log, &len));
    CHECK(len == 12);

    /* Freeing the log from inside its own callback returns at once, and the
     * iteration finishes over the records it started with. */
    memset(&v, 0, sizeof v);
    v.log = log;
    v.free_inside = 1;
    CHECK_OK(charter_audit_each(log, NULL, visit, &v, &count));
    CHECK(v.inner == CHARTER_OK && count == 12);
    CHECK_STATUS(charter_audit_len(log, &len), CHARTER_E_HANDLE_FREED);

    charter_string_free(a);
    charter_string_free(b);
    CHECK_OK(charter_keypair_free(alice));
    CHECK_OK(charter_keypair_free(bob));
}

static void handle_table(void) {
    charter_audit_t *log = NULL;
    charter_keypair_t *key = NULL;
    charter_audit_report_t report;
    uint8_t root[CHARTER_AUDIT_HASH_LEN];
    uint64_t len = 0;
    CHECK_OK(charter_keypair_generate(&key));
    CHECK_OK(charter_audit_in_memory(NULL, &log));
    CHECK_STATUS(charter_audit_len(NULL, &len), CHARTER_E_NULL_ARGUMENT);
    CHECK_MESSAGE_HAS("log is NULL");
    CHECK_OK(charter_audit_free(NULL));
    CHECK_STATUS(charter_audit_len((charter_audit_t *)key, &len), CHARTER_E_WRONG_HANDLE_TYPE);
    CHECK_MESSAGE_HAS("log is a charter_keypair_t, expected charter_audit_t");
    CHECK_STATUS(charter_keypair_free((charter_keypair_t *)log), CHARTER_E_WRONG_HANDLE_TYPE);
    CHECK_MESSAGE_HAS("pair is a charter_audit_t, expected charter_keypair_t");
    CHECK_STATUS(charter_audit_root((charter_audit_t *)&len, root), CHARTER_E_INVALID_HANDLE);
    CHECK_STATUS(charter_audit_free((charter_audit_t *)&len), CHARTER_E_INVALID_HANDLE);
    CHECK_STATUS(charter_audit_len(log, NULL), CHARTER_E_NULL_ARGUMENT);
    CHECK_OK(charter_audit_free(log));
    CHECK_STATUS(charter_audit_len(log, &len), CHARTER_E_HANDLE_FREED);
    CHECK_MESSAGE_HAS("log (charter_audit_t) has been freed");
    CHECK_STATUS(charter_audit_verify(log, &report, NULL), CHARTER_E_HANDLE_FREED);
    CHECK_STATUS(charter_audit_free(log), CHARTER_E_ALREADY_FREED);
    CHECK_OK(charter_keypair_free(key));
}

static charter_status_t free_log(void *log) { return charter_audit_free(log); }

static void sixteen_threads_free_one_log(void) {
    int round;
    for (round = 0; round < 10; round++) {
        charter_audit_t *log = NULL;
        CHECK_OK(charter_audit_in_memory(NULL, &log));
        append(log, T0, NULL, "x", CHARTER_AUDIT_ALLOW);
        free_on_sixteen_threads(free_log, log);
    }
}

typedef struct {
    charter_audit_t *log;
    pthread_barrier_t *barrier;
    uint64_t appended;
    charter_status_t last;
} appender_t;

static void *append_until_freed(void *arg) {
    appender_t *a = (appender_t *)arg;
    charter_audit_record_t r;
    memset(&r, 0, sizeof r);
    r.action = "publish";
    r.resource = "orders.eu";
    pthread_barrier_wait(a->barrier);
    for (;;) {
        a->last = charter_audit_append(a->log, &r, NULL);
        if (a->last != CHARTER_OK) return NULL;
        a->appended++;
    }
}

/* Appends in flight on other threads complete; those after the free get
 * HANDLE_FREED, never a crash. */
static void free_while_others_append(void) {
    pthread_barrier_t barrier;
    appender_t a[4];
    pthread_t th[4];
    charter_audit_t *log = NULL;
    int i;
    CHECK_OK(charter_audit_in_memory(NULL, &log));
    CHECK(pthread_barrier_init(&barrier, NULL, 5) == 0);
    for (i = 0; i < 4; i++) {
        a[i].log = log;
        a[i].barrier = &barrier;
        a[i].appended = 0;
        CHECK(pthread_create(&th[i], NULL, append_until_freed, &a[i]) == 0);
    }
    pthread_barrier_wait(&barrier);
    {
        struct timespec pause = {0, 5000000};
        nanosleep(&pause, NULL);
    }
    CHECK_OK(charter_audit_free(log));
    for (i = 0; i < 4; i++) {
        CHECK(pthread_join(th[i], NULL) == 0);
        CHECK(a[i].last == CHARTER_E_HANDLE_FREED);
    }
    pthread_barrier_destroy(&barrier);
}

static void create_free_cycles_cost_at_most_one_shell(void) {
    int cycles = measuring() ? 100000 : 2000, i;
    charter_audit_t *log;
    long before, after;
    for (i = 0; i < 1000; i++) {
        CHECK_OK(charter_audit_in_memory(NULL, &log));
        CHECK_OK(charter_audit_free(log));
    }
    before = resident_bytes();
    for (i = 0; i < cycles; i++) {
        CHECK_OK(charter_audit_in_memory(NULL, &log));
        CHECK_OK(charter_audit_free(log));
    }
    after = resident_bytes();
    printf("# %d audit log cycles: resident +%ld bytes\n", cycles, after - before);
    if (measuring()) CHECK(after - before <= (long)cycles * 32 + 512 * 1024);
}

typedef struct {
    charter_keypair_t *root, *bob;
    char *root_pk, *bob_pk, *bob_id;
    charter_authority_t *auth;
    charter_token_t *token;
} world_t;

static world_t world(const charter_audit_recorder_t *recorder) {
    world_t w;
    const char *grants[1] = {"publish orders.eu.*"};
    w.root = new_keypair(&w.root_pk);
    w.bob = new_keypair(&w.bob_pk);
    CHECK_OK(charter_keypair_principal(w.bob, &w.bob_id));
    w.auth = authority_at(w.root_pk, T0, recorder);
    CHECK_OK(charter_token_mint(w.root, w.bob_pk, grants, 1, T0, T0 + 3600, &w.token));
    return w;
}

static void end_world(world_t *w) {
    CHECK_OK(charter_token_free(w->token));
    CHECK_OK(charter_authority_free(w->auth));
    free_keypair(w->root, w->root_pk);
    free_keypair(w->bob, w->bob_pk);
    charter_string_free(w->bob_id);
}

static void a_recording_bus_records_denials(void) {
    charter_audit_t *log = NULL;
    charter_audit_recorder_t recorder;
    charter_audit_query_t q;
    charter_audit_record_t *got = NULL;
    charter_bus_t *bus = NULL;
    charter_client_t *bob = NULL, *nobody = NULL;
    charter_session_t *s;
    world_t w = world(NULL);
    visit_t v;
    uint64_t len = 0;
    CHECK_OK(charter_audit_in_memory(NULL, &log));
    recorder.log = log;
    recorder.scope = 5;
    CHECK_STATUS(charter_bus_new_with_recorder(NULL, w.auth, &recorder, &bus), CHARTER_E_INVALID_ARGUMENT);
    CHECK_MESSAGE_HAS("recorder.scope");
    CHECK_STATUS(charter_bus_new_with_recorder(NULL, w.auth, NULL, &bus), CHARTER_E_NULL_ARGUMENT);
    recorder.scope = CHARTER_AUDIT_SCOPE_DENIALS;
    recorder.log = (charter_audit_t *)w.auth;
    CHECK_STATUS(charter_bus_new_with_recorder(NULL, w.auth, &recorder, &bus), CHARTER_E_WRONG_HANDLE_TYPE);
    CHECK(bus == NULL);
    recorder.log = log;
    CHECK_OK(charter_bus_new_with_recorder(NULL, w.auth, &recorder, &bus));
    s = session_for(w.auth, w.token, w.bob);
    CHECK_OK(charter_client_new(bus, s, &bob));
    CHECK_OK(charter_client_new(bus, NULL, &nobody));
    CHECK_OK(charter_client_publish(bob, "orders.eu.created", NULL, 0, NULL, 0, NULL));
    CHECK_STATUS(charter_client_publish(bob, "orders.us.created", NULL, 0, NULL, 0, NULL), CHARTER_E_DENIED);
    CHECK_STATUS(charter_client_publish(nobody, "orders.eu.created", NULL, 0, NULL, 0, NULL), CHARTER_E_DENIED);
    CHECK_OK(charter_audit_len(log, &len));
    CHECK(len == 2);

    CHECK_OK(charter_audit_get(log, 0, &got));
    CHECK(got->decision == CHARTER_AUDIT_DENY && got->reason == CHARTER_E_DENIED);
    CHECK(strcmp(got->action, "publish") == 0 && strcmp(got->resource, "orders.us.created") == 0);
    CHECK(got->actor != NULL && strcmp(got->actor, w.bob_id) == 0);
    CHECK(strstr(got->detail, "orders.us.created") != NULL);
    charter_audit_record_free(got);
    CHECK_OK(charter_audit_get(log, 1, &got));
    CHECK(got->decision == CHARTER_AUDIT_DENY && got->actor == NULL);
    charter_audit_record_free(got);

    CHECK_OK(charter_audit_query_default(&q));
    q.actor = w.bob_id;
    q.decision = CHARTER_AUDIT_DENY;
    memset(&v, 0, sizeof v);
    CHECK_OK(charter_audit_each(log, &q, visit, &v, NULL));
    CHECK(v.count == 1 && v.indexes[0] == 0);

    CHECK_OK(charter_client_free(bob));
    close_bus(nobody, bus);
    CHECK_OK(charter_session_free(s));
    CHECK_OK(charter_audit_free(log));
    end_world(&w);
}

static void a_recording_authority_records_session_openings(void) {
    charter_audit_t *log = NULL;
    charter_audit_recorder_t recorder;
    charter_audit_record_t *got = NULL;
    charter_session_t *s, *none = NULL;
    uint8_t challenge[CHARTER_CHALLENGE_LEN], proof[CHARTER_PROOF_LEN];
    charter_bus_t *bus = NULL;
    charter_client_t *anyone = NULL;
    world_t w;
    uint64_t len = 0;
    CHECK_OK(charter_audit_in_memory(NULL, &log));
    recorder.log = log;
    recorder.scope = CHARTER_AUDIT_SCOPE_ALL;
    w = world(&recorder);
    s = session_for(w.auth, w.token, w.bob);
    memset(proof, 0, sizeof proof);
    CHECK_OK(charter_authority_challenge(w.auth, challenge));
    CHECK_STATUS(charter_authority_open_session(w.auth, w.token, challenge, proof, &none),
                 CHARTER_E_BAD_SIGNATURE);
    CHECK_OK(charter_audit_len(log, &len));
    CHECK(len == 2);
    CHECK_OK(charter_audit_get(log, 0, &got));
    CHECK(got->decision == CHARTER_AUDIT_ALLOW && strcmp(got->action, "open_session") == 0);
    CHECK(strcmp(got->actor, w.bob_id) == 0 && !got->actor_unproven);
    charter_audit_record_free(got);
    CHECK_OK(charter_audit_get(log, 1, &got));
    CHECK(got->decision == CHARTER_AUDIT_DENY && got->reason == CHARTER_E_BAD_SIGNATURE);
    /* The refusal names bob, but nobody proved to be bob. */
    CHECK(strcmp(got->actor, w.bob_id) == 0 && got->actor_unproven);
    charter_audit_record_free(got);

    /* A bus without an authority, recording every decision, keeps its log
     * after the log's handle is freed. */
    CHECK_OK(charter_bus_new_with_recorder(NULL, NULL, &recorder, &bus));
    CHECK_OK(charter_audit_free(log));
    CHECK_OK(charter_client_new(bus, NULL, &anyone));
    CHECK_OK(charter_client_publish(anyone, "orders.eu.created", NULL, 0, NULL, 0, NULL));
    close_bus(anyone, bus);
    CHECK_OK(charter_session_free(s));
    end_world(&w);
}

int main(void) {
    CHECK(snprintf(dir, sizeof dir, "/tmp/charter-audit-XXXXXX") < (int)sizeof dir);
    CHECK(mkdtemp(dir) != NULL);
    RUN(append_get_and_limits);
    RUN(bad_options);
    RUN(proofs_check_with_the_standalone_verifiers);
    RUN(leaf_hash_is_rfc9162);
    RUN(checkpoints_verify);
    RUN(reopen_keeps_everything);
    RUN(tampering_names_the_first_bad_record);
    RUN(torn_tail_is_recovered);
    RUN(rollback_is_refused_and_start_over_is_explicit);
    RUN(a_rewritten_frame_length_is_corrupt_not_a_torn_tail);
    RUN(a_fifo_is_refused_without_blocking);
    RUN(the_auditor_reads_a_read_only_file_beside_the_writer);
    RUN(a_witness_and_two_of_two);
    RUN(a_witness_request_round_trips);
    RUN(iteration_with_filters);
    RUN(handle_table);
    RUN(sixteen_threads_free_one_log);
    RUN(free_while_others_append);
    RUN(create_free_cycles_cost_at_most_one_shell);
    RUN(a_recording_bus_records_denials);
    RUN(a_recording_authority_records_session_openings);
    CHECK(rmdir(dir) == 0);
    return 0;
}
