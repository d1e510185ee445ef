/** Key ranges as etcd draws them; keys are kube-apiserver's `/registry/...` paths (ASCII). */

/** The smallest key greater than every key under `prefix` (etcd's range_end for a prefix). */
export function prefixEnd(prefix: string): string {
  if (prefix === '') return '\u{10FFFF}';
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

/** The smallest key greater than `key` (where the next page starts). */
export function keyAfter(key: string): string {
  return key + '\0';
}
