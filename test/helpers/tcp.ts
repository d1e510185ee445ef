/** Raw TCP clients for forwarded ports (kubectl port-forward, berth serve's forwards): no HTTP library between. */
import net from 'node:net';

/** An HTTP/1.0 GET on 127.0.0.1:`port`: the body once the server closes. */
export function httpGet(port: number, p: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(`GET ${p} HTTP/1.0\r\nHost: x\r\n\r\n`));
    const chunks: Buffer[] = [];
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', reject);
    s.on('close', () => {
      const all = Buffer.concat(chunks);
      const at = all.indexOf('\r\n\r\n');
      if (at < 0) return reject(new Error(`no HTTP answer (${all.length} bytes)`));
      resolve(all.subarray(at + 4));
    });
  });
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
