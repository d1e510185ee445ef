/**
 * Runs a planned build as dockerd's classic builder does: each instruction commits an image on top of the
 * previous one (config-only steps add no layer), reused from the cache when the parent and the step match;
 * RUN steps run in a container that is committed and removed; COPY/ADD write a layer from the planned
 * entries. Only the target stage is tagged.
 */
import type { Readable } from 'node:stream';
import type { BuildOptions, ImageContainerConfig } from '@berth/common';
import type { Logger } from '../log.js';
import { cacheKey, type BuildCache } from './cache.js';
import { CacheFromSources } from './cache-from.js';
import type { BuildContext } from './context/receive.js';
import type { Instruction, Stage } from './dockerfile/instructions.js';
import { parseInstruction } from './dockerfile/instructions.js';
import { parseDockerfile } from './dockerfile/parser.js';
import { processWord, varsFromEnv } from './dockerfile/shell-words.js';
import type { BuildOutput } from './output.js';
import { checkPlatform, PREDEFINED_ARGS, stageByRef, type BuildPlan } from './plan.js';
import type { BuildImage, BuildPorts } from './ports.js';
import { RootfsView } from './rootfs-view.js';
import { applyMeta, DEFAULT_SHELL, nopCreatedBy, runCommandLine } from './meta-steps.js';
import { runCopy } from './copy-step.js';
import { layerTarStream } from './layer-writer.js';
import type { SourceFs } from './sources.js';

/** A build failure reported in the stream (with dockerd's wording); `code` becomes the CLI's exit code. */
export class BuildStepError extends Error {
  constructor(
    message: string,
    readonly code?: number,
  ) {
    super(message);
    this.name = 'BuildStepError';
  }
}

export function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

/** What one stage has built so far. */
export interface StageState {
  stage: Stage;
  imageId: string | undefined;
  config: ImageContainerConfig;
  author: string | undefined;
  /** ARGs declared in this stage → value (undefined: declared without a value) */
  args: Map<string, string | undefined>;
  cmdSet: boolean;
}

export interface BuildJob {
  plan: BuildPlan;
  options: BuildOptions;
  context: BuildContext;
  contextSource: SourceFs;
  out: BuildOutput;
  signal: AbortSignal;
  tmpDir: string;
  /** the client's X-Registry-Config header, for pulling base images */
  registryConfig?: string;
}

function stableJson(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) =>
    val && typeof val === 'object' && !Array.isArray(val)
      ? Object.fromEntries(
          Object.entries(val as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)),
        )
      : val,
  );
}

export class Builder {
  private stageResults = new Map<number, StageState>();
  private step = 0;
  private usedArgs = new Set<string>();
  private views = new Map<string, RootfsView>();
  private cacheFrom: CacheFromSources | undefined;

  constructor(
    private readonly ports: BuildPorts,
    private readonly cache: BuildCache,
    private readonly job: BuildJob,
    private readonly log: Logger,
  ) {}

  private get out(): BuildOutput {
    return this.job.out;
  }

  private stepLine(text: string): void {
    this.step++;
    this.out.line(`Step ${this.step}/${this.job.plan.totalSteps} : ${text}`);
  }

  private checkAbort(): void {
    if (this.job.signal.aborted) throw new BuildStepError('build canceled: the client went away');
  }

  async execute(): Promise<string> {
    const { plan } = this.job;
    for (const a of plan.dockerfile.metaArgs) {
      this.stepLine(a.node.original);
      for (const { key } of a.args) this.usedArgs.add(key);
    }
    let last: StageState | undefined;
    for (const stage of plan.stages) {
      last = await this.runStage(stage);
      this.stageResults.set(stage.index, last);
    }
    const final = this.stageResults.get(plan.target.index) ?? last!;
    if (!final.imageId) throw new BuildStepError('No image was generated. Is your Dockerfile empty?');
    return final.imageId;
  }

