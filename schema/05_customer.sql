
-- Module 05: Customer
-- Customers after Medusa v2's customer module: customer (registered or guest), their saved addresses
-- (customer_address) and customer groups (customer_group; membership through
-- link_customer_customer_group). Orders (order_header) and carts (cart) point at the customer.

CREATE TABLE customer (
    uid             TEXT PRIMARY KEY CHECK (uid ~ '^cus_[0-9A-HJKMNP-TV-Z]{26}$'),
    email           TEXT,
    first_name      TEXT,
    last_name       TEXT,
    phone           TEXT,
    company_name    TEXT,
    has_account     BOOLEAN NOT NULL DEFAULT false,
    external_id     TEXT,
    created_by_uid  TEXT,
    status          JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT customer_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'archived'), false)
    )
);
CREATE INDEX customer_labels_idx ON customer USING gin (labels);
CREATE INDEX customer_phase_idx ON customer ((status ->> 'phase'));
CREATE INDEX customer_created_by_uid_idx ON customer (created_by_uid);
CREATE INDEX customer_email_idx ON customer (email);
CREATE INDEX customer_name_idx ON customer (last_name, first_name);
CREATE UNIQUE INDEX customer_external_id_key ON customer (external_id);
COMMENT ON TABLE customer IS 'A customer, registered or guest (Medusa''s customer).';
COMMENT ON COLUMN customer.email IS 'Email address (stored lower case).';
COMMENT ON COLUMN customer.first_name IS 'Given name.';
COMMENT ON COLUMN customer.last_name IS 'Family name.';
COMMENT ON COLUMN customer.phone IS 'Phone number, free form.';
COMMENT ON COLUMN customer.company_name IS 'Company name for business customers.';
COMMENT ON COLUMN customer.has_account IS 'True if the customer registered an account; false for guests.';
COMMENT ON COLUMN customer.external_id IS 'Identifier of the customer in the source system (Shopify customer GID).';
COMMENT ON COLUMN customer.created_by_uid IS 'Staff user who created the customer, if created by staff. ref: user_account.uid';
COMMENT ON COLUMN customer.status IS 'Lifecycle: active until archived (soft delete). terminal: archived';

CREATE TABLE customer_address (
    uid                  TEXT PRIMARY KEY CHECK (uid ~ '^cuaddr_[0-9A-HJKMNP-TV-Z]{26}$'),
    customer_uid         TEXT NOT NULL,
    address_name         TEXT,
    is_default_shipping  BOOLEAN NOT NULL DEFAULT false,
    is_default_billing   BOOLEAN NOT NULL DEFAULT false,
    first_name           TEXT,
    last_name            TEXT,
    company              TEXT,
    address_1            TEXT,
    address_2            TEXT,
    city                 TEXT,
    country_code         TEXT CHECK (country_code ~ '^[a-z]{2}$'),
    province             TEXT,
    postal_code          TEXT,
    phone                TEXT,
    status               JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels               JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts            TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts            TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT customer_address_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'archived'), false)
    )
);
CREATE INDEX customer_address_labels_idx ON customer_address USING gin (labels);
CREATE INDEX customer_address_phase_idx ON customer_address ((status ->> 'phase'));
CREATE INDEX customer_address_customer_uid_idx ON customer_address (customer_uid);
COMMENT ON TABLE customer_address IS 'A saved address of a customer (Medusa''s customer_address).';
COMMENT ON COLUMN customer_address.customer_uid IS 'Customer the address belongs to. ref: customer.uid';
COMMENT ON COLUMN customer_address.address_name IS 'Customer-chosen label, e.g. Home.';
COMMENT ON COLUMN customer_address.is_default_shipping IS 'True for the customer''s default shipping address.';
COMMENT ON COLUMN customer_address.is_default_billing IS 'True for the customer''s default billing address.';
COMMENT ON COLUMN customer_address.first_name IS 'Given name of the addressee.';
COMMENT ON COLUMN customer_address.last_name IS 'Family name of the addressee.';
COMMENT ON COLUMN customer_address.company IS 'Company name on the address.';
COMMENT ON COLUMN customer_address.address_1 IS 'First address line (street and number).';
COMMENT ON COLUMN customer_address.address_2 IS 'Second address line (apartment, suite, ...).';
COMMENT ON COLUMN customer_address.city IS 'City or locality.';
COMMENT ON COLUMN customer_address.country_code IS 'ISO 3166-1 alpha-2 country code (lower case).';
COMMENT ON COLUMN customer_address.province IS 'Province, state or region code (ISO 3166-2 subdivision where known).';
COMMENT ON COLUMN customer_address.postal_code IS 'Postal or ZIP code.';
COMMENT ON COLUMN customer_address.phone IS 'Phone number at the address, free form.';
COMMENT ON COLUMN customer_address.status IS 'Lifecycle: active until archived (soft delete). terminal: archived';

CREATE TABLE customer_group (
    uid             TEXT PRIMARY KEY CHECK (uid ~ '^cusgrp_[0-9A-HJKMNP-TV-Z]{26}$'),
    name            TEXT NOT NULL,
    created_by_uid  TEXT,
    status          JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT customer_group_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'archived'), false)
    ),
    CONSTRAINT customer_group_name_key UNIQUE (name)
);
CREATE INDEX customer_group_labels_idx ON customer_group USING gin (labels);
CREATE INDEX customer_group_phase_idx ON customer_group ((status ->> 'phase'));
CREATE INDEX customer_group_created_by_uid_idx ON customer_group (created_by_uid);
COMMENT ON TABLE customer_group IS 'A named group of customers, e.g. VIP or Wholesale, used by price rules and promotions (Medusa''s customer_group).';
COMMENT ON COLUMN customer_group.name IS 'Group name, unique.';
COMMENT ON COLUMN customer_group.created_by_uid IS 'Staff user who created the group. ref: user_account.uid';
COMMENT ON COLUMN customer_group.status IS 'Lifecycle: active until archived (soft delete). terminal: archived';
