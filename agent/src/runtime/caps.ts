/** Linux capability names ↔ bits, and the sets berthd hands the native helper (hex masks). */
export const CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
];

/** Accepts Docker's spellings: 'CAP_NET_ADMIN', 'NET_ADMIN', 'net_admin', and 'ALL' (→ 'CAP_ALL'). */
export function normalizeCap(name: string): string {
  const up = name.trim().toUpperCase();
  return up.startsWith('CAP_') ? up : `CAP_${up}`;
}

export function capMask(names: readonly string[]): bigint {
  let mask = 0n;
  for (const raw of names) {
    const name = normalizeCap(raw);
    if (name === 'CAP_ALL') return allCapsMask();
    const bit = CAPABILITIES.indexOf(name);
    if (bit < 0) throw new Error(`unknown capability: "${raw}"`);
    mask |= 1n << BigInt(bit);
  }
  return mask;
}

export function allCapsMask(): bigint {
  return (1n << BigInt(CAPABILITIES.length)) - 1n;
}

/** Docker's --cap-add/--cap-drop arithmetic over a base set ('ALL' allowed on either side). */
export function mergeCaps(
  base: readonly string[],
  add: readonly string[],
  drop: readonly string[],
): string[] {
  const norm = (l: readonly string[]): string[] => l.map(normalizeCap);
  const adds = norm(add);
  const drops = norm(drop);
  let set = new Set(adds.includes('CAP_ALL') ? CAPABILITIES : norm(base));
  for (const c of adds) if (c !== 'CAP_ALL') set.add(c);
  if (drops.includes('CAP_ALL')) set = new Set(adds.filter((c) => c !== 'CAP_ALL'));
  for (const c of drops) set.delete(c);
  for (const c of set) if (!CAPABILITIES.includes(c)) throw new Error(`unknown capability: "${c}"`);
  return CAPABILITIES.filter((c) => set.has(c));
}
