/**
 * The bench/ scripts' options: `--name value` (or a bare `--name` for a flag), each declared
 * once with its default and what it does. `--help` prints them. An option the script does
 * not have, or one given without its value, is refused by name with exit 2: before, each
 * script looked its options up by hand and ran on its defaults past a typo (`--second 3`)
 * or an option it never had (`--help` ran the whole egress bench).
 */
import { parseArgs } from 'node:util';

export interface BenchOption {
  /** The value when not given ('' for a flag: 'true' when given). */
  default: string;
  help: string;
  /** A bare `--name`, taking no value. */
  flag?: boolean;
}

/** `spec`'s options read from `args` (the script's own arguments); exits on --help or a bad one. */
export function benchOptions<K extends string>(usage: string, spec: Record<K, BenchOption>, args = process.argv.slice(2)): Record<K, string> {
  const names = Object.keys(spec) as K[];
  const declared = Object.fromEntries(names.map((n) => [n, { type: spec[n].flag ? ('boolean' as const) : ('string' as const) }]));
  // A value is the next argument whatever it starts with (`--daemon-flags "--arbiter-priority 50"`),
  // which parseArgs takes only when joined to its option.
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const name = args[i].startsWith('--') ? args[i].slice(2) : '';
    const takesValue = Object.hasOwn(spec, name) && !spec[name as K].flag;
    joined.push(takesValue && i + 1 < args.length ? `${args[i]}=${args[++i]}` : args[i]);
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: joined, options: { ...declared, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false }));
  } catch (e) {
    process.stderr.write(`${(e as Error).message} (--help lists the options)\n`);
    process.exit(2);
  }
  if (values.help) {
    const shown = names.map((n) => (spec[n].flag ? `--${n}` : `--${n} <value>`));
    const width = Math.max('--help'.length, ...shown.map((name) => name.length)) + 1;
    const lines = names.map((n, i) => {
      const def = spec[n].default === '' ? '' : ` (default: ${spec[n].default})`;
      return `  ${shown[i].padEnd(width)}  ${spec[n].help}${def}`;
    });
    process.stdout.write(`${usage}\n\nOptions:\n${lines.join('\n')}\n  ${'--help'.padEnd(width)}  this\n`);
    process.exit(0);
  }
  return Object.fromEntries(names.map((n) => [n, values[n] === undefined ? spec[n].default : String(values[n])])) as Record<K, string>;
}
