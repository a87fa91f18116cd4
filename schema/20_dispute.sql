-- Module 20: Dispute
-- Card disputes on payments (module 08) for orders (order_header): the dispute with its reason,
-- deadline and outcome, the dispute_evidence submitted, the dispute_message thread, and chargeback
-- rows for funds withdrawn and reinstated (posted to the ledger, module 18).

CREATE TABLE dispute (
    uid                  TEXT PRIMARY KEY CHECK (uid ~ '^dsp_[0-9A-HJKMNP-TV-Z]{26}$'),
    payment_uid          TEXT NOT NULL,
    order_uid            TEXT,
    customer_uid         TEXT,
    external_id          TEXT,
    reason               TEXT NOT NULL CHECK (reason IN ('fraudulent', 'product_not_received', 'product_unacceptable', 'duplicate', 'subscription_canceled', 'credit_not_processed', 'unrecognized', 'general')),
    network_reason_code  TEXT,
    amount               NUMERIC(20, 4) NOT NULL CHECK (amount > 0),
    raw_amount           JSONB NOT NULL CHECK (jsonb_typeof(raw_amount) = 'object'),
    currency_code        TEXT NOT NULL CHECK (currency_code ~ '^[a-z]{3}$'),
    opened_ts            TIMESTAMPTZ NOT NULL,
    evidence_due_ts      TIMESTAMPTZ,
    outcome              TEXT CHECK (outcome IN ('won', 'lost', 'accepted', 'withdrawn')),
    closed_ts            TIMESTAMPTZ,
    status               JSONB NOT NULL DEFAULT '{"phase": "needs_response", "conditions": []}',
    labels               JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts            TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts            TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT dispute_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('needs_response', 'under_review', 'closed', 'archived'), false)
    )
);
CREATE INDEX dispute_labels_idx ON dispute USING gin (labels);
CREATE INDEX dispute_phase_idx ON dispute ((status ->> 'phase'));
CREATE INDEX dispute_payment_uid_idx ON dispute (payment_uid);
CREATE INDEX dispute_order_uid_idx ON dispute (order_uid);
CREATE INDEX dispute_customer_uid_idx ON dispute (customer_uid);
CREATE UNIQUE INDEX dispute_external_id_key ON dispute (external_id);
CREATE INDEX dispute_evidence_due_ts_idx ON dispute (evidence_due_ts);
CREATE INDEX dispute_opened_ts_idx ON dispute (opened_ts);
CREATE INDEX dispute_reason_idx ON dispute (reason);
COMMENT ON TABLE dispute IS 'A payment dispute opened by a cardholder through the processor, with the evidence deadline and, once closed, its outcome. Funds withdrawn are chargeback rows.';
COMMENT ON COLUMN dispute.payment_uid IS 'Disputed payment. ref: payment.uid';
COMMENT ON COLUMN dispute.order_uid IS 'Order the payment was for, when known. ref: order_header.uid';
COMMENT ON COLUMN dispute.customer_uid IS 'Customer who disputed, when known. ref: customer.uid';
COMMENT ON COLUMN dispute.external_id IS 'Identifier of the dispute at the processor (e.g. Shopify Payments dispute GID).';
COMMENT ON COLUMN dispute.reason IS 'Reason given by the card network, normalised.';
COMMENT ON COLUMN dispute.network_reason_code IS 'Reason code as sent by the card network, e.g. 10.4.';
COMMENT ON COLUMN dispute.amount IS 'Disputed amount.';
COMMENT ON COLUMN dispute.currency_code IS 'ISO 4217 currency code (lower case) of every amount on the row.';
COMMENT ON COLUMN dispute.opened_ts IS 'When the dispute was opened.';
COMMENT ON COLUMN dispute.evidence_due_ts IS 'Deadline to submit evidence.';
COMMENT ON COLUMN dispute.outcome IS 'Result once closed: won, lost, accepted (not contested) or withdrawn by the cardholder; NULL while open.';
COMMENT ON COLUMN dispute.closed_ts IS 'When the dispute closed; NULL while open.';
COMMENT ON COLUMN dispute.status IS 'Lifecycle: needs_response → under_review (evidence submitted) → closed (outcome set); archived ends it. terminal: archived, closed';

CREATE TABLE dispute_evidence (
    uid              TEXT PRIMARY KEY CHECK (uid ~ '^dspev_[0-9A-HJKMNP-TV-Z]{26}$'),
    dispute_uid      TEXT NOT NULL,
    evidence_type    TEXT NOT NULL CHECK (evidence_type IN ('receipt', 'shipping_documentation', 'customer_communication', 'refund_policy', 'product_description', 'cancellation_policy', 'other')),
    description      TEXT,
    document_key     TEXT,
    fulfillment_uid  TEXT,
    submitted_ts     TIMESTAMPTZ,
    status           JSONB NOT NULL DEFAULT '{"phase": "draft", "conditions": []}',
    labels           JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations      JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts        TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts        TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT dispute_evidence_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('draft', 'submitted', 'archived'), false)
    )
);
CREATE INDEX dispute_evidence_labels_idx ON dispute_evidence USING gin (labels);
CREATE INDEX dispute_evidence_phase_idx ON dispute_evidence ((status ->> 'phase'));
CREATE INDEX dispute_evidence_dispute_uid_idx ON dispute_evidence (dispute_uid);
CREATE INDEX dispute_evidence_fulfillment_uid_idx ON dispute_evidence (fulfillment_uid);
COMMENT ON TABLE dispute_evidence IS 'One piece of evidence for a dispute (receipt, tracking, customer messages, policy), as text and/or a document in object storage.';
COMMENT ON COLUMN dispute_evidence.dispute_uid IS 'Dispute the evidence supports. ref: dispute.uid';
COMMENT ON COLUMN dispute_evidence.evidence_type IS 'What the evidence shows.';
COMMENT ON COLUMN dispute_evidence.description IS 'Text of the evidence or a note on the document.';
COMMENT ON COLUMN dispute_evidence.document_key IS 'Object-storage key of the attached document, if any.';
COMMENT ON COLUMN dispute_evidence.fulfillment_uid IS 'Fulfillment whose tracking is the evidence, for shipping documentation. ref: fulfillment.uid';
COMMENT ON COLUMN dispute_evidence.submitted_ts IS 'When the evidence was submitted; NULL while draft.';
COMMENT ON COLUMN dispute_evidence.status IS 'Lifecycle: draft → submitted (sent to the processor); archived ends it. terminal: archived';

