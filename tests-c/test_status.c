/* Status codes are pinned forever; names and versions are static. */
#include "check.h"

static void status_values_are_pinned(void) {
    CHECK(CHARTER_OK == 0);
    CHECK(CHARTER_E_NULL_ARGUMENT == -1);
    CHECK(CHARTER_E_INVALID_ARGUMENT == -2);
    CHECK(CHARTER_E_INVALID_UTF8 == -3);
    CHECK(CHARTER_E_INVALID_HANDLE == -4);
    CHECK(CHARTER_E_WRONG_HANDLE_TYPE == -5);
    CHECK(CHARTER_E_HANDLE_FREED == -6);
    CHECK(CHARTER_E_ALREADY_FREED == -7);
    CHECK(CHARTER_E_LIMIT_EXCEEDED == -8);
    CHECK(CHARTER_E_NOT_FOUND == -9);
    CHECK(CHARTER_E_DENIED == -10);
    CHECK(CHARTER_E_EXPIRED == -11);
    CHECK(CHARTER_E_NOT_YET_VALID == -12);
    CHECK(CHARTER_E_REVOKED == -13);
    CHECK(CHARTER_E_BAD_SIGNATURE == -14);
    CHECK(CHARTER_E_MALFORMED == -15);
    CHECK(CHARTER_E_UNTRUSTED_ROOT == -16);
    CHECK(CHARTER_E_WOULD_BLOCK == -17);
    CHECK(CHARTER_E_TIMEOUT == -18);
    CHECK(CHARTER_E_CLOSED == -19);
    CHECK(CHARTER_E_IO == -20);
    CHECK(CHARTER_E_CORRUPT == -21);
    CHECK(CHARTER_E_PANIC == -22);
    CHECK(CHARTER_E_INTERNAL == -23);
    CHECK(CHARTER_E_CANCELLED == -24);
}

static void status_names_are_static_and_exact(void) {
    CHECK(strcmp(charter_status_name(CHARTER_OK), "CHARTER_OK") == 0);
    CHECK(strcmp(charter_status_name(CHARTER_E_DENIED), "CHARTER_E_DENIED") == 0);
    CHECK(strcmp(charter_status_name(CHARTER_E_NULL_ARGUMENT), "CHARTER_E_NULL_ARGUMENT") == 0);
    CHECK(strcmp(charter_status_name(CHARTER_E_INTERNAL), "CHARTER_E_INTERNAL") == 0);
    CHECK(strcmp(charter_status_name(-25), "CHARTER_E_UNKNOWN") == 0);
    CHECK(strcmp(charter_status_name(1), "CHARTER_E_UNKNOWN") == 0);
    CHECK(charter_status_name(CHARTER_E_DENIED) == charter_status_name(CHARTER_E_DENIED));
}

static void abi_and_version(void) {
    CHECK(charter_abi_version() == CHARTER_ABI_VERSION);
    CHECK(strcmp(charter_version(), "0.1.0") == 0);
}

static void frees_accept_null(void) {
    charter_string_free(NULL);
    charter_bytes_free(NULL, 0);
    charter_bytes_free(NULL, 10);
}

static void no_error_before_any_failure(void) {
    CHECK(charter_last_error_message() == NULL);
}

int main(void) {
    RUN(no_error_before_any_failure);
    RUN(status_values_are_pinned);
    RUN(status_names_are_static_and_exact);
    RUN(abi_and_version);
    RUN(frees_accept_null);
    return 0;
}
