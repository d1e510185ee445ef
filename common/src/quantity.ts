/**
 * resource.Quantity, one parser for all of Berth (berth-kube's API server, kubelet, scheduler, admission and
 * controllers; the dashboard): kube-apiserver's grammar with its error texts, the canonical form every stored
 * quantity takes (`0.5` → `500m`, `1.5Gi` → `1536Mi`, `1000` → `1k`, `0.1m` → `1m`: rounded up to milli
 * precision, the largest suffix that keeps an integer, binary only where it stays exact), the value as a number,
 * and kubectl top's CPU and memory format. Pure (no Node API): the renderer imports it.
 */

const QUANTITY_RE = '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$';
export const QUANTITY_FORMAT_ERROR = `quantities must match the regular expression '${QUANTITY_RE}'`;
export const QUANTITY_SUFFIX_ERROR = "unable to parse quantity's suffix";

const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const DECIMAL_BY_EXP: Record<number, string> = {
  '-9': 'n',
  '-6': 'u',
  '-3': 'm',
  0: '',
  3: 'k',
  6: 'M',
  9: 'G',
  12: 'T',
  15: 'P',
  18: 'E',
};
const BINARY_SUFFIXES = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];

interface Parsed {
  negative: boolean;
  /** The digits before and after the point, as one integer. */
  digits: bigint;
  /** Power of ten applied to `digits` (minus the number of fraction digits, plus a decimal suffix's exponent). */
  exp10: number;
  /** Power of two of a binary suffix. */
  exp2: number;
  format: 'DecimalSI' | 'BinarySI' | 'DecimalExponent';
}

function parse(s: string): Parsed | string {
  if (s === '') return QUANTITY_FORMAT_ERROR;
  const m = /^([+-]?)([0-9]*)(?:\.([0-9]*))?([eEinumkKMGTP]*(?:[-+]?[0-9]*))$/.exec(s);
  if (!m) return QUANTITY_FORMAT_ERROR;
  const [, sign, whole, frac = '', suffix] = m;
  let exp10 = -frac.length;
  let exp2 = 0;
  let format: Parsed['format'] = 'DecimalSI';
  if (suffix in DECIMAL) exp10 += DECIMAL[suffix];
  else if (suffix in BINARY) {
    exp2 = BINARY[suffix];
    format = 'BinarySI';
  } else if (
    suffix.length > 1 &&
    (suffix[0] === 'e' || suffix[0] === 'E') &&
    /^[-+]?[0-9]+$/.test(suffix.slice(1))
  ) {
    exp10 += Number(suffix.slice(1));
    format = 'DecimalExponent';
  } else return QUANTITY_SUFFIX_ERROR;
  const digits = BigInt(`${whole}${frac}` || '0');
  return { negative: sign === '-', digits, exp10, exp2, format };
}

/** resource.ParseQuantity's verdict: undefined when valid, else its error text. */
export function quantityError(s: string): string | undefined {
  const p = parse(s);
  return typeof p === 'string' ? p : undefined;
}

const pow = (b: bigint, e: number): bigint => b ** BigInt(e);

/** The canonical string of a valid quantity (Quantity.String() after parsing). */
export function canonicalQuantity(s: string): string {
  const p = parse(s.trim());
  if (typeof p === 'string') return s;
  // The value in thousandths, rounded away from zero (Quantity keeps at most milli precision).
  let num = p.digits * pow(2n, p.exp2) * 1000n;
  let den = 1n;
  if (p.exp10 >= 0) num *= pow(10n, p.exp10);
  else den = pow(10n, -p.exp10);
  let milli = num / den + (num % den === 0n ? 0n : 1n);
  if (milli === 0n) return '0';
  const sign = p.negative ? '-' : '';
  let format = p.format;
  if (format === 'BinarySI') {
    const small = milli < 1024n * 1000n;
    if (small || milli % 1000n !== 0n) format = 'DecimalSI';
    else {
      const units = milli / 1000n;
      let k = 0;
      while (k < 6 && units % pow(1024n, k + 1) === 0n) k++;
      return `${sign}${units / pow(1024n, k)}${BINARY_SUFFIXES[k]}`;
    }
  }
  let exp = -3;
  while (milli % 10n === 0n && exp < 18) {
    milli /= 10n;
    exp++;
  }
  while (((exp % 3) + 3) % 3 !== 0) {
    milli *= 10n;
    exp--;
  }
  if (format === 'DecimalExponent') return `${sign}${milli}${exp === 0 ? '' : `e${exp}`}`;
  return `${sign}${milli}${DECIMAL_BY_EXP[exp]}`;
}

/**
 * The quantity's value as a number (CPU in cores, memory in bytes), rounded once from the exact decimal; throws
 * kube-apiserver's parse error naming the quantity.
 */
export function parseQuantity(q: string | number): number {
  if (typeof q === 'number') return q;
  const p = parse(q.trim());
  if (typeof p === 'string') throw new Error(`${p}: ${q}`);
  // Number() of the decimal string is correctly rounded, where digits * 10 ** exp10 rounds twice (1.5Gi).
  const v = Number(`${p.digits}e${p.exp10}`) * 2 ** p.exp2;
  return p.negative ? 0 - v : v; // 0 - v: "-0" is 0, not -0
}

/** The value, or NaN for what is not a quantity (absent, malformed): for display, where nothing throws. */
export function quantityOrNaN(q: unknown): number {
  if (typeof q === 'number') return q;
  if (typeof q !== 'string') return NaN;
  try {
    return parseQuantity(q);
  } catch {
    return NaN;
  }
}

/** CPU cores → millicores, rounded up as the kubelet's MilliValue. */
export const milliCpu = (q: string | number): number => Math.ceil(parseQuantity(q) * 1000 - 1e-9);

/** CPU cores as kubectl top prints them: millicores (`250m`); a dash for no value. */
export function formatCpu(cores: number): string {
  if (!Number.isFinite(cores)) return '—';
  return `${Math.round(cores * 1000)}m`;
}

/** Bytes in binary units as kubectl top prints them (Mi), Gi from 10 Gi on; a dash for no value. */
export function formatMemory(bytes: number): string {
  if (!Number.isFinite(bytes)) return '—';
  const gi = bytes / 2 ** 30;
  if (gi >= 10) return `${gi.toFixed(1)}Gi`;
  return `${Math.round(bytes / 2 ** 20)}Mi`;
}
