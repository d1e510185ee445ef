/** Status conditions as the controllers keep them: one per type, lastTransitionTime kept while status holds. */
import { rfc3339 } from '../../registry/generic/metadata.js';
import type { Condition } from './types.js';

export const nowRfc3339 = (ms = Date.now()): string => rfc3339(new Date(ms));

export function getCondition<C extends Condition>(list: C[] | undefined, type: string): C | undefined {
  return list?.find((c) => c.type === type);
}

/**
 * Sets `c` in `list` (returning the new list): a condition with the same status and reason is left as it is;
 * the same status with another reason keeps lastTransitionTime.
 */
export function setCondition<C extends Condition>(list: C[] | undefined, c: C): C[] {
  const cur = getCondition(list, c.type);
  if (cur && cur.status === c.status && cur.reason === c.reason && cur.message === c.message)
    return list ?? [];
  if (cur && cur.status === c.status && cur.lastTransitionTime)
    c = { ...c, lastTransitionTime: cur.lastTransitionTime };
  return [...(list ?? []).filter((x) => x.type !== c.type), c];
}

export function removeCondition<C extends Condition>(list: C[] | undefined, type: string): C[] {
  return (list ?? []).filter((c) => c.type !== type);
}
