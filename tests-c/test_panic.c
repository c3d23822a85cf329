/* The panic firewall: a panic inside Charter becomes CHARTER_E_PANIC with a
 * message, never unwinds into C, and prints nothing. */
#include <fcntl.h>
#include <unistd.h>

#include "check.h"

static void panic_becomes_a_status(void) {
    CHECK_STATUS(charter_test_panic("deliberate boom"), CHARTER_E_PANIC);
    CHECK_MESSAGE_HAS("CHARTER_E_PANIC");
    CHECK_MESSAGE_HAS("deliberate boom");
    CHECK_STATUS(charter_test_panic(NULL), CHARTER_E_PANIC);
    CHECK_MESSAGE_HAS("charter_test_panic");
}

static void library_still_works_after_a_panic(void) {
    charter_registry_t *reg = NULL;
    CHECK_STATUS(charter_test_panic("again"), CHARTER_E_PANIC);
    CHECK_OK(charter_registry_new(&reg));
    CHECK(charter_last_error_message() == NULL);
    CHECK_OK(charter_registry_free(reg));
}

static void a_caught_panic_prints_nothing(void) {
    char path[] = "/tmp/charter-panic-XXXXXX";
    int fd = mkstemp(path);
    int saved = dup(STDERR_FILENO);
    char buf[256];
    ssize_t n;
    CHECK(fd >= 0 && saved >= 0);
    CHECK(dup2(fd, STDERR_FILENO) >= 0);
    charter_test_panic("should stay silent");
    fflush(stderr);
    CHECK(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    n = read(fd, buf, sizeof buf);
    close(fd);
    unlink(path);
    CHECK(n == 0);
}

int main(void) {
    RUN(panic_becomes_a_status);
    RUN(library_still_works_after_a_panic);
    RUN(a_caught_panic_prints_nothing);
    return 0;
}
