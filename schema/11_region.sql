-- Module 11: Region
-- Where and in what money the store sells, after Medusa v2's region and currency modules: a region is a
-- set of countries (region_country) sharing one currency (currency) and tax behaviour (tax_region rows of
-- module 12 by country code). Payment providers are enabled per region through
-- link_region_payment_provider; carts and orders carry the region's currency_code.

CREATE TABLE region (
    uid             TEXT PRIMARY KEY CHECK (uid ~ '^reg_[0-9A-HJKMNP-TV-Z]{26}$'),
    name            TEXT NOT NULL,
    currency_code   TEXT NOT NULL CHECK (currency_code ~ '^[a-z]{3}$'),
    automatic_taxes BOOLEAN NOT NULL DEFAULT true,
    status          JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT region_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'archived'), false)
    )
);
CREATE INDEX region_labels_idx ON region USING gin (labels);
CREATE INDEX region_phase_idx ON region ((status ->> 'phase'));
CREATE INDEX region_currency_code_idx ON region (currency_code);
CREATE INDEX region_name_idx ON region (name);
COMMENT ON TABLE region IS 'A selling region: countries that share a currency and tax settings (Medusa''s region); its countries are region_country rows.';
COMMENT ON COLUMN region.name IS 'Display name of the region, e.g. Europe.';
COMMENT ON COLUMN region.currency_code IS 'ISO 4217 currency code (lower case) prices and carts in the region use; matches currency.code.';
COMMENT ON COLUMN region.automatic_taxes IS 'True when taxes are computed automatically on carts in the region; false when checkout computes them on request.';
COMMENT ON COLUMN region.status IS 'Lifecycle: active; archived ends it. terminal: archived';

CREATE TABLE region_country (
    uid             TEXT PRIMARY KEY CHECK (uid ~ '^regcty_[0-9A-HJKMNP-TV-Z]{26}$'),
    iso_2           TEXT NOT NULL CHECK (iso_2 ~ '^[a-z]{2}$'),
    iso_3           TEXT NOT NULL CHECK (iso_3 ~ '^[a-z]{3}$'),
    num_code        TEXT NOT NULL CHECK (num_code ~ '^[0-9]{3}$'),
    name            TEXT NOT NULL,
    display_name    TEXT NOT NULL,
    region_uid      TEXT,
    status          JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT region_country_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'archived'), false)
    ),
    CONSTRAINT region_country_iso_2_key UNIQUE (iso_2)
);
CREATE INDEX region_country_labels_idx ON region_country USING gin (labels);
CREATE INDEX region_country_phase_idx ON region_country ((status ->> 'phase'));
CREATE INDEX region_country_region_uid_idx ON region_country (region_uid);
CREATE INDEX region_country_iso_3_idx ON region_country (iso_3);
COMMENT ON TABLE region_country IS 'A country (ISO 3166-1) and the region it belongs to (Medusa''s region_country); one row per country, seeded from ISO 3166, with region_uid NULL until assigned.';
COMMENT ON COLUMN region_country.iso_2 IS 'ISO 3166-1 alpha-2 code, lower case, e.g. us; unique.';
COMMENT ON COLUMN region_country.iso_3 IS 'ISO 3166-1 alpha-3 code, lower case, e.g. usa.';
COMMENT ON COLUMN region_country.num_code IS 'ISO 3166-1 numeric code as three digits, e.g. 840.';
COMMENT ON COLUMN region_country.name IS 'Upper-case ISO short name, e.g. UNITED STATES.';
COMMENT ON COLUMN region_country.display_name IS 'Name shown to people, e.g. United States.';
COMMENT ON COLUMN region_country.region_uid IS 'Region the country is sold in; NULL when in no region (a country is in at most one). ref: region.uid';
COMMENT ON COLUMN region_country.status IS 'Lifecycle: active; archived ends it. terminal: archived';

CREATE TABLE currency (
    uid             TEXT PRIMARY KEY CHECK (uid ~ '^cur_[0-9A-HJKMNP-TV-Z]{26}$'),
    code            TEXT NOT NULL CHECK (code ~ '^[a-z]{3}$'),
    symbol          TEXT NOT NULL,
    symbol_native   TEXT NOT NULL,
    name            TEXT NOT NULL,
    decimal_digits  INTEGER NOT NULL DEFAULT 2 CHECK (decimal_digits BETWEEN 0 AND 4),
    rounding        NUMERIC(20, 4) NOT NULL DEFAULT 0 CHECK (rounding >= 0),
    status          JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT currency_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'archived'), false)
    ),
    CONSTRAINT currency_code_key UNIQUE (code)
);
CREATE INDEX currency_labels_idx ON currency USING gin (labels);
CREATE INDEX currency_phase_idx ON currency ((status ->> 'phase'));
COMMENT ON TABLE currency IS 'An ISO 4217 currency the platform can price in (Medusa''s currency); seeded reference data, referred to by code from currency_code columns.';
COMMENT ON COLUMN currency.code IS 'ISO 4217 code, lower case, e.g. usd; unique.';
COMMENT ON COLUMN currency.symbol IS 'International symbol, e.g. US$.';
COMMENT ON COLUMN currency.symbol_native IS 'Symbol used in the currency''s home market, e.g. $.';
COMMENT ON COLUMN currency.name IS 'English name, e.g. US Dollar.';
COMMENT ON COLUMN currency.decimal_digits IS 'Number of minor-unit digits amounts are shown with, e.g. 2 for usd, 0 for jpy.';
COMMENT ON COLUMN currency.rounding IS 'Rounding increment for cash amounts, e.g. 0.05 for chf; 0 for none. unit: currency units';
COMMENT ON COLUMN currency.status IS 'Lifecycle: active; archived ends it. terminal: archived';
