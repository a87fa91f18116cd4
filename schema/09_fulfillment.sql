-- Module 09: Fulfillment
-- How goods leave (and come back to) a stock location, after Medusa v2's fulfillment module:
-- fulfillment_provider (the carriers/integrations), fulfillment_set and service_zone / geo_zone
-- (where a location ships or offers pickup), shipping_profile and shipping_option (what a customer can
-- pick at checkout; its price lives in price_set through link_shipping_option_price_set), and the
-- fulfillment itself with its fulfillment_item and fulfillment_label rows. A fulfillment ships lines of
-- an order_header (mirrored by link_order_fulfillment) or of a return_request (link_return_request_fulfillment)
-- from a stock_location (links to fulfillment sets and providers: link_stock_location_fulfillment_set,
-- link_stock_location_fulfillment_provider). fulfillment_daily_summary holds the per-day, per-location
-- success/failure counts that fulfillment staff watch.

CREATE TABLE fulfillment_provider (
    uid             TEXT PRIMARY KEY CHECK (uid ~ '^fuprov_[0-9A-HJKMNP-TV-Z]{26}$'),
    provider_key    TEXT NOT NULL CHECK (provider_key ~ '^[a-z0-9][a-z0-9_-]*$'),
    name            TEXT NOT NULL,
    status          JSONB NOT NULL DEFAULT '{"phase": "enabled", "conditions": []}',
    labels          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT fulfillment_provider_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('enabled', 'disabled', 'archived'), false)
    ),
    CONSTRAINT fulfillment_provider_provider_key_key UNIQUE (provider_key)
);
CREATE INDEX fulfillment_provider_labels_idx ON fulfillment_provider USING gin (labels);
CREATE INDEX fulfillment_provider_phase_idx ON fulfillment_provider ((status ->> 'phase'));
COMMENT ON TABLE fulfillment_provider IS 'A fulfillment provider registered with the platform (Medusa''s fulfillment_provider): the manual provider or a carrier integration that creates shipments and labels.';
COMMENT ON COLUMN fulfillment_provider.provider_key IS 'Registration key of the provider in application code, e.g. manual_manual; Medusa''s provider id.';
COMMENT ON COLUMN fulfillment_provider.name IS 'Display name shown to staff.';
COMMENT ON COLUMN fulfillment_provider.status IS 'Lifecycle: enabled ⇄ disabled (a disabled provider is not offered for new fulfillments); archived ends it. terminal: archived';

CREATE TABLE fulfillment_set (
    uid             TEXT PRIMARY KEY CHECK (uid ~ '^fuset_[0-9A-HJKMNP-TV-Z]{26}$'),
    name            TEXT NOT NULL,
    set_type        TEXT NOT NULL DEFAULT 'shipping' CHECK (set_type IN ('shipping', 'pickup', 'local_delivery')),
    status          JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT fulfillment_set_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'archived'), false)
    ),
    CONSTRAINT fulfillment_set_name_key UNIQUE (name)
);
CREATE INDEX fulfillment_set_labels_idx ON fulfillment_set USING gin (labels);
CREATE INDEX fulfillment_set_phase_idx ON fulfillment_set ((status ->> 'phase'));
COMMENT ON TABLE fulfillment_set IS 'A way a stock location fulfills orders, e.g. shipping or in-store pickup (Medusa''s fulfillment_set); groups service_zone rows and is attached to locations through link_stock_location_fulfillment_set.';
COMMENT ON COLUMN fulfillment_set.name IS 'Unique name of the set, e.g. "European Warehouse shipping".';
COMMENT ON COLUMN fulfillment_set.set_type IS 'What kind of fulfillment the set offers.';
COMMENT ON COLUMN fulfillment_set.status IS 'Lifecycle: active; archived ends it. terminal: archived';

CREATE TABLE service_zone (
    uid                 TEXT PRIMARY KEY CHECK (uid ~ '^serzo_[0-9A-HJKMNP-TV-Z]{26}$'),
    name                TEXT NOT NULL,
    fulfillment_set_uid TEXT NOT NULL,
    status              JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels              JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations         JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT service_zone_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'archived'), false)
    ),
    CONSTRAINT service_zone_name_key UNIQUE (name)
);
CREATE INDEX service_zone_labels_idx ON service_zone USING gin (labels);
CREATE INDEX service_zone_phase_idx ON service_zone ((status ->> 'phase'));
CREATE INDEX service_zone_fulfillment_set_uid_idx ON service_zone (fulfillment_set_uid);
COMMENT ON TABLE service_zone IS 'A geographic area a fulfillment set serves (Medusa''s service_zone); made of geo_zone rows and offering shipping_option rows.';
COMMENT ON COLUMN service_zone.name IS 'Unique name of the zone, e.g. "Europe".';
COMMENT ON COLUMN service_zone.fulfillment_set_uid IS 'Fulfillment set the zone belongs to. ref: fulfillment_set.uid';
COMMENT ON COLUMN service_zone.status IS 'Lifecycle: active; archived ends it. terminal: archived';

