/**
 * Build planning before any output: parse the Dockerfile, resolve meta ARGs, pick the target stage and the
 * stages it needs (FROM <stage>, COPY --from=<stage>); unused stages are skipped. Errors here are plain
 * HTTP 400s, as dockerd answers a syntax error.
 */
import type { BuildOptions } from '@berth/common';
import { parseStages, type Dockerfile, type Instruction, type Stage } from './dockerfile/instructions.js';
import { parseDockerfile } from './dockerfile/parser.js';
import { processWord, type Vars } from './dockerfile/shell-words.js';

export class BuildPlanError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BuildPlanError';
  }
}

/** Args usable without an ARG line, and left out of history (dockerd's predefined proxy args). */
export const PREDEFINED_ARGS = new Set([
  'HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy',
]);

export interface BuildPlan {
  dockerfile: Dockerfile;
  /** meta ARG values (before the first FROM), after --build-arg overrides */
  metaVars: Map<string, string>;
  /** stage indexes to build, in Dockerfile order */
  stages: Stage[];
  target: Stage;
  totalSteps: number;
  /** the synthetic `LABEL` for --label, appended to the target stage */
  labelInstruction: Instruction | undefined;
}

/** Finds a stage by name or index among the stages before `before`. */
export function stageByRef(df: Dockerfile, ref: string, before: number): Stage | undefined {
  const lower = ref.toLowerCase();
  for (let i = 0; i < before; i++) if (df.stages[i]!.name === lower) return df.stages[i];
  if (/^\d+$/.test(ref)) {
    const n = Number(ref);
    if (n < before) return df.stages[n];
  }
  return undefined;
}

function safeExpand(word: string, vars: Vars, escape: string): string {
  try {
    return processWord(word, vars, escape);
  } catch {
    return word;
  }
}

function labelLine(labels: Record<string, string>): string {
  return 'LABEL ' + Object.keys(labels).sort().map((k) => `${JSON.stringify(k)}=${JSON.stringify(labels[k])}`).join(' ');
}

export function planBuild(text: string, options: BuildOptions): BuildPlan {
  const df = parseStages(text);
  const metaVars = new Map<string, string>();
  for (const a of df.metaArgs) {
    for (const { key, value } of a.args) {
      const given = options.buildArgs[key];
      if (given !== undefined && given !== null) metaVars.set(key, given);
      else if (value !== undefined) metaVars.set(key, processWord(value, metaVars, df.escape));
    }
  }
  let target = df.stages[df.stages.length - 1]!;
  if (options.target) {
    const t = df.stages.find((s) => s.name === options.target.toLowerCase());
    if (!t) throw new BuildPlanError(`failed to reach build target ${options.target} in Dockerfile`);
    target = t;
  }
  // Stages the target depends on, through FROM and COPY --from (a reference we cannot expand here keeps
  // every earlier stage, to be safe).
  const needed = new Set<number>();
  const visit = (s: Stage): void => {
    if (needed.has(s.index)) return;
    needed.add(s.index);
    const refs = [safeExpand(s.from.image, metaVars, df.escape)];
    for (const ins of s.instructions) if (ins.kind === 'copy' && ins.from !== undefined) refs.push(ins.from);
    for (const r of refs) {
      if (r.includes('$')) {
        for (let i = 0; i < s.index; i++) visit(df.stages[i]!);
        continue;
      }
      const dep = stageByRef(df, r, s.index);
      if (dep) visit(dep);
    }
  };
  visit(target);
  const stages = df.stages.filter((s) => needed.has(s.index));
  let labelInstruction: Instruction | undefined;
  if (Object.keys(options.labels).length > 0) {
    const node = parseDockerfile(labelLine(options.labels)).nodes[0]!;
    node.startLine = node.endLine = 0;
    labelInstruction = {
      node,
      kind: 'label',
      pairs: Object.keys(options.labels).sort().map((k) => ({ key: JSON.stringify(k), value: JSON.stringify(options.labels[k]) })),
    };
  }
  const totalSteps = df.metaArgs.length + stages.reduce((n, s) => n + 1 + s.instructions.length, 0) + (labelInstruction ? 1 : 0);
  return { dockerfile: df, metaVars, stages, target, totalSteps, labelInstruction };
}
