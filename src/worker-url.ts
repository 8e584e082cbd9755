/**
 * Where a worker entry's compiled JavaScript is. Node 20 cannot run TypeScript, so worker
 * threads always start from `dist/`; code running from compiled files finds its sibling,
 * and code running from source under vitest maps `<root>/x/y.ts` to `<root>/dist/x/y.js`
 * (`npm test` builds first).
 */
import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export function workerUrl(relativeJs: string, importMetaUrl: string): URL {
  const url = new URL(relativeJs, importMetaUrl);
  const file = fileURLToPath(url);
  if (existsSync(file)) return url;
  let root = dirname(file);
  while (!existsSync(join(root, 'package.json'))) {
    const up = dirname(root);
    if (up === root) return url;
    root = up;
  }
  return pathToFileURL(join(root, 'dist', relative(root, file)));
}