CREATE TABLE geo_zone (
    uid                 TEXT PRIMARY KEY CHECK (uid ~ '^fgeo_[0-9A-HJKMNP-TV-Z]{26}$'),
    service_zone_uid    TEXT NOT NULL,
    zone_type           TEXT NOT NULL DEFAULT 'country' CHECK (zone_type IN ('country', 'province', 'city', 'zip')),
    country_code        TEXT NOT NULL CHECK (country_code ~ '^[a-z]{2}$'),
    province_code       TEXT,
    city                TEXT,
    postal_expression   JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(postal_expression) = 'object'),
    status              JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels              JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations         JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT geo_zone_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'archived'), false)
    ),
    CONSTRAINT geo_zone_province_required_check CHECK (zone_type = 'country' OR province_code IS NOT NULL),
    CONSTRAINT geo_zone_city_required_check CHECK (zone_type NOT IN ('city', 'zip') OR city IS NOT NULL),
    CONSTRAINT geo_zone_postal_required_check CHECK (zone_type <> 'zip' OR postal_expression <> '{}')
);
CREATE INDEX geo_zone_labels_idx ON geo_zone USING gin (labels);
CREATE INDEX geo_zone_phase_idx ON geo_zone ((status ->> 'phase'));
CREATE INDEX geo_zone_service_zone_uid_idx ON geo_zone (service_zone_uid);
CREATE INDEX geo_zone_country_code_idx ON geo_zone (country_code, province_code, city);
COMMENT ON TABLE geo_zone IS 'One geographic piece of a service zone: a whole country, a province, a city or a set of postal codes (Medusa''s geo_zone).';
COMMENT ON COLUMN geo_zone.service_zone_uid IS 'Service zone this area belongs to. ref: service_zone.uid';
COMMENT ON COLUMN geo_zone.zone_type IS 'Granularity of the area; province needs province_code, city needs city too, zip needs postal_expression.';
COMMENT ON COLUMN geo_zone.country_code IS 'ISO 3166-1 alpha-2 country code, lower case.';
COMMENT ON COLUMN geo_zone.province_code IS 'ISO 3166-2 subdivision code (lower case, e.g. us-ca) for province, city and zip zones.';
COMMENT ON COLUMN geo_zone.city IS 'City name for city and zip zones.';
COMMENT ON COLUMN geo_zone.postal_expression IS 'Postal-code matcher for zip zones, e.g. {"type": "prefix", "values": ["10"]}; empty otherwise.';
COMMENT ON COLUMN geo_zone.status IS 'Lifecycle: active; archived ends it. terminal: archived';

CREATE TABLE shipping_profile (
    uid             TEXT PRIMARY KEY CHECK (uid ~ '^sp_[0-9A-HJKMNP-TV-Z]{26}$'),
    name            TEXT NOT NULL,
    profile_type    TEXT NOT NULL DEFAULT 'default' CHECK (profile_type IN ('default', 'gift_card', 'custom')),
    status          JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT shipping_profile_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'archived'), false)
    ),
    CONSTRAINT shipping_profile_name_key UNIQUE (name)
);
CREATE INDEX shipping_profile_labels_idx ON shipping_profile USING gin (labels);
CREATE INDEX shipping_profile_phase_idx ON shipping_profile ((status ->> 'phase'));
COMMENT ON TABLE shipping_profile IS 'A class of products that ship the same way (Medusa''s shipping_profile); products join it through link_product_shipping_profile and shipping_option rows serve it.';
COMMENT ON COLUMN shipping_profile.name IS 'Unique name of the profile, e.g. "Default" or "Oversized".';
COMMENT ON COLUMN shipping_profile.profile_type IS 'Role of the profile: the store default, gift cards (no physical shipping) or a custom class.';
COMMENT ON COLUMN shipping_profile.status IS 'Lifecycle: active; archived ends it. terminal: archived';

