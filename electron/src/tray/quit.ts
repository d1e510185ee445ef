/**
 * What quitting the app does to the engine it runs: stop it, keep it, or ask (settings `onQuit`). An engine
 * Berth does not manage, or one that is not running, is left as it is without asking.
 */
import type { EngineStatus } from '@berth/common';
import type { Settings } from '../settings/schema.js';

export type QuitAction = 'stop' | 'keep' | 'ask';

export function quitAction(
  onQuit: Settings['onQuit'],
  managed: boolean,
  state: EngineStatus['state'],
): QuitAction {
  if (!managed || state === 'stopped' || state === 'error') return 'keep';
  if (onQuit === 'stop-engine') return 'stop';
  if (onQuit === 'keep-engine') return 'keep';
  return 'ask';
}

/** The question's buttons, in order; the dialog answers with an index. */
export const QUIT_BUTTONS = ['Stop the engine and quit', 'Quit, keep the engine running', 'Cancel'] as const;

export interface QuitAnswer {
  /** What to do now; undefined means stay open. */
  action?: 'stop' | 'keep';
  /** What to save as `onQuit` when "Remember my choice" was ticked. */
  remember?: Settings['onQuit'];
}

export function quitAnswer(response: number, remember: boolean): QuitAnswer {
  if (response === 0) return { action: 'stop', ...(remember ? { remember: 'stop-engine' as const } : {}) };
  if (response === 1) return { action: 'keep', ...(remember ? { remember: 'keep-engine' as const } : {}) };
  return {};
}
