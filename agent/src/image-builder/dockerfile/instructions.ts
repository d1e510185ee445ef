/**
 * Nodes → typed instructions grouped in stages. Arguments stay unexpanded here: substitution needs the
 * build state (ENV, ARG) and happens when a step is dispatched.
 */
import { DockerfileParseError, parseDockerfile, type Heredoc, type Node } from './parser.js';
import { splitWords } from './shell-words.js';

/** Exec form (`["a","b"]`) or shell form (a string run by the SHELL). */
export type CommandForm = { json: true; args: string[] } | { json: false; text: string };

export interface KeyValue {
  key: string;
  /** raw, with quotes; processed at dispatch */
  value: string;
}

export interface HealthcheckSpec {
  none: boolean;
  test: CommandForm | undefined;
  interval: number;
  timeout: number;
  startPeriod: number;
  startInterval: number;
  retries: number;
}

export type Instruction = { node: Node } & (
  | { kind: 'from'; image: string; stageName: string | undefined; platform: string | undefined }
  | { kind: 'run'; command: CommandForm; heredocs: Heredoc[] }
  | { kind: 'cmd' | 'entrypoint' | 'shell'; command: CommandForm }
  | { kind: 'env' | 'label'; pairs: KeyValue[]; literal?: boolean }
  | { kind: 'arg'; args: { key: string; value: string | undefined }[] }
  | { kind: 'expose'; ports: string[] }
  | { kind: 'volume'; paths: string[] }
  | { kind: 'user' | 'workdir' | 'stopsignal' | 'maintainer'; value: string }
  | {
      kind: 'copy' | 'add';
      sources: string[];
      dest: string;
      chown: string | undefined;
      chmod: string | undefined;
      from: string | undefined;
      heredocs: Heredoc[];
    }
  | { kind: 'healthcheck'; health: HealthcheckSpec }
  | { kind: 'onbuild'; expression: string }
);

export type InstructionKind = Instruction['kind'];

export interface Stage {
  index: number;
  /** lower-cased `AS name`, if any */
  name: string | undefined;
  /** the FROM instruction */
  from: Extract<Instruction, { kind: 'from' }>;
  instructions: Instruction[];
}

export interface Dockerfile {
  escape: string;
  /** ARG instructions before the first FROM */
  metaArgs: Extract<Instruction, { kind: 'arg' }>[];
  stages: Stage[];
}

const ALLOWED_FLAGS: Record<string, readonly string[]> = {
  from: ['platform'],
  copy: ['from', 'chown', 'chmod'],
  add: ['chown', 'chmod'],
  healthcheck: ['interval', 'timeout', 'start-period', 'start-interval', 'retries'],
};

const KNOWN = new Set([
  'from',
  'run',
  'cmd',
  'entrypoint',
  'shell',
  'env',
  'label',
  'arg',
  'expose',
  'volume',
  'user',
  'workdir',
  'stopsignal',
  'maintainer',
  'copy',
  'add',
  'healthcheck',
  'onbuild',
]);

function fail(node: Node, msg: string): never {
  throw new DockerfileParseError(node.startLine, msg);
}

function flagMap(node: Node): Map<string, string | undefined> {
  const allowed = ALLOWED_FLAGS[node.cmd] ?? [];
  const m = new Map<string, string | undefined>();
  for (const f of node.flags) {
    if (!allowed.includes(f.name)) {
      if (
        f.name === 'mount' ||
        f.name === 'network' ||
        f.name === 'security' ||
        f.name === 'link' ||
        f.name === 'parents'
      )
        fail(
          node,
          `the --${f.name} option requires BuildKit. Refer to https://docs.docker.com/go/buildkit/ to learn how to build images with BuildKit enabled`,
        );
      fail(node, `Unknown flag: ${f.name}`);
    }
    if (m.has(f.name)) fail(node, `Duplicate flag specified: ${f.name}`);
    if (f.value === undefined) fail(node, `Missing a value on flag: ${f.name}`);
    m.set(f.name, f.value);
  }
  return m;
}

/** `["a","b"]` → exec form when it is a JSON array of strings; anything else is shell form. */
export function parseCommandForm(rest: string): CommandForm {
  const t = rest.trim();
  if (t.startsWith('[')) {
    try {
      const v: unknown = JSON.parse(t);
      if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return { json: true, args: v };
    } catch {
      /* not JSON: shell form, as dockerd */
    }
  }
  return { json: false, text: t };
}

