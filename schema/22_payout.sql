-- Module 22: Payout
-- Paying publishers (module 16). payout_schedule sets cadence and minimum per publisher and
-- currency; a payout run creates a payout_batch of payout rows, each paying the commissions
-- allocated to it (commission_payout, module 16) plus payout_item adjustments, through a
-- publisher_payout_method. tax_form holds W-9/W-8 submissions and the withholding they imply;
-- payout_hold stops payouts until released. Payouts are posted to the ledger (module 18).

CREATE TABLE payout_schedule (
    uid                TEXT PRIMARY KEY CHECK (uid ~ '^posch_[0-9A-HJKMNP-TV-Z]{26}$'),
    publisher_uid      TEXT NOT NULL,
    payout_interval    TEXT NOT NULL DEFAULT 'monthly' CHECK (payout_interval IN ('weekly', 'biweekly', 'monthly', 'quarterly')),
    anchor_day_number  INTEGER CHECK (anchor_day_number BETWEEN 1 AND 28),
    minimum            NUMERIC(20, 4) NOT NULL CHECK (minimum >= 0),
    raw_minimum        JSONB NOT NULL CHECK (jsonb_typeof(raw_minimum) = 'object'),
    currency_code      TEXT NOT NULL CHECK (currency_code ~ '^[a-z]{3}$'),
    method_uid         TEXT,
    next_run_ts        TIMESTAMPTZ,
    status             JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels             JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations        JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts          TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts          TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT payout_schedule_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'paused', 'archived'), false)
    ),
    CONSTRAINT payout_schedule_publisher_uid_currency_code_key UNIQUE (publisher_uid, currency_code)
);
CREATE INDEX payout_schedule_labels_idx ON payout_schedule USING gin (labels);
CREATE INDEX payout_schedule_phase_idx ON payout_schedule ((status ->> 'phase'));
CREATE INDEX payout_schedule_method_uid_idx ON payout_schedule (method_uid);
CREATE INDEX payout_schedule_next_run_ts_idx ON payout_schedule (next_run_ts);
COMMENT ON TABLE payout_schedule IS 'How often and from what minimum a publisher is paid in one currency; the payout run uses it to build payout_batch rows.';
COMMENT ON COLUMN payout_schedule.publisher_uid IS 'Publisher paid on this schedule. ref: publisher.uid';
COMMENT ON COLUMN payout_schedule.payout_interval IS 'How often payouts run.';
COMMENT ON COLUMN payout_schedule.anchor_day_number IS 'Day of the month (monthly, quarterly) or of the week, 1 = Monday (weekly, biweekly), payouts run on; NULL for the platform default.';
COMMENT ON COLUMN payout_schedule.minimum IS 'Smallest balance paid out; smaller balances carry over to the next run.';
COMMENT ON COLUMN payout_schedule.currency_code IS 'ISO 4217 currency code (lower case) of every amount on the row.';
COMMENT ON COLUMN payout_schedule.method_uid IS 'Payout method used; NULL for the publisher''s default method. ref: publisher_payout_method.uid';
COMMENT ON COLUMN payout_schedule.next_run_ts IS 'When the next payout run for this schedule is due.';
COMMENT ON COLUMN payout_schedule.status IS 'Lifecycle: active ⇄ paused; archived ends it. terminal: archived';

