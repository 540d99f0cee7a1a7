/**
 * Secrets at rest: AES-256-GCM (node:crypto) with a 32-byte key. A sealed value carries the id of
 * the key that sealed it (the first 8 hex digits of the key's SHA-256, not the key), a random
 * 96-bit IV and the tag, and is bound to where it is kept (`context`, e.g. the connection and the
 * field), so a value copied into another row or field does not open. Where the key comes from
 * (an environment variable, a key file) is the caller's business (src/cli/secret-key.ts).
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

export class SecretError extends Error {
  override name = 'SecretError';
}

export interface SecretBox {
  /** The key's id: sealed values name it. */
  readonly keyId: string;
  seal(plaintext: string, context: string): string;
  open(sealed: string, context: string): string;
}

export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

/** The id of the key a sealed value needs, or undefined if it is not a sealed value. */
export function sealedKeyId(sealed: string): string | undefined {
  const parts = sealed.split(':');
  return parts.length === 5 && parts[0] === 'v1' ? parts[1] : undefined;
}

export function createSecretBox(key: Buffer): SecretBox {
  if (key.length !== 32) throw new SecretError(`A secret key is 32 bytes; this one has ${key.length}.`);
  const keyId = keyIdOf(key);
  return {
    keyId,
    seal(plaintext, context) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return ['v1', keyId, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join(':');
    },
    open(sealed, context) {
      const parts = sealed.split(':');
      if (parts.length !== 5 || parts[0] !== 'v1') throw new SecretError('not a sealed secret');
      const [, id, iv, tag, body] = parts as [string, string, string, string, string];
      if (id !== keyId) throw new SecretError(`sealed with another key (key id ${id}; this key is ${keyId})`);
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
        decipher.setAAD(Buffer.from(context, 'utf8'));
        decipher.setAuthTag(Buffer.from(tag, 'base64url'));
        return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
      } catch {
        throw new SecretError('the sealed secret does not open: it was changed, or belongs to another place');
      }
    },
  };
}

/** A key given as text: 64 hex digits or base64 (or base64url) of 32 bytes. */
export function parseSecretKey(text: string): Buffer {
  const t = text.trim();
  const key = /^[0-9a-f]{64}$/i.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (key.length !== 32) throw new SecretError('a secret key is 32 bytes, written as 64 hex digits or in base64 (`openssl rand -base64 32`)');
  return key;
}

export function newSecretKey(): Buffer {
  return randomBytes(32);
}
