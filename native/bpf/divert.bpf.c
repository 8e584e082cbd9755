// SPDX-License-Identifier: (MIT OR GPL-2.0)
// Egress diversion for pspat's takeover (src/attach/attach.ts), on a device's clsact
// egress hook in direct-action mode: IPv4 and IPv6 (but not ICMPv6, also behind a
// hop-by-hop header as MLD's reports are, so neighbour discovery and multicast listener
// reports stay on the kernel's path, as ARP does) are redirected to the capture pair
// while the daemon is there to take them. When it is not, the packet goes on to the
// device's own qdisc: fail open, unshaped by pspat but not lost. `fail_closed` keeps the
// redirect whatever happens.
//
// "There" is two signals. The arbiter stamps `heartbeat_ns` (CLOCK_MONOTONIC, the clock
// of bpf_ktime_get_ns) every few milliseconds through an mmap of the state map: one
// 64-bit store, no system call. And the daemon keeps a socket in `daemon_alive`, which the
// kernel takes out of the map when the daemon's process ends, however it ends. While the
// heartbeat is fresh (within `check_ns`) the packet is redirected at once; once it is not,
// a dead daemon (no socket) fails open at once, and a live one that has not stamped for
// `stale_ns` (stopped, wedged) fails open too. A merely busy host whose arbiter waits
// for a CPU longer than `check_ns` keeps its shaping.
//
// Ring capture (built as divert-ring.bpf.o, with RING_CAPTURE): a diverted frame is
// copied here, in the sender's own system call, into one of the capture threads' BPF ring
// buffers (chosen by the flow's hash, so a flow keeps its order) and consumed, instead of
// crossing the capture pair: no veth, no XDP conversion, no socket wake-up per packet —
// the ring wakes its reader only when the reader has caught up and sleeps. What the ring
// cannot carry still takes the capture pair: GSO super-packets (the pair's transmit path
// segments them), frames larger than a record, frames whose VLAN tag is outside the
// data, checksums that are not the Internet's (SCTP's CRC). So that a flow is not
// reordered between the two paths, a flow that sent a super-packet keeps the pair's path
// until it has sent none for STICK_NS. A full ring drops the frame, counted per ring.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <stddef.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#ifdef RING_CAPTURE
#include <bpf/bpf_core_read.h>
#include "../src/capture_ring.h"
#endif

// Keep in step with native/src/divert.h.
struct divert_state {
  __u64 heartbeat_ns;
  __u64 stale_ns;
  __u32 capture_ifindex;
  __u32 fail_closed;
  __u64 check_ns;
  __u32 rings;  // capture rings in use (0: every diverted frame takes the capture pair)
  __u32 pad0;
  __u64 pad[3];
  // Its own cache line: written by the packets that bypassed pspat, not by the arbiter.
  __u64 bypassed;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(map_flags, BPF_F_MMAPABLE);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct divert_state);
} divert_state SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_SOCKMAP);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} daemon_alive SEC(".maps");

static __always_inline int daemon_there(struct divert_state *s, __u32 key) {
  // Signed: a stamp made after this packet read the clock is fresh, not 2^64 ns old.
  __s64 age = (__s64)(bpf_ktime_get_ns() - s->heartbeat_ns);
  if (age <= (__s64)s->check_ns) return 1;
  struct bpf_sock *sk = bpf_map_lookup_elem(&daemon_alive, &key);
  if (!sk) return 0;
  bpf_sk_release(sk);
  return age <= (__s64)s->stale_ns;
}

#ifdef RING_CAPTURE
// A flow that sent a GSO super-packet this recently stays on the capture pair's path.
#define STICK_NS 10000000ull

struct ring_type {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, CAPTURE_RING_BYTES);
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
  __uint(max_entries, CAPTURE_RINGS_MAX);
  __type(key, __u32);
  __array(values, struct ring_type);
} capture_rings SEC(".maps");

// Frames each ring had no room for (created by the daemon before its readers start).
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, CAPTURE_RINGS_MAX);
  __type(key, __u32);
  __type(value, __u64);
} ring_drops SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 4096);
  __type(key, __u32);
  __type(value, __u64);
} gso_flows SEC(".maps");

