-- Module 19: Invoice
-- Invoices to publishers/partners (module 16) and customers (module 05), receivable or self-billed
-- payable, with invoice_line, invoice_tax_line (rates from tax_rate, module 12), invoice_payment
-- (settled by a payment, module 08, a payout, module 22, or a credit_note) and credit_note.
-- The orders an invoice covers are linked by link_invoice_order (module 14); invoices and credit
-- notes are posted to the ledger (module 18).

CREATE TABLE invoice (
    uid                    TEXT PRIMARY KEY CHECK (uid ~ '^inv_[0-9A-HJKMNP-TV-Z]{26}$'),
    invoice_number         TEXT NOT NULL,
    direction              TEXT NOT NULL DEFAULT 'receivable' CHECK (direction IN ('receivable', 'payable')),
    bill_to_publisher_uid  TEXT,
    bill_to_customer_uid   TEXT,
    billing_email          TEXT,
    billing_address        JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(billing_address) = 'object'),
    currency_code          TEXT NOT NULL CHECK (currency_code ~ '^[a-z]{3}$'),
    subtotal               NUMERIC(20, 4) NOT NULL,
    raw_subtotal           JSONB NOT NULL CHECK (jsonb_typeof(raw_subtotal) = 'object'),
    tax_total              NUMERIC(20, 4) NOT NULL CHECK (tax_total >= 0),
    raw_tax_total          JSONB NOT NULL CHECK (jsonb_typeof(raw_tax_total) = 'object'),
    total                  NUMERIC(20, 4) NOT NULL,
    raw_total              JSONB NOT NULL CHECK (jsonb_typeof(raw_total) = 'object'),
    issued_ts              TIMESTAMPTZ,
    due_ts                 TIMESTAMPTZ,
    paid_ts                TIMESTAMPTZ,
    document_key           TEXT,
    notes                  TEXT,
    status                 JSONB NOT NULL DEFAULT '{"phase": "draft", "conditions": []}',
    labels                 JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations            JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts              TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts              TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT invoice_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('draft', 'open', 'paid', 'void', 'uncollectible', 'archived'), false)
    ),
    CONSTRAINT invoice_bill_to_check CHECK (num_nonnulls(bill_to_publisher_uid, bill_to_customer_uid) = 1),
    CONSTRAINT invoice_invoice_number_key UNIQUE (invoice_number)
);
CREATE INDEX invoice_labels_idx ON invoice USING gin (labels);
CREATE INDEX invoice_phase_idx ON invoice ((status ->> 'phase'));
CREATE INDEX invoice_bill_to_publisher_uid_idx ON invoice (bill_to_publisher_uid);
CREATE INDEX invoice_bill_to_customer_uid_idx ON invoice (bill_to_customer_uid);
CREATE INDEX invoice_due_ts_idx ON invoice (due_ts);
CREATE INDEX invoice_issued_ts_idx ON invoice (issued_ts);
COMMENT ON TABLE invoice IS 'An invoice billed to a publisher/partner or a customer: receivable (the brand bills them, e.g. wholesale or partner fees) or payable (self-billed statement of what the brand owes a publisher). Its lines are invoice_line; orders it covers are linked by link_invoice_order.';
COMMENT ON COLUMN invoice.invoice_number IS 'Human-facing, unique, sequential invoice number, e.g. INV-2026-0001.';
COMMENT ON COLUMN invoice.direction IS 'Receivable: the brand bills the party. Payable: a self-billed invoice for what the brand owes a publisher.';
COMMENT ON COLUMN invoice.bill_to_publisher_uid IS 'Publisher or partner billed; exactly one of bill_to_publisher_uid and bill_to_customer_uid is set. ref: publisher.uid';
COMMENT ON COLUMN invoice.bill_to_customer_uid IS 'Customer billed (e.g. a wholesale account); exactly one of bill_to_publisher_uid and bill_to_customer_uid is set. ref: customer.uid';
COMMENT ON COLUMN invoice.billing_email IS 'Email the invoice is sent to.';
COMMENT ON COLUMN invoice.billing_address IS 'Address printed on the invoice, as an object (company, address_1, city, postal_code, country_code, …).';
COMMENT ON COLUMN invoice.currency_code IS 'ISO 4217 currency code (lower case) of every amount on the row.';
COMMENT ON COLUMN invoice.subtotal IS 'Sum of the invoice_line amounts before tax.';
COMMENT ON COLUMN invoice.tax_total IS 'Sum of the invoice_tax_line amounts.';
COMMENT ON COLUMN invoice.total IS 'Amount due: subtotal plus tax_total.';
COMMENT ON COLUMN invoice.issued_ts IS 'When the invoice was issued; NULL while draft.';
COMMENT ON COLUMN invoice.due_ts IS 'When payment is due.';
COMMENT ON COLUMN invoice.paid_ts IS 'When the invoice was fully paid; NULL until then.';
COMMENT ON COLUMN invoice.document_key IS 'Object-storage key of the rendered invoice PDF.';
COMMENT ON COLUMN invoice.notes IS 'Free text printed on the invoice.';
COMMENT ON COLUMN invoice.status IS 'Lifecycle: draft → open (issued) → paid; void (canceled, a deleted draft goes here), uncollectible (written off) or archived end it. terminal: void, archived, paid, uncollectible';

