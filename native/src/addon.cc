// pspat native addon: registers the transmit-port functions. Real work lives in
// af_xdp.cc and af_packet.cc; validation, defaults and messages live in TypeScript
// (src/transmit/native.ts). Every function returns a number: >= 0 on success, -errno on
// failure. Ports are kept in a per-thread table (each worker loads its own instance).
#include <napi.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <ctime>
#include <sched.h>
#include <unistd.h>
#include <vector>

#include "peer_cred.h"
#include "privileges.h"
#include "stamp_sink.h"
#include "capture.h"
#include "divert.h"
#include "iface.h"
#include "netlink.h"
#include "futex.h"
#include "placement.h"
#include "port.h"
#include "udp_flood.h"
#include "ring_capture.h"
#include "xsk_capture.h"

namespace {

// Objects JS holds by number: the index into one of these per-thread tables.
template <typename T>
class Handles {
 public:
  // The new object's handle, or `err` (a negative errno) when opening it failed.
  Napi::Value add(Napi::Env env, T* item, int err) {
    if (!item) return Napi::Number::New(env, err);
    items_.push_back(item);
    return Napi::Number::New(env, double(items_.size() - 1));
  }
  // The object of handle info[0], or nullptr for a closed or unknown handle.
  T* of(const Napi::CallbackInfo& info) { return at(info[0].As<Napi::Number>().Uint32Value()); }
  T* at(uint32_t h) { return h < items_.size() ? items_[h] : nullptr; }
  Napi::Value close(const Napi::CallbackInfo& info) {
    uint32_t h = info[0].As<Napi::Number>().Uint32Value();
    if (h < items_.size()) {
      delete items_[h];
      items_[h] = nullptr;
    }
    return info.Env().Undefined();
  }

 private:
  std::vector<T*> items_;
};

thread_local Handles<TxPortNative> ports;
thread_local Handles<StampSink> sinks;
thread_local Handles<CaptureSocket> captures;
thread_local Handles<XskCapture> xskCaptures;
thread_local Handles<RingCapture> ringCaptures;

// Typed arrays here view SharedArrayBuffers, which napi_get_arraybuffer_info refuses;
// napi_get_typedarray_info gives the element pointer directly.
template <typename T>
T* dataOf(const Napi::Value& v) {
  void* data = nullptr;
  napi_get_typedarray_info(v.Env(), v, nullptr, nullptr, &data, nullptr, nullptr);
  return static_cast<T*>(data);
}

// The calling thread's clock: clockBind(f64) once with a 2-element Float64Array over a
// SharedArrayBuffer (off the V8 heap, so its address never moves), then each clockRead()
// writes CLOCK_MONOTONIC — the clock behind process.hrtime and bpf_ktime_get_ns — into it
// as [seconds, nanoseconds]. It returns nothing: in node 20, performance.now() boxes every
// result in a new heap number, and a loop that reads the clock a few million times a
// second then scavenges every few milliseconds.
thread_local double* clockSlots = nullptr;
thread_local napi_ref clockRef = nullptr;

Napi::Value ClockBind(const Napi::CallbackInfo& info) {
  if (clockRef != nullptr) napi_delete_reference(info.Env(), clockRef);
  napi_create_reference(info.Env(), info[0], 1, &clockRef);
  clockSlots = dataOf<double>(info[0]);
  return info.Env().Undefined();
}

Napi::Value ClockRead(const Napi::CallbackInfo& info) {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  clockSlots[0] = double(ts.tv_sec);
  clockSlots[1] = double(ts.tv_nsec);
  return info.Env().Undefined();
}

// yieldCpu(): sched_yield for a spinning arbiter that has just woken a client which may be
// waiting for its CPU (src/arbiter/arbiter.ts, yieldOwed). Returns at once when none is.
Napi::Value YieldCpu(const Napi::CallbackInfo& info) {
  sched_yield();
  return info.Env().Undefined();
}

// udpFlood(dst, port, size, seconds) → datagrams sent, or -errno (udp_flood.h). Blocks
// the calling thread for `seconds`: the benchmark's VM sender process does nothing else.
Napi::Value UdpFlood(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), udpFlood(info[0].As<Napi::String>().Utf8Value().c_str(), uint16_t(info[1].As<Napi::Number>().Uint32Value()),
                                                info[2].As<Napi::Number>().Uint32Value(), info[3].As<Napi::Number>().DoubleValue()));
}

