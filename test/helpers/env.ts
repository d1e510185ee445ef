/** Skips are allowed only outside CI, with the reason printed; under CI=true a missing capability fails. */
import type { TestContext } from 'node:test';

export const IN_CI = process.env.CI === 'true';

/** Returns a reason to skip, or undefined. Under CI this throws instead, so the test fails loudly. */
export function requirement(ok: boolean, reason: string): string | undefined {
  if (ok) return undefined;
  if (IN_CI) throw new Error(`required under CI: ${reason}`);
  console.log(`# skipped: ${reason}`);
  return reason;
}

export function skipUnless(t: TestContext, ok: boolean, reason: string): boolean {
  const why = requirement(ok, reason);
  if (why) t.skip(why);
  return why !== undefined;
}

export const IS_ROOT = process.getuid?.() === 0;
