/** What the VM subcommands share: building the manager from ~/.berth, printing progress, parsing flags. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadResources, loadVmConfig } from '../vm/config.js';
import { createDriver } from '../vm/factory.js';
import { VmManager, type VmStatusReport } from '../vm/manager.js';
import { berthPaths } from '../vm/paths.js';
import { CliUsageError } from './command.js';

export async function openManager(): Promise<VmManager> {
  const paths = berthPaths();
  const config = await loadVmConfig(paths);
  const { resources, registries } = await loadResources(paths);
  const driver = createDriver(config.driver, {
    paths,
    resources,
    shareFolders: config.shareFolders,
    registries,
  });
  return new VmManager(paths, driver, config, resources);
}

/** Progress on stderr, so stdout stays clean for --json and scripts. */
export function progress(step: string): void {
  process.stderr.write(step.startsWith('warning:') ? `${step}\n` : `• ${step}\n`);
}

export interface Flags {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

export function flags(
  argv: string[],
  options: NonNullable<ParseArgsConfig['options']>,
  allowPositionals = false,
): Flags {
  try {
    const r = parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals,
    });
    return { values: r.values, positionals: r.positionals };
  } catch (e) {
    throw new CliUsageError((e as Error).message);
  }
}

export function describe(s: VmStatusReport): string {
  const lines = [
    `Engine:   ${s.state}${s.message ? ` (${s.message})` : ''}`,
    `Driver:   ${s.driver}${s.accel ? ` (${s.accel})` : ''}${s.pid ? `, pid ${s.pid}` : ''}`,
    `Socket:   ${s.host}`,
  ];
  if (s.runsVm)
    lines.push(
      `VM:       ${s.resources.cpus} CPUs, ${s.resources.memoryMiB} MiB memory, ${s.resources.diskGiB} GiB disk${s.diskBytes !== undefined ? ` (${(s.diskBytes / 1048576).toFixed(0)} MiB used on the host)` : ''}`,
    );
  if (s.warning) lines.push(`Warning:  ${s.warning}`);
  if (s.state === 'stopped') lines.push('Next:     run `berth start` to start the engine');
  else if (s.state === 'error')
    lines.push('Next:     `berth logs engine` shows why; `berth restart` tries again');
  return lines.join('\n') + '\n';
}

/** `berth start|restart` flags that set the engine's registries (saved in settings.json, as Settings does). */
export const REGISTRY_FLAGS = {
  'insecure-registry': { type: 'string', multiple: true },
  'registry-mirror': { type: 'string', multiple: true },
} as const;

export const REGISTRY_HELP = `      --insecure-registry HOST:PORT
                      A registry reached over plain HTTP (repeatable; replaces the saved list). From
                      inside the VM the host is 10.0.2.2: a registry on the host's port 5000 is
                      10.0.2.2:5000
      --registry-mirror URL
                      A mirror for Docker Hub (repeatable; replaces the saved list)
`;

/** Saves the registry flags given (each replaces its list); returns whether anything changed. */
export async function saveRegistryFlags(values: Flags['values']): Promise<boolean> {
  const list = (k: string) => {
    const v = values[k];
    return Array.isArray(v) ? v : undefined;
  };
  const patch = {
    ...(list('insecure-registry') ? { insecureRegistries: list('insecure-registry') } : {}),
    ...(list('registry-mirror') ? { registryMirrors: list('registry-mirror') } : {}),
  };
  if (!Object.keys(patch).length) return false;
  const { store } = await loadResources(berthPaths());
  const before = JSON.stringify(store.get());
  try {
    await store.update(patch);
  } catch (e) {
    throw new CliUsageError((e as Error).message);
  }
  return JSON.stringify(store.get()) !== before;
}

export function positiveInt(name: string, v: Flags['values'][string]): number | undefined {
  if (Array.isArray(v)) v = v.at(-1);
  if (v === undefined || typeof v === 'boolean') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0)
    throw new CliUsageError(`${name} must be a positive whole number, got "${v}"`);
  return n;
}
