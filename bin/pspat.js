#!/usr/bin/env node
// The `pspat` command. Node 20 runs compiled JavaScript: `npm ci` builds dist/.
import { existsSync } from 'node:fs';

const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  console.error('pspat: not built yet; run `npm ci` (or `npm run build`) in the pspat-ts checkout');
  process.exit(1);
}
const { run } = await import(main.href);
process.exitCode = await run(process.argv);
