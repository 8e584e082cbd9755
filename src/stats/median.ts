/** The middle of `xs` (the upper middle for an even count): what the benchmark scripts report of repeated runs. */
export function median(xs: readonly number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
}
