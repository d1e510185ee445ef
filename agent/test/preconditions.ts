/** What a test needs from the host: outside CI a missing precondition skips with the reason printed; under
 *  CI=true it fails, since CI's machine is set up to have everything. */
export const IS_ROOT = process.getuid?.() === 0;

/** The reason to skip (printed), or false when `ok`. Throws under CI instead of returning a reason. */
export function unmet(ok: boolean, why: string): string | false {
  if (ok) return false;
  if (process.env.CI === 'true') throw new Error(`required under CI: ${why}`);
  console.log(`# skipped: ${why}`);
  return why;
}