  /** Build args given with --build-arg that no ARG consumed (dockerd warns about them). */
  unusedArgs(): string[] {
    return Object.keys(this.job.options.buildArgs)
      .filter((k) => !this.usedArgs.has(k) && !PREDEFINED_ARGS.has(k))
      .sort();
  }

  private async baseImage(ref: string, fromPlatform: string | undefined): Promise<BuildImage> {
    if (fromPlatform) checkPlatform(fromPlatform);
    let img = this.job.options.pull ? undefined : await this.ports.images.resolve(ref);
    if (!img) {
      try {
        img = await this.ports.images.pull(
          ref,
          (m) => this.out.progress(m),
          this.job.signal,
          this.job.registryConfig,
        );
      } catch (err) {
        // The images domain already words pull failures as dockerd does.
        throw new BuildStepError((err as Error).message);
      }
    }
    return img;
  }

  private async runStage(stage: Stage): Promise<StageState> {
    const { plan } = this.job;
    const esc = plan.dockerfile.escape;
    this.stepLine(stage.from.node.original);
    this.checkAbort();
    const name = processWord(stage.from.image, plan.metaVars, esc);
    const fromPlatform =
      stage.from.platform !== undefined ? processWord(stage.from.platform, plan.metaVars, esc) : undefined;
    let st: StageState;
    const dep = stageByRef(plan.dockerfile, name, stage.index);
    if (dep) {
      const prev = this.stageResults.get(dep.index)!;
      st = { ...prev, stage, config: structuredClone(prev.config), args: new Map(), cmdSet: false };
    } else if (name.toLowerCase() === 'scratch') {
      if (fromPlatform) checkPlatform(fromPlatform);
      st = { stage, imageId: undefined, config: {}, author: undefined, args: new Map(), cmdSet: false };
    } else {
      const img = await this.baseImage(name, fromPlatform);
      st = {
        stage,
        imageId: img.id,
        config: structuredClone(img.config),
        author: undefined,
        args: new Map(),
        cmdSet: false,
      };
    }
    this.out.line(` ---> ${st.imageId ? shortId(st.imageId) : ''}`);
    const triggers = st.config.OnBuild ?? [];
    if (triggers.length > 0) {
      this.out.line(`# Executing ${triggers.length} build trigger${triggers.length > 1 ? 's' : ''}`);
      st.config.OnBuild = null;
      for (const t of triggers) {
        const node = parseDockerfile(t).nodes[0];
        if (!node) continue;
        await this.dispatch(st, parseInstruction(node, esc));
      }
    } else if (st.config.OnBuild) st.config.OnBuild = null;
    const instructions = [...stage.instructions];
    if (stage === plan.target) instructions.push(...plan.labelInstructions);
    for (const ins of instructions) {
      this.stepLine(ins.node.original);
      this.checkAbort();
      await this.dispatch(st, ins);
    }
    return st;
  }

  /** Variables for substitution: the config's Env, plus declared ARGs that Env does not override. */
  private vars(st: StageState): Map<string, string> {
    const args = new Map<string, string>();
    for (const [k, v] of st.args) if (v !== undefined) args.set(k, v);
    return varsFromEnv(st.config.Env ?? [], args);
  }

  private expander(st: StageState): (w: string) => string {
    const vars = this.vars(st);
    const esc = this.job.plan.dockerfile.escape;
    return (w) => processWord(w, vars, esc);
  }

  private shell(st: StageState): string[] {
    return st.config.Shell && st.config.Shell.length > 0 ? st.config.Shell : DEFAULT_SHELL;
  }

  async view(imageId: string | undefined): Promise<RootfsView> {
    if (!imageId) return new RootfsView([]);
    let v = this.views.get(imageId);
    if (!v) {
      const img = await this.ports.images.resolve(imageId);
      if (!img) throw new BuildStepError(`image ${imageId} disappeared during the build`);
      v = new RootfsView(img.layerDirs);
      this.views.set(imageId, v);
    }
    return v;
  }

