import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hardwareAccel, kernelCmdline, qemuArgs, qemuBinary, type QemuPlan } from '../src/vm/qemu/args.js';

const base: QemuPlan = {
  platform: 'linux',
  arch: 'amd64',
  accel: 'kvm',
  cpus: 4,
  memoryMiB: 4096,
  kernel: '/img/vmlinuz',
  initrd: '/img/initrd.img',
  rootfs: '/img/rootfs.squashfs',
  disk: '/h/.berth/vm/data.qcow2',
  serialLog: '/h/.berth/vm/serial.log',
  pidFile: '/h/.berth/vm/qemu.pid',
  qmp: { kind: 'unix', path: '/h/.berth/vm/qmp.sock' },
  sshPort: 40022,
  sshKey: 'AAAAC3NzaC1lZDI1NTE5AAAAIKey',
  shares: [{ tag: 'share0', hostPath: '/home/me', guestPath: '/home/me' }],
  firmware: '/usr/share/qemu/qboot.rom',
};

/** The value following `flag` (first occurrence). */
const after = (args: string[], flag: string) => args[args.indexOf(flag) + 1];
const all = (args: string[], flag: string) => args.flatMap((a, i) => (a === flag ? [args[i + 1]] : []));

describe('qemu command lines', () => {
  it('Linux amd64 with KVM: q35, host CPU, qboot, both disks by serial, ssh forward, 9p home, QMP on a unix socket', () => {
    const a = qemuArgs(base);
    assert.equal(qemuBinary('amd64', 'linux'), 'qemu-system-x86_64');
    assert.equal(after(a, '-machine'), 'q35');
    assert.equal(after(a, '-accel'), 'kvm');
    assert.equal(after(a, '-cpu'), 'host');
    assert.equal(after(a, '-smp'), '4');
    assert.equal(after(a, '-m'), '4096');
    assert.equal(after(a, '-bios'), '/usr/share/qemu/qboot.rom');
    assert.equal(after(a, '-kernel'), '/img/vmlinuz');
    assert.equal(after(a, '-serial'), 'file:/h/.berth/vm/serial.log');
    assert.deepEqual(all(a, '-drive'), [
      'if=none,id=root,file=/img/rootfs.squashfs,format=raw,readonly=on',
      'if=none,id=data,file=/h/.berth/vm/data.qcow2,format=qcow2,discard=unmap,detect-zeroes=unmap',
    ]);
    assert.ok(all(a, '-device').includes('virtio-blk-pci,drive=root,serial=berth-root'));
    assert.ok(all(a, '-device').includes('virtio-blk-pci,drive=data,serial=berth-data'));
    assert.ok(all(a, '-device').includes('virtio-net-pci,netdev=net0,romfile='));
    assert.equal(after(a, '-netdev'), 'user,id=net0,hostfwd=tcp:127.0.0.1:40022-:22');
    assert.equal(
      after(a, '-virtfs'),
      'local,path=/home/me,mount_tag=share0,security_model=none,multidevs=remap,id=share0',
    );
    assert.equal(after(a, '-qmp'), 'unix:/h/.berth/vm/qmp.sock,server=on,wait=off');
    assert.equal(after(a, '-pidfile'), '/h/.berth/vm/qemu.pid');
    assert.equal(
      after(a, '-append'),
      'console=ttyS0 quiet panic=-1 cryptomgr.notests tsc=reliable berth.key=AAAAC3NzaC1lZDI1NTE5AAAAIKey berth.share=share0:/home/me',
    );
  });

  it('passes the registry settings to berthd inside, dropping values the command line cannot carry', () => {
    const a = qemuArgs({
      ...base,
      shares: [],
      registries: { insecure: ['10.0.2.2:5000', 'bad,one'], mirrors: ['http://10.0.2.2:5001'] },
    });
    assert.equal(
      after(a, '-append'),
      'console=ttyS0 quiet panic=-1 cryptomgr.notests tsc=reliable berth.key=AAAAC3NzaC1lZDI1NTE5AAAAIKey berth.insecure=10.0.2.2:5000 berth.mirror=http://10.0.2.2:5001',
    );
  });

  it('TCG fallback: multi-threaded TCG and the "max" CPU model', () => {
    const a = qemuArgs({ ...base, accel: 'tcg' });
    assert.equal(after(a, '-accel'), 'tcg,thread=multi');
    assert.equal(after(a, '-cpu'), 'max');
  });

  it('macOS on Apple silicon: aarch64 binary, virt machine with HVF, ttyAMA0 console, no x86 firmware', () => {
    const p: QemuPlan = { ...base, platform: 'darwin', arch: 'arm64', accel: hardwareAccel('darwin') };
    const a = qemuArgs(p);
    assert.equal(qemuBinary('arm64', 'darwin'), 'qemu-system-aarch64');
    assert.equal(after(a, '-machine'), 'virt,highmem=on');
    assert.equal(after(a, '-accel'), 'hvf');
    assert.equal(after(a, '-cpu'), 'host');
    assert.equal(a.includes('-bios'), false);
    assert.match(kernelCmdline(p), /^console=ttyAMA0 /);
    // tsc= is an x86 option; the arm64 kernel would hand it to init as an argument.
    assert.equal(kernelCmdline(p).includes('tsc='), false);
    assert.ok(kernelCmdline(p).includes('cryptomgr.notests'));
  });

  it('macOS on Intel: HVF on q35', () => {
    const a = qemuArgs({ ...base, platform: 'darwin', accel: hardwareAccel('darwin') });
    assert.equal(after(a, '-accel'), 'hvf');
    assert.equal(after(a, '-machine'), 'q35');
  });

  it('Windows: .exe binary, WHPX without the in-kernel irqchip, QMP over loopback TCP', () => {
    const a = qemuArgs({
      ...base,
      platform: 'win32',
      accel: hardwareAccel('win32'),
      qmp: { kind: 'tcp', port: 45555 },
      shares: [],
    });
    assert.equal(qemuBinary('amd64', 'win32'), 'qemu-system-x86_64.exe');
    assert.equal(after(a, '-accel'), 'whpx,kernel-irqchip=off');
    assert.equal(after(a, '-qmp'), 'tcp:127.0.0.1:45555,server=on,wait=off');
    assert.equal(a.includes('-virtfs'), false);
  });

  it('Linux arm64 host with KVM: virt with the host GIC', () => {
    const a = qemuArgs({ ...base, arch: 'arm64', accel: 'kvm' });
    assert.equal(after(a, '-machine'), 'virt,gic-version=max');
    assert.equal(after(a, '-cpu'), 'host');
  });

  it('publishes the engine port next to SSH and hands the engine token over fw_cfg, never on the command line', () => {
    const a = qemuArgs({ ...base, enginePort: 40376, engineTokenFile: '/h/.berth/keys/engine-token' });
    assert.equal(
      after(a, '-netdev'),
      'user,id=net0,hostfwd=tcp:127.0.0.1:40022-:22,hostfwd=tcp:127.0.0.1:40376-10.0.2.15:2376',
    );
    assert.equal(after(a, '-fw_cfg'), 'name=opt/berth/token,file=/h/.berth/keys/engine-token');
    assert.doesNotMatch(after(a, '-append'), /token/);
    assert.equal(qemuArgs(base).includes('-fw_cfg'), false);
  });

  it('the acceleration probe boots kernel + initrd only, console on stdio, with berth.probe', () => {
    const a = qemuArgs({ ...base, probe: true });
    assert.equal(after(a, '-serial'), 'stdio');
    assert.equal(a.includes('-drive'), false);
    assert.equal(a.includes('-netdev'), false);
    assert.match(after(a, '-append'), /berth\.probe=1/);
    assert.doesNotMatch(after(a, '-append'), /quiet/);
  });
});
