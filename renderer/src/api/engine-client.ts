/**
 * The one typed client of the Docker Engine API v1.44 the dashboard uses. It knows paths and payloads;
 * the transport (IPC or HTTP+WS) carries bytes. Engine errors are thrown as EngineError with the engine's
 * message verbatim.
 */
import {
  API_VERSION,
  EngineError,
  type EventMessage,
  type HistoryItem,
  type ImageDeleteItem,
  type ImageInspect,
  type ImagePruneResponse,
  type ImageSummary,
  type Network,
  type NetworkCreateRequest,
  type NetworkCreateResponse,
  type ProgressMessage,
  type SystemInfo,
  type SystemVersion,
  type ContainerCreateRequest,
  type ContainerCreateResponse,
  type ContainerInspect,
  type ContainerPruneResponse,
  type ContainerSummary,
  type PathStat,
  type Volume,
  type VolumeListResponse,
  type VolumePruneResponse,
} from '@berth/common';
import type { ContainerStats } from './stats-types.js';
import { concatBytes, FrameDemuxer, NdjsonDecoder, type StdStream } from './streams.js';
import { parseTar, type TarEntry } from './tar.js';
import type { RawResponse, StreamHandle, Transport } from './transport.js';

export type Query = Record<string, string | number | boolean | undefined | Record<string, string[]>>;

export function buildPath(path: string, query?: Query): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v === undefined) continue;
    q.set(k, typeof v === 'object' ? JSON.stringify(v) : String(v));
  }
  const s = q.toString();
  return `/v${API_VERSION}${path}${s ? '?' + s : ''}`;
}

const dec = new TextDecoder();

/** The engine's `{message}` as an Error, or the raw body when it is not JSON. */
export function errorFrom(res: RawResponse): EngineError {
  const text = dec.decode(res.body);
  let message = text.trim() || `engine answered ${res.status}`;
  try {
    const j = JSON.parse(text) as { message?: unknown };
    if (typeof j.message === 'string') message = j.message;
  } catch {
    /* not JSON: keep the text */
  }
  return new EngineError(message, res.status);
}

/** A running stream: `done` settles when the engine ends it (or it fails), `close()` stops it early. */
export interface Stream {
  close(): void;
  done: Promise<void>;
}

export interface LiveSession extends Stream {
  write(data: string | Uint8Array): void;
}

export interface LogLine {
  stream: StdStream;
  text: string;
}

/** Reads are retried on a lost connection or a bridge that could not reach the engine (after these delays). */
const READ_RETRY_MS = [150, 600];
const IDEMPOTENT = new Set(['GET', 'HEAD']);

