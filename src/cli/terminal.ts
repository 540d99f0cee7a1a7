/**
 * Talking with the person at the terminal: progress on stderr, yes/no and hidden questions, and
 * durations and instants as people read them.
 */
import { Writable } from 'node:stream';
import { createInterface } from 'node:readline';
import { EXIT, ExitError } from './exit-codes.js';
import type { CliIO } from './io.js';

/**
 * Progress on stderr: one line rewritten in place on a terminal that takes escape sequences, a line
 * every few seconds otherwise (off a terminal, under NO_COLOR or TERM=dumb).
 */
export function createProgress(io: CliIO, quiet: boolean): { update(text: string): void; done(text?: string): void } {
  const tty = io.escapes;
  // Off a terminal, short work prints nothing; long work prints a line every few seconds.
  let last = Date.now();
  let shown = false;
  return {
    update(text) {
      if (quiet) return;
      const now = Date.now();
      if (tty) {
        io.stderr.write(`\r\u001b[2K${text}`);
        shown = true;
      } else if (now - last >= 5_000) {
        io.stderr.write(`${text}\n`);
        last = now;
      }
    },
    done(text) {
      if (quiet) return;
      if (tty && shown) io.stderr.write('\r\u001b[2K');
      if (text) io.stderr.write(`${text}\n`);
      shown = false;
    },
  };
}

/** Asks a yes/no question on a terminal; without one, `--yes` is required. */
export async function confirm(io: CliIO, question: string, yes: boolean): Promise<boolean> {
  if (yes) return true;
  if (!io.stdin.isTTY) throw new ExitError(`${question}\nNot a terminal, so nothing was asked and nothing was changed: add --yes to go ahead.`, EXIT.usage);
  // Line editing (terminal mode) writes escape sequences: only where they are wanted.
  const rl = createInterface({ input: io.stdin, output: io.stderr, terminal: io.escapes });
  try {
    const answer = await new Promise<string>((resolveAnswer) => rl.question(`${question} [y/N] `, resolveAnswer));
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return 'unknown';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 90) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} days ${h % 24} h`;
}

/**
 * Asks for a secret on the terminal without echo; the caller checks there is a terminal. The
 * interface is made first: it turns the terminal's echo off (raw mode), so what is typed once the
 * question shows is never echoed.
 */
export async function askHidden(io: CliIO, question: string): Promise<string> {
  const muted = new Writable({ write: (_chunk, _encoding, done) => done() });
  const rl = createInterface({ input: io.stdin, output: muted, terminal: true });
  io.stderr.write(question);
  try {
    return await new Promise<string>((resolve) => rl.question('', resolve));
  } finally {
    rl.close();
    io.stderr.write('\n');
  }
}

/** `2026-12-02 10:04 UTC`. */
export function formatInstant(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
