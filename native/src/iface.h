// What the addon needs of network interfaces (iface.cc).
#pragma once

// Interface flags (IFF_UP, IFF_RUNNING, ...) of `ifindex` in this namespace, or -ENODEV.
int linkFlags(int ifindex);

// Gives socket `fd` a receive buffer of `rcvbuf` bytes (forced past rmem_max where
// CAP_NET_ADMIN allows) and binds it to `addr`: fd, or -errno with fd closed.
struct sockaddr;
int bindWithBuffer(int fd, const sockaddr* addr, unsigned addrLen, int rcvbuf);

// An AF_PACKET socket receiving every protocol on interface `ifname` of this namespace,
// with a receive buffer of `rcvbuf` bytes (forced past rmem_max where allowed);
// `typeFlags` is or-ed into SOCK_RAW (SOCK_NONBLOCK, ...). The fd, or -errno.
int openPacketReceiver(const char* ifname, int typeFlags, int rcvbuf);