// pageOffset(u8): bytes to skip from the start of u8 to reach a 4096-aligned address.
Napi::Value PageOffset(const Napi::CallbackInfo& info) {
  auto addr = reinterpret_cast<uintptr_t>(dataOf<uint8_t>(info[0]));
  return Napi::Number::New(info.Env(), double((4096 - addr % 4096) % 4096));
}

PortArrays arraysFrom(const Napi::CallbackInfo& info) {
  // (umem u8 window, frameSize, lens u32, heads u32, batch i32, done i32, status i32, info f64)
  PortArrays a{};
  auto umem = info[0].As<Napi::Uint8Array>();
  a.umem = dataOf<uint8_t>(umem);
  a.umemLen = umem.ByteLength();
  a.frameSize = info[1].As<Napi::Number>().Uint32Value();
  a.lens = dataOf<uint32_t>(info[2]);
  a.heads = dataOf<uint32_t>(info[3]);
  a.batch = dataOf<int32_t>(info[4]);
  a.done = dataOf<int32_t>(info[5]);
  a.status = dataOf<int32_t>(info[6]);
  a.batchCap = info[4].As<Napi::Int32Array>().ElementLength();
  a.info = dataOf<double>(info[7]);
  return a;
}

// xdpOpen(umem, frameSize, lens, heads, batch, done, status, info, ifindex, queue, mode, ringSize) → handle or -errno
Napi::Value XdpOpen(const Napi::CallbackInfo& info) {
  PortArrays a = arraysFrom(info);
  int err = 0;
  TxPortNative* p = openXdpPort(a, info[8].As<Napi::Number>().Int32Value(), info[9].As<Napi::Number>().Int32Value(),
                                info[10].As<Napi::Number>().Int32Value(), info[11].As<Napi::Number>().Uint32Value(), &err);
  return ports.add(info.Env(), p, err);
}

// packetOpen(umem, frameSize, lens, heads, batch, done, status, info, ifindex, ringFrames, qdiscBypass) → handle or -errno
Napi::Value PacketOpen(const Napi::CallbackInfo& info) {
  PortArrays a = arraysFrom(info);
  int err = 0;
  TxPortNative* p = openPacketPort(a, info[8].As<Napi::Number>().Int32Value(), info[9].As<Napi::Number>().Uint32Value(),
                                   info[10].As<Napi::Boolean>().Value(), &err);
  return ports.add(info.Env(), p, err);
}

Napi::Value Submit(const Napi::CallbackInfo& info) {
  TxPortNative* p = ports.of(info);
  return Napi::Number::New(info.Env(), p ? p->submit(info[1].As<Napi::Number>().Uint32Value()) : -9 /* EBADF */);
}

Napi::Value Reap(const Napi::CallbackInfo& info) {
  TxPortNative* p = ports.of(info);
  return Napi::Number::New(info.Env(), p ? p->reap(info[1].As<Napi::Number>().Uint32Value()) : -9);
}

// abort(handle, -errno): closes the port's socket; the next reaps fail what it held.
Napi::Value Abort(const Napi::CallbackInfo& info) {
  TxPortNative* p = ports.of(info);
  if (p) p->abort(info[1].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}

// linkFlags(ifindex) → the interface's flags (IFF_UP, IFF_RUNNING, ...) or -ENODEV
Napi::Value LinkFlags(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), linkFlags(info[0].As<Napi::Number>().Int32Value()));
}

Napi::Value Close(const Napi::CallbackInfo& info) { return ports.close(info); }

// peerCredentials(fd, i32 out[3]) → 0 or -errno: pid, uid, gid of a Unix socket's peer.
Napi::Value PeerCredentials(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), peerCredentials(info[0].As<Napi::Number>().Int32Value(), dataOf<int32_t>(info[1])));
}

