/**
 * Traffic for the tests on a VM topology (src/testbed/vm-topology.ts): UDP senders in the VM
 * namespaces and a sink that counts per source address, both the benchmarks' own scripts
 * (src/bench/vm-traffic.ts, source-sink.ts), so the tests measure what the benchmark does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { vmAddress } from '../../src/testbed/vm-topology.js';

export const benchScript = (name: string) => fileURLToPath(new URL(`../../dist/src/bench/${name}.js`, import.meta.url));

/** Output lines of a helper process, one promise per line asked for. */
export function lines(child: ChildProcess): () => Promise<string> {
  const queue: string[] = [];
  const waiting: ((l: string) => void)[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => (waiting.length > 0 ? waiting.shift()!(l) : queue.push(l)));
  return () => (queue.length > 0 ? Promise.resolve(queue.shift()!) : new Promise((resolve) => waiting.push(resolve)));
}

export interface Mark {
  t: number;
  sources: Record<string, { udpPackets: number; udpBytes: number; tcpBytes: number }>;
}

/** UDP from the VM namespace `vm` to the sink at `mbit` Mbit/s; resolves to the datagrams its kernel accepted. */
export async function sendUdp(vm: string, mbit: number, size: number, seconds: number): Promise<number> {
  const c = spawn(
    'ip',
    ['netns', 'exec', vm, process.execPath, benchScript('vm-traffic'), 'udp', '10.9.0.2', '5001', String(mbit), String(size), String(seconds)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return (JSON.parse(await lines(c)()) as { sent: number }).sent;
}

/** The sink in namespace `ns`: per-VM counts, and what arrived between two marks. */
export function startSink(ns: string) {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, benchScript('source-sink'), '5001', '5002'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const next = lines(child);
  const mark = async () => {
    child.stdin!.write('mark\n');
    return JSON.parse(await next()) as Mark;
  };
  return {
    next,
    mark,
    /** Counts over the next `ms`: VM k's packets and its frame rate, Mbit/s. */
    async window(ms: number) {
      const a = await mark();
      await sleep(ms);
      const b = await mark();
      const seconds = (b.t - a.t) / 1e3;
      const delta = (k: number, f: 'udpPackets' | 'udpBytes') => (b.sources[vmAddress(k)]?.[f] ?? 0) - (a.sources[vmAddress(k)]?.[f] ?? 0);
      return { seconds, packets: (k: number) => delta(k, 'udpPackets'), mbit: (k: number) => (delta(k, 'udpBytes') * 8) / seconds / 1e6 };
    },
    quit: () => child.stdin!.write('quit\n'),
  };
}
