// Calls made from a C++ static destructor and from the destructor of a
// C++ thread_local, both run after Charter's own thread-locals are gone,
// do their work and return their status, never aborting or printing.
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "shutdown_calls.h"

namespace {

struct CallsWhenDestroyed {
    int *result;
    ~CallsWhenDestroyed() {
        int failed = shutdown_calls();
        if (result != nullptr) {
            *result = failed;
        } else if (failed != 0) {
            _exit(10 + failed);
        }
    }
};

void static_destructor_scenario() {
    // Constructed here, in the child: destroyed by exit() after the main
    // thread's thread-locals.
    static CallsWhenDestroyed calls{nullptr};
    (void)calls;
    if (use_charter() != 0) _exit(2);
    std::exit(0);
}

int thread_local_result = -1;

void thread_local_scenario() {
    std::thread worker([] {
        // Registered before Charter's slot, so destroyed after it.
        thread_local CallsWhenDestroyed calls{&thread_local_result};
        (void)calls;
        if (use_charter() != 0) _exit(2);
    });
    worker.join();
    if (thread_local_result != 0) _exit(10 + thread_local_result);
    std::exit(0);
}

}  // namespace

int main() {
    if (child_exits_quietly("static destructor", static_destructor_scenario) != 0) return 1;
    std::printf("ok - calls_from_a_static_destructor\n");
    if (child_exits_quietly("thread_local destructor", thread_local_scenario) != 0) return 1;
    std::printf("ok - calls_from_a_thread_local_destructor\n");
    return 0;
}
