/**
 * The preamble that opens every connection to berthd's token-gated TCP listener (Berth's VM publishes it on
 * the host's loopback): the per-install token, 64 lowercase hex digits, then a newline. Shared by berthd
 * (which checks it) and the host side (which sends it).
 *
 * berthd answers a good preamble with HOST_TOKEN_ACK before any HTTP. QEMU's user-mode network accepts on
 * the host before the guest has the connection (and its host listener has a backlog of 1, so a burst of
 * connects gets some reset), so the host side hands a connection to a client only after the ack: until then
 * nothing of the client's was sent, and a connection that drops may simply be dialled again.
 */
export const HOST_TOKEN_RE = /^[0-9a-f]{64}$/;
export const HOST_TOKEN_PREAMBLE_BYTES = 65;
export const HOST_TOKEN_ACK = new Uint8Array([0x6f, 0x6b, 0x0a]); // "ok\n"

export function hostTokenPreamble(token: string): Uint8Array {
  if (!HOST_TOKEN_RE.test(token)) throw new Error('the host token must be 64 lowercase hex digits');
  return new TextEncoder().encode(`${token}\n`);
}
