/**
 * Jobs and CronJobs: batch/v1 defaults (SetDefaults_Job, SetDefaults_CronJob), the selector kube-apiserver
 * generates for a Job (batch.kubernetes.io/controller-uid), validation with its messages, the update rules, and the
 * columns of pkg/printers/internalversion (STATUS, COMPLETIONS, DURATION; SCHEDULE, TIMEZONE, SUSPEND, ...).
 */
import type { FieldError } from '../../errors.js';
import {
  AGE_COLUMN,
  NAME_COLUMN,
  age,
  at,
  col,
  formatSelector,
  humanDuration,
  since,
  str,
  templateContainers,
} from '../printing.js';
import { defaultPodSpec } from '../core/podspec.js';
import { maxLenError } from '../validation/names.js';
import {
  immutable,
  nonNegative,
  notSupported,
  podTemplateErrors,
  same,
  selectorMatchesTemplate,
} from '../validation/fields.js';
import type { KubeObject, Strategy } from '../types.js';
import { CronError, parseSchedule, validTimeZone } from '../../util/cron.js';
import { indexedJobErrors } from './job-indexes.js';

type Obj = Record<string, unknown>;

export const CONTROLLER_UID_LABEL = 'batch.kubernetes.io/controller-uid';
export const JOB_NAME_LABEL = 'batch.kubernetes.io/job-name';
const LEGACY_UID = 'controller-uid';
const LEGACY_NAME = 'job-name';

const JOB_RESTART = ['OnFailure', 'Never'] as const;

/** SetDefaults_Job on a Job's spec (not used for a CronJob's jobTemplate, which kube-apiserver leaves alone). */
function defaultJob(obj: KubeObject): void {
  const spec = (obj.spec ??= {}) as Obj;
  if (spec.completions === undefined && spec.parallelism === undefined) {
    spec.completions = 1;
    spec.parallelism = 1;
  }
  spec.parallelism ??= 1;
  spec.backoffLimit ??= spec.backoffLimitPerIndex !== undefined ? 2147483647 : 6;
  const tl = at(spec, 'template.metadata.labels') as Record<string, string> | undefined;
  const meta = (obj.metadata ??= {});
  if (tl && !Object.keys(meta.labels ?? {}).length) meta.labels = { ...tl };
  spec.completionMode ??= 'NonIndexed';
  spec.suspend ??= false;
  // JobPodReplacementPolicy (beta, on in 1.32).
  spec.podReplacementPolicy ??= spec.podFailurePolicy ? 'Failed' : 'TerminatingOrFailed';
  for (const r of (at(spec, 'podFailurePolicy.rules') as Obj[] | undefined) ?? [])
    for (const c of (r.onPodConditions as Obj[] | undefined) ?? []) c.status ??= 'True';
  defaultPodSpec(at(spec, 'template.spec') as Obj | undefined);
}

/** generateSelector (pkg/registry/batch/job/strategy.go): the template's labels and the selector on its uid. */
function generateSelector(obj: KubeObject): void {
  const spec = (obj.spec ??= {}) as Obj;
  const template = (spec.template ??= {}) as Obj;
  const tmeta = (template.metadata ??= {}) as Obj;
  const labels = (tmeta.labels ??= {}) as Record<string, string>;
  const uid = obj.metadata?.uid ?? '';
  const name = obj.metadata?.name ?? '';
  labels[LEGACY_NAME] ??= name;
  labels[JOB_NAME_LABEL] ??= name;
  labels[LEGACY_UID] ??= uid;
  labels[CONTROLLER_UID_LABEL] ??= uid;
  const sel = (spec.selector ??= {}) as Obj;
  const ml = (sel.matchLabels ??= {}) as Record<string, string>;
  ml[CONTROLLER_UID_LABEL] ??= uid;
}

/** The JobSpec rules shared by Jobs and CronJob templates (validateJobSpec). */
function jobSpecErrors(spec: Obj, path: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const f of [
    'parallelism',
    'completions',
    'activeDeadlineSeconds',
    'backoffLimit',
    'ttlSecondsAfterFinished',
  ])
    errs.push(...nonNegative(`${path}.${f}`, spec[f]));
  errs.push(...notSupported(`${path}.completionMode`, spec.completionMode, ['NonIndexed', 'Indexed']));
  if (spec.completionMode === 'Indexed' && spec.completions === undefined)
    errs.push({
      type: 'FieldValueRequired',
      field: `${path}.completions`,
      detail: 'when completion mode is Indexed',
    });
  errs.push(
    ...notSupported(`${path}.podReplacementPolicy`, spec.podReplacementPolicy, [
      'Failed',
      'TerminatingOrFailed',
    ]),
  );
  errs.push(...indexedJobErrors(spec, path));
  errs.push(...podTemplateErrors(spec, path, { restart: JOB_RESTART }));
  return errs;
}

