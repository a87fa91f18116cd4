-- Module 17: Membership
-- Paid memberships sold to customers (module 05). A membership_plan sets price and billing interval,
-- membership_tier ranks members and carries membership_benefit perks (often backed by a promotion,
-- module 10). A membership is one customer's subscription; each billing period is a
-- membership_renewal with its order (order_header) and payment. link_customer_membership (module 14)
-- attaches further customers to a membership.

CREATE TABLE membership_plan (
    uid               TEXT PRIMARY KEY CHECK (uid ~ '^mplan_[0-9A-HJKMNP-TV-Z]{26}$'),
    code              TEXT NOT NULL CHECK (code ~ '^[a-z0-9][a-z0-9_-]{1,63}$'),
    name              TEXT NOT NULL,
    description       TEXT,
    product_uid       TEXT,
    billing_interval  TEXT NOT NULL CHECK (billing_interval IN ('month', 'year')),
    interval_count    INTEGER NOT NULL DEFAULT 1 CHECK (interval_count >= 1),
    price             NUMERIC(20, 4) NOT NULL CHECK (price >= 0),
    raw_price         JSONB NOT NULL CHECK (jsonb_typeof(raw_price) = 'object'),
    currency_code     TEXT NOT NULL CHECK (currency_code ~ '^[a-z]{3}$'),
    trial_days        INTEGER NOT NULL DEFAULT 0 CHECK (trial_days >= 0),
    status            JSONB NOT NULL DEFAULT '{"phase": "draft", "conditions": []}',
    labels            JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations       JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts         TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts         TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT membership_plan_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('draft', 'active', 'retired', 'archived'), false)
    ),
    CONSTRAINT membership_plan_code_key UNIQUE (code)
);
CREATE INDEX membership_plan_labels_idx ON membership_plan USING gin (labels);
CREATE INDEX membership_plan_phase_idx ON membership_plan ((status ->> 'phase'));
CREATE INDEX membership_plan_product_uid_idx ON membership_plan (product_uid);
COMMENT ON TABLE membership_plan IS 'A paid membership the brand sells to customers (e.g. a monthly or yearly club), with its price and billing interval. Customers subscribe through membership rows.';
COMMENT ON COLUMN membership_plan.code IS 'Unique machine code of the plan, e.g. club-yearly.';
COMMENT ON COLUMN membership_plan.name IS 'Plan name shown to customers and staff.';
COMMENT ON COLUMN membership_plan.description IS 'Description shown to customers.';
COMMENT ON COLUMN membership_plan.product_uid IS 'Product that sells the plan in the store (e.g. the Shopify subscription product), if any. ref: product.uid';
COMMENT ON COLUMN membership_plan.billing_interval IS 'Length of one billing period.';
COMMENT ON COLUMN membership_plan.interval_count IS 'Number of billing_interval units per period (e.g. 3 with month for quarterly).';
COMMENT ON COLUMN membership_plan.price IS 'Price charged per billing period.';
COMMENT ON COLUMN membership_plan.currency_code IS 'ISO 4217 currency code (lower case) of every amount on the row.';
COMMENT ON COLUMN membership_plan.trial_days IS 'Length of the free trial in days; 0 for none.';
COMMENT ON COLUMN membership_plan.status IS 'Lifecycle: draft → active; retired (closed to new members, existing ones keep renewing) or archived end it. terminal: archived, retired';

CREATE TABLE membership_tier (
    uid                   TEXT PRIMARY KEY CHECK (uid ~ '^mtier_[0-9A-HJKMNP-TV-Z]{26}$'),
    name                  TEXT NOT NULL,
    tier_rank             INTEGER NOT NULL CHECK (tier_rank >= 0),
    description           TEXT,
    qualifying_spend      NUMERIC(20, 4) CHECK (qualifying_spend >= 0),
    raw_qualifying_spend  JSONB CHECK (jsonb_typeof(raw_qualifying_spend) = 'object'),
    currency_code         TEXT NOT NULL CHECK (currency_code ~ '^[a-z]{3}$'),
    status                JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels                JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations           JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts             TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts             TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT membership_tier_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'retired', 'archived'), false)
    ),
    CONSTRAINT membership_tier_name_key UNIQUE (name),
    CONSTRAINT membership_tier_tier_rank_key UNIQUE (tier_rank)
);
CREATE INDEX membership_tier_labels_idx ON membership_tier USING gin (labels);
CREATE INDEX membership_tier_phase_idx ON membership_tier ((status ->> 'phase'));
COMMENT ON TABLE membership_tier IS 'A level of membership (e.g. Silver, Gold) that determines which membership_benefit rows a member gets; tiers are ordered by tier_rank.';
COMMENT ON COLUMN membership_tier.name IS 'Unique tier name shown to customers and staff.';
COMMENT ON COLUMN membership_tier.tier_rank IS 'Order of the tier: higher rank means a higher level; unique.';
COMMENT ON COLUMN membership_tier.description IS 'Description shown to customers.';
COMMENT ON COLUMN membership_tier.qualifying_spend IS 'Spend over the qualifying period that places a member in this tier; NULL when the tier is bought or assigned, not earned.';
COMMENT ON COLUMN membership_tier.currency_code IS 'ISO 4217 currency code (lower case) of every amount on the row.';
COMMENT ON COLUMN membership_tier.status IS 'Lifecycle: active; retired (no new members placed in it) or archived end it. terminal: archived, retired';

