// AF_XDP transmit port over the kernel UAPI (linux/if_xdp.h) directly rather than
// libxdp: TX needs only a UMEM registration, three mmapped rings and a bind, and the UAPI
// keeps the addon free of a library dependency that Debian ships separately (libxdp is
// not installed by default); the ring discipline follows libxdp's xsk.h (cached
// opposite index, reserve/submit, peek/release).
//
// The UMEM is the frame pool itself (the page-aligned window of the SharedArrayBuffer),
// so a frame a client wrote is transmitted without a copy: a TX descriptor is just the
// frame's offset in the window (plus its head) and its length. Completions return those
// addresses, whose frame is the address over the frame size.
// While the device is down the descriptors wait in the TX ring and every kick fails
// (ENETDOWN; ENXIO once it is deleted); abort() closes the socket and fails them
// (what had completed already comes back as it went: sent, or dropped as below).
//
// In copy mode a completion does not mean the frame left: a device that is stopping or
// has lost its carrier drops the frame it is handed and the kernel completes it anyway,
// saying only EBUSY from that kick (net/xdp/xsk.c: "SKB completed but not sent"). The
// drop's completion is posted inside the kick, so the newest completion is that frame
// (exact where earlier frames have completed, as on veth; on a NIC with completions
// outstanding the count is exact and the frame may be a neighbour). It comes back
// failed, and the kick counts as a fault (ENETDOWN), so the port waits for the device
// to run again instead of dropping the queue at link rate.
#include "port.h"

#include "xsk_ring.h"

#include <cerrno>
#include <cstring>
#include <initializer_list>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace {

class XdpPort : public TxPortNative {
 public:
  XdpPort(const PortArrays& a, int fd) : TxPortNative(a), fd_(fd), held_(a.umemLen / a.frameSize, kFree) {}
  ~XdpPort() override { release(); }

  int submit(uint32_t count) override {
    if (fd_ < 0) return 0;
    // Reserve: free TX slots, refreshing the cached consumer only when short.
    uint32_t freeSlots = tx_.size - (txProd_ - txConsCached_);
    if (freeSlots < count) {
      txConsCached_ = __atomic_load_n(tx_.consumer, __ATOMIC_ACQUIRE);  // pairs with the kernel's consumer release
      freeSlots = tx_.size - (txProd_ - txConsCached_);
    }
    uint32_t n = count < freeSlots ? count : freeSlots;
    if (n < count) a_.info[kRingFull]++;
    auto* descs = static_cast<xdp_desc*>(tx_.descs);
    for (uint32_t i = 0; i < n; i++) {
      int32_t f = a_.batch[i];
      xdp_desc& d = descs[(txProd_ + i) & tx_.mask];
      d.addr = uint64_t(f) * a_.frameSize + a_.heads[f];
      d.len = a_.lens[f];
      d.options = 0;
      held_[f] = kHeld;
    }
    txProd_ += n;
    __atomic_store_n(tx_.producer, txProd_, __ATOMIC_RELEASE);  // publishes the descriptors
    inFlight_ += n;
    setInFlight(inFlight_);
    if (n > 0 || inFlight_ > 0) kick();
    return int(n);
  }

  int reap(uint32_t max) override {
    if (max > a_.batchCap) max = a_.batchCap;
    if (fd_ < 0) return reapLeft(max);
    uint32_t cons = *cq_.consumer;
    uint32_t ready = __atomic_load_n(cq_.producer, __ATOMIC_ACQUIRE) - cons;  // pairs with the kernel's producer release
    uint32_t n = ready < max ? ready : max;
    for (uint32_t i = 0; i < n; i++) {
      int32_t f = completed(cons + i);
      a_.done[i] = f;
      a_.status[i] = outcome(f);
      held_[f] = kFree;
    }
    __atomic_store_n(cq_.consumer, cons + n, __ATOMIC_RELEASE);  // hands the slots back
    inFlight_ -= n;
    setInFlight(inFlight_);
    // Copy mode sends only on a kick: keep kicking while frames wait in the TX ring
    // (not while the device is faulted: JS retries by reopening the port).
    if (n == 0 && inFlight_ > 0 && !kickFailed()) kick();
    return int(n);
  }

  void abort(int err) override {
    if (fd_ < 0) return;
    // Completions already on the ring are frames the kernel is done with (copy mode
    // completes each inside its kick): they come back sent, or failed where kick()
    // marked a device drop; only what the kernel never took fails with `err`.
    uint32_t prod = __atomic_load_n(cq_.producer, __ATOMIC_ACQUIRE);  // pairs with the kernel's producer release
    for (uint32_t cons = *cq_.consumer; cons != prod; cons++) {
      int32_t f = completed(cons);
      left_.push_back({f, outcome(f)});
      held_[f] = kFree;
    }
    release();  // the kernel completes nothing of this socket from now on
    for (size_t f = 0; f < held_.size(); f++) {
      if (held_[f] == kFree) continue;
      left_.push_back({int32_t(f), err});
      held_[f] = kFree;
    }
  }

  XskRing tx_, cq_, fq_;
  bool copyMode_ = false;  // bound with XDP_COPY

 private:
  void kick() {
    if (!(__atomic_load_n(tx_.flags, __ATOMIC_ACQUIRE) & XDP_RING_NEED_WAKEUP)) return;
    long rc = sendto(fd_, nullptr, 0, MSG_DONTWAIT, nullptr, 0);
    int err = errno;
    if (rc < 0 && err == EBUSY && copyMode_) {
      // The device dropped the frame it was handed (see the top of this file).
      int32_t f = completed(__atomic_load_n(cq_.producer, __ATOMIC_ACQUIRE) - 1);
      if (held_[f] == kHeld) held_[f] = kDropped;
      err = ENETDOWN;
    }
    kicked(rc, err);
  }

