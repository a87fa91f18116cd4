
-- Module 08: Payment
-- Payments after Medusa v2's payment module: a payment_collection is the amount to be paid for a cart or
-- an order (link_cart_payment_collection, link_order_payment_collection); customers start
-- payment_session rows with a payment_provider, an authorized session becomes a payment, and money
-- moves in payment_capture and payment_refund rows (recorded on the order as order_transaction).
-- Providers are enabled per region through link_region_payment_provider.

CREATE TABLE payment_collection (
    uid                    TEXT PRIMARY KEY CHECK (uid ~ '^paycol_[0-9A-HJKMNP-TV-Z]{26}$'),
    currency_code          TEXT NOT NULL CHECK (currency_code ~ '^[a-z]{3}$'),
    amount                 NUMERIC(20, 4) NOT NULL,
    raw_amount             JSONB NOT NULL CHECK (jsonb_typeof(raw_amount) = 'object'),
    authorized_amount      NUMERIC(20, 4),
    raw_authorized_amount  JSONB CHECK (jsonb_typeof(raw_authorized_amount) = 'object'),
    captured_amount        NUMERIC(20, 4),
    raw_captured_amount    JSONB CHECK (jsonb_typeof(raw_captured_amount) = 'object'),
    refunded_amount        NUMERIC(20, 4),
    raw_refunded_amount    JSONB CHECK (jsonb_typeof(raw_refunded_amount) = 'object'),
    completed_ts           TIMESTAMPTZ,
    status                 JSONB NOT NULL DEFAULT '{"phase": "not_paid", "conditions": []}',
    labels                 JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations            JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts              TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts              TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT payment_collection_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('not_paid', 'awaiting', 'partially_authorized', 'authorized', 'completed', 'failed', 'canceled'), false)
    )
);
CREATE INDEX payment_collection_labels_idx ON payment_collection USING gin (labels);
CREATE INDEX payment_collection_phase_idx ON payment_collection ((status ->> 'phase'));
COMMENT ON TABLE payment_collection IS 'An amount to be paid for a cart or order, possibly by several payments (Medusa''s payment_collection).';
COMMENT ON COLUMN payment_collection.currency_code IS 'ISO 4217 currency code (lower case) of the amounts.';
COMMENT ON COLUMN payment_collection.amount IS 'Amount to be paid.';
COMMENT ON COLUMN payment_collection.authorized_amount IS 'Amount authorized so far.';
COMMENT ON COLUMN payment_collection.captured_amount IS 'Amount captured so far.';
COMMENT ON COLUMN payment_collection.refunded_amount IS 'Amount refunded so far.';
COMMENT ON COLUMN payment_collection.completed_ts IS 'When the collection was fully paid.';
COMMENT ON COLUMN payment_collection.status IS 'Lifecycle: not_paid → awaiting → (partially_)authorized → completed; failed or canceled end it. terminal: canceled, completed, failed';

CREATE TABLE payment_session (
    uid                     TEXT PRIMARY KEY CHECK (uid ~ '^payses_[0-9A-HJKMNP-TV-Z]{26}$'),
    payment_collection_uid  TEXT NOT NULL,
    provider_uid            TEXT NOT NULL,
    currency_code           TEXT NOT NULL CHECK (currency_code ~ '^[a-z]{3}$'),
    amount                  NUMERIC(20, 4) NOT NULL,
    raw_amount              JSONB NOT NULL CHECK (jsonb_typeof(raw_amount) = 'object'),
    data                    JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(data) = 'object'),
    context                 JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(context) = 'object'),
    authorized_ts           TIMESTAMPTZ,
    status                  JSONB NOT NULL DEFAULT '{"phase": "pending", "conditions": []}',
    labels                  JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations             JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts               TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts               TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT payment_session_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('pending', 'requires_more', 'authorized', 'captured', 'error', 'canceled'), false)
    )
);
CREATE INDEX payment_session_labels_idx ON payment_session USING gin (labels);
CREATE INDEX payment_session_phase_idx ON payment_session ((status ->> 'phase'));
CREATE INDEX payment_session_payment_collection_uid_idx ON payment_session (payment_collection_uid);
CREATE INDEX payment_session_provider_uid_idx ON payment_session (provider_uid);
COMMENT ON TABLE payment_session IS 'An attempt to pay a payment collection with one provider (Medusa''s payment_session).';
COMMENT ON COLUMN payment_session.payment_collection_uid IS 'Collection being paid. ref: payment_collection.uid';
COMMENT ON COLUMN payment_session.provider_uid IS 'Provider handling the session. ref: payment_provider.uid';
COMMENT ON COLUMN payment_session.currency_code IS 'ISO 4217 currency code (lower case) of amount.';
COMMENT ON COLUMN payment_session.amount IS 'Amount to authorize.';
COMMENT ON COLUMN payment_session.data IS 'Provider data, e.g. the Stripe payment intent.';
COMMENT ON COLUMN payment_session.context IS 'Context passed to the provider (customer, addresses, ...).';
COMMENT ON COLUMN payment_session.authorized_ts IS 'When the provider authorized the session.';
COMMENT ON COLUMN payment_session.status IS 'Lifecycle: pending (requires_more when the customer must act) → authorized → captured; error or canceled end it. terminal: canceled, captured, error';

