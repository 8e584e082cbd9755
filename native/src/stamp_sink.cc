// Timestamping receive sink for one-way delay, on the far end of the measured veth (inside
// a network namespace if asked: setns on this thread, then back). Two ways, the first that
// works:
//  - XDP (native/bpf/sink.bpf.c): the program stamps each test frame's arrival with
//    bpf_ktime_get_ns, CLOCK_MONOTONIC like the shared clock, puts {class, stamp, arrival}
//    on a ring buffer and drops the frame; nothing goes up the stack.
//  - AF_PACKET with SO_TIMESTAMPNS: the kernel stamps each packet when it arrives
//    (CLOCK_REALTIME, mapped onto the shared clock with one offset taken at open).
// Either way the stamp is taken on arrival: a sink that drains every few milliseconds
// measures the same delays as one that spins.
#include "stamp_sink.h"

#include "iface.h"
#include "netns.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <ctime>
#include <sys/socket.h>
#include <unistd.h>

namespace {

constexpr int kBatch = 64;
constexpr int kSnap = 128;  // bytes of each packet kept: headers, tag, send stamp

// Keep in step with native/bpf/sink.bpf.c.
struct Arrival {
  uint32_t cls;
  uint32_t pad;
  double stamp;
  uint64_t at;
};
enum { kCtlStampOffset, kCtlTagOffset, kCtlSeen, kCtlLost };

// One ring record into the read's batch; a negative return stops the ring's consumer
// after it (libbpf counts the record consumed).
int takeArrival(void* ctx, void* data, size_t) {
  auto* b = static_cast<SinkBatch*>(ctx);
  const auto* a = static_cast<const Arrival*>(data);
  b->cls[b->n] = int32_t(a->cls);
  b->sent[b->n] = a->stamp;
  b->arrived[b->n] = double(int64_t(a->at) - b->offsetNs);
  return ++b->n < b->max ? 0 : -E2BIG;
}

int64_t nsOf(clockid_t c) {
  timespec ts{};
  clock_gettime(c, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Opens the socket in the current namespace; -errno on failure.
int openHere(const char* ifname) {
  int fd = openPacketReceiver(ifname, SOCK_NONBLOCK, 64 << 20);
  if (fd < 0) return fd;
  int on = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) < 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  return fd;
}

// Loads the XDP sink and attaches it to `ifname` inside the namespace; false (and the
// sink left as it was) when any step fails.
bool attachXdp(StampSink* s, const char* netnsPath, const char* ifname, const char* objPath) {
  bpf_object* obj = bpf_object__open_file(objPath, nullptr);
  if (!obj) return false;
  bpf_program* prog = bpf_object__find_program_by_name(obj, "pspat_sink");
  bpf_map* ctl = bpf_object__find_map_by_name(obj, "sink_ctl");
  bpf_map* arrivals = bpf_object__find_map_by_name(obj, "arrivals");
  if (!prog || !ctl || !arrivals || bpf_object__load(obj) != 0) {
    bpf_object__close(obj);
    return false;
  }
  int ctlFd = bpf_map__fd(ctl);
  uint32_t keys[] = {kCtlStampOffset, kCtlTagOffset};
  uint64_t values[] = {s->stampOffset, s->tagOffset};
  for (int i = 0; i < 2; i++) bpf_map_update_elem(ctlFd, &keys[i], &values[i], BPF_ANY);
  int progFd = bpf_program__fd(prog);
  int ifindex = openInNamespace(netnsPath, [&] {
    int index = int(if_nametoindex(ifname));
    if (index == 0) return -errno;
    return bpf_xdp_attach(index, progFd, XDP_FLAGS_DRV_MODE, nullptr) == 0 ? index : -errno;
  });
  ring_buffer* ring = ifindex > 0 ? ring_buffer__new(bpf_map__fd(arrivals), takeArrival, &s->batch, nullptr) : nullptr;
  if (!ring) {
    if (ifindex > 0) openInNamespace(netnsPath, [&] { return bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, nullptr); });
    bpf_object__close(obj);
    return false;
  }
  s->obj = obj;
  s->ring = ring;
  s->ctlFd = ctlFd;
  s->ifindex = ifindex;
  s->netnsPath = netnsPath;
  return true;
}

}  // namespace

