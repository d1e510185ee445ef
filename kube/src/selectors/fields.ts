/**
 * Field selectors as apimachinery parses them (fields/selector.go): comma-separated `f=v`, `f==v`, `f!=v`, with
 * `\,` `\=` `\\` escapes. Which fields a kind supports is its strategy's business (plus metadata.name and
 * metadata.namespace everywhere); anything else is `field label not supported: <f>`.
 */

export interface FieldTerm {
  field: string;
  op: '=' | '!=';
  value: string;
}

function splitTerms(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\' && i + 1 < s.length) {
      cur += c + s[++i];
    } else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

function unescape(v: string): string {
  let out = '';
  for (let i = 0; i < v.length; i++) {
    const c = v[i];
    if (c === '\\') {
      const n = v[++i];
      if (n !== '\\' && n !== ',' && n !== '=')
        throw new Error(
          `invalid field selector: invalid escape sequence: ${n === undefined ? '\\' : `\\${n}`}`,
        );
      out += n;
    } else if (c === ',' || c === '=') {
      throw new Error(`invalid field selector: unescaped character: ${c}`);
    } else out += c;
  }
  return out;
}

export function parseFieldSelector(selector: string): FieldTerm[] {
  const terms: FieldTerm[] = [];
  for (const part of splitTerms(selector).sort()) {
    if (!part) continue;
    let found = false;
    for (let i = 0; i < part.length && !found; i++) {
      if (part[i] === '\\') {
        i++;
        continue;
      }
      for (const op of ['!=', '==', '='] as const) {
        if (part.startsWith(op, i)) {
          terms.push({
            field: part.slice(0, i),
            op: op === '!=' ? '!=' : '=',
            value: unescape(part.slice(i + op.length)),
          });
          found = true;
          break;
        }
      }
    }
    if (!found) throw new Error(`invalid selector: '${selector}'; can't understand '${part}'`);
  }
  return terms;
}

export function matchesFields(terms: FieldTerm[], value: (field: string) => string | undefined): boolean {
  for (const t of terms) {
    const v = value(t.field) ?? '';
    if (t.op === '=' ? v !== t.value : v === t.value) return false;
  }
  return true;
}
