/** The token Prometheus sends to `GET /metrics` of `sunset serve` and of `sunset worker`. */
import { readFileSync } from 'node:fs';
import { flagOrEnv, optionLabel } from './args.js';
import { EXIT, ExitError } from './exit-codes.js';

/**
 * The token Prometheus sends: read from --metrics-token-file, else SUNSET_METRICS_TOKEN_FILE, else
 * taken from SUNSET_METRICS_TOKEN itself (a secret in a container's environment, never a flag).
 */
export function readMetricsToken(flag: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  const file = flagOrEnv(flag, env, 'metrics-token-file', 'SUNSET_METRICS_TOKEN_FILE');
  const inline = env.SUNSET_METRICS_TOKEN;
  let token: string;
  let from: string;
  if (file.value !== undefined) {
    if (file.name === 'SUNSET_METRICS_TOKEN_FILE' && inline) throw new ExitError('SUNSET_METRICS_TOKEN_FILE and SUNSET_METRICS_TOKEN are both set: keep one.', EXIT.usage);
    from = optionLabel(file.name);
    try {
      token = readFileSync(file.value, 'utf8').trim();
    } catch (error) {
      throw new ExitError(`${from}: cannot read it (${(error as { code?: string }).code ?? String(error)}).`, EXIT.usage);
    }
  } else if (inline) {
    from = 'SUNSET_METRICS_TOKEN';
    token = inline.trim();
  } else return undefined;
  if (token.length < 16) throw new ExitError(`${from}: the token needs at least 16 characters.`, EXIT.usage);
  return token;
}

