/**
 * pods/exec and pods/attach. WebSocket first: `v5.channel.k8s.io` is kube-apiserver's own stream translator
 * (upgrade, then errors on the error channel); other WebSocket subprotocols are the kubelet's wsstream (`v4.` and
 * older, binary or base64; errors before the upgrade). Otherwise SPDY/3.1 with X-Stream-Protocol-Version v4..v1, one
 * stream per streamType. The protocol code knows nothing of containers: it drives a StreamSession.
 */
import { finished } from 'node:stream/promises';
import type { Connector } from '../handlers/dispatch.js';
import type { Logger } from '../../log.js';
import { KubeError } from '../../errors.js';
import type { StreamOptions, StreamSession } from '../../kubelet/provider.js';
import { isUpgrade, takeUpgrade } from '../upgrade.js';
import {
  acceptSpdy,
  negotiateStreamProtocol,
  PlainHttpError,
  scheduledPod,
  StreamCollector,
  streamContainer,
  upgradeRequired,
  writePlainError,
} from './handshake.js';
import {
  runCommand,
  statusJson,
  statusText,
  TerminalSizes,
  type CommandChannels,
  type RemoteStatus,
  type TerminalSize,
} from './remotecommand.js';
import type { SpdyStream } from './spdy/connection.js';
import { queryBool, type StreamBackend } from './types.js';
import {
  acceptWebSocket,
  ChannelSocket,
  isWebSocketRequest,
  offeredProtocols,
  type ChannelMode,
} from './websocket.js';

export const V5 = 'v5.channel.k8s.io';
/** The kubelet's SPDY remote command versions, newest first. */
export const SPDY_PROTOCOLS = [
  'v4.channel.k8s.io',
  'v3.channel.k8s.io',
  'v2.channel.k8s.io',
  'channel.k8s.io',
];
/** The kubelet's WebSocket subprotocols ('' when the client names none); v4 ones carry a Status. */
const WS_PROTOCOLS = new Map<string, { base64: boolean; v4: boolean }>([
  ['', { base64: false, v4: false }],
  ['channel.k8s.io', { base64: false, v4: false }],
  ['base64.channel.k8s.io', { base64: true, v4: false }],
  ['v4.channel.k8s.io', { base64: false, v4: true }],
  ['v4.base64.channel.k8s.io', { base64: true, v4: true }],
]);
const STREAM_TYPES = new Set(['error', 'stdin', 'stdout', 'stderr', 'resize']);

type Kind = 'exec' | 'attach';

export function remoteCommandConnector(kind: Kind, backend: StreamBackend, log: Logger): Connector {
  return async (r, req, res) => {
    if (r.info.verb !== 'get' && r.info.verb !== 'create')
      throw new KubeError(
        'MethodNotAllowed',
        `${r.info.verb} is not supported on resources of kind "pods/${kind}"`,
      );
    const q = r.url.searchParams;
    const tty = queryBool(q, 'tty');
    const cmd = q.getAll('command');
    const pod = await scheduledPod(r, backend.nodeName);
    const container = streamContainer(pod, q.get('container') ?? '');
    if (!isUpgrade(req)) throw upgradeRequired();
    // The kubelet drops stderr under a TTY (it is merged into stdout by the terminal).
    const o: StreamOptions = {
      container,
      stdin: queryBool(q, 'stdin'),
      stdout: queryBool(q, 'stdout'),
      stderr: queryBool(q, 'stderr') && !tty,
      tty,
    };
    const start = (size?: TerminalSize): Promise<StreamSession> =>
      kind === 'exec' ? backend.exec(pod, cmd, size ? { ...o, size } : o) : backend.attach(pod, o);
    const session = { kind, cmd, o, start, log: log.child({ pod: r.info.name, container, [kind]: true }) };
    try {
      if (!o.stdin && !o.stdout && !o.stderr)
        throw new PlainHttpError(400, 'you must specify at least 1 of stdin, stdout, stderr');
      if (kind === 'exec' && !cmd.length)
        throw new PlainHttpError(400, 'you must specify a command to execute');
      if (isWebSocketRequest(req)) await serveWebSocket(req, session);
      else await serveSpdy(req, session);
    } catch (e) {
      if (!(e instanceof PlainHttpError)) throw e;
      writePlainError(res, e);
    }
  };
}

interface Session {
  kind: Kind;
  cmd: string[];
  o: StreamOptions;
  start(size?: TerminalSize): Promise<StreamSession>;
  log: Logger;
}

/** How long a terminal exec waits for the client's first size before it starts without one. */
const FIRST_SIZE_WAIT_MS = 1000;

/**
 * A terminal exec starts once the streams are up and the client's size is in, so the process sees its real
 * terminal size from the first instruction (a resize after the start races it). Refusals then go on the error
 * channel, as they do for everything through kube-apiserver's v5 translator.
 */
const startsAfterUpgrade = (s: Session) => s.kind === 'exec' && s.o.tty;

/** Starts the session over open channels; a refusal is sent as the status ('' prefix) and the channels closed. */
async function startOverChannels(
  s: Session,
  ch: CommandChannels,
  prefix: string,
): Promise<{ session: StreamSession; size?: TerminalSize } | undefined> {
  const size = s.o.tty && ch.sizes ? await ch.sizes.first(FIRST_SIZE_WAIT_MS) : undefined;
  try {
    return { session: await s.start(size), ...(size ? { size } : {}) };
  } catch (e) {
    await ch.status({ kind: 'error', message: prefix + (e as Error).message }).catch(() => undefined);
    ch.close();
    return undefined;
  }
}