CREATE TABLE invoice_line (
    uid              TEXT PRIMARY KEY CHECK (uid ~ '^invl_[0-9A-HJKMNP-TV-Z]{26}$'),
    invoice_uid      TEXT NOT NULL,
    line_number      INTEGER NOT NULL CHECK (line_number >= 1),
    description      TEXT NOT NULL,
    product_uid      TEXT,
    commission_uid   TEXT,
    quantity         INTEGER NOT NULL DEFAULT 1 CHECK (quantity > 0),
    unit_amount      NUMERIC(20, 4) NOT NULL,
    raw_unit_amount  JSONB NOT NULL CHECK (jsonb_typeof(raw_unit_amount) = 'object'),
    amount           NUMERIC(20, 4) NOT NULL,
    raw_amount       JSONB NOT NULL CHECK (jsonb_typeof(raw_amount) = 'object'),
    currency_code    TEXT NOT NULL CHECK (currency_code ~ '^[a-z]{3}$'),
    status           JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels           JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations      JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts        TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts        TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT invoice_line_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'removed'), false)
    ),
    CONSTRAINT invoice_line_invoice_uid_line_number_key UNIQUE (invoice_uid, line_number)
);
CREATE INDEX invoice_line_labels_idx ON invoice_line USING gin (labels);
CREATE INDEX invoice_line_phase_idx ON invoice_line ((status ->> 'phase'));
CREATE INDEX invoice_line_product_uid_idx ON invoice_line (product_uid);
CREATE INDEX invoice_line_commission_uid_idx ON invoice_line (commission_uid);
COMMENT ON TABLE invoice_line IS 'One line of an invoice: a product, a commission, a fee or a free-text item, with quantity and amount.';
COMMENT ON COLUMN invoice_line.invoice_uid IS 'Invoice the line belongs to. ref: invoice.uid';
COMMENT ON COLUMN invoice_line.line_number IS 'Position of the line on the invoice, from 1.';
COMMENT ON COLUMN invoice_line.description IS 'Text printed on the line.';
COMMENT ON COLUMN invoice_line.product_uid IS 'Product billed, for product lines. ref: product.uid';
COMMENT ON COLUMN invoice_line.commission_uid IS 'Commission listed, for lines of a payable (self-billed) invoice. ref: commission.uid';
COMMENT ON COLUMN invoice_line.quantity IS 'Number of units billed.';
COMMENT ON COLUMN invoice_line.unit_amount IS 'Price of one unit before tax.';
COMMENT ON COLUMN invoice_line.amount IS 'Line amount before tax: quantity × unit_amount less any discount.';
COMMENT ON COLUMN invoice_line.currency_code IS 'ISO 4217 currency code (lower case) of every amount on the row.';
COMMENT ON COLUMN invoice_line.status IS 'Lifecycle: active; removed (taken off a draft invoice) ends it. terminal: removed';

