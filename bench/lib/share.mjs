// File sharing, measured for bench/vm.mjs: the same operations on the host disk (native) and on the same
// folder through the VM's share, plus the guest's own disk as a reference that shows how much of the
// gap is the emulated guest CPU (TCG) rather than the share. Every operation is timed inside a shell on
// the side that runs it (host: date before/after; guest: busybox `time`), so process start-up and the
// SSH round trip of `berth shell` are not counted.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const MiB = 1 << 20;

/** Seconds taken by `cmd` in a host shell (timed inside the shell). */
function onHost(cmd) {
  const r = spawnSync(
    'sh',
    ['-c', `a=$(date +%s%N); ${cmd} >/dev/null 2>&1 || exit 99; b=$(date +%s%N); echo $((b - a))`],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`on the host: ${cmd}: exit ${r.status} ${r.stderr}`);
  return Number(r.stdout.trim()) / 1e9;
}

/** The median of `n` host runs: host operations on small trees take milliseconds, so one run is noise. */
function onHostMedian(cmd, n = 3, before = '') {
  const xs = [];
  for (let i = 0; i < n; i++) {
    if (before) spawnSync('sh', ['-c', before]);
    xs.push(onHost(cmd));
  }
  return xs.sort((a, b) => a - b)[Math.floor(n / 2)];
}

/** A source-tree-like folder: `dirs` directories of small files (0.3–4.5 KiB) with one subdirectory each. */
function makeTree(root, dirs = 20, perDir = 15) {
  let files = 0;
  let seed = 1;
  const bytes = (n) =>
    Buffer.from(Array.from({ length: n }, () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff));
  for (let d = 0; d < dirs; d++) {
    mkdirSync(path.join(root, `d${d}`, 'sub'), { recursive: true });
    for (let f = 0; f < perDir; f++) {
      writeFileSync(path.join(root, `d${d}`, `f${f}.ts`), bytes(300 + f * 280));
      writeFileSync(path.join(root, `d${d}`, 'sub', `g${f}.js`), bytes(2000));
      files += 2;
    }
  }
  return files;
}

/**
 * `share`: the shared folder (same path on host and guest). `inGuest(cmd)`: seconds `cmd` took inside the
 * VM. `guestDisk`: a directory on the guest's own disk for the reference runs.
 */
