import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import type { CommentRow, ContactRow } from './rows.js';

export type ContactFilter =
  | 'Status.All'
  | 'Status.Active'
  | 'Status.Inactive'
  | 'Status.Duplicate'
  | 'Status.Crm'
  | 'Status.PortalEnabled'
  | 'Status.PortalDisabled'
  | 'Status.CreditLimitExceed'
  | 'Invoice.OverDue'
  | 'Invoice.Unpaid';

export const CONTACT_FILTERS: readonly ContactFilter[] = [
  'Status.All', 'Status.Active', 'Status.Inactive', 'Status.Duplicate', 'Status.Crm', 'Status.PortalEnabled',
  'Status.PortalDisabled', 'Status.CreditLimitExceed', 'Invoice.OverDue', 'Invoice.Unpaid',
];

/** `sort_column` values and the column each sorts on. */
export const CONTACT_SORT_COLUMNS: Readonly<Record<string, string>> = {
  contact_name: 'contact_name',
  company_name: 'company_name',
  first_name: 'contact_name',
  last_name: 'contact_name',
  email: 'email',
  created_time: 'created_ms',
  last_modified_time: 'modified_ms',
  outstanding_receivable_amount: 'receivable_cents',
  outstanding_payable_amount: 'payable_cents',
};

export interface TextMatch {
  exact?: string;
  startsWith?: string;
  contains?: string;
}

