/**
 * Attach requests waiting for a start (docker run attaches, then starts): the start hands each one the
 * session it opened between the runtime's create and start, so no output is lost.
 */
import type { AttachOptions, AttachSession } from '../runtime/types.js';

export interface PendingAttach {
  opts: AttachOptions;
  deliver(s: AttachSession): void;
  fail(err: Error): void;
}

export class AttachHandoff {
  private pending = new Map<string, PendingAttach[]>();

  /** Registers `p` for the next start of `id`; the returned function withdraws it. */
  add(id: string, p: PendingAttach): () => void {
    const list = this.pending.get(id) ?? [];
    list.push(p);
    this.pending.set(id, list);
    return () => {
      const l = this.pending.get(id);
      if (!l) return;
      const rest = l.filter((x) => x !== p);
      if (rest.length) this.pending.set(id, rest);
      else this.pending.delete(id);
    };
  }

  /** Every attach waiting for this start (they are the start's to deliver or fail now). */
  take(id: string): PendingAttach[] {
    const list = this.pending.get(id) ?? [];
    this.pending.delete(id);
    return list;
  }

  failAll(id: string, err: Error): void {
    for (const p of this.take(id)) p.fail(err);
  }
}
