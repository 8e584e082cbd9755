// SPDX-License-Identifier: (MIT OR GPL-2.0)
// Egress diversion for pspat's takeover (src/attach/attach.ts), on a device's clsact
// egress hook in direct-action mode: IPv4 and IPv6 (but not ICMPv6, so neighbour
// discovery stays on the kernel's path, as ARP does) are redirected to the capture pair
// while the daemon's heartbeat is fresh. When it is stale (the daemon killed, stopped or
// wedged) the packet goes on to the device's own qdisc: fail open, unshaped by pspat but
// never lost. `fail_closed` keeps the redirect whatever the heartbeat says.
//
// The state map is mmapable: the arbiter stamps `heartbeat_ns` (CLOCK_MONOTONIC, the
// clock of bpf_ktime_get_ns) with one 64-bit store, no system call.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <stddef.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

// Keep in step with native/src/divert.h.
struct divert_state {
  __u64 heartbeat_ns;
  __u64 stale_ns;
  __u32 capture_ifindex;
  __u32 fail_closed;
  __u64 pad[5];
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

SEC("tc")
int pspat_divert(struct __sk_buff *skb) {
  if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
    __u8 next;
    // Relative to the network header: right whether or not the device has a link header.
    if (bpf_skb_load_bytes_relative(skb, offsetof(struct ipv6hdr, nexthdr), &next, 1, BPF_HDR_START_NET) < 0) return TC_ACT_OK;
    if (next == IPPROTO_ICMPV6) return TC_ACT_OK;
  } else if (skb->protocol != bpf_htons(ETH_P_IP)) {
    return TC_ACT_OK;
  }
  __u32 key = 0;
  struct divert_state *s = bpf_map_lookup_elem(&divert_state, &key);
  if (!s) return TC_ACT_OK;
  // Signed: a stamp made after this packet read the clock is fresh, not 2^64 ns old.
  if (!s->fail_closed && (__s64)(bpf_ktime_get_ns() - s->heartbeat_ns) > (__s64)s->stale_ns) {
    __sync_fetch_and_add(&s->bypassed, 1);
    return TC_ACT_OK;
  }
  return bpf_redirect(s->capture_ifindex, 0);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
