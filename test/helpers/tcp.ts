/** Raw TCP clients for forwarded ports (kubectl port-forward, berth serve's forwards): no HTTP library between. */
import net from 'node:net';

/**
 * An HTTP/1.0 GET on host:`port`, the answer's bytes (head and body) handed to `onData` as they come, nothing kept;
 * resolves when the server closes (HTTP/1.0 ends there). For what is too big to hold (bench/streams.mjs).
 */
export function httpGetStream(
  port: number,
  p: string,
  onData: (d: Buffer) => void,
  host = '127.0.0.1',
): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, host, () => s.write(`GET ${p} HTTP/1.0\r\nHost: x\r\n\r\n`));
    s.on('data', onData);
    s.on('error', reject);
    s.on('close', () => resolve());
  });
}

/** An HTTP/1.0 GET on 127.0.0.1:`port`: the body once the server closes. */
export async function httpGet(port: number, p: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await httpGetStream(port, p, (d) => chunks.push(d));
  const all = Buffer.concat(chunks);
  const at = all.indexOf('\r\n\r\n');
  if (at < 0) throw new Error(`no HTTP answer (${all.length} bytes)`);
  return all.subarray(at + 4);
}

/** Sends `data` through an echo server on 127.0.0.1:`port` and reads the same number of bytes back. */
export function echo(port: number, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(data));
    const chunks: Buffer[] = [];
    let n = 0;
    s.on('data', (d: Buffer) => {
      chunks.push(d);
      n += d.length;
      if (n >= data.length) {
        s.destroy();
        resolve(Buffer.concat(chunks));
      }
    });
    s.on('error', reject);
    s.on('close', () => {
      if (n < data.length) reject(new Error(`echo closed after ${n} of ${data.length} bytes`));
    });
  });
}
