/** A minimal QMP client: enough to ask QEMU to quit when the guest does not shut down by itself. */
import net from 'node:net';

export type QmpAddress = { kind: 'unix'; path: string } | { kind: 'tcp'; port: number };

/** Sends one command after the capabilities handshake; resolves with its `return` value. */
export function qmpCommand(addr: QmpAddress, execute: string, timeoutMs = 3000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const sock = addr.kind === 'unix' ? net.connect(addr.path) : net.connect(addr.port, '127.0.0.1');
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`QMP ${execute}: no answer in ${timeoutMs} ms`));
    }, timeoutMs);
    let buf = '';
    let step = 0;
    sock.on('data', (d) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const msg = JSON.parse(line) as { QMP?: unknown; return?: unknown; error?: { desc: string } };
        if (msg.error) {
          clearTimeout(timer);
          sock.destroy();
          return reject(new Error(`QMP ${execute}: ${msg.error.desc}`));
        }
        if (msg.QMP && step === 0) {
          step = 1;
          sock.write(JSON.stringify({ execute: 'qmp_capabilities' }) + '\n');
        } else if ('return' in msg && step === 1) {
          step = 2;
          sock.write(JSON.stringify({ execute }) + '\n');
        } else if ('return' in msg && step === 2) {
          clearTimeout(timer);
          sock.end();
          return resolve(msg.return);
        }
      }
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    // `quit` closes the socket instead of answering sometimes; that is success too.
    sock.on('close', () => {
      clearTimeout(timer);
      if (step === 2) resolve(undefined);
    });
  });
}
