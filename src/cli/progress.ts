/**
 * A one-line progress bar on stderr for long operations. Drawn only when stderr is a
 * terminal and the output is not JSON, so pipes, logs and `--json` stay clean.
 */
const WIDTH = 30;

export interface Progress {
  /** Sets the done fraction (0..1); redraws at most every 100 ms. */
  update(fraction: number): void;
  /** Clears the line. */
  done(): void;
}

const SILENT: Progress = { update: () => {}, done: () => {} };

export function progressBar(label: string, { json = false, stream = process.stderr } = {}): Progress {
  if (json || !stream.isTTY) return SILENT;
  let drawnAt = 0;
  return {
    update(fraction) {
      const now = Date.now();
      if (now - drawnAt < 100 && fraction < 1) return;
      drawnAt = now;
      const f = Math.min(1, Math.max(0, fraction));
      const fill = Math.round(f * WIDTH);
      stream.write(`\r${label} [${'#'.repeat(fill)}${'.'.repeat(WIDTH - fill)}] ${Math.round(f * 100)}%`);
    },
    done() {
      stream.write(`\r${' '.repeat(label.length + WIDTH + 8)}\r`);
    },
  };
}