CREATE TABLE payout_batch (
    uid                   TEXT PRIMARY KEY CHECK (uid ~ '^pobat_[0-9A-HJKMNP-TV-Z]{26}$'),
    batch_number          TEXT NOT NULL,
    payment_rail          TEXT NOT NULL CHECK (payment_rail IN ('bank_transfer', 'paypal', 'stripe_connect', 'wise', 'check', 'mixed')),
    total                 NUMERIC(20, 4) NOT NULL CHECK (total >= 0),
    raw_total             JSONB NOT NULL CHECK (jsonb_typeof(raw_total) = 'object'),
    currency_code         TEXT NOT NULL CHECK (currency_code ~ '^[a-z]{3}$'),
    payout_count          INTEGER NOT NULL DEFAULT 0 CHECK (payout_count >= 0),
    period_start_ts       TIMESTAMPTZ NOT NULL,
    period_end_ts         TIMESTAMPTZ NOT NULL,
    scheduled_ts          TIMESTAMPTZ,
    approved_by_user_uid  TEXT,
    status                JSONB NOT NULL DEFAULT '{"phase": "draft", "conditions": []}',
    labels                JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations           JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts             TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts             TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT payout_batch_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('draft', 'approved', 'processing', 'completed', 'failed', 'canceled', 'archived'), false)
    ),
    CONSTRAINT payout_batch_period_check CHECK (period_end_ts > period_start_ts),
    CONSTRAINT payout_batch_batch_number_key UNIQUE (batch_number)
);
CREATE INDEX payout_batch_labels_idx ON payout_batch USING gin (labels);
CREATE INDEX payout_batch_phase_idx ON payout_batch ((status ->> 'phase'));
CREATE INDEX payout_batch_approved_by_user_uid_idx ON payout_batch (approved_by_user_uid);
CREATE INDEX payout_batch_period_end_ts_idx ON payout_batch (period_end_ts);
COMMENT ON TABLE payout_batch IS 'One payout run: the payouts to many publishers for a period, approved and sent together through one payment rail.';
COMMENT ON COLUMN payout_batch.batch_number IS 'Human-facing, unique batch number, e.g. PB-2026-11.';
COMMENT ON COLUMN payout_batch.payment_rail IS 'Rail the batch is sent through; mixed when its payouts use several.';
COMMENT ON COLUMN payout_batch.total IS 'Sum of the payout amounts in the batch.';
COMMENT ON COLUMN payout_batch.currency_code IS 'ISO 4217 currency code (lower case) of every amount on the row.';
COMMENT ON COLUMN payout_batch.payout_count IS 'Number of payouts in the batch.';
COMMENT ON COLUMN payout_batch.period_start_ts IS 'Start of the earning period covered.';
COMMENT ON COLUMN payout_batch.period_end_ts IS 'End of the earning period covered.';
COMMENT ON COLUMN payout_batch.scheduled_ts IS 'When the batch is to be sent.';
COMMENT ON COLUMN payout_batch.approved_by_user_uid IS 'Staff user who approved the batch; NULL until approved. ref: user_account.uid';
COMMENT ON COLUMN payout_batch.status IS 'Lifecycle: draft → approved → processing → completed; failed, canceled (a deleted draft goes here) or archived end it. terminal: canceled, archived, completed, failed';

CREATE TABLE payout (
    uid                 TEXT PRIMARY KEY CHECK (uid ~ '^po_[0-9A-HJKMNP-TV-Z]{26}$'),
    publisher_uid       TEXT NOT NULL,
    batch_uid           TEXT,
    method_uid          TEXT NOT NULL,
    amount              NUMERIC(20, 4) NOT NULL CHECK (amount >= 0),
    raw_amount          JSONB NOT NULL CHECK (jsonb_typeof(raw_amount) = 'object'),
    currency_code       TEXT NOT NULL CHECK (currency_code ~ '^[a-z]{3}$'),
    external_reference  TEXT,
    paid_ts             TIMESTAMPTZ,
    status              JSONB NOT NULL DEFAULT '{"phase": "pending", "conditions": []}',
    labels              JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations         JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT payout_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('pending', 'processing', 'paid', 'failed', 'returned', 'canceled', 'archived'), false)
    )
);
CREATE INDEX payout_labels_idx ON payout USING gin (labels);
CREATE INDEX payout_phase_idx ON payout ((status ->> 'phase'));
CREATE INDEX payout_publisher_uid_idx ON payout (publisher_uid);
CREATE INDEX payout_batch_uid_idx ON payout (batch_uid);
CREATE INDEX payout_method_uid_idx ON payout (method_uid);
CREATE INDEX payout_paid_ts_idx ON payout (paid_ts);
COMMENT ON TABLE payout IS 'A transfer of money to one publisher: the commissions allocated to it through commission_payout plus payout_item adjustments. Usually part of a payout_batch.';
COMMENT ON COLUMN payout.publisher_uid IS 'Publisher paid. ref: publisher.uid';
COMMENT ON COLUMN payout.batch_uid IS 'Batch the payout belongs to; NULL for an ad-hoc payout. ref: payout_batch.uid';
COMMENT ON COLUMN payout.method_uid IS 'Payout method used. ref: publisher_payout_method.uid';
COMMENT ON COLUMN payout.amount IS 'Net amount transferred.';
COMMENT ON COLUMN payout.currency_code IS 'ISO 4217 currency code (lower case) of every amount on the row.';
COMMENT ON COLUMN payout.external_reference IS 'Transfer identifier at the payment provider.';
COMMENT ON COLUMN payout.paid_ts IS 'When the transfer was confirmed; NULL until paid.';
COMMENT ON COLUMN payout.status IS 'Lifecycle: pending → processing → paid; failed, returned (bounced after paid), canceled (a deleted pending payout goes here) or archived end it. terminal: canceled, archived, failed, returned';