  /** Looks the step up in the cache, then in the --cache-from images; on a hit moves the stage onto the cached image. */
  private async tryCache(
    st: StageState,
    key: string,
    config: ImageContainerConfig,
    createdBy: string,
  ): Promise<boolean> {
    if (this.job.options.noCache) return false;
    const hit = this.cache.get(key);
    let img = hit ? await this.ports.images.resolve(hit) : undefined;
    if (hit && !img) this.cache.delete(key);
    if (img && this.job.options.cacheFrom.length && !(await this.sources()).admitsLocal(img)) img = undefined;
    if (!img) {
      img = await this.fromCacheSources(st, config, createdBy);
      if (!img) return false;
      this.cache.set(key, img.id);
    }
    st.imageId = img.id;
    st.config = config;
    this.out.line(' ---> Using cache');
    this.out.line(` ---> ${shortId(img.id)}`);
    return true;
  }

  /** The --cache-from images that exist (missing ones are skipped, as dockerd does). */
  private async sources(): Promise<CacheFromSources> {
    if (!this.cacheFrom) {
      const found = await Promise.all(
        this.job.options.cacheFrom.map((ref) => this.ports.images.resolve(ref).catch(() => undefined)),
      );
      this.cacheFrom = new CacheFromSources(found.filter((i): i is BuildImage => i !== undefined));
    }
    return this.cacheFrom;
  }

  /** --cache-from (cache-from.ts): the matching source step, recreated on the current parent. */
  private async fromCacheSources(
    st: StageState,
    config: ImageContainerConfig,
    createdBy: string,
  ): Promise<BuildImage | undefined> {
    const parent = st.imageId ? await this.ports.images.resolve(st.imageId) : undefined;
    const m = (await this.sources()).probe(parent, createdBy);
    if (!m) return undefined;
    if (m.kind === 'image') return this.ports.images.resolve(m.id);
    const id = await this.ports.images.create({
      parent: st.imageId,
      layerTar: undefined,
      ...(m.layer ? { existingLayer: m.layer } : {}),
      config,
      history: m.history,
      ...(m.source.author ? { author: m.source.author } : {}),
    });
    return this.ports.images.resolve(id);
  }

  private async commit(
    st: StageState,
    key: string,
    config: ImageContainerConfig,
    createdBy: string,
    layerTar: string | Readable | undefined,
    container?: string,
  ): Promise<void> {
    const id = await this.ports.images.create({
      parent: st.imageId,
      layerTar,
      config,
      history: {
        created_by: createdBy,
        ...(layerTar ? {} : { empty_layer: true }),
        ...(st.author ? { author: st.author } : {}),
      },
      ...(st.author ? { author: st.author } : {}),
      ...(container ? { container } : {}),
    });
    this.cache.set(key, id);
    st.imageId = id;
    st.config = config;
    this.out.line(` ---> ${shortId(id)}`);
  }

  /** A config-only step: cached by parent + history text + resulting config. */
  private async commitConfig(st: StageState, config: ImageContainerConfig, createdBy: string): Promise<void> {
    const key = cacheKey(st.imageId, `${createdBy}\n${stableJson(config)}`);
    if (await this.tryCache(st, key, config, createdBy)) return;
    await this.commit(st, key, config, createdBy, undefined);
  }

