/**
 * The V8 heap of a process that reads whole organizations (`sunset scan`, `sunset plan`, `sunset
 * worker`, `sunset serve`). Their memory is mostly garbage between collections: every page of
 * transactions is parsed JSON, and by default V8 grows the heap to the allocation rate, so a scan of
 * 100,000 contacts peaked about 105 MB above the process's start (docs/benchmarks.md, "memory of
 * scan + plan"). `--optimize-for-size` makes V8 collect sooner and keep a smaller heap; a worker
 * holding many organizations at once wants that more than the few per cent of CPU it costs.
 *
 * Set here, at the commands' entry, not in the engine: a library has no business changing V8's
 * flags for the whole process that embeds it. `SUNSET_HEAP=speed` leaves V8's defaults.
 */
import { setFlagsFromString } from 'node:v8';
import { ExitError, EXIT } from './exit-codes.js';

export type HeapMode = 'small' | 'speed';

let applied: HeapMode | undefined;

/** Reads SUNSET_HEAP (`small`, the default, or `speed`); anything else is a usage error. */
export function heapMode(env: NodeJS.ProcessEnv): HeapMode {
  const given = (env.SUNSET_HEAP ?? '').trim().toLowerCase();
  if (given === '' || given === 'small') return 'small';
  if (given === 'speed') return 'speed';
  throw new ExitError(`SUNSET_HEAP=${env.SUNSET_HEAP}: use small (the default: a smaller heap, collected sooner) or speed (V8's defaults).`, EXIT.usage);
}

/** Asks V8 for a small heap unless SUNSET_HEAP=speed; once a process (V8's flags are the process's). */
export function preferSmallHeap(env: NodeJS.ProcessEnv): HeapMode {
  const mode = heapMode(env);
  if (applied === undefined && mode === 'small') setFlagsFromString('--optimize-for-size');
  applied ??= mode;
  return mode;
}
