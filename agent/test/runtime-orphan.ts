/** Test helper process standing in for berthd: creates and starts one container, reports, then waits to be
 *  killed with SIGKILL (runtime-lifecycle.test.ts). Args: stateRoot cgroupParent specJSON. */
import { createRuntime } from '../src/runtime/index.js';
import type { RuntimeSpec } from '../src/runtime/types.js';

const [stateRoot, cgroupParent, specJson] = process.argv.slice(2);
const rt = await createRuntime({ stateRoot: stateRoot, cgroupParent: cgroupParent });
const spec = JSON.parse(specJson) as RuntimeSpec;
const { pid } = await rt.create(spec);
await rt.start(spec.id);
process.stdout.write(`running ${pid}\n`);
setInterval(() => undefined, 1000);
