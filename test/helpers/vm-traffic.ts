/**
 * A VM's traffic, run inside its network namespace:
 *   ip netns exec NS node dist/test/helpers/vm-traffic.js udp DST PORT MBIT SIZE SECONDS
 *   ip netns exec NS node dist/test/helpers/vm-traffic.js tcp DST PORT 0 0 SECONDS
 * udp: SIZE-byte datagrams at MBIT Mbit/s (frame bytes, +42 headers), in 5 ms bursts;
 * tcp: one connection written as fast as it drains. Prints one JSON line at the end:
 * { sent } — datagrams the kernel accepted, or bytes written.
 */
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';

const [mode, dst, portText, mbitText, sizeText, secondsText] = process.argv.slice(2);
const port = Number(portText);
const endAt = performance.now() + Number(secondsText) * 1000;

if (mode === 'udp') {
  const size = Number(sizeText);
  const perMs = (Number(mbitText) * 1e6) / 8 / (size + 42) / 1000;
  const sock = createSocket('udp4');
  const payload = Buffer.alloc(size, 0x5a);
  let sent = 0;
  let due = 0;
  let inFlight = 0;
  const start = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    if (now >= endAt) {
      clearInterval(timer);
      const finish = () => (inFlight === 0 ? (sock.close(), process.stdout.write(`${JSON.stringify({ sent })}\n`)) : setTimeout(finish, 10));
      finish();
      return;
    }
    const target = Math.floor((now - start) * perMs);
    for (; due < target; due++) {
      inFlight++;
      sock.send(payload, port, dst, (err) => {
        inFlight--;
        if (!err) sent++;
      });
    }
  }, 5);
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
