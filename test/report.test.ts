import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { pspat as run } from './helpers/cli.js';

const pspat = (...args: string[]) => run(args);
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const A = fixture('run-a.json');
const B = fixture('run-b.json');

describe('pspat report on fixed RUN.json files', () => {
  it('prints the percentile table per run, class and stage, exactly', async () => {
    const r = await pspat('report', A, B);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        'run              class    stage  count     min     p10      p50      p90      p99    p99.9   p99.99      max',
        '---------------  -----  -------  -----  ------  ------  -------  -------  -------  -------  -------  -------',
        'drr on veth0      1:10  mailbox    600   200ns   258ns    498ns    740ns    796ns    796ns    796ns    799ns',
        'drr on veth0      1:10    queue    600   1.0µs  60.2µs  301.1µs  536.6µs  593.9µs  600.0µs  600.0µs  600.0µs',
        'drr on veth0      1:10       tx    600   5.0µs   5.0µs    5.0µs    5.0µs    5.0µs    5.0µs    5.0µs    5.0µs',
        'drr on veth0      1:20    queue    390  50.0µs  54.0µs   69.1µs   85.5µs   88.6µs   88.6µs   88.6µs   88.9µs',
        'qfq, load sweep      a      e2e    500  1.00ms  1.48ms   3.49ms   5.47ms   5.93ms   5.99ms   5.99ms   5.99ms',
        '',
      ].join('\n'),
    );
  });

  it('prints CSV in whole nanoseconds, quoting names with commas, exactly', async () => {
    const r = await pspat('report', A, B, '--format', 'csv');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        'run,class,stage,count,min_ns,p10_ns,p50_ns,p90_ns,p99_ns,p999_ns,p9999_ns,max_ns',
        'drr on veth0,1:10,mailbox,600,200,258,498,740,796,796,796,799',
        'drr on veth0,1:10,queue,600,1000,60160,301056,536576,593920,600000,600000,600000',
        'drr on veth0,1:10,tx,600,5000,5000,5000,5000,5000,5000,5000,5000',
        'drr on veth0,1:20,queue,390,50000,54016,69120,85504,88576,88576,88576,88900',
        '"qfq, load sweep",a,e2e,500,1000000,1482752,3489792,5472256,5931008,5990000,5990000,5990000',
        '',
      ].join('\n'),
    );
  });

  it("--format hgrm: HdrHistogram's percentile distribution, one block per class and stage, in microseconds", async () => {
    const r = await pspat('report', A, '--format', 'hgrm');
    expect(r.code).toBe(0);
    const blocks = r.stdout
      .trimEnd()
      .split('\n\n# ')
      .map((b, i) => (i === 0 ? b : `# ${b}`));
    expect(blocks.map((b) => b.split('\n')[0])).toEqual([
      '# run: drr on veth0; class: 1:10; stage: mailbox; values in microseconds',
      '# run: drr on veth0; class: 1:10; stage: queue; values in microseconds',
      '# run: drr on veth0; class: 1:10; stage: tx; values in microseconds',
      '# run: drr on veth0; class: 1:20; stage: queue; values in microseconds',
    ]);
    const queue = blocks[1].split('\n');
    expect(queue[1]).toBe('       Value     Percentile TotalCount 1/(1-Percentile)');
    const rows = queue
      .slice(3)
      .filter((l) => !l.startsWith('#'))
      .map((l) => l.trim().split(/\s+/).map(Number));
    // HdrHistogram's steps: 0, 10 … 50, then 55, 60 …; values and counts never fall; the last line is 100% of the samples.
    expect(rows.slice(0, 8).map((x) => x[1])).toEqual([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.55, 0.6]);
    for (let i = 1; i < rows.length; i++) expect(rows[i][0] >= rows[i - 1][0] && rows[i][2] >= rows[i - 1][2], String(i)).toBe(true);
    expect(rows.at(-1)!.slice(0, 3)).toEqual([600, 1, 600]);
    expect(rows.find((x) => x[1] === 0.5)![0]).toBeCloseTo(301.056, 3); // the p50 of the table, in µs
    expect(queue.at(-2)).toMatch(/^#\[Mean {4}= +\d+\.\d{3}, StdDeviation {3}= +\d+\.\d{3}\]$/);
    expect(queue.at(-1)).toBe('#[Max     =      600.000, Total count    =          600]');
  });

  it('--format json: { runs: [{ name, classes: [{ id, stages: { <stage>: percentiles } }] }] }, measured stages only', async () => {
    const r = await pspat('report', A, B, '--format', 'json');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out)).toEqual(['runs']);
    expect(out.runs.map((x: { name: string }) => x.name)).toEqual(['drr on veth0', 'qfq, load sweep']);
    const keys = ['count', 'min', 'p10', 'p50', 'p90', 'p99', 'p999', 'p9999', 'max'];
    for (const runOut of out.runs) {
      expect(Object.keys(runOut)).toEqual(['name', 'classes']);
      for (const c of runOut.classes) {
        expect(Object.keys(c)).toEqual(['id', 'stages']);
        for (const [stage, s] of Object.entries(c.stages)) {
          expect(['mailbox', 'queue', 'tx', 'e2e']).toContain(stage);
          expect(Object.keys(s as object)).toEqual(keys);
          const v = s as Record<string, number>;
          // Percentiles are ordered and inside [min, max].
          const ordered = [v.min, v.p10, v.p50, v.p90, v.p99, v.p999, v.p9999, v.max];
          expect(ordered).toEqual([...ordered].sort((a, b) => a - b));
        }
      }
    }
    expect(Object.keys(out.runs[0].classes[1].stages)).toEqual(['queue']);
    expect(out.runs[0].classes[0].stages.queue).toEqual({
      count: 600,
      min: 1000,
      p10: 60160,
      p50: 301056,
      p90: 536576,
      p99: 593920,
      p999: 600000,
      p9999: 600000,
      max: 600000,
    });
  });

  it('names runs apart when two files hold runs of one name', async () => {
    const r = await pspat('report', A, A, '--format', 'json');
    expect(JSON.parse(r.stdout).runs.map((x: { name: string }) => x.name)).toEqual([`drr on veth0 (${A})`, `drr on veth0 (${A}) #2`]);
  });

  it('--out writes the file; a bad format or a bad file is one line naming it, exit 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pspat-report-'));
    const out = join(dir, 'r.csv');
    expect((await pspat('report', A, '--format', 'csv', '--out', out)).stdout).toBe('');
    expect(readFileSync(out, 'utf8')).toMatch(/^run,class,stage,count/);

    const bad = await pspat('report', A, '--format', 'pdf');
    expect([bad.code, bad.stderr]).toEqual([1, "pspat: format: must be one of table, json, csv, html, hgrm, got 'pdf'\n"]);

    const missing = await pspat('report', join(dir, 'nope.json'));
    expect([missing.code, missing.stderr]).toEqual([1, `pspat: ${join(dir, 'nope.json')}: cannot read: ENOENT\n`]);

    const doc = JSON.parse(readFileSync(A, 'utf8'));
    doc.runs[0].classes[1].stages.queue.count = 391;
    const corrupt = join(dir, 'corrupt.json');
    writeFileSync(corrupt, JSON.stringify(doc));
    const r = await pspat('report', corrupt);
    expect([r.code, r.stderr]).toEqual([1, `pspat: ${corrupt}: runs[0].classes[1].stages.queue: count 391 is not the sum of the bucket counts (390)\n`]);

    writeFileSync(corrupt, JSON.stringify({ ...doc, format: 'other/2' }));
    expect((await pspat('report', corrupt)).stderr).toBe(`pspat: ${corrupt}: format: must be 'pspat-run/1', got "other/2"\n`);
  });
});

