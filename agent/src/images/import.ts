/**
 * `docker import`: a root filesystem tarball (the request body, or fetched from a URL) becomes a one-layer
 * image with no parent, its config built from `--change` instructions, as dockerd's ImportImage does.
 * The layer goes through the same one-pass unpack as pulls and commits, so a bad archive leaves nothing.
 */
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { badParameter, internal } from '../errors.js';
import { LayerError } from '../storage/extract.js';
import { TarFormatError } from '../storage/tar-parse.js';
import type { ImageContainerConfig } from '@berth/common';
import { daemonPlatform, type Platform } from './oci.js';
import type { ImageService } from './service.js';
import type { ImageRecord } from './store.js';

export interface ImportOptions {
  src: Readable;
  /** What dockerd records as the source: '-' or the URL. */
  from: string;
  config: ImageContainerConfig;
  message: string;
  platform?: Platform;
  tags: string[];
}

export async function importTarball(svc: ImageService, o: ImportOptions): Promise<ImageRecord> {
  const plat = o.platform ?? daemonPlatform();
  if (plat.os !== 'linux') throw badParameter('operating system is not supported');
  const comment = o.message || `Imported from ${o.from}`;
  try {
    return await svc.createImage({
      layerTar: o.src,
      config: {
        architecture: plat.architecture,
        os: plat.os,
        ...(plat.variant ? { variant: plat.variant } : {}),
        config: o.config,
        comment,
      },
      history: { comment },
      tags: o.tags,
    });
  } catch (err) {
    if (err instanceof LayerError || err instanceof TarFormatError)
      throw badParameter(`invalid tar archive: ${err.message}`);
    throw err;
  }
}

/** dockerd accepts a bare host[:port] as an http URL. */
export function importUrl(src: string): URL {
  let u: URL;
  try {
    u = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(src) ? src : `http://${src}`);
  } catch {
    throw badParameter(`invalid import source ${JSON.stringify(src)}: expected - or an http(s) URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw badParameter(
      `invalid import source ${JSON.stringify(src)}: only http and https URLs can be imported`,
    );
  return u;
}

const MAX_REDIRECTS = 10;

/** GETs the tarball (following redirects as Go's http.Get); a non-2xx answer is an error, as in dockerd. */
export function fetchTarball(url: URL, signal: AbortSignal, hops = 0): Promise<Readable> {
  return new Promise((resolve, reject) => {
    const get = url.protocol === 'https:' ? https.get : http.get;
    const req = get(url, { signal }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (hops >= MAX_REDIRECTS)
          return reject(internal(`Get "${url.href}": stopped after ${MAX_REDIRECTS} redirects`));
        let next: URL;
        try {
          next = importUrl(new URL(res.headers.location, url).href);
        } catch (err) {
          return reject(err);
        }
        return resolve(fetchTarball(next, signal, hops + 1));
      }
      if (status < 200 || status >= 300) {
        res.resume();
        return reject(
          internal(`failed to GET ${url.href} with status ${status} ${res.statusMessage ?? ''}`.trim()),
        );
      }
      resolve(res);
    });
    req.on('error', (err) => reject(internal(`Get "${url.href}": ${err.message}`)));
  });
}