  // The frame of completion-ring entry `i`.
  int32_t completed(uint32_t i) const {
    return int32_t(static_cast<const uint64_t*>(cq_.descs)[i & cq_.mask] / a_.frameSize);
  }

  int32_t outcome(int32_t f) const { return held_[f] == kDropped ? -ENETDOWN : 0; }

  // After abort(): hands back what the socket held, sent or failed.
  int reapLeft(uint32_t max) {
    uint32_t n = 0;
    for (; n < max && !left_.empty(); n++) {
      Done d = left_.back();
      left_.pop_back();
      a_.done[n] = d.frame;
      a_.status[n] = d.status;
    }
    inFlight_ -= n;
    setInFlight(inFlight_);
    return int(n);
  }

  void release() {
    if (fd_ < 0) return;
    for (XskRing* r : {&tx_, &cq_, &fq_}) r->unmap();
    close(fd_);
    fd_ = -1;
  }

  int fd_;
  uint32_t txProd_ = 0;
  uint32_t txConsCached_ = 0;
  uint32_t inFlight_ = 0;
  enum Held : uint8_t { kFree, kHeld, kDropped };
  std::vector<Held> held_;        // per pool frame: whether the socket holds it (dropped: completed, not sent)
  struct Done { int32_t frame; int32_t status; };
  std::vector<Done> left_;        // what abort() found the socket holding, not yet reaped
};

// In copy mode one kick sends at most a budget of frames, 32 unless raised, and the rest
// wait in the TX ring for the next kick: a 256-frame release took eight system calls and
// eight of the arbiter's passes to leave. Raised to what one submit can carry, a kick
// sends a whole release (bench e2e: pspat's saturation +8%, BENCHMARKS.md). Kernels
// before 6.17 lack the option (ENOPROTOOPT) and keep 32: slower, not wrong.
void raiseKickBudget(int fd, uint32_t perSubmit, uint32_t ringSize) {
  constexpr int kMaxTxSkbBudget = 9;  // XDP_MAX_TX_SKB_BUDGET (linux/if_xdp.h, 6.17), not in older headers
  constexpr uint32_t kDefaultBudget = 32;
  uint32_t budget = perSubmit < ringSize ? perSubmit : ringSize;
  if (budget <= kDefaultBudget) return;
  setsockopt(fd, SOL_XDP, kMaxTxSkbBudget, &budget, sizeof budget);
}

}  // namespace

// mode: 0 copy, 1 zero-copy, 2 auto (zero-copy, else copy).
TxPortNative* openXdpPort(const PortArrays& a, int ifindex, int queue, int mode, uint32_t ringSize, int* err) {
  int fd = socket(AF_XDP, SOCK_RAW, 0);
  if (fd < 0) { *err = -errno; return nullptr; }
  auto* port = new XdpPort(a, fd);
  auto fail = [&](int e) -> TxPortNative* {
    *err = e;
    delete port;
    return nullptr;
  };
  xdp_umem_reg reg{};
  reg.addr = reinterpret_cast<uint64_t>(a.umem);
  reg.len = a.umemLen;
  reg.chunk_size = a.frameSize;
  reg.headroom = 0;
  if (setsockopt(fd, SOL_XDP, XDP_UMEM_REG, &reg, sizeof reg) < 0) return fail(-errno);
  uint32_t fillSize = 64;
  if (setsockopt(fd, SOL_XDP, XDP_UMEM_FILL_RING, &fillSize, sizeof fillSize) < 0) return fail(-errno);
  if (setsockopt(fd, SOL_XDP, XDP_UMEM_COMPLETION_RING, &ringSize, sizeof ringSize) < 0) return fail(-errno);
  if (setsockopt(fd, SOL_XDP, XDP_TX_RING, &ringSize, sizeof ringSize) < 0) return fail(-errno);
  raiseKickBudget(fd, a.batchCap, ringSize);
  xdp_mmap_offsets off{};
  socklen_t optlen = sizeof off;
  if (getsockopt(fd, SOL_XDP, XDP_MMAP_OFFSETS, &off, &optlen) < 0) return fail(-errno);
  int e;
  if ((e = port->tx_.mapFrom(fd, off.tx, ringSize, sizeof(xdp_desc), XDP_PGOFF_TX_RING)) < 0) return fail(e);
  if ((e = port->cq_.mapFrom(fd, off.cr, ringSize, sizeof(uint64_t), XDP_UMEM_PGOFF_COMPLETION_RING)) < 0) return fail(e);
  if ((e = port->fq_.mapFrom(fd, off.fr, fillSize, sizeof(uint64_t), XDP_UMEM_PGOFF_FILL_RING)) < 0) return fail(e);
  sockaddr_xdp sxdp{};
  sxdp.sxdp_family = AF_XDP;
  sxdp.sxdp_ifindex = ifindex;
  sxdp.sxdp_queue_id = queue;
  const int tries[2] = {mode == 0 ? 0 : 1, mode == 2 ? 0 : -1};
  for (int t : tries) {
    if (t < 0) break;
    sxdp.sxdp_flags = XDP_USE_NEED_WAKEUP | (t == 1 ? XDP_ZEROCOPY : XDP_COPY);
    // A queue closed moments ago stays busy for tens of ms: retry EBUSY briefly.
    for (int attempt = 0; attempt < 50; attempt++) {
      if (bind(fd, reinterpret_cast<sockaddr*>(&sxdp), sizeof sxdp) == 0) {
        port->copyMode_ = t == 0;
        return port;
      }
      if (errno != EBUSY) break;
      usleep(2000);
    }
    e = -errno;
  }
  return fail(e);
}
