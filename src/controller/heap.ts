// The controller's heap. `appsd watch` runs for months and is idle between
// passes, yet V8's defaults are tuned for throughput: a young generation that
// grows to 2 x 16 MiB under the allocation of a pass and stays that size, and
// an old generation allowed to grow far past what is live before it is
// collected. With 1,000 apps the controller keeps about 20 MiB alive, but
// held 125-165 MiB resident; with these settings 90-95 MiB, for about 20 ms
// more per no-op pass (docs/benchmarks.md, "Memory").
//
// Both are set at run time rather than as V8 flags on Node's command line
// (--max-semi-space-size, --expose-gc): then every `appsd watch` gets them
// however it is started (by hand, `appsd install`, npm start), and the
// launcher's code cache, which V8 accepts only under the flags it was made
// with, still applies.
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** A pass that grew the heap by this much since the last collection is followed by one. */
const RELEASE_AFTER_BYTES = 4 * 1024 * 1024;
let usedAfterRelease = 0;
let collect: (() => void) | undefined;

/** Called once by `appsd watch` as it starts. */
export function leanHeap(): void {
  // The young generation stays at the size it has (a few MiB: start-up is
  // done): V8 reads this factor each time it would grow it.
  setFlagsFromString('--semi-space-growth-factor=1');
  // V8's gc(): a flag set now applies to contexts created after it, and a new
  // context hands the function out.
  setFlagsFromString('--expose-gc');
  collect = runInNewContext('gc') as () => void;
}

/**
 * After a pass: what the pass built and dropped is collected now, while the
 * controller is idle (30-50 ms with 1,000 apps), rather than left for V8 to
 * find when the heap is full (it keeps a grown heap). A pass that allocated
 * little (a few apps) skips it.
 */
export function releaseAfterPass(): void {
  if (!collect || getHeapStatistics().used_heap_size < usedAfterRelease + RELEASE_AFTER_BYTES) return;
  // Twice: the first collection frees what the pass dropped, the second
  // finds its pages empty and gives them back (with 1,000 apps, after the
  // applying pass: 52 MiB of heap kept with one, 25 with two; RSS 112 -> 86).
  collect();
  collect();
  usedAfterRelease = getHeapStatistics().used_heap_size;
}
