/**
 * Reads a YAML (or JSON: YAML parses it too) file; a missing file, one that is not a
 * regular file or over MAX_YAML_BYTES, or bad syntax is one InvalidOptionError under `field`.
 */
import { fileError, readInputFile } from './files.js';
import { parse as parseYaml } from 'yaml';
import { InvalidOptionError } from './errors.js';

/** Configuration and workload files are small: this is far above any real one. */
export const MAX_YAML_BYTES = 16 << 20;

export function readYamlFile(path: string, field: string): unknown {
  let text: string;
  try {
    text = readInputFile(path, MAX_YAML_BYTES);
  } catch (e) {
    throw new InvalidOptionError(field, `cannot read '${path}': ${fileError(e)}`);
  }
  try {
    return parseYaml(text);
  } catch (e) {
    // The parser's message continues with a drawing of the line; the first line says it.
    throw new InvalidOptionError(field, `${path}: ${String((e as Error).message).split('\n')[0]}`);
  }
}