// The kernel's sk_buff, as far as this program reads it (CO-RE: placed by the running
// kernel's BTF at load time).
struct sk_buff {
  unsigned char *head;
  unsigned char *data;
  __u16 csum_start;
  __u16 csum_offset;
  __u8 ip_summed : 2;
  __u8 csum_not_inet : 1;
} __attribute__((preserve_access_index));

extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;

#define CHECKSUM_PARTIAL 3

// Copies the frame into its flow's ring; returns 0 when it is the ring's (sent or dropped
// there), or -1 when it must take the capture pair.
static __always_inline int to_ring(struct __sk_buff *skb, struct divert_state *s) {
  __u32 hash = bpf_get_hash_recalc(skb);
  __u64 now = bpf_ktime_get_ns();
  if (skb->gso_size != 0) {
    bpf_map_update_elem(&gso_flows, &hash, &now, BPF_ANY);
    return -1;
  }
  __u32 len = skb->len;
  if (skb->vlan_present || len == 0 || len > CAPTURE_RECORD_LARGE - sizeof(struct capture_record)) return -1;
  __u64 *stuck = bpf_map_lookup_elem(&gso_flows, &hash);
  if (stuck && now - *stuck < STICK_NS) return -1;
  struct sk_buff *k = bpf_cast_to_kern_ctx(skb);
  struct capture_record head = {.len = len, .diverted_ns = now};
  if (BPF_CORE_READ_BITFIELD(k, ip_summed) == CHECKSUM_PARTIAL) {
    // A CRC (SCTP's), not a sum; kernels built without SCTP have no such field.
    if (bpf_core_field_exists(k->csum_not_inet) && BPF_CORE_READ_BITFIELD(k, csum_not_inet)) return -1;
    head.flags = CAPTURE_CSUM_PARTIAL;
    head.csum_start = k->csum_start - (__u16)(k->data - k->head);
    head.csum_offset = k->csum_offset;
  }
  __u32 index = hash % s->rings;
  void *ring = bpf_map_lookup_elem(&capture_rings, &index);
  if (!ring) return -1;
  struct capture_record *r;
  if (len <= CAPTURE_RECORD_SMALL - sizeof(struct capture_record)) {
    r = bpf_ringbuf_reserve(ring, CAPTURE_RECORD_SMALL, 0);
    if (r && bpf_skb_load_bytes(skb, 0, r + 1, len) < 0) {
      bpf_ringbuf_discard(r, 0);
      return -1;
    }
  } else {
    r = bpf_ringbuf_reserve(ring, CAPTURE_RECORD_LARGE, 0);
    if (r && bpf_skb_load_bytes(skb, 0, r + 1, len) < 0) {
      bpf_ringbuf_discard(r, 0);
      return -1;
    }
  }
  if (!r) {
    __u64 *drops = bpf_map_lookup_elem(&ring_drops, &index);
    if (drops) __sync_fetch_and_add(drops, 1);
    return 0;
  }
  *r = head;
  // Wakes the reader only if it has read everything before this frame (it may sleep).
  bpf_ringbuf_submit(r, 0);
  return 0;
}
#endif

SEC("tc")
int pspat_divert(struct __sk_buff *skb) {
  if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
    __u8 next;
    // Relative to the network header: right whether or not the device has a link header.
    if (bpf_skb_load_bytes_relative(skb, offsetof(struct ipv6hdr, nexthdr), &next, 1, BPF_HDR_START_NET) < 0) return TC_ACT_OK;
    // MLD's reports come behind a hop-by-hop header (its router alert): look one header on.
    if (next == IPPROTO_HOPOPTS && bpf_skb_load_bytes_relative(skb, sizeof(struct ipv6hdr), &next, 1, BPF_HDR_START_NET) < 0) return TC_ACT_OK;
    if (next == IPPROTO_ICMPV6) return TC_ACT_OK;
  } else if (skb->protocol != bpf_htons(ETH_P_IP)) {
    return TC_ACT_OK;
  }
  __u32 key = 0;
  struct divert_state *s = bpf_map_lookup_elem(&divert_state, &key);
  if (!s) return TC_ACT_OK;
  if (!s->fail_closed && !daemon_there(s, key)) {
    __sync_fetch_and_add(&s->bypassed, 1);
    return TC_ACT_OK;
  }
#ifdef RING_CAPTURE
  if (s->rings > 0 && to_ring(skb, s) == 0) return TC_ACT_STOLEN;
#endif
  return bpf_redirect(s->capture_ifindex, 0);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
