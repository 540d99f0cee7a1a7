import type { Db } from './db.js';

/** 19-digit ids, larger than 2^53 on purpose: a client that parses ids as numbers breaks at once. */
const FIRST_ID = 3185434000000000001n;

export interface IdSequence {
  /** The next id, persisted before it is returned (call inside the write's transaction). */
  next(): string;
  /** Reserves `count` consecutive ids and returns the first; for bulk seeding. */
  reserve(count: number): bigint;
}

export function createIdSequence(db: Db): IdSequence {
  const readStmt = db.prepare("SELECT value FROM meta WHERE key = 'next_id'");
  const writeStmt = db.prepare("INSERT INTO meta (key, value) VALUES ('next_id', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value");
  // Read each time (a rolled-back transaction or a wipe must not leave a stale copy here); both
  // statements are prepared once.
  const read = (): bigint => {
    const stored = readStmt.get() as { value: string } | undefined;
    return stored ? BigInt(stored.value) : FIRST_ID;
  };
  return {
    next() {
      const id = read();
      writeStmt.run(String(id + 1n));
      return String(id);
    },
    reserve(count) {
      const first = read();
      writeStmt.run(String(first + BigInt(count)));
      return first;
    },
  };
}
