#pragma once
#include <cstdint>

// The diversion program's state (native/bpf/divert.bpf.c; keep the two in step): one
// mmapable array element, which the arbiter stamps through a mapping of it.
struct DivertState {
  uint64_t heartbeatNs;  // CLOCK_MONOTONIC of the last stamp
  uint64_t staleNs;      // a live daemon's packets are redirected while now - heartbeatNs <= staleNs
  uint32_t captureIfindex;
  uint32_t failClosed;
  uint64_t checkNs;  // older than this, the program looks whether the daemon's process is alive
  uint32_t rings;    // capture rings in use (0: every diverted frame takes the capture pair)
  uint32_t pad0;
  uint64_t pad[3];
  uint64_t bypassed;  // packets passed to the device's own qdisc while the heartbeat was stale
};

struct DivertSpec {
  const char* objPath;  // the compiled program (divert.bpf.o)
  const char* pinPath;  // where its state map is pinned (bpffs)
  int ifindex;          // the device whose egress is diverted
  int captureIfindex;
  uint64_t staleNs;
  uint64_t checkNs;
  bool failClosed;
  uint32_t priority;  // of the filter on the device's clsact egress hook (which must exist)
  // Ring capture (objPath then the program built with RING_CAPTURE): the capture threads'
  // rings, and their drop counters (ring_capture.h). No rings: the capture pair alone.
  const int* ringFds;
  uint32_t rings;
  int ringDropsFd;
};

// Loads the program, fills and stamps its state, puts a socket of this process in its
// liveness map, pins the state map and attaches the program to the device's egress hook.
// Returns 0 with the state map's fd (the caller maps it with mapDivertState) and the
// liveness socket's (the caller keeps it open as long as it takes the device's packets:
// the kernel drops it from the map when this process ends), both close-on-exec; or
// -errno, with `why` saying which step failed.
int attachDivert(const DivertSpec& spec, int* stateFd, int* aliveFd, const char** why);
// Whether the kernel takes the program(s) in `objPath`: loads them (and their maps) and
// lets them go. 0, or -errno with `why` saying which step failed.
int probeProgram(const char* objPath, const char** why);
// The state of the map behind `fd`, mapped read-write (nullptr and errno on failure).
DivertState* mapDivertState(int fd);
void unmapDivertState(DivertState* s);
