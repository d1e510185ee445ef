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
  'HTTP_PROXY',
  'http_proxy',
  'HTTPS_PROXY',
  'https_proxy',
  'FTP_PROXY',
  'ftp_proxy',
  'NO_PROXY',
  'no_proxy',
  'ALL_PROXY',
  'all_proxy',
]);

export interface BuildPlan {
  dockerfile: Dockerfile;
  /** meta ARG values (before the first FROM), after --build-arg overrides */
  metaVars: Map<string, string>;
  /** stage indexes to build, in Dockerfile order */
  stages: Stage[];
  target: Stage;
  totalSteps: number;
  /** one synthetic `LABEL k=v` per --label (sorted), appended to the target stage as dockerd does */
  labelInstructions: Instruction[];
}

/** The only platform this daemon builds for (`linux/amd64`, `linux/arm64`...). */
export function daemonPlatform(): string {
  return `linux/${process.arch === 'x64' ? 'amd64' : process.arch}`;
}

/** --platform and FROM --platform: the daemon's own platform (or plain `linux`) is fine; others are refused. */
export function checkPlatform(p: string): void {
  if (!p) return;
  const norm = p.toLowerCase().replace(/\/v8$/, '');
  if (norm !== daemonPlatform() && norm !== 'linux')
    throw new BuildPlanError(
      `platform "${p}" is not supported: this daemon builds only for ${daemonPlatform()}`,
    );
}

/** Finds a stage by name or index among the stages before `before`. */
export function stageByRef(df: Dockerfile, ref: string, before: number): Stage | undefined {
  const lower = ref.toLowerCase();
  for (let i = 0; i < before; i++) if (df.stages[i].name === lower) return df.stages[i];
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
  let target = df.stages[df.stages.length - 1];
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
        for (let i = 0; i < s.index; i++) visit(df.stages[i]);
        continue;
      }
      const dep = stageByRef(df, r, s.index);
      if (dep) visit(dep);
    }
  };
  visit(target);
  const stages = df.stages.filter((s) => needed.has(s.index));
  const labelInstructions: Instruction[] = Object.keys(options.labels)
    .sort()
    .map((k) => {
      const node = parseDockerfile(`LABEL ${k}=${options.labels[k]}`).nodes[0];
      node.startLine = node.endLine = 0;
      // The value is taken as given (no substitution, no quote removal).
      return { node, kind: 'label', pairs: [{ key: k, value: options.labels[k] }], literal: true };
    });
  const totalSteps =
    df.metaArgs.length + stages.reduce((n, s) => n + 1 + s.instructions.length, 0) + labelInstructions.length;
  return { dockerfile: df, metaVars, stages, target, totalSteps, labelInstructions };
}
