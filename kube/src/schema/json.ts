/**
 * A JSON reader that keeps what JSON.parse throws away: objects with repeated keys. kube-apiserver's decoder
 * (sigs.k8s.io/json) reports `duplicate field "spec.replicas"` in Strict and Warn modes, so the duplicates must
 * survive parsing. Values come out as JSON.parse makes them (the last duplicate wins); an object that had duplicate
 * keys also gets its full member list in `members`, in source order, for the schema walk to replay as Go's decoder
 * does. Syntax errors use Go's encoding/json wording, because kube-apiserver's messages embed them.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export interface ParsedJson {
  value: JsonValue;
  /** Every member, duplicates included, of the objects that had duplicate keys. */
  members: WeakMap<object, Array<[string, JsonValue]>>;
}

/** A syntax error worded as Go's encoding/json (`invalid character 'x' looking for beginning of value`). */
export class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
    this.name = 'JsonSyntaxError';
  }
}

/** Go's quoteChar: how encoding/json prints the offending character. */
function quoteChar(c: string): string {
  if (c === "'") return `'\\''`;
  if (c === '"') return `'"'`;
  const q = JSON.stringify(c);
  return `'${q.slice(1, -1)}'`;
}

const ESCAPES: Record<string, string> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

export function parseJson(text: string): ParsedJson {
  return new Reader(text).document();
}

class Reader {
  private i = 0;
  private readonly members = new WeakMap<object, Array<[string, JsonValue]>>();

  constructor(private readonly s: string) {}

  document(): ParsedJson {
    this.ws();
    const value = this.value('looking for beginning of value');
    this.ws();
    if (this.i < this.s.length) this.fail('after top-level value');
    return { value, members: this.members };
  }

  private fail(context: string): never {
    if (this.i >= this.s.length) throw new JsonSyntaxError('unexpected end of JSON input', this.i);
    const c = String.fromCodePoint(this.s.codePointAt(this.i) ?? 0);
    throw new JsonSyntaxError(`invalid character ${quoteChar(c)} ${context}`, this.i);
  }

  private ws(): void {
    const s = this.s;
    let i = this.i;
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === 32 || c === 10 || c === 13 || c === 9) i++;
      else break;
    }
    this.i = i;
  }

  private value(context: string): JsonValue {
    const c = this.s[this.i];
    switch (c) {
      case '{':
        return this.object();
      case '[':
        return this.array();
      case '"':
        return this.string();
      case 't':
        return this.literal('true', true);
      case 'f':
        return this.literal('false', false);
      case 'n':
        return this.literal('null', null);
      default:
        if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
        return this.fail(context);
    }
  }

  private literal<T extends JsonValue>(word: string, v: T): T {
    for (let k = 1; k < word.length; k++) {
      this.i++;
      if (this.s[this.i] !== word[k]) this.fail(`in literal ${word} (expecting ${quoteChar(word[k])})`);
    }
    this.i++;
    return v;
  }

  private number(): number {
    const s = this.s;
    const start = this.i;
    if (s[this.i] === '-') this.i++;
    const digit = (): boolean => s[this.i] !== undefined && s[this.i] >= '0' && s[this.i] <= '9';
    if (s[this.i] === '0') this.i++;
    else if (digit()) while (digit()) this.i++;
    else this.fail('in numeric literal');
    if (s[this.i] === '.') {
      this.i++;
      if (!digit()) this.fail('after decimal point in numeric literal');
      while (digit()) this.i++;
    }
    if (s[this.i] === 'e' || s[this.i] === 'E') {
      this.i++;
      if (s[this.i] === '+' || s[this.i] === '-') this.i++;
      if (!digit()) this.fail('in exponent of numeric literal');
      while (digit()) this.i++;
    }
    return Number(s.slice(start, this.i));
  }

  private string(): string {
    const s = this.s;
    const start = ++this.i;
    let i = start;
    // Fast path: no escapes.
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === 34) {
        this.i = i + 1;
        return s.slice(start, i);
      }
      if (c === 92 || c < 32 || Number.isNaN(c)) break;
      i++;
    }
    let out = s.slice(start, i);
    for (;;) {
      if (i >= s.length) {
        this.i = i;
        this.fail('in string literal');
      }
      const c = s.charCodeAt(i);
      if (c === 34) {
        this.i = i + 1;
        return out;
      }
      if (c < 32) {
        this.i = i;
        this.fail('in string literal');
      }
      if (c !== 92) {
        out += s[i++];
        continue;
      }
      const e = s[i + 1];
      if (e !== undefined && e in ESCAPES) {
        out += ESCAPES[e];
        i += 2;
      } else if (e === 'u') {
        for (let k = 2; k < 6; k++) {
          if (!/[0-9a-fA-F]/.test(s[i + k] ?? '')) {
            this.i = i + k;
            this.fail('in \\u hexadecimal character escape');
          }
        }
        out += String.fromCharCode(parseInt(s.slice(i + 2, i + 6), 16));
        i += 6;
      } else {
        this.i = i + 1;
        this.fail('in string escape code');
      }
    }
  }

  private array(): JsonValue[] {
    this.i++;
    const out: JsonValue[] = [];
    this.ws();
    if (this.s[this.i] === ']') {
      this.i++;
      return out;
    }
    for (;;) {
      this.ws();
      out.push(this.value('looking for beginning of value'));
      this.ws();
      const c = this.s[this.i];
      if (c === ',') {
        this.i++;
        continue;
      }
      if (c === ']') {
        this.i++;
        return out;
      }
      this.fail('after array element');
    }
  }

  private object(): JsonObject {
    this.i++;
    const out: JsonObject = {};
    let all: Array<[string, JsonValue]> | undefined;
    this.ws();
    if (this.s[this.i] === '}') {
      this.i++;
      return out;
    }
    for (;;) {
      this.ws();
      if (this.s[this.i] !== '"') this.fail('looking for beginning of object key string');
      const key = this.string();
      this.ws();
      if (this.s[this.i] !== ':') this.fail('after object key');
      this.i++;
      this.ws();
      const v = this.value('looking for beginning of value');
      if (Object.prototype.hasOwnProperty.call(out, key) && !all) {
        all = Object.entries(out);
        this.members.set(out, all);
      }
      // A "__proto__" key is data, never the prototype.
      if (key === '__proto__')
        Object.defineProperty(out, key, { value: v, writable: true, enumerable: true, configurable: true });
      else out[key] = v;
      all?.push([key, v]);
      this.ws();
      const c = this.s[this.i];
      if (c === ',') {
        this.i++;
        continue;
      }
      if (c === '}') {
        this.i++;
        return out;
      }
      this.fail('after object key:value pair');
    }
  }
}
