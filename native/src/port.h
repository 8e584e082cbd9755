// Shared declarations of the native transmit ports. The addon is deliberately thin: it
// owns sockets and rings; every default, check and message lives in TypeScript. Errors
// come back as negative errno values.
//
// A port is given, once, the frame pool's memory and four arrays it reads or writes on
// every call (so the hot calls take integers only):
//   lens[frame]   packet length (the frame table's len column, read on submit)
//   batch[i]      frames to submit (written by JS before submit(count))
//   done[i]       finished frames (written by reap, read by JS)
//   status[i]     0 = sent, else -errno for done[i]
#pragma once
#include <cstdint>
#include <cstddef>

struct PortArrays {
  uint8_t* umem;        // page-aligned start of frame 0
  size_t umemLen;       // frames * frameSize
  uint32_t frameSize;
  const uint32_t* lens;
  const int32_t* batch;
  int32_t* done;
  int32_t* status;
  uint32_t batchCap;    // entries in batch / done / status
};

// Counters every port keeps (returned to JS as an array, in this order).
struct PortCounters {
  double kicks = 0;       // sendto() wake-ups
  double again = 0;       // EAGAIN / EBUSY / ENOBUFS on a kick: retried next pass
  double ringFull = 0;    // submits cut short because the TX ring was full
  double txErrors = 0;    // frames the kernel refused
};

class TxPortNative {
 public:
  virtual ~TxPortNative() = default;
  virtual int submit(uint32_t count) = 0;  // frames accepted (a prefix of batch) or -errno
  virtual int reap(uint32_t max) = 0;      // entries written to done/status, or -errno
  virtual int inFlight() const = 0;
  PortCounters counters;
};

// Each returns a port or sets *err to a negative errno and returns nullptr.
TxPortNative* openXdpPort(const PortArrays& a, int ifindex, int queue, int mode, uint32_t ringSize, int* err);
TxPortNative* openPacketPort(const PortArrays& a, int ifindex, uint32_t ringFrames, bool qdiscBypass, int* err);
