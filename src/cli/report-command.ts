/**
 * `pspat report RUN.json [MORE.json …] [--format table|json|csv|html|hgrm] [--out FILE]`:
 * renders saved runs (src/report/): percentiles per class and stage, plots in HTML,
 * HdrHistogram's percentile distribution (hgrm); two or more files put their runs side by side.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { InvalidOptionError } from '../errors.js';
import { reportHgrm } from '../report/hgrm.js';
import { reportHtml } from '../report/html.js';
import { readRunFile, type Run } from '../report/run-file.js';
import { nameRuns, reportCsv, reportJson, reportTable } from '../report/summary.js';

export const FORMATS = ['table', 'json', 'csv', 'html', 'hgrm'] as const;
export type Format = (typeof FORMATS)[number];

export function renderReport(paths: string[], format: Format): string {
  return renderRuns(
    paths.map((path) => ({ path, runs: readRunFile(path).runs })),
    format,
  );
}

/** Renders runs already read (files, or a daemon's reply). */
export function renderRuns(files: { path: string; runs: Run[] }[], format: Format): string {
  const runs = nameRuns(files);
  const json = reportJson(runs);
  switch (format) {
    case 'table':
      return `${reportTable(json)}\n`;
    case 'json':
      return `${JSON.stringify(json, null, 2)}\n`;
    case 'csv':
      return reportCsv(json);
    case 'html':
      return reportHtml(runs, json);
    case 'hgrm':
      return reportHgrm(runs);
  }
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('delay percentiles per class and stage (and plots in HTML) from RUN.json files saved with --save')
    .argument('<runs...>', 'RUN.json files; several are compared side by side')
    .option('--format <format>', `${FORMATS.join(' | ')} (default: table)`, 'table')
    .option('--out <file>', 'write to FILE instead of standard output')
    .action((paths: string[], opts: { format: string; out?: string }) => {
      if (!(FORMATS as readonly string[]).includes(opts.format)) {
        throw new InvalidOptionError('format', `must be one of ${FORMATS.join(', ')}, got '${opts.format}'`);
      }
      const text = renderReport(paths, opts.format as Format);
      if (opts.out === undefined) process.stdout.write(text);
      else {
        try {
          writeFileSync(opts.out, text);
        } catch (e) {
          throw new InvalidOptionError('out', `cannot write '${opts.out}': ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
        }
      }
    });
}
