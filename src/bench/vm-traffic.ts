/**
 * A VM's traffic, run inside its network namespace (the egress takeover test and
 * bench/egress-vs-htb.ts):
 *   ip netns exec NS node dist/src/bench/vm-traffic.js udp DST PORT MBIT SIZE SECONDS [EPOCH CLASS]
 *   ip netns exec NS node dist/src/bench/vm-traffic.js flood DST PORT 0 SIZE SECONDS
 *   ip netns exec NS node dist/src/bench/vm-traffic.js tcp DST PORT 0 0 SECONDS
 * udp: SIZE-byte datagrams at MBIT Mbit/s (frame bytes, +42 headers), in 5 ms bursts; with
 * EPOCH (the shared clock's, src/clock.ts) each carries the test tag's CLASS and its send
 * time where a stamp sink reads them (traffic/packet.ts: payload offsets 2 and 8);
 * flood: SIZE-byte datagrams as fast as the kernel takes them, from the native addon
 * (sendmmsg on a blocking socket: a node loop costs ≈ 10 µs and garbage a datagram, which
 * measures the sender rather than the path behind it);
 * tcp: one connection written as fast as it drains. Prints one JSON line at the end:
 * { sent } — datagrams the kernel accepted, or bytes written.
 */
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { STAMP_OFFSET, UDP_FRAME_HEADERS } from '../../traffic/packet.js';
import { makeClock } from '../clock.js';
import { errnoName } from '../errno.js';
import { nativeAddon } from '../transmit/native.js';

const [mode, dst, portText, mbitText, sizeText, secondsText, epochText, clsText] = process.argv.slice(2);
const port = Number(portText);
const endAt = performance.now() + Number(secondsText) * 1000;

if (mode === 'udp') {
  const size = Number(sizeText);
  const perMs = (Number(mbitText) * 1e6) / 8 / (size + UDP_FRAME_HEADERS) / 1000;
  const sock = createSocket('udp4');
  const now = epochText ? makeClock(BigInt(epochText)) : null;
  const cls = Number(clsText ?? 0);
  const fixed = Buffer.alloc(size, 0x5a);
  let sent = 0;
  let due = 0;
  let inFlight = 0;
  const start = performance.now();
  const timer = setInterval(() => {
    const t = performance.now();
    if (t >= endAt) {
      clearInterval(timer);
      const finish = (): void => {
        if (inFlight > 0) {
          setTimeout(finish, 10);
          return;
        }
        sock.close();
        process.stdout.write(`${JSON.stringify({ sent })}\n`);
      };
      finish();
      return;
    }
    const target = Math.floor((t - start) * perMs);
    for (; due < target; due++) {
      let payload = fixed;
      if (now) {
        // Its own buffer: the send is asynchronous, the stamp differs per datagram.
        payload = Buffer.alloc(size);
        payload.writeUInt16BE(cls, 2);
        payload.writeUInt32BE(due >>> 0, 4);
        payload.writeDoubleLE(now(), STAMP_OFFSET - UDP_FRAME_HEADERS);
      }
      inFlight++;
      sock.send(payload, port, dst, (err) => {
        inFlight--;
        if (!err) sent++;
      });
    }
  }, 5);
} else if (mode === 'flood') {
  const sent = nativeAddon().udpFlood(dst, port, Number(sizeText), Number(secondsText));
  if (sent < 0) throw new Error(`flood to ${dst}:${port}: sending failed (${errnoName(sent)})`);
  process.stdout.write(`${JSON.stringify({ sent })}\n`);
} else {
  let sent = 0;
  const chunk = Buffer.alloc(64 * 1024, 0x5a);
  const sock = connect(port, dst, () => {
    const pump = () => {
      while (performance.now() < endAt) {
        sent += chunk.length;
        if (!sock.write(chunk)) return void sock.once('drain', pump);
      }
      sock.end(() => process.stdout.write(`${JSON.stringify({ sent })}\n`));
    };
    pump();
  });
}
