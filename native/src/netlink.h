// A NETLINK_ROUTE socket for follow mode (src/follow/): the addon only opens, sends and
// receives; requests are built and replies parsed in TypeScript (src/follow/netlink.ts).
#pragma once
#include <cstddef>
#include <cstdint>

// A route netlink socket joined to the legacy multicast `groups` (RTMGRP_TC: 0x8; 0 for
// one that only dumps), with a receive buffer of `rcvbuf` bytes; fd or -errno.
int netlinkOpen(uint32_t groups, int rcvbuf);
// Sends one request to the kernel; bytes sent or -errno.
int netlinkSend(int fd, const uint8_t* buf, size_t len);
// One datagram (one or more messages) into buf, waiting up to timeoutMs (0: do not
// wait); bytes, 0 if nothing came, or -errno (ENOBUFS: notifications were lost).
int netlinkRecv(int fd, uint8_t* buf, size_t cap, int timeoutMs);
