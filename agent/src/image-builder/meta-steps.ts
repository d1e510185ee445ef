/**
 * Instructions that only change the image config (ENV, LABEL, ARG, EXPOSE, VOLUME, USER, WORKDIR, CMD,
 * ENTRYPOINT, SHELL, HEALTHCHECK, STOPSIGNAL, ONBUILD, MAINTAINER): the new config and the history text the
 * classic builder records (`/bin/sh -c #(nop)  ENV A=1`).
 */
import type { HealthConfig, ImageContainerConfig } from '@berth/common';
import type { CommandForm, Instruction } from './dockerfile/instructions.js';

export const DEFAULT_SHELL = ['/bin/sh', '-c'];

/** Go's %q of a string slice: ["a" "b"]. */
export function goQuoteList(xs: readonly string[]): string {
  return `[${xs.map((x) => JSON.stringify(x)).join(' ')}]`;
}

/** Go's time.Duration.String(). */
export function goDuration(ns: number): string {
  if (ns === 0) return '0s';
  if (ns < 1e3) return `${ns}ns`;
  if (ns < 1e6) return `${trim(ns / 1e3)}µs`;
  if (ns < 1e9) return `${trim(ns / 1e6)}ms`;
  const h = Math.floor(ns / 3600e9);
  const m = Math.floor((ns % 3600e9) / 60e9);
  const s = (ns % 60e9) / 1e9;
  if (h > 0) return `${h}h${m}m${trim(s)}s`;
  if (m > 0) return `${m}m${trim(s)}s`;
  return `${trim(s)}s`;
}

function trim(n: number): string {
  return String(Number(n.toFixed(9)));
}

/** The command a shell-or-exec form runs: exec form as is, shell form through the current SHELL. */
export function commandLine(form: CommandForm, shell: readonly string[]): string[] {
  return form.json ? [...form.args] : [...shell, form.text];
}

/**
 * RUN's argv. Heredocs: `RUN <<EOF` alone runs the body as the script; otherwise the shell gets the line and
 * the bodies with their terminators, as a shell reads a here-document.
 */
