/* Registry semantics through the C ABI: order, failure counting,
 * drop_user_data exactly once, re-entrant callbacks, nesting bound. */
#include "check.h"
#include "registry_handlers.h"

typedef struct {
    int calls;
    int drops;
    char tag;
    char *log; /* appended to by the handler */
    charter_status_t result;
} probe_t;

static charter_status_t probe_handler(void *user_data, const uint8_t *event, size_t len) {
    probe_t *p = (probe_t *)user_data;
    size_t at = strlen(p->log);
    p->calls++;
    p->log[at] = p->tag;
    p->log[at + 1] = '\0';
    (void)event;
    (void)len;
    return p->result;
}

static void probe_drop(void *user_data) { ((probe_t *)user_data)->drops++; }

static probe_t probe(char tag, char *log, charter_status_t result) {
    probe_t p;
    p.calls = 0;
    p.drops = 0;
    p.tag = tag;
    p.log = log;
    p.result = result;
    return p;
}

static void priority_then_registration_order(void) {
    charter_registry_t *reg = NULL;
    char log[16] = "";
    probe_t a = probe('a', log, CHARTER_OK), b = probe('b', log, CHARTER_OK),
            c = probe('c', log, CHARTER_OK), d = probe('d', log, CHARTER_OK);
    uint64_t ids[4];
    charter_notify_report_t r;
    CHECK_OK(charter_registry_new(&reg));
    CHECK_OK(charter_registry_register(reg, 0, probe_handler, &a, probe_drop, &ids[0]));
    CHECK_OK(charter_registry_register(reg, 5, probe_handler, &b, probe_drop, &ids[1]));
    CHECK_OK(charter_registry_register(reg, 0, probe_handler, &c, probe_drop, &ids[2]));
    CHECK_OK(charter_registry_register(reg, -1, probe_handler, &d, probe_drop, &ids[3]));
    CHECK(ids[0] != ids[1] && ids[1] != ids[2] && ids[2] != ids[3] && ids[0] != ids[3]);
    CHECK_OK(charter_registry_notify(reg, (const uint8_t *)"x", 1, &r));
    CHECK(strcmp(log, "bacd") == 0);
    CHECK(r.delivered == 4 && r.failed == 0 && r.panicked == 0);
    CHECK_OK(charter_registry_free(reg));
    CHECK(a.drops == 1 && b.drops == 1 && c.drops == 1 && d.drops == 1);
}

static void error_status_counts_as_failed_and_siblings_run(void) {
    charter_registry_t *reg = NULL;
    char log[16] = "";
    probe_t ok1 = probe('1', log, CHARTER_OK), bad = probe('x', log, CHARTER_E_DENIED),
            weird = probe('w', log, 42), ok2 = probe('2', log, CHARTER_OK);
    uint64_t id;
    charter_notify_report_t r;
    CHECK_OK(charter_registry_new(&reg));
    CHECK_OK(charter_registry_register(reg, 0, probe_handler, &ok1, NULL, &id));
    CHECK_OK(charter_registry_register(reg, 0, probe_handler, &bad, NULL, &id));
    CHECK_OK(charter_registry_register(reg, 0, probe_handler, &weird, NULL, &id));
    CHECK_OK(charter_registry_register(reg, 0, probe_handler, &ok2, NULL, &id));
    CHECK_OK(charter_registry_notify(reg, NULL, 0, &r));
    CHECK(strcmp(log, "1xw2") == 0);
    CHECK(r.delivered == 2 && r.failed == 2 && r.panicked == 0);
    CHECK_OK(charter_registry_notify(reg, NULL, 0, NULL));
    CHECK_OK(charter_registry_free(reg));
}

static void panic_status_counts_as_panicked(void) {
    charter_registry_t *reg = NULL;
    char log[16] = "";
    probe_t ok = probe('o', log, CHARTER_OK), panicky = probe('p', log, CHARTER_E_PANIC);
    uint64_t id;
    charter_notify_report_t r;
    CHECK_OK(charter_registry_new(&reg));
    CHECK_OK(charter_registry_register(reg, 1, probe_handler, &panicky, probe_drop, &id));
    CHECK_OK(charter_registry_register(reg, 0, probe_handler, &ok, probe_drop, &id));
    CHECK_OK(charter_registry_notify(reg, NULL, 0, &r));
    CHECK(strcmp(log, "po") == 0);
    CHECK(r.delivered == 1 && r.failed == 0 && r.panicked == 1);
    CHECK_OK(charter_registry_free(reg));
    CHECK(ok.drops == 1 && panicky.drops == 1);
}

