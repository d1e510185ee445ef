/**
 * Label selectors as apimachinery parses them (labels/selector.go): `a=b`, `a==b`, `a!=b`, `a in (x,y)`,
 * `a notin (x)`, `a`, `!a`, `a>1`, `a<1`, with its error texts (a list or watch answers them as 400). Also the
 * structured form (metav1.LabelSelector: matchLabels + matchExpressions) that workloads carry.
 */
import { isQualifiedName, isValidLabelValue } from '../registry/validation/names.js';

export type Operator = 'in' | 'notin' | '=' | '==' | '!=' | 'exists' | '!' | 'gt' | 'lt';

export interface Requirement {
  key: string;
  op: Operator;
  values: string[];
}

export type LabelSelector = Requirement[];

type Tok = 'id' | 'end' | 'in' | 'notin' | '!' | '=' | '==' | '!=' | '(' | ')' | ',' | '>' | '<' | 'error';
const KEYWORDS: Record<string, Tok> = { in: 'in', notin: 'notin' };
const SYMBOLS: Record<string, Tok> = {
  '!': '!',
  '=': '=',
  '==': '==',
  '!=': '!=',
  '(': '(',
  ')': ')',
  ',': ',',
  '>': '>',
  '<': '<',
};
const isSpecial = (c: string) => '=!(),><'.includes(c);
const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\r' || c === '\n';

function lex(s: string): Array<[Tok, string]> {
  const out: Array<[Tok, string]> = [];
  let i = 0;
  for (;;) {
    while (i < s.length && isSpace(s[i])) i++;
    if (i >= s.length) {
      out.push(['end', '']);
      return out;
    }
    if (isSpecial(s[i])) {
      let buf = '';
      let last: [Tok, string] | undefined;
      while (i < s.length && isSpecial(s[i])) {
        const next = buf + s[i];
        if (SYMBOLS[next]) {
          last = [SYMBOLS[next], next];
          buf = next;
          i++;
        } else if (last) break;
        else {
          buf = next;
          i++;
        }
      }
      out.push(last ?? ['error', `error expected: keyword found '${buf}'`]);
    } else {
      let buf = '';
      while (i < s.length && !isSpecial(s[i]) && !isSpace(s[i])) buf += s[i++];
      out.push([KEYWORDS[buf] ?? 'id', buf]);
    }
  }
}

class SelectorError extends Error {}

