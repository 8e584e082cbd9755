/**
 * Tests that need network namespaces (src/testbed/netns.ts) skip with a stated reason when not root, unless
 * PSPAT_REQUIRE_NET=1 (CI), which turns the skip into a failure.
 */
export const NET_REASON = process.getuid?.() === 0 ? null : 'network-namespace tests need root (CAP_NET_ADMIN)';

/** Call at the top of a describe: returns true when the tests must be skipped. */
export function skipWithoutNet(): boolean {
  if (NET_REASON === null) return false;
  if (process.env.PSPAT_REQUIRE_NET === '1') throw new Error(`PSPAT_REQUIRE_NET=1 but ${NET_REASON}`);
  console.warn(`skipping: ${NET_REASON}`);
  return true;
}
