
-- Module 01: Store
-- The store (the merchant running the platform), the currencies it sells in (store_currency) and its
-- sales channels (sales_channel: web shop, Shopify, POS, ...). A store points at its default region
-- (region), sales channel and stock location (stock_location); orders (order_header) and carts (cart)
-- name the store or sales channel they belong to. Sales channels reach stock locations and products
-- through link tables (link_sales_channel_stock_location, link_product_sales_channel).

CREATE TABLE store (
    uid                        TEXT PRIMARY KEY CHECK (uid ~ '^sto_[0-9A-HJKMNP-TV-Z]{26}$'),
    name                       TEXT NOT NULL,
    default_currency_code      TEXT NOT NULL CHECK (default_currency_code ~ '^[a-z]{3}$'),
    default_region_uid         TEXT,
    default_sales_channel_uid  TEXT,
    default_location_uid       TEXT,
    reporting_time_zone        TEXT NOT NULL DEFAULT 'UTC',
    status                     JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels                     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations                JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts                  TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts                  TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT store_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'archived'), false)
    )
);
CREATE INDEX store_labels_idx ON store USING gin (labels);
CREATE INDEX store_phase_idx ON store ((status ->> 'phase'));
CREATE INDEX store_default_region_uid_idx ON store (default_region_uid);
CREATE INDEX store_default_sales_channel_uid_idx ON store (default_sales_channel_uid);
CREATE INDEX store_default_location_uid_idx ON store (default_location_uid);
COMMENT ON TABLE store IS 'The merchant store (Medusa''s store). Holds store-wide defaults; usually a single row.';
COMMENT ON COLUMN store.name IS 'Display name of the store.';
COMMENT ON COLUMN store.default_currency_code IS 'ISO 4217 code (lower case) of the store''s default currency; also flagged is_default in store_currency.';
COMMENT ON COLUMN store.default_region_uid IS 'Region used when a cart or order does not name one. ref: region.uid';
COMMENT ON COLUMN store.default_sales_channel_uid IS 'Sales channel used when a cart or order does not name one. ref: sales_channel.uid';
COMMENT ON COLUMN store.default_location_uid IS 'Stock location used by default for inventory and fulfillment. ref: stock_location.uid';
COMMENT ON COLUMN store.reporting_time_zone IS 'IANA time zone name (e.g. Europe/Berlin) in which daily reports and analytics days are cut.';
COMMENT ON COLUMN store.status IS 'Lifecycle: active until archived (soft delete). terminal: archived';

CREATE TABLE store_currency (
    uid             TEXT PRIMARY KEY CHECK (uid ~ '^stcur_[0-9A-HJKMNP-TV-Z]{26}$'),
    store_uid       TEXT NOT NULL,
    currency_code   TEXT NOT NULL CHECK (currency_code ~ '^[a-z]{3}$'),
    is_default      BOOLEAN NOT NULL DEFAULT false,
    status          JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT store_currency_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'archived'), false)
    ),
    CONSTRAINT store_currency_store_currency_key UNIQUE (store_uid, currency_code)
);
CREATE INDEX store_currency_labels_idx ON store_currency USING gin (labels);
CREATE INDEX store_currency_phase_idx ON store_currency ((status ->> 'phase'));
COMMENT ON TABLE store_currency IS 'A currency the store sells in (Medusa''s store_currency). One row per store and currency.';
COMMENT ON COLUMN store_currency.store_uid IS 'Store that supports the currency. ref: store.uid';
COMMENT ON COLUMN store_currency.currency_code IS 'ISO 4217 currency code (lower case).';
COMMENT ON COLUMN store_currency.is_default IS 'True for the store''s default currency (at most one per store, enforced by the application).';
COMMENT ON COLUMN store_currency.status IS 'Lifecycle: active until archived (soft delete). terminal: archived';

CREATE TABLE sales_channel (
    uid             TEXT PRIMARY KEY CHECK (uid ~ '^sc_[0-9A-HJKMNP-TV-Z]{26}$'),
    name            TEXT NOT NULL,
    description     TEXT,
    is_disabled     BOOLEAN NOT NULL DEFAULT false,
    status          JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT sales_channel_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'archived'), false)
    )
);
CREATE INDEX sales_channel_labels_idx ON sales_channel USING gin (labels);
CREATE INDEX sales_channel_phase_idx ON sales_channel ((status ->> 'phase'));
CREATE INDEX sales_channel_name_idx ON sales_channel (name);
COMMENT ON TABLE sales_channel IS 'A sales channel (web shop, Shopify, POS, marketplace) through which products are sold (Medusa''s sales_channel).';
COMMENT ON COLUMN sales_channel.name IS 'Display name of the channel.';
COMMENT ON COLUMN sales_channel.description IS 'Free-text description for staff.';
COMMENT ON COLUMN sales_channel.is_disabled IS 'True when the channel temporarily accepts no new carts or orders.';
COMMENT ON COLUMN sales_channel.status IS 'Lifecycle: active until archived (soft delete). terminal: archived';
