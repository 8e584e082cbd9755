// Timestamping receive sink (stamp_sink.cc): kernel arrival times of test frames, on the
// project's shared clock, for one-way delay measurements.
#pragma once
#include <cstdint>
#include <string>

struct bpf_object;
struct ring_buffer;

// Where a read puts what it takes from the XDP sink's ring (the ring's callback context).
struct SinkBatch {
  int32_t* cls = nullptr;
  double* sent = nullptr;
  double* arrived = nullptr;
  uint32_t max = 0;
  uint32_t n = 0;
  int64_t offsetNs = 0;
};

struct StampSink {
  // Where the frames' tag (class: u16 at + 2) and the sender's float64 stamp are.
  uint32_t stampOffset = 0;
  uint32_t tagOffset = 0;
  // A kernel arrival stamp minus this = ns since the shared epoch.
  int64_t offsetNs = 0;
  // AF_PACKET: the socket, and the frames it delivered, test frames or not.
  int fd = -1;
  double delivered = 0;
  // XDP: the program's object, its control map, its ring, and the device it is attached to.
  bpf_object* obj = nullptr;
  ring_buffer* ring = nullptr;
  int ctlFd = -1;
  int ifindex = 0;
  std::string netnsPath;
  SinkBatch batch;

  bool xdp() const { return obj != nullptr; }
  // Reads up to `max` stamped test frames: class, the sender's stamp, arrival (ns since the
  // epoch). Returns the count or -errno.
  int read(int32_t* cls, double* sent, double* arrived, uint32_t max);
  // Frames that reached the sink, test frames or not.
  double received() const;
  ~StampSink();
};

// netnsPath: "" for this namespace, else e.g. /var/run/netns/NAME. With an XDP object
// (xdpObject not ""), the XDP sink if it loads and attaches, else the AF_PACKET one.
// nullptr and *err = -errno on failure.
StampSink* openStampSink(const char* netnsPath, const char* ifname, int64_t epochMonoNs, const char* xdpObject,
                         uint32_t stampOffset, uint32_t tagOffset, int* err);
