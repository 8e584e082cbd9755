// Capture by XDP for egress takeover (xsk_capture.cc): an XDP program on the capture
// pair's far end (native/bpf/capture.bpf.c) redirects each receive queue's frames to one
// AF_XDP socket, whose UMEM is the frame pool, so the kernel writes every packet straight
// into a pool frame and user space copies nothing.
#pragma once
#include <cstdint>
#include <vector>

#include "xsk_ring.h"

// Loads the capture program from `objPath` and attaches it to `ifname` inside the
// namespace at `netnsPath` ("" for this one). Returns the socket map's descriptor
// (close-on-exec; the capture sockets put themselves in it), or -errno with `why` saying
// which step failed. The program stays attached until the device is deleted.
int attachCaptureProgram(const char* netnsPath, const char* ifname, const char* objPath, const char** why);

class XskCapture {
 public:
  // One socket on receive queue `queue` of `ifname` (in `netnsPath`), registered in the
  // map `mapFd` at index `queue`; fill and receive rings of `ringSize` entries over the
  // pool window `umem` of frames of `frameSize` bytes. nullptr and *err = -errno on failure.
  static XskCapture* open(const char* netnsPath, const char* ifname, uint32_t queue, int mapFd, uint8_t* umem, uint64_t umemLen,
                          uint32_t frameSize, uint32_t ringSize, int* err);
  ~XskCapture();

  // Hands frames to the kernel to receive into; returns how many the fill ring took (a prefix).
  uint32_t fill(const int32_t* frames, uint32_t count);
  // Up to `max` received frames into `frames`, each one's length into lens[f] and the
  // offset of its packet in the frame into heads[f], waiting up to timeoutMs for the
  // first. Returns the count, or -errno.
  int read(int32_t* frames, uint32_t max, uint32_t* lens, uint32_t* heads, int timeoutMs);
  // Packets the kernel dropped since the last call: no frame to receive into, or the
  // receive ring full.
  uint32_t drops();
  // The socket, to wait on beside another source (ring_capture.h).
  int fd() const { return fd_; }

 private:
  XskCapture(int fd, uint32_t frameSize) : fd_(fd), frameSize_(frameSize) {}
  int fd_;
  uint32_t frameSize_;
  XskRing fq_, cq_, rx_;
  uint64_t dropsSeen_ = 0;
};