CREATE TABLE payout_item (
    uid              TEXT PRIMARY KEY CHECK (uid ~ '^poit_[0-9A-HJKMNP-TV-Z]{26}$'),
    payout_uid       TEXT NOT NULL,
    item_type        TEXT NOT NULL CHECK (item_type IN ('bonus', 'adjustment', 'fee', 'tax_withholding', 'hold_release', 'carryover')),
    description      TEXT NOT NULL,
    amount           NUMERIC(20, 4) NOT NULL,
    raw_amount       JSONB NOT NULL CHECK (jsonb_typeof(raw_amount) = 'object'),
    currency_code    TEXT NOT NULL CHECK (currency_code ~ '^[a-z]{3}$'),
    payout_hold_uid  TEXT,
    status           JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels           JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations      JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts        TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts        TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT payout_item_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'void'), false)
    )
);
CREATE INDEX payout_item_labels_idx ON payout_item USING gin (labels);
CREATE INDEX payout_item_phase_idx ON payout_item ((status ->> 'phase'));
CREATE INDEX payout_item_payout_uid_idx ON payout_item (payout_uid);
CREATE INDEX payout_item_payout_hold_uid_idx ON payout_item (payout_hold_uid);
COMMENT ON TABLE payout_item IS 'An adjustment line on a payout besides commissions (which are allocated through commission_payout): a bonus, a manual adjustment, a fee, a tax withholding, a released hold or a carried-over balance.';
COMMENT ON COLUMN payout_item.payout_uid IS 'Payout the item belongs to. ref: payout.uid';
COMMENT ON COLUMN payout_item.item_type IS 'Kind of line.';
COMMENT ON COLUMN payout_item.description IS 'Text shown on the publisher''s statement.';
COMMENT ON COLUMN payout_item.amount IS 'Signed amount: positive adds to the payout, negative (fees, withholdings) deducts.';
COMMENT ON COLUMN payout_item.currency_code IS 'ISO 4217 currency code (lower case) of every amount on the row.';
COMMENT ON COLUMN payout_item.payout_hold_uid IS 'Hold released, for hold_release items. ref: payout_hold.uid';
COMMENT ON COLUMN payout_item.status IS 'Lifecycle: active; void (removed before the payout was sent) ends it. terminal: void';

