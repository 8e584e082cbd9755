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
    const takesValue = name in spec && !spec[name as K].flag;
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
    const width = Math.max(...names.map((n) => n.length + (spec[n].flag ? 0 : 8)));
    const lines = names.map((n) => {
      const name = spec[n].flag ? `--${n}` : `--${n} <value>`;
      const def = spec[n].default === '' ? '' : ` (default: ${spec[n].default})`;
      return `  ${name.padEnd(width + 3)}  ${spec[n].help}${def}`;
    });
    process.stdout.write(`${usage}\n\nOptions:\n${lines.join('\n')}\n  --help${' '.repeat(width - 3)}  this\n`);
    process.exit(0);
  }
  const given = (n: K): string | undefined => {
    const v = values[n];
    return v === undefined ? undefined : String(v);
  };
  return Object.fromEntries(names.map((n) => [n, given(n) ?? spec[n].default])) as Record<K, string>;
}
