/**
 * Terminal colours in log lines: SGR escape sequences (`ESC[...m`) become styled segments; every other
 * control sequence (cursor moves, erase, OSC titles) is dropped rather than shown as `[2K` garbage. The style
 * carries across lines, as in a terminal, so a colour opened on one line and reset on a later one holds.
 */
export interface AnsiStyle {
  /** 0-15: the theme's palette (CSS class); a string: an exact colour from 256-colour or truecolour codes. */
  fg?: number | string;
  bg?: number | string;
  bold?: boolean;
  dim?: boolean;
  italic?: boolean;
  underline?: boolean;
  inverse?: boolean;
}

export interface AnsiSegment {
  text: string;
  style: AnsiStyle;
}

/** The xterm 256-colour cube and grey ramp above the 16 palette colours. */
export function color256(n: number): string | number {
  if (n < 16) return n;
  if (n >= 232) {
    const v = 8 + (n - 232) * 10;
    return `rgb(${v}, ${v}, ${v})`;
  }
  const i = n - 16;
  const level = (x: number) => (x === 0 ? 0 : 55 + x * 40);
  return `rgb(${level(Math.floor(i / 36))}, ${level(Math.floor(i / 6) % 6)}, ${level(i % 6)})`;
}

/** Applies one SGR parameter list to `s` (mutated). */
function applySgr(s: AnsiStyle, params: number[]): void {
  if (params.length === 0) params = [0];
  for (let i = 0; i < params.length; i++) {
    const p = params[i];
    if (p === 0) {
      for (const k of Object.keys(s)) delete s[k as keyof AnsiStyle];
    } else if (p === 1) s.bold = true;
    else if (p === 2) s.dim = true;
    else if (p === 3) s.italic = true;
    else if (p === 4) s.underline = true;
    else if (p === 7) s.inverse = true;
    else if (p === 22) {
      delete s.bold;
      delete s.dim;
    } else if (p === 23) delete s.italic;
    else if (p === 24) delete s.underline;
    else if (p === 27) delete s.inverse;
    else if (p >= 30 && p <= 37) s.fg = p - 30;
    else if (p >= 90 && p <= 97) s.fg = p - 90 + 8;
    else if (p === 39) delete s.fg;
    else if (p >= 40 && p <= 47) s.bg = p - 40;
    else if (p >= 100 && p <= 107) s.bg = p - 100 + 8;
    else if (p === 49) delete s.bg;
    else if (p === 38 || p === 48) {
      const key = p === 38 ? 'fg' : 'bg';
      if (params[i + 1] === 5 && params[i + 2] !== undefined) {
        s[key] = color256(params[i + 2]);
        i += 2;
      } else if (params[i + 1] === 2 && params[i + 4] !== undefined) {
        s[key] = `rgb(${params[i + 2]}, ${params[i + 3]}, ${params[i + 4]})`;
        i += 4;
      } else i = params.length; // malformed: ignore the rest, as terminals do
    }
  }
}

// CSI (ESC [ params final), OSC (ESC ] ... BEL or ESC \), other two-byte escapes, and C0 controls but tab.

const ESCAPES =
  /\x1b\[([0-9;:?]*)([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]|[\x00-\x08\x0b-\x1f\x7f]/g;

/**
 * Splits a line into styled segments. `state` is the style in effect when the line starts; it is updated to
 * the style in effect at its end. A carriage return inside the line keeps only what was written after it
 * (progress bars redraw themselves that way).
 */
export function parseAnsi(line: string, state: AnsiStyle = {}): AnsiSegment[] {
  const cr = line.lastIndexOf('\r');
  if (cr >= 0 && cr < line.length - 1) line = line.slice(cr + 1);
  const out: AnsiSegment[] = [];
  let last = 0;
  const push = (text: string) => {
    if (!text) return;
    const prev = out.at(-1);
    if (prev && JSON.stringify(prev.style) === JSON.stringify(state)) prev.text += text;
    else out.push({ text, style: { ...state } });
  };
  for (const m of line.matchAll(ESCAPES)) {
    push(line.slice(last, m.index));
    last = m.index + m[0].length;
    if (m[2] === 'm')
      applySgr(
        state,
        (m[1] ?? '')
          .split(/[;:]/)
          .filter((x) => x !== '')
          .map(Number)
          .filter(Number.isFinite),
      );
  }
  push(line.slice(last));
  return out;
}

/** Whether a line has any escape or control to interpret (most log lines have none: the fast path). */
export function hasAnsi(line: string): boolean {
  return /[\x00-\x08\x0b-\x1f\x7f]/.test(line);
}