CREATE TABLE invoice_tax_line (
    uid               TEXT PRIMARY KEY CHECK (uid ~ '^invtx_[0-9A-HJKMNP-TV-Z]{26}$'),
    invoice_line_uid  TEXT NOT NULL,
    tax_rate_uid      TEXT,
    code              TEXT NOT NULL,
    name              TEXT NOT NULL,
    rate              NUMERIC(9, 6) NOT NULL CHECK (rate >= 0),
    amount            NUMERIC(20, 4) NOT NULL CHECK (amount >= 0),
    raw_amount        JSONB NOT NULL CHECK (jsonb_typeof(raw_amount) = 'object'),
    currency_code     TEXT NOT NULL CHECK (currency_code ~ '^[a-z]{3}$'),
    status            JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels            JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations       JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts         TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts         TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT invoice_tax_line_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'removed'), false)
    )
);
CREATE INDEX invoice_tax_line_labels_idx ON invoice_tax_line USING gin (labels);
CREATE INDEX invoice_tax_line_phase_idx ON invoice_tax_line ((status ->> 'phase'));
CREATE INDEX invoice_tax_line_invoice_line_uid_idx ON invoice_tax_line (invoice_line_uid);
CREATE INDEX invoice_tax_line_tax_rate_uid_idx ON invoice_tax_line (tax_rate_uid);
COMMENT ON TABLE invoice_tax_line IS 'A tax applied to one invoice_line (one row per tax, e.g. state and county sales tax).';
COMMENT ON COLUMN invoice_tax_line.invoice_line_uid IS 'Line the tax applies to. ref: invoice_line.uid';
COMMENT ON COLUMN invoice_tax_line.tax_rate_uid IS 'Tax rate used, when it came from the tax module. ref: tax_rate.uid';
COMMENT ON COLUMN invoice_tax_line.code IS 'Tax code printed on the invoice, e.g. US-CA.';
COMMENT ON COLUMN invoice_tax_line.name IS 'Tax name printed on the invoice, e.g. California sales tax.';
COMMENT ON COLUMN invoice_tax_line.rate IS 'Tax rate applied to the line amount. unit: percent';
COMMENT ON COLUMN invoice_tax_line.amount IS 'Tax amount.';
COMMENT ON COLUMN invoice_tax_line.currency_code IS 'ISO 4217 currency code (lower case) of every amount on the row.';
COMMENT ON COLUMN invoice_tax_line.status IS 'Lifecycle: active; removed (recomputed away) ends it. terminal: removed';

CREATE TABLE invoice_payment (
    uid                 TEXT PRIMARY KEY CHECK (uid ~ '^invpay_[0-9A-HJKMNP-TV-Z]{26}$'),
    invoice_uid         TEXT NOT NULL,
    payment_uid         TEXT,
    payout_uid          TEXT,
    credit_note_uid     TEXT,
    payment_method      TEXT NOT NULL CHECK (payment_method IN ('card', 'bank_transfer', 'paypal', 'payout', 'credit_note', 'cash', 'other')),
    amount              NUMERIC(20, 4) NOT NULL CHECK (amount > 0),
    raw_amount          JSONB NOT NULL CHECK (jsonb_typeof(raw_amount) = 'object'),
    currency_code       TEXT NOT NULL CHECK (currency_code ~ '^[a-z]{3}$'),
    paid_ts             TIMESTAMPTZ,
    external_reference  TEXT,
    status              JSONB NOT NULL DEFAULT '{"phase": "pending", "conditions": []}',
    labels              JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations         JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT invoice_payment_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('pending', 'succeeded', 'failed', 'refunded', 'archived'), false)
    ),
    CONSTRAINT invoice_payment_source_check CHECK (num_nonnulls(payment_uid, payout_uid, credit_note_uid) <= 1)
);
CREATE INDEX invoice_payment_labels_idx ON invoice_payment USING gin (labels);
CREATE INDEX invoice_payment_phase_idx ON invoice_payment ((status ->> 'phase'));
CREATE INDEX invoice_payment_invoice_uid_idx ON invoice_payment (invoice_uid);
CREATE INDEX invoice_payment_payment_uid_idx ON invoice_payment (payment_uid);
CREATE INDEX invoice_payment_payout_uid_idx ON invoice_payment (payout_uid);
CREATE INDEX invoice_payment_credit_note_uid_idx ON invoice_payment (credit_note_uid);
CREATE INDEX invoice_payment_paid_ts_idx ON invoice_payment (paid_ts);
COMMENT ON TABLE invoice_payment IS 'A payment applied to an invoice: a card or bank payment (payment), a payout offset for a payable invoice, or a credit note.';
COMMENT ON COLUMN invoice_payment.invoice_uid IS 'Invoice being paid. ref: invoice.uid';
COMMENT ON COLUMN invoice_payment.payment_uid IS 'Payment that settled it, for card or processor payments. ref: payment.uid';
COMMENT ON COLUMN invoice_payment.payout_uid IS 'Payout that settled it, for payable invoices. ref: payout.uid';
COMMENT ON COLUMN invoice_payment.credit_note_uid IS 'Credit note applied, for payment_method credit_note. ref: credit_note.uid';
COMMENT ON COLUMN invoice_payment.payment_method IS 'How the invoice was paid.';
COMMENT ON COLUMN invoice_payment.amount IS 'Amount applied to the invoice.';
COMMENT ON COLUMN invoice_payment.currency_code IS 'ISO 4217 currency code (lower case) of every amount on the row.';
COMMENT ON COLUMN invoice_payment.paid_ts IS 'When the payment was received; NULL while pending.';
COMMENT ON COLUMN invoice_payment.external_reference IS 'Reference of the payment at the bank or processor.';
COMMENT ON COLUMN invoice_payment.status IS 'Lifecycle: pending → succeeded; failed, refunded or archived end it. terminal: archived, failed, refunded';

