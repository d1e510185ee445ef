/** Writing answers: objects as JSON or YAML, Status errors, and the Warning headers a request collected. */
import type { ServerResponse } from 'node:http';
import type { Logger } from '../log.js';
import type { Format } from './negotiation.js';
import { isKubeError } from '../errors.js';
import { statusOf } from './status.js';
import type * as YamlModule from 'yaml';

let yamlModule: typeof YamlModule | undefined;

/** YAML is asked for rarely (kubectl never does): its module loads on first use. */
async function toYaml(value: unknown): Promise<string> {
  yamlModule ??= await import('yaml');
  return yamlModule.stringify(value);
}

/** RFC 7234 warning header values, as kube-apiserver's warning recorder writes them. */
export function warningHeader(texts: string[]): string[] {
  return [...new Set(texts)].map((t) => `299 - ${JSON.stringify(t)}`);
}

export async function writeObject(
  res: ServerResponse,
  code: number,
  body: unknown,
  opts: { format?: Format; contentType?: string; warnings?: string[] } = {},
): Promise<void> {
  if (res.headersSent || res.destroyed) return;
  const yaml = opts.format === 'yaml';
  const text = yaml ? await toYaml(body) : JSON.stringify(body);
  const headers: Record<string, string | string[] | number> = {
    'Content-Type': opts.contentType ?? (yaml ? 'application/yaml' : 'application/json'),
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-cache, private',
  };
  if (opts.warnings?.length) headers.Warning = warningHeader(opts.warnings);
  res.writeHead(code, headers);
  res.end(text);
}

export async function writeError(res: ServerResponse, err: unknown, log?: Logger): Promise<void> {
  const status = statusOf(err);
  // A 500 the domains did not mean (not a KubeError, or InternalError) is worth a stack; the Unknown kind is an
  // answer kube-apiserver gives too.
  if (status.code === 500 && log && !isKubeError(err, 'Unknown'))
    log.error('request failed', { error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  const headers: Record<string, string> = {};
  const retry = status.details?.retryAfterSeconds;
  if (retry !== undefined) headers['Retry-After'] = String(retry);
  if (res.headersSent || res.destroyed) return;
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  await writeObject(res, status.code ?? 500, status);
}
