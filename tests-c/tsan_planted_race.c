/* A deliberate data race, for the tsan.planted_race test, which passes only
 * if ThreadSanitizer reports it: two threads notify one registry whose
 * handler bumps a plain int. It shows that tsan.supp leaves C code called
 * back from the library checked. */
#include <pthread.h>

#include "check.h"

static int unguarded;

static charter_status_t bump(void *user_data, const uint8_t *event, size_t len) {
    (void)user_data;
    (void)event;
    (void)len;
    unguarded++;
    return CHARTER_OK;
}

static void *notifier(void *arg) {
    int i;
    for (i = 0; i < 1000; i++) CHECK_OK(charter_registry_notify((charter_registry_t *)arg, NULL, 0, NULL));
    return NULL;
}

int main(void) {
    charter_registry_t *reg = NULL;
    pthread_t a, b;
    uint64_t id;
    CHECK_OK(charter_registry_new(&reg));
    CHECK_OK(charter_registry_register(reg, 0, bump, NULL, NULL, &id));
    CHECK(pthread_create(&a, NULL, notifier, reg) == 0);
    CHECK(pthread_create(&b, NULL, notifier, reg) == 0);
    CHECK(pthread_join(a, NULL) == 0);
    CHECK(pthread_join(b, NULL) == 0);
    CHECK_OK(charter_registry_free(reg));
    printf("unguarded = %d\n", unguarded);
    return 0;
}
