import { EXIT, ExitError } from './exit-codes.js';

/**
 * Runs a flag parser (node:util parseArgs with a literal config, so its result stays typed); an
 * unknown or malformed flag becomes a usage error that points at --help.
 */
export function parseFlags<T>(parse: () => T, command: string): T {
  try {
    return parse();
  } catch (error) {
    const message = error instanceof Error ? error.message.replace(/\. To specify a positional argument.*$/s, '.') : String(error);
    throw new ExitError(`${message}\nRun \`sunset ${command} --help\` for the options.`, EXIT.usage);
  }
}

/** How a message names an option: `--port` for a flag (`name` is `port`), the variable itself for an environment twin (`SUNSET_PORT`). */
export function optionLabel(name: string): string {
  return /^[A-Z][A-Z0-9_]*$/.test(name) ? name : `--${name}`;
}

/** `name`: the flag without its dashes, or the environment variable the value came from. */
export function intFlag(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new ExitError(`${optionLabel(name)} must be a whole number from ${min} to ${max} (got "${value}").`, EXIT.usage);
  }
  return Number(value);
}

export function choiceFlag<T extends string>(value: string | undefined, name: string, choices: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(choices as readonly string[]).includes(value)) {
    throw new ExitError(`${optionLabel(name)} must be one of ${choices.join(', ')} (got "${value}").`, EXIT.usage);
  }
  return value as T;
}

/**
 * An option's value: the flag when given, else its environment twin (an empty variable is unset).
 * `name` is where it came from (the flag without dashes, or the variable), for intFlag and
 * optionLabel.
 */
export function flagOrEnv(flag: string | undefined, env: NodeJS.ProcessEnv, option: string, variable: string): { value: string | undefined; name: string } {
  if (flag !== undefined) return { value: flag, name: option };
  const value = env[variable];
  return value === undefined || value === '' ? { value: undefined, name: option } : { value, name: variable };
}

/** A yes/no environment variable: 1, true, yes or 0, false, no (any case); unset or empty is undefined. */
export function envBoolean(env: NodeJS.ProcessEnv, variable: string): boolean | undefined {
  const value = env[variable]?.trim().toLowerCase();
  if (value === undefined || value === '') return undefined;
  if (['1', 'true', 'yes'].includes(value)) return true;
  if (['0', 'false', 'no'].includes(value)) return false;
  throw new ExitError(`${variable} must be 1 or 0 (true or false; got "${env[variable]}").`, EXIT.usage);
}

/**
 * `--public-url` (or SUNSET_PUBLIC_URL): the address people reach `sunset serve` at, as a scheme and
 * a host (https://sunset.example.com), checked; undefined when neither is given.
 */
export function publicUrlFlag(flag: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  const option = flagOrEnv(flag, env, 'public-url', 'SUNSET_PUBLIC_URL');
  const url = option.value;
  if (url === undefined) return undefined;
  let ok = false;
  try {
    const u = new URL(url);
    ok = (u.protocol === 'https:' || u.protocol === 'http:') && u.pathname === '/' && !u.search && !u.username;
  } catch {
    ok = false;
  }
  if (!ok) throw new ExitError(`${optionLabel(option.name)}: "${url}" is not an address like https://sunset.example.com (scheme and host, no path).`, EXIT.usage);
  return url;
}