static void unregister_contains_len_clear_and_drop_once(void) {
    charter_registry_t *reg = NULL;
    char log[64] = "";
    probe_t a = probe('a', log, CHARTER_OK), b = probe('b', log, CHARTER_OK), c = probe('c', log, CHARTER_OK);
    uint64_t ia, ib, ic, id2;
    bool removed = false, has = true;
    size_t len = 99;
    CHECK_OK(charter_registry_new(&reg));
    CHECK_OK(charter_registry_register(reg, 0, probe_handler, &a, probe_drop, &ia));
    CHECK_OK(charter_registry_register(reg, 0, probe_handler, &b, probe_drop, &ib));
    CHECK_OK(charter_registry_register(reg, 0, probe_handler, &c, probe_drop, &ic));
    CHECK_OK(charter_registry_len(reg, &len));
    CHECK(len == 3);
    CHECK_OK(charter_registry_unregister(reg, ia, &removed));
    CHECK(removed && a.drops == 1);
    CHECK_OK(charter_registry_unregister(reg, ia, &removed));
    CHECK(!removed && a.drops == 1);
    CHECK_OK(charter_registry_unregister(reg, 987654, NULL));
    CHECK_OK(charter_registry_contains(reg, ia, &has));
    CHECK(!has);
    CHECK_OK(charter_registry_contains(reg, ib, &has));
    CHECK(has);
    CHECK_OK(charter_registry_clear(reg));
    CHECK(b.drops == 1 && c.drops == 1);
    CHECK_OK(charter_registry_len(reg, &len));
    CHECK(len == 0);
    CHECK_OK(charter_registry_register(reg, 0, probe_handler, &a, NULL, &id2));
    CHECK(id2 != ia && id2 != ib && id2 != ic); /* ids are never reused */
    CHECK_OK(charter_registry_free(reg));
    CHECK(a.drops == 1 && b.drops == 1 && c.drops == 1);
}

static void out_parameters_untouched_on_failure(void) {
    charter_registry_t *reg = (charter_registry_t *)(uintptr_t)0x1234;
    uint64_t id = 77;
    size_t len = 88;
    bool flag = true;
    charter_registry_t *good = NULL;
    CHECK_STATUS(charter_registry_new_with_max_depth(CHARTER_REGISTRY_MAX_DEPTH_LIMIT + 1, &reg),
                 CHARTER_E_INVALID_ARGUMENT);
    CHECK_STATUS(charter_registry_new_with_max_depth(0, &reg), CHARTER_E_INVALID_ARGUMENT);
    CHECK_MESSAGE_HAS("max_depth must be between 1 and 64, got 0");
    CHECK(reg == (charter_registry_t *)(uintptr_t)0x1234);
    CHECK_OK(charter_registry_new(&good));
    CHECK_STATUS(charter_registry_register(good, 0, NULL, NULL, NULL, &id), CHARTER_E_NULL_ARGUMENT);
    CHECK_MESSAGE_HAS("fn is NULL");
    CHECK(id == 77);
    CHECK_STATUS(charter_registry_register(good, 0, probe_handler, NULL, NULL, NULL), CHARTER_E_NULL_ARGUMENT);
    CHECK_MESSAGE_HAS("out_id is NULL");
    CHECK_STATUS(charter_registry_len(good, NULL), CHARTER_E_NULL_ARGUMENT);
    CHECK_STATUS(charter_registry_contains(good, 1, NULL), CHARTER_E_NULL_ARGUMENT);
    CHECK_STATUS(charter_registry_notify(good, NULL, 3, NULL), CHARTER_E_NULL_ARGUMENT);
    CHECK_MESSAGE_HAS("event is NULL");
    CHECK_STATUS(charter_registry_new(NULL), CHARTER_E_NULL_ARGUMENT);
    CHECK_OK(charter_registry_free(good));
    CHECK_STATUS(charter_registry_len(good, &len), CHARTER_E_HANDLE_FREED);
    CHECK(len == 88);
    CHECK_STATUS(charter_registry_contains(good, 1, &flag), CHARTER_E_HANDLE_FREED);
    CHECK(flag);
}

/* --- re-entrancy --------------------------------------------------------- */

typedef struct {
    charter_registry_t *reg;
    uint64_t self_id;
    int calls;
    int drops;
    int nested_status;
    charter_notify_report_t nested;
} reentrant_t;

static charter_status_t count_handler(void *user_data, const uint8_t *event, size_t len) {
    (void)event;
    (void)len;
    ((reentrant_t *)user_data)->calls++;
    return CHARTER_OK;
}

