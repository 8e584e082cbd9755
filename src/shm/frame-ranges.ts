/**
 * Which frames of the pool no client owns: sorted, merged ranges, handed out first fit.
 * A client's frames are one range (its free ring is filled with them); they come back
 * when its link is removed, so a daemon that takes devices over and gives them back for
 * months (libvirt adds and deletes a VM's qdisc with the VM) does not run its pool dry.
 */
export class FrameRanges {
  /** [first, count] pairs, sorted by first, never adjacent (merged). */
  private readonly ranges: [number, number][];

  constructor(frames: number) {
    this.ranges = frames > 0 ? [[0, frames]] : [];
  }

  /** Frames not handed out. */
  get free(): number {
    return this.ranges.reduce((a, [, n]) => a + n, 0);
  }

  /** The largest range that could be taken now. */
  get largest(): number {
    return this.ranges.reduce((a, [, n]) => Math.max(a, n), 0);
  }

  /** The first frame of `count` contiguous frames now owned by the caller, or −1 if no range is that long. */
  take(count: number): number {
    const i = this.ranges.findIndex(([, n]) => n >= count);
    if (i < 0) return -1;
    const [first, n] = this.ranges[i];
    if (n === count) this.ranges.splice(i, 1);
    else this.ranges[i] = [first + count, n - count];
    return first;
  }

  /** Returns frames `[first, first + count)`, which `take` handed out. */
  give(first: number, count: number): void {
    let i = this.ranges.findIndex(([f]) => f > first);
    if (i < 0) i = this.ranges.length;
    const prev = this.ranges[i - 1];
    const next = this.ranges[i];
    if ((prev && prev[0] + prev[1] > first) || (next && first + count > next[0]))
      throw new RangeError(`frames ${first}..${first + count - 1} are not all handed out`);
    if (prev && prev[0] + prev[1] === first) {
      prev[1] += count;
      if (next && prev[0] + prev[1] === next[0]) {
        prev[1] += next[1];
        this.ranges.splice(i, 1);
      }
    } else if (next && first + count === next[0]) {
      this.ranges[i] = [first, count + next[1]];
    } else {
      this.ranges.splice(i, 0, [first, count]);
    }
  }
}
