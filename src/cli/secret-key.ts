/**
 * The key that seals secrets at rest (connections' client secrets and refresh tokens): from
 * SUNSET_SECRET_KEY (64 hex digits or base64 of 32 bytes), or a key file (SUNSET_SECRET_KEY_FILE,
 * default ~/.sunset/secret.key) made owner-only on first use. Keep the key away from the database
 * and its backups: one without the other opens nothing.
 *
 * `sunset connections rotate-key` writes the new key beside the old (`secret.key.next`), re-seals
 * every secret in one transaction, then puts the new file in place: a crash between the two leaves
 * both files, and the key that opens the stored secrets is found by its id.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createSecretBox, newSecretKey, parseSecretKey, SecretError, type SecretBox } from '../engine/index.js';
import { sunsetHome } from './credentials.js';
import { EXIT, ExitError } from './exit-codes.js';

export interface SecretKeys {
  /** Where the key comes from, for messages (never the key). */
  source: string;
  /** The key file, when the key lives in one (rotate-key needs one). */
  file: string | undefined;
  /** The box of the current key, made on first use (a key file is created then). */
  box(): SecretBox;
  /** The box for a key id: the current key's, or a rotation's new key left by a crash. */
  boxFor(keyId: string): SecretBox | undefined;
}

export function keyFilePath(env: NodeJS.ProcessEnv): string {
  return resolve(env.SUNSET_SECRET_KEY_FILE || join(sunsetHome(env), 'secret.key'));
}

function readKeyFile(path: string): Buffer {
  try {
    return parseSecretKey(readFileSync(path, 'utf8'));
  } catch (error) {
    if (error instanceof SecretError) throw new ExitError(`${path}: ${error.message}.`);
    throw new ExitError(`Cannot read the secret key ${path} (${(error as { code?: string }).code ?? String(error)}).`);
  }
}

/** Writes a key file owner-only from its first byte, never over another file. */
export function writeKeyFile(path: string, key: Buffer): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
}

export function secretKeys(env: NodeJS.ProcessEnv): SecretKeys {
  const inline = env.SUNSET_SECRET_KEY;
  if (inline) {
    let key: Buffer;
    try {
      key = parseSecretKey(inline);
    } catch (error) {
      throw new ExitError(`SUNSET_SECRET_KEY: ${(error as Error).message}.`, EXIT.usage);
    }
    const box = createSecretBox(key);
    return { source: 'SUNSET_SECRET_KEY', file: undefined, box: () => box, boxFor: (id) => (id === box.keyId ? box : undefined) };
  }
  const file = keyFilePath(env);
  let current: SecretBox | undefined;
  const next = (): SecretBox | undefined => (existsSync(`${file}.next`) ? createSecretBox(readKeyFile(`${file}.next`)) : undefined);
  return {
    source: file,
    file,
    box() {
      if (!current) {
        if (!existsSync(file)) writeKeyFile(file, newSecretKey());
        current = createSecretBox(readKeyFile(file));
      }
      return current;
    },
    boxFor(id) {
      if (existsSync(file)) {
        const box = this.box();
        if (box.keyId === id) return box;
      }
      const pending = next();
      return pending?.keyId === id ? pending : undefined;
    },
  };
}

/** Step 1 of a rotation: the new key, written beside the current one. */
export function stageNewKey(file: string): SecretBox {
  rmSync(`${file}.next`, { force: true });
  const key = newSecretKey();
  writeKeyFile(`${file}.next`, key);
  return createSecretBox(key);
}

/** Step 3 of a rotation, after the secrets are re-sealed: the new key takes the old one's place. */
export function commitNewKey(file: string): void {
  renameSync(`${file}.next`, file);
}
