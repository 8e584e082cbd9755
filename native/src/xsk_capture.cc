// Capture by XDP (xsk_capture.h). Copy mode: a veth has no zero-copy receive, so the
// kernel copies each packet once, from the skb into the pool frame, which is the copy
// AF_PACKET's recvmmsg made too — without the socket buffer, the per-batch system call
// and the per-packet wake-up. In copy mode the packet lands XDP_PACKET_HEADROOM bytes
// into its frame; the receive descriptor says where, and the frame's head records it
// for the transmit ports.
//
// Checksums: the capture pair's near end has its offloads off (src/attach/attach.ts), so
// the stack finishes every checksum and segments every GSO packet before the frame
// reaches the program: what arrives here is a finished, MTU-sized frame.
#include "xsk_capture.h"

#include "netns.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cerrno>
#include <fcntl.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

int attachCaptureProgram(const char* netnsPath, const char* ifname, const char* objPath, const char** why) {
  bpf_object* obj = bpf_object__open_file(objPath, nullptr);
  if (!obj) {
    *why = "open the program";
    return -errno;
  }
  int err = 0;
  bpf_program* prog = bpf_object__find_program_by_name(obj, "pspat_capture");
  bpf_map* map = bpf_object__find_map_by_name(obj, "capture_xsks");
  if (!prog || !map) {
    *why = "find the program in its object";
    err = -ENOENT;
  } else if ((err = bpf_object__load(obj)) < 0) {
    *why = "load the program";
  } else {
    int progFd = bpf_program__fd(prog);
    err = openInNamespace(netnsPath, [&] {
      int ifindex = int(if_nametoindex(ifname));
      if (ifindex == 0) return -ENODEV;
      return bpf_xdp_attach(ifindex, progFd, XDP_FLAGS_DRV_MODE, nullptr) == 0 ? 0 : -errno;
    });
    if (err < 0) *why = "attach it to the capture device";
    // The map outlives the object: the attached program holds it, and so does this descriptor.
    else if ((err = fcntl(bpf_map__fd(map), F_DUPFD_CLOEXEC, 0)) < 0) err = -errno;
  }
  bpf_object__close(obj);
  return err;
}

XskCapture* XskCapture::open(const char* netnsPath, const char* ifname, uint32_t queue, int mapFd, uint8_t* umem, uint64_t umemLen,
                             uint32_t frameSize, uint32_t ringSize, int* err) {
  // The socket belongs to the namespace it is created in, and binds by that namespace's ifindex.
  int fd = openInNamespace(netnsPath, [&] {
    int ifindex = int(if_nametoindex(ifname));
    if (ifindex == 0) return -ENODEV;
    int s = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (s < 0) return -errno;
    xdp_umem_reg reg{};
    reg.addr = reinterpret_cast<uint64_t>(umem);
    reg.len = umemLen;
    reg.chunk_size = frameSize;
    uint32_t unused = 1;  // a UMEM needs a completion ring even where nothing is sent
    sockaddr_xdp sxdp{};
    sxdp.sxdp_family = AF_XDP;
    sxdp.sxdp_ifindex = uint32_t(ifindex);
    sxdp.sxdp_queue_id = queue;
    sxdp.sxdp_flags = XDP_COPY;
    if (setsockopt(s, SOL_XDP, XDP_UMEM_REG, &reg, sizeof reg) < 0 ||
        setsockopt(s, SOL_XDP, XDP_UMEM_FILL_RING, &ringSize, sizeof ringSize) < 0 ||
        setsockopt(s, SOL_XDP, XDP_UMEM_COMPLETION_RING, &unused, sizeof unused) < 0 ||
        setsockopt(s, SOL_XDP, XDP_RX_RING, &ringSize, sizeof ringSize) < 0 ||
        bind(s, reinterpret_cast<sockaddr*>(&sxdp), sizeof sxdp) < 0) {
      int e = errno;
      close(s);
      return -e;
    }
    return s;
  });
  if (fd < 0) {
    *err = fd;
    return nullptr;
  }
  auto* c = new XskCapture(fd, frameSize);
  xdp_mmap_offsets off{};
  socklen_t optlen = sizeof off;
  int e = 0;
  if (getsockopt(fd, SOL_XDP, XDP_MMAP_OFFSETS, &off, &optlen) < 0) e = -errno;
  if (e == 0) e = c->fq_.mapFrom(fd, off.fr, ringSize, sizeof(uint64_t), XDP_UMEM_PGOFF_FILL_RING);
  if (e == 0) e = c->rx_.mapFrom(fd, off.rx, ringSize, sizeof(xdp_desc), XDP_PGOFF_RX_RING);
  // Last: frames start arriving once the socket is in the map.
  if (e == 0 && bpf_map_update_elem(mapFd, &queue, &fd, BPF_ANY) < 0) e = -errno;
  if (e < 0) {
    delete c;
    *err = e;
    return nullptr;
  }
  return c;
}

XskCapture::~XskCapture() {
  fq_.unmap();
  rx_.unmap();
  close(fd_);  // takes the socket out of the map too
}

uint32_t XskCapture::fill(const int32_t* frames, uint32_t count) {
  uint32_t prod = *fq_.producer;
  uint32_t room = fq_.size - (prod - __atomic_load_n(fq_.consumer, __ATOMIC_ACQUIRE));  // pairs with the kernel's consumer release
  uint32_t n = count < room ? count : room;
  auto* addrs = static_cast<uint64_t*>(fq_.descs);
  for (uint32_t i = 0; i < n; i++) addrs[(prod + i) & fq_.mask] = uint64_t(frames[i]) * frameSize_;
  __atomic_store_n(fq_.producer, prod + n, __ATOMIC_RELEASE);  // publishes the addresses
  return n;
}

int XskCapture::read(int32_t* frames, uint32_t max, uint32_t* lens, uint32_t* heads, int timeoutMs) {
  uint32_t cons = *rx_.consumer;
  uint32_t ready = __atomic_load_n(rx_.producer, __ATOMIC_ACQUIRE) - cons;  // pairs with the kernel's producer release
  if (ready == 0) {
    if (timeoutMs == 0) return 0;  // a look, not a wait: no system call
    pollfd p{fd_, POLLIN, 0};
    int r = poll(&p, 1, timeoutMs);
    if (r < 0) return errno == EINTR ? 0 : -errno;
    if (p.revents & (POLLERR | POLLHUP | POLLNVAL)) return -ENETDOWN;
    ready = __atomic_load_n(rx_.producer, __ATOMIC_ACQUIRE) - cons;
  }
  uint32_t n = ready < max ? ready : max;
  const auto* descs = static_cast<const xdp_desc*>(rx_.descs);
  for (uint32_t i = 0; i < n; i++) {
    const xdp_desc& d = descs[(cons + i) & rx_.mask];
    auto f = int32_t(d.addr / frameSize_);
    frames[i] = f;
    lens[f] = d.len;
    heads[f] = uint32_t(d.addr % frameSize_);
  }
  __atomic_store_n(rx_.consumer, cons + n, __ATOMIC_RELEASE);  // hands the slots back
  return int(n);
}

uint32_t XskCapture::drops() {
  xdp_statistics st{};
  socklen_t len = sizeof st;
  if (getsockopt(fd_, SOL_XDP, XDP_STATISTICS, &st, &len) < 0) return 0;
  uint64_t total = st.rx_dropped + st.rx_ring_full;
  uint32_t since = uint32_t(total - dropsSeen_);
  dropsSeen_ = total;
  return since;
}