describe('RUN.json from the demo and the simulator', () => {
  it('demo --stage-sample N: the run says its stage histograms hold 1 packet in N, and every report form says so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pspat-report-'));
    const file = join(dir, 'demo.json');
    expect((await pspat('demo', '--seconds', '0.3', '--warmup', '0.1', '--stage-sample', '4', '--save', file, '--json')).code).toBe(0);
    const saved = JSON.parse(readFileSync(file, 'utf8'));
    expect(saved.runs[0].stageSample).toBe(4);
    const note = 'demo drr: stage delays (mailbox, queue, tx) sampled: 1 packet in 4 per class, so their counts are samples';
    expect((await pspat('report', file)).stdout.trimEnd().split('\n').at(-1)).toBe(note);
    expect(JSON.parse((await pspat('report', file, '--format', 'json')).stdout).runs[0].stageSample).toBe(4);
    expect((await pspat('report', file, '--format', 'html')).stdout).toContain(`<p>${note}</p>`);
    // A run without sampling says nothing of it.
    expect((await pspat('report', A)).stdout).not.toContain('sampled');
    saved.runs[0].stageSample = 0;
    writeFileSync(file, JSON.stringify(saved));
    expect((await pspat('report', file)).stderr).toBe(`pspat: ${file}: runs[0].stageSample: must be an integer ≥ 1\n`);
  });

  it('demo --save: per class mailbox, queue and tx histograms and a throughput series the report reads', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pspat-report-'));
    const file = join(dir, 'demo.json');
    const r = await pspat('demo', '--seconds', '0.5', '--warmup', '0.1', '--save', file, '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).not.toHaveProperty('run');
    const saved = JSON.parse(readFileSync(file, 'utf8'));
    const demoRun = saved.runs[0];
    expect(demoRun.kind).toBe('demo');
    expect(demoRun.classes.map((c: { id: string }) => c.id)).toEqual(['0', '1', '2', '3']);
    for (const c of demoRun.classes) {
      expect(Object.keys(c.stages)).toEqual(['mailbox', 'queue', 'tx']);
      // Every packet sent was timed at every stage; more were drained than sent (queue-limit drops).
      expect(c.stages.tx.count).toBe(c.stages.queue.count);
      expect(c.stages.mailbox.count).toBeGreaterThanOrEqual(c.stages.queue.count);
    }
    // 0.5 s in 100 ms ticks, the first tick a baseline: 4 intervals.
    for (const s of demoRun.series.classes) expect(s.bytes).toHaveLength(4);
    const rep = await pspat('report', file, '--format', 'json');
    expect(rep.code).toBe(0);
    expect(JSON.parse(rep.stdout).runs[0].classes[3].stages.queue.count).toBe(demoRun.classes[3].stages.queue.count);
  });

  it('sim --save --sweep: one run per scheduler, queue/tx/e2e per flow, delay rising with load', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pspat-report-'));
    const file = join(dir, 'sim.json');
    const example = fileURLToPath(new URL('../examples/load-sweep.yaml', import.meta.url));
    const r = await pspat('sim', '--compare', 'drr,qfq', '--workload', example, '--sweep', '0.3,0.9', '--save', file, '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).results[0].flows[0]).not.toHaveProperty('stages');
    const saved = JSON.parse(readFileSync(file, 'utf8'));
    expect(saved.runs.map((x: { name: string }) => x.name)).toEqual(['sim drr on load-sweep', 'sim qfq on load-sweep']);
    for (const simRun of saved.runs) {
      expect(simRun.sweep.map((p: { load: number }) => p.load)).toEqual([0.3, 0.9]);
      for (const c of simRun.classes) expect(Object.keys(c.stages)).toEqual(['queue', 'tx', 'e2e']);
    }
    const rep = JSON.parse((await pspat('report', file, '--format', 'json')).stdout);
    expect(rep.runs).toHaveLength(2);
    // The sweep's delays: the bulk flow waits longer at 90% load than at 30%.
    const { Histogram } = await import('../src/stats/histogram.js');
    const p99 = (k: number) => Histogram.fromJSON(saved.runs[0].sweep[k].classes[2].stages.e2e).quantile(0.99);
    expect(p99(1)).toBeGreaterThan(2 * p99(0));

    const refused = await pspat('sim', '--scheduler', 'drr', '--workload', 'equal', '--sweep', '0.5');
    expect([refused.code, refused.stderr]).toEqual([1, "pspat: sweep: flow 'f-0' is saturating: a load sweep needs cbr, poisson or onoff arrivals\n"]);
    expect((await pspat('sim', '--scheduler', 'drr', '--workload', example, '--sweep', '0,3')).stderr).toBe(
      "pspat: sweep: loads must be fractions of the link rate in (0, 2], comma separated, got '0,3'\n",
    );
  });
});
