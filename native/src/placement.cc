// Thread placement for the data path's threads (ARCHITECTURE.md, "CPUs are planned"):
// each worker calls this on itself before it starts work, and the main thread places the
// process's other threads (V8's and libuv's helpers) with the clients. Both calls take a
// thread id (0: the calling thread) — Linux applies affinity and scheduling policy per
// thread, so one worker's placement never changes another's.
#include "placement.h"

#include <cerrno>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

int placeThread(int tid, const int32_t* cpus, uint32_t n, int priority, int nice) {
  if (n > 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (uint32_t i = 0; i < n; i++) {
      if (cpus[i] < 0 || cpus[i] >= CPU_SETSIZE) return -EINVAL;
      CPU_SET(cpus[i], &set);
    }
    if (sched_setaffinity(tid, sizeof(set), &set) < 0) return -errno;
  }
  if (priority > 0) {
    sched_param param{};
    param.sched_priority = priority;
    if (sched_setscheduler(tid, SCHED_FIFO, &param) < 0) return -errno;
  } else if (nice != 0) {
    // Linux keeps a nice value per thread: PRIO_PROCESS with a thread id sets that thread's alone.
    if (setpriority(PRIO_PROCESS, id_t(tid == 0 ? threadId() : tid), nice) < 0) return -errno;
  }
  return 0;
}

int threadId() { return int(syscall(SYS_gettid)); }
