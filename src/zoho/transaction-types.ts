/**
 * The transaction types that matter for deciding dormancy (reference §4), as data: their paths,
 * JSON keys, id fields, which side of the ledger they sit on, and their OAuth scope module.
 */

export type TransactionType =
  | 'invoices'
  | 'salesorders'
  | 'estimates'
  | 'creditnotes'
  | 'customerpayments'
  | 'salesreceipts'
  | 'bills'
  | 'purchaseorders'
  | 'vendorpayments'
  | 'vendorcredits';

export type ContactType = 'customer' | 'vendor';

/**
 * Which side of a contact's ledger a transaction's balance sits on (how it moves the contact's
 * derived amounts; the plan's "effect" is another idea: what a step does to a contact):
 * - `receivable`: its balance is owed by the customer (invoices);
 * - `payable`: its balance is owed to the vendor (bills);
 * - `credit_receivable` / `credit_payable`: its balance is an unused credit (credit notes, vendor
 *   credits, and the unapplied part of a payment);
 * - `none`: no money moves (sales orders, estimates, purchase orders, sales receipts are paid at once).
 */
export type LedgerSide = 'receivable' | 'payable' | 'credit_receivable' | 'credit_payable' | 'none';

export interface TransactionTypeInfo {
  readonly type: TransactionType;
  /** Path under /books/v3. */
  readonly path: string;
  /** Key of the array in a list response. */
  readonly listKey: string;
  /** Key of the record in a create response. */
  readonly singleKey: string;
  readonly idField: string;
  readonly numberField: string;
  readonly numberPrefix: string;
  /** The number is a JSON integer, not text (vendor payments, per Zoho's OpenAPI). */
  readonly numberIsInteger?: boolean;
  readonly contactType: ContactType;
  /** `customer_id` or `vendor_id`. */
  readonly contactIdField: 'customer_id' | 'vendor_id';
  readonly contactNameField: 'customer_name' | 'vendor_name';
  /** The module in `ZohoBooks.<module>.<OP>`. */
  readonly scopeModule: string;
  /** The money field: `total` for documents, `amount` for payments. */
  readonly amountField: 'total' | 'amount';
  readonly ledger: LedgerSide;
  /** A payment that settles documents of this type (invoices for customer payments, bills for vendor payments). */
  readonly settles?: TransactionType;
  /** Zoho refuses a new one for an inactive contact (reference §2: invoices, sales orders, bills). */
  readonly blockedForInactiveContact: boolean;
  /** Human label used in history and reports. */
  readonly label: string;
}

