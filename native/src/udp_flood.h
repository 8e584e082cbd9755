// A VM's sender flat out (udp_flood.cc): UDP datagrams through the kernel's stack as fast
// as it takes them, for the egress benchmark's packet-rate phase.
#pragma once
#include <cstdint>

// Sends `size`-byte UDP datagrams to dst:port (IPv4, dotted) for `seconds`, in batches of
// sendmmsg on a blocking socket (a full socket buffer makes it wait, as a guest's virtio
// ring would). Returns the datagrams the kernel accepted, or -errno.
double udpFlood(const char* dst, uint16_t port, uint32_t size, double seconds);
