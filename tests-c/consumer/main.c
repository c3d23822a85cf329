/* Consumer check: notify one handler through an installed Charter. */
#include <stdio.h>
#include <string.h>

#include <charter.h>

#if !defined(CHARTER_VERSION_MAJOR) || !defined(CHARTER_VERSION_MINOR) || !defined(CHARTER_VERSION_PATCH)
#error "charter.h defines no CHARTER_VERSION_MAJOR/MINOR/PATCH"
#endif
#if CHARTER_VERSION_MAJOR < 0 || CHARTER_VERSION_MINOR < 0 || CHARTER_VERSION_PATCH < 0
#error "the version macros are not numbers a preprocessor can compare"
#endif

static charter_status_t count(void *user_data, const uint8_t *event, size_t len) {
    (void)event;
    *(size_t *)user_data += len;
    return CHARTER_OK;
}

int main(void) {
    charter_registry_t *reg = NULL;
    size_t total = 0;
    uint64_t id;
    charter_notify_report_t report;
    if (charter_abi_version() != CHARTER_ABI_VERSION) return 1;
    if (strcmp(charter_version(), CHARTER_VERSION) != 0) return 7;
    if (charter_registry_new(&reg) != CHARTER_OK) return 2;
    if (charter_registry_register(reg, 0, count, &total, NULL, &id) != CHARTER_OK) return 3;
    if (charter_registry_notify(reg, (const uint8_t *)"hello", 5, &report) != CHARTER_OK) return 4;
    if (report.delivered != 1 || total != 5) return 5;
    if (charter_registry_free(reg) != CHARTER_OK) return 6;
    printf("consumer (C) linked Charter %s: ok\n", charter_version());
    return 0;
}
