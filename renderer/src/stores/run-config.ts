/** The run dialog's text fields → a container create body (pure; tested). */
import type { ContainerCreateRequest } from '@berth/common';

/** `8080:80`, `127.0.0.1:8080:80/tcp` or `80` → ExposedPorts + PortBindings. */
export function parsePorts(spec: string[]): Pick<ContainerCreateRequest, 'ExposedPorts'> & {
  bindings: NonNullable<ContainerCreateRequest['HostConfig']>['PortBindings'];
} {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp?: string; HostPort?: string }[]> = {};
  for (const p of spec) {
    const [addr, proto = 'tcp'] = p.split('/');
    const parts = addr.split(':');
    const container = parts.pop()!;
    if (!/^\d+$/.test(container)) throw new Error(`invalid port mapping: ${p}`);
    const key = `${container}/${proto}`;
    exposed[key] = {};
    const hostPort = parts.pop();
    const hostIp = parts.pop();
    if (hostPort !== undefined) (bindings[key] ??= []).push({ HostIp: hostIp ?? '', HostPort: hostPort });
  }
  return { ExposedPorts: exposed, bindings };
}

/** Splits a command line like a POSIX shell does for words: 'single', "double" and backslash quoting. */
export function splitCommand(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quote) {
      if (ch === quote) quote = null;
      else if (ch === '\\' && quote === '"' && i + 1 < line.length && '"\\$`'.includes(line[i + 1]))
        cur += line[++i];
      else cur += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (ch === '\\' && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (quote) throw new Error(`unterminated ${quote} quote in command`);
  if (inWord) out.push(cur);
  return out;
}
