/**
 * Host folders shared into the guest at the same path (virtio-9p): `docker run -v $HOME/x:/x` from the host
 * then means the same files inside. 9p needs Debian's generic kernel (the cloud kernel lacks it), which is
 * why the guest image uses linux-image-<abi>-amd64; virtiofs would be faster but bookworm has no virtiofsd.
 *
 * The guest mounts with cache=none (vm-image/guest/berth-init) on purpose: in the 6.1 guest kernel it is the
 * only mode in which an edit, a new file or a delete on the host is seen in the guest at once and guest
 * writes reach the host at once. cache=loose was checked and served stale data both ways (it is faster for
 * stat-heavy trees, slower for large files under TCG); cache=mmap measured the same as none. msize above
 * 512000 buys nothing: the 6.1 virtio transport caps it there. Numbers: bench/vm.mjs (bench/lib/share.mjs).
 * The price of cache=none is in round trips, not bytes: no dentry is kept, so every syscall re-walks each
 * path component (counted with QEMU's v9fs trace events: `ls -lR` ~5 requests per file, busybox `tar x`
 * ~96), and each request costs ~0.5 ms under TCG here; large files move in 512 KB requests near disk speed.
 */
import type { HostPlatform } from '../driver.js';
import type { Share } from './args.js';

export interface SharePlan {
  shares: Share[];
  /** Why a requested folder is not shared (the VM still starts). */
  warnings: string[];
}

/** A path the guest's kernel command line can carry (berth-init splits on commas and colons and spaces). */
export function shareablePath(p: string): string | undefined {
  if (!p.startsWith('/')) return `${p} is not an absolute path`;
  if (/[\s,:]/.test(p))
    return `${p} contains a space, comma or colon, which the guest's share list cannot carry`;
  return undefined;
}

export function planShares(platform: HostPlatform, folders: string[]): SharePlan {
  if (platform === 'win32')
    return {
      shares: [],
      warnings: folders.length
        ? [
            'folder sharing is not available with QEMU on Windows (no virtio-9p); use the Lima or WSL setup for bind mounts',
          ]
        : [],
    };
  const shares: Share[] = [];
  const warnings: string[] = [];
  folders.forEach((f, i) => {
    const bad = shareablePath(f);
    if (bad) warnings.push(`not sharing ${f}: ${bad}`);
    else shares.push({ tag: `share${i}`, hostPath: f, guestPath: f });
  });
  return { shares, warnings };
}
