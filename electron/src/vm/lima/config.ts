/**
 * The Lima driver's lima.yaml: a Debian 12 cloud image (Lima needs cloud-init, which the Berth image has
 * not), berthd copied from this install through a read-only mount and run by a provision script, and the
 * guest's engine socket forwarded by Lima itself to Berth's host socket. The native helper is compiled in
 * the guest from the staged sources (native-src/): the host's build of it is a macOS binary on a Mac.
 */
import type { VmResources } from '../driver.js';

export interface LimaPlan {
  resources: VmResources;
  /**
   * Host directory holding berthd (berthd.cjs with berth-shim beside it, image/agent-tree.ts), the native helper's sources (native-src/) and the
   * pinned Linux Node (node/bin/node), mounted read-only at /opt/berth-src and copied to /opt/berth at boot.
   */
  berthDir: string;
  hostSocket: string;
  shareFolders: string[];
  arch: 'x86_64' | 'aarch64';
  /** macOS 13+ on Apple silicon: Virtualization.framework boots faster than QEMU. */
  vmType: 'qemu' | 'vz';
}

const q = (s: string) => JSON.stringify(s);

export function limaYaml(p: LimaPlan): string {
  const img = p.arch === 'x86_64' ? 'genericcloud-amd64' : 'genericcloud-arm64';
  const mounts = [
    `  - location: ${q(p.berthDir)}\n    mountPoint: /opt/berth-src\n    writable: false`,
    ...p.shareFolders.map((f) => `  - location: ${q(f)}\n    writable: true`),
  ];
  return `# Written by Berth; changes are overwritten on the next start.
vmType: ${p.vmType}
arch: ${p.arch}
cpus: ${p.resources.cpus}
memory: "${p.resources.memoryMiB}MiB"
disk: "${p.resources.diskGiB}GiB"
images:
  - location: "https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-${img}.qcow2"
    arch: ${p.arch}
containerd:
  system: false
  user: false
mounts:
${mounts.join('\n')}
provision:
  - mode: system
    script: |
      #!/bin/sh
      set -e
      apt-get install -y --no-install-recommends iproute2 nftables e2fsprogs gcc libc6-dev make >/dev/null
      mkdir -p /run/berth /var/lib/berth
      rm -rf /opt/berth.new && cp -a /opt/berth-src /opt/berth.new
      rm -f /opt/berth.new/berth-shim
      make -s -C /opt/berth.new/native-src OUT=/opt/berth.new
      rm -f /opt/berth.new/native/berth-pause
      make -s -C /opt/berth.new/kube-native-src OUT=/opt/berth.new/native
      rm -rf /opt/berth && mv /opt/berth.new /opt/berth
      cat >/etc/systemd/system/berthd.service <<'UNIT'
      [Unit]
      Description=Berth engine
      [Service]
      ExecStart=/opt/berth/node/bin/node /opt/berth/berthd.cjs --data-root /var/lib/berth -H unix:///run/berth/docker.sock
      Restart=on-failure
      [Install]
      WantedBy=multi-user.target
      UNIT
      systemctl daemon-reload
      systemctl enable berthd
      # restart, not start: on later boots the unit already runs the previous copy of /opt/berth.
      systemctl restart berthd
probes:
  - script: |
      #!/bin/sh
      test -S /run/berth/docker.sock
    hint: berthd did not create /run/berth/docker.sock; see /var/log/syslog in the VM
portForwards:
  - guestSocket: /run/berth/docker.sock
    hostSocket: ${q(p.hostSocket)}
`;
}

export const LIMA_INSTANCE = 'berth';

/** limactl command lines (unit-tested; run only where Lima is installed). */
export const limactl = {
  create: (yamlPath: string) => ['create', `--name=${LIMA_INSTANCE}`, '--tty=false', yamlPath],
  start: () => ['start', '--tty=false', LIMA_INSTANCE],
  stop: () => ['stop', LIMA_INSTANCE],
  forceStop: () => ['stop', '--force', LIMA_INSTANCE],
  list: () => ['list', '--json', LIMA_INSTANCE],
  shell: () => ['shell', LIMA_INSTANCE],
  delete: () => ['delete', '--force', LIMA_INSTANCE],
  fstrim: () => ['shell', LIMA_INSTANCE, 'sudo', 'fstrim', '-v', '/'],
};
