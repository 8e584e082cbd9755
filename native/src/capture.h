// Capture socket for egress takeover (capture.cc): frames redirected off a device arrive
// on pspat's capture veth and are read straight into frames of the shared pool.
#pragma once
#include <cstdint>

struct CaptureSocket {
  int fd = -1;
  // Reads up to `count` packets into the pool frames listed in `frames` (umem + f·frameSize),
  // waiting up to timeoutMs for the first. lens[f] = the packet's full length (more than
  // frameSize when it was cut: the caller drops it). Returns the count, or -errno.
  int read(uint8_t* umem, uint32_t frameSize, const int32_t* frames, uint32_t count, uint32_t* lens, int timeoutMs);
  // Packets the kernel dropped because the socket's buffer was full (since the last call).
  uint32_t drops();
  ~CaptureSocket();
};

// netnsPath: "" for this namespace, else e.g. /run/netns/NAME. fanoutGroup > 0 joins a
// PACKET_FANOUT_HASH group (one socket per capture thread).
CaptureSocket* openCapture(const char* netnsPath, const char* ifname, uint32_t fanoutGroup, int* err);
