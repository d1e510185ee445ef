/** The host platform in Go's names, as dockerd reports it (/version, /info) and images declare it. */

const GOARCH: Record<string, string> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ia32: '386',
  ppc64: 'ppc64le',
  s390x: 's390x',
};

/** GOARCH of a Node `process.arch` value (the host's by default). */
export function goArch(arch: string = process.arch): string {
  return GOARCH[arch] ?? arch;
}