export class EngineClient {
  constructor(
    readonly transport: Transport,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {}

  /**
   * One request; a read (GET/HEAD) goes again when the connection failed or the bridge answered 502 (it
   * could not reach the engine: a VM tunnel's connection dropped), so a list or the info bar does not turn
   * into an error over one lost connection. Writes are never repeated: the engine may have done them.
   */
  private async send(req: Parameters<Transport['request']>[0]): Promise<RawResponse> {
    const retries = IDEMPOTENT.has(req.method) ? READ_RETRY_MS : [];
    for (let i = 0; ; i++) {
      let res: RawResponse | undefined;
      let err: unknown;
      try {
        res = await this.transport.request(req);
      } catch (e) {
        err = e;
      }
      if (res && (res.status !== 502 || i >= retries.length)) return res;
      if (i >= retries.length) throw err;
      await this.sleep(retries[i]);
    }
  }

  async raw(
    method: string,
    path: string,
    query?: Query,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<RawResponse> {
    const b =
      body === undefined
        ? undefined
        : body instanceof Uint8Array || typeof body === 'string'
          ? body
          : JSON.stringify(body);
    const res = await this.send({
      method,
      path: buildPath(path, query),
      ...(headers ? { headers } : {}),
      ...(b !== undefined ? { body: b } : {}),
    });
    if (res.status >= 400) throw errorFrom(res);
    return res;
  }

  async json<T>(method: string, path: string, query?: Query, body?: unknown): Promise<T> {
    const res = await this.raw(method, path, query, body);
    const text = dec.decode(res.body);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** A streamed response: errors before the first byte reject `done`; in-band errors too (ndjson `error`). */
  private openStream(
    method: string,
    path: string,
    query: Query | undefined,
    onData: (chunk: Uint8Array) => void,
    opts: {
      body?: string | Uint8Array;
      headers?: Record<string, string>;
      hijack?: boolean;
      onHead?: (headers: Record<string, string>) => void;
    } = {},
  ): LiveSession {
    let status = 0;
    const errChunks: Uint8Array[] = [];
    let resolve!: () => void;
    let reject!: (e: Error) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const handle: StreamHandle = this.transport.stream(
      {
        method,
        path: buildPath(path, query),
        ...(opts.headers ? { headers: opts.headers } : {}),
        ...(opts.body !== undefined ? { body: opts.body } : {}),
        ...(opts.hijack ? { hijack: true } : {}),
      },
      {
        onHead: (s, headers) => {
          status = s;
          if (s < 400) opts.onHead?.(headers);
        },
        onData: (chunk) => (status >= 400 ? errChunks.push(chunk) : onData(chunk)),
        onEnd: (err) => {
          if (status >= 400) {
            reject(errorFrom({ status, headers: {}, body: concatBytes(errChunks) }));
          } else if (err) reject(err);
          else resolve();
        },
      },
    );
    return { close: () => handle.close(), done, write: (d) => handle.write(d) };
  }

  private ndjson<T>(
    method: string,
    path: string,
    query: Query | undefined,
    onItem: (item: T) => void,
    opts: { body?: string | Uint8Array; headers?: Record<string, string> } = {},
  ): Stream {
    const d = new NdjsonDecoder<T>();
    let inband: Error | undefined;
    const s = this.openStream(
      method,
      path,
      query,
      (c) => {
        for (const item of d.push(c)) {
          const e =
            (item as { error?: string; errorDetail?: { message?: string } }).errorDetail?.message ??
            (item as { error?: string }).error;
          if (typeof e === 'string' && !inband) inband = new EngineError(e, 500);
          onItem(item);
        }
      },
      opts,
    );
    return {
      close: () => s.close(),
      done: s.done.then(() => {
        for (const item of d.flush()) onItem(item);
        if (inband) throw inband;
      }),
    };
  }

  // ---- system
  async ping(): Promise<boolean> {
    const r = await this.send({ method: 'GET', path: '/_ping' });
    return r.status === 200;
  }
  /**
   * Whether the engine answers, and if not, why in words: the bridge's explanation when it could not reach
   * the engine (502), the engine's own message otherwise. Resolves with the round trip in ms.
   */
  async check(): Promise<number> {
    const t0 = performance.now();
    const r = await this.send({ method: 'GET', path: '/_ping' });
    if (r.status !== 200) throw errorFrom(r);
    return performance.now() - t0;
  }
  version = () => this.json<SystemVersion>('GET', '/version');
  info = () => this.json<SystemInfo>('GET', '/info');
  df = (type?: string) =>
    this.json<{
      LayersSize?: number;
      Volumes?: Volume[] | null;
      Images?: ImageSummary[] | null;
      Containers?: ContainerSummary[] | null;
    }>('GET', '/system/df', type ? { type } : undefined);
  events(onEvent: (e: EventMessage) => void, query?: Query): Stream {
    return this.ndjson<EventMessage>('GET', '/events', query, onEvent);
  }

  // ---- containers
  listContainers = (all = true) => this.json<ContainerSummary[]>('GET', '/containers/json', { all });
  inspectContainer = (id: string) =>
    this.json<ContainerInspect>('GET', `/containers/${encodeURIComponent(id)}/json`);
  createContainer = (body: ContainerCreateRequest, name?: string) =>
    this.json<ContainerCreateResponse>('POST', '/containers/create', { name: name || undefined }, body);
  async containerAction(
    id: string,
    action: 'start' | 'stop' | 'restart' | 'pause' | 'unpause' | 'kill',
  ): Promise<void> {
    await this.raw('POST', `/containers/${encodeURIComponent(id)}/${action}`);
  }
  async removeContainer(id: string, opts: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    await this.raw('DELETE', `/containers/${encodeURIComponent(id)}`, { force: opts.force, v: opts.volumes });
  }
  pruneContainers = () => this.json<ContainerPruneResponse>('POST', '/containers/prune');

  /**
   * Logs: demultiplexed frames, or raw text for a TTY container. The response's content type says which
   * (API >= 1.42); `tty` decides when the engine does not say.
   */
  logs(
    id: string,
    opts: { follow: boolean; tail?: number | 'all'; timestamps?: boolean; tty: boolean },
    onLine: (chunk: LogLine) => void,
  ): Stream {
    const demux = new FrameDemuxer();
    const decoders = { stdout: new TextDecoder(), stderr: new TextDecoder(), stdin: new TextDecoder() };
    let raw = opts.tty;
    const s = this.openStream(
      'GET',
      `/containers/${encodeURIComponent(id)}/logs`,
      {
        stdout: true,
        stderr: true,
        follow: opts.follow,
        tail: opts.tail ?? 'all',
        timestamps: opts.timestamps ?? false,
      },
      (chunk) => {
        if (raw) onLine({ stream: 'stdout', text: decoders.stdout.decode(chunk, { stream: true }) });
        else
          for (const f of demux.push(chunk))
            onLine({ stream: f.stream, text: decoders[f.stream].decode(f.data, { stream: true }) });
      },
      {
        onHead: (headers) => {
          const type = headers['content-type'] ?? '';
          if (type.includes('raw-stream')) raw = true;
          else if (type.includes('multiplexed-stream')) raw = false;
        },
      },
    );
    return { close: () => s.close(), done: s.done };
  }

  stats(id: string, onSample: (s: ContainerStats) => void): Stream {
    return this.ndjson<ContainerStats>(
      'GET',
      `/containers/${encodeURIComponent(id)}/stats`,
      { stream: true },
      onSample,
    );
  }

  // ---- exec (terminal)
  async execCreate(id: string, cmd: string[], tty = true): Promise<string> {
    const r = await this.json<{ Id: string }>(
      'POST',
      `/containers/${encodeURIComponent(id)}/exec`,
      undefined,
      { AttachStdin: true, AttachStdout: true, AttachStderr: true, Tty: tty, Cmd: cmd },
    );
    return r.Id;
  }
  /**
   * The hijacked exec connection: raw TTY bytes both ways. `size` sizes the TTY before the process starts
   * (ConsoleSize), so a shell's first prompt already wraps at the pane's width; `onStarted` says when the
   * exec runs (a resize before then is refused with 409).
   */
  execStart(
    execId: string,
    onData: (chunk: Uint8Array) => void,
    opts: { size?: { cols: number; rows: number }; onStarted?: () => void } = {},
  ): LiveSession {
    const { size, onStarted } = opts;
    return this.openStream('POST', `/exec/${encodeURIComponent(execId)}/start`, undefined, onData, {
      hijack: true,
      ...(size ? { body: JSON.stringify({ Tty: true, ConsoleSize: [size.rows, size.cols] }) } : {}),
      ...(onStarted ? { onHead: () => onStarted() } : {}),
    });
  }
  async execResize(execId: string, cols: number, rows: number): Promise<void> {
    await this.raw('POST', `/exec/${encodeURIComponent(execId)}/resize`, { h: rows, w: cols });
  }
  execInspect = (execId: string) =>
    this.json<{ Running: boolean; ExitCode: number | null }>(
      'GET',
      `/exec/${encodeURIComponent(execId)}/json`,
    );

  // ---- files (archive API)
  async listDir(id: string, dir: string): Promise<{ stat: PathStat | undefined; entries: TarEntry[] }> {
    const res = await this.raw('GET', `/containers/${encodeURIComponent(id)}/archive`, { path: dir });
    const statHeader = res.headers['x-docker-container-path-stat'];
    const stat = statHeader ? (JSON.parse(atob(statHeader)) as PathStat) : undefined;
    return { stat, entries: parseTar(res.body) };
  }
  async getArchive(id: string, p: string): Promise<Uint8Array> {
    return (await this.raw('GET', `/containers/${encodeURIComponent(id)}/archive`, { path: p })).body;
  }
  async putArchive(id: string, dir: string, tar: Uint8Array): Promise<void> {
    await this.raw('PUT', `/containers/${encodeURIComponent(id)}/archive`, { path: dir }, tar, {
      'Content-Type': 'application/x-tar',
    });
  }

  // ---- images
  listImages = () => this.json<ImageSummary[]>('GET', '/images/json');
  inspectImage = (name: string) => this.json<ImageInspect>('GET', `/images/${encodeURIComponent(name)}/json`);
  imageHistory = (name: string) =>
    this.json<HistoryItem[]>('GET', `/images/${encodeURIComponent(name)}/history`);
  removeImage = (name: string, force = false) =>
    this.json<ImageDeleteItem[]>('DELETE', `/images/${encodeURIComponent(name)}`, { force });
  pruneImages = (danglingOnly = true) =>
    this.json<ImagePruneResponse>('POST', '/images/prune', { filters: { dangling: [String(danglingOnly)] } });
  async tagImage(name: string, repo: string, tag: string): Promise<void> {
    await this.raw('POST', `/images/${encodeURIComponent(name)}/tag`, { repo, tag });
  }
  pull(ref: string, onProgress: (m: ProgressMessage) => void): Stream {
    const { image, tag } = splitRef(ref);
    return this.ndjson<ProgressMessage>('POST', '/images/create', { fromImage: image, tag }, onProgress, {
      headers: { 'X-Registry-Auth': btoa('{}') },
    });
  }
  push(name: string, onProgress: (m: ProgressMessage) => void): Stream {
    const { image, tag } = splitRef(name);
    return this.ndjson<ProgressMessage>(
      'POST',
      `/images/${encodeURIComponent(image)}/push`,
      { tag },
      onProgress,
      { headers: { 'X-Registry-Auth': btoa('{}') } },
    );
  }
  /** `docker load`: an image archive (docker save or OCI layout tar); progress as the engine reports it. */
  loadImage(archive: Uint8Array, onProgress: (m: ProgressMessage) => void): Stream {
    return this.ndjson<ProgressMessage>('POST', '/images/load', undefined, onProgress, {
      body: archive,
      headers: { 'Content-Type': 'application/x-tar' },
    });
  }
  build(
    context: Uint8Array,
    tag: string,
    onProgress: (m: ProgressMessage) => void,
    dockerfile = 'Dockerfile',
  ): Stream {
    return this.ndjson<ProgressMessage>(
      'POST',
      '/build',
      { t: tag || undefined, dockerfile, rm: true },
      onProgress,
      { body: context, headers: { 'Content-Type': 'application/x-tar' } },
    );
  }

  // ---- volumes
  listVolumes = () => this.json<VolumeListResponse>('GET', '/volumes');
  createVolume = (name: string, labels?: Record<string, string>) =>
    this.json<Volume>('POST', '/volumes/create', undefined, {
      Name: name,
      Driver: 'local',
      ...(labels ? { Labels: labels } : {}),
    });
  async removeVolume(name: string, force = false): Promise<void> {
    await this.raw('DELETE', `/volumes/${encodeURIComponent(name)}`, { force });
  }
  pruneVolumes = () =>
    this.json<VolumePruneResponse>('POST', '/volumes/prune', { filters: { all: ['true'] } });

  // ---- networks
  listNetworks = () => this.json<Network[]>('GET', '/networks');
  inspectNetwork = (id: string) => this.json<Network>('GET', `/networks/${encodeURIComponent(id)}`);
  createNetwork = (req: NetworkCreateRequest) =>
    this.json<NetworkCreateResponse>('POST', '/networks/create', undefined, req);
  async removeNetwork(id: string): Promise<void> {
    await this.raw('DELETE', `/networks/${encodeURIComponent(id)}`);
  }
}

/** `registry:5000/ns/app:tag` → image + tag (a digest stays in the image part; no tag means latest). */
export function splitRef(ref: string): { image: string; tag: string } {
  if (ref.includes('@')) return { image: ref, tag: '' };
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon > slash) return { image: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { image: ref, tag: 'latest' };
}
