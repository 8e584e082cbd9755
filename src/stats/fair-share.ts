/**
 * Weighted max-min fair allocation ("water filling"): the ideal split of `capacity`
 * among flows with `demands` and `weights`. A flow never gets more than it asks for; what
 * a flow leaves unused is shared among the rest in proportion to weight. This is what a
 * fair-queueing scheduler should converge to, whether or not the link is saturated.
 */
export function maxMinFairShares(demands: number[], weights: number[], capacity: number): number[] {
  const alloc = demands.map(() => 0);
  let active = demands.map((_, i) => i).filter((i) => demands[i] > 0 && weights[i] > 0);
  let left = capacity;
  while (active.length > 0 && left > 1e-9 * capacity) {
    const wsum = active.reduce((a, i) => a + weights[i], 0);
    // Flows whose remaining demand is below their weighted slice are satisfied now.
    const satisfied = active.filter((i) => demands[i] - alloc[i] <= (left * weights[i]) / wsum);
    if (satisfied.length === 0) {
      for (const i of active) alloc[i] += (left * weights[i]) / wsum;
      break;
    }
    for (const i of satisfied) {
      left -= demands[i] - alloc[i];
      alloc[i] = demands[i];
    }
    active = active.filter((i) => !satisfied.includes(i));
  }
  return alloc;
}
