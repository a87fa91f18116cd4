-- Module 18: Ledger
-- Double-entry bookkeeping for money the platform moves: sales, refunds, commissions owed to
-- publishers, payouts, invoices, credit notes and chargebacks. A ledger_journal is one balanced
-- transaction made of ledger_entry lines on ledger_account rows; it names its business source with
-- separate nullable references (order_header, payment, commission, payout, invoice, credit_note,
-- chargeback, membership_renewal), never a polymorphic pair. ledger_balance_snapshot keeps daily
-- balances per account. Balancing is checked by the application (no triggers, ADR-003).

CREATE TABLE ledger_account (
    uid                 TEXT PRIMARY KEY CHECK (uid ~ '^lacct_[0-9A-HJKMNP-TV-Z]{26}$'),
    code                TEXT NOT NULL CHECK (code ~ '^[0-9A-Za-z][0-9A-Za-z.:_-]*$'),
    name                TEXT NOT NULL,
    account_type        TEXT NOT NULL CHECK (account_type IN ('asset', 'liability', 'equity', 'revenue', 'expense')),
    normal_balance      TEXT NOT NULL CHECK (normal_balance IN ('debit', 'credit')),
    currency_code       TEXT NOT NULL CHECK (currency_code ~ '^[a-z]{3}$'),
    parent_account_uid  TEXT,
    publisher_uid       TEXT,
    description         TEXT,
    status              JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels              JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations         JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT ledger_account_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'frozen', 'closed', 'archived'), false)
    ),
    CONSTRAINT ledger_account_code_key UNIQUE (code)
);
CREATE INDEX ledger_account_labels_idx ON ledger_account USING gin (labels);
CREATE INDEX ledger_account_phase_idx ON ledger_account ((status ->> 'phase'));
CREATE INDEX ledger_account_parent_account_uid_idx ON ledger_account (parent_account_uid);
CREATE INDEX ledger_account_publisher_uid_idx ON ledger_account (publisher_uid);
CREATE INDEX ledger_account_account_type_idx ON ledger_account (account_type);
COMMENT ON TABLE ledger_account IS 'An account of the double-entry ledger (chart of accounts): cash, receivables, commissions payable, revenue, fees, …; a publisher sub-account when publisher_uid is set.';
COMMENT ON COLUMN ledger_account.code IS 'Unique account code in the chart of accounts, e.g. 2100 or 2100:pub_01J….';
COMMENT ON COLUMN ledger_account.name IS 'Account name shown to staff, e.g. Commissions payable.';
COMMENT ON COLUMN ledger_account.account_type IS 'Accounting class of the account.';
COMMENT ON COLUMN ledger_account.normal_balance IS 'Side that increases the account: debit for assets and expenses, credit for liabilities, equity and revenue.';
COMMENT ON COLUMN ledger_account.currency_code IS 'ISO 4217 currency code (lower case) the account is kept in; every entry on it uses this currency.';
COMMENT ON COLUMN ledger_account.parent_account_uid IS 'Parent account in the chart of accounts; NULL for a top-level account. ref: ledger_account.uid';
COMMENT ON COLUMN ledger_account.publisher_uid IS 'Publisher this sub-account tracks (e.g. their commissions payable); NULL for general accounts. ref: publisher.uid';
COMMENT ON COLUMN ledger_account.description IS 'What is posted to the account.';
COMMENT ON COLUMN ledger_account.status IS 'Lifecycle: active ⇄ frozen (no new postings); closed (balance zero, no postings) or archived end it. terminal: archived, closed';

