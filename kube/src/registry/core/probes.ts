/**
 * Probes and lifecycle hooks, defaulted and validated as kube-apiserver does (pkg/apis/core/v1/defaults.go
 * SetDefaults_Probe/HTTPGetAction; pkg/apis/core/validation validateProbe, validateHandler, the liveness/startup
 * successThreshold rule, readiness' terminationGracePeriodSeconds rule), with its exact field paths and texts, so a
 * pod the kubelet could not probe is refused at create with a 422.
 */
import type { FieldError } from '../../errors.js';

type Obj = Record<string, unknown>;

const HANDLERS = ['exec', 'httpGet', 'tcpSocket', 'grpc', 'sleep'] as const;
const PROBES = ['livenessProbe', 'readinessProbe', 'startupProbe'] as const;
const NEGATIVE = 'must be greater than or equal to 0';

function defaultHttpGet(h: unknown): void {
  if (!h || typeof h !== 'object') return;
  const g = h as Obj;
  g.path ??= '/';
  g.scheme ??= 'HTTP';
}

/** Probe defaults (and httpGet's path and scheme in probes and hooks), in place. */
export function defaultProbes(c: Obj): void {
  for (const k of PROBES) {
    const p = c[k] as Obj | undefined;
    if (!p || typeof p !== 'object') continue;
    p.timeoutSeconds ??= 1;
    p.periodSeconds ??= 10;
    p.successThreshold ??= 1;
    p.failureThreshold ??= 3;
    defaultHttpGet(p.httpGet);
  }
  const lc = c.lifecycle as Obj | undefined;
  for (const k of ['postStart', 'preStop']) defaultHttpGet((lc?.[k] as Obj | undefined)?.httpGet);
}

function portErrors(port: unknown, field: string, numberOnly = false): FieldError[] {
  if (typeof port === 'number' || numberOnly) {
    const n = Number(port);
    return Number.isInteger(n) && n >= 1 && n <= 65535
      ? []
      : [
          {
            type: 'FieldValueInvalid',
            field,
            badValue: port,
            detail: 'must be between 1 and 65535, inclusive',
          },
        ];
  }
  const name = typeof port === 'string' ? port : '';
  const msgs: string[] = [];
  if (name.length > 15) msgs.push('must be no more than 15 characters');
  if (!/^[-a-z0-9]+$/.test(name))
    msgs.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (name.includes('--')) msgs.push('must not contain consecutive hyphens');
  if (name.startsWith('-') || name.endsWith('-')) msgs.push('must not begin or end with a hyphen');
  if (!/[a-z]/.test(name)) msgs.push('must contain at least one letter (a-z)');
  return msgs.map((detail) => ({ type: 'FieldValueInvalid', field, badValue: port, detail }));
}

function handlerErrors(h: Obj, path: string): FieldError[] {
  const errs: FieldError[] = [];
  let n = 0;
  for (const k of HANDLERS) {
    const a = h[k] as Obj | undefined;
    if (a === undefined || a === null) continue;
    if (n > 0) {
      errs.push({
        type: 'FieldValueForbidden',
        field: `${path}.${k}`,
        detail: 'may not specify more than 1 handler type',
      });
      continue;
    }
    n++;
    if (k === 'exec' && !((a.command as unknown[] | undefined) ?? []).length)
      errs.push({ type: 'FieldValueRequired', field: `${path}.exec.command` });
    if (k === 'httpGet' || k === 'tcpSocket') errs.push(...portErrors(a.port, `${path}.${k}.port`));
    if (k === 'httpGet' && a.scheme !== undefined && a.scheme !== 'HTTP' && a.scheme !== 'HTTPS')
      errs.push({
        type: 'FieldValueNotSupported',
        field: `${path}.httpGet.scheme`,
        badValue: a.scheme,
        detail: 'supported values: "HTTP", "HTTPS"',
      });
    if (k === 'grpc') errs.push(...portErrors(a.port, `${path}.grpc.port`, true));
  }
  if (n === 0) errs.push({ type: 'FieldValueRequired', field: path, detail: 'must specify a handler type' });
  return errs;
}

function probeErrors(kind: (typeof PROBES)[number], p: Obj, path: string): FieldError[] {
  const errs = handlerErrors(p, path);
  for (const f of [
    'initialDelaySeconds',
    'timeoutSeconds',
    'periodSeconds',
    'successThreshold',
    'failureThreshold',
  ]) {
    const v = p[f];
    if (typeof v === 'number' && v < 0)
      errs.push({ type: 'FieldValueInvalid', field: `${path}.${f}`, badValue: v, detail: NEGATIVE });
  }
  const grace = p.terminationGracePeriodSeconds;
  if (typeof grace === 'number' && grace <= 0)
    errs.push({
      type: 'FieldValueInvalid',
      field: `${path}.terminationGracePeriodSeconds`,
      badValue: grace,
      detail: 'must be greater than 0',
    });
  if (kind !== 'readinessProbe' && p.successThreshold !== undefined && p.successThreshold !== 1)
    errs.push({
      type: 'FieldValueInvalid',
      field: `${path}.successThreshold`,
      badValue: p.successThreshold,
      detail: 'must be 1',
    });
  if (kind === 'readinessProbe' && grace !== undefined && grace !== null)
    errs.push({
      type: 'FieldValueInvalid',
      field: `${path}.terminationGracePeriodSeconds`,
      badValue: grace,
      detail: 'must not be set for readinessProbes',
    });
  return errs;
}

/**
 * A container's probes and hooks. Init containers that are not sidecars (restartPolicy Always) may have neither.
 */
export function validateProbes(c: Obj, path: string, init: boolean): FieldError[] {
  const errs: FieldError[] = [];
  const plainInit = init && c.restartPolicy !== 'Always';
  const lc = c.lifecycle as Obj | undefined;
  for (const k of ['lifecycle', ...PROBES] as const) {
    const v = c[k] as Obj | undefined;
    if (!v || typeof v !== 'object') continue;
    if (plainInit)
      errs.push({
        type: 'FieldValueForbidden',
        field: `${path}.${k}`,
        detail: 'may not be set for init containers without restartPolicy=Always',
      });
    else if (k !== 'lifecycle') errs.push(...probeErrors(k, v, `${path}.${k}`));
  }
  if (!plainInit)
    for (const k of ['postStart', 'preStop']) {
      const h = lc?.[k] as Obj | undefined;
      if (h && typeof h === 'object') errs.push(...handlerErrors(h, `${path}.lifecycle.${k}`));
    }
  return errs;
}
