/** Label and field selectors of a list or watch, compiled once into a predicate over objects of one type. */
import { badRequest } from '../../errors.js';
import { matchesFields, parseFieldSelector } from '../../selectors/fields.js';
import { matchesLabels, parseLabelSelector } from '../../selectors/labels.js';
import type { KubeObject, ResourceType } from '../types.js';

export interface Selection {
  matches(obj: KubeObject): boolean;
  /** True when something is selected by (remainingItemCount is only given for unfiltered lists). */
  readonly filtered: boolean;
}

export function compileSelection(t: ResourceType, labelSelector?: string, fieldSelector?: string): Selection {
  let labels: ReturnType<typeof parseLabelSelector> = [];
  let fields: ReturnType<typeof parseFieldSelector> = [];
  try {
    labels = labelSelector ? parseLabelSelector(labelSelector) : [];
    fields = fieldSelector ? parseFieldSelector(fieldSelector) : [];
  } catch (e) {
    throw badRequest((e as Error).message);
  }
  const getters = t.strategy.fieldSelectors ?? {};
  for (const f of fields) {
    if (f.field === 'metadata.name' || (f.field === 'metadata.namespace' && t.namespaced)) continue;
    if (!getters[f.field]) throw badRequest(`field label not supported: ${f.field}`);
  }
  const fieldValue = (obj: KubeObject) => (f: string) => {
    if (f === 'metadata.name') return obj.metadata?.name;
    if (f === 'metadata.namespace') return obj.metadata?.namespace;
    return getters[f]?.(obj);
  };
  const filtered = labels.length > 0 || fields.length > 0;
  return {
    filtered,
    matches: (obj) =>
      !filtered || (matchesLabels(labels, obj.metadata?.labels) && matchesFields(fields, fieldValue(obj))),
  };
}
