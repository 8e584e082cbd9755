// An AF_XDP ring (TX, RX, fill or completion) mapped from its socket: shared by the
// transmit port (af_xdp.cc) and the capture socket (xsk_capture.cc). The discipline
// follows libxdp's xsk.h: a producer publishes its index with a release store after
// writing the entries; a consumer reads the other side's index with an acquire load.
#pragma once
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <linux/if_xdp.h>
#include <sys/mman.h>
#include <sys/types.h>

#ifndef SOL_XDP
#define SOL_XDP 283
#endif
#ifndef AF_XDP
#define AF_XDP 44
#endif

struct XskRing {
  uint32_t* producer = nullptr;
  uint32_t* consumer = nullptr;
  uint32_t* flags = nullptr;
  void* descs = nullptr;
  uint32_t size = 0;
  uint32_t mask = 0;
  void* map = nullptr;
  size_t mapLen = 0;

  // Maps the ring at `pgoff` of socket `fd` (offsets from XDP_MMAP_OFFSETS); 0 or -errno.
  int mapFrom(int fd, const xdp_ring_offset& off, uint32_t entries, size_t descSize, off_t pgoff) {
    mapLen = off.desc + entries * descSize;
    map = mmap(nullptr, mapLen, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, pgoff);
    if (map == MAP_FAILED) {
      map = nullptr;
      return -errno;
    }
    auto* base = static_cast<uint8_t*>(map);
    producer = reinterpret_cast<uint32_t*>(base + off.producer);
    consumer = reinterpret_cast<uint32_t*>(base + off.consumer);
    flags = reinterpret_cast<uint32_t*>(base + off.flags);
    descs = base + off.desc;
    size = entries;
    mask = entries - 1;
    return 0;
  }

  void unmap() {
    if (map) munmap(map, mapLen);
    map = nullptr;
  }
};
