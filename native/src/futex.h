// Parking a thread on a word of shared memory, and waking it, with the kernel's futex
// directly (futex.cc says why not Atomics.wait/notify).
#pragma once

#include <cstdint>

// Sleeps while *word == expected, until woken or `timeoutMs` passes (capped: see futex.cc).
// 0 when woken (or spuriously), -EAGAIN when *word was not `expected`, -ETIMEDOUT, -EINTR.
int futexWait(int32_t* word, int32_t expected, double timeoutMs);

// Wakes every thread sleeping on `word`; returns how many woke.
int futexWake(int32_t* word);

// Sets the calling thread's timer slack: how late the kernel may end its timed waits, to
// batch wake-ups (50 µs by default; real-time threads have none). 0 or -errno.
int setTimerSlack(long ns);
