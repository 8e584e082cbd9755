/**
 * A VM host in network namespaces, for the egress takeover test and its benchmark: a host
 * namespace routing N "VM" namespaces (VM k: 10.1.k.2 behind the host's hvk, 10.1.k.1) to
 * an uplink veth `up0` (10.9.0.1) whose far end `up0p` (10.9.0.2) is in a sink namespace.
 * `destroy` removes every namespace (and with them every link); callers run it in a
 * finally / afterAll.
 */
import { execFileSync } from 'node:child_process';

export const UPLINK = 'up0';
export const UPLINK_PEER = 'up0p';
export const SINK_ADDR = '10.9.0.2';

export interface VmTopology {
  host: string;
  sink: string;
  vms: string[];
  /** Runs a command inside the host namespace; its stdout. */
  inHost(cmd: string, ...args: string[]): string;
  destroy(): void;
}

/** VM k's address (k from 1). */
export const vmAddress = (k: number) => `10.1.${k}.2`;

function sh(cmd: string, ...args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function createVmTopology(tag: string, vmCount: number): VmTopology {
  const id = `${tag}${process.pid % 100000}`;
  const host = `pspat-${id}h`;
  const sink = `pspat-${id}s`;
  const vms = Array.from({ length: vmCount }, (_, i) => `pspat-${id}v${i + 1}`);
  const destroy = () => {
    for (const ns of [host, sink, ...vms]) {
      try {
        sh('ip', 'netns', 'del', ns);
      } catch {
        /* not there */
      }
    }
  };
  destroy();
  try {
    for (const ns of [host, sink, ...vms]) sh('ip', 'netns', 'add', ns);
    sh('ip', 'netns', 'exec', host, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
    sh('ip', '-n', host, 'link', 'add', UPLINK, 'type', 'veth', 'peer', 'name', UPLINK_PEER, 'netns', sink);
    sh('ip', '-n', host, 'addr', 'add', '10.9.0.1/24', 'dev', UPLINK);
    sh('ip', '-n', host, 'link', 'set', UPLINK, 'up');
    sh('ip', '-n', sink, 'addr', 'add', `${SINK_ADDR}/24`, 'dev', UPLINK_PEER);
    sh('ip', '-n', sink, 'link', 'set', UPLINK_PEER, 'up');
    sh('ip', '-n', sink, 'route', 'add', '10.1.0.0/16', 'via', '10.9.0.1');
    vms.forEach((vm, i) => {
      const k = i + 1;
      sh('ip', '-n', host, 'link', 'add', `hv${k}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', vm);
      sh('ip', '-n', host, 'addr', 'add', `10.1.${k}.1/24`, 'dev', `hv${k}`);
      sh('ip', '-n', host, 'link', 'set', `hv${k}`, 'up');
      sh('ip', '-n', vm, 'addr', 'add', `${vmAddress(k)}/24`, 'dev', 'eth0');
      sh('ip', '-n', vm, 'link', 'set', 'eth0', 'up');
      sh('ip', '-n', vm, 'route', 'add', 'default', 'via', `10.1.${k}.1`);
    });
  } catch (e) {
    destroy();
    throw e;
  }
  return { host, sink, vms, inHost: (cmd, ...args) => sh('ip', 'netns', 'exec', host, cmd, ...args), destroy };
}
