/* Error messages quote at most a short prefix of a hostile input, with its
 * length: a 4 MiB link id, grant, revocation list, path or reply inbox
 * gives a message of a few dozen bytes, and refusing it does not raise the
 * peak RSS (asserted in the plain run; each input was once repeated in
 * full, copied once per layer). */
#include <unistd.h>

#include "bus_fixture.h"
#include "check.h"
#include "memory.h"
#include "session_fixture.h"

#define HOSTILE ((size_t)4 << 20)
#define SHORT_MESSAGE 200

static char *hostile(char fill, const char *prefix) {
    size_t n = strlen(prefix);
    char *s = malloc(HOSTILE + 1);
    CHECK(s != NULL);
    memset(s, fill, HOSTILE);
    memcpy(s, prefix, n);
    s[HOSTILE] = '\0';
    return s;
}

/* The last error is short and names the input's length. */
static void check_short_message(const char *what) {
    char *msg = charter_last_error_message();
    CHECK(msg != NULL);
    if (strlen(msg) > SHORT_MESSAGE || strstr(msg, "(4194304 bytes)") == NULL) {
        fprintf(stderr, "%s: message of %zu bytes: %.300s\n", what, strlen(msg), msg);
        exit(1);
    }
    charter_string_free(msg);
}

static void hostile_inputs_give_short_messages(void) {
    char *link = hostile('a', "");
    char *grant = hostile(' ', "publish a.b c");
    char *list = hostile('f', "");
    char *path = hostile('d', "/tmp/");
    char *inbox = hostile('i', "");
    const char *grants[1];
    charter_keypair_t *root = NULL;
    charter_authority_t *auth = NULL;
    charter_token_t *token = NULL;
    charter_audit_t *log = NULL;
    charter_bus_t *bus = NULL;
    charter_client_t *client = NULL;
    char *subject = NULL;
    int measure;
    long before;

    grant[HOSTILE - 1] = 'x'; /* three words: "publish", "a.b", "c   ...x" */
    grants[0] = grant;
    root = new_keypair(&subject);
    CHECK_OK(charter_authority_new(NULL, 0, NULL, &auth));
    client = open_bus(&bus);
    /* The baseline is taken once the objects exist: what is measured is what
     * refusing the inputs costs. */
    measure = getenv("CHARTER_TEST_MEASURE_MEMORY") != NULL && reset_peak_rss();
    before = vm_kib("VmRSS:");

    CHECK_STATUS(charter_authority_revoke(auth, link, NULL), CHARTER_E_MALFORMED);
    check_short_message("revoke");
    CHECK_STATUS(charter_token_mint(root, subject, grants, 1, 0, 10, &token), CHARTER_E_INVALID_ARGUMENT);
    check_short_message("token_mint");
    CHECK_STATUS(charter_authority_import_revocations(auth, list, NULL), CHARTER_E_MALFORMED);
    check_short_message("import_revocations");
    CHECK_STATUS(charter_audit_open(path, NULL, &log), CHARTER_E_LIMIT_EXCEEDED);
    check_short_message("audit_open");
    CHECK_STATUS(charter_client_reply(client, inbox, NULL, 0, NULL, 0, NULL), CHARTER_E_INVALID_ARGUMENT);
    check_short_message("reply");

    if (measure) {
        long peak = vm_kib("VmHWM:");
        if (before <= 0 || peak - before > 2048) {
            fprintf(stderr, "peak RSS grew by %ld KiB refusing 4 MiB inputs\n", peak - before);
            exit(1);
        }
    }
    close_bus(client, bus);
    CHECK_OK(charter_authority_free(auth));
    free_keypair(root, subject);
    free(link);
    free(grant);
    free(list);
    free(path);
    free(inbox);
}

int main(void) {
    RUN(hostile_inputs_give_short_messages);
    return 0;
}
