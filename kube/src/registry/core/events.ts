/** Events: the field selectors `kubectl describe` uses, and kube-apiserver's event columns (LAST SEEN first). */
import { at, col, since, str, NAME_COLUMN } from '../printing.js';
import type { KubeObject, Strategy } from '../types.js';

const involved = (e: KubeObject, f: string) => str(at(e, `involvedObject.${f}`));

function source(e: KubeObject): string {
  const component = str(at(e, 'source.component')) || str(e.reportingComponent);
  const host = str(at(e, 'source.host')) || str(e.reportingInstance);
  if (!component) return '<unknown>';
  return host ? `${component}, ${host}` : component;
}

export const eventStrategy: Strategy = {
  allowCreateOnUpdate: true,
  fieldSelectors: {
    'involvedObject.kind': (e) => involved(e, 'kind'),
    'involvedObject.namespace': (e) => involved(e, 'namespace'),
    'involvedObject.name': (e) => involved(e, 'name'),
    'involvedObject.uid': (e) => involved(e, 'uid'),
    'involvedObject.apiVersion': (e) => involved(e, 'apiVersion'),
    'involvedObject.resourceVersion': (e) => involved(e, 'resourceVersion'),
    'involvedObject.fieldPath': (e) => involved(e, 'fieldPath'),
    reason: (e) => str(e.reason),
    reportingComponent: (e) => str(e.reportingComponent),
    source: (e) => str(at(e, 'source.component')),
    type: (e) => str(e.type),
  },
  table: {
    columns: [
      col(
        'Last Seen',
        'string',
        0,
        'The time at which the most recent occurrence of this event was recorded.',
      ),
      col(
        'Type',
        'string',
        0,
        'Type of this event (Normal, Warning), new types could be added in the future',
      ),
      col(
        'Reason',
        'string',
        0,
        "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
      ),
      col('Object', 'string', 0, 'The object that this event is about'),
      col(
        'Subobject',
        'string',
        1,
        'If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement.',
      ),
      col(
        'Source',
        'string',
        1,
        'The component reporting this event. Should be a short machine understandable string.',
      ),
      col('Message', 'string', 0, 'A human-readable description of the status of this operation.'),
      col(
        'First Seen',
        'string',
        1,
        'The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)',
      ),
      col('Count', 'string', 1, 'The number of times this event has occurred.'),
      { ...NAME_COLUMN, priority: 1 },
    ],
    cells(e) {
      const first = str(e.firstTimestamp)
        ? since(str(e.firstTimestamp))
        : since(str(e.eventTime) || undefined);
      let last = str(e.lastTimestamp) ? since(str(e.lastTimestamp)) : first;
      let count = typeof e.count === 'number' && e.count > 0 ? e.count : 1;
      const series = e.series as { lastObservedTime?: string; count?: number } | undefined;
      if (series) {
        last = since(series.lastObservedTime);
        count = series.count ?? count;
      }
      const kind = involved(e, 'kind').toLowerCase();
      const name = involved(e, 'name');
      return [
        last,
        str(e.type),
        str(e.reason),
        name ? `${kind}/${name}` : kind,
        involved(e, 'fieldPath'),
        source(e),
        str(e.message).trim(),
        first,
        count,
        e.metadata?.name,
      ];
    },
  },
};
