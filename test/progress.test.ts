import { describe, expect, it } from 'vitest';
import { progressBar } from '../src/cli/progress.js';

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, write: (s: string) => writes.push(s) } as unknown as NodeJS.WriteStream & { fd: 2 } };
}

describe('progress bar', () => {
  it('draws on a terminal, throttled, and clears its line when done', () => {
    const { writes, stream } = fakeStream(true);
    const bar = progressBar('sim', { stream });
    bar.update(0.5);
    bar.update(0.6); // within 100 ms of the last draw: skipped
    bar.update(1); // the end always draws
    bar.done();
    expect(writes[0]).toBe(`\rsim [${'#'.repeat(15)}${'.'.repeat(15)}] 50%`);
    expect(writes[1]).toBe(`\rsim [${'#'.repeat(30)}] 100%`);
    expect(writes[2]).toMatch(/^\r +\r$/);
    expect(writes).toHaveLength(3);
  });

  it('stays quiet when the stream is not a terminal, or with --json', () => {
    for (const [isTTY, json] of [
      [false, false],
      [true, true],
    ]) {
      const { writes, stream } = fakeStream(isTTY);
      const bar = progressBar('demo', { stream, json });
      bar.update(0.5);
      bar.done();
      expect(writes).toEqual([]);
    }
  });
});
