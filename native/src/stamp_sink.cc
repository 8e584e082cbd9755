// Timestamping receive sink for one-way delay: an AF_PACKET socket on an interface
// (created inside a network namespace if asked: setns on this thread, then back), with
// SO_TIMESTAMPNS so the kernel stamps each packet when it arrives. Reading later does not
// change the stamp: a sink that polls every few milliseconds measures the same delays as
// one that spins. The kernel stamps CLOCK_REALTIME; it is mapped onto the project's
// shared clock (ns since an epoch on CLOCK_MONOTONIC) with one offset taken at open.
#include "stamp_sink.h"

#include "iface.h"
#include "netns.h"

#include <cerrno>
#include <climits>
#include <cstring>
#include <ctime>
#include <sys/socket.h>
#include <unistd.h>

namespace {

constexpr int kBatch = 64;
constexpr int kSnap = 128;  // bytes of each packet kept: headers, tag, send stamp

int64_t nsOf(clockid_t c) {
  timespec ts{};
  clock_gettime(c, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Opens the socket in the current namespace; -errno on failure.
int openHere(const char* ifname) {
  int fd = openPacketReceiver(ifname, SOCK_NONBLOCK, 64 << 20);
  if (fd < 0) return fd;
  int on = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) < 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  return fd;
}

}  // namespace

StampSink* openStampSink(const char* netnsPath, const char* ifname, int64_t epochMonoNs, int* err) {
  int fd = openInNamespace(netnsPath, [&] { return openHere(ifname); });
  if (fd < 0) {
    *err = fd;
    return nullptr;
  }
  auto* s = new StampSink();
  s->fd = fd;
  // realtime − monotonic, then − epoch: a kernel stamp minus this is ns since the epoch.
  s->offsetNs = nsOf(CLOCK_REALTIME) - nsOf(CLOCK_MONOTONIC) + epochMonoNs;
  return s;
}

int StampSink::read(uint32_t stampOffset, uint32_t tagOffset, int32_t* cls, double* sent, double* arrived, uint32_t max) {
  uint8_t data[kBatch][kSnap];
  char control[kBatch][CMSG_SPACE(sizeof(timespec))];
  iovec iov[kBatch];
  mmsghdr msgs[kBatch];
  uint32_t n = 0;
  while (n < max) {
    int want = int(max - n < kBatch ? max - n : kBatch);
    std::memset(msgs, 0, sizeof(mmsghdr) * want);
    for (int i = 0; i < want; i++) {
      iov[i] = {data[i], kSnap};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_control = control[i];
      msgs[i].msg_hdr.msg_controllen = sizeof control[i];
    }
    int got = recvmmsg(fd, msgs, unsigned(want), MSG_DONTWAIT, nullptr);
    if (got < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return n > 0 ? int(n) : -errno;
    }
    for (int i = 0; i < got; i++) {
      received++;
      // Only test frames long enough to carry the tag and the stamp (IPv4 UDP), with a kernel stamp.
      if (msgs[i].msg_len < stampOffset + 8 || msgs[i].msg_len < tagOffset + 4 || data[i][12] != 0x08 || data[i][13] != 0x00) continue;
      const timespec* ts = nullptr;
      for (cmsghdr* c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c; c = CMSG_NXTHDR(&msgs[i].msg_hdr, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) ts = reinterpret_cast<const timespec*>(CMSG_DATA(c));
      }
      if (!ts) continue;
      double stamp;
      std::memcpy(&stamp, data[i] + stampOffset, 8);  // little-endian float64, as JS wrote it
      cls[n] = (data[i][tagOffset + 2] << 8) | data[i][tagOffset + 3];
      sent[n] = stamp;
      arrived[n] = double(int64_t(ts->tv_sec) * 1000000000 + ts->tv_nsec - offsetNs);
      n++;
    }
    if (got < want) break;
  }
  return int(n);
}

StampSink::~StampSink() { close(fd); }
