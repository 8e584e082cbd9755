// See ring_capture.h. The ring is the kernel's BPF ring buffer: a consumer page (ours to
// write), then a producer page and the data area mapped twice in a row, so a record that
// wraps reads as one piece. Each record is an 8-byte header (length, with BUSY while its
// producer is still writing and DISCARD for one it gave up) and the program's
// capture_record, then the frame, padded to 8 bytes.
//
// Wake-ups: on committing a record the kernel wakes the reader only when the reader's
// published position is that record's start (it had read everything: it may be asleep).
// Awake, this reader publishes the start of the last record it read rather than its end,
// so a busy sender never pays for a wake-up; before it sleeps it publishes everything and
// looks once more, so a frame committed after that wakes it.
#include "ring_capture.h"

#include "capture_ring.h"

#include <bpf/bpf.h>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <unistd.h>

namespace {
constexpr uint32_t kBusy = 1u << 31;
constexpr uint32_t kDiscard = 1u << 30;
constexpr uint32_t kHeader = 8;
// How long a reader that found frames last time waits before it looks again, when it
// finds none: long enough for a busy sender to fill a batch, short against the arbiter's
// own batching (it releases at most a batch per pass anyway).
constexpr long kNapNs = 20000;
const long kPage = sysconf(_SC_PAGESIZE);

// The Internet checksum the stack left to the device (CHECKSUM_PARTIAL): the sum of the
// bytes from `start` (whose checksum field holds the pseudo-header's sum) to the end,
// folded, at start + offset — as the kernel's skb_checksum_help writes it.
void finishChecksum(uint8_t* frame, uint32_t len, const capture_record& r) {
  uint32_t at = uint32_t(r.csum_start) + r.csum_offset;
  if (r.csum_start >= len || at + 2 > len) return;  // not a checksum this frame can hold: leave it
  uint64_t sum = 0;
  uint32_t i = r.csum_start;
  for (; i + 1 < len; i += 2) sum += uint32_t(frame[i]) << 8 | frame[i + 1];
  if (i < len) sum += uint32_t(frame[i]) << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  uint16_t c = uint16_t(~sum);
  if (c == 0) c = 0xffff;
  frame[at] = uint8_t(c >> 8);
  frame[at + 1] = uint8_t(c);
}
}  // namespace

int createCaptureRing() {
  int fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "pspat_capture", 0, 0, CAPTURE_RING_BYTES, nullptr);
  return fd < 0 ? -errno : fd;
}

int createRingDrops() {
  int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "ring_drops", sizeof(uint32_t), sizeof(uint64_t), CAPTURE_RINGS_MAX, nullptr);
  return fd < 0 ? -errno : fd;
}

