import { ExitError, EXIT_USAGE } from './exit-error.js';

/**
 * Runs a flag parser (node:util parseArgs with a literal config, so its result stays typed); an
 * unknown or malformed flag becomes a usage error that points at --help.
 */
export function parseFlags<T>(parse: () => T, command: string): T {
  try {
    return parse();
  } catch (error) {
    const message = error instanceof Error ? error.message.replace(/\. To specify a positional argument.*$/s, '.') : String(error);
    throw new ExitError(`${message}\nRun \`sunset ${command} --help\` for the options.`, EXIT_USAGE);
  }
}

export function intFlag(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new ExitError(`--${name} must be a whole number from ${min} to ${max} (got "${value}").`, EXIT_USAGE);
  }
  return Number(value);
}

export function choiceFlag<T extends string>(value: string | undefined, name: string, choices: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(choices as readonly string[]).includes(value)) {
    throw new ExitError(`--${name} must be one of ${choices.join(', ')} (got "${value}").`, EXIT_USAGE);
  }
  return value as T;
}