// raiseFileLimit() → the new open-file soft limit (= the hard limit) or -errno
Napi::Value RaiseFileLimit(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), double(raiseFileLimit())); }

// keepCapabilitiesOnSetuid() → 0 or -errno
Napi::Value KeepCapabilitiesOnSetuid(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), keepCapabilitiesOnSetuid());
}

// setCapabilities(mask bigint) → 0 or -errno
Napi::Value SetCapabilities(const Napi::CallbackInfo& info) {
  bool lossless = false;
  uint64_t mask = info[0].As<Napi::BigInt>().Uint64Value(&lossless);
  return Napi::Number::New(info.Env(), setCapabilities(mask));
}

// lookupUser(name, i32 out[2]) → 0 (uid, gid in out), -ENOENT (no such user) or -errno
Napi::Value LookupUser(const Napi::CallbackInfo& info) {
  int32_t* out = dataOf<int32_t>(info[1]);
  return Napi::Number::New(info.Env(), lookupUser(info[0].As<Napi::String>().Utf8Value().c_str(), &out[0], &out[1]));
}

// placeThread(tid, cpus i32, priority, nice) → 0 or -errno: a thread's CPUs, SCHED_FIFO priority or nice value (tid 0: the caller).
Napi::Value PlaceThread(const Napi::CallbackInfo& info) {
  uint32_t n = info[1].As<Napi::Int32Array>().ElementLength();
  return Napi::Number::New(info.Env(), placeThread(info[0].As<Napi::Number>().Int32Value(), dataOf<int32_t>(info[1]), n,
                                                   info[2].As<Napi::Number>().Int32Value(), info[3].As<Napi::Number>().Int32Value()));
}

// futexWait(words i32, index, expected, timeoutMs) → 0 (woken, or spuriously), -EAGAIN (the
// word was not `expected`), -ETIMEDOUT or -EINTR; waits at most 100 ms (futex.cc)
Napi::Value FutexWait(const Napi::CallbackInfo& info) {
  int32_t* word = dataOf<int32_t>(info[0]) + info[1].As<Napi::Number>().Uint32Value();
  return Napi::Number::New(info.Env(), futexWait(word, info[2].As<Napi::Number>().Int32Value(), info[3].As<Napi::Number>().DoubleValue()));
}

// futexWake(words i32, index) → threads woken, or -errno
Napi::Value FutexWake(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), futexWake(dataOf<int32_t>(info[0]) + info[1].As<Napi::Number>().Uint32Value()));
}

// setTimerSlack(ns) → 0 or -errno: how late the calling thread's timed waits may end (futex.h)
Napi::Value SetTimerSlack(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), setTimerSlack(long(info[0].As<Napi::Number>().Int64Value())));
}

// threadId() → the calling thread's kernel tid
Napi::Value ThreadId(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), threadId()); }

// stampSinkOpen(netnsPath, ifname, epoch bigint, xdpObject, stampOffset, tagOffset) → handle or -errno
Napi::Value StampSinkOpen(const Napi::CallbackInfo& info) {
  bool lossless = false;
  int64_t epoch = info[2].As<Napi::BigInt>().Int64Value(&lossless);
  int err = 0;
  StampSink* s = openStampSink(info[0].As<Napi::String>().Utf8Value().c_str(), info[1].As<Napi::String>().Utf8Value().c_str(), epoch,
                               info[3].As<Napi::String>().Utf8Value().c_str(), info[4].As<Napi::Number>().Uint32Value(),
                               info[5].As<Napi::Number>().Uint32Value(), &err);
  return sinks.add(info.Env(), s, err);
}

// stampSinkRead(handle, cls i32, sent f64, arrived f64) → count or -errno
Napi::Value StampSinkRead(const Napi::CallbackInfo& info) {
  StampSink* s = sinks.of(info);
  if (!s) return Napi::Number::New(info.Env(), -9);
  uint32_t max = info[1].As<Napi::Int32Array>().ElementLength();
  return Napi::Number::New(info.Env(), s->read(dataOf<int32_t>(info[1]), dataOf<double>(info[2]), dataOf<double>(info[3]), max));
}

