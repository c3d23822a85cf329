/* Shared by the shutdown tests (C and C++): the calls a program may make
 * while a thread or the whole process is shutting down, and a runner that
 * plays a scenario in a child process and checks that it exits with 0 and
 * prints nothing on stderr. */
#ifndef CHARTER_TESTS_SHUTDOWN_CALLS_H
#define CHARTER_TESTS_SHUTDOWN_CALLS_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "charter.h"

/* Succeeding and failing calls on a registry and a bus. Returns 0 when each
 * returned its documented status, else the number of the first that did
 * not. The message of a failure may be unavailable (NULL) this late. */
static int shutdown_calls(void) {
    charter_registry_t *reg = NULL;
    charter_bus_t *bus = NULL;
    charter_client_t *client = NULL;
    uint64_t id = 0;
    char *message;
    if (charter_registry_new(&reg) != CHARTER_OK) return 1;
    if (charter_registry_notify(reg, (const uint8_t *)"x", 1, NULL) != CHARTER_OK) return 2;
    if (charter_registry_free(reg) != CHARTER_OK) return 3;
    if (charter_bus_new(NULL, &bus) != CHARTER_OK) return 4;
    if (charter_client_new(bus, NULL, &client) != CHARTER_OK) return 4;
    if (charter_client_subscribe(client, "a.b", NULL, &id) != CHARTER_OK) return 5;
    if (charter_client_publish(client, "a.b", (const uint8_t *)"x", 1, NULL, 0, NULL) != CHARTER_OK) return 6;
    if (charter_client_publish(client, "a..b", NULL, 0, NULL, 0, NULL) != CHARTER_E_INVALID_ARGUMENT) return 7;
    if (charter_registry_new(NULL) != CHARTER_E_NULL_ARGUMENT) return 8;
    message = charter_last_error_message();
    charter_string_free(message);
    if (charter_client_free(client) != CHARTER_OK) return 9;
    if (charter_bus_free(bus) != CHARTER_OK) return 9;
    if (charter_registry_free(reg) != CHARTER_E_ALREADY_FREED) return 10;
    return 0;
}

/* Makes this thread a Charter user: its last-error slot now exists, so
 * the thread's shutdown destroys it before the calls under test run. */
static int use_charter(void) {
    charter_registry_t *reg = NULL;
    if (charter_registry_new(NULL) != CHARTER_E_NULL_ARGUMENT) return 1;
    if (charter_registry_new(&reg) != CHARTER_OK) return 2;
    return charter_registry_free(reg) == CHARTER_OK ? 0 : 3;
}

/* Runs `scenario` in a child with stderr sent to a file; the scenario ends
 * the child itself. Returns 0 when the child exited with 0 and wrote
 * nothing on stderr, else 1 after saying what happened. */
static int child_exits_quietly(const char *name, void (*scenario)(void)) {
    char path[] = "/tmp/charter-shutdown-XXXXXX";
    char buf[512];
    int fd = mkstemp(path), status = 0;
    ssize_t n;
    pid_t pid;
    if (fd < 0) return 1;
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid == 0) {
        dup2(fd, STDERR_FILENO);
        scenario();
        _exit(99);
    }
    if (pid < 0 || waitpid(pid, &status, 0) != pid) return 1;
    n = pread(fd, buf, sizeof buf - 1, 0);
    close(fd);
    unlink(path);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || n != 0) {
        buf[n > 0 ? n : 0] = '\0';
        fprintf(stderr, "%s: child %s %d, stderr: \"%s\"\n", name,
                WIFEXITED(status) ? "exited with" : "was killed by signal",
                WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), buf);
        return 1;
    }
    return 0;
}

#endif