CREATE TABLE dispute_message (
    uid                   TEXT PRIMARY KEY CHECK (uid ~ '^dspmsg_[0-9A-HJKMNP-TV-Z]{26}$'),
    dispute_uid           TEXT NOT NULL,
    author_principal_uid  TEXT,
    sender_role           TEXT NOT NULL CHECK (sender_role IN ('staff', 'customer', 'processor', 'system')),
    body                  TEXT NOT NULL,
    sent_ts               TIMESTAMPTZ NOT NULL DEFAULT now(),
    status                JSONB NOT NULL DEFAULT '{"phase": "sent", "conditions": []}',
    labels                JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations           JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts             TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts             TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT dispute_message_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('draft', 'sent', 'archived'), false)
    )
);
CREATE INDEX dispute_message_labels_idx ON dispute_message USING gin (labels);
CREATE INDEX dispute_message_phase_idx ON dispute_message ((status ->> 'phase'));
CREATE INDEX dispute_message_dispute_uid_idx ON dispute_message (dispute_uid);
CREATE INDEX dispute_message_author_principal_uid_idx ON dispute_message (author_principal_uid);
COMMENT ON TABLE dispute_message IS 'A message in a dispute''s thread: staff notes, messages to or from the customer, processor notices.';
COMMENT ON COLUMN dispute_message.dispute_uid IS 'Dispute the message belongs to. ref: dispute.uid';
COMMENT ON COLUMN dispute_message.author_principal_uid IS 'Principal who wrote the message; NULL for customer or processor messages. ref: principal.uid';
COMMENT ON COLUMN dispute_message.sender_role IS 'Who sent the message.';
COMMENT ON COLUMN dispute_message.body IS 'Message text.';
COMMENT ON COLUMN dispute_message.sent_ts IS 'When the message was sent or received.';
COMMENT ON COLUMN dispute_message.status IS 'Lifecycle: draft → sent; archived ends it. terminal: archived';

CREATE TABLE chargeback (
    uid             TEXT PRIMARY KEY CHECK (uid ~ '^chb_[0-9A-HJKMNP-TV-Z]{26}$'),
    dispute_uid     TEXT NOT NULL,
    payment_uid     TEXT NOT NULL,
    external_id     TEXT,
    amount          NUMERIC(20, 4) NOT NULL CHECK (amount > 0),
    raw_amount      JSONB NOT NULL CHECK (jsonb_typeof(raw_amount) = 'object'),
    fee             NUMERIC(20, 4) CHECK (fee >= 0),
    raw_fee         JSONB CHECK (jsonb_typeof(raw_fee) = 'object'),
    currency_code   TEXT NOT NULL CHECK (currency_code ~ '^[a-z]{3}$'),
    debited_ts      TIMESTAMPTZ NOT NULL,
    reinstated_ts   TIMESTAMPTZ,
    status          JSONB NOT NULL DEFAULT '{"phase": "debited", "conditions": []}',
    labels          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT chargeback_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('debited', 'reinstated', 'archived'), false)
    )
);
CREATE INDEX chargeback_labels_idx ON chargeback USING gin (labels);
CREATE INDEX chargeback_phase_idx ON chargeback ((status ->> 'phase'));
CREATE INDEX chargeback_dispute_uid_idx ON chargeback (dispute_uid);
CREATE INDEX chargeback_payment_uid_idx ON chargeback (payment_uid);
CREATE INDEX chargeback_debited_ts_idx ON chargeback (debited_ts);
COMMENT ON TABLE chargeback IS 'Funds withdrawn from the brand''s balance because of a dispute (and the processor fee), reinstated if the dispute is won.';
COMMENT ON COLUMN chargeback.dispute_uid IS 'Dispute that caused the chargeback. ref: dispute.uid';
COMMENT ON COLUMN chargeback.payment_uid IS 'Payment charged back (copied from the dispute for filtering). ref: payment.uid';
COMMENT ON COLUMN chargeback.external_id IS 'Identifier of the balance transaction at the processor.';
COMMENT ON COLUMN chargeback.amount IS 'Amount withdrawn.';
COMMENT ON COLUMN chargeback.fee IS 'Processor fee charged for the chargeback; NULL when none.';
COMMENT ON COLUMN chargeback.currency_code IS 'ISO 4217 currency code (lower case) of every amount on the row.';
COMMENT ON COLUMN chargeback.debited_ts IS 'When the funds were withdrawn.';
COMMENT ON COLUMN chargeback.reinstated_ts IS 'When the funds were returned; NULL unless reinstated.';
COMMENT ON COLUMN chargeback.status IS 'Lifecycle: debited → reinstated (dispute won, funds returned); archived ends it. terminal: archived';