function jsonOrWhitespaceList(rest: string): { list: string[]; json: boolean } {
  const form = parseCommandForm(rest);
  if (form.json) return { list: form.args, json: true };
  return { list: form.text.split(/[ \t\r\n]+/).filter(Boolean), json: false };
}

function keyValues(node: Node, escape: string, what: 'ENV' | 'LABEL'): KeyValue[] {
  const words = splitWords(node.rest, escape);
  if (words.length === 0) fail(node, `${what} requires at least one argument`);
  if (!words[0].includes('=')) {
    // Legacy `ENV key value` form: everything after the first word is the value.
    const m = /^(\S+)\s*([\s\S]*)$/.exec(node.rest.trim())!;
    if (!m[2]) fail(node, `${what} must have two arguments`);
    return [{ key: m[1], value: m[2] }];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq < 0) fail(node, `Syntax error - can't find = in "${w}". Must be of the form: name=value`);
    if (eq === 0) fail(node, `${what} names can not be blank`);
    return { key: w.slice(0, eq), value: w.slice(eq + 1) };
  });
}

const UNITS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go's time.ParseDuration, in nanoseconds. */
export function parseDuration(s: string): number {
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let pos = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) {
    total += Number(m[1]) * UNITS[m[2]];
    pos = re.lastIndex;
  }
  if (pos !== s.length || pos === 0) throw new Error(`time: invalid duration "${s}"`);
  return Math.round(total);
}

function healthcheck(node: Node, flags: Map<string, string | undefined>): HealthcheckSpec {
  const m = /^(\S+)\s*([\s\S]*)$/.exec(node.rest.trim());
  if (!m) fail(node, 'HEALTHCHECK requires an argument');
  const type = m[1].toUpperCase();
  const base = { interval: 0, timeout: 0, startPeriod: 0, startInterval: 0, retries: 0 };
  if (type === 'NONE') {
    if (m[2]) fail(node, 'HEALTHCHECK NONE takes no arguments');
    if (flags.size) fail(node, 'HEALTHCHECK NONE takes no options');
    return { none: true, test: undefined, ...base };
  }
  if (type !== 'CMD') fail(node, `Unknown type "${type}" in HEALTHCHECK (try CMD)`);
  if (!m[2]) fail(node, 'Missing command after HEALTHCHECK CMD');
  const dur = (name: string): number => {
    const v = flags.get(name);
    if (v === undefined) return 0;
    let d: number;
    try {
      d = parseDuration(v);
    } catch (err) {
      fail(node, (err as Error).message);
    }
    if (d !== 0 && d < 1e6) fail(node, `Interval "${name}" cannot be less than 1ms`);
    return d;
  };
  let retries = 0;
  const r = flags.get('retries');
  if (r !== undefined) {
    retries = Number(r);
    if (!Number.isInteger(retries)) fail(node, `strconv.ParseInt: parsing "${r}": invalid syntax`);
    if (retries < 1) fail(node, `--retries must be at least 1 (not ${retries})`);
  }
  return {
    none: false,
    test: parseCommandForm(m[2]),
    interval: dur('interval'),
    timeout: dur('timeout'),
    startPeriod: dur('start-period'),
    startInterval: dur('start-interval'),
    retries,
  };
}

