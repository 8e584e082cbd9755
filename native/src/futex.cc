// See futex.h; why doorbells do not use Atomics.wait/notify (V8's process-wide lock, and a
// real-time arbiter blocked behind a client holding it): src/shm/futex.ts.
//
// The threads of one process share the SharedArrayBuffers, so the futexes are private.
#include "futex.h"

#include <cerrno>
#include <climits>
#include <ctime>
#include <linux/futex.h>
#include <sys/prctl.h>
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

int setTimerSlack(long ns) { return prctl(PR_SET_TIMERSLACK, ns, 0, 0, 0) < 0 ? -errno : 0; }
