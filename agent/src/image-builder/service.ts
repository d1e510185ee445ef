/**
 * The build domain's entry point: receive the context, find the Dockerfile, apply .dockerignore, plan,
 * run the builder, tag. Owns its state under <data-root>/build (the cache index; temp dirs for contexts
 * and layers, emptied at start).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { BuildCachePruneResponse, BuildOptions } from '@berth/common';
import type { Logger } from '../log.js';
import { Builder, BuildStepError, shortId } from './builder.js';
import { BuildCache } from './cache.js';
import { IgnoreMatcher, readIgnoreFile } from './context/dockerignore.js';
import { readContextFile, receiveContext, type BuildContext } from './context/receive.js';
import { BuildOutput, type OutputSink } from './output.js';
import { BuildPlanError, checkPlatform, planBuild } from './plan.js';
import type { BuildPorts } from './ports.js';
import { ContextSource } from './sources.js';

/** A problem with the request itself, answered as HTTP 400 before any output. */
export class BuildRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BuildRequestError';
  }
}

/** The familiar name dockerd prints in "Successfully tagged": `name:tag`, `:latest` added when missing. */
export function taggedName(ref: string): string {
  const last = ref.slice(ref.lastIndexOf('/') + 1);
  return last.includes(':') || ref.includes('@') ? ref : `${ref}:latest`;
}

export class BuildService {
  private readonly cache: BuildCache;
  private readonly tmpDir: string;

  constructor(
    private readonly ports: BuildPorts,
    dataRoot: string,
    private readonly log: Logger,
  ) {
    const dir = path.join(dataRoot, 'build');
    this.cache = new BuildCache(dir);
    this.tmpDir = path.join(dir, 'tmp');
  }

  async init(): Promise<void> {
    await fsp.rm(this.tmpDir, { recursive: true, force: true });
    await fsp.mkdir(this.tmpDir, { recursive: true, mode: 0o700 });
    await this.cache.load();
  }

  private async readDockerfile(
    ctx: BuildContext,
    source: ContextSource,
    name: string,
  ): Promise<{ text: string; rel: string }> {
    const tryName = (n: string): string | undefined => {
      const rel = source.resolve(path.posix.normalize('/' + n).slice(1), true);
      return ctx.entries.get(rel)?.type === 'file' ? rel : undefined;
    };
    let rel = tryName(name);
    if (rel === undefined && name === 'Dockerfile') rel = tryName('dockerfile');
    if (rel === undefined) throw new BuildRequestError(`Cannot locate specified Dockerfile: ${name}`);
    return { text: (await readContextFile(ctx, ctx.entries.get(rel)!)).toString('utf8'), rel };
  }

  /**
   * Runs one build. Errors before the first output line (bad request, unreadable context, Dockerfile syntax)
   * are thrown for the route to answer with an HTTP status; later ones go into the stream as dockerd does.
   * Returns the image id, or undefined when the build failed in-stream.
   */
  async build(
    body: Readable,
    options: BuildOptions,
    sink: OutputSink,
    signal: AbortSignal,
    registryConfig?: string,
  ): Promise<string | undefined> {
    try {
      checkPlatform(options.platform);
    } catch (err) {
      throw new BuildRequestError((err as Error).message);
    }
    for (const t of options.tags) this.ports.images.checkTag(t);
    const started = Date.now();
    const ctx = await receiveContext(body, this.tmpDir);
    const received = Date.now();
    try {
      const source = new ContextSource(ctx);
      const df = await this.readDockerfile(ctx, source, options.dockerfile || 'Dockerfile');
      const ignoreEntry = ctx.entries.get('.dockerignore');
      if (ignoreEntry?.type === 'file') {
        const matcher = new IgnoreMatcher(
          readIgnoreFile((await readContextFile(ctx, ignoreEntry)).toString('utf8')),
        );
        // The CLI already filtered; API clients may not have. The Dockerfile and .dockerignore go only
        // when they are themselves ignored (the CLI lists an outside -f file there), after being read.
        if (!matcher.empty) source.drop((rel) => matcher.excludes(rel));
      }
      let plan;
      try {
        plan = planBuild(df.text, options);
      } catch (err) {
        if (err instanceof BuildPlanError) throw new BuildRequestError(err.message);
        throw err;
      }
      const out = new BuildOutput(sink, options.quiet);
      const builder = new Builder(
        this.ports,
        this.cache,
        {
          plan,
          options,
          context: ctx,
          contextSource: source,
          out,
          signal,
          tmpDir: this.tmpDir,
          ...(registryConfig ? { registryConfig } : {}),
        },
        this.log,
      );
      try {
        const id = await builder.execute();
        const unused = builder.unusedArgs();
        if (unused.length)
          out.line(`[Warning] One or more build-args [${unused.join(' ')}] were not consumed`);
        out.aux(id);
        out.line(`Successfully built ${shortId(id)}`);
        for (const t of options.tags) {
          await this.ports.images.tag(id, t);
          out.line(`Successfully tagged ${taggedName(t)}`);
        }
        out.finish(id);
        this.log.info('build finished', {
          id,
          contextBytes: ctx.size,
          receiveMs: received - started,
          totalMs: Date.now() - started,
        });
        return id;
      } catch (err) {
        const e = err instanceof BuildStepError ? err : new BuildStepError((err as Error).message);
        if (!(err instanceof BuildStepError)) this.log.warn('build failed', { err });
        out.error(e.message, e.code);
        return undefined;
      } finally {
        await this.cache
          .save()
          .catch((err: unknown) => this.log.warn('saving the build cache failed', { err }));
      }
    } finally {
      await ctx.remove();
    }
  }

  /** `docker builder prune`: forgets the cache index (the intermediate images stay until image prune). */
  async prune(): Promise<BuildCachePruneResponse> {
    const n = this.cache.clear();
    await this.cache.save();
    this.log.info('build cache pruned', { entries: n });
    return { CachesDeleted: null, SpaceReclaimed: 0 };
  }
}
