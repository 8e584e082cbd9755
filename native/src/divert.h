#pragma once
#include <cstdint>

// The diversion program's state (native/bpf/divert.bpf.c; keep the two in step): one
// mmapable array element, which the arbiter stamps through a mapping of it.
struct DivertState {
  uint64_t heartbeatNs;  // CLOCK_MONOTONIC of the last stamp
  uint64_t staleNs;      // redirect while now - heartbeatNs <= staleNs
  uint32_t captureIfindex;
  uint32_t failClosed;
  uint64_t pad[5];
  uint64_t bypassed;  // packets passed to the device's own qdisc while the heartbeat was stale
};

struct DivertSpec {
  const char* objPath;  // the compiled program (divert.bpf.o)
  const char* pinPath;  // where its state map is pinned (bpffs)
  int ifindex;          // the device whose egress is diverted
  int captureIfindex;
  uint64_t staleNs;
  bool failClosed;
  uint32_t priority;  // of the filter on the device's clsact egress hook (which must exist)
};

// Loads the program, fills and stamps its state, pins the state map and attaches the
// program to the device's egress hook. Returns the state map's fd (close-on-exec; the
// caller keeps it and maps it with mapDivertState) or -errno; `why` says which step failed.
int attachDivert(const DivertSpec& spec, const char** why);
// The state of the map behind `fd`, mapped read-write (nullptr and errno on failure).
DivertState* mapDivertState(int fd);
void unmapDivertState(DivertState* s);
