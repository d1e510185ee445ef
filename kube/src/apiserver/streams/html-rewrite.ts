/**
 * The link rewriting of kube-apiserver's proxy transport (apimachinery proxy.Transport): a redirect or an HTML
 * attribute that points at the backend's root (an absolute path, or a URL on the backend's or the API server's
 * host) is moved under the proxy prefix (`/api/v1/namespaces/ns/pods/name/proxy`), so pages served through the
 * proxy keep working. Relative links and other hosts are left alone. Bodies may be gzip or deflate encoded.
 */
import type { Readable } from 'node:stream';
import zlib from 'node:zlib';

export interface Rewriter {
  /** The request path up to and including `/proxy`. */
  prefix: string;
  /** host:port the proxy dialled. */
  backendHost: string;
  /** The Host the client addressed the API server by. */
  requestHost: string;
}

/** Tags and the attributes holding URLs in them (the table kube-apiserver uses). */
const URL_ATTRS: Record<string, string[]> = {
  a: ['href'],
  applet: ['codebase'],
  area: ['href'],
  audio: ['src'],
  base: ['href'],
  blockquote: ['cite'],
  body: ['background'],
  button: ['formaction'],
  command: ['icon'],
  del: ['cite'],
  embed: ['src'],
  form: ['action'],
  frame: ['longdesc', 'src'],
  head: ['profile'],
  html: ['manifest'],
  iframe: ['longdesc', 'src'],
  img: ['longdesc', 'src', 'usemap'],
  input: ['src', 'usemap', 'formaction'],
  ins: ['cite'],
  link: ['href'],
  object: ['classid', 'codebase', 'data', 'usemap'],
  q: ['cite'],
  script: ['src'],
  source: ['src'],
  video: ['poster', 'src'],
};
/** Elements whose content is text, not markup. */
const RAW_TEXT = new Set(['script', 'style', 'textarea', 'title', 'xmp']);
/** Bodies larger than this are passed through unchanged. */
const MAX_REWRITE = 32 * 1024 * 1024;

function joinPath(a: string, b: string): string {
  const parts: string[] = [];
  for (const seg of `${a}/${b}`.split('/')) {
    if (!seg || seg === '.') continue;
    if (seg === '..') parts.pop();
    else parts.push(seg);
  }
  return '/' + parts.join('/');
}

/** proxy.Transport.rewriteURL over a URL reference as written. */
export function rewriteLocation(raw: string, rw: Rewriter): string {
  const m = /^(?:([a-zA-Z][a-zA-Z0-9+.-]*):)?(?:\/\/([^/?#]*))?([^?#]*)(.*)$/s.exec(raw);
  if (!m) return raw;
  let scheme: string | undefined = m[1];
  let host: string | undefined = m[2];
  let path = m[3];
  const tail = m[4];
  const differentHost = !!host && host !== rw.backendHost && host !== rw.requestHost;
  if (differentHost || !path.startsWith('/')) return raw;
  // The API server's own URL has no scheme or host here: links to the backend become host-relative.
  if (host !== rw.requestHost) {
    scheme = undefined;
    host = undefined;
  }
  if (!path.startsWith(rw.prefix)) path = joinPath(rw.prefix, path) + (path.endsWith('/') ? '/' : '');
  return `${scheme ? `${scheme}:` : ''}${host !== undefined ? `//${host}` : ''}${path}${tail}`;
}

function rewriteTag(tag: string, name: string, rw: Rewriter): string {
  const attrs = URL_ATTRS[name];
  if (!attrs) return tag;
  return tag.replace(
    /(\s)([^\s"'>/=]+)(\s*=\s*)("([^"]*)"|'([^']*)'|([^\s"'=<>`]+))/g,
    (all, sp: string, key: string, eq: string, _v, dq?: string, sq?: string, bare?: string) => {
      if (!attrs.includes(key.toLowerCase())) return all;
      const value = dq ?? sq ?? bare ?? '';
      const next = rewriteLocation(value, rw);
      const q = dq !== undefined ? '"' : sq !== undefined ? "'" : '"';
      return `${sp}${key}${eq}${q}${next}${q}`;
    },
  );
}

export function rewriteHtml(html: string, rw: Rewriter): string {
  let out = '';
  let i = 0;
  while (i < html.length) {
    const lt = html.indexOf('<', i);
    if (lt < 0) break;
    out += html.slice(i, lt);
    if (html.startsWith('<!--', lt)) {
      const end = html.indexOf('-->', lt + 4);
      const stop = end < 0 ? html.length : end + 3;
      out += html.slice(lt, stop);
      i = stop;
      continue;
    }
    const m = /^<([a-zA-Z][a-zA-Z0-9-]*)/.exec(html.slice(lt, lt + 64));
    const gt = html.indexOf('>', lt);
    if (!m || gt < 0) {
      out += '<';
      i = lt + 1;
      continue;
    }
    const name = m[1].toLowerCase();
    out += rewriteTag(html.slice(lt, gt + 1), name, rw);
    i = gt + 1;
    if (RAW_TEXT.has(name)) {
      const close = html.toLowerCase().indexOf(`</${name}`, i);
      const stop = close < 0 ? html.length : close;
      out += html.slice(i, stop);
      i = stop;
    }
  }
  return out + html.slice(i);
}

async function readAll(src: Readable, limit: number): Promise<Buffer | undefined> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const c of src) {
    size += (c as Buffer).length;
    if (size > limit) return undefined;
    parts.push(c as Buffer);
  }
  return Buffer.concat(parts);
}

/**
 * The rewritten body, re-encoded as it came; undefined when it cannot be rewritten (an encoding other than gzip
 * or deflate: then nothing has been read and the caller streams it unchanged). Text is handled as latin1, so
 * bytes outside the rewritten attributes pass unchanged whatever the page's charset.
 */
export async function rewriteBody(
  src: Readable,
  encoding: string,
  rw: Rewriter,
): Promise<Buffer | undefined> {
  const enc = encoding.trim().toLowerCase();
  if (enc && enc !== 'gzip' && enc !== 'deflate') return undefined;
  const raw = await readAll(src, MAX_REWRITE);
  if (!raw) throw new Error('html body too large to rewrite');
  let text: string;
  let encode: (b: Buffer) => Buffer = (b) => b;
  if (enc === 'gzip') {
    text = zlib.gunzipSync(raw).toString('latin1');
    encode = (b) => zlib.gzipSync(b);
  } else if (enc === 'deflate') {
    // "deflate" is zlib-wrapped by the RFC, raw DEFLATE in practice (and in Go's reader): take either.
    try {
      text = zlib.inflateSync(raw).toString('latin1');
      encode = (b) => zlib.deflateSync(b);
    } catch {
      text = zlib.inflateRawSync(raw).toString('latin1');
      encode = (b) => zlib.deflateRawSync(b);
    }
  } else text = raw.toString('latin1');
  return encode(Buffer.from(rewriteHtml(text, rw), 'latin1'));
}