CREATE TABLE membership (
    uid                      TEXT PRIMARY KEY CHECK (uid ~ '^mem_[0-9A-HJKMNP-TV-Z]{26}$'),
    customer_uid             TEXT NOT NULL,
    plan_uid                 TEXT NOT NULL,
    tier_uid                 TEXT,
    publisher_uid            TEXT,
    external_id              TEXT,
    started_ts               TIMESTAMPTZ NOT NULL,
    current_period_start_ts  TIMESTAMPTZ NOT NULL,
    current_period_end_ts    TIMESTAMPTZ NOT NULL,
    cancel_at_period_end     BOOLEAN NOT NULL DEFAULT false,
    status                   JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels                   JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations              JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts                TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts                TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT membership_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('trialing', 'active', 'past_due', 'paused', 'canceled', 'expired', 'archived'), false)
    ),
    CONSTRAINT membership_period_check CHECK (current_period_end_ts > current_period_start_ts)
);
CREATE INDEX membership_labels_idx ON membership USING gin (labels);
CREATE INDEX membership_phase_idx ON membership ((status ->> 'phase'));
CREATE INDEX membership_customer_uid_idx ON membership (customer_uid);
CREATE INDEX membership_plan_uid_idx ON membership (plan_uid);
CREATE INDEX membership_tier_uid_idx ON membership (tier_uid);
CREATE INDEX membership_publisher_uid_idx ON membership (publisher_uid);
CREATE UNIQUE INDEX membership_external_id_key ON membership (external_id);
CREATE INDEX membership_current_period_end_ts_idx ON membership (current_period_end_ts);
COMMENT ON TABLE membership IS 'A customer''s subscription to a membership_plan at a membership_tier, with its current billing period. Renewals are membership_renewal rows; link_customer_membership links further customers (e.g. a household).';
COMMENT ON COLUMN membership.customer_uid IS 'Customer who holds the membership. ref: customer.uid';
COMMENT ON COLUMN membership.plan_uid IS 'Plan subscribed to. ref: membership_plan.uid';
COMMENT ON COLUMN membership.tier_uid IS 'Current tier of the member; NULL when the plan has no tiers. ref: membership_tier.uid';
COMMENT ON COLUMN membership.publisher_uid IS 'Publisher who referred the member, if any (for membership commissions). ref: publisher.uid';
COMMENT ON COLUMN membership.external_id IS 'Identifier of the subscription in the source system (Shopify subscription contract GID), when imported.';
COMMENT ON COLUMN membership.started_ts IS 'When the membership started.';
COMMENT ON COLUMN membership.current_period_start_ts IS 'Start of the current billing period.';
COMMENT ON COLUMN membership.current_period_end_ts IS 'End of the current billing period; the next renewal is due then.';
COMMENT ON COLUMN membership.cancel_at_period_end IS 'Whether the membership ends at current_period_end_ts instead of renewing.';
COMMENT ON COLUMN membership.status IS 'Lifecycle: trialing → active ⇄ past_due / paused; canceled (by the customer or staff), expired (not renewed) or archived end it. terminal: archived, canceled, expired';