// stampSinkReceived(handle) → frames that reached the sink so far, test frames or not
Napi::Value StampSinkReceived(const Napi::CallbackInfo& info) {
  StampSink* s = sinks.of(info);
  return Napi::Number::New(info.Env(), s ? s->received() : 0);
}

// stampSinkIsXdp(handle) → whether the sink is the XDP program (else AF_PACKET)
Napi::Value StampSinkIsXdp(const Napi::CallbackInfo& info) {
  StampSink* s = sinks.of(info);
  return Napi::Boolean::New(info.Env(), s != nullptr && s->xdp());
}

Napi::Value StampSinkClose(const Napi::CallbackInfo& info) { return sinks.close(info); }

// captureOpen(netnsPath, ifname, fanoutGroup) → handle or -errno
Napi::Value CaptureOpen(const Napi::CallbackInfo& info) {
  int err = 0;
  CaptureSocket* c = openCapture(info[0].As<Napi::String>().Utf8Value().c_str(), info[1].As<Napi::String>().Utf8Value().c_str(),
                                 info[2].As<Napi::Number>().Uint32Value(), &err);
  return captures.add(info.Env(), c, err);
}

// captureRead(handle, umem u8, frameSize, frames i32, count, lens u32, timeoutMs) → count or -errno
Napi::Value CaptureRead(const Napi::CallbackInfo& info) {
  CaptureSocket* c = captures.of(info);
  if (!c) return Napi::Number::New(info.Env(), -9);
  uint32_t count = info[4].As<Napi::Number>().Uint32Value();
  uint32_t cap = info[3].As<Napi::Int32Array>().ElementLength();
  return Napi::Number::New(info.Env(), c->read(dataOf<uint8_t>(info[1]), info[2].As<Napi::Number>().Uint32Value(), dataOf<int32_t>(info[3]),
                                               count < cap ? count : cap, dataOf<uint32_t>(info[5]), info[6].As<Napi::Number>().Int32Value()));
}

Napi::Value CaptureDrops(const Napi::CallbackInfo& info) {
  CaptureSocket* c = captures.of(info);
  return Napi::Number::New(info.Env(), c ? c->drops() : 0);
}

Napi::Value CaptureClose(const Napi::CallbackInfo& info) { return captures.close(info); }

// xskCaptureAttach(netnsPath, ifname, objPath) → { err, mapFd, step }: err 0 or -errno, with the step that failed.
Napi::Value XskCaptureAttach(const Napi::CallbackInfo& info) {
  const char* why = "";
  int r = attachCaptureProgram(info[0].As<Napi::String>().Utf8Value().c_str(), info[1].As<Napi::String>().Utf8Value().c_str(),
                               info[2].As<Napi::String>().Utf8Value().c_str(), &why);
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("err", Napi::Number::New(info.Env(), r < 0 ? r : 0));
  out.Set("mapFd", Napi::Number::New(info.Env(), r < 0 ? -1 : r));
  out.Set("step", Napi::String::New(info.Env(), why));
  return out;
}

// xskCaptureOpen(netnsPath, ifname, queue, mapFd, umem u8, frameSize, ringSize) → handle or -errno
Napi::Value XskCaptureOpen(const Napi::CallbackInfo& info) {
  auto umem = info[4].As<Napi::Uint8Array>();
  int err = 0;
  XskCapture* c = XskCapture::open(info[0].As<Napi::String>().Utf8Value().c_str(), info[1].As<Napi::String>().Utf8Value().c_str(),
                                   info[2].As<Napi::Number>().Uint32Value(), info[3].As<Napi::Number>().Int32Value(), dataOf<uint8_t>(umem),
                                   umem.ByteLength(), info[5].As<Napi::Number>().Uint32Value(), info[6].As<Napi::Number>().Uint32Value(), &err);
  return xskCaptures.add(info.Env(), c, err);
}

// xskCaptureFill(handle, frames i32, count) → frames the fill ring took
Napi::Value XskCaptureFill(const Napi::CallbackInfo& info) {
  XskCapture* c = xskCaptures.of(info);
  if (!c) return Napi::Number::New(info.Env(), -9);
  uint32_t count = info[2].As<Napi::Number>().Uint32Value();
  uint32_t cap = info[1].As<Napi::Int32Array>().ElementLength();
  return Napi::Number::New(info.Env(), c->fill(dataOf<int32_t>(info[1]), count < cap ? count : cap));
}

