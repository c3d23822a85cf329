// Consumer check: the installed header and library from C++.
#include <charter.h>

#include <cstdio>
#include <memory>

namespace {
struct RegistryDeleter {
    void operator()(charter_registry_t *reg) const { charter_registry_free(reg); }
};
}  // namespace

int main() {
    charter_registry_t *raw = nullptr;
    if (charter_registry_new(&raw) != CHARTER_OK) return 1;
    std::unique_ptr<charter_registry_t, RegistryDeleter> reg(raw);
    size_t len = 1;
    if (charter_registry_len(reg.get(), &len) != CHARTER_OK || len != 0) return 2;
    std::printf("consumer (C++) linked Charter %s: ok\n", charter_version());
    return 0;
}
