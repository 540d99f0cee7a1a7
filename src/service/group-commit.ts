/**
 * Group commit: units of work handed in during one turn of the event loop are done together in
 * one transaction, so many CRM events accepted at once cost one durable commit (an fsync) instead
 * of one each (docs/benchmarks.md, "CRM webhooks under load"). Each unit runs in its own
 * savepoint: one that throws is undone alone and its caller gets the error; the others commit.
 * A caller's promise settles only after the commit, so an answer sent then is as durable as before.
 */
import type { SqlDatabase } from '../engine/index.js';

export type GroupCommit = <T>(work: (tx: SqlDatabase) => Promise<T>) => Promise<T>;

interface Unit {
  work: (tx: SqlDatabase) => Promise<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

export function createGroupCommit(db: SqlDatabase): GroupCommit {
  let waiting: Unit[] = [];
  let scheduled = false;

  const flush = async (): Promise<void> => {
    const batch = waiting;
    waiting = [];
    scheduled = false;
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    try {
      await db.transaction(async (tx) => {
        for (const unit of batch) {
          await tx.exec('SAVEPOINT grouped_unit');
          try {
            const value = await unit.work(tx);
            await tx.exec('RELEASE SAVEPOINT grouped_unit');
            outcomes.push({ ok: true, value });
          } catch (error) {
            await tx.exec('ROLLBACK TO SAVEPOINT grouped_unit');
            await tx.exec('RELEASE SAVEPOINT grouped_unit');
            outcomes.push({ ok: false, error });
          }
        }
      });
    } catch (error) {
      // The commit itself failed: nothing of the batch was written.
      for (const unit of batch) unit.reject(error);
      return;
    }
    batch.forEach((unit, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) unit.resolve(outcome.value);
      else unit.reject(outcome.error);
    });
  };

  return <T>(work: (tx: SqlDatabase) => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      waiting.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (!scheduled) {
        scheduled = true;
        // After the loop's I/O: the other requests that arrived with this one join the batch.
        setImmediate(() => void flush());
      }
    });
}
