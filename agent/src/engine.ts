/** The services berthd is made of, injected into every route module. Each domain owns its state. */
import type { SystemInfo } from '@berth/common';
import type { DaemonConfig } from './config.js';
import type { EventBus } from './events/bus.js';
import type { Logger } from './log.js';

export interface Engine {
  readonly id: string;
  readonly config: DaemonConfig;
  readonly log: Logger;
  readonly events: EventBus;
  readonly startedAt: Date;
  readonly version: string;
}

/** Extra counts a domain contributes to /info and /system/df. */
export interface SystemProviders {
  info(): Promise<Partial<SystemInfo>>;
  df(verbose: boolean): Promise<Record<string, unknown>>;
}