CREATE TABLE ledger_journal (
    uid                      TEXT PRIMARY KEY CHECK (uid ~ '^ljrn_[0-9A-HJKMNP-TV-Z]{26}$'),
    journal_number           TEXT NOT NULL,
    journal_type             TEXT NOT NULL CHECK (journal_type IN ('order', 'payment', 'refund', 'commission', 'payout', 'invoice', 'credit_note', 'chargeback', 'membership', 'adjustment', 'opening_balance')),
    description              TEXT,
    currency_code            TEXT NOT NULL CHECK (currency_code ~ '^[a-z]{3}$'),
    effective_day            DATE NOT NULL,
    posted_ts                TIMESTAMPTZ,
    order_uid                TEXT,
    payment_uid              TEXT,
    commission_uid           TEXT,
    payout_uid               TEXT,
    invoice_uid              TEXT,
    credit_note_uid          TEXT,
    chargeback_uid           TEXT,
    membership_renewal_uid   TEXT,
    reversal_of_journal_uid  TEXT,
    status                   JSONB NOT NULL DEFAULT '{"phase": "draft", "conditions": []}',
    labels                   JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations              JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts                TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts                TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT ledger_journal_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('draft', 'posted', 'reversed', 'void'), false)
    ),
    CONSTRAINT ledger_journal_journal_number_key UNIQUE (journal_number)
);
CREATE INDEX ledger_journal_labels_idx ON ledger_journal USING gin (labels);
CREATE INDEX ledger_journal_phase_idx ON ledger_journal ((status ->> 'phase'));
CREATE INDEX ledger_journal_order_uid_idx ON ledger_journal (order_uid);
CREATE INDEX ledger_journal_payment_uid_idx ON ledger_journal (payment_uid);
CREATE INDEX ledger_journal_commission_uid_idx ON ledger_journal (commission_uid);
CREATE INDEX ledger_journal_payout_uid_idx ON ledger_journal (payout_uid);
CREATE INDEX ledger_journal_invoice_uid_idx ON ledger_journal (invoice_uid);
CREATE INDEX ledger_journal_credit_note_uid_idx ON ledger_journal (credit_note_uid);
CREATE INDEX ledger_journal_chargeback_uid_idx ON ledger_journal (chargeback_uid);
CREATE INDEX ledger_journal_membership_renewal_uid_idx ON ledger_journal (membership_renewal_uid);
CREATE INDEX ledger_journal_reversal_of_journal_uid_idx ON ledger_journal (reversal_of_journal_uid);
CREATE INDEX ledger_journal_effective_day_idx ON ledger_journal (effective_day);
CREATE INDEX ledger_journal_posted_ts_idx ON ledger_journal (posted_ts);
CREATE INDEX ledger_journal_journal_type_idx ON ledger_journal (journal_type);
COMMENT ON TABLE ledger_journal IS 'One balanced ledger transaction: a set of ledger_entry rows whose debits equal their credits (checked by the application). Its business source is named by one of the nullable source references.';
COMMENT ON COLUMN ledger_journal.journal_number IS 'Human-facing, unique, sequential journal number, e.g. J-2026-000123.';
COMMENT ON COLUMN ledger_journal.journal_type IS 'Business event the journal records.';
COMMENT ON COLUMN ledger_journal.description IS 'Narrative shown to staff and auditors.';
COMMENT ON COLUMN ledger_journal.currency_code IS 'ISO 4217 currency code (lower case) of every entry in the journal.';
COMMENT ON COLUMN ledger_journal.effective_day IS 'Accounting day the journal belongs to (drives periods and balance snapshots).';
COMMENT ON COLUMN ledger_journal.posted_ts IS 'When the journal was posted; NULL while draft.';
COMMENT ON COLUMN ledger_journal.order_uid IS 'Source order, for order journals. ref: order_header.uid';
COMMENT ON COLUMN ledger_journal.payment_uid IS 'Source payment, for payment and refund journals. ref: payment.uid';
COMMENT ON COLUMN ledger_journal.commission_uid IS 'Source commission, for commission journals. ref: commission.uid';
COMMENT ON COLUMN ledger_journal.payout_uid IS 'Source payout, for payout journals. ref: payout.uid';
COMMENT ON COLUMN ledger_journal.invoice_uid IS 'Source invoice, for invoice journals. ref: invoice.uid';
COMMENT ON COLUMN ledger_journal.credit_note_uid IS 'Source credit note, for credit note journals. ref: credit_note.uid';
COMMENT ON COLUMN ledger_journal.chargeback_uid IS 'Source chargeback, for chargeback journals. ref: chargeback.uid';
COMMENT ON COLUMN ledger_journal.membership_renewal_uid IS 'Source membership renewal, for membership journals. ref: membership_renewal.uid';
COMMENT ON COLUMN ledger_journal.reversal_of_journal_uid IS 'Journal this one reverses; NULL for an ordinary journal. ref: ledger_journal.uid';
COMMENT ON COLUMN ledger_journal.status IS 'Lifecycle: draft → posted (immutable); reversed (a reversing journal was posted) or void (a draft discarded) end it. terminal: void, reversed';

