-- Module 12: Tax
-- Tax configuration, after Medusa v2's tax module: a tax_region per country (and optionally per province,
-- under its country's row) computed by a tax_provider, its tax_rate rows (one default, others that
-- override it), and tax_rate_rule rows that make an override apply to given products, product types or
-- shipping options. Cart and order tax lines (modules 06, 07) record the rates applied.

CREATE TABLE tax_provider (
    uid             TEXT PRIMARY KEY CHECK (uid ~ '^txprov_[0-9A-HJKMNP-TV-Z]{26}$'),
    provider_key    TEXT NOT NULL CHECK (provider_key ~ '^[a-z0-9][a-z0-9_-]*$'),
    name            TEXT NOT NULL,
    status          JSONB NOT NULL DEFAULT '{"phase": "enabled", "conditions": []}',
    labels          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT tax_provider_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('enabled', 'disabled', 'archived'), false)
    ),
    CONSTRAINT tax_provider_provider_key_key UNIQUE (provider_key)
);
CREATE INDEX tax_provider_labels_idx ON tax_provider USING gin (labels);
CREATE INDEX tax_provider_phase_idx ON tax_provider ((status ->> 'phase'));
COMMENT ON TABLE tax_provider IS 'A tax calculation provider registered with the platform (Medusa''s tax_provider): the built-in system provider or an external tax service.';
COMMENT ON COLUMN tax_provider.provider_key IS 'Registration key of the provider in application code, e.g. tp_system; Medusa''s provider id.';
COMMENT ON COLUMN tax_provider.name IS 'Display name shown to staff.';
COMMENT ON COLUMN tax_provider.status IS 'Lifecycle: enabled ⇄ disabled; archived ends it. terminal: archived';

CREATE TABLE tax_region (
    uid             TEXT PRIMARY KEY CHECK (uid ~ '^txreg_[0-9A-HJKMNP-TV-Z]{26}$'),
    country_code    TEXT NOT NULL CHECK (country_code ~ '^[a-z]{2}$'),
    province_code   TEXT,
    parent_uid      TEXT,
    provider_uid    TEXT,
    status          JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT tax_region_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'archived'), false)
    ),
    CONSTRAINT tax_region_country_code_key UNIQUE NULLS NOT DISTINCT (country_code, province_code)
);
CREATE INDEX tax_region_labels_idx ON tax_region USING gin (labels);
CREATE INDEX tax_region_phase_idx ON tax_region ((status ->> 'phase'));
CREATE INDEX tax_region_parent_uid_idx ON tax_region (parent_uid);
CREATE INDEX tax_region_provider_uid_idx ON tax_region (provider_uid);
COMMENT ON TABLE tax_region IS 'Where a set of tax rates applies: a country, or a province of it under the country''s row (Medusa''s tax_region). One row per (country_code, province_code).';
COMMENT ON COLUMN tax_region.country_code IS 'ISO 3166-1 alpha-2 country code, lower case.';
COMMENT ON COLUMN tax_region.province_code IS 'ISO 3166-2 subdivision code, lower case (e.g. us-ca); NULL for the country-level region.';
COMMENT ON COLUMN tax_region.parent_uid IS 'Country-level region a province region belongs to; NULL for country-level regions. ref: tax_region.uid';
COMMENT ON COLUMN tax_region.provider_uid IS 'Tax provider that computes taxes in the region; NULL to inherit the parent''s or use the system provider. ref: tax_provider.uid';
COMMENT ON COLUMN tax_region.status IS 'Lifecycle: active; archived ends it. terminal: archived';