export interface ContactQuery {
  organizationId: string;
  contactType?: 'customer' | 'vendor';
  filterBy: ContactFilter;
  searchText?: string;
  contactName?: TextMatch;
  companyName?: TextMatch;
  email?: TextMatch;
  phone?: TextMatch;
  zcrmAccountId?: string;
  zcrmContactId?: string;
  modifiedSinceMs?: number;
  /** For Invoice.OverDue: invoices due before this date (`yyyy-mm-dd`) with a balance. */
  today: string;
  sortColumn: keyof typeof CONTACT_SORT_COLUMNS;
  sortOrder: 'A' | 'D';
  limit: number;
  offset: number;
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function addTextMatch(column: string, match: TextMatch | undefined, where: string[], params: unknown[]): void {
  if (!match) return;
  if (match.exact !== undefined) {
    where.push(`${column} = ? COLLATE NOCASE`);
    params.push(match.exact);
  }
  if (match.startsWith !== undefined) {
    where.push(`${column} LIKE ? ESCAPE '\\'`);
    params.push(`${escapeLike(match.startsWith)}%`);
  }
  if (match.contains !== undefined) {
    where.push(`${column} LIKE ? ESCAPE '\\'`);
    params.push(`%${escapeLike(match.contains)}%`);
  }
}

/**
 * A contact whose stored derived amounts differ from what its transactions add up to: the stored
 * columns, then the recomputed ones (`GET /__emulator/check` answers these rows as they are).
 */
export interface DerivedAmountMismatch {
  contact_id: string;
  receivable_cents: number;
  payable_cents: number;
  credits_receivable_cents: number;
  credits_payable_cents: number;
  transaction_count: number;
  receivable: number;
  payable: number;
  credits_receivable: number;
  credits_payable: number;
  transactions: number;
}

export interface ContactStore {
  insert(row: ContactRow): void;
  get(organizationId: string, contactId: string): ContactRow | undefined;
  getByName(organizationId: string, contactName: string): ContactRow | undefined;
  /** Returns up to `limit + 1` rows so the caller can tell whether another page exists. */
  list(query: ContactQuery): ContactRow[];
  update(row: ContactRow): void;
  setStatus(contactId: string, status: 'active' | 'inactive', modifiedMs: number): void;
  delete(contactId: string): void;
  /** Adds to the derived amounts of a contact (cents); counts a transaction when `transactions` is 1. */
  adjustAmounts(contactId: string, delta: AmountDelta): void;
  addComment(row: CommentRow): void;
  listComments(contactId: string, limit: number, offset: number): CommentRow[];
  count(organizationId: string): number;
  /** Recomputes every contact's derived amounts from its transactions; the first `limit` that differ. */
  derivedAmountMismatches(limit: number): DerivedAmountMismatch[];
  /** Drops cached rows (after the tables were wiped). */
  forget(): void;
}

export interface AmountDelta {
  receivable?: number;
  payable?: number;
  creditsReceivable?: number;
  creditsPayable?: number;
  transactions?: number;
}

export function createContactStore(db: Db): ContactStore {
  const insertStmt = db.prepare(`INSERT INTO contacts (
      contact_id, organization_id, contact_name, company_name, contact_type, customer_sub_type, status, email, phone,
      website, notes, currency_code, custom_fields, tags, zcrm_account_id, zcrm_contact_id, is_portal_enabled,
      credit_limit_cents, receivable_cents, payable_cents, credits_receivable_cents, credits_payable_cents,
      transaction_count, created_ms, modified_ms)
    VALUES (@contact_id, @organization_id, @contact_name, @company_name, @contact_type, @customer_sub_type, @status,
      @email, @phone, @website, @notes, @currency_code, @custom_fields, @tags, @zcrm_account_id, @zcrm_contact_id,
      @is_portal_enabled, @credit_limit_cents, @receivable_cents, @payable_cents, @credits_receivable_cents,
      @credits_payable_cents, @transaction_count, @created_ms, @modified_ms)`);
  const getStmt = db.prepare('SELECT * FROM contacts WHERE contact_id = ? AND organization_id = ?');
  const getByNameStmt = db.prepare('SELECT * FROM contacts WHERE organization_id = ? AND contact_name = ?');
  const updateStmt = db.prepare(`UPDATE contacts SET contact_name = @contact_name, company_name = @company_name,
      contact_type = @contact_type, customer_sub_type = @customer_sub_type, email = @email, phone = @phone,
      website = @website, notes = @notes, currency_code = @currency_code, custom_fields = @custom_fields, tags = @tags,
      zcrm_account_id = @zcrm_account_id, zcrm_contact_id = @zcrm_contact_id, is_portal_enabled = @is_portal_enabled,
      credit_limit_cents = @credit_limit_cents, modified_ms = @modified_ms
    WHERE contact_id = @contact_id`);
  const statusStmt = db.prepare('UPDATE contacts SET status = ?, modified_ms = ? WHERE contact_id = ?');
  const deleteStmt = db.prepare('DELETE FROM contacts WHERE contact_id = ?');
  const deleteCommentsStmt = db.prepare('DELETE FROM contact_comments WHERE contact_id = ?');
  const adjustStmt = db.prepare(`UPDATE contacts SET receivable_cents = receivable_cents + ?, payable_cents = payable_cents + ?,
      credits_receivable_cents = credits_receivable_cents + ?, credits_payable_cents = credits_payable_cents + ?,
      transaction_count = transaction_count + ? WHERE contact_id = ?`);
  const addCommentStmt = db.prepare(`INSERT INTO contact_comments (comment_id, organization_id, contact_id, description,
      operation_type, transaction_id, transaction_type, commented_by, created_ms)
    VALUES (@comment_id, @organization_id, @contact_id, @description, @operation_type, @transaction_id, @transaction_type,
      @commented_by, @created_ms)`);
  const listCommentsStmt = db.prepare(
    'SELECT * FROM contact_comments WHERE contact_id = ? ORDER BY created_ms DESC, comment_id DESC LIMIT ? OFFSET ?',
  );
  const countStmt = db.prepare('SELECT COUNT(*) AS n FROM contacts WHERE organization_id = ?');
  const mismatchStmt = db.prepare(`
    SELECT c.contact_id, c.receivable_cents, c.payable_cents, c.credits_receivable_cents, c.credits_payable_cents, c.transaction_count,
      COALESCE(SUM(CASE WHEN t.type = 'invoices' THEN t.balance_cents END), 0) AS receivable,
      COALESCE(SUM(CASE WHEN t.type = 'bills' THEN t.balance_cents END), 0) AS payable,
      COALESCE(SUM(CASE WHEN t.type IN ('creditnotes', 'customerpayments') THEN t.balance_cents END), 0) AS credits_receivable,
      COALESCE(SUM(CASE WHEN t.type IN ('vendorcredits', 'vendorpayments') THEN t.balance_cents END), 0) AS credits_payable,
      COUNT(t.transaction_id) AS transactions
    FROM contacts c LEFT JOIN transactions t ON t.contact_id = c.contact_id
    GROUP BY c.contact_id
    HAVING c.receivable_cents <> receivable OR c.payable_cents <> payable OR c.credits_receivable_cents <> credits_receivable
      OR c.credits_payable_cents <> credits_payable OR c.transaction_count <> transactions
    LIMIT ?`);
  const listCache = new Map<string, Statement<unknown[]>>();
  // Rows read by id, kept until any write touches them. Filled only outside transactions, so a
  // rolled-back write never leaves a row here that the database does not hold.
  const rows = new Map<string, ContactRow>();
  const MAX_CACHED = 200_000;
  const changed = (contactId: string): void => void rows.delete(contactId);

  return {
    insert(row) {
      changed(row.contact_id);
      insertStmt.run(row);
    },
    get(organizationId, contactId) {
      const cached = rows.get(contactId);
      if (cached) return cached.organization_id === organizationId ? cached : undefined;
      const row = getStmt.get(contactId, organizationId) as ContactRow | undefined;
      if (row && !db.inTransaction) {
        if (rows.size >= MAX_CACHED) rows.clear();
        rows.set(contactId, row);
      }
      return row;
    },
    getByName: (organizationId, name) => getByNameStmt.get(organizationId, name) as ContactRow | undefined,
    list(q) {
      const where: string[] = ['c.organization_id = ?'];
      const params: unknown[] = [q.organizationId];
      if (q.contactType) {
        where.push('c.contact_type = ?');
        params.push(q.contactType);
      }
      switch (q.filterBy) {
        case 'Status.Active':
          where.push("c.status = 'active'");
          break;
        case 'Status.Inactive':
          where.push("c.status = 'inactive'");
          break;
        case 'Status.Crm':
          where.push("(c.zcrm_account_id <> '' OR c.zcrm_contact_id <> '')");
          break;
        case 'Status.PortalEnabled':
          where.push('c.is_portal_enabled = 1');
          break;
        case 'Status.PortalDisabled':
          where.push('c.is_portal_enabled = 0');
          break;
        case 'Status.CreditLimitExceed':
          where.push('c.credit_limit_cents > 0 AND c.receivable_cents > c.credit_limit_cents');
          break;
        case 'Invoice.Unpaid':
          where.push('c.receivable_cents > 0');
          break;
        case 'Invoice.OverDue':
          where.push(`EXISTS (SELECT 1 FROM transactions t WHERE t.contact_id = c.contact_id AND t.type = 'invoices'
            AND t.balance_cents > 0 AND t.due_date <> '' AND t.due_date < ?)`);
          params.push(q.today);
          break;
        case 'Status.Duplicate':
          where.push(`c.email <> '' AND EXISTS (SELECT 1 FROM contacts d WHERE d.organization_id = c.organization_id
            AND d.email = c.email COLLATE NOCASE AND d.contact_id <> c.contact_id)`);
          break;
        case 'Status.All':
          break;
      }
      if (q.searchText !== undefined) {
        where.push("(c.contact_name LIKE ? ESCAPE '\\' OR c.company_name LIKE ? ESCAPE '\\' OR c.notes LIKE ? ESCAPE '\\')");
        const pattern = `%${escapeLike(q.searchText)}%`;
        params.push(pattern, pattern, pattern);
      }
      addTextMatch('c.contact_name', q.contactName, where, params);
      addTextMatch('c.company_name', q.companyName, where, params);
      addTextMatch('c.email', q.email, where, params);
      addTextMatch('c.phone', q.phone, where, params);
      if (q.zcrmAccountId !== undefined) {
        where.push('c.zcrm_account_id = ?');
        params.push(q.zcrmAccountId);
      }
      if (q.zcrmContactId !== undefined) {
        where.push('c.zcrm_contact_id = ?');
        params.push(q.zcrmContactId);
      }
      if (q.modifiedSinceMs !== undefined) {
        where.push('c.modified_ms >= ?');
        params.push(q.modifiedSinceMs);
      }
      const column = CONTACT_SORT_COLUMNS[q.sortColumn] ?? 'contact_name';
      const dir = q.sortOrder === 'D' ? 'DESC' : 'ASC';
      // Page over the index alone (rowid breaks ties, and every index carries it), then read only
      // the page's rows: an OFFSET deep into 100,000 contacts stays a few milliseconds.
      const sql = `SELECT c.* FROM contacts c WHERE c.rowid IN (
          SELECT c.rowid FROM contacts c WHERE ${where.join(' AND ')} ORDER BY c.${column} ${dir}, c.rowid ${dir} LIMIT ? OFFSET ?)
        ORDER BY c.${column} ${dir}, c.rowid ${dir}`;
      let stmt = listCache.get(sql);
      if (!stmt) {
        stmt = db.prepare(sql);
        listCache.set(sql, stmt);
      }
      return stmt.all(...params, q.limit + 1, q.offset) as ContactRow[];
    },
    update(row) {
      changed(row.contact_id);
      updateStmt.run(row);
    },
    setStatus(contactId, status, modifiedMs) {
      changed(contactId);
      statusStmt.run(status, modifiedMs, contactId);
    },
    delete(contactId) {
      changed(contactId);
      deleteStmt.run(contactId);
      deleteCommentsStmt.run(contactId);
    },
    adjustAmounts(contactId, d) {
      changed(contactId);
      adjustStmt.run(d.receivable ?? 0, d.payable ?? 0, d.creditsReceivable ?? 0, d.creditsPayable ?? 0, d.transactions ?? 0, contactId);
    },
    addComment: (row) => void addCommentStmt.run(row),
    listComments: (contactId, limit, offset) => listCommentsStmt.all(contactId, limit + 1, offset) as CommentRow[],
    count: (organizationId) => (countStmt.get(organizationId) as { n: number }).n,
    derivedAmountMismatches: (limit) => mismatchStmt.all(limit) as DerivedAmountMismatch[],
    forget: () => rows.clear(),
  };
}
