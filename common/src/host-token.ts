/**
 * The preamble that opens every connection to berthd's token-gated TCP listener (Berth's VM publishes it on
 * the host's loopback): the per-install token, 64 lowercase hex digits, then a newline. Shared by berthd
 * (which checks it) and the host side (which sends it).
 */
export const HOST_TOKEN_RE = /^[0-9a-f]{64}$/;
export const HOST_TOKEN_PREAMBLE_BYTES = 65;

export function hostTokenPreamble(token: string): Uint8Array {
  if (!HOST_TOKEN_RE.test(token)) throw new Error('the host token must be 64 lowercase hex digits');
  return new TextEncoder().encode(`${token}\n`);
}