export const TRANSACTION_TYPES: Readonly<Record<TransactionType, TransactionTypeInfo>> = {
  invoices: {
    type: 'invoices', path: '/invoices', listKey: 'invoices', singleKey: 'invoice', idField: 'invoice_id',
    numberField: 'invoice_number', numberPrefix: 'INV-', contactType: 'customer', contactIdField: 'customer_id',
    contactNameField: 'customer_name', scopeModule: 'invoices', amountField: 'total', ledger: 'receivable',
    blockedForInactiveContact: true, label: 'invoice',
  },
  salesorders: {
    type: 'salesorders', path: '/salesorders', listKey: 'salesorders', singleKey: 'salesorder', idField: 'salesorder_id',
    numberField: 'salesorder_number', numberPrefix: 'SO-', contactType: 'customer', contactIdField: 'customer_id',
    contactNameField: 'customer_name', scopeModule: 'salesorders', amountField: 'total', ledger: 'none',
    blockedForInactiveContact: true, label: 'sales order',
  },
  estimates: {
    type: 'estimates', path: '/estimates', listKey: 'estimates', singleKey: 'estimate', idField: 'estimate_id',
    numberField: 'estimate_number', numberPrefix: 'EST-', contactType: 'customer', contactIdField: 'customer_id',
    contactNameField: 'customer_name', scopeModule: 'estimates', amountField: 'total', ledger: 'none',
    blockedForInactiveContact: false, label: 'estimate',
  },
  creditnotes: {
    type: 'creditnotes', path: '/creditnotes', listKey: 'creditnotes', singleKey: 'creditnote', idField: 'creditnote_id',
    numberField: 'creditnote_number', numberPrefix: 'CN-', contactType: 'customer', contactIdField: 'customer_id',
    contactNameField: 'customer_name', scopeModule: 'creditnotes', amountField: 'total', ledger: 'credit_receivable',
    blockedForInactiveContact: false, label: 'credit note',
  },
  customerpayments: {
    type: 'customerpayments', path: '/customerpayments', listKey: 'customerpayments', singleKey: 'payment', idField: 'payment_id',
    numberField: 'payment_number', numberPrefix: 'PAY-', contactType: 'customer', contactIdField: 'customer_id',
    contactNameField: 'customer_name', scopeModule: 'customerpayments', amountField: 'amount', ledger: 'credit_receivable',
    settles: 'invoices', blockedForInactiveContact: false, label: 'customer payment',
  },
  salesreceipts: {
    type: 'salesreceipts', path: '/salesreceipts', listKey: 'salesreceipts', singleKey: 'salesreceipt', idField: 'sales_receipt_id',
    numberField: 'receipt_number', numberPrefix: 'SR-', contactType: 'customer', contactIdField: 'customer_id',
    contactNameField: 'customer_name', scopeModule: 'invoices', amountField: 'total', ledger: 'none',
    blockedForInactiveContact: false, label: 'sales receipt',
  },
  bills: {
    type: 'bills', path: '/bills', listKey: 'bills', singleKey: 'bill', idField: 'bill_id',
    numberField: 'bill_number', numberPrefix: 'BILL-', contactType: 'vendor', contactIdField: 'vendor_id',
    contactNameField: 'vendor_name', scopeModule: 'bills', amountField: 'total', ledger: 'payable',
    blockedForInactiveContact: true, label: 'bill',
  },
  purchaseorders: {
    type: 'purchaseorders', path: '/purchaseorders', listKey: 'purchaseorders', singleKey: 'purchaseorder', idField: 'purchaseorder_id',
    numberField: 'purchaseorder_number', numberPrefix: 'PO-', contactType: 'vendor', contactIdField: 'vendor_id',
    contactNameField: 'vendor_name', scopeModule: 'purchaseorders', amountField: 'total', ledger: 'none',
    blockedForInactiveContact: false, label: 'purchase order',
  },
  vendorpayments: {
    type: 'vendorpayments', path: '/vendorpayments', listKey: 'vendorpayments', singleKey: 'vendorpayment', idField: 'payment_id',
    numberField: 'payment_number', numberPrefix: '', numberIsInteger: true, contactType: 'vendor', contactIdField: 'vendor_id',
    contactNameField: 'vendor_name', scopeModule: 'vendorpayments', amountField: 'amount', ledger: 'credit_payable',
    settles: 'bills', blockedForInactiveContact: false, label: 'vendor payment',
  },
  vendorcredits: {
    type: 'vendorcredits', path: '/vendorcredits', listKey: 'vendorcredits', singleKey: 'vendor_credit', idField: 'vendor_credit_id',
    numberField: 'vendor_credit_number', numberPrefix: 'VC-', contactType: 'vendor', contactIdField: 'vendor_id',
    contactNameField: 'vendor_name', scopeModule: 'debitnotes', amountField: 'total', ledger: 'credit_payable',
    blockedForInactiveContact: false, label: 'vendor credit',
  },
};

export const TRANSACTION_TYPE_NAMES = Object.keys(TRANSACTION_TYPES) as TransactionType[];

export function isTransactionType(value: string): value is TransactionType {
  return Object.prototype.hasOwnProperty.call(TRANSACTION_TYPES, value);
}
