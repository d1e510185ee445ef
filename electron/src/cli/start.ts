/** `berth start`: boot the VM (or native berthd), forward the engine socket, create the docker context. */
import { DRIVER_HELP, DRIVER_KINDS, isDriverKind } from '../vm/factory.js';
import { loadResources, loadVmConfig, saveVmConfig } from '../vm/config.js';
import { loadKubeSettings } from '../kube/settings.js';
import { berthPaths } from '../vm/paths.js';
import { CliUsageError, type CliCommand } from './command.js';
import {
  describe,
  flags,
  openManager,
  positiveInt,
  progress,
  REGISTRY_FLAGS,
  REGISTRY_HELP,
  saveRegistryFlags,
} from './vm-common.js';

const HELP = `Usage: berth start [OPTIONS]

Starts the engine: boots the Berth VM (or berthd on this host with --driver native), forwards its socket to
~/.berth/run/docker.sock and creates the docker context "berth". Options are remembered.

Options:
      --driver NAME   ${DRIVER_HELP}
      --cpus N        VM CPUs
      --memory MIB    VM memory in MiB
      --disk GIB      VM data disk size in GiB (at creation)
${REGISTRY_HELP}
A running engine keeps its settings: \`berth restart\` applies changed ones.
`;

export const command: CliCommand = {
  summary: 'Start the engine (boot the VM)',
  async run(argv) {
    const { values } = flags(argv, {
      driver: { type: 'string' },
      cpus: { type: 'string' },
      memory: { type: 'string' },
      disk: { type: 'string' },
      ...REGISTRY_FLAGS,
    });
    if (values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    const paths = berthPaths();
    if (values.driver !== undefined) {
      const driver = values.driver;
      if (!isDriverKind(driver))
        throw new CliUsageError(`unknown driver "${String(driver)}": use ${DRIVER_KINDS.join(', ')}`);
      await saveVmConfig(paths, { ...(await loadVmConfig(paths)), driver });
    }
    const vm = {
      cpus: positiveInt('--cpus', values.cpus),
      memoryMiB: positiveInt('--memory', values.memory),
      diskGiB: positiveInt('--disk', values.disk),
    };
    const patch = Object.fromEntries(Object.entries(vm).filter(([, v]) => v !== undefined));
    if (Object.keys(patch).length) {
      const { store } = await loadResources(paths);
      try {
        await store.update({ vm: patch });
      } catch (e) {
        throw new CliUsageError((e as Error).message);
      }
    }
    const changed = (await saveRegistryFlags(values)) || Object.keys(patch).length > 0;
    const m = await openManager();
    if (changed && (await m.driver.status()).state === 'running')
      progress('warning: the engine is already running; `berth restart` applies the changed settings');
    const t0 = Date.now();
    const s = await m.start(progress);
    process.stderr.write(`Berth is running (${((Date.now() - t0) / 1000).toFixed(1)} s).\n`);
    process.stdout.write(describe(s));
    // The cluster comes back with the engine when it was enabled.
    if ((await loadKubeSettings(paths)).enabled) {
      const { enableKube } = await import('../kube/actions.js');
      await enableKube(paths, {}, progress);
    }
    return 0;
  },
};