CREATE TABLE payment (
    uid                     TEXT PRIMARY KEY CHECK (uid ~ '^pay_[0-9A-HJKMNP-TV-Z]{26}$'),
    payment_collection_uid  TEXT NOT NULL,
    payment_session_uid     TEXT,
    provider_uid            TEXT NOT NULL,
    currency_code           TEXT NOT NULL CHECK (currency_code ~ '^[a-z]{3}$'),
    amount                  NUMERIC(20, 4) NOT NULL,
    raw_amount              JSONB NOT NULL CHECK (jsonb_typeof(raw_amount) = 'object'),
    data                    JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(data) = 'object'),
    captured_ts             TIMESTAMPTZ,
    canceled_ts             TIMESTAMPTZ,
    status                  JSONB NOT NULL DEFAULT '{"phase": "authorized", "conditions": []}',
    labels                  JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations             JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts               TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts               TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT payment_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('authorized', 'partially_captured', 'captured', 'partially_refunded', 'refunded', 'canceled'), false)
    ),
    CONSTRAINT payment_payment_session_key UNIQUE (payment_session_uid)
);
CREATE INDEX payment_labels_idx ON payment USING gin (labels);
CREATE INDEX payment_phase_idx ON payment ((status ->> 'phase'));
CREATE INDEX payment_payment_collection_uid_idx ON payment (payment_collection_uid);
CREATE INDEX payment_provider_uid_idx ON payment (provider_uid);
CREATE INDEX payment_captured_ts_idx ON payment (captured_ts);
COMMENT ON TABLE payment IS 'An authorized payment by one provider (Medusa''s payment); captures and refunds move its money.';
COMMENT ON COLUMN payment.payment_collection_uid IS 'Collection the payment pays. ref: payment_collection.uid';
COMMENT ON COLUMN payment.payment_session_uid IS 'Session the payment was authorized from. ref: payment_session.uid';
COMMENT ON COLUMN payment.provider_uid IS 'Provider holding the payment. ref: payment_provider.uid';
COMMENT ON COLUMN payment.currency_code IS 'ISO 4217 currency code (lower case) of amount.';
COMMENT ON COLUMN payment.amount IS 'Authorized amount.';
COMMENT ON COLUMN payment.data IS 'Provider data for the payment.';
COMMENT ON COLUMN payment.captured_ts IS 'When the payment was fully captured.';
COMMENT ON COLUMN payment.canceled_ts IS 'When the payment was canceled.';
COMMENT ON COLUMN payment.status IS 'Lifecycle: authorized → (partially_)captured → (partially_)refunded; canceled ends it before capture. terminal: canceled, refunded';

