
-- Module 03: Pricing
-- Prices after Medusa v2's pricing module: a price_set groups the prices of one priced thing (a
-- product_variant through link_product_variant_price_set, a shipping_option through
-- link_shipping_option_price_set); each price is an amount in one currency, optionally limited by
-- quantity, by price_rule rows (region, customer group, ...) and by a price_list (sales and overrides).

CREATE TABLE price_set (
    uid             TEXT PRIMARY KEY CHECK (uid ~ '^pset_[0-9A-HJKMNP-TV-Z]{26}$'),
    title           TEXT,
    status          JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT price_set_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'archived'), false)
    )
);
CREATE INDEX price_set_labels_idx ON price_set USING gin (labels);
CREATE INDEX price_set_phase_idx ON price_set ((status ->> 'phase'));
COMMENT ON TABLE price_set IS 'A set of alternative prices for one priced thing (Medusa''s price_set); the applicable price is chosen by currency, quantity and rules.';
COMMENT ON COLUMN price_set.title IS 'Optional staff-facing name of the set.';
COMMENT ON COLUMN price_set.status IS 'Lifecycle: active until archived (soft delete). terminal: archived';

CREATE TABLE price (
    uid             TEXT PRIMARY KEY CHECK (uid ~ '^price_[0-9A-HJKMNP-TV-Z]{26}$'),
    price_set_uid   TEXT NOT NULL,
    price_list_uid  TEXT,
    title           TEXT,
    currency_code   TEXT NOT NULL CHECK (currency_code ~ '^[a-z]{3}$'),
    amount          NUMERIC(20, 4) NOT NULL,
    raw_amount      JSONB NOT NULL CHECK (jsonb_typeof(raw_amount) = 'object'),
    min_quantity    INTEGER CHECK (min_quantity >= 0),
    max_quantity    INTEGER CHECK (max_quantity >= 0),
    rules_count     INTEGER NOT NULL DEFAULT 0 CHECK (rules_count >= 0),
    status          JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT price_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'archived'), false)
    )
);
CREATE INDEX price_labels_idx ON price USING gin (labels);
CREATE INDEX price_phase_idx ON price ((status ->> 'phase'));
CREATE INDEX price_price_set_uid_idx ON price (price_set_uid);
CREATE INDEX price_price_list_uid_idx ON price (price_list_uid);
CREATE INDEX price_currency_code_idx ON price (currency_code);
COMMENT ON TABLE price IS 'One price in one currency within a price_set (Medusa''s price).';
COMMENT ON COLUMN price.price_set_uid IS 'Price set the price belongs to. ref: price_set.uid';
COMMENT ON COLUMN price.price_list_uid IS 'Price list the price belongs to; NULL for a base price. ref: price_list.uid';
COMMENT ON COLUMN price.title IS 'Optional staff-facing name.';
COMMENT ON COLUMN price.currency_code IS 'ISO 4217 currency code (lower case) of amount.';
COMMENT ON COLUMN price.amount IS 'The price of one unit.';
COMMENT ON COLUMN price.min_quantity IS 'Smallest cart quantity the price applies to; NULL for no lower bound.';
COMMENT ON COLUMN price.max_quantity IS 'Largest cart quantity the price applies to; NULL for no upper bound.';
COMMENT ON COLUMN price.rules_count IS 'Number of price_rule rows of the price (all must match).';
COMMENT ON COLUMN price.status IS 'Lifecycle: active until archived (soft delete). terminal: archived';

CREATE TABLE price_list (
    uid             TEXT PRIMARY KEY CHECK (uid ~ '^plist_[0-9A-HJKMNP-TV-Z]{26}$'),
    title           TEXT NOT NULL,
    description     TEXT,
    list_type       TEXT NOT NULL DEFAULT 'sale' CHECK (list_type IN ('sale', 'override')),
    starts_ts       TIMESTAMPTZ,
    ends_ts         TIMESTAMPTZ,
    rules           JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(rules) = 'object'),
    rules_count     INTEGER NOT NULL DEFAULT 0 CHECK (rules_count >= 0),
    status          JSONB NOT NULL DEFAULT '{"phase": "draft", "conditions": []}',
    labels          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT price_list_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('draft', 'active', 'archived'), false)
    )
);
CREATE INDEX price_list_labels_idx ON price_list USING gin (labels);
CREATE INDEX price_list_phase_idx ON price_list ((status ->> 'phase'));
CREATE INDEX price_list_starts_ts_idx ON price_list (starts_ts);
COMMENT ON TABLE price_list IS 'A named list of sale or override prices valid for a period (Medusa''s price_list).';
COMMENT ON COLUMN price_list.title IS 'Name of the list.';
COMMENT ON COLUMN price_list.description IS 'Free-text description.';
COMMENT ON COLUMN price_list.list_type IS 'sale shows the price as a discount from the base price; override replaces it.';
COMMENT ON COLUMN price_list.starts_ts IS 'When the list starts to apply; NULL for immediately.';
COMMENT ON COLUMN price_list.ends_ts IS 'When the list stops applying; NULL for never.';
COMMENT ON COLUMN price_list.rules IS 'Conditions for the whole list: object mapping an attribute (e.g. customer_group_uid, region_uid) to an array of accepted values.';
COMMENT ON COLUMN price_list.rules_count IS 'Number of attributes in rules.';
COMMENT ON COLUMN price_list.status IS 'Lifecycle: draft → active; archived ends it. terminal: archived';

CREATE TABLE price_rule (
    uid             TEXT PRIMARY KEY CHECK (uid ~ '^prule_[0-9A-HJKMNP-TV-Z]{26}$'),
    price_uid       TEXT NOT NULL,
    attribute       TEXT NOT NULL,
    operator        TEXT NOT NULL DEFAULT 'eq' CHECK (operator IN ('eq', 'gt', 'gte', 'lt', 'lte')),
    value           TEXT NOT NULL,
    priority        INTEGER NOT NULL DEFAULT 0,
    status          JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT price_rule_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'archived'), false)
    )
);
CREATE INDEX price_rule_labels_idx ON price_rule USING gin (labels);
CREATE INDEX price_rule_phase_idx ON price_rule ((status ->> 'phase'));
CREATE INDEX price_rule_price_uid_idx ON price_rule (price_uid);
CREATE INDEX price_rule_attribute_value_idx ON price_rule (attribute, value);
COMMENT ON TABLE price_rule IS 'A condition under which a price applies, e.g. region_uid = reg_... (Medusa''s price_rule).';
COMMENT ON COLUMN price_rule.price_uid IS 'Price the rule restricts. ref: price.uid';
COMMENT ON COLUMN price_rule.attribute IS 'Context attribute tested, e.g. region_uid or customer_group_uid.';
COMMENT ON COLUMN price_rule.operator IS 'Comparison between the context value and value.';
COMMENT ON COLUMN price_rule.value IS 'Value compared against the context attribute.';
COMMENT ON COLUMN price_rule.priority IS 'Higher priority rules win when several prices match.';
COMMENT ON COLUMN price_rule.status IS 'Lifecycle: active until archived (soft delete). terminal: archived';
