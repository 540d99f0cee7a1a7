import { getMeta, setMeta, type Db } from './db.js';

/** 19-digit ids, larger than 2^53 on purpose: a client that parses ids as numbers breaks at once. */
const FIRST_ID = 3185434000000000001n;

export interface IdSequence {
  /** The next id, persisted before it is returned (call inside the write's transaction). */
  next(): string;
  /** Reserves `count` consecutive ids and returns the first; for bulk seeding. */
  reserve(count: number): bigint;
}

export function createIdSequence(db: Db): IdSequence {
  const read = (): bigint => {
    const stored = getMeta(db, 'next_id');
    return stored ? BigInt(stored) : FIRST_ID;
  };
  return {
    next() {
      const id = read();
      setMeta(db, 'next_id', String(id + 1n));
      return String(id);
    },
    reserve(count) {
      const first = read();
      setMeta(db, 'next_id', String(first + BigInt(count)));
      return first;
    },
  };
}
