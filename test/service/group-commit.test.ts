/**
 * Group commit (src/service/group-commit.ts) on a real SQLite file: units handed in during one
 * turn of the event loop share one transaction; a unit that throws is undone alone (its savepoint)
 * and only its caller sees the error; units handed in after a commit go in the next one; each
 * caller's promise settles after its commit (the row is there to a second connection).
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqlite, type SqlDatabase } from '../../src/engine/index.js';
import { createGroupCommit } from '../../src/service/group-commit.js';
import { tempDir } from '../helpers/emulator.js';

const dirs: Array<{ cleanup(): void }> = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});

/** A real SQLite journal file, and the number of transactions begun on it (the port's own count, not a mock). */
async function database(): Promise<{ db: SqlDatabase; path: string; transactions(): number }> {
  const dir = tempDir('sunset-group-');
  dirs.push(dir);
  const path = join(dir.path, 'g.db');
  const real = openSqlite(path);
  await real.exec('CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)');
  let begun = 0;
  const db: SqlDatabase = { ...real, dialect: real.dialect, transaction: (fn) => { begun++; return real.transaction(fn); } };
  return { db, path, transactions: () => begun };
}

describe('group commit', () => {
  it('units handed in together share one transaction, and each is on disk when its promise settles', async () => {
    const { db, path, transactions } = await database();
    const grouped = createGroupCommit(db);
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => grouped((tx) => tx.run('INSERT INTO t (k, v) VALUES (?, ?)', [`k${i}`, i]))));
    expect(results).toEqual(Array.from({ length: 50 }, () => 1));
    expect(transactions()).toBe(1);
    const other = openSqlite(path);
    expect(await other.get<{ n: number }>('SELECT COUNT(*) AS n FROM t')).toEqual({ n: 50 });
    await other.close();
    await db.close();
  });

  it('a unit that throws is undone alone: its caller gets the error, the others commit', async () => {
    const { db } = await database();
    const grouped = createGroupCommit(db);
    await grouped((tx) => tx.run("INSERT INTO t (k, v) VALUES ('taken', 0)"));
    const outcomes = await Promise.allSettled([
      grouped((tx) => tx.run("INSERT INTO t (k, v) VALUES ('a', 1)")),
      grouped(async (tx) => {
        await tx.run("INSERT INTO t (k, v) VALUES ('b', 2)");
        await tx.run("INSERT INTO t (k, v) VALUES ('taken', 3)"); // a unique violation, after a write of its own
      }),
      grouped((tx) => tx.run("INSERT INTO t (k, v) VALUES ('c', 4)")),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((outcomes[1] as PromiseRejectedResult).reason)).toMatch(/UNIQUE/);
    expect(await db.all('SELECT k, v FROM t ORDER BY k')).toEqual([{ k: 'a', v: 1 }, { k: 'c', v: 4 }, { k: 'taken', v: 0 }]);
    await db.close();
  });

  it('a unit handed in after the last commit goes in the next transaction, and reads what the earlier ones wrote', async () => {
    const { db, transactions } = await database();
    const grouped = createGroupCommit(db);
    await grouped((tx) => tx.run("INSERT INTO t (k, v) VALUES ('x', 1)"));
    const seen = await grouped((tx) => tx.get<{ v: number }>("SELECT v FROM t WHERE k = 'x'"));
    expect(seen).toEqual({ v: 1 });
    expect(transactions()).toBe(2);
    await db.close();
  });
});
