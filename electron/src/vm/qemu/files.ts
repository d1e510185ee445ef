/** The QEMU driver's files in Berth's VM directory. */
import path from 'node:path';
import type { BerthPaths } from '../paths.js';

export interface QemuFiles {
  /** Ports, QMP address and accelerator of the running VM. */
  state: string;
  /** The engine's data disk (qcow2). */
  disk: string;
  serialLog: string;
  pid: string;
  qmp: string;
  /** The guest's SSH host key fingerprint, trusted on first use. */
  knownHost: string;
  /** The accelerator probe's cached answer. */
  accel: string;
}

export function qemuFiles(p: BerthPaths): QemuFiles {
  const vm = p.vm.dir;
  return {
    state: path.join(vm, 'state.json'),
    disk: path.join(vm, 'data.qcow2'),
    serialLog: path.join(vm, 'serial.log'),
    pid: path.join(vm, 'qemu.pid'),
    qmp: path.join(vm, 'qmp.sock'),
    knownHost: path.join(vm, 'known_host'),
    accel: path.join(vm, 'accel.json'),
  };
}
