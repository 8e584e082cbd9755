#include "iface.h"

#include <arpa/inet.h>
#include <cerrno>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

int linkFlags(int ifindex) {
  ifreq ifr{};
  if (!if_indextoname(unsigned(ifindex), ifr.ifr_name)) return -ENODEV;
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int r = ioctl(fd, SIOCGIFFLAGS, &ifr) < 0 ? -errno : (ifr.ifr_flags & 0xffff);
  close(fd);
  return r;
}

int openPacketReceiver(const char* ifname, int typeFlags, int rcvbuf) {
  unsigned ifindex = if_nametoindex(ifname);
  if (ifindex == 0) return -ENODEV;
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | typeFlags, htons(ETH_P_ALL));
  if (fd < 0) return -errno;
  sockaddr_ll addr{};
  addr.sll_family = AF_PACKET;
  addr.sll_protocol = htons(ETH_P_ALL);
  addr.sll_ifindex = int(ifindex);
  return bindWithBuffer(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr, rcvbuf);
}

int bindWithBuffer(int fd, const sockaddr* addr, unsigned addrLen, int rcvbuf) {
  if ((setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0 &&
       setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) < 0) ||
      bind(fd, addr, addrLen) < 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  return fd;
}