StampSink* openStampSink(const char* netnsPath, const char* ifname, int64_t epochMonoNs, const char* xdpObject,
                         uint32_t stampOffset, uint32_t tagOffset, int* err) {
  auto* s = new StampSink();
  s->stampOffset = stampOffset;
  s->tagOffset = tagOffset;
  if (xdpObject[0] != '\0' && attachXdp(s, netnsPath, ifname, xdpObject)) {
    s->offsetNs = epochMonoNs;  // the program stamps CLOCK_MONOTONIC
    return s;
  }
  int fd = openInNamespace(netnsPath, [&] { return openHere(ifname); });
  if (fd < 0) {
    delete s;
    *err = fd;
    return nullptr;
  }
  s->fd = fd;
  // realtime − monotonic, then − epoch: a kernel stamp minus this is ns since the epoch.
  s->offsetNs = nsOf(CLOCK_REALTIME) - nsOf(CLOCK_MONOTONIC) + epochMonoNs;
  return s;
}

double StampSink::received() const {
  if (!xdp()) return delivered;
  uint32_t key = kCtlSeen;
  uint64_t seen = 0;
  bpf_map_lookup_elem(ctlFd, &key, &seen);
  return double(seen);
}

int StampSink::read(int32_t* cls, double* sent, double* arrived, uint32_t max) {
  if (max == 0) return 0;
  if (xdp()) {
    batch.cls = cls;
    batch.sent = sent;
    batch.arrived = arrived;
    batch.max = max;
    batch.n = 0;
    batch.offsetNs = offsetNs;
    int r = ring_buffer__consume(ring);
    return r < 0 && r != -E2BIG ? r : int(batch.n);
  }
  uint8_t data[kBatch][kSnap];
  char control[kBatch][CMSG_SPACE(sizeof(timespec))];
  iovec iov[kBatch];
  mmsghdr msgs[kBatch];
  uint32_t n = 0;
  while (n < max) {
    int want = int(max - n < kBatch ? max - n : kBatch);
    std::memset(msgs, 0, sizeof(mmsghdr) * want);
    for (int i = 0; i < want; i++) {
      iov[i] = {data[i], kSnap};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_control = control[i];
      msgs[i].msg_hdr.msg_controllen = sizeof control[i];
    }
    int got = recvmmsg(fd, msgs, unsigned(want), MSG_DONTWAIT, nullptr);
    if (got < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return n > 0 ? int(n) : -errno;
    }
    for (int i = 0; i < got; i++) {
      delivered++;
      // Only test frames long enough to carry the tag and the stamp (IPv4 UDP), with a kernel stamp.
      if (msgs[i].msg_len < stampOffset + 8 || msgs[i].msg_len < tagOffset + 4 || data[i][12] != 0x08 || data[i][13] != 0x00) continue;
      const timespec* ts = nullptr;
      for (cmsghdr* c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c; c = CMSG_NXTHDR(&msgs[i].msg_hdr, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) ts = reinterpret_cast<const timespec*>(CMSG_DATA(c));
      }
      if (!ts) continue;
      double stamp;
      std::memcpy(&stamp, data[i] + stampOffset, 8);  // little-endian float64, as JS wrote it
      cls[n] = (data[i][tagOffset + 2] << 8) | data[i][tagOffset + 3];
      sent[n] = stamp;
      arrived[n] = double(int64_t(ts->tv_sec) * 1000000000 + ts->tv_nsec - offsetNs);
      n++;
    }
    if (got < want) break;
  }
  return int(n);
}

StampSink::~StampSink() {
  if (fd >= 0) close(fd);
  if (xdp()) {
    ring_buffer__free(ring);
    // Gone with its namespace if that was deleted first: nothing to undo then.
    openInNamespace(netnsPath.c_str(), [&] { return bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, nullptr); });
    bpf_object__close(obj);
  }
}
