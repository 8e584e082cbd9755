/**
 * The uplink's far end, run inside the sink namespace:
 *   ip netns exec NS node dist/src/bench/source-sink.js UDP_PORT TCP_PORT
 * Counts, per source address, UDP datagrams and their frame bytes (+42 header bytes) and
 * TCP payload bytes. Prints 'ready' once listening; on each 'mark' line on stdin prints
 * { t, sources: { ADDR: { udpPackets, udpBytes, tcpBytes } } } (t: ms, performance.now()).
 */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { UDP_FRAME_HEADERS } from '../../traffic/packet.js';

const [udpPort, tcpPort] = process.argv.slice(2).map(Number);
const sources = new Map<string, { udpPackets: number; udpBytes: number; tcpBytes: number }>();
const of = (addr: string) => {
  let s = sources.get(addr);
  if (!s) {
    s = { udpPackets: 0, udpBytes: 0, tcpBytes: 0 };
    sources.set(addr, s);
  }
  return s;
};
const udp = createSocket({ type: 'udp4', recvBufferSize: 16 << 20 });
udp.on('message', (msg, rinfo) => {
  const s = of(rinfo.address);
  s.udpPackets++;
  s.udpBytes += msg.length + UDP_FRAME_HEADERS;
});
const tcp = createServer((c) => {
  const s = of(c.remoteAddress!.replace(/^::ffff:/, ''));
  c.on('data', (d) => (s.tcpBytes += d.length));
  c.on('error', () => {});
});
let listening = 0;
const ready = () => {
  if (++listening === 2) process.stdout.write('ready\n');
};
udp.bind(udpPort, ready);
tcp.listen(tcpPort, ready);
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'mark') process.stdout.write(`${JSON.stringify({ t: performance.now(), sources: Object.fromEntries(sources) })}\n`);
  if (line === 'quit') {
    udp.close();
    tcp.close();
    process.exit(0);
  }
});
