// Ring capture for egress takeover (ring_capture.cc): the diversion program copies each
// diverted frame, in the sender's own system call, into its flow's BPF ring buffer
// (native/bpf/divert.bpf.c, built with RING_CAPTURE); a capture client reads its ring into
// pool frames. Frames the ring cannot carry still reach the client by the capture pair.
#pragma once
#include <cstdint>

// A new ring buffer of CAPTURE_RING_BYTES (the program's template size), or -errno.
int createCaptureRing();
// The per-ring drop counters the program shares with the readers (an array of
// CAPTURE_RINGS_MAX counters), or -errno.
int createRingDrops();

class RingCapture {
 public:
  // Reader of the ring `ringFd`, which is ring `index` of the device, whose drops are
  // counted in `dropsFd`; both descriptors are duplicated. nullptr and *err = -errno on failure.
  static RingCapture* open(int ringFd, int dropsFd, uint32_t index, int* err);
  ~RingCapture();

  // Copies up to `count` frames into frames[0..count) of the pool `pool` (frames of
  // `frameSize` bytes, each packet at its frame's start: heads[f] = 0, lens[f] its
  // length, divertedAt[f] when it was diverted, in ns since `epochNs` of CLOCK_MONOTONIC),
  // finishing the checksums the stack left to the device. With nothing to read,
  // naps once if the last read found frames (so a busy sender's frames gather into a
  // batch without waking this thread for each), then sleeps until a frame arrives, `other`
  // (the capture pair's socket) has one, or timeoutMs passes. Returns the count (0: look
  // at `other`), or -errno (-ENETDOWN: `other`'s device is gone).
  int read(int32_t* frames, uint32_t count, uint8_t* pool, uint32_t frameSize, uint32_t* lens, uint32_t* heads, double* divertedAt,
           int64_t epochNs, int other, int timeoutMs);
  // Frames the ring had no room for since the last call.
  uint32_t drops();

 private:
  RingCapture(int fd, int dropsFd, uint32_t index) : fd_(fd), dropsFd_(dropsFd), index_(index) {}
  int waitForFrames(int other, int timeoutMs);
  int fd_;
  int dropsFd_;
  uint32_t index_;
  uint64_t* consumer_ = nullptr;
  const uint64_t* producer_ = nullptr;
  const uint8_t* data_ = nullptr;
  // Everything before pos_ has been read; the kernel is told less while awake (read()).
  uint64_t pos_ = 0;
  bool busy_ = false;
  uint64_t dropsSeen_ = 0;
};