CREATE TABLE shipping_option (
    uid                     TEXT PRIMARY KEY CHECK (uid ~ '^so_[0-9A-HJKMNP-TV-Z]{26}$'),
    name                    TEXT NOT NULL,
    price_type              TEXT NOT NULL DEFAULT 'flat' CHECK (price_type IN ('flat', 'calculated')),
    service_zone_uid        TEXT NOT NULL,
    shipping_profile_uid    TEXT,
    provider_uid            TEXT,
    type_label              TEXT NOT NULL,
    type_code               TEXT NOT NULL,
    type_description        TEXT,
    rules                   JSONB NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(rules) = 'array'),
    data                    JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(data) = 'object'),
    status                  JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels                  JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations             JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts               TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts               TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT shipping_option_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'disabled', 'archived'), false)
    )
);
CREATE INDEX shipping_option_labels_idx ON shipping_option USING gin (labels);
CREATE INDEX shipping_option_phase_idx ON shipping_option ((status ->> 'phase'));
CREATE INDEX shipping_option_service_zone_uid_idx ON shipping_option (service_zone_uid);
CREATE INDEX shipping_option_shipping_profile_uid_idx ON shipping_option (shipping_profile_uid);
CREATE INDEX shipping_option_provider_uid_idx ON shipping_option (provider_uid);
CREATE INDEX shipping_option_name_idx ON shipping_option (name);
COMMENT ON TABLE shipping_option IS 'A delivery choice offered in a service zone, e.g. "Standard (3-5 days)" (Medusa''s shipping_option, with its shipping_option_type and rules folded in); priced through link_shipping_option_price_set.';
COMMENT ON COLUMN shipping_option.name IS 'Name shown to customers at checkout.';
COMMENT ON COLUMN shipping_option.price_type IS 'flat: price comes from the linked price_set; calculated: the provider computes it per cart.';
COMMENT ON COLUMN shipping_option.service_zone_uid IS 'Service zone the option is offered in. ref: service_zone.uid';
COMMENT ON COLUMN shipping_option.shipping_profile_uid IS 'Shipping profile whose products the option can ship. ref: shipping_profile.uid';
COMMENT ON COLUMN shipping_option.provider_uid IS 'Fulfillment provider that carries out the option. ref: fulfillment_provider.uid';
COMMENT ON COLUMN shipping_option.type_label IS 'Label of the option type (Medusa''s shipping_option_type.label), e.g. Express.';
COMMENT ON COLUMN shipping_option.type_code IS 'Code of the option type (Medusa''s shipping_option_type.code), e.g. express.';
COMMENT ON COLUMN shipping_option.type_description IS 'Description of the option type shown to customers.';
COMMENT ON COLUMN shipping_option.rules IS 'Availability rules, each {"attribute", "operator", "value"}, e.g. is_return eq true or enabled_in_store eq true (Medusa''s shipping_option_rule).';
COMMENT ON COLUMN shipping_option.data IS 'Provider-specific data needed to create fulfillments with this option.';
COMMENT ON COLUMN shipping_option.status IS 'Lifecycle: active ⇄ disabled (not offered at checkout); archived ends it. terminal: archived';

