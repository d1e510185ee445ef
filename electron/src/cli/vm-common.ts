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
  values: Record<string, string | boolean | undefined>;
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

export function positiveInt(name: string, v: string | boolean | undefined): number | undefined {
  if (v === undefined || typeof v === 'boolean') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0)
    throw new CliUsageError(`${name} must be a positive whole number, got "${v}"`);
  return n;
}
