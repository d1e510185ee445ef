/**
 * PodSpec defaults (k8s.io/kubernetes pkg/apis/core/v1/defaults.go) shared by pods and every pod template, so
 * `kubectl get -o yaml` shows what kube-apiserver would store, plus the few PodSpec rules checked everywhere.
 */
import type { FieldError } from '../../errors.js';
import { isDNS1123Label } from '../validation/names.js';
import { defaultProbes, validateProbes } from './probes.js';

type Obj = Record<string, unknown>;

export interface ContainerLike extends Obj {
  name?: string;
  image?: string;
  ports?: Obj[];
}

export function defaultContainer(c: ContainerLike): void {
  c.terminationMessagePath ??= '/dev/termination-log';
  c.terminationMessagePolicy ??= 'File';
  if (c.imagePullPolicy === undefined) {
    const image = c.image ?? '';
    const ref = image.includes('@') ? '' : (image.split('/').pop() ?? '');
    const tag = ref.includes(':') ? ref.slice(ref.lastIndexOf(':') + 1) : '';
    // Pulled again when the tag is latest (or absent); a pinned tag or a digest is pulled once.
    c.imagePullPolicy = image.includes('@')
      ? 'IfNotPresent'
      : !tag || tag === 'latest'
        ? 'Always'
        : 'IfNotPresent';
  }
  c.resources ??= {};
  for (const p of c.ports ?? []) p.protocol ??= 'TCP';
  defaultProbes(c);
}

export function defaultPodSpec(spec: Obj | undefined): void {
  if (!spec) return;
  spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.securityContext ??= {};
  spec.schedulerName ??= 'default-scheduler';
  spec.enableServiceLinks ??= true;
  for (const list of ['containers', 'initContainers'] as const)
    for (const c of (spec[list] as ContainerLike[] | undefined) ?? []) defaultContainer(c);
}

export function validatePodSpec(spec: Obj | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const containers = (spec?.containers as ContainerLike[] | undefined) ?? [];
  if (!containers.length) errs.push({ type: 'FieldValueRequired', field: `${path}.containers` });
  const seen = new Set<string>();
  for (const list of ['initContainers', 'containers'] as const) {
    for (const [i, c] of ((spec?.[list] as ContainerLike[] | undefined) ?? []).entries()) {
      const p = `${path}.${list}[${i}]`;
      if (!c.name) errs.push({ type: 'FieldValueRequired', field: `${p}.name` });
      else {
        for (const m of isDNS1123Label(c.name))
          errs.push({ type: 'FieldValueInvalid', field: `${p}.name`, badValue: c.name, detail: m });
        if (seen.has(c.name))
          errs.push({ type: 'FieldValueDuplicate', field: `${p}.name`, badValue: c.name });
        seen.add(c.name);
      }
      if (!c.image) errs.push({ type: 'FieldValueRequired', field: `${p}.image` });
      errs.push(...validateProbes(c, p, list === 'initContainers'));
    }
  }
  const policy = spec?.restartPolicy;
  if (policy !== undefined && !['Always', 'OnFailure', 'Never'].includes(policy as string))
    errs.push({
      type: 'FieldValueNotSupported',
      field: `${path}.restartPolicy`,
      badValue: policy,
      detail: 'supported values: "Always", "OnFailure", "Never"',
    });
  return errs;
}
