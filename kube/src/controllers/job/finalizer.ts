/** The Job controller's release of a pod: its tracking finalizer removed, only if it is still where it was. */
import { isKubeError } from '../../errors.js';
import type { ResourceClient } from '../../client/index.js';
import type { Pod } from '../framework/types.js';
import { hasTracking, TRACKING_FINALIZER } from './util.js';

/** Removes the tracking finalizer (a JSON patch that tests it is where it was); false when the pod is gone. */
export async function removeTrackingFinalizer(pods: ResourceClient<Pod>, p: Pod): Promise<boolean> {
  const fins = p.metadata?.finalizers ?? [];
  const i = fins.indexOf(TRACKING_FINALIZER);
  if (i < 0) return true;
  try {
    await pods.patch(
      p.metadata?.name ?? '',
      'json',
      [
        { op: 'test', path: '/metadata/uid', value: p.metadata?.uid },
        { op: 'test', path: `/metadata/finalizers/${i}`, value: TRACKING_FINALIZER },
        { op: 'remove', path: `/metadata/finalizers/${i}` },
      ],
      { namespace: p.metadata?.namespace ?? '' },
    );
    return true;
  } catch (e) {
    if (isKubeError(e, 'NotFound')) return false;
    if (isKubeError(e, 'Invalid') || isKubeError(e, 'Conflict')) {
      // Moved or replaced since the cache saw it: read it again.
      const fresh = await pods
        .get(p.metadata?.name ?? '', { namespace: p.metadata?.namespace ?? '' })
        .catch((err: unknown) => {
          if (isKubeError(err, 'NotFound')) return undefined;
          throw err;
        });
      if (!fresh || fresh.metadata?.uid !== p.metadata?.uid) return false;
      if (!hasTracking(fresh)) return true;
      return removeTrackingFinalizer(pods, fresh);
    }
    throw e;
  }
}