RingCapture* RingCapture::open(int ringFd, int dropsFd, uint32_t index, int* err) {
  int fd = fcntl(ringFd, F_DUPFD_CLOEXEC, 0);
  int drops = fd < 0 ? -1 : fcntl(dropsFd, F_DUPFD_CLOEXEC, 0);
  if (fd < 0 || drops < 0) {
    *err = -errno;
    if (fd >= 0) close(fd);
    return nullptr;
  }
  auto* c = new RingCapture(fd, drops, index);
  void* cons = mmap(nullptr, size_t(kPage), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  void* prod = cons == MAP_FAILED ? MAP_FAILED : mmap(nullptr, size_t(kPage) + 2 * CAPTURE_RING_BYTES, PROT_READ, MAP_SHARED, fd, kPage);
  if (cons == MAP_FAILED || prod == MAP_FAILED) {
    *err = -errno;
    if (cons != MAP_FAILED) munmap(cons, size_t(kPage));
    delete c;
    return nullptr;
  }
  c->consumer_ = static_cast<uint64_t*>(cons);
  c->producer_ = static_cast<const uint64_t*>(prod);
  c->data_ = static_cast<const uint8_t*>(prod) + kPage;
  c->pos_ = __atomic_load_n(c->consumer_, __ATOMIC_ACQUIRE);
  return c;
}

RingCapture::~RingCapture() {
  if (consumer_) munmap(consumer_, size_t(kPage));
  if (producer_) munmap(const_cast<uint64_t*>(producer_), size_t(kPage) + 2 * CAPTURE_RING_BYTES);
  close(fd_);
  close(dropsFd_);
}

// 0 once a frame may have come, or -errno (-ENETDOWN: `other`'s device is gone). Sleeps
// only when the ring is empty with everything published, so the next frame committed wakes it.
int RingCapture::waitForFrames(int other, int timeoutMs) {
  if (busy_) {
    busy_ = false;
    timespec nap{0, kNapNs};
    nanosleep(&nap, nullptr);
    if (__atomic_load_n(producer_, __ATOMIC_ACQUIRE) != pos_) return 0;
  }
  __atomic_store_n(consumer_, pos_, __ATOMIC_SEQ_CST);
  // Orders the store above before the load below, against the producer's commit (an
  // atomic exchange) and its load of our position: one of the two sees the other.
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  if (__atomic_load_n(producer_, __ATOMIC_ACQUIRE) != pos_) return 0;
  pollfd p[2] = {{fd_, POLLIN, 0}, {other, POLLIN, 0}};
  if (poll(p, other >= 0 ? 2 : 1, timeoutMs) < 0) return errno == EINTR ? 0 : -errno;
  if (other >= 0 && (p[1].revents & (POLLERR | POLLHUP | POLLNVAL))) return -ENETDOWN;
  return 0;
}

int RingCapture::read(int32_t* frames, uint32_t count, uint8_t* pool, uint32_t frameSize, uint32_t* lens, uint32_t* heads, double* divertedAt,
                      int64_t epochNs, int other, int timeoutMs) {
  uint64_t prod = __atomic_load_n(producer_, __ATOMIC_ACQUIRE);
  if (prod == pos_) {
    int r = waitForFrames(other, timeoutMs);
    if (r < 0) return r;
    prod = __atomic_load_n(producer_, __ATOMIC_ACQUIRE);
  }
  uint32_t n = 0;
  uint64_t last = pos_;
  while (pos_ < prod && n < count) {
    const uint8_t* at = data_ + (pos_ & (CAPTURE_RING_BYTES - 1));
    uint32_t word = __atomic_load_n(reinterpret_cast<const uint32_t*>(at), __ATOMIC_ACQUIRE);  // pairs with the commit
    if (word & kBusy) break;  // its producer is still writing it
    uint32_t size = word & ~(kBusy | kDiscard);
    if (!(word & kDiscard)) {
      capture_record r;
      memcpy(&r, at + kHeader, sizeof r);
      int32_t f = frames[n++];
      uint8_t* frame = pool + uint64_t(f) * frameSize;
      // A frame longer than the pool's keeps its length, so the client counts it oversize.
      memcpy(frame, at + kHeader + sizeof r, r.len < frameSize ? r.len : frameSize);
      if (r.len <= frameSize && (r.flags & CAPTURE_CSUM_PARTIAL)) finishChecksum(frame, r.len, r);
      lens[f] = r.len;
      heads[f] = 0;
      divertedAt[f] = double(int64_t(r.diverted_ns) - epochNs);
    }
    last = pos_;
    pos_ += (kHeader + size + 7) & ~uint64_t(7);
  }
  busy_ = n > 0;
  // Behind by the last record read: the kernel wakes no one while this reader is awake.
  __atomic_store_n(consumer_, last, __ATOMIC_RELEASE);
  return int(n);
}

uint32_t RingCapture::drops() {
  uint64_t total = 0;
  if (bpf_map_lookup_elem(dropsFd_, &index_, &total) < 0) return 0;
  uint32_t since = uint32_t(total - dropsSeen_);
  dropsSeen_ = total;
  return since;
}
