/**
 * The service's log: pino, with levels (`LOG_LEVEL`: debug, info, warn, error; default info) and
 * secrets redacted by the logger itself, whatever field a caller puts them in — a token, a secret,
 * a password, a cookie, an Authorization header — so a careless log call cannot leak one. One JSON
 * object a line for machines; a human-readable line on a terminal (pino-pretty, written
 * synchronously, coloured unless colours are off).
 */
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

/** What the service's parts log through (pino's Logger fits it). */
export interface ServiceLogger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Field names whose values never reach the log, at any depth pino redacts (top level and one below). */
const SECRET_KEYS = [
  'token', 'accessToken', 'access_token', 'refreshToken', 'refresh_token', 'secret', 'clientSecret', 'client_secret', 'webhookSecret',
  'password', 'csrf', 'csrfToken', 'authorization', 'cookie', 'set-cookie', 'x-sunset-secret', 'x-sunset-signature',
];
export const REDACTED_PATHS: readonly string[] = [...SECRET_KEYS.map((k) => `["${k}"]`), ...SECRET_KEYS.map((k) => `*["${k}"]`)];

export interface LoggerOptions {
  level?: LogLevel;
  /** Where lines go (default: stderr). */
  destination?: NodeJS.WritableStream;
  /** Human-readable lines (for a terminal) instead of JSON. */
  pretty?: boolean;
  /** Colours in the human-readable lines. */
  color?: boolean;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const destination = options.destination ?? process.stderr;
  const base = { level: options.level ?? 'info', base: undefined, redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' } };
  if (options.pretty) {
    return pino(base, pretty({ destination, colorize: options.color === true, sync: true, translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l', ignore: 'pid,hostname' }));
  }
  return pino({ ...base, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}

/** Logs nothing (a service with no logger given). */
export const silentLogger: ServiceLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/** An error's message for a log field (the stack at debug level only would need its own field). */
export function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  // Some libraries (pg-boss's events) report plain objects with a message.
  if (typeof error === 'object' && error !== null && typeof (error as { message?: unknown }).message === 'string') return (error as { message: string }).message;
  return String(error);
}
