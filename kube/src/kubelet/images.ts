/**
 * Image pulls for containers: Kubernetes' pull policies (`:latest` or untagged default to Always), registry auth from
 * imagePullSecrets, the kubelet's event texts, and Berth's desktop rule: when a pull fails and the image is in the
 * engine's store (say `docker build -t myapp .`), the local image runs and a Warning says so.
 */
import type { ImageInspect } from '@berth/common/api/images';
import type { EngineClient } from './engine/client.js';
import { EngineError } from './engine/http.js';
import type { RegistryAuth } from './engine/types.js';
import { StartError } from './errors.js';
import type { PodInputs } from './inputs.js';
import type { Container, Pod } from './types.js';

export interface ImageEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/** `name[:tag][@digest]` → whether it names a tag other than latest, or a digest. */
export function hasPinnedTag(image: string): boolean {
  if (image.includes('@')) return true;
  const last = image.slice(image.lastIndexOf('/') + 1);
  const i = last.indexOf(':');
  return i >= 0 && last.slice(i + 1) !== 'latest';
}

export function pullPolicy(c: Container): 'Always' | 'IfNotPresent' | 'Never' {
  const p = c.imagePullPolicy;
  if (p === 'Always' || p === 'IfNotPresent' || p === 'Never') return p;
  return hasPinnedTag(c.image ?? '') ? 'IfNotPresent' : 'Always';
}

/** The registry host of a reference, Docker Hub's names for docker.io. */
export function registryHost(image: string): string {
  const first = image.split('/')[0];
  if (!image.includes('/') || !(first.includes('.') || first.includes(':') || first === 'localhost'))
    return 'docker.io';
  return first === 'index.docker.io' ? 'docker.io' : first;
}

/** Credentials for `image` from the pod's dockerconfigjson/dockercfg pull secrets, in order. */
export function pullCredentials(pod: Pod, image: string, inputs: PodInputs): RegistryAuth[] {
  const host = registryHost(image);
  const out: RegistryAuth[] = [];
  for (const ref of pod.spec?.imagePullSecrets ?? []) {
    const s = inputs.secrets[ref.name ?? ''];
    if (!s?.data) continue;
    const raw = s.data['.dockerconfigjson'] ?? s.data['.dockercfg'];
    if (!raw) continue;
    let cfg: { auths?: Record<string, RegistryEntry> } & Record<string, RegistryEntry>;
    try {
      cfg = JSON.parse(Buffer.from(raw, 'base64').toString('utf8')) as typeof cfg;
    } catch {
      continue;
    }
    const auths: Record<string, RegistryEntry> = cfg.auths ?? cfg;
    for (const [key, e] of Object.entries(auths)) {
      if (normalizeKey(key) !== host) continue;
      let { username, password } = e;
      if (!username && e.auth) {
        const dec = Buffer.from(e.auth, 'base64').toString('utf8');
        const i = dec.indexOf(':');
        username = dec.slice(0, i);
        password = dec.slice(i + 1);
      }
      out.push({ username, password, serveraddress: key });
    }
  }
  return out;
}

interface RegistryEntry {
  username?: string;
  password?: string;
  auth?: string;
}

function normalizeKey(k: string): string {
  const h = k.replace(/^https?:\/\//, '').split('/')[0];
  return h === 'index.docker.io' || h === 'registry-1.docker.io' ? 'docker.io' : h;
}

/** docker-pullable://repo@digest when the image came from a registry, docker://sha256:... otherwise (cri-dockerd). */
export function imageIdFor(img: ImageInspect | undefined, image: string): string {
  if (!img) return '';
  const repo = image.split('@')[0].replace(/:[^/:]*$/, '');
  const digest =
    img.RepoDigests?.find((d) => d.split('@')[0] === repo || d.split('@')[0].endsWith(`/${repo}`)) ??
    img.RepoDigests?.[0];
  return digest ? `docker-pullable://${digest}` : `docker://${img.Id}`;
}

/**
 * Makes the container's image available per its pull policy. Throws StartError ErrImagePull (with the
 * registry's message) or ErrImageNeverPull; `emit` gets the events the kubelet records.
 */
export async function ensureImage(
  engine: EngineClient,
  pod: Pod,
  c: Container,
  inputs: PodInputs,
  emit: (e: ImageEvent) => void,
): Promise<ImageInspect> {
  const image = c.image ?? '';
  if (!image)
    throw new StartError(
      'InvalidImageName',
      `Failed to apply default image tag "": couldn't parse image name "": invalid reference format`,
    );
  const policy = pullPolicy(c);
  const local = await engine.imageInspect(image);
  const present = (img: ImageInspect): ImageInspect => {
    emit({
      type: 'Normal',
      reason: 'Pulled',
      message: `Container image "${image}" already present on machine`,
    });
    return img;
  };
  if (policy === 'Never') {
    if (local) return present(local);
    throw new StartError(
      'ErrImageNeverPull',
      `Container image "${image}" is not present with pull policy of Never`,
    );
  }
  if (policy === 'IfNotPresent' && local) return present(local);
  emit({ type: 'Normal', reason: 'Pulling', message: `Pulling image "${image}"` });
  const started = Date.now();
  const creds = pullCredentials(pod, image, inputs);
  let lastErr: Error | undefined;
  for (const auth of creds.length ? creds : [undefined]) {
    try {
      await engine.imagePull(image, auth ? { auth } : {});
      const img = await engine.imageInspect(image);
      if (!img) throw new EngineError(404, `image ${image} missing after pull`);
      const secs = ((Date.now() - started) / 1000).toFixed(3);
      emit({
        type: 'Normal',
        reason: 'Pulled',
        message: `Successfully pulled image "${image}" in ${secs}s (${secs}s including waiting). Image size: ${img.Size} bytes.`,
      });
      return img;
    } catch (err) {
      lastErr = err as Error;
    }
  }
  const why = lastErr?.message ?? 'unknown error';
  if (local) {
    emit({
      type: 'Warning',
      reason: 'PullFailedUsingLocalImage',
      message: `Failed to pull image "${image}": ${why}; running the image found in the local store instead`,
    });
    return local;
  }
  throw new StartError('ErrImagePull', `Failed to pull image "${image}": ${why}`);
}
