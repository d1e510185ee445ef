/** The other Engine API clients the product must serve unchanged: docker-py (python3 docker 7.1) and dockerode. */
import Docker from 'dockerode';
import { run, type RunResult } from './exec.js';
import type { TestDaemon } from './daemon.js';

/** Runs `code` in python3 with `client` = docker.DockerClient on the test daemon's socket. */
export function dockerPy(d: TestDaemon, code: string, timeoutMs = 60_000): Promise<RunResult> {
  const prelude = `import docker, sys, json\nclient = docker.DockerClient(base_url='unix://${d.socket}', version='1.44')\n`;
  return run('python3', ['-c', prelude + code], { timeoutMs });
}

export function dockerode(d: TestDaemon): Docker {
  return new Docker({ socketPath: d.socket });
}