CREATE TABLE tax_form (
    uid               TEXT PRIMARY KEY CHECK (uid ~ '^txf_[0-9A-HJKMNP-TV-Z]{26}$'),
    publisher_uid     TEXT NOT NULL,
    form_type         TEXT NOT NULL CHECK (form_type IN ('w9', 'w8ben', 'w8bene')),
    document_key      TEXT NOT NULL,
    tax_country_code  TEXT CHECK (tax_country_code ~ '^[a-z]{2}$'),
    tin_last4         TEXT CHECK (tin_last4 ~ '^[0-9A-Za-z]{4}$'),
    withholding_rate  NUMERIC(7, 4) NOT NULL DEFAULT 0 CHECK (withholding_rate BETWEEN 0 AND 100),
    signed_ts         TIMESTAMPTZ NOT NULL,
    expires_ts        TIMESTAMPTZ,
    status            JSONB NOT NULL DEFAULT '{"phase": "submitted", "conditions": []}',
    labels            JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations       JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts         TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts         TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT tax_form_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('submitted', 'verified', 'rejected', 'expired', 'archived'), false)
    )
);
CREATE INDEX tax_form_labels_idx ON tax_form USING gin (labels);
CREATE INDEX tax_form_phase_idx ON tax_form ((status ->> 'phase'));
CREATE INDEX tax_form_publisher_uid_idx ON tax_form (publisher_uid);
CREATE INDEX tax_form_expires_ts_idx ON tax_form (expires_ts);
COMMENT ON TABLE tax_form IS 'A tax form a publisher submitted (W-9, W-8BEN, W-8BEN-E): the document in object storage, the withholding it implies and its validity. Only the last four digits of the tax id are kept.';
COMMENT ON COLUMN tax_form.publisher_uid IS 'Publisher the form is for. ref: publisher.uid';
COMMENT ON COLUMN tax_form.form_type IS 'IRS form: W-9 (US person), W-8BEN (foreign individual), W-8BEN-E (foreign entity).';
COMMENT ON COLUMN tax_form.document_key IS 'Object-storage key of the signed form.';
COMMENT ON COLUMN tax_form.tax_country_code IS 'ISO 3166-1 alpha-2 country (lower case) of tax residence.';
COMMENT ON COLUMN tax_form.tin_last4 IS 'Last four characters of the taxpayer id; the full id is only in the document.';
COMMENT ON COLUMN tax_form.withholding_rate IS 'Tax withheld from payouts under this form (e.g. 30 without a treaty). unit: percent';
COMMENT ON COLUMN tax_form.signed_ts IS 'When the publisher signed the form.';
COMMENT ON COLUMN tax_form.expires_ts IS 'When the form stops being valid (W-8 forms: end of the third calendar year); NULL for no expiry.';
COMMENT ON COLUMN tax_form.status IS 'Lifecycle: submitted → verified; rejected, expired (past expires_ts) or archived end it. terminal: archived, expired, rejected';

CREATE TABLE payout_hold (
    uid                 TEXT PRIMARY KEY CHECK (uid ~ '^pohld_[0-9A-HJKMNP-TV-Z]{26}$'),
    publisher_uid       TEXT NOT NULL,
    payout_uid          TEXT,
    reason              TEXT NOT NULL CHECK (reason IN ('missing_tax_form', 'fraud_review', 'dispute', 'compliance', 'manual')),
    note                TEXT,
    placed_by_user_uid  TEXT,
    placed_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    release_after_ts    TIMESTAMPTZ,
    status              JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels              JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations         JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT payout_hold_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'released', 'archived'), false)
    )
);
CREATE INDEX payout_hold_labels_idx ON payout_hold USING gin (labels);
CREATE INDEX payout_hold_phase_idx ON payout_hold ((status ->> 'phase'));
CREATE INDEX payout_hold_publisher_uid_idx ON payout_hold (publisher_uid);
CREATE INDEX payout_hold_payout_uid_idx ON payout_hold (payout_uid);
CREATE INDEX payout_hold_placed_by_user_uid_idx ON payout_hold (placed_by_user_uid);
COMMENT ON TABLE payout_hold IS 'A hold that stops payouts to a publisher (or one payout) until released: missing tax form, fraud review, open dispute, compliance.';
COMMENT ON COLUMN payout_hold.publisher_uid IS 'Publisher whose payouts are held. ref: publisher.uid';
COMMENT ON COLUMN payout_hold.payout_uid IS 'Single payout held; NULL to hold every payout of the publisher. ref: payout.uid';
COMMENT ON COLUMN payout_hold.reason IS 'Why payouts are held.';
COMMENT ON COLUMN payout_hold.note IS 'Staff note explaining the hold.';
COMMENT ON COLUMN payout_hold.placed_by_user_uid IS 'Staff user who placed the hold; NULL for automatic holds. ref: user_account.uid';
COMMENT ON COLUMN payout_hold.placed_ts IS 'When the hold was placed.';
COMMENT ON COLUMN payout_hold.release_after_ts IS 'When the hold lifts by itself; NULL until released by staff.';
COMMENT ON COLUMN payout_hold.status IS 'Lifecycle: active → released (a deleted hold is released); archived ends it. terminal: released, archived';
