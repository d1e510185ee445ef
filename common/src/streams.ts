/** Stream helpers for the Node processes (typed structurally: common/ builds without Node's types). */

/** What a Node Writable offers for waiting on it. */
export interface DrainableStream {
  on(event: 'drain' | 'close', listener: () => void): unknown;
  off(event: 'drain' | 'close', listener: () => void): unknown;
}

/**
 * Resolves on the stream's next 'drain' or 'close', leaving no listener behind: a long copy waits thousands of
 * times, and `Promise.race([once(s, 'drain'), once(s, 'close')])` would leave a 'close' listener per wait.
 */
export function drainedOrClosed(dst: DrainableStream): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      dst.off('drain', done);
      dst.off('close', done);
      resolve();
    };
    dst.on('drain', done);
    dst.on('close', done);
  });
}
