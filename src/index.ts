/**
 * pspat-ts library entry. Roadmap: ArbiterHost (main thread) starts the arbiter worker
 * and creates links; LinkHandle connects clients and reads stats; Client (in a client
 * worker) sends packets zero-copy through its mailbox.
 */
export { ArbiterHost, LinkHandle, type ConnectOptions } from './arbiter/host.js';
export { Client } from './client/client.js';
export type { ClientChannel } from './client/channel.js';
export { PspatError, InvalidOptionError, RejectedChangeError, WorkerFailedError } from './errors.js';
export type { ArbiterOptions, LinkOptions, ClassSpec } from './options.js';
export type { LinkStats, ClassStats } from './stats/link-stats.js';
export { Histogram } from './stats/histogram.js';
export { runDemo, type DemoOptions, type DemoResult } from './demo.js';
export { schedulerKinds, findScheduler } from '../schedulers/registry.js';
export type { Scheduler, SchedulerKind, ClassParams } from '../schedulers/types.js';