  async dispatch(st: StageState, ins: Instruction): Promise<void> {
    const expand = this.expander(st);
    const shell = this.shell(st);
    try {
      switch (ins.kind) {
        case 'run':
          return await this.runStep(st, ins);
        case 'copy':
        case 'add':
          return await runCopy(this, st, ins, expand, shell);
        case 'workdir':
          return await this.workdir(st, expand(ins.value), shell);
        case 'from':
          throw new BuildStepError('FROM inside a stage');
        case 'arg': {
          const parts: string[] = [];
          for (const { key, value } of ins.args) {
            this.usedArgs.add(key);
            const given = this.job.options.buildArgs[key];
            let v: string | undefined;
            if (given !== undefined && given !== null) v = given;
            else if (value !== undefined) v = expand(value);
            else v = this.job.plan.metaVars.get(key);
            st.args.set(key, v);
            parts.push(value !== undefined ? `${key}=${expand(value)}` : key);
          }
          return await this.commitConfig(st, st.config, nopCreatedBy(shell, `ARG ${parts.join(' ')}`));
        }
        default: {
          const r = applyMeta(
            ins,
            st.config,
            shell,
            ins.kind === 'label' && ins.literal ? (w) => w : expand,
            st.cmdSet,
          );
          if (!r) throw new BuildStepError(`unsupported instruction ${ins.node.cmdRaw}`);
          if (ins.kind === 'cmd') st.cmdSet = true;
          if (r.author !== undefined) st.author = r.author;
          return await this.commitConfig(st, r.config, r.createdBy);
        }
      }
    } catch (err) {
      if (err instanceof BuildStepError) throw err;
      throw new BuildStepError((err as Error).message);
    }
  }

  private async workdir(st: StageState, dir: string, shell: string[]): Promise<void> {
    const cur = st.config.WorkingDir || '/';
    const wd = dir.startsWith('/') ? dir : `${cur.replace(/\/$/, '')}/${dir}`;
    const clean = wd
      .split('/')
      .reduce<string[]>((acc, c) => (c === '..' ? acc.slice(0, -1) : c && c !== '.' ? [...acc, c] : acc), []);
    const abs = '/' + clean.join('/');
    const config = { ...structuredClone(st.config), WorkingDir: abs };
    const createdBy = nopCreatedBy(shell, `WORKDIR ${abs}`, true);
    const view = await this.view(st.imageId);
    const rel = view.empty ? clean.join('/') : view.resolve(clean.join('/'));
    if (rel === '' || view.lstat(rel)) return this.commitConfig(st, config, createdBy);
    // The directory does not exist yet: the step adds it (and any missing parents) as a layer.
    const key = cacheKey(st.imageId, `${createdBy}\nmkdir\n${stableJson(config)}`);
    if (await this.tryCache(st, key, config, createdBy)) return;
    const parts = rel.split('/');
    const now = Math.floor(Date.now() / 1000);
    const entries = [];
    for (let i = 1; i <= parts.length; i++) {
      const p = parts.slice(0, i).join('/');
      const existing = view.lstat(p);
      const s = existing?.stat;
      entries.push({
        name: p,
        type: 'dir' as const,
        mode: s ? s.mode & 0o7777 : 0o755,
        uid: s?.uid ?? 0,
        gid: s?.gid ?? 0,
        mtime: s ? Math.floor(s.mtimeMs / 1000) : now,
        linkname: '',
        size: 0,
      });
    }
    await this.commit(st, key, config, createdBy, layerTarStream(entries));
  }

