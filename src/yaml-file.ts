/** Reads a YAML (or JSON: YAML parses it too) file; a missing file or bad syntax is one InvalidOptionError under `field`. */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { InvalidOptionError } from './errors.js';

export function readYamlFile(path: string, field: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new InvalidOptionError(field, `cannot read '${path}': ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  try {
    return parseYaml(text);
  } catch (e) {
    // The parser's message continues with a drawing of the line; the first line says it.
    throw new InvalidOptionError(field, `${path}: ${String((e as Error).message).split('\n')[0]}`);
  }
}