CREATE TABLE fulfillment (
    uid                 TEXT PRIMARY KEY CHECK (uid ~ '^ful_[0-9A-HJKMNP-TV-Z]{26}$'),
    location_uid        TEXT NOT NULL,
    provider_uid        TEXT,
    shipping_option_uid TEXT,
    order_uid           TEXT,
    requires_shipping   BOOLEAN NOT NULL DEFAULT true,
    delivery_address    JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(delivery_address) = 'object'),
    packed_ts           TIMESTAMPTZ,
    shipped_ts          TIMESTAMPTZ,
    delivered_ts        TIMESTAMPTZ,
    canceled_ts         TIMESTAMPTZ,
    data                JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(data) = 'object'),
    status              JSONB NOT NULL DEFAULT '{"phase": "pending", "conditions": []}',
    labels              JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations         JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT fulfillment_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('pending', 'packed', 'shipped', 'delivered', 'failed', 'canceled', 'archived'), false)
    )
);
CREATE INDEX fulfillment_labels_idx ON fulfillment USING gin (labels);
CREATE INDEX fulfillment_phase_idx ON fulfillment ((status ->> 'phase'));
CREATE INDEX fulfillment_location_uid_idx ON fulfillment (location_uid);
CREATE INDEX fulfillment_provider_uid_idx ON fulfillment (provider_uid);
CREATE INDEX fulfillment_shipping_option_uid_idx ON fulfillment (shipping_option_uid);
CREATE INDEX fulfillment_order_uid_idx ON fulfillment (order_uid);
CREATE INDEX fulfillment_shipped_ts_idx ON fulfillment (shipped_ts);
CREATE INDEX fulfillment_create_ts_idx ON fulfillment (create_ts);
COMMENT ON TABLE fulfillment IS 'One shipment (or pickup) of goods from a stock location (Medusa''s fulfillment, with its address folded in); its lines are fulfillment_item, its tracking labels fulfillment_label.';
COMMENT ON COLUMN fulfillment.location_uid IS 'Stock location the goods leave from. ref: stock_location.uid';
COMMENT ON COLUMN fulfillment.provider_uid IS 'Fulfillment provider carrying out the shipment. ref: fulfillment_provider.uid';
COMMENT ON COLUMN fulfillment.shipping_option_uid IS 'Shipping option the customer chose, if any. ref: shipping_option.uid';
COMMENT ON COLUMN fulfillment.order_uid IS 'Order being fulfilled (also recorded in link_order_fulfillment); NULL for fulfillments not tied to an order, e.g. some return shipments. ref: order_header.uid';
COMMENT ON COLUMN fulfillment.requires_shipping IS 'False for fulfillments that need no carrier shipment (digital goods, pickup).';
COMMENT ON COLUMN fulfillment.delivery_address IS 'Delivery address snapshot: first_name, last_name, company, address_1, address_2, city, province, postal_code, country_code, phone.';
COMMENT ON COLUMN fulfillment.packed_ts IS 'When the goods were packed.';
COMMENT ON COLUMN fulfillment.shipped_ts IS 'When the goods were handed to the carrier (emits fulfillment_shipped).';
COMMENT ON COLUMN fulfillment.delivered_ts IS 'When the carrier reported delivery.';
COMMENT ON COLUMN fulfillment.canceled_ts IS 'When the fulfillment was canceled.';
COMMENT ON COLUMN fulfillment.data IS 'Provider-specific data returned when the fulfillment was created.';
COMMENT ON COLUMN fulfillment.status IS 'Lifecycle: pending → packed → shipped → delivered; failed or canceled end it early, archived ends any. terminal: archived, canceled, failed';

CREATE TABLE fulfillment_item (
    uid                 TEXT PRIMARY KEY CHECK (uid ~ '^fulit_[0-9A-HJKMNP-TV-Z]{26}$'),
    fulfillment_uid     TEXT NOT NULL,
    line_item_uid       TEXT,
    inventory_item_uid  TEXT,
    title               TEXT NOT NULL,
    sku                 TEXT,
    barcode             TEXT,
    quantity            INTEGER NOT NULL CHECK (quantity > 0),
    status              JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels              JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations         JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT fulfillment_item_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'archived'), false)
    )
);
CREATE INDEX fulfillment_item_labels_idx ON fulfillment_item USING gin (labels);
CREATE INDEX fulfillment_item_phase_idx ON fulfillment_item ((status ->> 'phase'));
CREATE INDEX fulfillment_item_fulfillment_uid_idx ON fulfillment_item (fulfillment_uid);
CREATE INDEX fulfillment_item_line_item_uid_idx ON fulfillment_item (line_item_uid);
CREATE INDEX fulfillment_item_inventory_item_uid_idx ON fulfillment_item (inventory_item_uid);
CREATE INDEX fulfillment_item_sku_idx ON fulfillment_item (sku);
COMMENT ON TABLE fulfillment_item IS 'A line of a fulfillment: how many units of one order line (or inventory item) it ships (Medusa''s fulfillment_item).';
COMMENT ON COLUMN fulfillment_item.fulfillment_uid IS 'Fulfillment the line belongs to. ref: fulfillment.uid';
COMMENT ON COLUMN fulfillment_item.line_item_uid IS 'Order line being fulfilled. ref: order_line_item.uid';
COMMENT ON COLUMN fulfillment_item.inventory_item_uid IS 'Inventory item whose stock the line consumes. ref: inventory_item.uid';
COMMENT ON COLUMN fulfillment_item.title IS 'Title of the item as printed on the packing slip.';
COMMENT ON COLUMN fulfillment_item.sku IS 'SKU of the item at fulfillment time.';
COMMENT ON COLUMN fulfillment_item.barcode IS 'Barcode (EAN/UPC) of the item at fulfillment time.';
COMMENT ON COLUMN fulfillment_item.quantity IS 'Number of units shipped on this line.';
COMMENT ON COLUMN fulfillment_item.status IS 'Lifecycle: active; archived ends it. terminal: archived';

