/**
 * The README stays true: every `pspat …` command line it shows (in code blocks and inline
 * code) uses only flags the command has, as its --help lists them. `pspat tc` takes tc's
 * own arguments and is left out.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { pspat } from './helpers/cli.js';

const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
/** Subcommands with commands of their own: `pspat bench e2e`, `pspat config dump`. */
const NESTED: Record<string, string[]> = { bench: ['e2e', 'arbiter'], config: ['dump', 'validate'] };
const COMMANDS = ['demo', 'sim', 'report', 'stats', 'recover', 'daemon', 'bench', 'config'];

/** Each `pspat CMD [SUB] args` the README shows, as [command words, flags used]. */
function commandLines(): [string[], string[]][] {
  const snippets = [...readme.matchAll(/```[a-z]*\n([\s\S]*?)```/g)]
    .flatMap((m) => m[1].split('\n'))
    .concat([...readme.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]));
  const out: [string[], string[]][] = [];
  for (const s of snippets) {
    for (const m of s.matchAll(/\bpspat ([a-z]+)((?: [^#|&]*)?)/g)) {
      if (!COMMANDS.includes(m[1])) continue;
      let rest = m[2].trim().split(/\s+/);
      const words = [m[1]];
      if (NESTED[m[1]] && NESTED[m[1]].includes(rest[0])) words.push(rest.shift()!);
      rest = rest.filter((w) => /^--[a-z]/.test(w)).map((w) => w.replace(/[=,].*$/, ''));
      out.push([words, rest]);
    }
  }
  return out;
}

describe('README command lines', () => {
  it('use only flags their command has', async () => {
    const lines = commandLines();
    expect(lines.length).toBeGreaterThan(15);
    const help = new Map<string, string>();
    const missing: string[] = [];
    for (const [words, flags] of lines) {
      const key = words.join(' ');
      if (!help.has(key)) help.set(key, (await pspat([...words, '--help'])).stdout);
      for (const f of flags) if (!new RegExp(`^\\s+(-\\w, )?${f}\\b`, 'm').test(help.get(key)!)) missing.push(`pspat ${key} ${f}`);
    }
    expect(missing).toEqual([]);
  }, 60_000);
});
