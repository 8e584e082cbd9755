// See udp_flood.h. A node dgram loop costs ≈ 10 µs a datagram in JavaScript and garbage
// (its sends are queued per call, with a callback each), which on a 2-CPU host measures
// the senders more than the path under test; this costs the kernel's UDP send alone.
#include "udp_flood.h"

#include <arpa/inet.h>
#include <cerrno>
#include <ctime>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace {
constexpr unsigned BATCH = 32;

double monotonicSeconds() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}
}  // namespace

double udpFlood(const char* dst, uint16_t port, uint32_t size, double seconds) {
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  if (inet_pton(AF_INET, dst, &to.sin_addr) != 1) return -EINVAL;
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  if (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  std::vector<char> payload(size, 0x5a);
  iovec iov{payload.data(), size};
  mmsghdr msgs[BATCH]{};
  for (auto& m : msgs) {
    m.msg_hdr.msg_iov = &iov;
    m.msg_hdr.msg_iovlen = 1;
  }
  double sent = 0;
  const double end = monotonicSeconds() + seconds;
  while (monotonicSeconds() < end) {
    int n = sendmmsg(fd, msgs, BATCH, 0);
    if (n > 0) sent += n;
    // ENOBUFS/ECONNREFUSED (an ICMP error from the far end) and the like: go on sending.
    else if (n < 0 && errno != EINTR && errno != ENOBUFS && errno != ECONNREFUSED && errno != EAGAIN) {
      int e = errno;
      close(fd);
      return -e;
    }
  }
  close(fd);
  return sent;
}