CREATE TABLE ledger_entry (
    uid             TEXT PRIMARY KEY CHECK (uid ~ '^lent_[0-9A-HJKMNP-TV-Z]{26}$'),
    journal_uid     TEXT NOT NULL,
    account_uid     TEXT NOT NULL,
    line_number     INTEGER NOT NULL CHECK (line_number >= 1),
    direction       TEXT NOT NULL CHECK (direction IN ('debit', 'credit')),
    amount          NUMERIC(20, 4) NOT NULL CHECK (amount > 0),
    raw_amount      JSONB NOT NULL CHECK (jsonb_typeof(raw_amount) = 'object'),
    currency_code   TEXT NOT NULL CHECK (currency_code ~ '^[a-z]{3}$'),
    description     TEXT,
    status          JSONB NOT NULL DEFAULT '{"phase": "pending", "conditions": []}',
    labels          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT ledger_entry_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('pending', 'posted', 'void'), false)
    ),
    CONSTRAINT ledger_entry_journal_uid_line_number_key UNIQUE (journal_uid, line_number)
);
CREATE INDEX ledger_entry_labels_idx ON ledger_entry USING gin (labels);
CREATE INDEX ledger_entry_phase_idx ON ledger_entry ((status ->> 'phase'));
CREATE INDEX ledger_entry_account_uid_idx ON ledger_entry (account_uid);
COMMENT ON TABLE ledger_entry IS 'One line of a ledger_journal: a debit or credit of an amount to one ledger_account.';
COMMENT ON COLUMN ledger_entry.journal_uid IS 'Journal the entry belongs to. ref: ledger_journal.uid';
COMMENT ON COLUMN ledger_entry.account_uid IS 'Account debited or credited. ref: ledger_account.uid';
COMMENT ON COLUMN ledger_entry.line_number IS 'Position of the entry in its journal, from 1.';
COMMENT ON COLUMN ledger_entry.direction IS 'Side of the account the amount is posted to.';
COMMENT ON COLUMN ledger_entry.amount IS 'Amount posted; always positive, the side is given by direction.';
COMMENT ON COLUMN ledger_entry.currency_code IS 'ISO 4217 currency code (lower case) of every amount on the row.';
COMMENT ON COLUMN ledger_entry.description IS 'Line narrative, when it differs from the journal''s.';
COMMENT ON COLUMN ledger_entry.status IS 'Lifecycle: follows its journal: pending → posted; void ends it. terminal: void';

CREATE TABLE ledger_balance_snapshot (
    uid               TEXT PRIMARY KEY CHECK (uid ~ '^lbal_[0-9A-HJKMNP-TV-Z]{26}$'),
    account_uid       TEXT NOT NULL,
    as_of_day         DATE NOT NULL,
    balance           NUMERIC(20, 4) NOT NULL,
    raw_balance       JSONB NOT NULL CHECK (jsonb_typeof(raw_balance) = 'object'),
    debit_total       NUMERIC(20, 4) NOT NULL CHECK (debit_total >= 0),
    raw_debit_total   JSONB NOT NULL CHECK (jsonb_typeof(raw_debit_total) = 'object'),
    credit_total      NUMERIC(20, 4) NOT NULL CHECK (credit_total >= 0),
    raw_credit_total  JSONB NOT NULL CHECK (jsonb_typeof(raw_credit_total) = 'object'),
    currency_code     TEXT NOT NULL CHECK (currency_code ~ '^[a-z]{3}$'),
    status            JSONB NOT NULL DEFAULT '{"phase": "computed", "conditions": []}',
    labels            JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations       JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts         TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts         TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT ledger_balance_snapshot_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('computed', 'stale', 'archived'), false)
    ),
    CONSTRAINT ledger_balance_snapshot_account_uid_as_of_day_key UNIQUE (account_uid, as_of_day)
);
CREATE INDEX ledger_balance_snapshot_labels_idx ON ledger_balance_snapshot USING gin (labels);
CREATE INDEX ledger_balance_snapshot_phase_idx ON ledger_balance_snapshot ((status ->> 'phase'));
CREATE INDEX ledger_balance_snapshot_as_of_day_idx ON ledger_balance_snapshot (as_of_day);
COMMENT ON TABLE ledger_balance_snapshot IS 'Balance of a ledger_account at the end of one accounting day, computed from posted entries so reports need not sum the whole history.';
COMMENT ON COLUMN ledger_balance_snapshot.account_uid IS 'Account the balance is for. ref: ledger_account.uid';
COMMENT ON COLUMN ledger_balance_snapshot.as_of_day IS 'Accounting day at whose end the balance holds.';
COMMENT ON COLUMN ledger_balance_snapshot.balance IS 'Balance on the account''s normal side at the end of the day (negative when it runs against it).';
COMMENT ON COLUMN ledger_balance_snapshot.debit_total IS 'Sum of debits posted on the day.';
COMMENT ON COLUMN ledger_balance_snapshot.credit_total IS 'Sum of credits posted on the day.';
COMMENT ON COLUMN ledger_balance_snapshot.currency_code IS 'ISO 4217 currency code (lower case) of every amount on the row.';
COMMENT ON COLUMN ledger_balance_snapshot.status IS 'Lifecycle: computed; stale (a late posting changed the day, to be recomputed); archived ends it. terminal: archived';
