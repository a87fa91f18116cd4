-- Module 13: Return
-- After-sale flows of an order_header, after Medusa v2's order module: a return_request (the goods coming
-- back, line by line in return_item with a return_reason), an order_claim (a problem with delivered goods,
-- settled by refund or replacement) and an order_exchange (goods returned for other goods). Claims and
-- exchanges that take goods back own a return_request; the outbound replacement goes through fulfillment
-- (link_order_fulfillment) and the inbound shipment through link_return_request_fulfillment. Money moves
-- through payment_refund (module 08); order changes are recorded in order_change (module 06).

CREATE TABLE return_request (
    uid                 TEXT PRIMARY KEY CHECK (uid ~ '^ret_[0-9A-HJKMNP-TV-Z]{26}$'),
    display_id          INTEGER NOT NULL CHECK (display_id > 0),
    order_uid           TEXT NOT NULL,
    order_version       INTEGER NOT NULL DEFAULT 1 CHECK (order_version >= 1),
    exchange_uid        TEXT,
    claim_uid           TEXT,
    location_uid        TEXT,
    no_notification     BOOLEAN NOT NULL DEFAULT false,
    refund_amount       NUMERIC(20, 4) CHECK (refund_amount >= 0),
    raw_refund_amount   JSONB CHECK (jsonb_typeof(raw_refund_amount) = 'object'),
    requested_ts        TIMESTAMPTZ NOT NULL DEFAULT now(),
    received_ts         TIMESTAMPTZ,
    canceled_ts         TIMESTAMPTZ,
    status              JSONB NOT NULL DEFAULT '{"phase": "requested", "conditions": []}',
    labels              JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations         JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT return_request_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('requested', 'partially_received', 'received', 'canceled', 'archived'), false)
    ),
    CONSTRAINT return_request_display_id_key UNIQUE (display_id)
);
CREATE INDEX return_request_labels_idx ON return_request USING gin (labels);
CREATE INDEX return_request_phase_idx ON return_request ((status ->> 'phase'));
CREATE INDEX return_request_order_uid_idx ON return_request (order_uid);
CREATE INDEX return_request_exchange_uid_idx ON return_request (exchange_uid);
CREATE INDEX return_request_claim_uid_idx ON return_request (claim_uid);
CREATE INDEX return_request_location_uid_idx ON return_request (location_uid);
CREATE INDEX return_request_requested_ts_idx ON return_request (requested_ts);
COMMENT ON TABLE return_request IS 'A return of goods from an order (Medusa''s return, renamed since RETURN is an SQL keyword); its lines are return_item. Creating one emits return_requested.';
COMMENT ON COLUMN return_request.display_id IS 'Human-facing return number shown to staff and customers; unique, assigned by the application.';
COMMENT ON COLUMN return_request.order_uid IS 'Order the goods were bought in. ref: order_header.uid';
COMMENT ON COLUMN return_request.order_version IS 'Version of the order (order_change sequence) the return was created against.';
COMMENT ON COLUMN return_request.exchange_uid IS 'Exchange the return is the inbound half of, if any. ref: order_exchange.uid';
COMMENT ON COLUMN return_request.claim_uid IS 'Claim the return belongs to, if any. ref: order_claim.uid';
COMMENT ON COLUMN return_request.location_uid IS 'Stock location the goods are returned to. ref: stock_location.uid';
COMMENT ON COLUMN return_request.no_notification IS 'True to send the customer no notification about the return.';
COMMENT ON COLUMN return_request.refund_amount IS 'Amount to refund for the return, in the order''s currency; NULL until decided.';
COMMENT ON COLUMN return_request.requested_ts IS 'When the return was requested.';
COMMENT ON COLUMN return_request.received_ts IS 'When the returned goods were (fully) received.';
COMMENT ON COLUMN return_request.canceled_ts IS 'When the return was canceled.';
COMMENT ON COLUMN return_request.status IS 'Lifecycle: requested → partially_received → received; canceled ends it early, archived ends any. terminal: archived, canceled';

