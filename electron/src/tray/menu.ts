/** The tray / menu-bar menu as data, from the engine status (main turns it into an Electron Menu). */
import type { EngineStatus } from '@berth/common';

export interface TrayItem {
  id: string;
  label: string;
  enabled: boolean;
  type?: 'separator';
}

const LABEL: Record<EngineStatus['state'], string> = {
  running: 'Engine running',
  starting: 'Engine starting…',
  stopping: 'Engine stopping…',
  stopped: 'Engine stopped',
  error: 'Engine error',
};

export function trayMenu(s: EngineStatus): TrayItem[] {
  const busy = s.state === 'starting' || s.state === 'stopping';
  return [
    {
      id: 'status',
      label: s.message && s.state === 'error' ? `${LABEL[s.state]}: ${s.message}` : LABEL[s.state],
      enabled: false,
    },
    { id: 'sep1', label: '', enabled: false, type: 'separator' },
    { id: 'open', label: 'Open Dashboard', enabled: true },
    { id: 'start', label: 'Start Engine', enabled: !busy && s.state !== 'running' },
    { id: 'stop', label: 'Stop Engine', enabled: !busy && s.state === 'running' },
    { id: 'restart', label: 'Restart Engine', enabled: !busy && s.state === 'running' },
    { id: 'sep2', label: '', enabled: false, type: 'separator' },
    { id: 'quit', label: 'Quit Berth', enabled: true },
  ];
}

export function trayTooltip(s: EngineStatus): string {
  return `Berth: ${LABEL[s.state].toLowerCase()} (${s.host})`;
}
