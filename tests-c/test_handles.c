/* The HandleGuard table of c-abi.md, for the registry handle. */
#include "check.h"
#include "registry_handlers.h"

/* Every call on a registry refuses `reg` with `want`, the first saying why
 * with `message`. */
static void every_call_refuses(charter_registry_t *reg, charter_status_t want, const char *message) {
    size_t len;
    bool b;
    uint64_t id;
    CHECK_STATUS(charter_registry_len(reg, &len), want);
    CHECK_MESSAGE_HAS(message);
    CHECK_STATUS(charter_registry_contains(reg, 1, &b), want);
    CHECK_STATUS(charter_registry_unregister(reg, 1, &b), want);
    CHECK_STATUS(charter_registry_clear(reg), want);
    CHECK_STATUS(charter_registry_notify(reg, NULL, 0, NULL), want);
    CHECK_STATUS(charter_registry_register(reg, 0, ignore_event, NULL, NULL, &id), want);
}

static void null_handle(void) {
    CHECK_OK(charter_registry_free(NULL));
    every_call_refuses(NULL, CHARTER_E_NULL_ARGUMENT, "reg is NULL");
}

static void pointer_that_was_never_a_handle(void) {
    int on_stack = 0;
    void *heap = malloc(64);
    charter_registry_t *reg = NULL;
    size_t len;
    CHECK_STATUS(charter_registry_len((charter_registry_t *)&on_stack, &len), CHARTER_E_INVALID_HANDLE);
    CHECK_MESSAGE_HAS("not a Charter handle");
    CHECK_STATUS(charter_registry_len((charter_registry_t *)heap, &len), CHARTER_E_INVALID_HANDLE);
    CHECK_STATUS(charter_registry_free((charter_registry_t *)heap), CHARTER_E_INVALID_HANDLE);
    CHECK_STATUS(charter_registry_len((charter_registry_t *)(uintptr_t)0x10, &len), CHARTER_E_INVALID_HANDLE);
    CHECK_OK(charter_registry_new(&reg));
    /* An address inside a real shell, but not its start. */
    CHECK_STATUS(charter_registry_len((charter_registry_t *)((char *)reg + 1), &len), CHARTER_E_INVALID_HANDLE);
    CHECK_STATUS(charter_registry_len((charter_registry_t *)((char *)reg + 8), &len), CHARTER_E_INVALID_HANDLE);
    CHECK_OK(charter_registry_free(reg));
    free(heap);
}

static void use_after_free(void) {
    charter_registry_t *reg = NULL;
    CHECK_OK(charter_registry_new(&reg));
    CHECK_OK(charter_registry_free(reg));
    every_call_refuses(reg, CHARTER_E_HANDLE_FREED, "has been freed");
}

static void double_free(void) {
    charter_registry_t *reg = NULL;
    CHECK_OK(charter_registry_new(&reg));
    CHECK_OK(charter_registry_free(reg));
    CHECK_STATUS(charter_registry_free(reg), CHARTER_E_ALREADY_FREED);
    CHECK_MESSAGE_HAS("already freed");
    CHECK_STATUS(charter_registry_free(reg), CHARTER_E_ALREADY_FREED);
}

static void handles_are_distinct(void) {
    charter_registry_t *a = NULL, *b = NULL;
    size_t len;
    CHECK_OK(charter_registry_new(&a));
    CHECK_OK(charter_registry_free(a));
    CHECK_OK(charter_registry_new(&b));
    CHECK(a != b); /* shells are never reused: the stale pointer stays stale */
    CHECK_STATUS(charter_registry_len(a, &len), CHARTER_E_HANDLE_FREED);
    CHECK_OK(charter_registry_len(b, &len));
    CHECK_OK(charter_registry_free(b));
}

int main(void) {
    RUN(null_handle);
    RUN(pointer_that_was_never_a_handle);
    RUN(use_after_free);
    RUN(double_free);
    RUN(handles_are_distinct);
    return 0;
}
