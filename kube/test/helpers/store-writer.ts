/**
 * The crash tests' writer: opens a store as berth-kube would, then writes as fast as it can from several
 * concurrent loops and prints each acknowledged write (`ack REV KEY`, or `upd REV VALUE` for the counter) only
 * after its promise resolved, i.e. once the store said it is durable. stdout to a pipe is synchronous on Linux,
 * so a printed line is in the parent's pipe before the next write starts; the parent kill -9s this process.
 * Usage: node store-writer.js '{"dataDir":..,"endpoint"?:..,"prefix":..,"concurrency":8}'
 */
import { createLogger, setLogLevel } from '@berth/common/log';
import { openStore } from '../../src/store/index.js';

interface Args {
  dataDir: string;
  endpoint?: string;
  prefix: string;
  concurrency: number;
}

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
setLogLevel('error');
const store = await openStore({
  dataDir: args.dataDir,
  ...(args.endpoint ? { endpoint: args.endpoint } : {}),
  log: createLogger({ proc: 'store-writer' }),
  compaction: false,
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let next = 0;

async function creates(): Promise<never> {
  for (;;) {
    const key = `${args.prefix}k${next++}`;
    try {
      const kv = await store.create(key, JSON.stringify({ key }));
      process.stdout.write(`ack ${kv.modRevision} ${key}\n`);
    } catch (err) {
      process.stdout.write(`err ${(err as Error).message}\n`);
      await sleep(20);
    }
  }
}

async function counter(): Promise<never> {
  const key = `${args.prefix}counter`;
  let cur = await store.create(key, '0');
  for (;;) {
    try {
      cur = await store.update(key, String(Number(cur.value) + 1), cur.modRevision);
      process.stdout.write(`upd ${cur.modRevision} ${cur.value}\n`);
    } catch (err) {
      process.stdout.write(`err ${(err as Error).message}\n`);
      await sleep(20);
      cur = (await store.get(key).catch(() => undefined)) ?? cur;
    }
  }
}

process.stdout.write('ready\n');
void counter();
for (let i = 0; i < args.concurrency; i++) void creates();
