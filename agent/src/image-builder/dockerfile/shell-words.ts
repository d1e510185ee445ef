/**
 * Dockerfile variable substitution and quote removal, as the classic builder's shell lexer does it:
 * `$V`, `${V}`, `${V:-x}`, `${V-x}`, `${V:+x}`, `${V+x}`, `${V:?msg}`, single and double quotes, and the
 * escape token. Used on the arguments of ENV, LABEL, ARG, COPY, ADD, FROM, WORKDIR, USER, EXPOSE, VOLUME,
 * STOPSIGNAL (RUN/CMD/ENTRYPOINT are left to the container's shell).
 */

export class SubstitutionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SubstitutionError';
  }
}

/** Variables visible to substitution: name → value (undefined = unset). */
export type Vars = ReadonlyMap<string, string>;

/** Builds a lookup from `K=V` strings (later entries win, as in a process environment). */
export function varsFromEnv(
  env: readonly string[],
  extra?: ReadonlyMap<string, string>,
): Map<string, string> {
  const m = new Map<string, string>();
  if (extra) for (const [k, v] of extra) m.set(k, v);
  for (const kv of env) {
    const eq = kv.indexOf('=');
    if (eq > 0) m.set(kv.slice(0, eq), kv.slice(eq + 1));
    else if (eq < 0) m.set(kv, '');
  }
  return m;
}

class Scanner {
  pos = 0;
  constructor(readonly s: string) {}
  peek(): string | undefined {
    return this.pos < this.s.length ? this.s[this.pos] : undefined;
  }
  next(): string | undefined {
    return this.pos < this.s.length ? this.s[this.pos++] : undefined;
  }
}

const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;

class Lexer {
  private sc: Scanner;
  constructor(
    word: string,
    private readonly vars: Vars,
    private readonly escape: string,
  ) {
    this.sc = new Scanner(word);
  }

  /** Processes until `stop` (unquoted) or the end; `stop` is consumed. */
  run(stop?: string): string {
    let out = '';
    for (;;) {
      const ch = this.sc.peek();
      if (ch === undefined) {
        if (stop !== undefined)
          throw new SubstitutionError(`failed to process "${this.sc.s}": syntax error: missing '${stop}'`);
        return out;
      }
      if (stop !== undefined && ch === stop) {
        this.sc.next();
        return out;
      }
      if (ch === "'") out += this.singleQuoted();
      else if (ch === '"') out += this.doubleQuoted();
      else if (ch === '$') out += this.dollar();
      else if (ch === this.escape) {
        this.sc.next();
        const n = this.sc.next();
        if (n !== undefined) out += n;
      } else {
        out += ch;
        this.sc.next();
      }
    }
  }

  private singleQuoted(): string {
    this.sc.next();
    let out = '';
    for (;;) {
      const ch = this.sc.next();
      if (ch === undefined)
        throw new SubstitutionError('unexpected end of statement while looking for matching single-quote');
      if (ch === "'") return out;
      out += ch;
    }
  }

  private doubleQuoted(): string {
    this.sc.next();
    let out = '';
    for (;;) {
      const ch = this.sc.peek();
      if (ch === undefined)
        throw new SubstitutionError('unexpected end of statement while looking for matching double-quote');
      if (ch === '"') {
        this.sc.next();
        return out;
      }
      if (ch === '$') {
        out += this.dollar();
        continue;
      }
      this.sc.next();
      if (ch === this.escape) {
        const n = this.sc.peek();
        if (n === '"' || n === '$' || n === this.escape) {
          out += n;
          this.sc.next();
          continue;
        }
      }
      out += ch;
    }
  }

  private name(): string {
    let name = '';
    const first = this.sc.peek();
    if (first === undefined) return '';
    if (/[0-9]/.test(first)) {
      while (/[0-9]/.test(this.sc.peek() ?? '')) name += this.sc.next();
      return name;
    }
    if (!NAME_START.test(first)) return '';
    while (NAME_CHAR.test(this.sc.peek() ?? '')) name += this.sc.next();
    return name;
  }

  private dollar(): string {
    this.sc.next(); // '$'
    if (this.sc.peek() !== '{') {
      const name = this.name();
      if (name === '') return '$';
      return this.vars.get(name) ?? '';
    }
    this.sc.next(); // '{'
    const name = this.name();
    if (name === '') throw new SubstitutionError(`failed to process "${this.sc.s}": bad substitution`);
    const ch = this.sc.next();
    const value = this.vars.get(name);
    if (ch === '}') return value ?? '';
    if (ch === undefined)
      throw new SubstitutionError(`failed to process "${this.sc.s}": syntax error: missing '}'`);
    let colon = false;
    let op: string | undefined = ch;
    if (ch === ':') {
      colon = true;
      op = this.sc.next();
    }
    if (op === '-' || op === '+' || op === '?') {
      const word = this.run('}');
      const set = value !== undefined && (!colon || value !== '');
      if (op === '-') return set ? value : word;
      if (op === '+') return set ? word : '';
      if (!set)
        throw new SubstitutionError(
          `failed to process "${this.sc.s}": ${name}: ${word || 'is not allowed to be unset'}`,
        );
      return value;
    }
    if (colon)
      throw new SubstitutionError(
        `failed to process "${this.sc.s}": unsupported modifier (${op ?? ''}) in substitution`,
      );
    throw new SubstitutionError(`failed to process "${this.sc.s}": missing ':' in substitution`);
  }
}

/** Substitutes variables and removes quotes from one word. */
export function processWord(word: string, vars: Vars, escape = '\\'): string {
  return new Lexer(word, vars, escape).run();
}

/**
 * Splits on unquoted whitespace and processes each word (EXPOSE, VOLUME in shell form): a variable that
 * expands to several words does not split, as in the classic builder.
 */
export function processWords(text: string, vars: Vars, escape = '\\'): string[] {
  return splitWords(text, escape).map((w) => processWord(w, vars, escape));
}

/**
 * Splits a string on unquoted whitespace, keeping quotes and escapes in the words (they are processed later).
 * This is the parser's `parseWords` for ENV/LABEL/ARG.
 */
export function splitWords(text: string, escape = '\\'): string[] {
  const words: string[] = [];
  let word = '';
  let quote = '';
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (!inWord) {
      if (/\s/.test(ch)) continue;
      inWord = true;
    }
    if (quote === '' && /\s/.test(ch)) {
      words.push(word);
      word = '';
      inWord = false;
      continue;
    }
    if (ch === escape && quote !== "'") {
      word += ch;
      if (i + 1 < text.length) word += text[++i];
      continue;
    }
    if (quote === '' && (ch === '"' || ch === "'")) quote = ch;
    else if (ch === quote) quote = '';
    word += ch;
  }
  if (inWord) words.push(word);
  return words;
}
