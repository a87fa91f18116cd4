
-- Module 04: Inventory
-- Stock after Medusa v2's inventory and stock-location modules: stock locations (stock_location, with
-- their address inline), stock-keeping items (inventory_item, reached from product_variant through
-- link_product_variant_inventory_item), their stock per location (inventory_level) and reservations
-- held for order lines (reservation_item -> order_line_item). Locations reach sales channels and
-- fulfillment through link tables.

CREATE TABLE stock_location (
    uid             TEXT PRIMARY KEY CHECK (uid ~ '^sloc_[0-9A-HJKMNP-TV-Z]{26}$'),
    name            TEXT NOT NULL,
    address_1       TEXT,
    address_2       TEXT,
    company         TEXT,
    city            TEXT,
    country_code    TEXT CHECK (country_code ~ '^[a-z]{2}$'),
    province        TEXT,
    postal_code     TEXT,
    phone           TEXT,
    status          JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT stock_location_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'archived'), false)
    )
);
CREATE INDEX stock_location_labels_idx ON stock_location USING gin (labels);
CREATE INDEX stock_location_phase_idx ON stock_location ((status ->> 'phase'));
CREATE INDEX stock_location_name_idx ON stock_location (name);
COMMENT ON TABLE stock_location IS 'A warehouse or other place that holds stock (Medusa''s stock_location with its stock_location_address inline).';
COMMENT ON COLUMN stock_location.name IS 'Name of the location.';
COMMENT ON COLUMN stock_location.address_1 IS 'First address line (street and number).';
COMMENT ON COLUMN stock_location.address_2 IS 'Second address line.';
COMMENT ON COLUMN stock_location.company IS 'Company name on the address.';
COMMENT ON COLUMN stock_location.city IS 'City or locality.';
COMMENT ON COLUMN stock_location.country_code IS 'ISO 3166-1 alpha-2 country code (lower case).';
COMMENT ON COLUMN stock_location.province IS 'Province, state or region code.';
COMMENT ON COLUMN stock_location.postal_code IS 'Postal or ZIP code.';
COMMENT ON COLUMN stock_location.phone IS 'Phone number of the location.';
COMMENT ON COLUMN stock_location.status IS 'Lifecycle: active until archived (soft delete). terminal: archived';

CREATE TABLE inventory_item (
    uid                TEXT PRIMARY KEY CHECK (uid ~ '^iitem_[0-9A-HJKMNP-TV-Z]{26}$'),
    sku                TEXT,
    title              TEXT,
    description        TEXT,
    thumbnail          TEXT,
    requires_shipping  BOOLEAN NOT NULL DEFAULT true,
    weight             NUMERIC(12, 3),
    length             NUMERIC(12, 3),
    height             NUMERIC(12, 3),
    width              NUMERIC(12, 3),
    hs_code            TEXT,
    mid_code           TEXT,
    origin_country     TEXT CHECK (origin_country ~ '^[a-z]{2}$'),
    material           TEXT,
    status             JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels             JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations        JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts          TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts          TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT inventory_item_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'archived'), false)
    )
);
CREATE INDEX inventory_item_labels_idx ON inventory_item USING gin (labels);
CREATE INDEX inventory_item_phase_idx ON inventory_item ((status ->> 'phase'));
CREATE UNIQUE INDEX inventory_item_sku_key ON inventory_item (sku);
COMMENT ON TABLE inventory_item IS 'A stock-keeping item whose quantity is tracked per location (Medusa''s inventory_item).';
COMMENT ON COLUMN inventory_item.sku IS 'Stock keeping unit; unique over all items.';
COMMENT ON COLUMN inventory_item.title IS 'Item name.';
COMMENT ON COLUMN inventory_item.description IS 'Free-text description.';
COMMENT ON COLUMN inventory_item.thumbnail IS 'URL of a thumbnail image.';
COMMENT ON COLUMN inventory_item.requires_shipping IS 'False for items that are never shipped (digital goods, services).';
COMMENT ON COLUMN inventory_item.weight IS 'Shipping weight of the item. unit: grams';
COMMENT ON COLUMN inventory_item.length IS 'Length of the item. unit: millimeters';
COMMENT ON COLUMN inventory_item.height IS 'Height of the item. unit: millimeters';
COMMENT ON COLUMN inventory_item.width IS 'Width of the item. unit: millimeters';
COMMENT ON COLUMN inventory_item.hs_code IS 'Harmonized System customs code.';
COMMENT ON COLUMN inventory_item.mid_code IS 'Manufacturer identification code for US customs.';
COMMENT ON COLUMN inventory_item.origin_country IS 'ISO 3166-1 alpha-2 country of origin (lower case), for customs.';
COMMENT ON COLUMN inventory_item.material IS 'Material, for customs and display.';
COMMENT ON COLUMN inventory_item.status IS 'Lifecycle: active until archived (soft delete). terminal: archived';

