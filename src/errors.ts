// Two kinds of failure, as Flux tells them apart. A transient one (the bus
// went away, the manager does not answer, another appsd holds the lock) is
// worth retrying with backoff: the same pass can succeed a moment later. Any
// other failure is permanent until its input changes (a corrupt inventory, a
// unit directory appsd may not write): the controller reports it once and
// waits for a change instead of retrying in a loop.

/** A failure that retrying the same pass may fix. */
export class TransientError extends Error {
  override name = 'TransientError';
}

/** A permanent failure the user can fix (a corrupt or untrusted state file): printed as a message, not a stack. */
export class InputError extends Error {
  override name = 'InputError';
}

export function isTransient(error: unknown): boolean {
  return error instanceof TransientError;
}
