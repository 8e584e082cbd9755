// AF_PACKET transmit port: a TPACKET_V2 TX ring with PACKET_QDISC_BYPASS, the portable
// fallback where AF_XDP is unavailable (without the bypass, frames pass the device's
// qdisc: the kernel-tc baseline of the benchmarks). Frames are copied from the pool into
// ring slots (AF_PACKET cannot send from foreign memory).
//
// A frame is done once the kernel has taken its slot (the slot left SEND_REQUEST): the
// kernel takes slots only inside our send(), in ring order, and leaves a slot
// SEND_REQUEST when the device refused it for a moment (ENOBUFS: the next kick retries it)
// or when the kick failed as a whole (device down or gone: the frames wait, or abort()
// fails them). PACKET_LOSS makes the kernel skip a malformed slot rather than stop the
// ring at it; the arbiter already refuses frames longer than the device's MTU.
#include "port.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace {

class PacketPort : public TxPortNative {
 public:
  PacketPort(const PortArrays& a, int fd, uint8_t* ring, size_t ringLen, uint32_t slots, uint32_t slotSize)
      : TxPortNative(a), fd_(fd), ring_(ring), ringLen_(ringLen), slots_(slots), slotSize_(slotSize),
        frameOf_(slots), errOf_(slots) {}
  ~PacketPort() override { release(); }

  int submit(uint32_t count) override {
    if (fd_ < 0) return 0;
    uint32_t n = 0;
    const uint32_t maxData = slotSize_ - TPACKET2_HDRLEN;
    for (; n < count && n < a_.batchCap; n++) {
      if (pending_ == slots_) break;  // every slot holds a frame JS has not reaped
      tpacket2_hdr* hdr = slot(next_);
      // A reaped slot the kernel is still sending from (SENDING) cannot be reused yet.
      if (__atomic_load_n(&hdr->tp_status, __ATOMIC_ACQUIRE) != TP_STATUS_AVAILABLE) {  // pairs with the kernel's release
        a_.info[kRingFull]++;
        break;
      }
      int32_t f = a_.batch[n];
      uint32_t len = a_.lens[f];
      if (len > maxData) len = maxData;  // JS validated lengths; never overrun a slot
      std::memcpy(reinterpret_cast<uint8_t*>(hdr) + TPACKET2_HDRLEN - sizeof(sockaddr_ll),
                  a_.umem + size_t(f) * a_.frameSize + a_.heads[f], len);
      hdr->tp_len = len;
      frameOf_[next_] = f;
      errOf_[next_] = 0;
      __atomic_store_n(&hdr->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);  // publishes the copy
      next_ = (next_ + 1) % slots_;
      pending_++;
    }
    if (n > 0) kick();
    setInFlight(pending_);
    return int(n);
  }

  int reap(uint32_t max) override {
    uint32_t oldest = (next_ + slots_ - pending_) % slots_;
    uint32_t n = 0;
    bool waiting = false;
    for (; n < max && n < pending_ && n < a_.batchCap; n++) {
      uint32_t s = (oldest + n) % slots_;
      if (fd_ >= 0 && __atomic_load_n(&slot(s)->tp_status, __ATOMIC_ACQUIRE) == TP_STATUS_SEND_REQUEST) {
        waiting = true;  // not taken by the kernel yet
        break;
      }
      a_.done[n] = frameOf_[s];
      a_.status[n] = errOf_[s];
    }
    pending_ -= n;
    setInFlight(pending_);
    // Frames the device refused for a moment: kick again while the port is healthy.
    if (waiting && !kickFailed()) kick();
    return int(n);
  }

  void abort(int err) override {
    if (fd_ < 0) return;
    // The kernel takes slots only inside send(), so after it returned none still
    // SEND_REQUEST will be sent: those fail; the others were handed to the device.
    uint32_t oldest = (next_ + slots_ - pending_) % slots_;
    for (uint32_t i = 0; i < pending_; i++) {
      uint32_t s = (oldest + i) % slots_;
      if (__atomic_load_n(&slot(s)->tp_status, __ATOMIC_ACQUIRE) == TP_STATUS_SEND_REQUEST) errOf_[s] = err;
    }
    release();
  }

 private:
  tpacket2_hdr* slot(uint32_t i) { return reinterpret_cast<tpacket2_hdr*>(ring_ + size_t(i) * slotSize_); }

  void kick() {
    long rc = send(fd_, nullptr, 0, MSG_DONTWAIT);
    kicked(rc, errno);
  }

  void release() {
    if (fd_ < 0) return;
    munmap(ring_, ringLen_);
    close(fd_);
    fd_ = -1;
  }

  int fd_;
  uint8_t* ring_;
  size_t ringLen_;
  uint32_t slots_;
  uint32_t slotSize_;
  uint32_t next_ = 0;     // the slot the next frame goes to
  uint32_t pending_ = 0;  // slots holding frames not yet reaped (the ones before next_)
  std::vector<int32_t> frameOf_;  // per slot: the pool frame copied into it
  std::vector<int32_t> errOf_;    // per slot: 0, or -errno once abort() failed it
};

}  // namespace

TxPortNative* openPacketPort(const PortArrays& a, int ifindex, uint32_t ringFrames, bool qdiscBypass, int* err) {
  // protocol 0: this socket receives nothing, it only transmits.
  int fd = socket(AF_PACKET, SOCK_RAW, 0);
  if (fd < 0) { *err = -errno; return nullptr; }
  auto fail = [&](void* map = nullptr, size_t len = 0) -> TxPortNative* {
    *err = -errno;
    if (map) munmap(map, len);
    close(fd);
    return nullptr;
  };
  int v = TPACKET_V2;
  if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &v, sizeof v) < 0) return fail();
  int one = 1;
  if (qdiscBypass && setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one) < 0) return fail();
  if (setsockopt(fd, SOL_PACKET, PACKET_LOSS, &one, sizeof one) < 0) return fail();
  // One slot per frame, 4096 B each (2048 B frames + header fit), 16 slots per block.
  uint32_t slotSize = a.frameSize + 4096 > 8192 ? 8192 : 4096;
  if (a.frameSize + TPACKET2_HDRLEN > slotSize) slotSize *= 2;
  tpacket_req req{};
  req.tp_frame_size = slotSize;
  req.tp_block_size = slotSize * 16;
  req.tp_block_nr = (ringFrames + 15) / 16;
  req.tp_frame_nr = req.tp_block_nr * 16;
  if (setsockopt(fd, SOL_PACKET, PACKET_TX_RING, &req, sizeof req) < 0) return fail();
  size_t len = size_t(req.tp_block_size) * req.tp_block_nr;
  void* ring = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (ring == MAP_FAILED) return fail();
  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = ifindex;
  if (bind(fd, reinterpret_cast<sockaddr*>(&sll), sizeof sll) < 0) return fail(ring, len);
  return new PacketPort(a, fd, static_cast<uint8_t*>(ring), len, req.tp_frame_nr, slotSize);
}
