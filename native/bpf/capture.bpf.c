// SPDX-License-Identifier: (MIT OR GPL-2.0)
// Capture for pspat's egress takeover (src/client/capture.ts): an XDP program on the far
// end of the capture pair hands every frame that arrives on receive queue q to the
// AF_XDP socket of capture thread q, whose UMEM is pspat's frame pool, so the kernel
// writes the packet straight into a pool frame. A queue with no socket (a thread not yet
// started, or one that has stopped) passes the frame to the capture namespace's stack,
// which has no address or route for it and drops it, as it did before XDP.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_XSKMAP);
  __uint(max_entries, 64);
  __type(key, __u32);
  __type(value, __u32);
} capture_xsks SEC(".maps");

SEC("xdp")
int pspat_capture(struct xdp_md *ctx) {
  return bpf_redirect_map(&capture_xsks, ctx->rx_queue_index, XDP_PASS);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
