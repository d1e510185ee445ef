/**
 * The one writer of a container's persisted state. Operations decide (the guards in state.ts); this applies
 * the transition, refusing any the table does not allow, and saves the record atomically (store.save).
 */
import type { ContainerStatus } from '@berth/common';
import type { ContainerRecord } from './record.js';
import { assertTransition, type StateRecord } from './state.js';
import type { ContainerStore } from './store.js';

export type StateDetails = Partial<Omit<StateRecord, 'status'>>;

export class StateKeeper {
  constructor(private readonly store: ContainerStore) {}

  /** A guarded transition with its details (pid, exit code, times...), persisted. */
  async move(rec: ContainerRecord, to: ContainerStatus, details: StateDetails = {}): Promise<void> {
    assertTransition(rec.id, rec.state.status, to);
    rec.state = { ...rec.state, ...details, status: to };
    await this.store.save(rec);
  }

  /** Details without a status change (manuallyStopped), persisted. */
  async note(rec: ContainerRecord, details: StateDetails): Promise<void> {
    rec.state = { ...rec.state, ...details };
    await this.store.save(rec);
  }

  /**
   * Marks a removal in progress, in memory only: a crash mid-removal must not leave a record that refuses both
   * start and a second rm. The record is deleted right after.
   */
  beginRemoval(rec: ContainerRecord): void {
    assertTransition(rec.id, rec.state.status, 'removing');
    rec.state = { ...rec.state, status: 'removing' };
  }

  /** After a berthd restart the kernel's answer wins over what was persisted (no guard), persisted. */
  async adopt(rec: ContainerRecord, to: ContainerStatus, details: StateDetails = {}): Promise<void> {
    rec.state = { ...rec.state, ...details, status: to };
    await this.store.save(rec);
  }
}