  private async runStep(st: StageState, ins: Extract<Instruction, { kind: 'run' }>): Promise<void> {
    const containers = this.ports.containers;
    if (!containers)
      throw new BuildStepError('RUN needs the container runtime, which this berthd does not have');
    const shell = this.shell(st);
    const cmd = runCommandLine(ins, shell);
    // Build args reach RUN as environment (not overriding ENV) and show in history as `|N K=V`.
    const envKeys = new Set((st.config.Env ?? []).map((kv) => kv.split('=', 1)[0]));
    const argEnv: string[] = [];
    for (const [k, v] of [...st.args].sort(([a], [b]) => (a < b ? -1 : 1)))
      if (v !== undefined && !envKeys.has(k)) argEnv.push(`${k}=${v}`);
    const proxyEnv: string[] = [];
    for (const [k, v] of Object.entries(this.job.options.buildArgs)) {
      if (PREDEFINED_ARGS.has(k) && v !== null && !st.args.has(k) && !envKeys.has(k))
        proxyEnv.push(`${k}=${v}`);
    }
    const historyArgs = argEnv.filter((kv) => !PREDEFINED_ARGS.has(kv.split('=', 1)[0]));
    const createdBy =
      (historyArgs.length ? `|${historyArgs.length} ${historyArgs.join(' ')} ` : '') + cmd.join(' ');
    const key = cacheKey(st.imageId, `RUN\n${createdBy}`);
    if (await this.tryCache(st, key, st.config, createdBy)) return;
    if (!st.imageId)
      throw new BuildStepError(
        `The command '${cmd.join(' ')}' cannot run: the image is empty (FROM scratch) and has no ${cmd[0]}`,
      );
    const { rm, forceRm } = this.job.options;
    const id = await containers.create({
      Image: st.imageId,
      Cmd: cmd,
      Entrypoint: [],
      Env: [...(st.config.Env ?? []), ...argEnv, ...proxyEnv],
      User: st.config.User ?? '',
      WorkingDir: st.config.WorkingDir ?? '',
      Labels: {},
      NetworkMode: this.job.options.networkMode || 'default',
      HostConfig: this.job.options.runHostConfig,
      ...(st.config.Shell ? { Shell: st.config.Shell } : {}),
    });
    this.out.line(` ---> Running in ${shortId(id)}`);
    let removed = false;
    const remove = async () => {
      if (removed) return;
      removed = true;
      await containers
        .remove(id)
        .catch((err: unknown) => this.log.warn('removing a build container failed', { id, err }));
    };
    let code: number;
    try {
      code = await containers.run(id, (s, chunk) => this.out.containerOutput(s, chunk), this.job.signal);
    } catch (err) {
      await remove();
      throw err;
    }
    if (code !== 0) {
      // A failed step leaves nothing behind unless --rm=false asked to keep intermediate containers.
      if (rm || forceRm) await remove();
      throw new BuildStepError(`The command '${cmd.join(' ')}' returned a non-zero code: ${code}`, code);
    }
    try {
      await this.commitRunLayer(
        st,
        key,
        createdBy,
        await containers.exportChanges(id),
        id,
        rm || forceRm ? remove : undefined,
      );
    } catch (err) {
      if (rm || forceRm) await remove();
      throw err;
    }
  }

  private async commitRunLayer(
    st: StageState,
    key: string,
    createdBy: string,
    tar: Readable,
    container: string,
    remove: (() => Promise<void>) | undefined,
  ): Promise<void> {
    const id = await this.ports.images.create({
      parent: st.imageId,
      layerTar: tar,
      config: st.config,
      history: { created_by: createdBy, ...(st.author ? { author: st.author } : {}) },
      ...(st.author ? { author: st.author } : {}),
      container,
    });
    this.cache.set(key, id);
    st.imageId = id;
    if (remove) {
      await remove();
      this.out.line(`Removing intermediate container ${shortId(container)}`);
    }
    this.out.line(` ---> ${shortId(id)}`);
  }

  /** For COPY/ADD (copy-step.ts): cache lookup, then (on a miss) commit of the planned layer. */
  async cachedLayerStep(
    st: StageState,
    key: string,
    createdBy: string,
    makeLayer: () => Promise<Readable>,
  ): Promise<void> {
    if (await this.tryCache(st, key, st.config, createdBy)) return;
    await this.commit(st, key, st.config, createdBy, await makeLayer());
  }

  stageImage(ref: string, before: number): StageState | undefined {
    const s = stageByRef(this.job.plan.dockerfile, ref, before);
    return s ? this.stageResults.get(s.index) : undefined;
  }

  get jobInfo(): BuildJob {
    return this.job;
  }

  get images(): BuildPorts['images'] {
    return this.ports.images;
  }

  resolveBase(ref: string): Promise<BuildImage> {
    return this.baseImage(ref, undefined);
  }
}
