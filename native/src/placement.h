#pragma once
#include <cstdint>

// Pins the calling thread to `cpus[0..n)` (n == 0: leaves its affinity alone) and, when
// `priority` > 0, runs it under SCHED_FIFO at that priority (0: SCHED_OTHER, as started);
// at SCHED_OTHER, a `nice` other than 0 sets its nice value (its CFS weight).
// 0, or -errno of the call that failed (EINVAL: a CPU this host lacks; EPERM/EACCES: no
// CAP_SYS_NICE). `tid` 0 is the calling thread; another thread of this process by its kernel id.
int placeThread(int tid, const int32_t* cpus, uint32_t n, int priority, int nice);
// The calling thread's kernel id (what /proc/PID/task/TID names).
int threadId();