CREATE TABLE return_item (
    uid                 TEXT PRIMARY KEY CHECK (uid ~ '^retit_[0-9A-HJKMNP-TV-Z]{26}$'),
    return_uid          TEXT NOT NULL,
    line_item_uid       TEXT NOT NULL,
    reason_uid          TEXT,
    quantity            INTEGER NOT NULL CHECK (quantity > 0),
    received_quantity   INTEGER NOT NULL DEFAULT 0 CHECK (received_quantity >= 0),
    damaged_quantity    INTEGER NOT NULL DEFAULT 0 CHECK (damaged_quantity >= 0),
    note                TEXT,
    status              JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels              JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations         JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT return_item_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'archived'), false)
    ),
    CONSTRAINT return_item_received_total_check CHECK (received_quantity + damaged_quantity <= quantity)
);
CREATE INDEX return_item_labels_idx ON return_item USING gin (labels);
CREATE INDEX return_item_phase_idx ON return_item ((status ->> 'phase'));
CREATE INDEX return_item_return_uid_idx ON return_item (return_uid);
CREATE INDEX return_item_line_item_uid_idx ON return_item (line_item_uid);
CREATE INDEX return_item_reason_uid_idx ON return_item (reason_uid);
COMMENT ON TABLE return_item IS 'A line of a return: how many units of one order line come back, why, and how many arrived (Medusa''s return_item).';
COMMENT ON COLUMN return_item.return_uid IS 'Return the line belongs to. ref: return_request.uid';
COMMENT ON COLUMN return_item.line_item_uid IS 'Order line being returned. ref: order_line_item.uid';
COMMENT ON COLUMN return_item.reason_uid IS 'Why the customer returns it. ref: return_reason.uid';
COMMENT ON COLUMN return_item.quantity IS 'Number of units requested to be returned.';
COMMENT ON COLUMN return_item.received_quantity IS 'Number of units received back in sellable condition.';
COMMENT ON COLUMN return_item.damaged_quantity IS 'Number of units received back damaged (not restocked).';
COMMENT ON COLUMN return_item.note IS 'Free-text note from the customer or staff.';
COMMENT ON COLUMN return_item.status IS 'Lifecycle: active; archived ends it. terminal: archived';

CREATE TABLE return_reason (
    uid                 TEXT PRIMARY KEY CHECK (uid ~ '^rr_[0-9A-HJKMNP-TV-Z]{26}$'),
    value               TEXT NOT NULL,
    label               TEXT NOT NULL,
    description         TEXT,
    parent_reason_uid   TEXT,
    status              JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels              JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations         JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT return_reason_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'archived'), false)
    ),
    CONSTRAINT return_reason_value_key UNIQUE (value)
);
CREATE INDEX return_reason_labels_idx ON return_reason USING gin (labels);
CREATE INDEX return_reason_phase_idx ON return_reason ((status ->> 'phase'));
CREATE INDEX return_reason_parent_reason_uid_idx ON return_reason (parent_reason_uid);
COMMENT ON TABLE return_reason IS 'A reason customers can give for returning goods, optionally nested under a broader reason (Medusa''s return_reason).';
COMMENT ON COLUMN return_reason.value IS 'Stable machine value of the reason, e.g. wrong_size; unique.';
COMMENT ON COLUMN return_reason.label IS 'Label shown to customers and staff, e.g. Wrong size.';
COMMENT ON COLUMN return_reason.description IS 'Longer explanation of when to use the reason.';
COMMENT ON COLUMN return_reason.parent_reason_uid IS 'Broader reason this one refines, if any. ref: return_reason.uid';
COMMENT ON COLUMN return_reason.status IS 'Lifecycle: active; archived ends it. terminal: archived';

