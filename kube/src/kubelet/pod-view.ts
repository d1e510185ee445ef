/** A pod as the engine holds it, read from labels alone: its sandboxes and its containers' instances, newest first. */
import type { ContainerInspect, ContainerSummary } from '@berth/common/api/containers';
import type { EngineClient } from './engine/client.js';
import {
  LABEL_CONTAINER_NAME,
  LABEL_POD_NAME,
  LABEL_POD_NAMESPACE,
  LABEL_POD_UID,
  LABEL_TYPE,
  parseName,
  TYPE_SANDBOX,
} from './naming.js';
import { restartCountOf } from './status.js';

export interface PodView {
  sandboxes: ContainerInspect[];
  containers: Map<string, ContainerInspect[]>;
}

const attemptOf = (info: { Name: string }): number => parseName(info.Name)?.attempt ?? 0;

export async function inspectPod(engine: EngineClient, uid: string): Promise<PodView> {
  const list = await engine.containerList({ all: true, labels: { [LABEL_POD_UID]: uid } });
  const infos = (await Promise.all(list.map((s) => engine.containerInspect(s.Id)))).filter(
    (x): x is ContainerInspect => x !== undefined,
  );
  const byNewest = (a: ContainerInspect, b: ContainerInspect, n: (x: ContainerInspect) => number) =>
    n(b) - n(a) || Date.parse(b.Created) - Date.parse(a.Created);
  const sandboxes = infos
    .filter((i) => i.Config.Labels?.[LABEL_TYPE] === TYPE_SANDBOX)
    .sort((a, b) => byNewest(a, b, attemptOf));
  const containers = new Map<string, ContainerInspect[]>();
  for (const i of infos) {
    if (i.Config.Labels?.[LABEL_TYPE] === TYPE_SANDBOX) continue;
    const name = i.Config.Labels?.[LABEL_CONTAINER_NAME];
    if (!name) continue;
    (containers.get(name) ?? containers.set(name, []).get(name)!).push(i);
  }
  for (const l of containers.values()) l.sort((a, b) => byNewest(a, b, restartCountOf));
  return { sandboxes, containers };
}

export interface PodGroup {
  uid: string;
  name: string;
  namespace: string;
  summaries: ContainerSummary[];
}

/** Every container under the kubelet's labels, grouped by pod uid. */
export async function listPodGroups(engine: EngineClient): Promise<PodGroup[]> {
  const list = await engine.containerList({
    all: true,
    labels: { [LABEL_POD_UID]: undefined, [LABEL_TYPE]: undefined },
  });
  const groups = new Map<string, PodGroup>();
  for (const s of list) {
    const uid = s.Labels[LABEL_POD_UID];
    const g =
      groups.get(uid) ??
      groups
        .set(uid, {
          uid,
          name: s.Labels[LABEL_POD_NAME] ?? '',
          namespace: s.Labels[LABEL_POD_NAMESPACE] ?? '',
          summaries: [],
        })
        .get(uid)!;
    g.summaries.push(s);
  }
  return [...groups.values()];
}
