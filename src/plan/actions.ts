// The plan's vocabulary: a closed set of actions, each with the reasons it
// can have, and the phases a plan runs in. Reasons are codes, so code can
// compare them; their text is for people.

/** Why an action is in the plan. */
export type Reason =
  | 'new-app'
  | 'unit-missing'
  | 'unit-differs'
  | 'manifest-removed'
  | 'not-placed'
  | 'unit-dropped'
  | 'new-socket'
  | 'socket-not-enabled'
  | 'socket-failed'
  | 'socket-not-listening'
  | 'listen-changed'
  | 'old-definition'
  | 'units-changed'
  | 'network-missing'
  | 'network-unused';

export const REASON_TEXT: Readonly<Record<Reason, string>> = {
  'new-app': 'new app',
  'unit-missing': 'unit file missing',
  'unit-differs': 'unit file differs from the manifest',
  'manifest-removed': 'manifest removed',
  'not-placed': 'not placed on this host any more',
  'unit-dropped': 'no longer part of the app',
  'new-socket': 'new socket',
  'socket-not-enabled': 'socket is not enabled',
  'socket-failed': 'socket failed',
  'socket-not-listening': 'socket is not listening',
  'listen-changed': 'listen address changed',
  'old-definition': 'running with the old definition; the next connection starts the new one',
  'units-changed': 'unit files changed',
  'network-missing': 'a network the app joins does not exist',
  'network-unused': 'appsd created it and no app joins it any more',
};

/** Why units of an app go away. */
export type RemovalReason = 'manifest-removed' | 'not-placed' | 'unit-dropped';

interface UnitActionBase<K extends string, R extends Reason> {
  readonly kind: K;
  readonly app: string;
  readonly unit: string;
  readonly reason: R;
  /** What systemd said, when it explains the reason (`masked`, `failed (address in use)`). */
  readonly detail?: string;
}

export type StopAction = UnitActionBase<'stop', RemovalReason | 'old-definition'>;
export type DisableAction = UnitActionBase<'disable', RemovalReason>;
export interface WriteAction extends UnitActionBase<'write', 'new-app' | 'unit-missing' | 'unit-differs'> {
  /** The file's text before; undefined for a new file. */
  readonly before?: string;
  readonly after: string;
}
export interface DeleteAction extends UnitActionBase<'delete', RemovalReason> {
  readonly before: string;
}
export type EnableAction = UnitActionBase<'enable', 'new-socket' | 'socket-not-enabled'>;
export type ResetFailedAction = UnitActionBase<'reset-failed', 'socket-failed'>;
export type RestartAction = UnitActionBase<'restart', 'listen-changed'>;
export type StartAction = UnitActionBase<'start', 'new-socket' | 'socket-not-listening'>;
/** The one daemon-reload of a pass; it serves every app. */
export interface ReloadAction {
  readonly kind: 'reload';
  readonly reason: 'units-changed';
}

/** A podman network appsd creates (labelled as this appsd's) or removes (only one it created). */
export interface NetworkAction {
  readonly kind: 'create-network' | 'remove-network';
  /** The app that joins it (create), or that joined it last (remove). */
  readonly app: string;
  readonly network: string;
  readonly reason: 'network-missing' | 'network-unused';
}

export type UnitAction = StopAction | DisableAction | WriteAction | DeleteAction | EnableAction | ResetFailedAction | RestartAction | StartAction;
export type Action = UnitAction | ReloadAction | NetworkAction;
export type ActionKind = Action['kind'];

/**
 * A plan runs in these phases, in this order, each finished before the next:
 *   teardown  stops and disables of units that go away (per app, in order)
 *   files     unit files written and deleted (all at once)
 *   enable    sockets enabled (one call)
 *   reload    the one daemon-reload
 *   networks  podman networks the apps join created (before anything can start a container)
 *   activate  stops of services running an old definition, reset-failed,
 *             restarts, starts: what needs the new definitions (per app, in order)
 *   prune     networks appsd created and no app joins removed (once their containers stopped)
 * A plan holds only the phases that have actions.
 */
export type Phase =
  | { readonly kind: 'teardown'; readonly actions: ReadonlyArray<StopAction | DisableAction> }
  | { readonly kind: 'networks'; readonly actions: readonly NetworkAction[] }
  | { readonly kind: 'files'; readonly actions: ReadonlyArray<WriteAction | DeleteAction> }
  | { readonly kind: 'enable'; readonly actions: readonly EnableAction[] }
  | { readonly kind: 'reload'; readonly actions: readonly [ReloadAction] }
  | { readonly kind: 'activate'; readonly actions: ReadonlyArray<StopAction | ResetFailedAction | RestartAction | StartAction> }
  | { readonly kind: 'prune'; readonly actions: readonly NetworkAction[] };

export type PhaseKind = Phase['kind'];

/** Every action of a list of phases, in execution order. */
export function actionsOf(phases: readonly Phase[]): Action[] {
  return phases.flatMap((p): readonly Action[] => p.actions);
}

/**
 * What a pass does (or did) to each app, as Flux's ChangeSet says it:
 *   created     new app, units written and started
 *   configured  units changed, or systemd's state repaired
 *   unchanged   nothing to do
 *   removed     manifest gone, units removed
 *   failed      an action failed, or the app cannot be converged
 *   kept        manifest invalid: its last applied units stay as they are
 */
export type AppOutcome = 'created' | 'configured' | 'unchanged' | 'removed' | 'failed' | 'kept';

export interface AppResult {
  readonly app: string;
  readonly outcome: AppOutcome;
  /** Why the app failed or is kept. */
  readonly error?: string;
  /** The apps it needs, when it has any. */
  readonly needs?: readonly string[];
}
