/**
 * The emulator's controllable clock: real time plus an offset, or frozen at an instant. Tests move
 * it with `advance` / `set` (admin API `POST /__emulator/clock`) instead of sleeping.
 */

export interface EmulatorClock {
  /** Epoch milliseconds on the emulated clock. */
  now(): number;
  /** Moves the clock forward (or back, with a negative number). */
  advance(ms: number): void;
  /** Jumps to an instant. */
  set(epochMs: number): void;
  /** Stops (or restarts) the clock; a frozen clock only moves by `advance` / `set`. */
  freeze(frozen: boolean): void;
  readonly frozen: boolean;
  /** State to persist, so a restarted emulator keeps its emulated time. */
  snapshot(): ClockState;
}

export interface ClockState {
  offsetMs: number;
  frozenAt: number | null;
}

export interface ClockOptions {
  /** The real clock to build on; defaults to Date.now. */
  realNow?: () => number;
  /** Initial state (from a previous run). */
  state?: ClockState;
  /** Starts the clock at this instant instead of real time. */
  startAt?: number;
  /** Starts frozen. */
  frozen?: boolean;
}

export function createEmulatorClock(options: ClockOptions = {}): EmulatorClock {
  const realNow = options.realNow ?? Date.now;
  let offsetMs = options.state?.offsetMs ?? 0;
  let frozenAt: number | null = options.state?.frozenAt ?? null;
  if (options.startAt !== undefined) offsetMs = options.startAt - realNow();
  if (options.frozen) frozenAt = realNow() + offsetMs;

  return {
    now: () => (frozenAt ?? realNow() + offsetMs),
    advance(ms) {
      if (frozenAt !== null) frozenAt += ms;
      else offsetMs += ms;
    },
    set(epochMs) {
      if (frozenAt !== null) frozenAt = epochMs;
      else offsetMs = epochMs - realNow();
    },
    freeze(frozen) {
      if (frozen && frozenAt === null) frozenAt = realNow() + offsetMs;
      if (!frozen && frozenAt !== null) {
        offsetMs = frozenAt - realNow();
        frozenAt = null;
      }
    },
    get frozen() {
      return frozenAt !== null;
    },
    snapshot: () => ({ offsetMs, frozenAt }),
  };
}
