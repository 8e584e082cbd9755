#!/usr/bin/env node
// The `pspat` command. Node 20 runs compiled JavaScript: `npm ci` builds dist/.
import { existsSync } from 'node:fs';

const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  console.error('pspat: not built yet; run `npm ci` (or `npm run build`) in the pspat-ts checkout');
  process.exit(1);
}
if (process.argv[2] === 'tc') {
  // Scripts (libvirt, sqm) run tc dozens of times in a row: load only what a tc call needs.
  const { runTc } = await import(new URL('../dist/src/cli/tc-command.js', import.meta.url).href);
  process.exitCode = await runTc(process.argv.slice(3));
} else {
  const { run } = await import(main.href);
  process.exitCode = await run(process.argv);
}
