// SPDX-License-Identifier: (MIT OR GPL-2.0)
// The benchmarks' sink (native/src/stamp_sink.cc): an XDP program on the far end of the
// measured veth that stamps each test frame's arrival with bpf_ktime_get_ns (CLOCK_MONOTONIC,
// the shared clock's source) and drops every frame. Nothing goes up the stack, so the far
// end of the "wire" costs the sending CPU (veth runs its peer's receive there) about a
// tenth of what an AF_PACKET socket costs, and runs on no other CPU at all: the receive
// side of a real link is another machine.
//
// Per IPv4 test frame long enough for its tag and stamp (traffic/packet.ts): one record {class, the sender's stamp, arrival} on the `arrivals`
// ring buffer, which the sink reads in batches. Counted: frames seen, records lost to a
// full ring.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

// Keep in step with native/src/stamp_sink.cc.
struct arrival {
  __u32 cls;
  __u32 pad;
  __u64 stamp;  // the sender's float64 stamp, its bits as written
  __u64 at;     // bpf_ktime_get_ns() on arrival
};

// Control words, set by the sink before it attaches the program (offsets) or counted here.
enum { CTL_STAMP_OFFSET, CTL_TAG_OFFSET, CTL_SEEN, CTL_LOST, CTL_WORDS };

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 1 << 24);
} arrivals SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, CTL_WORDS);
  __type(key, __u32);
  __type(value, __u64);
} sink_ctl SEC(".maps");

static __always_inline __u64 *ctl(__u32 word) { return bpf_map_lookup_elem(&sink_ctl, &word); }

SEC("xdp")
int pspat_sink(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  __u64 *seen = ctl(CTL_SEEN);
  __u64 *stampAt = ctl(CTL_STAMP_OFFSET);
  __u64 *tagAt = ctl(CTL_TAG_OFFSET);
  __u64 *lost = ctl(CTL_LOST);
  if (!seen || !stampAt || !tagAt || !lost) return XDP_DROP;
  __sync_fetch_and_add(seen, 1);
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_DROP;
  // Offsets from user space, bounded for the verifier: both lie in the first 128 bytes.
  __u32 s = *stampAt & 0x7f;
  __u32 t = *tagAt & 0x7f;
  if (data + s + 8 > end || data + t + 4 > end) return XDP_DROP;
  struct arrival *a = bpf_ringbuf_reserve(&arrivals, sizeof(*a), 0);
  if (!a) {
    __sync_fetch_and_add(lost, 1);
    return XDP_DROP;
  }
  __u8 *tag = data + t;
  a->cls = ((__u32)tag[2] << 8) | tag[3];
  a->pad = 0;
  __builtin_memcpy(&a->stamp, data + s, 8);
  a->at = bpf_ktime_get_ns();
  bpf_ringbuf_submit(a, 0);
  return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