// xskCaptureRead(handle, frames i32, lens u32, heads u32, timeoutMs) → count or -errno
Napi::Value XskCaptureRead(const Napi::CallbackInfo& info) {
  XskCapture* c = xskCaptures.of(info);
  if (!c) return Napi::Number::New(info.Env(), -9);
  return Napi::Number::New(info.Env(), c->read(dataOf<int32_t>(info[1]), info[1].As<Napi::Int32Array>().ElementLength(), dataOf<uint32_t>(info[2]),
                                               dataOf<uint32_t>(info[3]), info[4].As<Napi::Number>().Int32Value()));
}

Napi::Value XskCaptureDrops(const Napi::CallbackInfo& info) {
  XskCapture* c = xskCaptures.of(info);
  return Napi::Number::New(info.Env(), c ? c->drops() : 0);
}

Napi::Value XskCaptureClose(const Napi::CallbackInfo& info) { return xskCaptures.close(info); }

// captureRingsCreate(count) → { err, rings: fd[], drops: fd }: err 0 or -errno. Close-on-exec descriptors.
Napi::Value CaptureRingsCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t count = info[0].As<Napi::Number>().Uint32Value();
  Napi::Object out = Napi::Object::New(env);
  Napi::Array rings = Napi::Array::New(env);
  int err = 0;
  int drops = createRingDrops();
  if (drops < 0) err = drops;
  for (uint32_t i = 0; err == 0 && i < count; i++) {
    int fd = createCaptureRing();
    if (fd < 0) err = fd;
    else rings.Set(i, Napi::Number::New(env, fd));
  }
  if (err < 0) {
    for (uint32_t i = 0; i < rings.Length(); i++) close(rings.Get(i).As<Napi::Number>().Int32Value());
    if (drops >= 0) close(drops);
  }
  out.Set("err", Napi::Number::New(env, err));
  out.Set("rings", rings);
  out.Set("drops", Napi::Number::New(env, err < 0 ? -1 : drops));
  return out;
}

// ringCaptureOpen(ringFd, dropsFd, index) → handle or -errno
Napi::Value RingCaptureOpen(const Napi::CallbackInfo& info) {
  int err = 0;
  RingCapture* c = RingCapture::open(info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Int32Value(),
                                     info[2].As<Napi::Number>().Uint32Value(), &err);
  return ringCaptures.add(info.Env(), c, err);
}

// ringCaptureRead(handle, frames i32, count, pool u8, frameSize, lens u32, heads u32, divertedAt f64, epoch bigint, xskHandle (-1: none),
//   timeoutMs) → count or -errno
Napi::Value RingCaptureRead(const Napi::CallbackInfo& info) {
  RingCapture* c = ringCaptures.of(info);
  if (!c) return Napi::Number::New(info.Env(), -9);
  uint32_t count = info[2].As<Napi::Number>().Uint32Value();
  uint32_t cap = info[1].As<Napi::Int32Array>().ElementLength();
  bool lossless = false;
  int64_t epoch = info[8].As<Napi::BigInt>().Int64Value(&lossless);
  int32_t xsk = info[9].As<Napi::Number>().Int32Value();
  XskCapture* other = nullptr;
  if (xsk >= 0) other = xskCaptures.at(uint32_t(xsk));
  return Napi::Number::New(info.Env(), c->read(dataOf<int32_t>(info[1]), count < cap ? count : cap, dataOf<uint8_t>(info[3]),
                                               info[4].As<Napi::Number>().Uint32Value(), dataOf<uint32_t>(info[5]), dataOf<uint32_t>(info[6]),
                                               dataOf<double>(info[7]), epoch, other ? other->fd() : -1, info[10].As<Napi::Number>().Int32Value()));
}

Napi::Value RingCaptureDrops(const Napi::CallbackInfo& info) {
  RingCapture* c = ringCaptures.of(info);
  return Napi::Number::New(info.Env(), c ? c->drops() : 0);
}

