#!/usr/bin/env node
/** Entry of the background tunnel process: `node tunnel/main.js CONFIG.json PIDFILE`; JSON-line logs on stdout. */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { startTunnel, type TunnelConfig } from './service.js';

const [configFile, pidFile] = process.argv.slice(2);
const log = (msg: string, fields: Record<string, unknown> = {}) =>
  process.stdout.write(JSON.stringify({ time: new Date().toISOString(), msg, ...fields }) + '\n');

async function main(): Promise<void> {
  if (!configFile || !pidFile) throw new Error('usage: tunnel/main.js CONFIG.json PIDFILE');
  const cfg = JSON.parse(readFileSync(configFile, 'utf8')) as TunnelConfig;
  const tunnel = await startTunnel(cfg, log);
  writeFileSync(pidFile, String(process.pid));
  const stop = async (signal: string) => {
    log('stopping', { signal });
    try {
      await tunnel.close();
    } catch (err) {
      log('close failed', { err: (err as Error).message });
    }
    rmSync(pidFile, { force: true });
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err: unknown) => {
  log('tunnel failed', { err: (err as Error).message });
  process.exit(1);
});