/** Parses a selector string; throws an Error whose message is apimachinery's. Empty selects everything. */
export function parseLabelSelector(selector: string): LabelSelector {
  const items = lex(selector);
  let pos = 0;
  // In value position the keywords are plain identifiers ("in" may be a label value).
  const look = (values = true): [Tok, string] => {
    const [t, l] = items[pos];
    return values && (t === 'in' || t === 'notin') ? ['id', l] : [t, l];
  };
  const take = (values = true): [Tok, string] => {
    const r = look(values);
    pos++;
    return r;
  };
  const reqs: Requirement[] = [];
  const requirement = (): Requirement => {
    let [tok, lit] = take();
    let negated = false;
    if (tok === '!') {
      negated = true;
      [tok, lit] = take();
    }
    if (tok !== 'id') throw new SelectorError(`found '${lit}', expected: identifier`);
    const keyErrs = isQualifiedName(lit);
    if (keyErrs.length) throw new SelectorError(`: Invalid value: "${lit}": ${keyErrs.join('; ')}`);
    const key = lit;
    const [next] = look();
    if (negated || next === 'end' || next === ',') {
      if (negated) return { key, op: '!', values: [] };
      return { key, op: 'exists', values: [] };
    }
    const [opTok, opLit] = take(false);
    const ops: Partial<Record<Tok, Operator>> = {
      in: 'in',
      notin: 'notin',
      '=': '=',
      '==': '==',
      '!=': '!=',
      '>': 'gt',
      '<': 'lt',
    };
    const op = ops[opTok];
    if (!op) throw new SelectorError(`found '${opLit}', expected: in, notin, =, ==, !=, gt, lt`);
    let values: string[];
    if (op === 'in' || op === 'notin') values = valueSet();
    else {
      const [t] = look();
      if (t === 'end' || t === ',') values = [''];
      else {
        const [t2, l2] = take();
        if (t2 !== 'id') throw new SelectorError(`found '${l2}', expected: identifier`);
        values = [l2];
      }
    }
    for (const v of values) {
      const errs = isValidLabelValue(v);
      if (errs.length)
        throw new SelectorError(`values[0][${key}]: Invalid value: "${v}": ${errs.join('; ')}`);
    }
    if ((op === 'gt' || op === 'lt') && !/^-?\d+$/.test(values[0] ?? ''))
      throw new SelectorError(
        `values[0]: Invalid value: "${values[0]}": for 'Gt', 'Lt' operators, the value must be an integer`,
      );
    return { key, op, values: [...new Set(values)].sort() };
  };
  const valueSet = (): string[] => {
    const [t, l] = take();
    if (t !== '(') throw new SelectorError(`found '${l}' expected: '('`);
    const [t1, l1] = look();
    if (t1 === ')') {
      take();
      return [''];
    }
    if (t1 !== 'id' && t1 !== ',') throw new SelectorError(`found '${l1}', expected: ',', ')' or identifier`);
    const set: string[] = [];
    for (;;) {
      const [tt, ll] = take();
      if (tt === 'id') {
        set.push(ll);
        const [t2, l2] = look();
        if (t2 === ',') continue;
        if (t2 === ')') break;
        throw new SelectorError(`found '${l2}', expected: ',' or ')'`);
      } else if (tt === ',') {
        if (!set.length) set.push('');
        const [t2] = look();
        if (t2 === ')') {
          set.push('');
          break;
        }
        if (t2 === ',') {
          take();
          set.push('');
        }
      } else throw new SelectorError(`found '${ll}', expected: ',', or identifier`);
    }
    take();
    return set;
  };
  for (;;) {
    const [tok, lit] = look();
    if (tok === 'end') break;
    if (tok !== 'id' && tok !== '!')
      throw new Error(`found '${lit}', expected: !, identifier, or 'end of string'`);
    try {
      reqs.push(requirement());
    } catch (e) {
      if (e instanceof SelectorError) throw new Error(`unable to parse requirement: ${e.message}`);
      throw e;
    }
    const [t, l] = take();
    if (t === 'end') break;
    if (t !== ',') throw new Error(`found '${l}', expected: ',' or 'end of string'`);
    const [t2, l2] = look();
    if (t2 !== 'id' && t2 !== '!') throw new Error(`found '${l2}', expected: identifier after ','`);
  }
  return reqs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

export function matchesLabels(sel: LabelSelector, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  for (const r of sel) {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    const v = l[r.key];
    switch (r.op) {
      case 'exists':
        if (!has) return false;
        break;
      case '!':
        if (has) return false;
        break;
      case '=':
      case '==':
      case 'in':
        if (!has || !r.values.includes(v)) return false;
        break;
      case '!=':
      case 'notin':
        if (has && r.values.includes(v)) return false;
        break;
      case 'gt':
      case 'lt': {
        if (!has || !/^-?\d+$/.test(v)) return false;
        const n = Number(v);
        const bound = Number(r.values[0]);
        if (r.op === 'gt' ? !(n > bound) : !(n < bound)) return false;
        break;
      }
    }
  }
  return true;
}

/** metav1.LabelSelector (matchLabels + matchExpressions), as workloads and PodDisruptionBudgets carry it. */
export interface StructuredSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{
    key: string;
    operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
    values?: string[];
  }>;
}

export function fromStructured(s: StructuredSelector | undefined): LabelSelector {
  if (!s) return [];
  const reqs: Requirement[] = Object.entries(s.matchLabels ?? {}).map(([key, v]) => ({
    key,
    op: '=',
    values: [v],
  }));
  const ops = { In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!' } as const;
  for (const e of s.matchExpressions ?? [])
    reqs.push({ key: e.key, op: ops[e.operator], values: e.values ?? [] });
  return reqs;
}