CREATE TABLE inventory_level (
    uid                 TEXT PRIMARY KEY CHECK (uid ~ '^ilev_[0-9A-HJKMNP-TV-Z]{26}$'),
    inventory_item_uid  TEXT NOT NULL,
    location_uid        TEXT NOT NULL,
    stocked_quantity    INTEGER NOT NULL DEFAULT 0 CHECK (stocked_quantity >= 0),
    reserved_quantity   INTEGER NOT NULL DEFAULT 0 CHECK (reserved_quantity >= 0),
    incoming_quantity   INTEGER NOT NULL DEFAULT 0 CHECK (incoming_quantity >= 0),
    status              JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels              JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations         JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT inventory_level_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'archived'), false)
    ),
    CONSTRAINT inventory_level_item_location_key UNIQUE (inventory_item_uid, location_uid)
);
CREATE INDEX inventory_level_labels_idx ON inventory_level USING gin (labels);
CREATE INDEX inventory_level_phase_idx ON inventory_level ((status ->> 'phase'));
CREATE INDEX inventory_level_location_uid_idx ON inventory_level (location_uid);
COMMENT ON TABLE inventory_level IS 'Stock of one inventory item at one stock location (Medusa''s inventory_level). Available = stocked - reserved.';
COMMENT ON COLUMN inventory_level.inventory_item_uid IS 'The item. ref: inventory_item.uid';
COMMENT ON COLUMN inventory_level.location_uid IS 'The location. ref: stock_location.uid';
COMMENT ON COLUMN inventory_level.stocked_quantity IS 'Units physically on hand.';
COMMENT ON COLUMN inventory_level.reserved_quantity IS 'Units reserved for orders not yet fulfilled (sum of reservation_item).';
COMMENT ON COLUMN inventory_level.incoming_quantity IS 'Units expected to arrive (purchase orders, transfers).';
COMMENT ON COLUMN inventory_level.status IS 'Lifecycle: active until archived (soft delete). terminal: archived';

CREATE TABLE reservation_item (
    uid                 TEXT PRIMARY KEY CHECK (uid ~ '^resv_[0-9A-HJKMNP-TV-Z]{26}$'),
    inventory_item_uid  TEXT NOT NULL,
    location_uid        TEXT NOT NULL,
    line_item_uid       TEXT,
    quantity            INTEGER NOT NULL CHECK (quantity > 0),
    external_id         TEXT,
    description         TEXT,
    allow_backorder     BOOLEAN NOT NULL DEFAULT false,
    created_by_uid      TEXT,
    status              JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels              JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations         JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT reservation_item_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'released', 'consumed'), false)
    )
);
CREATE INDEX reservation_item_labels_idx ON reservation_item USING gin (labels);
CREATE INDEX reservation_item_phase_idx ON reservation_item ((status ->> 'phase'));
CREATE INDEX reservation_item_inventory_item_uid_idx ON reservation_item (inventory_item_uid);
CREATE INDEX reservation_item_location_uid_idx ON reservation_item (location_uid);
CREATE INDEX reservation_item_line_item_uid_idx ON reservation_item (line_item_uid);
CREATE INDEX reservation_item_created_by_uid_idx ON reservation_item (created_by_uid);
COMMENT ON TABLE reservation_item IS 'Units of an inventory item held at a location for an order line until fulfilled (Medusa''s reservation_item).';
COMMENT ON COLUMN reservation_item.inventory_item_uid IS 'The reserved item. ref: inventory_item.uid';
COMMENT ON COLUMN reservation_item.location_uid IS 'Location the units are reserved at. ref: stock_location.uid';
COMMENT ON COLUMN reservation_item.line_item_uid IS 'Order line the reservation is for; NULL for a manual reservation. ref: order_line_item.uid';
COMMENT ON COLUMN reservation_item.quantity IS 'Units reserved.';
COMMENT ON COLUMN reservation_item.external_id IS 'Identifier of the reservation in an external system.';
COMMENT ON COLUMN reservation_item.description IS 'Free-text reason, e.g. for a manual reservation.';
COMMENT ON COLUMN reservation_item.allow_backorder IS 'True if the reservation may exceed available stock.';
COMMENT ON COLUMN reservation_item.created_by_uid IS 'Staff user who created a manual reservation. ref: user_account.uid';
COMMENT ON COLUMN reservation_item.status IS 'Lifecycle: active until consumed by a fulfillment or released (canceled, deleted). terminal: released, consumed';
