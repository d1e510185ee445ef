/**
 * A container's lifecycle as an explicit state enum with guards (youki container/state.rs). Every API
 * operation asks a guard first, so "start a paused container" or "kill a stopped one" is refused in one place
 * with dockerd's wording.
 */
import type { ContainerStatus } from '@berth/common';
import { conflict, internal } from '../errors.js';

export const Status = {
  Created: 'created',
  Running: 'running',
  Paused: 'paused',
  Restarting: 'restarting',
  Removing: 'removing',
  Exited: 'exited',
  Dead: 'dead',
} as const satisfies Record<string, ContainerStatus>;

/** The persisted part of a container's state (inside containers/<id>/config.json). */
export interface StateRecord {
  status: ContainerStatus;
  pid: number;
  exitCode: number;
  error: string;
  oomKilled: boolean;
  startedAt: string;
  finishedAt: string;
  /** Set by docker stop/kill: restart policies (always excepted) and unless-stopped respect it. */
  manuallyStopped: boolean;
  /** The container was started at least once (FinishedAt/StartedAt no longer zero). */
  hasBeenStarted: boolean;
}

export const ZERO_TIME = '0001-01-01T00:00:00Z';

export function initialState(): StateRecord {
  return {
    status: Status.Created,
    pid: 0,
    exitCode: 0,
    error: '',
    oomKilled: false,
    startedAt: ZERO_TIME,
    finishedAt: ZERO_TIME,
    manuallyStopped: false,
    hasBeenStarted: false,
  };
}

/**
 * The transitions the engine may make, and only these (youki's ContainerStatus): every write of a status goes
 * through StateKeeper.move, which refuses anything else. A self-transition records new details (a failed
 * start keeps Created or Exited with the error). Recovery after a restart is the one exception: there the
 * kernel's answer wins (StateKeeper.adopt).
 */
const TRANSITIONS: Record<ContainerStatus, readonly ContainerStatus[]> = {
  created: ['created', 'running', 'exited', 'removing'],
  running: ['paused', 'exited', 'restarting', 'removing'],
  paused: ['running', 'exited', 'restarting', 'removing'],
  restarting: ['running', 'exited', 'removing'],
  exited: ['exited', 'running', 'removing'],
  removing: ['dead'],
  dead: ['removing'],
};

export function canTransition(from: ContainerStatus, to: ContainerStatus): boolean {
  return TRANSITIONS[from]?.includes(to) ?? false;
}

/** An engine bug, not a user error: the operations' guards below should have refused first. */
export function assertTransition(id: string, from: ContainerStatus, to: ContainerStatus): void {
  if (!canTransition(from, to))
    throw internal(`container ${id.slice(0, 12)}: illegal state transition ${from} -> ${to}`);
}

export const isRunning = (s: StateRecord): boolean =>
  s.status === Status.Running || s.status === Status.Paused;

/** 'ok' to start, 'noop' when already running (dockerd answers 304), or throws 409. */
export function canStart(s: StateRecord, name: string): 'ok' | 'noop' {
  switch (s.status) {
    case Status.Running:
      return 'noop';
    case Status.Paused:
      throw conflict(`cannot start a paused container, try unpause instead`);
    case Status.Removing:
      throw conflict(`container ${name} is marked for removal and cannot be started`);
    case Status.Dead:
      throw conflict(`container ${name} is marked as dead and cannot be started`);
    default:
      return 'ok';
  }
}

/** 'ok' when there is a process to stop, 'noop' (304) when not running. */
export function canStop(s: StateRecord): 'ok' | 'noop' {
  return isRunning(s) || s.status === Status.Restarting ? 'ok' : 'noop';
}

export function canKill(s: StateRecord, id: string): void {
  if (!isRunning(s)) throw conflict(`Cannot kill container: ${id}: Container ${id} is not running`);
}

export function canPause(s: StateRecord, id: string): void {
  if (!isRunning(s)) throw conflict(`Container ${id} is not running`);
  if (s.status === Status.Paused) throw conflict(`Container ${id} is already paused`);
}

export function canUnpause(s: StateRecord, id: string): void {
  if (s.status !== Status.Paused) throw conflict(`Container ${id} is not paused`);
}

export function canExec(s: StateRecord, id: string): void {
  if (s.status === Status.Paused)
    throw conflict(`Container ${id} is paused, unpause the container before exec`);
  if (s.status === Status.Restarting)
    throw conflict(`Container ${id} is restarting, wait until the container is running`);
  if (s.status !== Status.Running) throw conflict(`Container ${id} is not running`);
}

export function canAttach(s: StateRecord): void {
  if (s.status === Status.Paused) throw conflict(`You cannot attach to a paused container, unpause it first`);
  if (s.status === Status.Restarting)
    throw conflict(`You cannot attach to a restarting container, wait until it is running`);
}

/** Removal without force needs a stopped container. */
export function canRemove(s: StateRecord, name: string, force: boolean): void {
  if (force) return;
  if (s.status === Status.Paused)
    throw conflict(`cannot remove container "${name}": container is paused and must be unpaused first`);
  if (isRunning(s) || s.status === Status.Restarting)
    throw conflict(
      `cannot remove container "${name}": container is running: stop the container before removing or force remove`,
    );
}

/** Docker's human Status column: "Up 3 minutes", "Exited (0) 2 seconds ago", "Created"... */
export function humanStatus(s: StateRecord, now = Date.now(), health?: string): string {
  switch (s.status) {
    case Status.Running:
    case Status.Paused: {
      const up = `Up ${humanDuration(now - Date.parse(s.startedAt))}`;
      const h =
        health && health !== 'none' ? ` (${health === 'starting' ? 'health: starting' : health})` : '';
      return s.status === Status.Paused ? `${up} (Paused)` : up + h;
    }
    case Status.Restarting:
      return `Restarting (${s.exitCode}) ${humanDuration(now - Date.parse(s.finishedAt))} ago`;
    case Status.Exited:
      return s.hasBeenStarted
        ? `Exited (${s.exitCode}) ${humanDuration(now - Date.parse(s.finishedAt))} ago`
        : 'Created';
    case Status.Removing:
      return 'Removal In Progress';
    case Status.Dead:
      return 'Dead';
    default:
      return 'Created';
  }
}

/** go-units HumanDuration. */
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 1) return 'Less than a second';
  if (s === 1) return '1 second';
  if (s < 60) return `${s} seconds`;
  const m = Math.floor(s / 60);
  if (m === 1) return 'About a minute';
  if (m < 60) return `${m} minutes`;
  const h = Math.floor(s / 3600 + 0.5);
  if (h === 1) return 'About an hour';
  if (h < 48) return `${h} hours`;
  if (h < 24 * 7 * 2) return `${Math.round(h / 24)} days`;
  if (h < 24 * 30 * 2) return `${Math.round(h / 24 / 7)} weeks`;
  if (h < 24 * 365 * 2) return `${Math.round(h / 24 / 30)} months`;
  return `${Math.round(h / 24 / 365)} years`;
}
