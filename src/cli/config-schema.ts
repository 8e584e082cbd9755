/**
 * The configuration file's JSON Schema (draft 2020-12), made from the one declaration of
 * each daemon option — its default (the type), its flag's help (the description), its
 * choices — so it cannot drift from what the daemon takes. `pspat config schema` prints
 * it; schema/pspat-config.schema.json is the published copy (a test keeps the two equal),
 * for editors and CI linters. `checkSchema` holds a document to it before the daemon's own
 * checks (loadConfigFile), with the same one-line errors naming the field; value ranges
 * and what depends on other fields stay with those checks (options.ts).
 */
import { CAPTURE_MODES } from '../attach/capture-program.js';
import { InvalidOptionError } from '../errors.js';
import { ARBITER_WAITS, PLACEMENT_KEYS } from '../placement.js';
import { BACKENDS } from '../transmit/ports.js';
import { CONFIG_VERSION } from '../daemon/config.js';
import { DAEMON_CONFIG_KEYS, DAEMON_DEFAULTS, type DaemonOptions } from '../daemon/options.js';
import { DAEMON_FLAGS } from './flags.js';

export type Schema = {
  type?: string | string[];
  enum?: readonly (string | number)[];
  description?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  items?: Schema;
  required?: string[];
  oneOf?: Schema[];
  [key: string]: unknown;
};

/** Choices of the options that have a fixed set. */
const CHOICES: Partial<Record<keyof DaemonOptions, readonly string[]>> = {
  backend: BACKENDS,
  capture: CAPTURE_MODES,
  fail: ['open', 'closed'],
  xdpMode: ['copy', 'zerocopy', 'auto'],
  arbiterWait: ARBITER_WAITS,
};
const CPU_LIST: Schema = { oneOf: [{ type: 'array', items: { type: 'integer' } }, { type: 'string' }] };
/** The options whose values a file may write otherwise than their type: rates as tc's units, lists as one comma-separated string. */
const SPECIAL: Partial<Record<keyof DaemonOptions, Schema>> = {
  rates: { type: 'object', additionalProperties: { type: ['number', 'string'] } },
  testTraffic: {
    type: 'object',
    additionalProperties: {
      type: 'object',
      properties: { ports: { type: 'array', items: { type: 'integer' } }, size: { type: 'integer' } },
      required: ['ports'],
      additionalProperties: false,
    },
  },
  follow: { oneOf: [{ type: 'array', items: { type: 'string' } }, { type: 'string' }] },
  devices: { type: 'array', items: { type: 'string' } },
  arbiterCpus: CPU_LIST,
  clientCpus: CPU_LIST,
  txCpus: CPU_LIST,
};
const INTEGER_PLACEMENT = new Set(['arbiterPriority', 'arbiterNice', 'clientPriority', 'txPriority']);

function optionSchema(key: keyof DaemonOptions): Schema {
  const flag = DAEMON_FLAGS[key];
  const description = flag ? `${flag[0]}: ${flag[1]}` : undefined;
  const choices = CHOICES[key];
  const defaults = DAEMON_DEFAULTS as unknown as Record<string, unknown>;
  let s: Schema;
  if (choices) s = { type: 'string', enum: choices };
  else if (SPECIAL[key]) s = SPECIAL[key]!;
  else if (INTEGER_PLACEMENT.has(key)) s = { type: 'integer' };
  else {
    const d = defaults[key];
    s = { type: typeof d === 'number' ? (Number.isInteger(d) ? 'integer' : 'number') : typeof d };
  }
  return description ? { ...s, description } : s;
}

export function configSchema(): Schema {
  const keys = DAEMON_CONFIG_KEYS.filter((k, i, all) => all.indexOf(k) === i);
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'pspat daemon configuration (pspat daemon --config FILE; pspat config dump writes one)',
    type: 'object',
    required: ['version'],
    additionalProperties: false,
    properties: {
      version: { type: 'integer', enum: [CONFIG_VERSION], description: 'the file format' },
      daemon: {
        type: 'object',
        description: "the daemon's options (flags given beside --config win)",
        additionalProperties: false,
        properties: Object.fromEntries([...keys, ...PLACEMENT_KEYS.filter((k) => !keys.includes(k))].map((k) => [k, optionSchema(k)])),
      },
      devices: {
        type: 'object',
        description: 'per device, its tc commands, replayed in order (a leading "tc" is allowed)',
        additionalProperties: { type: 'array', items: { type: 'string' } },
      },
    },
  };
}

function typeOf(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function typeMatches(want: string, v: unknown): boolean {
  const t = typeOf(v);
  return want === t || (want === 'number' && t === 'integer');
}

/** "an integer", "a string": a JSON type named in an error. */
const aType = (t: string) => `${/^[aeiou]/.test(t) ? 'an' : 'a'} ${t}`;
const A = (words: string[]) => (words.length === 1 ? words[0] : words.length === 2 ? `${words[0]} or ${words[1]}` : `one of ${words.join(', ')}`);

/** What is wrong with `v` against `s`, as "FIELD: problem"; null when it holds. `field` is its path ("daemon: maxClasses"). */
function problem(s: Schema, v: unknown, field: string): [string, string] | null {
  if (s.oneOf)
    return s.oneOf.some((alt) => problem(alt, v, field) === null)
      ? null
      : [field, `must be ${A(s.oneOf.map((alt) => aType(String(alt.type))))}, got ${JSON.stringify(v)}`];
  if (s.enum && !s.enum.includes(v as string | number)) return [field, `must be ${A(s.enum.map(String))}, got ${JSON.stringify(v)}`];
  const types = s.type === undefined ? [] : Array.isArray(s.type) ? s.type : [s.type];
  if (types.length > 0 && !types.some((t) => typeMatches(t, v))) {
    // A tc line with "1: htb" in it, unquoted, is a mapping to YAML.
    const hint = types.includes('string') && typeOf(v) === 'object' ? ': quote the line (YAML reads "1: htb" as a key and a value)' : '';
    return [field, `must be ${A(types.map(aType))}, got ${JSON.stringify(v)}${hint}`];
  }
  if (typeOf(v) === 'array' && s.items) {
    for (const [i, item] of (v as unknown[]).entries()) {
      const p = problem(s.items, item, `${field}[${i}]`);
      if (p) return p;
    }
  }
  if (typeOf(v) === 'object') {
    const o = v as Record<string, unknown>;
    for (const k of s.required ?? []) if (!(k in o)) return [`${field}.${k}`.replace(/^\./, ''), 'is required'];
    for (const [k, x] of Object.entries(o)) {
      const sub = s.properties?.[k] ?? (typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined);
      const path = field === '' ? k : `${field}.${k}`;
      if (sub === undefined) {
        if (s.additionalProperties === false) return [path, `unknown field (known: ${Object.keys(s.properties ?? {}).join(', ')})`];
        continue;
      }
      const p = problem(sub, x, path);
      if (p) return p;
    }
  }
  return null;
}

/** Throws, naming the field (`FILE: daemon.fail`), where `doc` does not hold to the schema. */
export function checkSchema(doc: unknown, where: string): void {
  const p = problem(configSchema(), doc, '');
  if (p) throw new InvalidOptionError(p[0] === '' ? where : `${where}: ${p[0]}`, p[1]);
}
