/**
 * Why the kubelet could not start a container, in the kubelet's own words: `reason` is the container's waiting
 * reason (kubelet's images/errors and kuberuntime's ErrCreateContainerConfig...), `message` the text it shows; the
 * caller records both in the status and as an event.
 */
export type WaitingReason =
  | 'ContainerCreating'
  | 'PodInitializing'
  | 'ErrImagePull'
  | 'ImagePullBackOff'
  | 'ErrImageNeverPull'
  | 'InvalidImageName'
  | 'CreateContainerConfigError'
  | 'CreateContainerError'
  | 'RunContainerError'
  | 'PreStartHookError'
  | 'PostStartHookError'
  | 'CrashLoopBackOff';

export class StartError extends Error {
  constructor(
    readonly reason: WaitingReason,
    message: string,
    /** The event's reason, when it differs from the waiting reason (FailedMount, Failed). */
    readonly eventReason = 'Failed',
  ) {
    super(message);
    this.name = 'StartError';
  }
}

/** A volume could not be prepared: FailedMount, and the pod waits in ContainerCreating. */
export class MountError extends StartError {
  constructor(message: string) {
    super('ContainerCreating', message, 'FailedMount');
    this.name = 'MountError';
  }
}

export const configError = (message: string): StartError =>
  new StartError('CreateContainerConfigError', message);
