/**
 * A sink for test packets, run inside the sink network namespace:
 *   ip netns exec NS node dist/test/helpers/udp-sink.js PORT EXPECTED TIMEOUT_MS
 * Receives UDP datagrams on PORT until EXPECTED arrived or TIMEOUT_MS of silence, then
 * prints one JSON line: count, per-class counts and bytes (arrival order kept as a class
 * list), and how many payloads failed the byte check. The datagram is the frame from
 * the UDP payload on, so frame offsets shift by the 42 header bytes.
 */
import { createSocket } from 'node:dgram';
import { UDP_FRAME_HEADERS, payloadIntact } from '../../traffic/packet.js';

const [port, expected, quietMs] = process.argv.slice(2).map(Number);
const sock = createSocket({ type: 'udp4', recvBufferSize: 8 << 20 });
const order: number[] = [];
const frameBytes: number[] = [];
let corrupt = 0;
let timer: NodeJS.Timeout | undefined;

function finish(): void {
  sock.close();
  process.stdout.write(`${JSON.stringify({ count: order.length, order, frameBytes, corrupt })}\n`);
}

sock.on('message', (msg) => {
  // Rebuild the frame view: 42 bytes of Ethernet/IP/UDP headers precede the datagram.
  const frame = new Uint8Array(UDP_FRAME_HEADERS + msg.length);
  frame.set(msg, UDP_FRAME_HEADERS);
  const cls = (msg[2] << 8) | msg[3];
  const seq = ((msg[4] << 24) | (msg[5] << 16) | (msg[6] << 8) | msg[7]) >>> 0;
  if (!payloadIntact(frame, seq)) corrupt++;
  order.push(cls);
  frameBytes.push(frame.length);
  clearTimeout(timer);
  if (order.length >= expected) finish();
  else timer = setTimeout(finish, quietMs);
});
sock.bind(port, () => {
  process.stdout.write('ready\n');
  timer = setTimeout(finish, quietMs * 4);
});