/** Parses one node; `inOnbuild` refuses what may not be an ONBUILD trigger. */
export function parseInstruction(node: Node, escape: string): Instruction {
  if (!KNOWN.has(node.cmd)) fail(node, `unknown instruction: ${node.cmdRaw.toUpperCase()}`);
  const flags = flagMap(node);
  const rest = node.rest;
  const need = (): void => {
    if (rest === '' && node.heredocs.length === 0)
      fail(node, `${node.cmd.toUpperCase()} requires at least one argument`);
  };
  const exactlyOne = (): string => {
    if (rest === '') fail(node, `${node.cmd.toUpperCase()} requires exactly one argument`);
    return rest;
  };
  switch (node.cmd) {
    case 'from': {
      const words = rest.split(/\s+/).filter(Boolean);
      if (words.length !== 1 && !(words.length === 3 && words[1].toLowerCase() === 'as'))
        fail(node, 'FROM requires either one or three arguments');
      const stageName = words.length === 3 ? words[2].toLowerCase() : undefined;
      if (stageName !== undefined && !/^[a-z][a-z0-9-_.]*$/.test(stageName))
        fail(
          node,
          `invalid name for build stage: "${words[2]}", name can't start with a number or contain symbols`,
        );
      return { node, kind: 'from', image: words[0], stageName, platform: flags.get('platform') };
    }
    case 'run':
      need();
      return { node, kind: 'run', command: parseCommandForm(rest), heredocs: node.heredocs };
    case 'cmd':
    case 'entrypoint':
      return { node, kind: node.cmd, command: parseCommandForm(rest) };
    case 'shell': {
      const form = parseCommandForm(rest);
      if (!form.json) fail(node, 'SHELL requires the arguments to be in JSON form');
      if (form.args.length === 0) fail(node, 'SHELL requires at least one argument');
      return { node, kind: 'shell', command: form };
    }
    case 'env':
    case 'label':
      return { node, kind: node.cmd, pairs: keyValues(node, escape, node.cmd === 'env' ? 'ENV' : 'LABEL') };
    case 'arg': {
      const words = splitWords(rest, escape);
      if (words.length === 0) fail(node, 'ARG requires at least one argument');
      return {
        node,
        kind: 'arg',
        args: words.map((w) => {
          const eq = w.indexOf('=');
          if (eq === 0) fail(node, 'ARG names can not be blank');
          return eq < 0 ? { key: w, value: undefined } : { key: w.slice(0, eq), value: w.slice(eq + 1) };
        }),
      };
    }
    case 'expose':
      need();
      return { node, kind: 'expose', ports: rest.split(/\s+/).filter(Boolean) };
    case 'volume': {
      need();
      const { list } = jsonOrWhitespaceList(rest);
      if (list.some((v) => v.trim() === '')) fail(node, 'VOLUME specified can not be an empty string');
      return { node, kind: 'volume', paths: list };
    }
    case 'user':
    case 'workdir':
    case 'stopsignal':
      return { node, kind: node.cmd, value: exactlyOne() };
    case 'maintainer':
      return { node, kind: 'maintainer', value: exactlyOne() };
    case 'copy':
    case 'add': {
      const { list } = jsonOrWhitespaceList(rest);
      // Heredoc sources (`COPY <<EOF /dst`) are named `<<EOF`; their bodies are in node.heredocs.
      const items = list.map((s) => s.replace(/^<<-?["']?([A-Za-z_][A-Za-z0-9_]*)["']?$/, '<<$1'));
      if (items.length < 2)
        fail(
          node,
          `${node.cmd.toUpperCase()} requires at least two arguments, but only ${items.length} provided`,
        );
      return {
        node,
        kind: node.cmd,
        sources: items.slice(0, -1),
        dest: items[items.length - 1],
        chown: flags.get('chown'),
        chmod: flags.get('chmod'),
        from: flags.get('from'),
        heredocs: node.heredocs,
      };
    }
    case 'healthcheck':
      return { node, kind: 'healthcheck', health: healthcheck(node, flags) };
    case 'onbuild': {
      const m = /^(\S+)/.exec(rest);
      if (!m) fail(node, 'ONBUILD requires at least one argument');
      const trigger = m[1].toUpperCase();
      if (trigger === 'ONBUILD') fail(node, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
      if (trigger === 'FROM' || trigger === 'MAINTAINER')
        fail(node, `${trigger} isn't allowed as an ONBUILD trigger`);
      return { node, kind: 'onbuild', expression: rest };
    }
  }
  fail(node, `unknown instruction: ${node.cmdRaw.toUpperCase()}`);
}

/** Parses a whole Dockerfile into meta ARGs and stages; syntax errors carry their line number. */
export function parseStages(text: string): Dockerfile {
  const parsed = parseDockerfile(text);
  const metaArgs: Dockerfile['metaArgs'] = [];
  const stages: Stage[] = [];
  for (const node of parsed.nodes) {
    const ins = parseInstruction(node, parsed.escape);
    if (ins.kind === 'from') {
      stages.push({ index: stages.length, name: ins.stageName, from: ins, instructions: [] });
      continue;
    }
    const cur = stages[stages.length - 1];
    if (!cur) {
      if (ins.kind !== 'arg') fail(node, 'no build stage in current context');
      metaArgs.push(ins);
      continue;
    }
    cur.instructions.push(ins);
  }
  if (stages.length === 0) throw new DockerfileParseError(1, 'file with no instructions');
  return { escape: parsed.escape, metaArgs, stages };
}