export function measureSharing({ share, inGuest, guestDisk, sizeMiB = 128 }) {
  const big = path.join(share, 'host.bin');
  // GNU dd's nocache with count=0 drops just this file from the host's page cache (nothing else is touched).
  const evict = `dd if=${big} iflag=nocache count=0 2>/dev/null`;
  const seq = {
    hostWrite: onHost(`dd if=/dev/zero of=${big} bs=1M count=${sizeMiB} conv=fsync`),
    sharedWrite: inGuest(
      `dd if=/dev/zero of=${share}/guest.bin bs=1M count=${sizeMiB} conv=fsync 2>/dev/null`,
    ),
    guestDiskWrite: inGuest(
      `dd if=/dev/zero of=${guestDisk}/guest.bin bs=1M count=${sizeMiB} conv=fsync 2>/dev/null`,
    ),
  };
  onHost(`cat ${big}`);
  seq.hostReadWarm = onHostMedian(`dd if=${big} of=/dev/null bs=1M`);
  seq.sharedReadWarm = inGuest(`dd if=${big} of=/dev/null bs=1M 2>/dev/null`);
  seq.hostReadCold = onHostMedian(`dd if=${big} of=/dev/null bs=1M`, 3, evict);
  spawnSync('sh', ['-c', evict]);
  seq.sharedReadCold = inGuest(`dd if=${big} of=/dev/null bs=1M 2>/dev/null`);
  inGuest(`sync; echo 3 > /proc/sys/vm/drop_caches`);
  seq.guestDiskReadCold = inGuest(`dd if=${guestDisk}/guest.bin of=/dev/null bs=1M 2>/dev/null`);
  const rate = (s) => +(sizeMiB / s).toFixed(1);
  const sequential = {
    sizeMiB,
    writeFsyncMiBs: {
      host: rate(seq.hostWrite),
      shared: rate(seq.sharedWrite),
      guestDisk: rate(seq.guestDiskWrite),
      ratio: +(seq.hostWrite / seq.sharedWrite).toFixed(2),
    },
    readColdMiBs: {
      host: rate(seq.hostReadCold),
      shared: rate(seq.sharedReadCold),
      guestDisk: rate(seq.guestDiskReadCold),
      ratio: +(seq.hostReadCold / seq.sharedReadCold).toFixed(2),
    },
    readWarmMiBs: {
      host: rate(seq.hostReadWarm),
      shared: rate(seq.sharedReadWarm),
      ratio: +(seq.hostReadWarm / seq.sharedReadWarm).toFixed(2),
    },
  };

  // Many small files: what `docker run -v $HOME/project:/src` feels (a build walking and reading a tree,
  // an install writing one). The tarball is copied to the guest's tmpfs first so only the writes cross.
  const tree = path.join(share, 'tree');
  const files = makeTree(tree);
  spawnSync('tar', ['-cf', path.join(share, 'tree.tar'), '-C', share, 'tree']);
  inGuest(`cp ${share}/tree.tar /tmp/tree.tar && mkdir -p ${share}/g ${guestDisk}/g`);
  mkdirSync(path.join(share, 'h'));
  const small = {
    stat: {
      host: onHostMedian(`ls -lR ${tree}`),
      shared: inGuest(`ls -lR ${tree} >/dev/null`),
    },
    read: {
      host: onHostMedian(`tar -cf - -C ${share} tree | wc -c`),
      shared: inGuest(`tar -cf - -C ${share} tree | wc -c >/dev/null`),
    },
    create: {
      host: onHostMedian(`tar -xf ${share}/tree.tar -C ${share}/h`, 3, `rm -rf ${share}/h/tree`),
      shared: inGuest(`tar -xf /tmp/tree.tar -C ${share}/g`),
      guestDisk: inGuest(`tar -xf /tmp/tree.tar -C ${guestDisk}/g`),
    },
    delete: {
      host: onHostMedian(`rm -rf ${share}/h/tree`, 3, `sync; tar -xf ${share}/tree.tar -C ${share}/h; sync`),
      shared: inGuest(`rm -rf ${share}/g/tree`),
      guestDisk: inGuest(`rm -rf ${guestDisk}/g/tree`),
    },
  };
  inGuest(
    `sync; echo 3 > /proc/sys/vm/drop_caches; tar -xf /tmp/tree.tar -C ${guestDisk}/g; sync; echo 3 > /proc/sys/vm/drop_caches`,
  );
  small.stat.guestDisk = inGuest(`ls -lR ${guestDisk}/g/tree >/dev/null`);
  small.read.guestDisk = inGuest(`tar -cf - -C ${guestDisk}/g tree | wc -c >/dev/null`);
  inGuest(`rm -rf ${guestDisk}/g ${guestDisk}/guest.bin /tmp/tree.tar`);
  const smallFiles = {
    files,
    treeMiB: +(
      Number(spawnSync('du', ['-sb', tree], { encoding: 'utf8' }).stdout.split('\t')[0]) / MiB
    ).toFixed(1),
  };
  for (const [op, t] of Object.entries(small))
    smallFiles[`${op}Seconds`] = {
      host: +t.host.toFixed(3),
      shared: +t.shared.toFixed(2),
      guestDisk: +t.guestDisk.toFixed(2),
      ratio: +(t.host / t.shared).toFixed(3),
      ratioToGuestDisk: +(t.guestDisk / t.shared).toFixed(2),
    };
  return {
    sequential,
    smallFiles,
    notes: [
      "ratio = shared speed / host speed (1 = native). guestDisk = the same operation on the guest's own virtio disk: the ceiling any share has under this accelerator.",
      'readCold: the file is evicted from the host page cache first (dd iflag=nocache), so both sides read the host disk; readWarm: both read the host page cache.',
      'smallFiles: ls -lR (stat walk), tar c (read every file), tar x (create), rm -rf (delete); host numbers are the median of 3. cache=none in the guest: no attribute or page cache, every stat is a round trip to QEMU.',
    ],
    target: '>= 0.75 of native',
  };
}
