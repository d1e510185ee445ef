#!/usr/bin/env node
/** `berth-kube`: parse flags, start the control plane, stop cleanly on SIGTERM/SIGINT. */
import { parseArgs, USAGE, UsageError } from './config.js';
import { log, setLogLevel } from './log.js';
import { LockHeldError } from './util/files.js';

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`berth-kube: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    throw err;
  }
  if (parsed.kind === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const c = parsed.config;
  setLogLevel(c.logLevel);
  const logger = log.child({ component: 'berth-kube' });
  // Signal handlers go in first: a SIGTERM during start-up still ends cleanly once start-up is done.
  let running: { close(): Promise<void> } | undefined;
  let pending: string | undefined;
  let stopping = false;
  const stop = (signal: string) => {
    if (!running) {
      pending ??= signal;
      return;
    }
    if (stopping) return;
    stopping = true;
    logger.info('signal received, stopping', { signal });
    running
      .close()
      .then(() => {
        logger.info('stopped');
        process.exit(0);
      })
      .catch((e: unknown) => {
        process.stderr.write(`berth-kube: shutdown failed: ${(e as Error).message}\n`);
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  try {
    const { startApiServer } = await import('./apiserver/index.js');
    const api = await startApiServer({
      dataDir: c.dataDir,
      kubeconfig: c.kubeconfig,
      listen: c.listen,
      ...(c.datastoreEndpoint ? { datastoreEndpoint: c.datastoreEndpoint } : {}),
      log: logger,
    });
    const { startControlLoops } = await import('./control-loops.js');
    // The local-path provisioner makes claims' volumes on the same engine the kubelet runs pods on.
    const volumeEngine = c.engine
      ? new (await import('./kubelet/engine/client.js')).EngineClient(c.engine)
      : undefined;
    const loops = await startControlLoops(api, logger, volumeEngine);
    const { runShutdown } = await import('./util/shutdown.js');
    running = {
      close: async () => {
        await runShutdown(
          [
            { name: 'control loops', run: () => loops.stop() },
            { name: 'API server', run: () => api.close() },
          ],
          logger,
        );
      },
    };
    if (c.engine) {
      const { startKubelet } = await import('./kubelet/kubelet.js');
      const { nodeNameFrom } = await import('./kubelet/node/host.js');
      const os = await import('node:os');
      const path = await import('node:path');
      const kubelet = await startKubelet({
        api,
        engine: c.engine,
        nodeName: c.nodeName ?? nodeNameFrom(os.hostname()),
        ...(c.nodeIP ? { nodeIP: c.nodeIP } : {}),
        rootDir: path.join(c.dataDir, 'kubelet'),
        ...(c.clusterDns ? { clusterDns: [c.clusterDns] } : {}),
        ...(c.clusterDomain ? { clusterDomain: c.clusterDomain } : {}),
        ...(c.podCIDR || c.podNetwork
          ? { podNetwork: { name: c.podNetwork ?? 'berth-pods', subnet: c.podCIDR ?? '10.42.0.0/16' } }
          : {}),
        log: logger.child({ component: 'kubelet' }),
      });
      // The autoscaler reads pod usage from this kubelet's metrics.k8s.io.
      loops.controllers.podMetrics = (ns, sel) => kubelet.podMetrics(ns, sel);
      // exec, attach, port-forward and the proxies reach this node's pods through the kubelet's runtime.
      const { registerStreams } = await import('./apiserver/streams/index.js');
      const rt = kubelet.runtime;
      registerStreams(
        api.connectors,
        {
          nodeName: kubelet.nodeName,
          exec: (p, cmd, o) => rt.exec(p, cmd, o),
          attach: (p, o) => rt.attach(p, o),
          portForward: (p, port) => rt.portForward(p, port),
        },
        logger.child({ component: 'streams' }),
      );
      // Services: the nftables proxy, cluster DNS on the pod network's gateway, ports on the host's 127.0.0.1.
      const { ServiceNetwork } = await import('./proxy/index.js');
      const { createHash } = await import('node:crypto');
      const { CONTROLLER_MANAGER } = await import('./apiserver/index.js');
      const podCIDR = c.podCIDR ?? '10.42.0.0/16';
      const gateway = podCIDR.replace(/\.\d+\/\d+$/, '.1');
      const services = new ServiceNetwork({
        client: api.client(CONTROLLER_MANAGER),
        podCIDR,
        nodeName: kubelet.nodeName,
        gateway,
        clusterDNS: c.clusterDns ?? '10.43.0.10',
        apiPort: api.port,
        ...(c.clusterDomain ? { clusterDomain: c.clusterDomain } : {}),
        // One table per data dir: two clusters on one host (tests) never share rules.
        table:
          c.proxyTable ??
          `berth-kube-${createHash('sha256').update(path.resolve(c.dataDir)).digest('hex').slice(0, 8)}`,
        ...(c.dnsPort ? { dnsPort: c.dnsPort } : {}),
        ...(c.hostAddress ? { hostAddress: c.hostAddress } : {}),
        log: logger.child({ component: 'service-network' }),
      });
      await services.start();
      // Ingresses on the host's 127.0.0.1:80/443 (or the flags' addresses), reverse-proxied to ready endpoints. In
      // the VM (--host-address 0.0.0.0) they listen where LoadBalancers do, so the host side can forward them.
      const { IngressController } = await import('./ingress/index.js');
      const addr = (v: { host: string; port: number } | null | undefined, port: number) =>
        v === null ? undefined : (v ?? { host: c.hostAddress ?? '127.0.0.1', port });
      const httpListen = addr(c.ingressHttp, 80);
      const httpsListen = addr(c.ingressHttps, 443);
      const ingress = new IngressController({
        client: api.client(CONTROLLER_MANAGER),
        ...(httpListen ? { http: httpListen } : {}),
        ...(httpsListen ? { https: httpsListen } : {}),
        log: logger.child({ component: 'ingress' }),
      });
      await ingress.start();
      // The service network and the kubelet stop first (pods keep running), then the loops and the API server.
      running = {
        close: async () => {
          await runShutdown(
            [
              { name: 'ingress', run: () => ingress.stop() },
              { name: 'service network', run: () => services.stop() },
              { name: 'kubelet', run: () => kubelet.stop() },
              { name: 'control loops', run: () => loops.stop() },
              { name: 'API server', run: () => api.close() },
            ],
            logger,
          );
        },
      };
    }
  } catch (err) {
    if (err instanceof LockHeldError) {
      process.stderr.write(`berth-kube: ${err.message}\n`);
      return 1;
    }
    process.stderr.write(`berth-kube: failed to start: ${(err as Error).stack ?? (err as Error).message}\n`);
    return 1;
  }
  if (pending) stop(pending);
  return -1;
}

main().then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`berth-kube: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
