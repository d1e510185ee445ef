/**
 * What /version says. kubectl on our machines is a dispatcher that runs the kubectl binary matching the server's
 * minor, so this is 1.32 (a real 1.32 patch release, marked as Berth's build).
 */
export const KUBE_VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.9+berth',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2025-09-09T00:00:00Z',
  goVersion: 'go1.23.12',
  compiler: 'gc',
  platform: `linux/${process.arch === 'x64' ? 'amd64' : process.arch}`,
};