CREATE TABLE payment_capture (
    uid             TEXT PRIMARY KEY CHECK (uid ~ '^capt_[0-9A-HJKMNP-TV-Z]{26}$'),
    payment_uid     TEXT NOT NULL,
    amount          NUMERIC(20, 4) NOT NULL,
    raw_amount      JSONB NOT NULL CHECK (jsonb_typeof(raw_amount) = 'object'),
    created_by_uid  TEXT,
    status          JSONB NOT NULL DEFAULT '{"phase": "recorded", "conditions": []}',
    labels          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT payment_capture_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('recorded', 'voided'), false)
    )
);
CREATE INDEX payment_capture_labels_idx ON payment_capture USING gin (labels);
CREATE INDEX payment_capture_phase_idx ON payment_capture ((status ->> 'phase'));
CREATE INDEX payment_capture_payment_uid_idx ON payment_capture (payment_uid);
CREATE INDEX payment_capture_created_by_uid_idx ON payment_capture (created_by_uid);
COMMENT ON TABLE payment_capture IS 'An amount captured from a payment (Medusa''s capture).';
COMMENT ON COLUMN payment_capture.payment_uid IS 'Payment captured from. ref: payment.uid';
COMMENT ON COLUMN payment_capture.amount IS 'Captured amount.';
COMMENT ON COLUMN payment_capture.created_by_uid IS 'Staff user who captured, if captured by hand. ref: user_account.uid';
COMMENT ON COLUMN payment_capture.status IS 'Lifecycle: recorded; voided ends it (capture reverted by the provider). terminal: voided';

CREATE TABLE payment_refund (
    uid             TEXT PRIMARY KEY CHECK (uid ~ '^refund_[0-9A-HJKMNP-TV-Z]{26}$'),
    payment_uid     TEXT NOT NULL,
    amount          NUMERIC(20, 4) NOT NULL,
    raw_amount      JSONB NOT NULL CHECK (jsonb_typeof(raw_amount) = 'object'),
    reason          TEXT,
    note            TEXT,
    created_by_uid  TEXT,
    status          JSONB NOT NULL DEFAULT '{"phase": "recorded", "conditions": []}',
    labels          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT payment_refund_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('recorded', 'voided'), false)
    )
);
CREATE INDEX payment_refund_labels_idx ON payment_refund USING gin (labels);
CREATE INDEX payment_refund_phase_idx ON payment_refund ((status ->> 'phase'));
CREATE INDEX payment_refund_payment_uid_idx ON payment_refund (payment_uid);
CREATE INDEX payment_refund_created_by_uid_idx ON payment_refund (created_by_uid);
COMMENT ON TABLE payment_refund IS 'An amount refunded from a payment (Medusa''s refund).';
COMMENT ON COLUMN payment_refund.payment_uid IS 'Payment refunded. ref: payment.uid';
COMMENT ON COLUMN payment_refund.amount IS 'Refunded amount.';
COMMENT ON COLUMN payment_refund.reason IS 'Short reason for the refund, e.g. damaged item.';
COMMENT ON COLUMN payment_refund.note IS 'Free-text note for staff.';
COMMENT ON COLUMN payment_refund.created_by_uid IS 'Staff user who issued the refund. ref: user_account.uid';
COMMENT ON COLUMN payment_refund.status IS 'Lifecycle: recorded; voided ends it (refund failed at the provider). terminal: voided';

CREATE TABLE payment_provider (
    uid             TEXT PRIMARY KEY CHECK (uid ~ '^payprov_[0-9A-HJKMNP-TV-Z]{26}$'),
    code            TEXT NOT NULL,
    name            TEXT,
    is_enabled      BOOLEAN NOT NULL DEFAULT true,
    status          JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT payment_provider_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'archived'), false)
    ),
    CONSTRAINT payment_provider_code_key UNIQUE (code)
);
CREATE INDEX payment_provider_labels_idx ON payment_provider USING gin (labels);
CREATE INDEX payment_provider_phase_idx ON payment_provider ((status ->> 'phase'));
COMMENT ON TABLE payment_provider IS 'A payment provider integration, e.g. Stripe or manual (Medusa''s payment_provider).';
COMMENT ON COLUMN payment_provider.code IS 'Provider identifier used by the application, e.g. pp_stripe_stripe.';
COMMENT ON COLUMN payment_provider.name IS 'Display name.';
COMMENT ON COLUMN payment_provider.is_enabled IS 'False if the provider temporarily accepts no new sessions.';
COMMENT ON COLUMN payment_provider.status IS 'Lifecycle: active until archived (soft delete). terminal: archived';
