/**
 * A small typed Engine API client: the calls the kubelet makes to berthd (images, containers, exec, attach, networks,
 * volumes, events). Payload types are common/src/api's. 404s on inspect come back as `undefined`; every other
 * failure is an EngineError with dockerd's message.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import type {
  ContainerCreateRequest,
  ContainerCreateResponse,
  ContainerInspect,
  ContainerSummary,
  ContainerTopResponse,
  ContainerWaitResponse,
  ExecConfig,
  ExecInspect,
} from '@berth/common/api/containers';
import type { EventMessage } from '@berth/common/api/events';
import type { ImageInspect } from '@berth/common/api/images';
import type { Network, NetworkCreateRequest, NetworkCreateResponse } from '@berth/common/api/networks';
import type { ProgressMessage } from '@berth/common/api/progress';
import type { Volume, VolumeCreateOptions } from '@berth/common/api/volumes';
import { jsonLines } from './frames.js';
import { EngineError, EngineHttp, isEngineError, type Query } from './http.js';
import type { AttachQuery, ContainerStats, LogsQuery, RegistryAuth } from './types.js';

const enc = encodeURIComponent;

/** Label filters for list calls: `{ 'io.kubernetes.pod.uid': 'x', 'io.kubernetes.docker.type': undefined }`. */
export type LabelFilter = Record<string, string | undefined>;

function filters(labels: LabelFilter | undefined, extra: Record<string, string[]> = {}): string | undefined {
  const f: Record<string, string[]> = { ...extra };
  if (labels && Object.keys(labels).length)
    f.label = Object.entries(labels).map(([k, v]) => (v === undefined ? k : `${k}=${v}`));
  return Object.keys(f).length ? JSON.stringify(f) : undefined;
}

/** X-Registry-Auth: base64url of the JSON credentials, as the docker CLI sends it. */
export function encodeAuth(a: RegistryAuth): string {
  return Buffer.from(JSON.stringify(a)).toString('base64url');
}

async function orUndefined<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (isEngineError(err, 404)) return undefined;
    throw err;
  }
}

export class EngineClient {
  readonly http: EngineHttp;

  constructor(endpoint: string) {
    this.http = new EngineHttp(endpoint);
  }

  async ping(): Promise<boolean> {
    try {
      return (await this.http.buffer('GET', '/_ping')).toString() === 'OK';
    } catch {
      return false;
    }
  }

  info(): Promise<{
    NCPU: number;
    MemTotal: number;
    Name: string;
    KernelVersion: string;
    OperatingSystem: string;
  }> {
    return this.http.json('GET', '/info');
  }

  // ---- images

  imageInspect(ref: string): Promise<ImageInspect | undefined> {
    return orUndefined(this.http.json<ImageInspect>('GET', `/images/${enc(ref)}/json`));
  }

  /**
   * Pulls `ref`; resolves when the pull ends. The progress stream reports failures in-band (`{error}` after a
   * 200), which become an EngineError with the registry's message (404 for "not found"/"manifest unknown").
   */
  async imagePull(
    ref: string,
    o: { auth?: RegistryAuth; onProgress?: (m: ProgressMessage) => void; signal?: AbortSignal } = {},
  ): Promise<void> {
    const res = await this.http.stream('POST', '/images/create', {
      query: { fromImage: ref },
      headers: o.auth ? { 'X-Registry-Auth': encodeAuth(o.auth) } : {},
      ...(o.signal ? { signal: o.signal } : {}),
    });
    for await (const m of jsonLines<ProgressMessage>(res)) {
      if (m.error) throw new EngineError(m.errorDetail?.code ?? 500, m.errorDetail?.message ?? m.error);
      o.onProgress?.(m);
    }
  }

  /** docker import: a root filesystem tar (uncompressed or gzip) with Dockerfile `changes`. Returns the image id. */
  async imageImport(
    tar: Buffer | Readable,
    repo: string,
    tag: string,
    changes: string[] = [],
  ): Promise<string> {
    const res = await this.http.stream('POST', '/images/create', {
      query: { fromSrc: '-', repo, tag, changes },
      body: tar,
      headers: { 'Content-Type': 'application/x-tar' },
    });
    let id = '';
    for await (const m of jsonLines<ProgressMessage>(res)) {
      if (m.error) throw new EngineError(500, m.errorDetail?.message ?? m.error);
      if (m.status?.startsWith('sha256:')) id = m.status;
    }
    return id;
  }

  // ---- containers

  containerCreate(name: string, body: ContainerCreateRequest): Promise<ContainerCreateResponse> {
    return this.http.json('POST', '/containers/create', { query: { name }, body });
  }

  containerStart(id: string): Promise<void> {
    return this.http.call('POST', `/containers/${enc(id)}/start`);
  }

  /** Stop with `t` seconds before SIGKILL (the engine sends the image's stop signal first). */
  containerStop(id: string, t: number, signal?: string): Promise<void> {
    return this.http.call('POST', `/containers/${enc(id)}/stop`, { query: { t, signal } });
  }

  containerKill(id: string, signal = 'SIGKILL'): Promise<void> {
    return this.http.call('POST', `/containers/${enc(id)}/kill`, { query: { signal } });
  }