CREATE TABLE membership_benefit (
    uid                TEXT PRIMARY KEY CHECK (uid ~ '^mben_[0-9A-HJKMNP-TV-Z]{26}$'),
    tier_uid           TEXT NOT NULL,
    name               TEXT NOT NULL,
    benefit_type       TEXT NOT NULL CHECK (benefit_type IN ('discount', 'free_shipping', 'early_access', 'exclusive_product', 'gift', 'points_multiplier')),
    discount_rate      NUMERIC(7, 4) CHECK (discount_rate BETWEEN 0 AND 100),
    points_multiplier  NUMERIC(6, 2) CHECK (points_multiplier > 0),
    promotion_uid      TEXT,
    product_uid        TEXT,
    description        TEXT,
    status             JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels             JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations        JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts          TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts          TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT membership_benefit_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'retired', 'archived'), false)
    )
);
CREATE INDEX membership_benefit_labels_idx ON membership_benefit USING gin (labels);
CREATE INDEX membership_benefit_phase_idx ON membership_benefit ((status ->> 'phase'));
CREATE INDEX membership_benefit_tier_uid_idx ON membership_benefit (tier_uid);
CREATE INDEX membership_benefit_promotion_uid_idx ON membership_benefit (promotion_uid);
CREATE INDEX membership_benefit_product_uid_idx ON membership_benefit (product_uid);
COMMENT ON TABLE membership_benefit IS 'A perk granted to members of a membership_tier: a discount, free shipping, early access, an exclusive product, a gift or a points multiplier. Discounts are implemented by a promotion.';
COMMENT ON COLUMN membership_benefit.tier_uid IS 'Tier whose members get the benefit. ref: membership_tier.uid';
COMMENT ON COLUMN membership_benefit.name IS 'Benefit name shown to customers.';
COMMENT ON COLUMN membership_benefit.benefit_type IS 'Kind of perk.';
COMMENT ON COLUMN membership_benefit.discount_rate IS 'Discount granted by a discount benefit; NULL for other kinds. unit: percent';
COMMENT ON COLUMN membership_benefit.points_multiplier IS 'Multiplier applied to loyalty points by a points_multiplier benefit; NULL for other kinds. unit: ratio';
COMMENT ON COLUMN membership_benefit.promotion_uid IS 'Promotion that implements the benefit at checkout, if any. ref: promotion.uid';
COMMENT ON COLUMN membership_benefit.product_uid IS 'Product the benefit concerns (exclusive product or gift), if any. ref: product.uid';
COMMENT ON COLUMN membership_benefit.description IS 'Description shown to customers.';
COMMENT ON COLUMN membership_benefit.status IS 'Lifecycle: active; retired (no longer granted) or archived end it. terminal: archived, retired';

CREATE TABLE membership_renewal (
    uid              TEXT PRIMARY KEY CHECK (uid ~ '^mren_[0-9A-HJKMNP-TV-Z]{26}$'),
    membership_uid   TEXT NOT NULL,
    order_uid        TEXT,
    payment_uid      TEXT,
    period_start_ts  TIMESTAMPTZ NOT NULL,
    period_end_ts    TIMESTAMPTZ NOT NULL,
    due_ts           TIMESTAMPTZ NOT NULL,
    amount           NUMERIC(20, 4) NOT NULL CHECK (amount >= 0),
    raw_amount       JSONB NOT NULL CHECK (jsonb_typeof(raw_amount) = 'object'),
    currency_code    TEXT NOT NULL CHECK (currency_code ~ '^[a-z]{3}$'),
    attempt_count    INTEGER NOT NULL DEFAULT 0 CHECK (attempt_count >= 0),
    renewed_ts       TIMESTAMPTZ,
    status           JSONB NOT NULL DEFAULT '{"phase": "scheduled", "conditions": []}',
    labels           JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations      JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts        TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts        TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT membership_renewal_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('scheduled', 'pending', 'succeeded', 'failed', 'canceled', 'archived'), false)
    ),
    CONSTRAINT membership_renewal_period_check CHECK (period_end_ts > period_start_ts),
    CONSTRAINT membership_renewal_membership_uid_period_start_ts_key UNIQUE (membership_uid, period_start_ts)
);
CREATE INDEX membership_renewal_labels_idx ON membership_renewal USING gin (labels);
CREATE INDEX membership_renewal_phase_idx ON membership_renewal ((status ->> 'phase'));
CREATE INDEX membership_renewal_order_uid_idx ON membership_renewal (order_uid);
CREATE INDEX membership_renewal_payment_uid_idx ON membership_renewal (payment_uid);
CREATE INDEX membership_renewal_due_ts_idx ON membership_renewal (due_ts);
COMMENT ON TABLE membership_renewal IS 'One billing-period renewal of a membership: the charge for the period, its order and payment.';
COMMENT ON COLUMN membership_renewal.membership_uid IS 'Membership being renewed. ref: membership.uid';
COMMENT ON COLUMN membership_renewal.order_uid IS 'Renewal order, once created. ref: order_header.uid';
COMMENT ON COLUMN membership_renewal.payment_uid IS 'Payment that settled the renewal, once captured. ref: payment.uid';
COMMENT ON COLUMN membership_renewal.period_start_ts IS 'Start of the billing period this renewal pays for.';
COMMENT ON COLUMN membership_renewal.period_end_ts IS 'End of the billing period this renewal pays for.';
COMMENT ON COLUMN membership_renewal.due_ts IS 'When the charge is due.';
COMMENT ON COLUMN membership_renewal.amount IS 'Amount charged for the period.';
COMMENT ON COLUMN membership_renewal.currency_code IS 'ISO 4217 currency code (lower case) of every amount on the row.';
COMMENT ON COLUMN membership_renewal.attempt_count IS 'Number of charge attempts made so far.';
COMMENT ON COLUMN membership_renewal.renewed_ts IS 'When the renewal succeeded; NULL until then.';
COMMENT ON COLUMN membership_renewal.status IS 'Lifecycle: scheduled → pending (charge attempted) → succeeded; failed (retries exhausted), canceled (membership ended first) or archived end it. terminal: canceled, archived, failed, succeeded';
