#include "netlink.h"

#include "iface.h"

#include <cerrno>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

int netlinkOpen(uint32_t groups, int rcvbuf) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return -errno;
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  addr.nl_groups = groups;
  // A large buffer keeps a burst of changes from overflowing it (ENOBUFS, then a dump of everything).
  return bindWithBuffer(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr, rcvbuf);
}

int netlinkSend(int fd, const uint8_t* buf, size_t len) {
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  ssize_t n = sendto(fd, buf, len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel);
  return n < 0 ? -errno : int(n);
}

int netlinkRecv(int fd, uint8_t* buf, size_t cap, int timeoutMs) {
  pollfd p{fd, POLLIN, 0};
  int r = poll(&p, 1, timeoutMs);
  if (r < 0) return errno == EINTR ? 0 : -errno;
  if (r == 0) return 0;
  ssize_t n = recv(fd, buf, cap, MSG_DONTWAIT);
  if (n < 0) return errno == EAGAIN || errno == EINTR ? 0 : -errno;
  return int(n);
}
