/**
 * One AdmissionReview POST to a webhook, as kube-apiserver's webhook client sends it: HTTPS only, the server
 * verified against `caBundle` (the system's roots without one) under the name the URL or the Service gives, the
 * timeout both enforced and told to the server (`?timeout=Ns`). Transport failures come back as a CallFailure
 * whose text is what kube-apiserver's Go client would print, since clients show it to users.
 */
import https from 'node:https';
import { isIP } from 'node:net';
import { checkServerIdentity } from 'node:tls';

/** Where to send: the URL kube-apiserver would name in errors, and the address actually dialled. */
export interface Target {
  /** The webhook's URL (clientConfig.url, or https://<svc>.<ns>.svc:<port><path>). */
  url: URL;
  /** The URL as Go prints it in errors (the text given, or the Service's with its port), without the query. */
  shown: string;
  /** Host and port to connect to (the URL's, or a Service endpoint's). */
  host: string;
  port: number;
  /** The name the certificate must carry. */
  serverName: string;
}

/** A failure to talk to the webhook (not a denial): ErrCallingWebhook. */
export class CallFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CallFailure';
  }
}

const MAX_RESPONSE_BYTES = 3 * 1024 * 1024;

/** Node's errors worded as Go's net/http and crypto/tls word them. */
function goNetError(e: NodeJS.ErrnoException, t: Target): string {
  const addr = `${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}`;
  switch (e.code) {
    case 'ECONNREFUSED':
      return `dial tcp ${addr}: connect: connection refused`;
    case 'EHOSTUNREACH':
      return `dial tcp ${addr}: connect: no route to host`;
    case 'ENETUNREACH':
      return `dial tcp ${addr}: connect: network is unreachable`;
    case 'ECONNRESET':
      return `read tcp ${addr}: read: connection reset by peer`;
    case 'ENOTFOUND':
      return `dial tcp: lookup ${t.host}: no such host`;
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
      return 'tls: failed to verify certificate: x509: certificate signed by unknown authority';
    case 'CERT_HAS_EXPIRED':
      return 'tls: failed to verify certificate: x509: certificate has expired or is not yet valid';
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `tls: failed to verify certificate: x509: certificate is not valid for ${t.serverName}`;
    default:
      return e.message;
  }
}

/**
 * POSTs `review` and resolves with the parsed answer. Rejects with a CallFailure for anything but a 2xx JSON
 * answer in time.
 */
export function postReview(
  t: Target,
  review: unknown,
  opts: { caPem?: string; timeoutSeconds: number },
): Promise<unknown> {
  const url = new URL(t.url.href);
  url.searchParams.set('timeout', `${opts.timeoutSeconds}s`);
  const shown = `Post "${t.shown}?timeout=${opts.timeoutSeconds}s"`;
  const body = Buffer.from(JSON.stringify(review));
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      reject(new CallFailure(`${shown}: ${why}`));
    };
    const req = https.request({
      host: t.host,
      port: t.port,
      method: 'POST',
      path: `${url.pathname}${url.search}`,
      headers: {
        'Content-Type': 'application/json',
        Accept: 'application/json, */*',
        'Content-Length': body.length,
        'User-Agent': 'kube-apiserver-admission',
        Host: url.host,
      },
      ...(isIP(t.serverName) ? {} : { servername: t.serverName }),
      ...(opts.caPem ? { ca: opts.caPem } : {}),
      // The certificate is checked against the URL's name, not the dialled address (a Service endpoint).
      checkServerIdentity: (_host: string, cert: Parameters<typeof checkServerIdentity>[1]) =>
        checkServerIdentity(t.serverName, cert),
      agent: false,
    } as https.RequestOptions);
    const timer = setTimeout(() => fail('context deadline exceeded'), opts.timeoutSeconds * 1000);
    req.on('error', (e: NodeJS.ErrnoException) => fail(goNetError(e, t)));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_RESPONSE_BYTES) fail('the response from the webhook is too large');
        else chunks.push(c);
      });
      res.on('error', (e: NodeJS.ErrnoException) => fail(goNetError(e, t)));
      res.on('end', () => {
        if (settled) return;
        const text = Buffer.concat(chunks).toString('utf8');
        const code = res.statusCode ?? 0;
        if (code < 200 || code > 299) {
          // client-go's error for an answer that is not a Status: the body, quoted.
          return fail(
            `an error on the server (${JSON.stringify(text.trim() || 'unknown')}) has prevented the request from succeeding`,
          );
        }
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch (e) {
          return fail(`invalid character in the webhook's response: ${(e as Error).message}`);
        }
        settled = true;
        clearTimeout(timer);
        resolve(parsed);
      });
    });
    req.end(body);
  });
}
