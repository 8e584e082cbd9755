// The ring capture's shapes, shared by the diversion program (native/bpf/divert.bpf.c,
// which includes this file) and its reader (ring_capture.cc): keep it plain C.
#pragma once

// Bytes of one capture ring's data area (a BPF ring buffer: a power of two, pages).
#define CAPTURE_RING_BYTES (4u << 20)
// Most capture rings one device has: one per capture thread.
#define CAPTURE_RINGS_MAX 16
// A record holds the header below, then the frame. The program reserves one of two sizes
// (the verifier wants a constant): small frames do not take a full frame's room.
#define CAPTURE_RECORD_SMALL 256
#define CAPTURE_RECORD_LARGE 2048
// The record header: the frame's length; what the capture client must finish of its
// checksum when the stack left that to the device (CHECKSUM_PARTIAL): the 16-bit sum of
// the bytes from csum_start to the end goes, folded, at csum_start + csum_offset; and when
// it was diverted (CLOCK_MONOTONIC ns), where its delay in pspat starts.
#define CAPTURE_CSUM_PARTIAL 1
struct capture_record {
  unsigned short len;
  unsigned short csum_start;
  unsigned short csum_offset;
  unsigned short flags;
  unsigned long long diverted_ns;
};