Napi::Value RingCaptureClose(const Napi::CallbackInfo& info) { return ringCaptures.close(info); }

// divertAttach(objPath, pinPath, ifindex, captureIfindex, staleNs, checkNs, failClosed, priority, ringFds i32, ringDropsFd)
//   → { err, stateFd, aliveFd, step }: err 0 or -errno, with the step that failed. No ring fds: no ring capture.
Napi::Value DivertAttach(const Napi::CallbackInfo& info) {
  std::string obj = info[0].As<Napi::String>().Utf8Value();
  std::string pin = info[1].As<Napi::String>().Utf8Value();
  DivertSpec spec{obj.c_str(), pin.c_str(), info[2].As<Napi::Number>().Int32Value(), info[3].As<Napi::Number>().Int32Value(),
                  uint64_t(info[4].As<Napi::Number>().Int64Value()), uint64_t(info[5].As<Napi::Number>().Int64Value()),
                  info[6].As<Napi::Boolean>().Value(), info[7].As<Napi::Number>().Uint32Value(), dataOf<int32_t>(info[8]),
                  uint32_t(info[8].As<Napi::Int32Array>().ElementLength()), info[9].As<Napi::Number>().Int32Value()};
  const char* why = "";
  int stateFd = -1, aliveFd = -1;
  int err = attachDivert(spec, &stateFd, &aliveFd, &why);
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("err", Napi::Number::New(info.Env(), err));
  out.Set("stateFd", Napi::Number::New(info.Env(), stateFd));
  out.Set("aliveFd", Napi::Number::New(info.Env(), aliveFd));
  out.Set("step", Napi::String::New(info.Env(), why));
  return out;
}

// bpfProbe(objPath) → { err, step }: whether the kernel loads the object's programs (err 0), or -errno and the step that failed.
Napi::Value BpfProbe(const Napi::CallbackInfo& info) {
  const char* why = "";
  int err = probeProgram(info[0].As<Napi::String>().Utf8Value().c_str(), &why);
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("err", Napi::Number::New(info.Env(), err));
  out.Set("step", Napi::String::New(info.Env(), why));
  return out;
}

// divertState(fd) → an ArrayBuffer over the diversion state behind the map fd (unmapped when
// collected), or -errno. Each thread that stamps maps it for itself.
Napi::Value DivertStateBuffer(const Napi::CallbackInfo& info) {
  DivertState* s = mapDivertState(info[0].As<Napi::Number>().Int32Value());
  if (!s) return Napi::Number::New(info.Env(), -errno);
  return Napi::ArrayBuffer::New(info.Env(), s, sizeof(DivertState), [](Napi::Env, void* data) { unmapDivertState(static_cast<DivertState*>(data)); });
}

// netlinkOpen(groups, rcvbuf) → fd or -errno
Napi::Value NetlinkOpen(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), netlinkOpen(info[0].As<Napi::Number>().Uint32Value(), info[1].As<Napi::Number>().Int32Value()));
}

// netlinkSend(fd, u8) → bytes or -errno
Napi::Value NetlinkSend(const Napi::CallbackInfo& info) {
  auto buf = info[1].As<Napi::Uint8Array>();
  return Napi::Number::New(info.Env(), netlinkSend(info[0].As<Napi::Number>().Int32Value(), buf.Data(), buf.ByteLength()));
}

// netlinkRecv(fd, u8, timeoutMs) → bytes (0: nothing came) or -errno
Napi::Value NetlinkRecv(const Napi::CallbackInfo& info) {
  auto buf = info[1].As<Napi::Uint8Array>();
  return Napi::Number::New(info.Env(), netlinkRecv(info[0].As<Napi::Number>().Int32Value(), buf.Data(), buf.ByteLength(),
                                                   info[2].As<Napi::Number>().Int32Value()));
}

