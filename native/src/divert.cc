// Loads and attaches the egress diversion program with libbpf (object file, not a
// skeleton: the object is built beside the addon by `npm run build:native`). The program
// keeps running after this process exits — the tc filter holds it, and it holds its
// state map — which is what makes fail-open work when the daemon dies: nobody stamps the
// heartbeat any more, and the program lets packets through.
#include "divert.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <ctime>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/mman.h>
#include <unistd.h>

namespace {

const char* kProgram = "pspat_divert";
const char* kStateMap = "divert_state";
const char* kAliveMap = "daemon_alive";
const char* kRingsMap = "capture_rings";
const char* kRingDropsMap = "ring_drops";

// A UDP socket bound to an ephemeral port (a sockmap takes only bound UDP sockets); it
// never sends or receives: its lifetime is the signal.
int livenessSocket() {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  sockaddr_in any{};
  any.sin_family = AF_INET;
  if (bind(fd, reinterpret_cast<sockaddr*>(&any), sizeof any) < 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  return fd;
}

// libbpf prints its own diagnostics to stderr by default; the daemon's stderr is its log,
// and the step that failed is said there by the caller, so only warnings are kept.
int quietPrint(enum libbpf_print_level level, const char* fmt, va_list args) {
  return level == LIBBPF_WARN ? vfprintf(stderr, fmt, args) : 0;
}

uint64_t monotonicNs() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return uint64_t(t.tv_sec) * 1000000000ull + uint64_t(t.tv_nsec);
}

}  // namespace

int probeProgram(const char* objPath, const char** why) {
  libbpf_set_print(quietPrint);
  bpf_object* obj = bpf_object__open_file(objPath, nullptr);
  if (!obj) {
    *why = "open the program";
    return -errno;
  }
  int err = bpf_object__load(obj);
  if (err < 0) *why = "load the program";
  bpf_object__close(obj);
  return err;
}

DivertState* mapDivertState(int fd) {
  void* m = mmap(nullptr, sizeof(DivertState), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  return m == MAP_FAILED ? nullptr : static_cast<DivertState*>(m);
}

void unmapDivertState(DivertState* s) { munmap(s, sizeof(DivertState)); }

int attachDivert(const DivertSpec& spec, int* stateFd, int* aliveFd, const char** why) {
  libbpf_set_print(quietPrint);
  bpf_object* obj = bpf_object__open_file(spec.objPath, nullptr);
  if (!obj) {
    *why = "open the program";
    return -errno;
  }
  int err = 0;
  int alive = -1;
  uint32_t key = 0;
  DivertState* state = nullptr;
  bpf_program* prog = bpf_object__find_program_by_name(obj, kProgram);
  bpf_map* map = bpf_object__find_map_by_name(obj, kStateMap);
  bpf_map* aliveMap = bpf_object__find_map_by_name(obj, kAliveMap);
  *stateFd = *aliveFd = -1;
  if (!prog || !map || !aliveMap) {
    *why = "find the program in its object";
    err = -ENOENT;
    goto out;
  }
  if (spec.rings > 0) {
    bpf_map* drops = bpf_object__find_map_by_name(obj, kRingDropsMap);
    if (!drops || !bpf_object__find_map_by_name(obj, kRingsMap)) {
      *why = "find the capture rings in its object";
      err = -ENOENT;
      goto out;
    }
    // The readers hold the drop counters already: the program counts into theirs.
    if ((err = bpf_map__reuse_fd(drops, spec.ringDropsFd)) < 0) {
      *why = "share the ring drop counters";
      goto out;
    }
  }
  if ((err = bpf_object__load(obj)) < 0) {
    *why = "load the program";
    goto out;
  }
  for (uint32_t i = 0; i < spec.rings; i++) {
    if (bpf_map_update_elem(bpf_object__find_map_fd_by_name(obj, kRingsMap), &i, &spec.ringFds[i], BPF_ANY) < 0) {
      *why = "put the capture rings in the program's map";
      err = -errno;
      goto out;
    }
  }
  state = mapDivertState(bpf_map__fd(map));
  if (!state) {
    *why = "map its state";
    err = -errno;
    goto out;
  }
  // Fresh before it is attached: the first packets are diverted, not passed.
  state->staleNs = spec.staleNs;
  state->checkNs = spec.checkNs;
  state->captureIfindex = uint32_t(spec.captureIfindex);
  state->failClosed = spec.failClosed ? 1 : 0;
  state->rings = spec.rings;
  state->heartbeatNs = monotonicNs();
  if ((alive = livenessSocket()) < 0) {
    *why = "open its liveness socket";
    err = alive;
    goto out;
  }
  if (bpf_map_update_elem(bpf_map__fd(aliveMap), &key, &alive, BPF_ANY) < 0) {
    *why = "put its liveness socket in the map";
    err = -errno;
    goto out;
  }
  if ((err = bpf_map__pin(map, spec.pinPath)) < 0) {
    *why = "pin its state map";
    goto out;
  }
  {
    LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = spec.ifindex, .attach_point = BPF_TC_EGRESS);
    LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = bpf_program__fd(prog), .flags = 0, .priority = spec.priority);
    if ((err = bpf_tc_attach(&hook, &opts)) < 0) {
      *why = "attach it to the egress hook";
      bpf_map__unpin(map, spec.pinPath);
      goto out;
    }
  }
  *stateFd = fcntl(bpf_map__fd(map), F_DUPFD_CLOEXEC, 0);
  if (*stateFd < 0) err = -errno;  // attached and fresh: the caller detaches it by priority
out:
  if (state) unmapDivertState(state);
  bpf_object__close(obj);
  if (err < 0) {
    if (alive >= 0) close(alive);
    return err;
  }
  *aliveFd = alive;
  return 0;
}
