// What a long-running controller keeps between passes so that a pass over an
// unchanged directory costs a few stat calls, not parsing and rendering every
// app again. Every entry is validated (by stat or object identity) on use;
// the CLI runs with a fresh, empty cache.
import type { SourceCache } from '../manifest/discover.js';
import type { CheckCache } from '../manifest/load.js';
import type { RenderCache } from '../render/desired.js';
import type { UnitFileCache } from './observe.js';

export class PassCache {
  readonly sources: SourceCache = new Map();
  readonly checks: CheckCache = new WeakMap();
  readonly renders: RenderCache = new WeakMap();
  readonly unitFiles: UnitFileCache = new Map();
}