CREATE TABLE fulfillment_label (
    uid             TEXT PRIMARY KEY CHECK (uid ~ '^fulla_[0-9A-HJKMNP-TV-Z]{26}$'),
    fulfillment_uid TEXT NOT NULL,
    tracking_number TEXT NOT NULL,
    tracking_url    TEXT NOT NULL,
    label_url       TEXT NOT NULL,
    status          JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT fulfillment_label_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'voided', 'archived'), false)
    )
);
CREATE INDEX fulfillment_label_labels_idx ON fulfillment_label USING gin (labels);
CREATE INDEX fulfillment_label_phase_idx ON fulfillment_label ((status ->> 'phase'));
CREATE INDEX fulfillment_label_fulfillment_uid_idx ON fulfillment_label (fulfillment_uid);
CREATE INDEX fulfillment_label_tracking_number_idx ON fulfillment_label (tracking_number);
COMMENT ON TABLE fulfillment_label IS 'A carrier shipping label of a fulfillment, with its tracking number (Medusa''s fulfillment_label); a fulfillment may have several parcels.';
COMMENT ON COLUMN fulfillment_label.fulfillment_uid IS 'Fulfillment the label belongs to. ref: fulfillment.uid';
COMMENT ON COLUMN fulfillment_label.tracking_number IS 'Carrier tracking number; staff search by it.';
COMMENT ON COLUMN fulfillment_label.tracking_url IS 'Carrier tracking page for the parcel.';
COMMENT ON COLUMN fulfillment_label.label_url IS 'Where the printable label (PDF/ZPL) is stored.';
COMMENT ON COLUMN fulfillment_label.status IS 'Lifecycle: active; voided (label canceled with the carrier) or archived end it. terminal: archived, voided';

CREATE TABLE fulfillment_daily_summary (
    uid                 TEXT PRIMARY KEY CHECK (uid ~ '^fds_[0-9A-HJKMNP-TV-Z]{26}$'),
    summary_day         DATE NOT NULL,
    stock_location_uid  TEXT NOT NULL,
    total_count         INTEGER NOT NULL CHECK (total_count >= 0),
    successful_count    INTEGER NOT NULL CHECK (successful_count >= 0),
    failed_count        INTEGER NOT NULL CHECK (failed_count >= 0),
    status              JSONB NOT NULL DEFAULT '{"phase": "open", "conditions": []}',
    labels              JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations         JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT fulfillment_daily_summary_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('open', 'closed', 'archived'), false)
    ),
    CONSTRAINT fulfillment_daily_summary_counts_check CHECK (successful_count + failed_count <= total_count),
    CONSTRAINT fulfillment_daily_summary_summary_day_key UNIQUE (summary_day, stock_location_uid)
);
CREATE INDEX fulfillment_daily_summary_labels_idx ON fulfillment_daily_summary USING gin (labels);
CREATE INDEX fulfillment_daily_summary_phase_idx ON fulfillment_daily_summary ((status ->> 'phase'));
CREATE INDEX fulfillment_daily_summary_stock_location_uid_idx ON fulfillment_daily_summary (stock_location_uid);
COMMENT ON TABLE fulfillment_daily_summary IS 'Fulfillment outcomes per calendar day and stock location, for the staff fulfillment-monitoring view; one row per (summary_day, stock_location_uid), recomputed from fulfillment rows.';
COMMENT ON COLUMN fulfillment_daily_summary.summary_day IS 'Calendar day (UTC) the counts are for; the unique key (summary_day, stock_location_uid) also serves day-range queries.';
COMMENT ON COLUMN fulfillment_daily_summary.stock_location_uid IS 'Stock location the counts are for. ref: stock_location.uid';
COMMENT ON COLUMN fulfillment_daily_summary.total_count IS 'Fulfillments created that day at the location.';
COMMENT ON COLUMN fulfillment_daily_summary.successful_count IS 'Of total_count, fulfillments that reached shipped or delivered.';
COMMENT ON COLUMN fulfillment_daily_summary.failed_count IS 'Of total_count, fulfillments that ended failed; the rest are still pending/packed or canceled.';
COMMENT ON COLUMN fulfillment_daily_summary.status IS 'Lifecycle: open (the day is still being counted) → closed (final counts); archived ends it. terminal: archived';
