/**
 * The service proxy: keeps the nftables table equal to the model, re-rendering it whole after each change
 * (changes arriving during an apply are folded into the next one). A berth-kube that dies leaves the table, as
 * kube-proxy's rules stay, so Services keep answering; the first sync after a start replaces it with what the
 * API says now, and `deleteRules` removes it (a graceful stop, the cluster going away).
 */
import type { Logger } from '../log.js';
import { ProxyModel } from './model.js';
import { nft } from './nft.js';
import { renderDeleteProxyTable, renderProxyRules, type HostPorts } from './rules.js';

export interface ProxierOptions {
  /** nftables table (family ip), default berth-kube-proxy. */
  table?: string;
  podCIDR: string;
  /** This node's name, for the Services' Local traffic policies. */
  nodeName?: string;
  log: Logger;
}

export class Proxier {
  readonly model: ProxyModel;
  readonly table: string;
  private running?: Promise<void>;
  private dirty = false;
  private closed = false;
  /** The last script applied, so an unchanged model costs no nft run. */
  private applied = '';
  private host?: HostPorts;

  constructor(private readonly o: ProxierOptions) {
    this.table = o.table ?? 'berth-kube-proxy';
    this.model = new ProxyModel(o.nodeName);
  }

  /** Where LoadBalancer and node ports answer on the host, and which ports berth-kube holds (next sync). */
  setHostPorts(host: HostPorts): void {
    this.host = host;
  }

  /** Schedules a sync; resolves once the rules reflect the model as it was when called. */
  sync(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.running) {
      this.dirty = true;
      return this.running.then(() => this.sync());
    }
    this.running = this.apply().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async apply(): Promise<void> {
    do {
      this.dirty = false;
      const script = renderProxyRules({
        table: this.table,
        podCIDR: this.o.podCIDR,
        services: this.model.servicePorts(),
        ...(this.host ? { host: this.host } : {}),
      });
      if (script === this.applied) continue;
      try {
        await nft(script);
        this.applied = script;
      } catch (e) {
        this.o.log.error('service rules not applied', { table: this.table, error: (e as Error).message });
        throw e;
      }
    } while (this.dirty && !this.closed);
  }

  /** Stops syncing; the rules stay (traffic keeps flowing until the next berth-kube replaces them). */
  async close(): Promise<void> {
    this.closed = true;
    await this.running?.catch(() => undefined);
  }

  /** Removes every rule this proxy made (cluster disabled or reset). */
  async deleteRules(): Promise<void> {
    await this.close();
    await nft(renderDeleteProxyTable(this.table));
    this.applied = '';
  }
}
