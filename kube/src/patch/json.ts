/**
 * JSON values as the patch engines see them, and the few Go behaviours they must reproduce: Go's JSON decoder
 * error texts (clients print them verbatim) and Go's type names in apimachinery's error messages.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function clone<T>(v: T): T {
  return v === undefined ? v : structuredClone(v);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => deepEqual(x, b[i]));
  }
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

/**
 * Parses JSON as Go's encoding/json would, failing with its messages ("unexpected end of JSON input",
 * "invalid character 'x' looking for beginning of value") rather than V8's.
 */
export function parseJson(text: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    throw new Error(goSyntaxError(text));
  }
}

/** The message Go's scanner gives for the first syntax error in `text` (encoding/json's scanner.go wording). */
export function goSyntaxError(text: string): string {
  let i = 0;
  const eof = 'unexpected end of JSON input';
  const bad = (context: string): never => {
    throw new Error(`invalid character ${quoteChar(text[i])} ${context}`);
  };
  const ws = (): void => {
    while (i < text.length && ' \t\r\n'.includes(text[i])) i++;
  };
  const need = (): void => {
    if (i >= text.length) throw new Error(eof);
  };
  const value = (): void => {
    ws();
    need();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      need();
      if (text[i] === '}') return void i++;
      for (;;) {
        need();
        if (text[i] !== '"') bad('looking for beginning of object key string');
        str();
        ws();
        need();
        if (text[i] !== ':') bad('after object key');
        i++;
        value();
        ws();
        need();
        if (text[i] === '}') return void i++;
        if (text[i] !== ',') bad('after object key:value pair');
        i++;
        ws();
      }
    }
    if (c === '[') {
      i++;
      ws();
      need();
      if (text[i] === ']') return void i++;
      for (;;) {
        value();
        ws();
        need();
        if (text[i] === ']') return void i++;
        if (text[i] !== ',') bad('after array element');
        i++;
      }
    }
    if (c === '"') return str();
    if (c === '-' || (c >= '0' && c <= '9')) return num();
    for (const word of ['true', 'false', 'null']) {
      if (c !== word[0]) continue;
      for (let k = 1; k < word.length; k++) {
        i++;
        need();
        if (text[i] !== word[k]) bad(`in literal ${word} (expecting '${word[k]}')`);
      }
      return void i++;
    }
    bad('looking for beginning of value');
  };
  const str = (): void => {
    i++;
    for (;;) {
      need();
      const c = text[i];
      if (c === '"') return void i++;
      if (c < ' ') bad('in string literal');
      if (c === '\\') {
        i++;
        need();
        if (!'"\\/bfnrtu'.includes(text[i])) bad('in string escape code');
      }
      i++;
    }
  };
  const num = (): void => {
    if (text[i] === '-') {
      i++;
      need();
      if (!(text[i] >= '0' && text[i] <= '9')) bad('in numeric literal');
    }
    while (i < text.length && /[0-9.eE+-]/.test(text[i])) i++;
  };
  try {
    value();
    ws();
    if (i < text.length) bad('after top-level value');
  } catch (e) {
    return (e as Error).message;
  }
  return 'invalid JSON';
}

function quoteChar(c: string): string {
  if (c === "'") return "'\\''";
  return `'${c}'`;
}

/** Go's reflect type name of a decoded JSON value (`map[string]interface {}`, `[]interface {}`, `float64`...). */
export function goTypeName(v: unknown): string {
  if (v === null || v === undefined) return '%!s(<nil>)';
  if (Array.isArray(v)) return '[]interface {}';
  if (typeof v === 'object') return 'map[string]interface {}';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int64' : 'float64';
  return typeof v;
}

/** Go's JSON kind word for an unmarshal type error: "json: cannot unmarshal array into Go value of type ...". */
export function jsonKindWord(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'object') return 'object';
  return typeof v;
}

/** Go's %v of a decoded JSON value (maps print as map[k:v] with sorted keys). */
export function goPrint(v: JsonValue | undefined): string {
  if (v === null || v === undefined) return '<nil>';
  if (Array.isArray(v)) return `[${v.map(goPrint).join(' ')}]`;
  if (typeof v === 'object') {
    return `map[${Object.keys(v)
      .sort()
      .map((k) => `${k}:${goPrint(v[k])}`)
      .join(' ')}]`;
  }
  return String(v);
}
