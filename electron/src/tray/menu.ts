/** The tray / menu-bar menu as data, from the engine and cluster status (main turns it into an Electron Menu). */
import type { EngineStatus } from '@berth/common';

/** The cluster as the tray shows it: kube/tray-state.ts keeps it. */
export interface TrayKube {
  state: 'running' | 'stopped' | 'starting' | 'stopping';
  /** The first problem, in the user's words (shown in the status line). */
  problem?: string;
}

const KUBE_LABEL: Record<TrayKube['state'], string> = {
  running: 'Kubernetes: running',
  stopped: 'Kubernetes: stopped',
  starting: 'Kubernetes: starting…',
  stopping: 'Kubernetes: stopping…',
};

function kubeItems(s: EngineStatus, k: TrayKube): TrayItem[] {
  const busy = k.state === 'starting' || k.state === 'stopping';
  const problem =
    k.problem && !busy ? ` (${k.problem.length > 60 ? `${k.problem.slice(0, 57)}…` : k.problem})` : '';
  return [
    { id: 'kube-status', label: `${KUBE_LABEL[k.state]}${problem}`, enabled: false },
    {
      id: 'kube-enable',
      label: 'Enable Kubernetes',
      enabled: !busy && k.state === 'stopped' && s.state === 'running',
    },
    { id: 'kube-disable', label: 'Disable Kubernetes', enabled: !busy && k.state === 'running' },
    { id: 'kube-copy-kubeconfig', label: 'Copy Kubeconfig Path', enabled: true },
    { id: 'sep-kube', label: '', enabled: false, type: 'separator' },
  ];
}

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

export function trayMenu(s: EngineStatus, kube?: TrayKube): TrayItem[] {
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
    ...(kube ? kubeItems(s, kube) : []),
    { id: 'quit', label: 'Quit Berth', enabled: true },
  ];
}

export function trayTooltip(s: EngineStatus): string {
  return `Berth: ${LABEL[s.state].toLowerCase()} (${s.host})`;
}
