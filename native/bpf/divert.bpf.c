// SPDX-License-Identifier: (MIT OR GPL-2.0)
// Egress diversion for pspat's takeover (src/attach/attach.ts), on a device's clsact
// egress hook in direct-action mode: IPv4 and IPv6 (but not ICMPv6, so neighbour
// discovery stays on the kernel's path, as ARP does) are redirected to the capture pair
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
  __u64 check_ns;
  __u64 pad[4];
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
  if (!s->fail_closed && !daemon_there(s, key)) {
    __sync_fetch_and_add(&s->bypassed, 1);
    return TC_ACT_OK;
  }
  return bpf_redirect(s->capture_ifindex, 0);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
