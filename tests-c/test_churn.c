/* Memory over create/free cycles: at most one shell (documented at 32
 * bytes or less) per freed handle, and nothing per registration.
 *
 * Resident memory is only meaningful without a sanitizer or valgrind, so
 * the bounds are asserted when CHARTER_TEST_MEASURE_MEMORY is set (the
 * plain ctest run sets it); the other runs check the cycles for errors. */
#include <unistd.h>

#include "bus_fixture.h"
#include "check.h"
#include "memory.h"
#include "registry_handlers.h"

/* Enough cycles for a leak of one shell each to stand out of the noise of
 * resident memory; a run that does not measure (sanitizers, valgrind) only
 * checks the cycles for errors, which a few thousand do as well. */
#define MEASURED_CYCLES 100000
#define CHECKED_CYCLES 5000
#define CYCLES (measuring() ? MEASURED_CYCLES : CHECKED_CYCLES)
#define SHELL_BYTES_BOUND 32
#define SLACK (512 * 1024)

static void handle_cycles_cost_at_most_one_shell(void) {
    charter_registry_t *reg;
    long before, after;
    int i;
    for (i = 0; i < 1000; i++) {
        CHECK_OK(charter_registry_new(&reg));
        CHECK_OK(charter_registry_free(reg));
    }
    before = resident_bytes();
    for (i = 0; i < CYCLES; i++) {
        CHECK_OK(charter_registry_new(&reg));
        CHECK_OK(charter_registry_free(reg));
    }
    after = resident_bytes();
    printf("# %d handle cycles: resident +%ld bytes (%.1f per cycle)\n", CYCLES, after - before,
           (double)(after - before) / CYCLES);
    if (measuring()) CHECK(after - before <= (long)CYCLES * SHELL_BYTES_BOUND + SLACK);
}

static void registration_cycles_cost_nothing(void) {
    charter_registry_t *reg;
    long before, after;
    uint64_t id;
    bool removed;
    int i;
    CHECK_OK(charter_registry_new(&reg));
    for (i = 0; i < 1000; i++) {
        CHECK_OK(charter_registry_register(reg, 0, ignore_event, NULL, NULL, &id));
        CHECK_OK(charter_registry_unregister(reg, id, &removed));
    }
    before = resident_bytes();
    for (i = 0; i < CYCLES; i++) {
        CHECK_OK(charter_registry_register(reg, 0, ignore_event, NULL, NULL, &id));
        CHECK_OK(charter_registry_unregister(reg, id, &removed));
        CHECK(removed);
    }
    after = resident_bytes();
    printf("# %d registration cycles: resident +%ld bytes\n", CYCLES, after - before);
    if (measuring()) CHECK(after - before <= 64 * 1024);
    CHECK_OK(charter_registry_free(reg));
}

static void subscription_cycles_cost_nothing(void) {
    charter_bus_t *bus;
    charter_client_t *cl;
    long before, after;
    uint64_t id;
    bool removed;
    int i;
    cl = open_bus(&bus);
    for (i = 0; i < 1000; i++) {
        CHECK_OK(charter_client_subscribe(cl, "orders.*.created", NULL, &id));
        CHECK_OK(charter_client_publish(cl, "orders.eu.created", (const uint8_t *)"x", 1, NULL, 0, NULL));
        CHECK_OK(charter_client_unsubscribe(cl, id, &removed));
    }
    before = resident_bytes();
    for (i = 0; i < CYCLES; i++) {
        CHECK_OK(charter_client_subscribe(cl, "orders.*.created", NULL, &id));
        CHECK_OK(charter_client_publish(cl, "orders.eu.created", (const uint8_t *)"x", 1, NULL, 0, NULL));
        CHECK_OK(charter_client_unsubscribe(cl, id, &removed));
        CHECK(removed);
    }
    after = resident_bytes();
    printf("# %d subscription cycles: resident +%ld bytes\n", CYCLES, after - before);
    if (measuring()) CHECK(after - before <= 64 * 1024);
    close_bus(cl, bus);
}

int main(void) {
    RUN(handle_cycles_cost_at_most_one_shell);
    RUN(registration_cycles_cost_nothing);
    RUN(subscription_cycles_cost_nothing);
    return 0;
}