static void reentrant_drop(void *user_data) { ((reentrant_t *)user_data)->drops++; }

static charter_status_t unregister_self(void *user_data, const uint8_t *event, size_t len) {
    self_removal_t *s = (self_removal_t *)user_data;
    bool removed = false;
    (void)event;
    (void)len;
    s->calls++;
    if (charter_registry_unregister(s->reg, s->self_id, &removed) != CHARTER_OK || !removed) return CHARTER_E_INTERNAL;
    return CHARTER_OK;
}

static void handler_unregisters_itself(void) { check_removes_itself(unregister_self); }

static charter_status_t register_and_notify(void *user_data, const uint8_t *event, size_t len) {
    reentrant_t *s = (reentrant_t *)user_data;
    uint64_t id;
    (void)len;
    s->calls++;
    if (event != NULL && event[0] == 'o') {
        static reentrant_t inner;
        if (charter_registry_register(s->reg, 0, count_handler, &inner, NULL, &id) != CHARTER_OK) return CHARTER_E_INTERNAL;
        s->nested_status = charter_registry_notify(s->reg, (const uint8_t *)"i", 1, &s->nested);
    }
    return CHARTER_OK;
}

static void handler_registers_and_notifies(void) {
    reentrant_t s;
    charter_notify_report_t r;
    memset(&s, 0, sizeof s);
    CHECK_OK(charter_registry_new(&s.reg));
    CHECK_OK(charter_registry_register(s.reg, 0, register_and_notify, &s, NULL, &s.self_id));
    CHECK_OK(charter_registry_notify(s.reg, (const uint8_t *)"o", 1, &r));
    CHECK(r.delivered == 1);
    CHECK(s.nested_status == CHARTER_OK);
    CHECK(s.nested.delivered == 2); /* the nested round sees the new handler */
    CHECK(s.calls == 2);
    CHECK_OK(charter_registry_free(s.reg));
}

static charter_status_t free_parent(void *user_data, const uint8_t *event, size_t len) {
    reentrant_t *s = (reentrant_t *)user_data;
    (void)event;
    (void)len;
    s->calls++;
    s->nested_status = charter_registry_free(s->reg);
    return CHARTER_OK;
}

static void handler_frees_its_registry(void) {
    reentrant_t s, after;
    charter_notify_report_t r;
    uint64_t id;
    memset(&s, 0, sizeof s);
    memset(&after, 0, sizeof after);
    CHECK_OK(charter_registry_new(&s.reg));
    CHECK_OK(charter_registry_register(s.reg, 1, free_parent, &s, reentrant_drop, &id));
    CHECK_OK(charter_registry_register(s.reg, 0, count_handler, &after, reentrant_drop, &id));
    CHECK_OK(charter_registry_notify(s.reg, NULL, 0, &r));
    CHECK(s.nested_status == CHARTER_OK);
    /* The round in progress completes: the sibling still runs. */
    CHECK(r.delivered == 2 && after.calls == 1);
    CHECK(s.drops == 1 && after.drops == 1);
    CHECK_STATUS(charter_registry_notify(s.reg, NULL, 0, &r), CHARTER_E_HANDLE_FREED);
}

static charter_status_t recurse(void *user_data, const uint8_t *event, size_t len) {
    reentrant_t *s = (reentrant_t *)user_data;
    charter_status_t st;
    (void)event;
    (void)len;
    s->calls++;
    st = charter_registry_notify(s->reg, NULL, 0, NULL);
    if (st != CHARTER_OK) s->nested_status = st;
    return CHARTER_OK;
}

static void nested_notify_is_bounded(void) {
    reentrant_t s;
    uint64_t id;
    memset(&s, 0, sizeof s);
    CHECK_OK(charter_registry_new_with_max_depth(5, &s.reg));
    CHECK_OK(charter_registry_register(s.reg, 0, recurse, &s, NULL, &id));
    CHECK_OK(charter_registry_notify(s.reg, NULL, 0, NULL));
    CHECK(s.calls == 5);
    CHECK(s.nested_status == CHARTER_E_LIMIT_EXCEEDED);
    CHECK_OK(charter_registry_free(s.reg));
}

int main(void) {
    RUN(priority_then_registration_order);
    RUN(error_status_counts_as_failed_and_siblings_run);
    RUN(panic_status_counts_as_panicked);
    RUN(unregister_contains_len_clear_and_drop_once);
    RUN(out_parameters_untouched_on_failure);
    RUN(handler_unregisters_itself);
    RUN(handler_registers_and_notifies);
    RUN(handler_frees_its_registry);
    RUN(nested_notify_is_bounded);
    return 0;
}