CREATE TABLE order_claim (
    uid                 TEXT PRIMARY KEY CHECK (uid ~ '^claim_[0-9A-HJKMNP-TV-Z]{26}$'),
    display_id          INTEGER NOT NULL CHECK (display_id > 0),
    order_uid           TEXT NOT NULL,
    order_version       INTEGER NOT NULL DEFAULT 1 CHECK (order_version >= 1),
    return_uid          TEXT,
    claim_type          TEXT NOT NULL CHECK (claim_type IN ('refund', 'replace')),
    no_notification     BOOLEAN NOT NULL DEFAULT false,
    refund_amount       NUMERIC(20, 4) CHECK (refund_amount >= 0),
    raw_refund_amount   JSONB CHECK (jsonb_typeof(raw_refund_amount) = 'object'),
    canceled_ts         TIMESTAMPTZ,
    status              JSONB NOT NULL DEFAULT '{"phase": "requested", "conditions": []}',
    labels              JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations         JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT order_claim_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('requested', 'completed', 'canceled', 'archived'), false)
    ),
    CONSTRAINT order_claim_display_id_key UNIQUE (display_id)
);
CREATE INDEX order_claim_labels_idx ON order_claim USING gin (labels);
CREATE INDEX order_claim_phase_idx ON order_claim ((status ->> 'phase'));
CREATE INDEX order_claim_order_uid_idx ON order_claim (order_uid);
CREATE INDEX order_claim_return_uid_idx ON order_claim (return_uid);
COMMENT ON TABLE order_claim IS 'A claim on an order for missing, damaged or wrong goods, settled by a refund or replacement items (Medusa''s order_claim).';
COMMENT ON COLUMN order_claim.display_id IS 'Human-facing claim number shown to staff and customers; unique, assigned by the application.';
COMMENT ON COLUMN order_claim.order_uid IS 'Order the claim is about. ref: order_header.uid';
COMMENT ON COLUMN order_claim.order_version IS 'Version of the order (order_change sequence) the claim was created against.';
COMMENT ON COLUMN order_claim.return_uid IS 'Return taking the claimed goods back, if any. ref: return_request.uid';
COMMENT ON COLUMN order_claim.claim_type IS 'How the claim is settled: refund the customer or send replacement items.';
COMMENT ON COLUMN order_claim.no_notification IS 'True to send the customer no notification about the claim.';
COMMENT ON COLUMN order_claim.refund_amount IS 'Amount refunded for a refund claim, in the order''s currency.';
COMMENT ON COLUMN order_claim.canceled_ts IS 'When the claim was canceled.';
COMMENT ON COLUMN order_claim.status IS 'Lifecycle: requested → completed; canceled ends it early, archived ends any. terminal: archived, canceled';

CREATE TABLE order_exchange (
    uid                 TEXT PRIMARY KEY CHECK (uid ~ '^oexc_[0-9A-HJKMNP-TV-Z]{26}$'),
    display_id          INTEGER NOT NULL CHECK (display_id > 0),
    order_uid           TEXT NOT NULL,
    order_version       INTEGER NOT NULL DEFAULT 1 CHECK (order_version >= 1),
    return_uid          TEXT,
    no_notification     BOOLEAN NOT NULL DEFAULT false,
    allow_backorder     BOOLEAN NOT NULL DEFAULT false,
    difference_due      NUMERIC(20, 4),
    raw_difference_due  JSONB CHECK (jsonb_typeof(raw_difference_due) = 'object'),
    canceled_ts         TIMESTAMPTZ,
    status              JSONB NOT NULL DEFAULT '{"phase": "requested", "conditions": []}',
    labels              JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations         JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT order_exchange_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('requested', 'completed', 'canceled', 'archived'), false)
    ),
    CONSTRAINT order_exchange_display_id_key UNIQUE (display_id)
);
CREATE INDEX order_exchange_labels_idx ON order_exchange USING gin (labels);
CREATE INDEX order_exchange_phase_idx ON order_exchange ((status ->> 'phase'));
CREATE INDEX order_exchange_order_uid_idx ON order_exchange (order_uid);
CREATE INDEX order_exchange_return_uid_idx ON order_exchange (return_uid);
COMMENT ON TABLE order_exchange IS 'An exchange of goods from an order for other goods: a return_request for what comes back plus new items sent out (Medusa''s order_exchange).';
COMMENT ON COLUMN order_exchange.display_id IS 'Human-facing exchange number shown to staff and customers; unique, assigned by the application.';
COMMENT ON COLUMN order_exchange.order_uid IS 'Order the exchange is made on. ref: order_header.uid';
COMMENT ON COLUMN order_exchange.order_version IS 'Version of the order (order_change sequence) the exchange was created against.';
COMMENT ON COLUMN order_exchange.return_uid IS 'Return taking the exchanged goods back. ref: return_request.uid';
COMMENT ON COLUMN order_exchange.no_notification IS 'True to send the customer no notification about the exchange.';
COMMENT ON COLUMN order_exchange.allow_backorder IS 'True when the new items may be sent even if out of stock.';
COMMENT ON COLUMN order_exchange.difference_due IS 'Amount the customer owes (positive) or is owed (negative) for the exchange, in the order''s currency.';
COMMENT ON COLUMN order_exchange.canceled_ts IS 'When the exchange was canceled.';
COMMENT ON COLUMN order_exchange.status IS 'Lifecycle: requested → completed; canceled ends it early, archived ends any. terminal: archived, canceled';