// closeFd(fd) → 0 or -errno
Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), close(info[0].As<Napi::Number>().Int32Value()) == 0 ? 0 : -errno);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("captureOpen", Napi::Function::New(env, CaptureOpen));
  exports.Set("captureRead", Napi::Function::New(env, CaptureRead));
  exports.Set("captureDrops", Napi::Function::New(env, CaptureDrops));
  exports.Set("captureClose", Napi::Function::New(env, CaptureClose));
  exports.Set("xskCaptureAttach", Napi::Function::New(env, XskCaptureAttach));
  exports.Set("xskCaptureOpen", Napi::Function::New(env, XskCaptureOpen));
  exports.Set("xskCaptureFill", Napi::Function::New(env, XskCaptureFill));
  exports.Set("xskCaptureRead", Napi::Function::New(env, XskCaptureRead));
  exports.Set("xskCaptureDrops", Napi::Function::New(env, XskCaptureDrops));
  exports.Set("xskCaptureClose", Napi::Function::New(env, XskCaptureClose));
  exports.Set("captureRingsCreate", Napi::Function::New(env, CaptureRingsCreate));
  exports.Set("ringCaptureOpen", Napi::Function::New(env, RingCaptureOpen));
  exports.Set("ringCaptureRead", Napi::Function::New(env, RingCaptureRead));
  exports.Set("ringCaptureDrops", Napi::Function::New(env, RingCaptureDrops));
  exports.Set("ringCaptureClose", Napi::Function::New(env, RingCaptureClose));
  exports.Set("stampSinkOpen", Napi::Function::New(env, StampSinkOpen));
  exports.Set("stampSinkRead", Napi::Function::New(env, StampSinkRead));
  exports.Set("stampSinkReceived", Napi::Function::New(env, StampSinkReceived));
  exports.Set("stampSinkIsXdp", Napi::Function::New(env, StampSinkIsXdp));
  exports.Set("stampSinkClose", Napi::Function::New(env, StampSinkClose));
  exports.Set("peerCredentials", Napi::Function::New(env, PeerCredentials));
  exports.Set("raiseFileLimit", Napi::Function::New(env, RaiseFileLimit));
  exports.Set("keepCapabilitiesOnSetuid", Napi::Function::New(env, KeepCapabilitiesOnSetuid));
  exports.Set("setCapabilities", Napi::Function::New(env, SetCapabilities));
  exports.Set("lookupUser", Napi::Function::New(env, LookupUser));
  exports.Set("placeThread", Napi::Function::New(env, PlaceThread));
  exports.Set("threadId", Napi::Function::New(env, ThreadId));
  exports.Set("futexWait", Napi::Function::New(env, FutexWait));
  exports.Set("futexWake", Napi::Function::New(env, FutexWake));
  exports.Set("setTimerSlack", Napi::Function::New(env, SetTimerSlack));
  exports.Set("clockBind", Napi::Function::New(env, ClockBind));
  exports.Set("clockRead", Napi::Function::New(env, ClockRead));
  exports.Set("yieldCpu", Napi::Function::New(env, YieldCpu));
  exports.Set("udpFlood", Napi::Function::New(env, UdpFlood));
  exports.Set("pageOffset", Napi::Function::New(env, PageOffset));
  exports.Set("xdpOpen", Napi::Function::New(env, XdpOpen));
  exports.Set("packetOpen", Napi::Function::New(env, PacketOpen));
  exports.Set("submit", Napi::Function::New(env, Submit));
  exports.Set("reap", Napi::Function::New(env, Reap));
  exports.Set("abort", Napi::Function::New(env, Abort));
  exports.Set("linkFlags", Napi::Function::New(env, LinkFlags));
  exports.Set("close", Napi::Function::New(env, Close));
  exports.Set("divertAttach", Napi::Function::New(env, DivertAttach));
  exports.Set("divertState", Napi::Function::New(env, DivertStateBuffer));
  exports.Set("bpfProbe", Napi::Function::New(env, BpfProbe));
  exports.Set("netlinkOpen", Napi::Function::New(env, NetlinkOpen));
  exports.Set("netlinkSend", Napi::Function::New(env, NetlinkSend));
  exports.Set("netlinkRecv", Napi::Function::New(env, NetlinkRecv));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd));
  return exports;
}

}  // namespace

NODE_API_MODULE(pspat_native, Init)
