/**
 * Registers one handler per invoke channel of the typed map; every answer is `{result}` or
 * `{error:{name,code,message}}` (the renderer rebuilds the Error). Calls from frames we did not load are refused.
 */
import {
  serializeError,
  type InvokeArgs,
  type InvokeChannel,
  type InvokeResult,
  type IpcResult,
} from '@berth/common';

export type InvokeHandlers = {
  [K in InvokeChannel]: (
    ctx: CallContext,
    ...args: InvokeArgs<K>
  ) => InvokeResult<K> | Promise<InvokeResult<K>>;
};

/** Who called: lets stream handlers answer the same window. */
export interface CallContext {
  senderId: number;
  send(channel: string, payload: unknown): void;
}

/** The slice of ipcMain and its event we use (so this runs under plain Node in tests). */
export interface IpcEventLike {
  sender: { id: number; send(channel: string, ...args: unknown[]): void; isDestroyed?(): boolean };
  senderFrame?: { url: string } | null;
}
export interface IpcMainLike {
  handle(channel: string, listener: (event: IpcEventLike, ...args: unknown[]) => unknown): void;
  removeHandler(channel: string): void;
}

export class UntrustedSenderError extends Error {
  override name = 'UntrustedSenderError';
}

export function registerHandlers(
  ipc: IpcMainLike,
  handlers: InvokeHandlers,
  trusted: (frameUrl: string) => boolean,
): () => void {
  const channels = Object.keys(handlers) as InvokeChannel[];
  for (const channel of channels) {
    ipc.handle(channel, async (event, ...args): Promise<IpcResult<unknown>> => {
      try {
        const url = event.senderFrame?.url ?? '';
        if (!trusted(url))
          throw new UntrustedSenderError(`IPC from an untrusted frame refused: ${url || '(unknown)'}`);
        const ctx: CallContext = {
          senderId: event.sender.id,
          send: (ch, payload) => {
            if (!event.sender.isDestroyed?.()) event.sender.send(ch, payload);
          },
        };
        const fn = handlers[channel] as (ctx: CallContext, ...a: unknown[]) => unknown;
        return { result: await fn(ctx, ...args) };
      } catch (err) {
        return { error: serializeError(err) };
      }
    });
  }
  return () => channels.forEach((c) => ipc.removeHandler(c));
}