CREATE TABLE credit_note (
    uid                 TEXT PRIMARY KEY CHECK (uid ~ '^cn_[0-9A-HJKMNP-TV-Z]{26}$'),
    invoice_uid         TEXT NOT NULL,
    credit_note_number  TEXT NOT NULL,
    reason              TEXT NOT NULL CHECK (reason IN ('duplicate', 'fraudulent', 'order_change', 'product_unsatisfactory', 'commission_reversal', 'billing_error', 'other')),
    amount              NUMERIC(20, 4) NOT NULL CHECK (amount > 0),
    raw_amount          JSONB NOT NULL CHECK (jsonb_typeof(raw_amount) = 'object'),
    currency_code       TEXT NOT NULL CHECK (currency_code ~ '^[a-z]{3}$'),
    issued_ts           TIMESTAMPTZ,
    memo                TEXT,
    status              JSONB NOT NULL DEFAULT '{"phase": "draft", "conditions": []}',
    labels              JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations         JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT credit_note_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('draft', 'issued', 'void', 'archived'), false)
    ),
    CONSTRAINT credit_note_credit_note_number_key UNIQUE (credit_note_number)
);
CREATE INDEX credit_note_labels_idx ON credit_note USING gin (labels);
CREATE INDEX credit_note_phase_idx ON credit_note ((status ->> 'phase'));
CREATE INDEX credit_note_invoice_uid_idx ON credit_note (invoice_uid);
CREATE INDEX credit_note_issued_ts_idx ON credit_note (issued_ts);
COMMENT ON TABLE credit_note IS 'A credit note reducing what is owed on an invoice (refund, correction, commission reversal); may be applied as an invoice_payment.';
COMMENT ON COLUMN credit_note.invoice_uid IS 'Invoice credited. ref: invoice.uid';
COMMENT ON COLUMN credit_note.credit_note_number IS 'Human-facing, unique, sequential credit note number, e.g. CN-2026-0001.';
COMMENT ON COLUMN credit_note.reason IS 'Why the credit was issued.';
COMMENT ON COLUMN credit_note.amount IS 'Amount credited, tax included.';
COMMENT ON COLUMN credit_note.currency_code IS 'ISO 4217 currency code (lower case) of every amount on the row.';
COMMENT ON COLUMN credit_note.issued_ts IS 'When the credit note was issued; NULL while draft.';
COMMENT ON COLUMN credit_note.memo IS 'Free text printed on the credit note.';
COMMENT ON COLUMN credit_note.status IS 'Lifecycle: draft → issued; void (canceled, a deleted draft goes here) or archived end it. terminal: void, archived';
