#!/usr/bin/env node
/**
 * Entry of the background tunnel process: `node tunnel/main.js CONFIG.json PIDFILE`. Structured logs go to
 * ~/.berth/logs/tunnel.log and ports.log (the config's `logs`); without it, JSON lines on stdout.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createLogger, type Logger } from '@berth/common/log';
import { lineLog, topicLogger } from '../log/topics.js';
import { startTunnel, type TunnelConfig } from './service.js';

const [configFile, pidFile] = process.argv.slice(2);
const stdoutLogger = (topic: string): Logger =>
  createLogger({ topic }, (line) => void process.stdout.write(line));

async function main(): Promise<void> {
  if (!configFile || !pidFile) throw new Error('usage: tunnel/main.js CONFIG.json PIDFILE');
  const cfg = JSON.parse(readFileSync(configFile, 'utf8')) as TunnelConfig;
  const log = cfg.logs ? topicLogger(cfg.logs, 'tunnel') : stdoutLogger('tunnel');
  const ports = cfg.logs ? topicLogger(cfg.logs, 'ports') : stdoutLogger('ports');
  process.on('unhandledRejection', (err) => log.error('unhandled rejection', { err: String(err) }));
  const tunnel = await startTunnel(cfg, lineLog(log), lineLog(ports));
  writeFileSync(pidFile, String(process.pid));
  log.info('tunnel ready', { pid: process.pid });
  const stop = async (signal: string) => {
    log.info('stopping', { signal });
    try {
      await tunnel.close();
    } catch (err) {
      log.error('close failed', { err: (err as Error).message });
    }
    rmSync(pidFile, { force: true });
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err: unknown) => {
  // Before the config is read there is no log file: stdout goes to the tunnel log the manager opened.
  stdoutLogger('tunnel').error('tunnel failed', { err: (err as Error).message });
  process.exit(1);
});