CREATE TABLE tax_rate (
    uid             TEXT PRIMARY KEY CHECK (uid ~ '^txr_[0-9A-HJKMNP-TV-Z]{26}$'),
    tax_region_uid  TEXT NOT NULL,
    rate            NUMERIC(9, 4) CHECK (rate >= 0),
    code            TEXT NOT NULL,
    name            TEXT NOT NULL,
    is_default      BOOLEAN NOT NULL DEFAULT false,
    is_combinable   BOOLEAN NOT NULL DEFAULT false,
    status          JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT tax_rate_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'archived'), false)
    )
);
CREATE INDEX tax_rate_labels_idx ON tax_rate USING gin (labels);
CREATE INDEX tax_rate_phase_idx ON tax_rate ((status ->> 'phase'));
CREATE INDEX tax_rate_tax_region_uid_idx ON tax_rate (tax_region_uid);
CREATE INDEX tax_rate_code_idx ON tax_rate (code);
COMMENT ON TABLE tax_rate IS 'A tax rate of a tax region (Medusa''s tax_rate): the region''s default rate, or an override that applies through tax_rate_rule rows.';
COMMENT ON COLUMN tax_rate.tax_region_uid IS 'Tax region the rate belongs to. ref: tax_region.uid';
COMMENT ON COLUMN tax_rate.rate IS 'Rate, e.g. 19.0000 for 19 %; NULL when the provider determines it. unit: percent';
COMMENT ON COLUMN tax_rate.code IS 'Tax code sent to providers and shown on tax lines, e.g. VAT19.';
COMMENT ON COLUMN tax_rate.name IS 'Display name of the rate, e.g. Standard VAT.';
COMMENT ON COLUMN tax_rate.is_default IS 'True for the region''s default rate (one per region, enforced by the application).';
COMMENT ON COLUMN tax_rate.is_combinable IS 'True when a province override adds to the parent country''s rate instead of replacing it.';
COMMENT ON COLUMN tax_rate.status IS 'Lifecycle: active; archived ends it. terminal: archived';

CREATE TABLE tax_rate_rule (
    uid                 TEXT PRIMARY KEY CHECK (uid ~ '^txrr_[0-9A-HJKMNP-TV-Z]{26}$'),
    tax_rate_uid        TEXT NOT NULL,
    product_uid         TEXT,
    product_type_uid    TEXT,
    shipping_option_uid TEXT,
    status              JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels              JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations         JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT tax_rate_rule_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'archived'), false)
    ),
    CONSTRAINT tax_rate_rule_one_target_check CHECK (num_nonnulls(product_uid, product_type_uid, shipping_option_uid) = 1),
    CONSTRAINT tax_rate_rule_product_uid_key UNIQUE (product_uid, tax_rate_uid),
    CONSTRAINT tax_rate_rule_product_type_uid_key UNIQUE (product_type_uid, tax_rate_uid),
    CONSTRAINT tax_rate_rule_shipping_option_uid_key UNIQUE (shipping_option_uid, tax_rate_uid)
);
CREATE INDEX tax_rate_rule_labels_idx ON tax_rate_rule USING gin (labels);
CREATE INDEX tax_rate_rule_phase_idx ON tax_rate_rule ((status ->> 'phase'));
CREATE INDEX tax_rate_rule_tax_rate_uid_idx ON tax_rate_rule (tax_rate_uid);
COMMENT ON TABLE tax_rate_rule IS 'Makes an override tax rate apply to one product, product type or shipping option (Medusa''s tax_rate_rule; its polymorphic reference split into three columns, exactly one set).';
COMMENT ON COLUMN tax_rate_rule.tax_rate_uid IS 'Override rate the rule belongs to. ref: tax_rate.uid';
COMMENT ON COLUMN tax_rate_rule.product_uid IS 'Product the rate applies to, when the rule targets a product. ref: product.uid';
COMMENT ON COLUMN tax_rate_rule.product_type_uid IS 'Product type the rate applies to, when the rule targets a product type. ref: product_type.uid';
COMMENT ON COLUMN tax_rate_rule.shipping_option_uid IS 'Shipping option the rate applies to, when the rule targets shipping. ref: shipping_option.uid';
COMMENT ON COLUMN tax_rate_rule.status IS 'Lifecycle: active; archived ends it. terminal: archived';
