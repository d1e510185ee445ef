/** App-wide UI state: theme, confirmation dialog, notices (engine errors shown verbatim). */
import { defineStore } from 'pinia';
import { ref } from 'vue';

export type Theme = 'system' | 'light' | 'dark';

export interface ConfirmRequest {
  title: string;
  message: string;
  action: string;
  danger: boolean;
  resolve(ok: boolean): void;
}

export interface Notice {
  id: number;
  kind: 'error' | 'info';
  text: string;
}

const THEME_KEY = 'berth.theme';

export const useUiStore = defineStore('ui', () => {
  const theme = ref<Theme>((globalThis.localStorage?.getItem(THEME_KEY) as Theme | null) ?? 'system');
  const confirmRequest = ref<ConfirmRequest | null>(null);
  const notices = ref<Notice[]>([]);
  let nextId = 1;

  function setTheme(t: Theme): void {
    theme.value = t;
    globalThis.localStorage?.setItem(THEME_KEY, t);
  }

  /** Asks before destructive actions; resolves false on cancel or Escape. */
  function confirm(title: string, message: string, action = 'Remove', danger = true): Promise<boolean> {
    confirmRequest.value?.resolve(false);
    return new Promise((resolve) => {
      confirmRequest.value = {
        title,
        message,
        action,
        danger,
        resolve: (ok) => {
          confirmRequest.value = null;
          resolve(ok);
        },
      };
    });
  }

  function notify(kind: Notice['kind'], text: string, ttlMs = kind === 'error' ? 0 : 4000): void {
    const n = { id: nextId++, kind, text };
    notices.value = [...notices.value, n];
    if (ttlMs > 0) setTimeout(() => dismiss(n.id), ttlMs);
  }
  function dismiss(id: number): void {
    notices.value = notices.value.filter((n) => n.id !== id);
  }

  /** Runs an action; an engine error becomes a notice with the engine's own words. */
  async function attempt<T>(fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (e) {
      notify('error', (e as Error).message);
      return undefined;
    }
  }

  return { theme, confirmRequest, notices, setTheme, confirm, notify, dismiss, attempt };
});