export const jobStrategy: Strategy = {
  generation: 'spec',
  defaults: defaultJob,
  prepareForCreate(obj) {
    obj.status = {};
    const spec = (obj.spec ?? {}) as Obj;
    if (spec.manualSelector !== true) generateSelector(obj);
  },
  prepareForUpdate(obj, old) {
    obj.status = old.status;
  },
  validate(obj) {
    const spec = (obj.spec ?? {}) as Obj;
    const errs: FieldError[] = [];
    if (spec.manualSelector !== true) {
      const want = { matchLabels: { [CONTROLLER_UID_LABEL]: obj.metadata?.uid ?? '' } };
      const sel = spec.selector as Obj | undefined;
      // Only the generated selector is allowed without manualSelector (ValidateGeneratedSelector).
      if (sel && !same(sel, want) && !(obj.metadata?.uid === undefined))
        errs.push({
          type: 'FieldValueInvalid',
          field: 'spec.selector',
          badValue: sel,
          detail: '`selector` not auto-generated',
        });
    }
    errs.push(...selectorMatchesTemplate(spec, 'spec', 'job'));
    errs.push(...jobSpecErrors(spec, 'spec'));
    return errs;
  },
  validateUpdate(obj, old) {
    const errs = [...immutable('spec.selector', obj, old), ...immutable('spec.completionMode', obj, old)];
    for (const f of ['podFailurePolicy', 'backoffLimitPerIndex', 'successPolicy'])
      errs.push(...immutable(`spec.${f}`, obj, old));
    // The template may change only while the job is suspended (mutable scheduling directives).
    if (!(at(old, 'spec.suspend') === true && at(obj, 'spec.suspend') === true))
      errs.push(...immutable('spec.template', obj, old));
    // completions may change only together with parallelism on Indexed jobs (elastic indexed jobs).
    const elastic =
      at(obj, 'spec.completionMode') === 'Indexed' &&
      at(obj, 'spec.completions') === at(obj, 'spec.parallelism');
    if (!elastic) errs.push(...immutable('spec.completions', obj, old));
    return errs;
  },
  fieldSelectors: { 'status.successful': (o) => str(at(o, 'status.succeeded') ?? 0) },
  table: {
    columns: [
      NAME_COLUMN,
      col('Status', 'string', 0, 'Status of the job.'),
      col('Completions', 'string', 0, 'The number of pods which reached phase Succeeded.'),
      col('Duration', 'string', 0, 'Time required to complete the job.'),
      AGE_COLUMN,
      col('Containers', 'string', 1, 'Names of each container in the template.'),
      col('Images', 'string', 1, 'Images referenced by each container in the template.'),
      col('Selector', 'string', 1, 'A label query over pods that should match the pod count.'),
    ],
    cells(o) {
      const [containers, images] = templateContainers(at(o, 'spec.template'));
      return [
        o.metadata?.name,
        jobStatus(o),
        completions(o),
        jobDuration(o),
        age(o),
        containers,
        images,
        formatSelector(at(o, 'spec.selector')),
      ];
    },
  },
};

function completions(o: KubeObject): string {
  const succeeded = (at(o, 'status.succeeded') as number | undefined) ?? 0;
  const c = at(o, 'spec.completions');
  if (typeof c === 'number') return `${succeeded}/${c}`;
  const p = (at(o, 'spec.parallelism') as number | undefined) ?? 0;
  return p > 1 ? `${succeeded}/1 of ${p}` : `${succeeded}/1`;
}

function jobDuration(o: KubeObject): string {
  const start = at(o, 'status.startTime') as string | undefined;
  if (!start) return '';
  const end = at(o, 'status.completionTime') as string | undefined;
  return end ? humanDuration(Date.parse(end) - Date.parse(start)) : since(start);
}

function jobStatus(o: KubeObject): string {
  const conds = (at(o, 'status.conditions') as Array<{ type?: string; status?: string }> | undefined) ?? [];
  const has = (t: string) => conds.find((c) => c.type === t)?.status === 'True';
  if (has('Complete')) return 'Complete';
  if (has('Failed')) return 'Failed';
  if (o.metadata?.deletionTimestamp) return 'Terminating';
  if (has('Suspended')) return 'Suspended';
  if (has('FailureTarget')) return 'FailureTarget';
  return 'Running';
}

