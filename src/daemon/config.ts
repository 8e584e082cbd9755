/**
 * The daemon's configuration file (YAML or JSON), loaded by `pspat daemon --config` and
 * written by `pspat config dump`:
 *
 *   version: 1
 *   daemon:                      # optional; flags on the command line win
 *     backend: afxdp
 *     rates: { eth0: 1gbit }
 *     maxClasses: 1024
 *   devices:
 *     eth0:                      # tc commands, replayed in order (a leading "tc" is allowed)
 *       - qdisc add dev eth0 root handle 1: htb default 30
 *       - class add dev eth0 parent 1: classid 1:1 htb rate 100mbit
 *
 * Errors name the path of the bad field (`devices.eth0[1]: Illegal "rate"`).
 */
import { InvalidOptionError } from '../errors.js';
import { parseRate } from '../units.js';
import { readYamlFile } from '../yaml-file.js';
import { parseCpuList } from '../placement.js';
import { DAEMON_CONFIG_KEYS, resolveDaemonOptions, type DaemonOptions } from './options.js';

export const CONFIG_VERSION = 1;

export interface DaemonConfig {
  daemon: DaemonOptions;
  devices: Record<string, string[][]>;
}

function fail(field: string, detail: string): never {
  throw new InvalidOptionError(field, detail);
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function parseConfig(doc: unknown, where: string): DaemonConfig {
  if (!isMapping(doc)) fail(where, 'must be a mapping with version, daemon and devices');
  for (const k of Object.keys(doc))
    if (!['version', 'daemon', 'devices'].includes(k)) fail(`${where}: ${k}`, 'unknown field (known: version, daemon, devices)');
  if (doc.version !== CONFIG_VERSION) fail(`${where}: version`, `must be ${CONFIG_VERSION}, got ${JSON.stringify(doc.version)}`);
  const daemon: DaemonOptions = {};
  if (doc.daemon !== undefined) {
    if (!isMapping(doc.daemon)) fail(`${where}: daemon`, 'must be a mapping');
    for (const [k, v] of Object.entries(doc.daemon)) {
      if (!(DAEMON_CONFIG_KEYS as readonly string[]).includes(k)) fail(`${where}: daemon.${k}`, `unknown field (known: ${DAEMON_CONFIG_KEYS.join(', ')})`);
      if (k === 'rates') {
        if (!isMapping(v)) fail(`${where}: daemon.rates`, 'must map devices to rates');
        daemon.rates = Object.fromEntries(
          Object.entries(v).map(([dev, r]) => [dev, typeof r === 'number' ? r : parseRate(String(r), `${where}: daemon.rates.${dev}`)]),
        );
      } else if (k === 'follow' && typeof v === 'string') {
        daemon.follow = v.split(',').map((d) => d.trim());
      } else if (k.endsWith('Cpus') && typeof v === 'string') {
        (daemon as Record<string, unknown>)[k] = parseCpuList(v, `${where}: daemon.${k}`);
      } else (daemon as Record<string, unknown>)[k] = v;
    }
  }
  const devices: Record<string, string[][]> = {};
  if (doc.devices !== undefined) {
    if (!isMapping(doc.devices)) fail(`${where}: devices`, 'must map device names to lists of tc commands');
    for (const [dev, cmds] of Object.entries(doc.devices)) {
      if (!Array.isArray(cmds)) fail(`${where}: devices.${dev}`, 'must be a list of tc commands');
      devices[dev] = cmds.map((c, i) => {
        if (isMapping(c))
          fail(`${where}: devices.${dev}[${i}]`, `must be a tc command line, got a mapping: quote the line (YAML reads "1: htb" as a key and a value)`);
        if (typeof c !== 'string' || c.trim() === '') fail(`${where}: devices.${dev}[${i}]`, `must be a tc command line, got ${JSON.stringify(c)}`);
        const words = c.trim().split(/\s+/);
        return words[0] === 'tc' ? words.slice(1) : words;
      });
    }
  }
  try {
    resolveDaemonOptions(daemon);
  } catch (e) {
    if (e instanceof InvalidOptionError) fail(`${where}: daemon: ${e.field}`, e.message.slice(e.field.length + 2));
    throw e;
  }
  return { daemon, devices };
}

/** Reads `path` and parses it; `check` (the CLI's JSON Schema, src/cli/config-schema.ts) sees the document first. */
export function loadConfigFile(path: string, check?: (doc: unknown, where: string) => void): DaemonConfig {
  const doc = readYamlFile(path, 'config');
  check?.(doc, path);
  return parseConfig(doc, path);
}
