/* Charter registry demo: three components react to "config reloaded"
 * events. One of them is flaky; it never disturbs the others. */
#include <stdio.h>
#include <string.h>

#include "charter.h"

typedef struct {
    const char *name;
    int seen;
} component_t;

static charter_status_t invalidate_cache(void *user_data, const uint8_t *event, size_t len) {
    component_t *c = (component_t *)user_data;
    c->seen++;
    printf("  [%s] dropping cached entries for %.*s\n", c->name, (int)len, (const char *)event);
    return CHARTER_OK;
}

static charter_status_t flaky_plugin(void *user_data, const uint8_t *event, size_t len) {
    component_t *c = (component_t *)user_data;
    (void)event;
    (void)len;
    c->seen++;
    printf("  [%s] failing on purpose\n", c->name);
    return CHARTER_E_INTERNAL;
}

static charter_status_t write_log(void *user_data, const uint8_t *event, size_t len) {
    component_t *c = (component_t *)user_data;
    c->seen++;
    printf("  [%s] logged: %.*s\n", c->name, (int)len, (const char *)event);
    return CHARTER_OK;
}

static void released(void *user_data) { printf("  [%s] registration ended\n", ((component_t *)user_data)->name); }

static int check(charter_status_t status, const char *what) {
    if (status == CHARTER_OK) return 0;
    {
        char *message = charter_last_error_message();
        fprintf(stderr, "%s failed: %s\n", what, message ? message : charter_status_name(status));
        charter_string_free(message);
    }
    return 1;
}

static void notify(charter_registry_t *reg, const char *event) {
    charter_notify_report_t r;
    printf("notify(\"%s\")\n", event);
    if (check(charter_registry_notify(reg, (const uint8_t *)event, strlen(event), &r), "notify")) return;
    printf("  => delivered %llu, failed %llu, panicked %llu\n", (unsigned long long)r.delivered,
           (unsigned long long)r.failed, (unsigned long long)r.panicked);
}

int main(void) {
    component_t cache = {"cache", 0}, plugin = {"plugin", 0}, log = {"log", 0};
    charter_registry_t *reg = NULL;
    uint64_t cache_id, plugin_id, log_id;
    bool removed = false;
    size_t len = 0;
    char *message;

    printf("Charter %s (ABI %u)\n\n", charter_version(), charter_abi_version());
    if (check(charter_registry_new(&reg), "charter_registry_new")) return 1;
    if (check(charter_registry_register(reg, 10, invalidate_cache, &cache, released, &cache_id), "register") ||
        check(charter_registry_register(reg, 5, flaky_plugin, &plugin, released, &plugin_id), "register") ||
        check(charter_registry_register(reg, 0, write_log, &log, released, &log_id), "register"))
        return 1;
    charter_registry_len(reg, &len);
    printf("registered %zu handlers (cache first: priority 10)\n\n", len);

    notify(reg, "config reloaded");
    printf("\nunregister the flaky plugin\n");
    charter_registry_unregister(reg, plugin_id, &removed);
    printf("  => removed: %s\n\n", removed ? "yes" : "no");
    notify(reg, "config reloaded again");

    printf("\nfree the registry\n");
    charter_registry_free(reg);
    printf("\nmisuse is reported, never a crash:\n");
    printf("  second free  -> %s\n", charter_status_name(charter_registry_free(reg)));
    printf("  use after it -> %s\n", charter_status_name(charter_registry_len(reg, &len)));
    message = charter_last_error_message();
    printf("  message      -> %s\n", message ? message : "(none)");
    charter_string_free(message);
    printf("\nhandler calls: cache %d, plugin %d, log %d\n", cache.seen, plugin.seen, log.seen);
    return cache.seen == 2 && plugin.seen == 1 && log.seen == 2 ? 0 : 1;
}
