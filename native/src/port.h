// Shared declarations of the native transmit ports. The addon is deliberately thin: it
// owns sockets and rings; every default, check and message lives in TypeScript. Errors
// come back as negative errno values.
//
// A port is given, once, the frame pool's memory and four arrays it reads or writes on
// every call (so the hot calls take integers only):
//   lens[frame]   packet length (the frame table's len column, read on submit)
//   heads[frame]  where the packet starts in its frame (the head column: 0, or the
//                 headroom an AF_XDP receive left in front of it)
//   batch[i]      frames to submit (written by JS before submit(count))
//   done[i]       finished frames (written by reap, read by JS)
//   status[i]     0 = sent, else -errno for done[i]
//   info[k]       the port's counters and state (PortInfo), written here, read by JS
#pragma once
#include <cstdint>
#include <cstddef>
#include <cerrno>

struct PortArrays {
  uint8_t* umem;        // page-aligned start of frame 0
  size_t umemLen;       // frames * frameSize
  uint32_t frameSize;
  const uint32_t* lens;
  const uint32_t* heads;
  const int32_t* batch;
  int32_t* done;
  int32_t* status;
  uint32_t batchCap;    // entries in batch / done / status
  double* info;         // kInfoFields entries
};

// The port's counters and state in `info` (src/transmit/native-port.ts reads them).
enum PortInfo {
  kKicks,     // wake-ups of the kernel (sendto)
  kRetries,   // kicks refused for a moment (EAGAIN / EBUSY / ENOBUFS): the frames wait, retried
  kRingFull,  // submits cut short because the TX ring was full
  kKickFault, // 0, or -errno of the last kick when it failed hard (ENETDOWN, ENXIO, ...)
  kInFlight,  // frames submitted and not yet reaped (JS reads it without a call)
  kInfoFields,
};

class TxPortNative {
 public:
  explicit TxPortNative(const PortArrays& a) : a_(a) {}
  virtual ~TxPortNative() = default;
  virtual int submit(uint32_t count) = 0;  // frames accepted (a prefix of batch), >= 0
  virtual int reap(uint32_t max) = 0;      // entries written to done/status
  // Closes the socket and fails every frame it still holds: the next reaps return each
  // unsent one with status `err`. The port sends nothing after this.
  virtual void abort(int err) = 0;

 protected:
  // Records a kick's outcome: transient refusals are retried, anything else is a fault.
  void kicked(long rc, int err) {
    a_.info[kKicks]++;
    if (rc >= 0) a_.info[kKickFault] = 0;
    else if (err == EAGAIN || err == EBUSY || err == ENOBUFS || err == EINTR) a_.info[kRetries]++;
    else a_.info[kKickFault] = -err;
  }
  bool kickFailed() const { return a_.info[kKickFault] != 0; }
  // Publishes the frames held, at the end of every call that changes them.
  void setInFlight(uint32_t n) { a_.info[kInFlight] = n; }
  PortArrays a_;
};

// Each returns a port or sets *err to a negative errno and returns nullptr.
TxPortNative* openXdpPort(const PortArrays& a, int ifindex, int queue, int mode, uint32_t ringSize, int* err);
TxPortNative* openPacketPort(const PortArrays& a, int ifindex, uint32_t ringFrames, bool qdiscBypass, int* err);
