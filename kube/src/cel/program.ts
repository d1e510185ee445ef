/**
 * CEL as kube-apiserver uses it: one environment with Kubernetes' libraries (library.ts) over
 * @marcbachmann/cel-js, expressions compiled once and evaluated many times, and errors worded as cel-go words
 * them ("ERROR: <input>:1:6: ..." with the source line and a caret, "no such key: x").
 *
 * Variables are declared `dyn`: kube-apiserver types `self` from the CRD schema, so a rule naming a field the
 * schema lacks fails at compile time there and at evaluation time here ("no such key").
 */
import { Environment, Optional } from '@marcbachmann/cel-js';
import { registerKubernetesLibrary } from './library.js';

export { Optional };

/** A compiled expression: evaluate against an activation (variable name → CEL value). */
export interface Program {
  readonly source: string;
  /** The result type the checker could infer ('dyn' when it depends on the variables). */
  readonly type: string;
  /** Variables the expression names (so a CRD rule knows it is a transition rule: it names oldSelf). */
  readonly references: ReadonlySet<string>;
  evaluate(vars: Record<string, unknown>): unknown;
}

/** A compile or evaluation failure, its text in cel-go's words. */
export class CelError extends Error {
  constructor(
    message: string,
    /** 'compile': the expression is bad; 'eval': it failed on this input (no such key, no such overload, ...). */
    readonly phase: 'compile' | 'eval',
    /** The runtime failure was a missing overload (kube-apiserver words those differently). */
    readonly noOverload = false,
  ) {
    super(message);
    this.name = 'CelError';
  }
}

const envs = new Map<string, Environment>();

/** One environment per set of declared variables (they are few: self/oldSelf, object/oldObject/request...). */
function environment(variables: readonly string[]): Environment {
  const key = variables.join(',');
  let env = envs.get(key);
  if (!env) {
    env = new Environment({ enableOptionalTypes: true, homogeneousAggregateLiterals: true });
    for (const v of variables) env.registerVariable(v, 'dyn');
    registerKubernetesLibrary(env);
    envs.set(key, env);
  }
  return env;
}

interface Located {
  message: string;
  line?: number;
  column?: number;
}

/** The library's message is "text\n\n>    1 | source\n         ^": take the text and the caret's place. */
function locate(raw: string, source: string): Located {
  const lines = raw.split('\n');
  const message = lines[0];
  const at = lines.findIndex((l) => /^>\s*\d+ \| /.test(l));
  if (at < 0 || at + 1 >= lines.length) return { message };
  const m = /^>\s*(\d+) \| /.exec(lines[at])!;
  const column = lines[at + 1].indexOf('^') - m[0].length;
  const line = Number(m[1]);
  if (column < 0 || !source.split('\n')[line - 1]) return { message };
  return { message, line, column };
}

/** cel-go's wording for the messages that differ in substance. */
function celGoMessage(message: string): string {
  const unknown = /^Unknown variable: (.+)$/.exec(message);
  if (unknown) return `undeclared reference to '${unknown[1]}' (in container '')`;
  if (/^Unexpected token|^Expected|^Invalid|^Unterminated/.test(message)) return `Syntax error: ${message}`;
  return message;
}

/** cel-go's issues.String(): "ERROR: <input>:L:C: message\n | source line\n | ....^". */
function compileErrorText(raw: string, source: string): string {
  const { message, line, column } = locate(raw, source);
  const text = celGoMessage(message);
  if (line === undefined || column === undefined) return `ERROR: <input>:1:1: ${text}`;
  const src = source.split('\n')[line - 1];
  return `ERROR: <input>:${line}:${column + 1}: ${text}\n | ${src}\n | ${'.'.repeat(column)}^`;
}

/** A runtime error's text as cel-go prints it: "no such key: x", "division by zero". */
function evalErrorText(raw: string): string {
  const { message } = locate(raw, '');
  const key = /^No such key: (?:index out of bounds, )?(.*)$/.exec(message);
  if (key) return /^index \d+/.test(key[1]) ? `index out of bounds: ${key[1]}` : `no such key: ${key[1]}`;
  return message;
}

function referencedNames(node: unknown, out: Set<string>): void {
  if (Array.isArray(node)) {
    for (const n of node) referencedNames(n, out);
    return;
  }
  if (!node || typeof node !== 'object') return;
  const n = node as { op?: string; args?: unknown };
  if (n.op === 'id' && typeof n.args === 'string') out.add(n.args);
  referencedNames(n.args, out);
}

/** Compile `source` with `variables` declared; throws CelError('compile') with cel-go's text. */
export function compile(source: string, variables: readonly string[]): Program {
  const env = environment(variables);
  let parsed: ReturnType<Environment['parse']>;
  try {
    parsed = env.parse(source);
  } catch (e) {
    throw new CelError(compileErrorText((e as Error).message, source), 'compile');
  }
  const checked = parsed.check();
  if (!checked.valid)
    throw new CelError(compileErrorText(checked.error?.message ?? 'type check failed', source), 'compile');
  const references = new Set<string>();
  referencedNames(parsed.ast, references);
  return {
    source,
    type: String(checked.type),
    references,
    evaluate(vars) {
      try {
        return parsed(vars) as unknown;
      } catch (e) {
        const raw = (e as Error).message;
        throw new CelError(evalErrorText(raw), 'eval', /no matching overload|no such overload/.test(raw));
      }
    },
  };
}
