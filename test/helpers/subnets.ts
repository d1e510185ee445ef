/**
 * A /20 inside 10.213.0.0/16 (the network tests' range) that no host route uses yet, picked at random so two
 * worktrees running the same test file at once do not give two bridges the same subnet.
 */
import { spawnSync } from 'node:child_process';

export function free213Block(): number {
  const routes = spawnSync('ip', ['-4', 'route', 'show', 'table', 'main'], { encoding: 'utf8' }).stdout;
  const used = new Set(
    [...routes.matchAll(/^10\.213\.(\d+)\./gm)].map((m) => Math.floor(Number(m[1]) / 16) * 16),
  );
  const free = Array.from({ length: 16 }, (_, i) => i * 16).filter((b) => !used.has(b));
  if (free.length === 0) throw new Error('no free /20 left in 10.213.0.0/16');
  return free[Math.floor(Math.random() * free.length)];
}