  containerRemove(id: string, o: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    return this.http.call('DELETE', `/containers/${enc(id)}`, { query: { force: o.force, v: o.volumes } });
  }

  containerInspect(id: string): Promise<ContainerInspect | undefined> {
    return orUndefined(this.http.json<ContainerInspect>('GET', `/containers/${enc(id)}/json`));
  }

  containerList(
    o: { all?: boolean; labels?: LabelFilter; extra?: Record<string, string[]> } = {},
  ): Promise<ContainerSummary[]> {
    const q: Query = { all: o.all ?? true, filters: filters(o.labels, o.extra) };
    return this.http.json('GET', '/containers/json', { query: q });
  }

  containerWait(
    id: string,
    condition: 'not-running' | 'next-exit' | 'removed' = 'not-running',
    signal?: AbortSignal,
  ): Promise<ContainerWaitResponse> {
    return this.http.json('POST', `/containers/${enc(id)}/wait`, {
      query: { condition },
      ...(signal ? { signal } : {}),
    });
  }

  /** The raw logs stream (multiplexed frames unless the container has a TTY). */
  containerLogs(id: string, q: LogsQuery, signal?: AbortSignal): Promise<IncomingMessage> {
    const query: Query = { stdout: q.stdout ?? true, stderr: q.stderr ?? true };
    if (q.follow) query.follow = true;
    if (q.timestamps) query.timestamps = true;
    if (q.since !== undefined) query.since = q.since;
    if (q.until !== undefined) query.until = q.until;
    if (q.tail !== undefined) query.tail = q.tail;
    return this.http.stream('GET', `/containers/${enc(id)}/logs`, { query, ...(signal ? { signal } : {}) });
  }

  containerStats(id: string): Promise<ContainerStats> {
    return this.http.json('GET', `/containers/${enc(id)}/stats`, { query: { stream: false } });
  }

  containerTop(id: string, psArgs?: string): Promise<ContainerTopResponse> {
    return this.http.json('GET', `/containers/${enc(id)}/top`, { query: { ps_args: psArgs } });
  }

  containerResize(id: string, h: number, w: number): Promise<void> {
    return this.http.call('POST', `/containers/${enc(id)}/resize`, { query: { h, w } });
  }

  containerAttach(id: string, q: AttachQuery): Promise<Duplex> {
    const query: Query = { stream: q.stream ?? true, stdin: q.stdin, stdout: q.stdout, stderr: q.stderr };
    if (q.logs) query.logs = true;
    if (q.detachKeys !== undefined) query.detachKeys = q.detachKeys;
    return this.http.hijack('POST', `/containers/${enc(id)}/attach`, { query });
  }

  /** Reads one file out of a container (GET /containers/{id}/archive): a tar with that entry. */
  containerArchive(id: string, p: string): Promise<IncomingMessage> {
    return this.http.stream('GET', `/containers/${enc(id)}/archive`, { query: { path: p } });
  }

  // ---- exec

  async execCreate(id: string, cfg: ExecConfig): Promise<string> {
    return (await this.http.json<{ Id: string }>('POST', `/containers/${enc(id)}/exec`, { body: cfg })).Id;
  }

  /** Starts an exec attached: the hijacked stream (frames unless Tty); a terminal starts at `size` [h, w]. */
  execStart(execId: string, tty: boolean, size?: [number, number]): Promise<Duplex> {
    const body = { Detach: false, Tty: tty, ...(size ? { ConsoleSize: size } : {}) };
    return this.http.hijack('POST', `/exec/${enc(execId)}/start`, { body });
  }

  execResize(execId: string, h: number, w: number): Promise<void> {
    return this.http.call('POST', `/exec/${enc(execId)}/resize`, { query: { h, w } });
  }

  execInspect(execId: string): Promise<ExecInspect> {
    return this.http.json('GET', `/exec/${enc(execId)}/json`);
  }

  // ---- networks and volumes

  networkInspect(ref: string): Promise<Network | undefined> {
    return orUndefined(this.http.json<Network>('GET', `/networks/${enc(ref)}`));
  }

  networkCreate(req: NetworkCreateRequest): Promise<NetworkCreateResponse> {
    return this.http.json('POST', '/networks/create', { body: req });
  }

  networkRemove(ref: string): Promise<void> {
    return this.http.call('DELETE', `/networks/${enc(ref)}`);
  }

  volumeCreate(o: VolumeCreateOptions): Promise<Volume> {
    return this.http.json('POST', '/volumes/create', { body: o });
  }

  volumeInspect(name: string): Promise<Volume | undefined> {
    return orUndefined(this.http.json<Volume>('GET', `/volumes/${enc(name)}`));
  }

  volumeRemove(name: string, force = false): Promise<void> {
    return this.http.call('DELETE', `/volumes/${enc(name)}`, { query: { force } });
  }

  // ---- events

  /** The /events stream from now on (until `signal` aborts), filtered by type and labels. */
  async *events(o: { labels?: LabelFilter; type?: string[]; since?: number; signal?: AbortSignal } = {}) {
    const res = await this.http.stream('GET', '/events', {
      query: { filters: filters(o.labels, o.type ? { type: o.type } : {}), since: o.since },
      ...(o.signal ? { signal: o.signal } : {}),
    });
    yield* jsonLines<EventMessage>(res);
  }
}
