// AF_PACKET transmit port: a TPACKET_V2 TX ring with PACKET_QDISC_BYPASS, the portable
// fallback where AF_XDP is unavailable (without the bypass, frames pass the device's
// qdisc: the kernel-tc baseline of the benchmarks). Frames are copied from the pool into ring slots
// (AF_PACKET cannot send from foreign memory), so a frame is complete once copied; the
// kernel's verdict on a slot (TP_STATUS_WRONG_FORMAT) is counted as a transmit error.
#include "port.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace {

class PacketPort : public TxPortNative {
 public:
  PacketPort(const PortArrays& a, int fd, uint8_t* ring, size_t ringLen, uint32_t slots, uint32_t slotSize)
      : a_(a), fd_(fd), ring_(ring), ringLen_(ringLen), slots_(slots), slotSize_(slotSize) {}
  ~PacketPort() override {
    munmap(ring_, ringLen_);
    close(fd_);
  }

  int submit(uint32_t count) override {
    uint32_t n = 0;
    const uint32_t maxData = slotSize_ - TPACKET2_HDRLEN;
    for (; n < count && n < a_.batchCap; n++) {
      auto* hdr = reinterpret_cast<tpacket2_hdr*>(ring_ + size_t(next_) * slotSize_);
      uint32_t st = __atomic_load_n(&hdr->tp_status, __ATOMIC_ACQUIRE);  // pairs with the kernel's release
      if (pending_ == done_.size()) break;  // JS has not reaped: hold back
      if (st == TP_STATUS_WRONG_FORMAT) {
        counters.txErrors++;
      } else if (st != TP_STATUS_AVAILABLE) {
        counters.ringFull++;
        break;
      }
      int32_t f = a_.batch[n];
      uint32_t len = a_.lens[f];
      if (len > maxData) len = maxData;  // JS validated lengths; never overrun a slot
      std::memcpy(reinterpret_cast<uint8_t*>(hdr) + TPACKET2_HDRLEN - sizeof(sockaddr_ll),
                  a_.umem + size_t(f) * a_.frameSize, len);
      hdr->tp_len = len;
      __atomic_store_n(&hdr->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);  // publishes the copy
      done_[pending_++] = f;
      next_ = (next_ + 1) % slots_;
    }
    if (n > 0) {
      counters.kicks++;
      if (send(fd_, nullptr, 0, MSG_DONTWAIT) < 0) {
        if (errno == EAGAIN || errno == ENOBUFS || errno == EBUSY) counters.again++;
        else return -errno;
      }
    }
    return int(n);
  }

  int reap(uint32_t max) override {
    uint32_t n = pending_ < max ? pending_ : max;
    for (uint32_t i = 0; i < n; i++) {
      a_.done[i] = done_[i];
      a_.status[i] = 0;
    }
    std::memmove(done_.data(), done_.data() + n, (pending_ - n) * sizeof(int32_t));
    pending_ -= n;
    return int(n);
  }

  int inFlight() const override { return int(pending_); }

  // Frames copied into the ring, to be reported done by the next reap.
  std::vector<int32_t> done_;

 private:
  PortArrays a_;
  int fd_;
  uint8_t* ring_;
  size_t ringLen_;
  uint32_t slots_;
  uint32_t slotSize_;
  uint32_t next_ = 0;
  uint32_t pending_ = 0;
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
  auto* port = new PacketPort(a, fd, static_cast<uint8_t*>(ring), len, req.tp_frame_nr, slotSize);
  port->done_.resize(req.tp_frame_nr);
  return port;
}