/** The runtime's refusal (container not found, not running) as the kubelet answers it: 500, its text. */
async function startOrRefuse(s: Session): Promise<StreamSession> {
  try {
    return await s.start();
  } catch (e) {
    throw new PlainHttpError(500, (e as Error).message, {}, false);
  }
}

function channelModes(o: StreamOptions): ChannelMode[] {
  return [
    o.stdin ? 'read' : 'ignore',
    o.stdout ? 'write' : 'ignore',
    o.stderr ? 'write' : 'ignore',
    'write',
    'read',
  ];
}

function wsChannels(sock: ChannelSocket, o: StreamOptions, v4: boolean): CommandChannels {
  return {
    ...(o.stdin ? { stdin: sock.input(0)! } : {}),
    ...(o.stdout ? { stdout: sock.output(1) } : {}),
    ...(o.stderr ? { stderr: sock.output(2) } : {}),
    sizes: new TerminalSizes(sock.input(4)!),
    status: (st: RemoteStatus) =>
      new Promise<void>((resolve) => {
        const text = v4 ? statusJson(st) : statusText(st);
        if (!text) return resolve();
        sock.send(3, Buffer.from(text), () => resolve());
      }),
    close: () => sock.close(),
    onClose: (f) => sock.onClose(f),
  };
}

async function serveWebSocket(req: Parameters<Connector>[1], s: Session): Promise<void> {
  const offered = offeredProtocols(req);
  const v5 = offered.includes(V5);
  const protocol = v5 ? V5 : offered.length ? offered.find((p) => WS_PROTOCOLS.has(p)) : '';
  // x/net/websocket's refusal of an unknown subprotocol: 403, no body.
  if (protocol === undefined) throw new PlainHttpError(403, '', {}, false);
  const wire = v5 ? { base64: false, v4: true } : WS_PROTOCOLS.get(protocol)!;
  // kube-apiserver's translator upgrades first and reports the kubelet's refusal on the error channel; the
  // kubelet refuses before upgrading.
  const session = v5 || startsAfterUpgrade(s) ? undefined : await startOrRefuse(s);
  const { socket, head } = takeUpgrade(req);
  let sock: ChannelSocket;
  try {
    const ws = await acceptWebSocket(req, socket, head, protocol);
    sock = new ChannelSocket(ws, { base64: wire.base64, closeSignal: v5, channels: channelModes(s.o) });
  } catch {
    session?.close();
    return;
  }
  // An empty message on the lowest writable channel tells the client the streams are ready.
  sock.send(s.o.stdout ? 1 : s.o.stderr ? 2 : 3, Buffer.alloc(0));
  const ch = wsChannels(sock, s.o, wire.v4);
  const started = session
    ? { session }
    : await startOverChannels(s, ch, v5 ? 'unable to upgrade connection: ' : '');
  if (!started) return;
  s.log.debug('stream started', { protocol: protocol || '(none)' });
  await runCommand(started.session, ch, { kind: s.kind, cmd: s.cmd, startedWith: started.size });
}

async function serveSpdy(req: Parameters<Connector>[1], s: Session): Promise<void> {
  const protocol = negotiateStreamProtocol(req.headers, SPDY_PROTOCOLS);
  const version = protocol === 'channel.k8s.io' ? 1 : Number(protocol[1]);
  const session = startsAfterUpgrade(s) ? undefined : await startOrRefuse(s);
  const expected =
    1 + Number(s.o.stdin) + Number(s.o.stdout) + Number(s.o.stderr) + Number(s.o.tty && version >= 3);
  const collector = new StreamCollector(expected, (st) => STREAM_TYPES.has(st.header('streamType')));
  let conn;
  try {
    conn = acceptSpdy(req, protocol, collector.onStream, s.log);
  } catch (e) {
    session?.close();
    throw e;
  }
  let streams: Map<string, SpdyStream>;
  try {
    streams = await collector.wait(conn);
  } catch (e) {
    s.log.debug('exec streams not created', { error: (e as Error).message });
    session?.close();
    conn.close();
    return;
  }
  const errorStream = streams.get('error')!;
  const all = [...streams.values()];
  const pick = (t: string) => streams.get(t);
  const ch: CommandChannels = {
    ...(pick('stdin') ? { stdin: pick('stdin')! } : {}),
    ...(pick('stdout') ? { stdout: pick('stdout')! } : {}),
    ...(pick('stderr') ? { stderr: pick('stderr')! } : {}),
    ...(pick('resize') ? { sizes: new TerminalSizes(pick('resize')!) } : {}),
    status: (st) =>
      new Promise<void>((resolve) => {
        const text = version >= 4 ? statusJson(st) : statusText(st);
        if (!text) return resolve();
        errorStream.write(text, () => resolve());
      }),
    close: () => {
      // FIN every stream once its data is out, then GOAWAY.
      void Promise.all(
        all.map(async (st): Promise<void> => {
          if (st.destroyed) return;
          st.end();
          const sent = finished(st, { readable: false }).catch(() => undefined);
          await Promise.race([sent, new Promise<void>((r) => setTimeout(r, 5000))]);
        }),
      ).then(() => conn.close());
    },
    onClose: (f) => conn.once('close', f),
  };
  const started = session ? { session } : await startOverChannels(s, ch, '');
  if (!started) return;
  s.log.debug('stream started', { protocol: `SPDY ${protocol}` });
  await runCommand(started.session, ch, { kind: s.kind, cmd: s.cmd, startedWith: started.size });
}