/** validateScheduleFormat: robfig/cron's ParseStandard error, verbatim; a TZ prefix is refused (use timeZone). */
function scheduleErrors(schedule: unknown): FieldError[] {
  if (typeof schedule !== 'string' || !schedule)
    return [{ type: 'FieldValueRequired', field: 'spec.schedule' }];
  const bad = (detail: string): FieldError => ({
    type: 'FieldValueInvalid',
    field: 'spec.schedule',
    badValue: schedule,
    detail,
  });
  const errs: FieldError[] = [];
  try {
    parseSchedule(schedule);
  } catch (e) {
    if (!(e instanceof CronError)) throw e;
    errs.push(bad(e.message));
  }
  if (schedule.includes('TZ'))
    errs.push(bad('cannot use TZ or CRON_TZ in schedule, use timeZone field instead'));
  return errs;
}

/** validateTimeZone: an IANA name (legacy characters tolerated), not Local. */
function timeZoneErrors(tz: unknown): FieldError[] {
  if (tz === undefined || tz === null) return [];
  const bad = (detail: string): FieldError => ({
    type: 'FieldValueInvalid',
    field: 'spec.timeZone',
    badValue: tz,
    detail,
  });
  if (typeof tz !== 'string' || !tz) return [bad('timeZone must be nil or non-empty string')];
  const partOk = (p: string) =>
    p !== '.' && p !== '..' && !p.startsWith('-') && /^[A-Za-z.\-_0-9+]{1,14}$/.test(p);
  if (!tz.split('/').every(partOk)) return [bad(`unknown time zone ${tz}`)];
  if (tz.toLowerCase() === 'local')
    return [bad('timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones')];
  return validTimeZone(tz) ? [] : [bad(`unknown time zone ${tz}`)];
}

export const cronJobStrategy: Strategy = {
  generation: 'spec',
  defaults(obj) {
    const spec = (obj.spec ??= {}) as Obj;
    spec.concurrencyPolicy ||= 'Allow';
    spec.suspend ??= false;
    spec.successfulJobsHistoryLimit ??= 3;
    spec.failedJobsHistoryLimit ??= 1;
    defaultPodSpec(at(spec, 'jobTemplate.spec.template.spec') as Obj | undefined);
  },
  prepareForCreate(obj) {
    obj.status = {};
  },
  prepareForUpdate(obj, old) {
    obj.status = old.status;
  },
  validate(obj) {
    const spec = (obj.spec ?? {}) as Obj;
    const errs: FieldError[] = [];
    // The Job names carry an 11-character suffix, so a CronJob's name is held to 63 - 11.
    const name = obj.metadata?.name ?? '';
    if (name.length > 52)
      errs.push({
        type: 'FieldValueInvalid',
        field: 'metadata.name',
        badValue: name,
        detail: maxLenError(52),
      });
    errs.push(...scheduleErrors(spec.schedule));
    errs.push(...timeZoneErrors(spec.timeZone));
    errs.push(
      ...notSupported('spec.concurrencyPolicy', spec.concurrencyPolicy, ['Allow', 'Forbid', 'Replace']),
    );
    for (const f of ['startingDeadlineSeconds', 'successfulJobsHistoryLimit', 'failedJobsHistoryLimit'])
      errs.push(...nonNegative(`spec.${f}`, spec[f]));
    const jt = (at(spec, 'jobTemplate.spec') as Obj | undefined) ?? {};
    errs.push(...jobSpecErrors(jt, 'spec.jobTemplate.spec'));
    return errs;
  },
  table: {
    columns: [
      NAME_COLUMN,
      col('Schedule', 'string', 0, 'The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron.'),
      col('Timezone', 'string', 0, 'The time zone name for the given schedule.'),
      col('Suspend', 'boolean', 0, 'This flag tells the controller to suspend subsequent executions.'),
      col('Active', 'integer', 0, 'A list of pointers to currently running jobs.'),
      col(
        'Last Schedule',
        'string',
        0,
        'Information when was the last time the job was successfully scheduled.',
      ),
      AGE_COLUMN,
      col('Containers', 'string', 1, 'Names of each container in the template.'),
      col('Images', 'string', 1, 'Images referenced by each container in the template.'),
      col('Selector', 'string', 1, 'A label query over pods that should match the pod count.'),
    ],
    cells(o) {
      const [containers, images] = templateContainers(at(o, 'spec.jobTemplate.spec.template'));
      const last = at(o, 'status.lastScheduleTime') as string | undefined;
      const suspend = at(o, 'spec.suspend');
      return [
        o.metadata?.name,
        at(o, 'spec.schedule') ?? '',
        at(o, 'spec.timeZone') ?? '<none>',
        // printBoolPtr: "<unset>" for nil, else True/False
        typeof suspend === 'boolean' ? (suspend ? 'True' : 'False') : '<unset>',
        ((at(o, 'status.active') as unknown[] | undefined) ?? []).length,
        last ? since(last) : '<none>',
        age(o),
        containers,
        images,
        formatSelector(at(o, 'spec.jobTemplate.spec.selector')),
      ];
    },
  },
};
