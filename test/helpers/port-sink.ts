/**
 * A rate sink, run inside the sink namespace:
 *   ip netns exec NS node dist/test/helpers/port-sink.js PORTS WARMUP_MS WINDOW_MS BIN_MS
 * Listens on each UDP port (comma separated); after WARMUP_MS of traffic, counts the
 * bytes of each port's datagrams (the whole frame: +42 header bytes) for WINDOW_MS, in
 * bins of BIN_MS, then prints one JSON line { startMs, ports: { PORT: { bytes, bins: [...] } } },
 * startMs being the window's start on the wall clock (Date.now()'s scale).
 */
import { createSocket } from 'node:dgram';
import { UDP_FRAME_HEADERS } from '../../traffic/packet.js';

const [portList, warmupMs, windowMs, binMs] = process.argv.slice(2);
const ports = portList.split(',').map(Number);
const counts = new Map(ports.map((p) => [p, { bytes: 0, bins: new Array<number>(Math.ceil(Number(windowMs) / Number(binMs))).fill(0) }]));
let start = 0;
let ready = 0;
const sockets = ports.map((port) => {
  const s = createSocket({ type: 'udp4', recvBufferSize: 8 << 20 });
  s.on('message', (msg) => {
    const now = performance.now();
    if (start === 0) start = now + Number(warmupMs);
    if (now < start) return;
    const c = counts.get(port)!;
    const bin = Math.floor((now - start) / Number(binMs));
    if (bin >= c.bins.length) return;
    c.bytes += msg.length + UDP_FRAME_HEADERS;
    c.bins[bin] += msg.length + UDP_FRAME_HEADERS;
  });
  s.bind(port, () => {
    if (++ready === ports.length) process.stdout.write('ready\n');
  });
  return s;
});
const timer = setInterval(() => {
  if (start === 0 || performance.now() < start + Number(windowMs) + 50) return;
  clearInterval(timer);
  for (const s of sockets) s.close();
  process.stdout.write(`${JSON.stringify({ startMs: performance.timeOrigin + start, ports: Object.fromEntries(counts) })}\n`);
}, 20);
