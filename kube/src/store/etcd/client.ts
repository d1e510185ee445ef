/**
 * A minimal etcd v3 client over its JSON gRPC gateway (`POST /v3/...`, base64 keys and values, int64 as
 * strings), so the cluster needs no gRPC dependency. Unary calls share a keep-alive agent; a watch is one
 * streaming POST whose response is newline-delimited `{"result": WatchResponse}` objects.
 */
import http from 'node:http';
import { unavailable } from '../../errors.js';

export interface RawKv {
  key: string;
  value?: string;
  create_revision?: string;
  mod_revision?: string;
  version?: string;
}

export interface RawHeader {
  revision?: string;
}

export interface RangeRequest {
  key: string;
  range_end?: string;
  limit?: number;
  revision?: number;
  count_only?: boolean;
  keys_only?: boolean;
}

export interface RangeResponse {
  header: RawHeader;
  kvs?: RawKv[];
  more?: boolean;
  count?: string;
}

export interface Compare {
  key: string;
  target: 'MOD' | 'VERSION' | 'CREATE' | 'VALUE';
  result: 'EQUAL' | 'GREATER' | 'LESS' | 'NOT_EQUAL';
  mod_revision?: number;
  version?: number;
}

export interface RequestOp {
  request_range?: RangeRequest;
  request_put?: { key: string; value: string; prev_kv?: boolean };
  request_delete_range?: { key: string; range_end?: string; prev_kv?: boolean };
}

export interface ResponseOp {
  response_range?: RangeResponse;
  response_put?: { header: RawHeader; prev_kv?: RawKv };
  response_delete_range?: { header: RawHeader; deleted?: string; prev_kvs?: RawKv[] };
}

export interface TxnResponse {
  header: RawHeader;
  succeeded?: boolean;
  responses?: ResponseOp[];
}

export interface WatchCreateRequest {
  key: string;
  range_end?: string;
  start_revision?: number;
  progress_notify?: boolean;
  prev_kv?: boolean;
}

export interface RawEvent {
  type?: 'PUT' | 'DELETE';
  kv: RawKv;
  prev_kv?: RawKv;
}

export interface WatchResponse {
  header: RawHeader;
  created?: boolean;
  canceled?: boolean;
  compact_revision?: string;
  cancel_reason?: string;
  events?: RawEvent[];
}

/** An error etcd answered with (gRPC code and message), as opposed to not answering at all. */
export class EtcdError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'EtcdError';
  }
}

export const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
export const unb64 = (s: string | undefined): string => (s ? Buffer.from(s, 'base64').toString('utf8') : '');
export const int = (s: string | undefined): number => (s ? Number(s) : 0);

export interface WatchStream {
  /** Ends the stream; no callback runs after it. */
  close(): void;
}

export class EtcdClient {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  private readonly host: string;
  private readonly port: number;

  constructor(readonly endpoint: string) {
    const u = new URL(endpoint);
    if (u.protocol !== 'http:')
      throw new Error(`datastore endpoint must be http://HOST:PORT, not ${endpoint}`);
    this.host = u.hostname;
    this.port = Number(u.port || 2379);
  }

  range(req: RangeRequest): Promise<RangeResponse> {
    return this.call('/v3/kv/range', req);
  }

  txn(req: { compare: Compare[]; success: RequestOp[]; failure: RequestOp[] }): Promise<TxnResponse> {
    return this.call('/v3/kv/txn', req);
  }

  compaction(revision: number): Promise<{ header: RawHeader }> {
    return this.call('/v3/kv/compaction', { revision, physical: true });
  }

  private request(path: string, body: string): http.ClientRequest {
    return http.request({
      host: this.host,
      port: this.port,
      path,
      method: 'POST',
      agent: this.agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
  }

  /** `retryable`: reads only. A write whose connection broke has an unknown outcome and says so (unavailable). */
  call<T>(path: string, payload: unknown, retryable = path === '/v3/kv/range'): Promise<T> {
    return this.send<T>(path, JSON.stringify(payload), retryable);
  }

  private send<T>(path: string, body: string, mayRetry: boolean): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const req = this.request(path, body);
      req.on('error', (err: NodeJS.ErrnoException) => {
        // A kept-alive socket the server closed meanwhile (etcd restarted): a read is sent once more on a fresh
        // connection (Node's documented pattern for idempotent requests).
        if (mayRetry && req.reusedSocket && err.code === 'ECONNRESET') {
          this.send<T>(path, body, false).then(resolve, reject);
          return;
        }
        reject(unavailable(`etcd at ${this.endpoint} is unreachable: ${err.message}`));
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => reject(unavailable(`etcd at ${this.endpoint}: ${err.message}`)));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: { error?: string; message?: string; code?: number } & Record<string, unknown>;
          try {
            json = JSON.parse(text) as typeof json;
          } catch {
            reject(unavailable(`etcd at ${this.endpoint} answered ${res.statusCode}: ${text.slice(0, 200)}`));
            return;
          }
          if (res.statusCode !== 200 || json.error !== undefined) {
            reject(new EtcdError(json.code ?? 2, json.message ?? json.error ?? `HTTP ${res.statusCode}`));
            return;
          }
          resolve(json as T);
        });
      });
      req.end(body);
    });
  }

  /**
   * Opens a watch stream. `onResponse` gets each WatchResponse in order; `onEnd` runs once when the stream ends
   * for any reason other than close() (etcd gone, connection reset).
   */
  watch(
    create: WatchCreateRequest,
    onResponse: (r: WatchResponse) => void,
    onEnd: (err: Error) => void,
  ): WatchStream {
    const body = JSON.stringify({ create_request: create });
    let closed = false;
    const end = (err: Error): void => {
      if (closed) return;
      closed = true;
      onEnd(err);
    };
    // Its own connection: a watch holds the socket for as long as it lives.
    const req = http.request({
      host: this.host,
      port: this.port,
      path: '/v3/watch',
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    req.on('error', (err) => end(unavailable(`etcd watch: ${err.message}`)));
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        end(unavailable(`etcd watch answered HTTP ${res.statusCode}`));
        return;
      }
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let nl: number;
        while (!closed && (nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (line === '') continue;
          let msg: { result?: WatchResponse; error?: { message?: string; grpc_code?: number } };
          try {
            msg = JSON.parse(line) as typeof msg;
          } catch {
            end(unavailable(`etcd watch sent malformed JSON: ${line.slice(0, 200)}`));
            req.destroy();
            return;
          }
          if (msg.result) onResponse(msg.result);
          else end(unavailable(`etcd watch failed: ${msg.error?.message ?? line.slice(0, 200)}`));
        }
      });
      res.on('error', (err) => end(unavailable(`etcd watch: ${err.message}`)));
      res.on('end', () => end(unavailable('etcd closed the watch stream')));
    });
    req.end(body);
    return {
      close: () => {
        closed = true;
        req.destroy();
      },
    };
  }

  close(): void {
    this.agent.destroy();
  }
}
