// charter.h compiles as C++17 with -Wall -Wextra -Werror -pedantic, and its
// extern "C" guards let a C++ program link and call the library.
#include <cstdio>
#include <cstring>
#include <string>

#include "charter.h"

namespace {

struct Counter {
    int calls = 0;
    int drops = 0;
};

extern "C" charter_status_t on_event(void *user_data, const uint8_t *event, size_t len) {
    auto *c = static_cast<Counter *>(user_data);
    c->calls += std::string(reinterpret_cast<const char *>(event), len) == "hi" ? 1 : 100;
    return CHARTER_OK;
}

extern "C" void on_drop(void *user_data) { static_cast<Counter *>(user_data)->drops++; }

int fail(const char *what) {
    std::fprintf(stderr, "C++ check failed: %s\n", what);
    return 1;
}

}  // namespace

int main() {
    if (charter_abi_version() != CHARTER_ABI_VERSION) return fail("abi version");
    Counter counter;
    charter_registry_t *reg = nullptr;
    uint64_t id = 0;
    charter_notify_report_t report{};
    if (charter_registry_new(&reg) != CHARTER_OK) return fail("new");
    if (charter_registry_register(reg, 0, on_event, &counter, on_drop, &id) != CHARTER_OK) return fail("register");
    const char *event = "hi";
    if (charter_registry_notify(reg, reinterpret_cast<const uint8_t *>(event), std::strlen(event), &report) != CHARTER_OK)
        return fail("notify");
    if (report.delivered != 1 || counter.calls != 1) return fail("delivery");
    if (charter_registry_free(reg) != CHARTER_OK || counter.drops != 1) return fail("free");
    if (std::strcmp(charter_status_name(CHARTER_E_WRONG_HANDLE_TYPE), "CHARTER_E_WRONG_HANDLE_TYPE") != 0)
        return fail("status name");
    std::puts("ok - header works from C++17");
    return 0;
}
