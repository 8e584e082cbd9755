// See futex.h. Why not Atomics.wait/notify: V8 implements them with one process-wide mutex
// (its FutexEmulation), which every waiter takes on its way out and every notifier holds
// while it signals. A real-time arbiter woken by a client then preempts that client while
// it still holds the mutex, and blocks on it until the client runs again: two context
// switches per wake-up on a quiet host, and on a busy one, whatever the client waits for
// its CPU (milliseconds behind CPU hogs). The kernel's futex has no such lock: the waker
// makes one system call, and the woken thread returns from its own.
//
// The threads of one process share the SharedArrayBuffers, so the futexes are private.
#include "futex.h"

#include <cerrno>
#include <climits>
#include <ctime>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace {
// V8 wakes a worker from its own Atomics.wait when the worker is terminated; from a native
// wait it cannot. So no wait lasts longer than this: a terminated worker ends within it,
// and a caller that waited "forever" just looks again.
constexpr double kMaxWaitMs = 100;
}  // namespace

int futexWait(int32_t* word, int32_t expected, double timeoutMs) {
  double ms = timeoutMs < kMaxWaitMs ? timeoutMs : kMaxWaitMs;
  if (!(ms > 0)) ms = 0;
  timespec ts{time_t(ms / 1000), long((ms - double(time_t(ms / 1000)) * 1000) * 1e6)};
  if (syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, &ts, nullptr, 0) < 0) return -errno;
  return 0;
}

int futexWake(int32_t* word) {
  long n = syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0);
  return n < 0 ? -errno : int(n);
}
