/** POST /build (the classic builder's API, as the docker CLI without buildx uses it) and POST /build/prune. */
import type { BuildOptions, BuildRunHostConfig } from '@berth/common';
import { DockerfileParseError } from '../../image-builder/dockerfile/parser.js';
import { ContextError } from '../../image-builder/context/receive.js';
import { IgnorePatternError } from '../../image-builder/context/dockerignore.js';
import { BuildRequestError, type BuildService } from '../../image-builder/service.js';
import { badParameter } from '../errors.js';
import { openJsonStream, queryBool, queryInt, sendJson, type JsonStream } from '../http.js';
import type { Router } from '../router.js';

function jsonParam<T>(q: URLSearchParams, name: string, check: (v: unknown) => v is T, fallback: T): T {
  const raw = q.get(name);
  if (raw === null || raw === '') return fallback;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (err) {
    throw badParameter(`invalid ${name} parameter: ${(err as Error).message}`);
  }
  if (v === null) return fallback;
  if (!check(v)) throw badParameter(`invalid ${name} parameter: ${raw}`);
  return v;
}

const isStringMap = (v: unknown): v is Record<string, string> =>
  typeof v === 'object' &&
  v !== null &&
  !Array.isArray(v) &&
  Object.values(v).every((x) => typeof x === 'string');
const isArgMap = (v: unknown): v is Record<string, string | null> =>
  typeof v === 'object' &&
  v !== null &&
  !Array.isArray(v) &&
  Object.values(v).every((x) => typeof x === 'string' || x === null);
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

function runHostConfig(q: URLSearchParams): BuildRunHostConfig {
  const hc: BuildRunHostConfig = {};
  // One `extrahosts` per host, as dockerd reads r.Form["extrahosts"] (the CLI repeats it for each --add-host).
  const hosts = q
    .getAll('extrahosts')
    .flatMap((h) => h.split(/[,\s]+/))
    .filter(Boolean);
  if (hosts.length) hc.ExtraHosts = hosts;
  const ints = [
    ['shmsize', 'ShmSize'],
    ['memory', 'Memory'],
    ['memswap', 'MemorySwap'],
    ['cpushares', 'CpuShares'],
    ['cpuperiod', 'CpuPeriod'],
    ['cpuquota', 'CpuQuota'],
  ] as const;
  for (const [param, key] of ints) {
    const v = queryInt(q, param);
    if (v !== undefined && v !== 0) hc[key] = v;
  }
  const cpuset = q.get('cpusetcpus');
  if (cpuset) hc.CpusetCpus = cpuset;
  return hc;
}

export function parseBuildQuery(q: URLSearchParams): BuildOptions {
  const version = q.get('version');
  if (version === '2')
    throw badParameter(
      'BuildKit (version=2) is not supported by this daemon; use the classic builder (DOCKER_BUILDKIT=0)',
    );
  if (q.get('remote'))
    throw badParameter('remote build contexts are not supported: send the context in the request body');
  return {
    dockerfile: q.get('dockerfile') || 'Dockerfile',
    tags: q.getAll('t').filter(Boolean),
    buildArgs: jsonParam(q, 'buildargs', isArgMap, {}),
    target: q.get('target') ?? '',
    labels: jsonParam(q, 'labels', isStringMap, {}),
    noCache: queryBool(q, 'nocache'),
    pull: queryBool(q, 'pull'),
    rm: queryBool(q, 'rm', true),
    forceRm: queryBool(q, 'forcerm'),
    networkMode: q.get('networkmode') ?? '',
    platform: q.get('platform') ?? '',
    quiet: queryBool(q, 'q'),
    cacheFrom: jsonParam(q, 'cachefrom', isStrings, []),
    runHostConfig: runHostConfig(q),
  };
}

export function registerBuildRoutes(r: Router, service: BuildService): void {
  r.post('/build', async (ctx) => {
    const options = parseBuildQuery(ctx.query);
    const ac = new AbortController();
    ctx.res.on('close', () => {
      if (!ctx.res.writableFinished) ac.abort();
    });
    let stream: JsonStream | undefined;
    const sink = {
      write(m: unknown) {
        stream ??= openJsonStream(ctx.req, ctx.res);
        stream.write(m);
      },
      get started() {
        return stream !== undefined;
      },
    };
    try {
      const rc = ctx.req.headers['x-registry-config'];
      await service.build(ctx.req, options, sink, ac.signal, typeof rc === 'string' ? rc : undefined);
    } catch (err) {
      if (stream) {
        // Only an engine fault can get here after output started; report it in the stream.
        stream.write({ errorDetail: { message: (err as Error).message }, error: (err as Error).message });
      } else if (
        err instanceof BuildRequestError ||
        err instanceof DockerfileParseError ||
        err instanceof ContextError ||
        err instanceof IgnorePatternError
      ) {
        throw badParameter(err.message);
      } else throw err;
    }
    stream?.end();
  });

  r.post('/build/prune', async (ctx) => {
    sendJson(ctx.res, 200, await service.prune());
  });

  r.post('/build/cancel', (ctx) => {
    sendJson(ctx.res, 200, {});
  });
}
