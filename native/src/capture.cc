// Capture socket: AF_PACKET on pspat's capture veth, read with recvmmsg straight into the
// pool's frames (one copy, the kernel's), MSG_TRUNC so an oversized packet reports its
// real length instead of arriving cut. Several threads share the load by PACKET_FANOUT
// (hash: a flow stays on one thread, so its packets keep their order).
//
// Checksums: a packet the stack meant to leave with checksum offload (a VM's, forwarded;
// veth offloads it) arrives with its TCP/UDP checksum unfinished (PACKET_AUXDATA's
// TP_STATUS_CSUMNOTREADY). Transmitted as it is, the receiver would drop it, so such a
// packet's checksum is computed here, as the device would have.
#include "capture.h"

#include "iface.h"
#include "netns.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {
constexpr uint32_t kBatch = 64;

uint32_t sum16(const uint8_t* p, uint32_t len, uint32_t sum) {
  for (uint32_t i = 0; i + 1 < len; i += 2) sum += uint32_t(p[i] << 8 | p[i + 1]);
  if (len & 1) sum += uint32_t(p[len - 1] << 8);
  return sum;
}

uint16_t fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(~sum);
}

// Completes the TCP or UDP checksum of an Ethernet frame (IPv4, or IPv6 without extension
// headers; one VLAN tag); leaves anything else alone.
void finishChecksum(uint8_t* p, uint32_t len) {
  uint32_t l3 = 14;
  if (len < l3) return;
  uint16_t type = uint16_t(p[12] << 8 | p[13]);
  if (type == 0x8100 && len >= 18) {
    type = uint16_t(p[16] << 8 | p[17]);
    l3 = 18;
  }
  uint32_t l4, l4len, sum;
  uint8_t proto;
  if (type == 0x0800 && len >= l3 + 20) {
    uint32_t ihl = (p[l3] & 0xf) * 4u;
    uint32_t total = uint32_t(p[l3 + 2] << 8 | p[l3 + 3]);
    if ((p[l3 + 6] & 0x3f) != 0 || p[l3 + 7] != 0) return;  // a fragment: no whole segment here
    proto = p[l3 + 9];
    l4 = l3 + ihl;
    l4len = total - ihl;
    sum = sum16(p + l3 + 12, 8, 0);  // source and destination
  } else if (type == 0x86dd && len >= l3 + 40) {
    proto = p[l3 + 6];
    l4 = l3 + 40;
    l4len = uint32_t(p[l3 + 4] << 8 | p[l3 + 5]);
    sum = sum16(p + l3 + 8, 32, 0);
  } else {
    return;
  }
  uint32_t at = proto == 6 ? 16 : proto == 17 ? 6 : 0;
  if (at == 0 || l4 + l4len > len || l4len < at + 2) return;
  sum += proto + l4len;
  p[l4 + at] = 0;
  p[l4 + at + 1] = 0;
  uint16_t c = fold(sum16(p + l4, l4len, sum));
  if (proto == 17 && c == 0) c = 0xffff;  // UDP: 0 means "no checksum"
  p[l4 + at] = uint8_t(c >> 8);
  p[l4 + at + 1] = uint8_t(c);
}
}  // namespace

namespace {
int openHere(const char* ifname, uint32_t fanoutGroup) {
  // Bounded like a qdisc's queue: a capture client that falls behind drops (counted by the
  // kernel) instead of letting a backlog of seconds build up in front of the scheduler.
  int fd = openPacketReceiver(ifname, 0, 2 << 20);
  if (fd < 0) return fd;
  int fanout = int((fanoutGroup & 0xffff) | (PACKET_FANOUT_HASH << 16));
  int on = 1;
  if (setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &on, sizeof on) < 0 ||
      (fanoutGroup > 0 && setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &fanout, sizeof fanout) < 0)) {
    int e = errno;
    close(fd);
    return -e;
  }
  return fd;
}
}  // namespace

CaptureSocket* openCapture(const char* netnsPath, const char* ifname, uint32_t fanoutGroup, int* err) {
  int fd = openInNamespace(netnsPath, [&] { return openHere(ifname, fanoutGroup); });
  if (fd < 0) {
    *err = fd;
    return nullptr;
  }
  auto* c = new CaptureSocket();
  c->fd = fd;
  return c;
}

int CaptureSocket::read(uint8_t* umem, uint32_t frameSize, const int32_t* frames, uint32_t count, uint32_t* lens, int timeoutMs) {
  pollfd p{fd, POLLIN, 0};
  int ready = poll(&p, 1, timeoutMs);
  if (ready < 0) return errno == EINTR ? 0 : -errno;
  if (ready == 0) return 0;
  iovec iov[kBatch];
  mmsghdr msgs[kBatch];
  char control[kBatch][CMSG_SPACE(sizeof(tpacket_auxdata))];
  uint32_t n = 0;
  while (n < count) {
    uint32_t want = count - n < kBatch ? count - n : kBatch;
    std::memset(msgs, 0, sizeof(mmsghdr) * want);
    for (uint32_t i = 0; i < want; i++) {
      iov[i] = {umem + size_t(frames[n + i]) * frameSize, frameSize};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_control = control[i];
      msgs[i].msg_hdr.msg_controllen = sizeof control[i];
    }
    int got = recvmmsg(fd, msgs, want, MSG_DONTWAIT | MSG_TRUNC, nullptr);
    if (got < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
      return n > 0 ? int(n) : -errno;
    }
    for (int i = 0; i < got; i++) {
      uint32_t len = msgs[i].msg_len;
      lens[frames[n + i]] = len;
      for (cmsghdr* c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c; c = CMSG_NXTHDR(&msgs[i].msg_hdr, c)) {
        if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA) continue;
        const auto* aux = reinterpret_cast<const tpacket_auxdata*>(CMSG_DATA(c));
        if ((aux->tp_status & TP_STATUS_CSUMNOTREADY) && len <= frameSize) finishChecksum(static_cast<uint8_t*>(iov[i].iov_base), len);
      }
    }
    n += uint32_t(got);
    if (uint32_t(got) < want) break;
  }
  return int(n);
}

uint32_t CaptureSocket::drops() {
  tpacket_stats st{};
  socklen_t len = sizeof st;
  // Reading the statistics resets them: each call returns what happened since the last.
  if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) < 0) return 0;
  return st.tp_drops;
}

CaptureSocket::~CaptureSocket() { close(fd); }
