import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import type { TransactionListRow, TransactionRow } from './rows.js';

/** `sort_column` values of transaction lists and the column each sorts on. */
export const TRANSACTION_SORT_COLUMNS: Readonly<Record<string, string>> = {
  date: 't.date',
  created_time: 't.created_ms',
  last_modified_time: 't.modified_ms',
  total: 't.total_cents',
  amount: 't.total_cents',
  balance: 't.balance_cents',
  number: 't.number',
  customer_name: 'c.contact_name',
  vendor_name: 'c.contact_name',
  due_date: 't.due_date',
};

export interface TransactionQuery {
  organizationId: string;
  type: string;
  contactId?: string;
  date?: string;
  dateStart?: string;
  dateEnd?: string;
  dateBefore?: string;
  dateAfter?: string;
  modifiedSinceMs?: number;
  status?: string;
  /** The organization's date today, for the `overdue` status (derived when read, not stored). */
  today: string;
  sortColumn: string;
  sortOrder: 'A' | 'D';
  limit: number;
  offset: number;
}

export interface TransactionStore {
  insert(row: TransactionRow): void;
  get(organizationId: string, type: string, transactionId: string): TransactionListRow | undefined;
  /** Returns up to `limit + 1` rows so the caller can tell whether another page exists. */
  list(query: TransactionQuery): TransactionListRow[];
  setBalance(transactionId: string, balanceCents: number, status: string, modifiedMs: number): void;
}

export function createTransactionStore(db: Db): TransactionStore {
  const insertStmt = db.prepare(`INSERT INTO transactions (transaction_id, organization_id, type, contact_id, number,
      reference_number, date, due_date, status, total_cents, balance_cents, payment_mode, details, created_ms, modified_ms)
    VALUES (@transaction_id, @organization_id, @type, @contact_id, @number, @reference_number, @date, @due_date, @status,
      @total_cents, @balance_cents, @payment_mode, @details, @created_ms, @modified_ms)`);
  const getStmt = db.prepare(`SELECT t.*, c.contact_name FROM transactions t JOIN contacts c ON c.contact_id = t.contact_id
    WHERE t.transaction_id = ? AND t.organization_id = ? AND t.type = ?`);
  const balanceStmt = db.prepare('UPDATE transactions SET balance_cents = ?, status = ?, modified_ms = ? WHERE transaction_id = ?');
  const listCache = new Map<string, Statement<unknown[]>>();

  return {
    insert: (row) => void insertStmt.run(row),
    get: (organizationId, type, id) => getStmt.get(id, organizationId, type) as TransactionListRow | undefined,
    list(q) {
      const where = ['t.organization_id = ?', 't.type = ?'];
      const params: unknown[] = [q.organizationId, q.type];
      const add = (clause: string, value: unknown): void => {
        where.push(clause);
        params.push(value);
      };
      if (q.contactId !== undefined) add('t.contact_id = ?', q.contactId);
      if (q.date !== undefined) add('t.date = ?', q.date);
      if (q.dateStart !== undefined) add('t.date >= ?', q.dateStart);
      if (q.dateEnd !== undefined) add('t.date <= ?', q.dateEnd);
      if (q.dateBefore !== undefined) add('t.date < ?', q.dateBefore);
      if (q.dateAfter !== undefined) add('t.date > ?', q.dateAfter);
      if (q.modifiedSinceMs !== undefined) add('t.modified_ms >= ?', q.modifiedSinceMs);
      if (q.status !== undefined) {
        // Open invoices and bills past their due date read as `overdue` (render.ts effectiveStatus).
        const pastDue = `(t.type IN ('invoices', 'bills') AND t.status IN ('sent', 'open', 'partially_paid')
          AND t.balance_cents > 0 AND t.due_date <> '' AND t.due_date < ?)`;
        if (q.status === 'overdue') add(pastDue, q.today);
        else {
          add('t.status = ?', q.status);
          add(`NOT ${pastDue}`, q.today);
        }
      }
      const column = TRANSACTION_SORT_COLUMNS[q.sortColumn] ?? 't.created_ms';
      const dir = q.sortOrder === 'A' ? 'ASC' : 'DESC';
      // As for contacts: page over the index, then read the page's rows (rowid breaks ties).
      const join = column.startsWith('c.') ? 'JOIN contacts c ON c.contact_id = t.contact_id' : '';
      const sql = `SELECT t.*, c.contact_name FROM transactions t JOIN contacts c ON c.contact_id = t.contact_id
        WHERE t.rowid IN (SELECT t.rowid FROM transactions t ${join} WHERE ${where.join(' AND ')} ORDER BY ${column} ${dir}, t.rowid ${dir} LIMIT ? OFFSET ?)
        ORDER BY ${column} ${dir}, t.rowid ${dir}`;
      let stmt = listCache.get(sql);
      if (!stmt) {
        stmt = db.prepare(sql);
        listCache.set(sql, stmt);
      }
      return stmt.all(...params, q.limit + 1, q.offset) as TransactionListRow[];
    },
    setBalance: (id, balance, status, modifiedMs) => void balanceStmt.run(balance, status, modifiedMs, id),
  };
}