export function runCommandLine(
  ins: Extract<Instruction, { kind: 'run' }>,
  shell: readonly string[],
): string[] {
  if (ins.heredocs.length === 0 || ins.command.json) return commandLine(ins.command, shell);
  if (/^<<-?["']?[A-Za-z_][A-Za-z0-9_]*["']?$/.test(ins.command.text.trim()))
    return [...shell, ins.heredocs[0].content];
  return [...shell, [ins.command.text, ...ins.heredocs.map((h) => `${h.content}${h.name}`)].join('\n')];
}

/** `/bin/sh -c #(nop)  ENV A=1` (the two spaces are dockerd's). */
export function nopCreatedBy(shell: readonly string[], text: string, oneSpace = false): string {
  return `${shell.join(' ')} #(nop) ${oneSpace ? '' : ' '}${text}`;
}

function expandPorts(ports: string[]): string[] {
  const out: string[] = [];
  for (const p of ports) {
    const [range, proto = 'tcp'] = p.split('/', 2) as [string, string | undefined];
    const m = /^(\d+)(?:-(\d+))?$/.exec(range);
    if (!m || !/^(tcp|udp|sctp)$/i.test(proto)) throw new Error(`Invalid containerPort: ${p}`);
    const lo = Number(m[1]);
    const hi = m[2] !== undefined ? Number(m[2]) : lo;
    if (hi < lo || hi > 65535) throw new Error(`Invalid range format for --expose: ${p}`);
    for (let n = lo; n <= hi; n++) out.push(`${n}/${proto.toLowerCase()}`);
  }
  return out;
}

function setEnv(env: string[], key: string, value: string): string[] {
  const out = env.filter((kv) => kv.split('=', 1)[0] !== key);
  const idx = env.findIndex((kv) => kv.split('=', 1)[0] === key);
  if (idx >= 0) {
    const copy = [...env];
    copy[idx] = `${key}=${value}`;
    return copy;
  }
  return [...out, `${key}=${value}`];
}

export interface MetaResult {
  config: ImageContainerConfig;
  createdBy: string;
  /** set by MAINTAINER */
  author?: string;
}

type Expand = (word: string) => string;

/**
 * Applies a config-only instruction. `shell` is the shell in effect before it (used for the history text).
 * Returns undefined for instructions that are not config-only (RUN, COPY, ADD, FROM, WORKDIR's mkdir is the
 * caller's).
 */
export function applyMeta(
  ins: Instruction,
  cfg: ImageContainerConfig,
  shell: readonly string[],
  expand: Expand,
  cmdSet = false,
): MetaResult | undefined {
  const config: ImageContainerConfig = structuredClone(cfg);
  const nop = (text: string, oneSpace = false) => nopCreatedBy(shell, text, oneSpace);
  switch (ins.kind) {
    case 'env': {
      const parts: string[] = [];
      let env = config.Env ?? [];
      for (const p of ins.pairs) {
        const k = expand(p.key);
        const v = expand(p.value);
        env = setEnv(env, k, v);
        parts.push(`${k}=${v}`);
      }
      config.Env = env;
      return { config, createdBy: nop(`ENV ${parts.join(' ')}`) };
    }
    case 'label': {
      const parts: string[] = [];
      const labels = { ...(config.Labels ?? {}) };
      for (const p of ins.pairs) {
        const k = expand(p.key);
        const v = expand(p.value);
        labels[k] = v;
        parts.push(`${k}=${v}`);
      }
      config.Labels = labels;
      return { config, createdBy: nop(`LABEL ${parts.join(' ')}`) };
    }
    case 'expose': {
      const raw = ins.ports.map(expand);
      const ports = { ...(config.ExposedPorts ?? {}) };
      for (const p of expandPorts(raw)) ports[p] = {};
      config.ExposedPorts = ports;
      return { config, createdBy: nop(`EXPOSE ${[...raw].sort().join(' ')}`) };
    }
    case 'volume': {
      const vols = { ...(config.Volumes ?? {}) };
      const paths = ins.paths.map(expand);
      for (const p of paths) {
        if (p.trim() === '') throw new Error('VOLUME specified can not be an empty string');
        vols[p] = {};
      }
      config.Volumes = vols;
      return { config, createdBy: nop(`VOLUME [${paths.join(' ')}]`) };
    }
    case 'user':
      config.User = expand(ins.value);
      return { config, createdBy: nop(`USER ${config.User}`) };
    case 'stopsignal': {
      const sig = expand(ins.value);
      if (!/^(SIG)?[A-Z0-9+-]+$/i.test(sig)) throw new Error(`Invalid signal: ${sig}`);
      config.StopSignal = sig;
      return { config, createdBy: nop(`STOPSIGNAL ${sig}`) };
    }
    case 'maintainer': {
      const who = ins.value;
      return { config, createdBy: nop(`MAINTAINER ${who}`), author: who };
    }
    case 'cmd': {
      config.Cmd = commandLine(ins.command, shell);
      return { config, createdBy: nop(`CMD ${goQuoteList(config.Cmd)}`) };
    }
    case 'entrypoint': {
      config.Entrypoint = commandLine(ins.command, shell);
      // A new ENTRYPOINT drops a CMD inherited from the base image (not one set earlier in this stage).
      if (!cmdSet) config.Cmd = null;
      return { config, createdBy: nop(`ENTRYPOINT ${goQuoteList(config.Entrypoint)}`) };
    }
    case 'shell': {
      config.Shell = ins.command.json ? [...ins.command.args] : [ins.command.text];
      return { config, createdBy: nop(`SHELL [${config.Shell.join(' ')}]`) };
    }
    case 'healthcheck': {
      const h = ins.health;
      let hc: HealthConfig;
      if (h.none) hc = { Test: ['NONE'] };
      else {
        const test = h.test!.json ? ['CMD', ...h.test!.args] : ['CMD-SHELL', h.test!.text];
        // Zero fields are left out, as dockerd's omitempty config shows them.
        hc = { Test: test };
        if (h.interval) hc.Interval = h.interval;
        if (h.timeout) hc.Timeout = h.timeout;
        if (h.startPeriod) hc.StartPeriod = h.startPeriod;
        if (h.startInterval) hc.StartInterval = h.startInterval;
        if (h.retries) hc.Retries = h.retries;
      }
      config.Healthcheck = hc;
      const retries = `'\\x${(hc.Retries ?? 0).toString(16).padStart(2, '0')}'`;
      const text = h.none
        ? `HEALTHCHECK &{["NONE"] "0s" "0s" "0s" "0s" '\\x00'}`
        : `HEALTHCHECK &{${goQuoteList(hc.Test!)} "${goDuration(h.interval)}" "${goDuration(h.timeout)}" "${goDuration(h.startPeriod)}" "${goDuration(h.startInterval)}" ${retries}}`;
      return { config, createdBy: nop(text) };
    }
    case 'onbuild': {
      config.OnBuild = [...(config.OnBuild ?? []), ins.expression];
      return { config, createdBy: nop(`ONBUILD ${ins.expression}`) };
    }
    default:
      return undefined;
  }
}
