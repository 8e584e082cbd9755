/**
 * Arbiter worker entry: reads the start message, places this thread (its CPU, its
 * priority) and says so to the host, then runs the arbiter loop on this thread until it
 * is told to stop. Commands are pulled synchronously from the port
 * (receiveMessageOnPort), so the loop never yields to the event loop.
 */
import { PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { setImmediate } from 'node:timers/promises';
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { LOOP_GC_MAX_NS, LOOP_GC_NS, LOOP_GCS, LOOP_WINDOW_FROM_MS, LOOP_WINDOW_GC_MAX_NS, LOOP_WINDOW_GCS, LOOP_WINDOW_TO_MS } from '../stats/loop-stats.js';
import { placeThisThread } from '../placement.js';
import { preciseTimedWaits } from '../shm/futex.js';
import { Arbiter, COARSE_PARKS, PRECISE_PARKS } from './arbiter.js';
import type { ArbiterStart, Reply, Request } from './control.js';

/** Bytecode bytes one optimised function may inline (V8's default: 920). */
const INLINE_BUDGET = 4000;

// The pass is one optimised function with the whole per-packet path inlined into it (admit,
// the scheduler's enqueue and dequeue, release, reap). V8's default budget for what one
// function may inline (920 bytes of bytecode) runs out inside the schedulers, whose small
// helpers then stay calls that box their double arguments (QFQ's stamps): with this
// budget QFQ decides 19% faster, DRR 15% (BENCHMARKS.md). V8's flags are the process's:
// set before this isolate compiles the loop.
setFlagsFromString(`--max-inlined-bytecode-size-cumulative=${INLINE_BUDGET}`);
const start = workerData as ArbiterStart & { port: MessagePort };
const port = start.port;
// Throws (the host's start fails with why) when the placement is refused.
const threadId = placeThisThread(start.options.placement, 'arbiter');
// It parks until its shapers' next release time: a wake-up the kernel may defer is a late packet.
const precise = preciseTimedWaits();
const arbiter = new Arbiter(
  start,
  () => receiveMessageOnPort(port)?.message as Request | undefined,
  (r: Reply) => port.postMessage(r),
  threadId,
  precise ? PRECISE_PARKS : COARSE_PARKS,
);
parentPort!.postMessage({ threadId });
// The loop never yields, so the isolate's collections are delivered once it has ended.
const collections: PerformanceEntry[] = [];
const gcObserver = new PerformanceObserver((list) => collections.push(...list.getEntries()));
gcObserver.observe({ entryTypes: ['gc'] });
arbiter.run();
// Collections are queued to the observer on one turn and handed to it on the next.
await setImmediate();
await setImmediate();
gcObserver.disconnect();
const loopWords = new Float64Array(start.loopStats);
loopWords[LOOP_GCS] = collections.length;
loopWords[LOOP_GC_NS] = collections.reduce((sum, e) => sum + e.duration * 1e6, 0);
const longestNs = (entries: PerformanceEntry[]) => entries.reduce((max, e) => Math.max(max, e.duration * 1e6), 0);
loopWords[LOOP_GC_MAX_NS] = longestNs(collections);
// An entry's startTime is on this thread's clock; the window is wall-clock time, which the process's threads share.
const [from, to] = [loopWords[LOOP_WINDOW_FROM_MS], loopWords[LOOP_WINDOW_TO_MS] || Infinity];
const inWindow = from > 0 ? collections.filter((e) => performance.timeOrigin + e.startTime >= from && performance.timeOrigin + e.startTime < to) : [];
loopWords[LOOP_WINDOW_GCS] = inWindow.length;
loopWords[LOOP_WINDOW_GC_MAX_NS] = longestNs(inWindow);
port.close();
parentPort?.close();
