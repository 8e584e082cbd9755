// Timestamping receive sink (stamp_sink.cc): kernel arrival times of test frames, on the
// project's shared clock, for one-way delay measurements.
#pragma once
#include <cstdint>

struct StampSink {
  int fd = -1;
  // Kernel CLOCK_REALTIME stamp minus this = ns since the shared epoch.
  int64_t offsetNs = 0;
  // Frames the socket delivered, test frames or not.
  double received = 0;
  // Reads up to `max` stamped test frames: class (u16 at tagOffset + 2), the sender's
  // stamp (f64 at stampOffset), arrival (ns since the epoch). Returns the count or -errno.
  int read(uint32_t stampOffset, uint32_t tagOffset, int32_t* cls, double* sent, double* arrived, uint32_t max);
  ~StampSink();
};

// netnsPath: "" for this namespace, else e.g. /var/run/netns/NAME. nullptr and *err = -errno on failure.
StampSink* openStampSink(const char* netnsPath, const char* ifname, int64_t epochMonoNs, int* err);
