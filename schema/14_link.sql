-- Module 14: Link
-- Explicit many-to-many links between tables of different modules (Medusa v2's module links, plus the
-- creator-commerce links), never polymorphic associations. Every table is link_<a>_<b> with
-- <a>_uid and <b>_uid columns referencing tables <a> and <b> (order means order_header), unique per pair,
-- with status phases active/inactive: unlinking moves a row to inactive. A few links carry data of
-- their own (required_quantity, relation_kind/relation_rank, attribution_weight).

CREATE TABLE link_product_sales_channel (
    uid               TEXT PRIMARY KEY CHECK (uid ~ '^lpsc_[0-9A-HJKMNP-TV-Z]{26}$'),
    product_uid       TEXT NOT NULL,
    sales_channel_uid TEXT NOT NULL,
    status            JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels            JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations       JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts         TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts         TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT link_product_sales_channel_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'inactive'), false)
    ),
    CONSTRAINT link_product_sales_channel_pair_key UNIQUE (product_uid, sales_channel_uid)
);
CREATE INDEX link_product_sales_channel_labels_idx ON link_product_sales_channel USING gin (labels);
CREATE INDEX link_product_sales_channel_phase_idx ON link_product_sales_channel ((status ->> 'phase'));
CREATE INDEX link_product_sales_channel_sales_channel_uid_idx ON link_product_sales_channel (sales_channel_uid);
COMMENT ON TABLE link_product_sales_channel IS 'Makes a product available in a sales channel (Medusa link product ↔ sales_channel).';
COMMENT ON COLUMN link_product_sales_channel.product_uid IS 'Product made available. ref: product.uid';
COMMENT ON COLUMN link_product_sales_channel.sales_channel_uid IS 'Sales channel the product is sold in. ref: sales_channel.uid';
COMMENT ON COLUMN link_product_sales_channel.status IS 'Lifecycle: active while linked; unlinking moves the row to inactive. terminal: inactive';

CREATE TABLE link_product_variant_price_set (
    uid                 TEXT PRIMARY KEY CHECK (uid ~ '^lvps_[0-9A-HJKMNP-TV-Z]{26}$'),
    product_variant_uid TEXT NOT NULL,
    price_set_uid       TEXT NOT NULL,
    status              JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels              JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations         JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT link_product_variant_price_set_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'inactive'), false)
    ),
    CONSTRAINT link_product_variant_price_set_pair_key UNIQUE (product_variant_uid, price_set_uid)
);
CREATE INDEX link_product_variant_price_set_labels_idx ON link_product_variant_price_set USING gin (labels);
CREATE INDEX link_product_variant_price_set_phase_idx ON link_product_variant_price_set ((status ->> 'phase'));
CREATE INDEX link_product_variant_price_set_price_set_uid_idx ON link_product_variant_price_set (price_set_uid);
COMMENT ON TABLE link_product_variant_price_set IS 'Gives a product variant its price set (Medusa link product_variant ↔ price_set); one price set per variant.';
COMMENT ON COLUMN link_product_variant_price_set.product_variant_uid IS 'Variant being priced. ref: product_variant.uid';
COMMENT ON COLUMN link_product_variant_price_set.price_set_uid IS 'Price set holding the variant''s prices. ref: price_set.uid';
COMMENT ON COLUMN link_product_variant_price_set.status IS 'Lifecycle: active while linked; unlinking moves the row to inactive. terminal: inactive';

CREATE TABLE link_product_variant_inventory_item (
    uid                 TEXT PRIMARY KEY CHECK (uid ~ '^lvii_[0-9A-HJKMNP-TV-Z]{26}$'),
    product_variant_uid TEXT NOT NULL,
    inventory_item_uid  TEXT NOT NULL,
    required_quantity   INTEGER NOT NULL DEFAULT 1 CHECK (required_quantity > 0),
    status              JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels              JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations         JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT link_product_variant_inventory_item_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'inactive'), false)
    ),
    CONSTRAINT link_product_variant_inventory_item_pair_key UNIQUE (product_variant_uid, inventory_item_uid)
);
CREATE INDEX link_product_variant_inventory_item_labels_idx ON link_product_variant_inventory_item USING gin (labels);
CREATE INDEX link_product_variant_inventory_item_phase_idx ON link_product_variant_inventory_item ((status ->> 'phase'));
CREATE INDEX link_product_variant_inventory_item_inventory_item_uid_idx ON link_product_variant_inventory_item (inventory_item_uid);
COMMENT ON TABLE link_product_variant_inventory_item IS 'Says which inventory items a product variant consumes, and how many of each (Medusa link product_variant ↔ inventory_item; several items make a kit or bundle).';
COMMENT ON COLUMN link_product_variant_inventory_item.product_variant_uid IS 'Variant that consumes stock. ref: product_variant.uid';
COMMENT ON COLUMN link_product_variant_inventory_item.inventory_item_uid IS 'Inventory item consumed when the variant sells. ref: inventory_item.uid';
COMMENT ON COLUMN link_product_variant_inventory_item.required_quantity IS 'Units of the inventory item consumed per unit of the variant sold.';
COMMENT ON COLUMN link_product_variant_inventory_item.status IS 'Lifecycle: active while linked; unlinking moves the row to inactive. terminal: inactive';

CREATE TABLE link_product_shipping_profile (
    uid                  TEXT PRIMARY KEY CHECK (uid ~ '^lpsp_[0-9A-HJKMNP-TV-Z]{26}$'),
    product_uid          TEXT NOT NULL,
    shipping_profile_uid TEXT NOT NULL,
    status               JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels               JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts            TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts            TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT link_product_shipping_profile_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'inactive'), false)
    ),
    CONSTRAINT link_product_shipping_profile_pair_key UNIQUE (product_uid, shipping_profile_uid)
);
CREATE INDEX link_product_shipping_profile_labels_idx ON link_product_shipping_profile USING gin (labels);
CREATE INDEX link_product_shipping_profile_phase_idx ON link_product_shipping_profile ((status ->> 'phase'));
CREATE INDEX link_product_shipping_profile_shipping_profile_uid_idx ON link_product_shipping_profile (shipping_profile_uid);
COMMENT ON TABLE link_product_shipping_profile IS 'Puts a product in a shipping profile (Medusa link product ↔ shipping_profile); a product has one active profile.';
COMMENT ON COLUMN link_product_shipping_profile.product_uid IS 'Product being shipped. ref: product.uid';
COMMENT ON COLUMN link_product_shipping_profile.shipping_profile_uid IS 'Shipping profile the product ships under. ref: shipping_profile.uid';
COMMENT ON COLUMN link_product_shipping_profile.status IS 'Lifecycle: active while linked; unlinking moves the row to inactive. terminal: inactive';

CREATE TABLE link_product_macrodata_artifact (
    uid                    TEXT PRIMARY KEY CHECK (uid ~ '^lpma_[0-9A-HJKMNP-TV-Z]{26}$'),
    product_uid            TEXT NOT NULL,
    macrodata_artifact_uid TEXT NOT NULL,
    relation_kind          TEXT NOT NULL DEFAULT 'depicts' CHECK (relation_kind IN ('depicts', 'documents', 'assigned', 'derived_from', 'classified_by')),
    relation_rank          INTEGER NOT NULL DEFAULT 0,
    status                 JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels                 JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations            JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts              TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts              TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT link_product_macrodata_artifact_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'inactive'), false)
    ),
    CONSTRAINT link_product_macrodata_artifact_pair_key UNIQUE (product_uid, macrodata_artifact_uid)
);
CREATE INDEX link_product_macrodata_artifact_labels_idx ON link_product_macrodata_artifact USING gin (labels);
CREATE INDEX link_product_macrodata_artifact_phase_idx ON link_product_macrodata_artifact ((status ->> 'phase'));
CREATE INDEX link_product_macrodata_artifact_macrodata_artifact_uid_idx ON link_product_macrodata_artifact (macrodata_artifact_uid);
COMMENT ON TABLE link_product_macrodata_artifact IS 'Links a product to a macrodata artifact: design assets, combo reports/templates/suggestions, designer assignments, exports (legacy product_asset_mappings).';
COMMENT ON COLUMN link_product_macrodata_artifact.product_uid IS 'Product the artifact is about. ref: product.uid';
COMMENT ON COLUMN link_product_macrodata_artifact.macrodata_artifact_uid IS 'Artifact linked to the product (design asset, combo report, export, assignment, …). ref: macrodata_artifact.uid';
COMMENT ON COLUMN link_product_macrodata_artifact.relation_kind IS 'How the artifact relates to the product: depicts (design asset/image), documents (report or export about it), assigned (designer assignment), derived_from (artifact generated from the product), classified_by (classification spec applied to it).';
COMMENT ON COLUMN link_product_macrodata_artifact.relation_rank IS 'Display order of the artifact among the product''s artifacts of the same relation_kind; lower first.';
COMMENT ON COLUMN link_product_macrodata_artifact.status IS 'Lifecycle: active while linked; unlinking moves the row to inactive. terminal: inactive';

CREATE TABLE link_product_publication (
    uid             TEXT PRIMARY KEY CHECK (uid ~ '^lppub_[0-9A-HJKMNP-TV-Z]{26}$'),
    product_uid     TEXT NOT NULL,
    publication_uid TEXT NOT NULL,
    status          JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT link_product_publication_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'inactive'), false)
    ),
    CONSTRAINT link_product_publication_pair_key UNIQUE (product_uid, publication_uid)
);
CREATE INDEX link_product_publication_labels_idx ON link_product_publication USING gin (labels);
CREATE INDEX link_product_publication_phase_idx ON link_product_publication ((status ->> 'phase'));
CREATE INDEX link_product_publication_publication_uid_idx ON link_product_publication (publication_uid);
COMMENT ON TABLE link_product_publication IS 'Says which products a publisher''s publication features, for attributing publication telemetry and conversions to products.';
COMMENT ON COLUMN link_product_publication.product_uid IS 'Product featured. ref: product.uid';
COMMENT ON COLUMN link_product_publication.publication_uid IS 'Publication (creator post, video, page) featuring the product. ref: publication.uid';
COMMENT ON COLUMN link_product_publication.status IS 'Lifecycle: active while linked; unlinking moves the row to inactive. terminal: inactive';

CREATE TABLE link_cart_promotion (
    uid           TEXT PRIMARY KEY CHECK (uid ~ '^lcpr_[0-9A-HJKMNP-TV-Z]{26}$'),
    cart_uid      TEXT NOT NULL,
    promotion_uid TEXT NOT NULL,
    status        JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels        JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations   JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts     TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts     TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT link_cart_promotion_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'inactive'), false)
    ),
    CONSTRAINT link_cart_promotion_pair_key UNIQUE (cart_uid, promotion_uid)
);
CREATE INDEX link_cart_promotion_labels_idx ON link_cart_promotion USING gin (labels);
CREATE INDEX link_cart_promotion_phase_idx ON link_cart_promotion ((status ->> 'phase'));
CREATE INDEX link_cart_promotion_promotion_uid_idx ON link_cart_promotion (promotion_uid);
COMMENT ON TABLE link_cart_promotion IS 'Applies a promotion to a cart (Medusa link cart ↔ promotion).';
COMMENT ON COLUMN link_cart_promotion.cart_uid IS 'Cart the promotion is applied to. ref: cart.uid';
COMMENT ON COLUMN link_cart_promotion.promotion_uid IS 'Promotion applied. ref: promotion.uid';
COMMENT ON COLUMN link_cart_promotion.status IS 'Lifecycle: active while linked; unlinking moves the row to inactive. terminal: inactive';

CREATE TABLE link_cart_payment_collection (
    uid                    TEXT PRIMARY KEY CHECK (uid ~ '^lcpc_[0-9A-HJKMNP-TV-Z]{26}$'),
    cart_uid               TEXT NOT NULL,
    payment_collection_uid TEXT NOT NULL,
    status                 JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels                 JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations            JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts              TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts              TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT link_cart_payment_collection_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'inactive'), false)
    ),
    CONSTRAINT link_cart_payment_collection_pair_key UNIQUE (cart_uid, payment_collection_uid)
);
CREATE INDEX link_cart_payment_collection_labels_idx ON link_cart_payment_collection USING gin (labels);
CREATE INDEX link_cart_payment_collection_phase_idx ON link_cart_payment_collection ((status ->> 'phase'));
CREATE INDEX link_cart_payment_collection_payment_collection_uid_idx ON link_cart_payment_collection (payment_collection_uid);
COMMENT ON TABLE link_cart_payment_collection IS 'Gives a cart its payment collection (Medusa link cart ↔ payment_collection).';
COMMENT ON COLUMN link_cart_payment_collection.cart_uid IS 'Cart being paid. ref: cart.uid';
COMMENT ON COLUMN link_cart_payment_collection.payment_collection_uid IS 'Payment collection gathering the cart''s payment. ref: payment_collection.uid';
COMMENT ON COLUMN link_cart_payment_collection.status IS 'Lifecycle: active while linked; unlinking moves the row to inactive. terminal: inactive';

CREATE TABLE link_order_promotion (
    uid           TEXT PRIMARY KEY CHECK (uid ~ '^lopr_[0-9A-HJKMNP-TV-Z]{26}$'),
    order_uid     TEXT NOT NULL,
    promotion_uid TEXT NOT NULL,
    status        JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels        JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations   JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts     TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts     TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT link_order_promotion_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'inactive'), false)
    ),
    CONSTRAINT link_order_promotion_pair_key UNIQUE (order_uid, promotion_uid)
);
CREATE INDEX link_order_promotion_labels_idx ON link_order_promotion USING gin (labels);
CREATE INDEX link_order_promotion_phase_idx ON link_order_promotion ((status ->> 'phase'));
CREATE INDEX link_order_promotion_promotion_uid_idx ON link_order_promotion (promotion_uid);
COMMENT ON TABLE link_order_promotion IS 'Records which promotions an order used (Medusa link order ↔ promotion).';
COMMENT ON COLUMN link_order_promotion.order_uid IS 'Order the promotion was applied to. ref: order_header.uid';
COMMENT ON COLUMN link_order_promotion.promotion_uid IS 'Promotion applied. ref: promotion.uid';
COMMENT ON COLUMN link_order_promotion.status IS 'Lifecycle: active while linked; unlinking moves the row to inactive. terminal: inactive';

CREATE TABLE link_order_payment_collection (
    uid                    TEXT PRIMARY KEY CHECK (uid ~ '^lopc_[0-9A-HJKMNP-TV-Z]{26}$'),
    order_uid              TEXT NOT NULL,
    payment_collection_uid TEXT NOT NULL,
    status                 JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels                 JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations            JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts              TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts              TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT link_order_payment_collection_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'inactive'), false)
    ),
    CONSTRAINT link_order_payment_collection_pair_key UNIQUE (order_uid, payment_collection_uid)
);
CREATE INDEX link_order_payment_collection_labels_idx ON link_order_payment_collection USING gin (labels);
CREATE INDEX link_order_payment_collection_phase_idx ON link_order_payment_collection ((status ->> 'phase'));
CREATE INDEX link_order_payment_collection_payment_collection_uid_idx ON link_order_payment_collection (payment_collection_uid);
COMMENT ON TABLE link_order_payment_collection IS 'Gives an order its payment collections (Medusa link order ↔ payment_collection).';
COMMENT ON COLUMN link_order_payment_collection.order_uid IS 'Order being paid. ref: order_header.uid';
COMMENT ON COLUMN link_order_payment_collection.payment_collection_uid IS 'Payment collection for the order (initial payment or later differences). ref: payment_collection.uid';
COMMENT ON COLUMN link_order_payment_collection.status IS 'Lifecycle: active while linked; unlinking moves the row to inactive. terminal: inactive';

CREATE TABLE link_order_fulfillment (
    uid             TEXT PRIMARY KEY CHECK (uid ~ '^lof_[0-9A-HJKMNP-TV-Z]{26}$'),
    order_uid       TEXT NOT NULL,
    fulfillment_uid TEXT NOT NULL,
    status          JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT link_order_fulfillment_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'inactive'), false)
    ),
    CONSTRAINT link_order_fulfillment_pair_key UNIQUE (order_uid, fulfillment_uid)
);
CREATE INDEX link_order_fulfillment_labels_idx ON link_order_fulfillment USING gin (labels);
CREATE INDEX link_order_fulfillment_phase_idx ON link_order_fulfillment ((status ->> 'phase'));
CREATE INDEX link_order_fulfillment_fulfillment_uid_idx ON link_order_fulfillment (fulfillment_uid);
COMMENT ON TABLE link_order_fulfillment IS 'Records the fulfillments of an order (Medusa link order ↔ fulfillment).';
COMMENT ON COLUMN link_order_fulfillment.order_uid IS 'Order being fulfilled. ref: order_header.uid';
COMMENT ON COLUMN link_order_fulfillment.fulfillment_uid IS 'Fulfillment shipping the order''s goods. ref: fulfillment.uid';
COMMENT ON COLUMN link_order_fulfillment.status IS 'Lifecycle: active while linked; unlinking moves the row to inactive. terminal: inactive';

CREATE TABLE link_order_cart (
    uid         TEXT PRIMARY KEY CHECK (uid ~ '^loc_[0-9A-HJKMNP-TV-Z]{26}$'),
    order_uid   TEXT NOT NULL,
    cart_uid    TEXT NOT NULL,
    status      JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels      JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts   TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts   TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT link_order_cart_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'inactive'), false)
    ),
    CONSTRAINT link_order_cart_pair_key UNIQUE (order_uid, cart_uid)
);
CREATE INDEX link_order_cart_labels_idx ON link_order_cart USING gin (labels);
CREATE INDEX link_order_cart_phase_idx ON link_order_cart ((status ->> 'phase'));
CREATE INDEX link_order_cart_cart_uid_idx ON link_order_cart (cart_uid);
COMMENT ON TABLE link_order_cart IS 'Records which cart an order was placed from (Medusa link order ↔ cart).';
COMMENT ON COLUMN link_order_cart.order_uid IS 'Order placed. ref: order_header.uid';
COMMENT ON COLUMN link_order_cart.cart_uid IS 'Cart the order was placed from. ref: cart.uid';
COMMENT ON COLUMN link_order_cart.status IS 'Lifecycle: active while linked; unlinking moves the row to inactive. terminal: inactive';

CREATE TABLE link_customer_customer_group (
    uid                TEXT PRIMARY KEY CHECK (uid ~ '^lccg_[0-9A-HJKMNP-TV-Z]{26}$'),
    customer_uid       TEXT NOT NULL,
    customer_group_uid TEXT NOT NULL,
    status             JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels             JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations        JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts          TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts          TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT link_customer_customer_group_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'inactive'), false)
    ),
    CONSTRAINT link_customer_customer_group_pair_key UNIQUE (customer_uid, customer_group_uid)
);
CREATE INDEX link_customer_customer_group_labels_idx ON link_customer_customer_group USING gin (labels);
CREATE INDEX link_customer_customer_group_phase_idx ON link_customer_customer_group ((status ->> 'phase'));
CREATE INDEX link_customer_customer_group_customer_group_uid_idx ON link_customer_customer_group (customer_group_uid);
COMMENT ON TABLE link_customer_customer_group IS 'Puts a customer in a customer group (Medusa''s customer_group_customer).';
COMMENT ON COLUMN link_customer_customer_group.customer_uid IS 'Customer in the group. ref: customer.uid';
COMMENT ON COLUMN link_customer_customer_group.customer_group_uid IS 'Group the customer belongs to. ref: customer_group.uid';
COMMENT ON COLUMN link_customer_customer_group.status IS 'Lifecycle: active while linked; unlinking moves the row to inactive. terminal: inactive';

CREATE TABLE link_region_payment_provider (
    uid                  TEXT PRIMARY KEY CHECK (uid ~ '^lrpp_[0-9A-HJKMNP-TV-Z]{26}$'),
    region_uid           TEXT NOT NULL,
    payment_provider_uid TEXT NOT NULL,
    status               JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels               JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts            TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts            TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT link_region_payment_provider_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'inactive'), false)
    ),
    CONSTRAINT link_region_payment_provider_pair_key UNIQUE (region_uid, payment_provider_uid)
);
CREATE INDEX link_region_payment_provider_labels_idx ON link_region_payment_provider USING gin (labels);
CREATE INDEX link_region_payment_provider_phase_idx ON link_region_payment_provider ((status ->> 'phase'));
CREATE INDEX link_region_payment_provider_payment_provider_uid_idx ON link_region_payment_provider (payment_provider_uid);
COMMENT ON TABLE link_region_payment_provider IS 'Enables a payment provider in a region (Medusa link region ↔ payment_provider).';
COMMENT ON COLUMN link_region_payment_provider.region_uid IS 'Region where the provider is offered. ref: region.uid';
COMMENT ON COLUMN link_region_payment_provider.payment_provider_uid IS 'Payment provider enabled in the region. ref: payment_provider.uid';
COMMENT ON COLUMN link_region_payment_provider.status IS 'Lifecycle: active while linked; unlinking moves the row to inactive. terminal: inactive';

CREATE TABLE link_sales_channel_stock_location (
    uid                TEXT PRIMARY KEY CHECK (uid ~ '^lscsl_[0-9A-HJKMNP-TV-Z]{26}$'),
    sales_channel_uid  TEXT NOT NULL,
    stock_location_uid TEXT NOT NULL,
    status             JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels             JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations        JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts          TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts          TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT link_sales_channel_stock_location_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'inactive'), false)
    ),
    CONSTRAINT link_sales_channel_stock_location_pair_key UNIQUE (sales_channel_uid, stock_location_uid)
);
CREATE INDEX link_sales_channel_stock_location_labels_idx ON link_sales_channel_stock_location USING gin (labels);
CREATE INDEX link_sales_channel_stock_location_phase_idx ON link_sales_channel_stock_location ((status ->> 'phase'));
CREATE INDEX link_sales_channel_stock_location_stock_location_uid_idx ON link_sales_channel_stock_location (stock_location_uid);
COMMENT ON TABLE link_sales_channel_stock_location IS 'Says which stock locations serve a sales channel (Medusa link sales_channel ↔ stock_location).';
COMMENT ON COLUMN link_sales_channel_stock_location.sales_channel_uid IS 'Sales channel served. ref: sales_channel.uid';
COMMENT ON COLUMN link_sales_channel_stock_location.stock_location_uid IS 'Stock location serving the channel. ref: stock_location.uid';
COMMENT ON COLUMN link_sales_channel_stock_location.status IS 'Lifecycle: active while linked; unlinking moves the row to inactive. terminal: inactive';

CREATE TABLE link_shipping_option_price_set (
    uid                 TEXT PRIMARY KEY CHECK (uid ~ '^lsops_[0-9A-HJKMNP-TV-Z]{26}$'),
    shipping_option_uid TEXT NOT NULL,
    price_set_uid       TEXT NOT NULL,
    status              JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels              JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations         JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT link_shipping_option_price_set_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'inactive'), false)
    ),
    CONSTRAINT link_shipping_option_price_set_pair_key UNIQUE (shipping_option_uid, price_set_uid)
);
CREATE INDEX link_shipping_option_price_set_labels_idx ON link_shipping_option_price_set USING gin (labels);
CREATE INDEX link_shipping_option_price_set_phase_idx ON link_shipping_option_price_set ((status ->> 'phase'));
CREATE INDEX link_shipping_option_price_set_price_set_uid_idx ON link_shipping_option_price_set (price_set_uid);
COMMENT ON TABLE link_shipping_option_price_set IS 'Gives a flat-priced shipping option its price set (Medusa link shipping_option ↔ price_set).';
COMMENT ON COLUMN link_shipping_option_price_set.shipping_option_uid IS 'Shipping option being priced. ref: shipping_option.uid';
COMMENT ON COLUMN link_shipping_option_price_set.price_set_uid IS 'Price set holding the option''s prices. ref: price_set.uid';
COMMENT ON COLUMN link_shipping_option_price_set.status IS 'Lifecycle: active while linked; unlinking moves the row to inactive. terminal: inactive';

CREATE TABLE link_stock_location_fulfillment_set (
    uid                 TEXT PRIMARY KEY CHECK (uid ~ '^lslfs_[0-9A-HJKMNP-TV-Z]{26}$'),
    stock_location_uid  TEXT NOT NULL,
    fulfillment_set_uid TEXT NOT NULL,
    status              JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels              JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations         JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT link_stock_location_fulfillment_set_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'inactive'), false)
    ),
    CONSTRAINT link_stock_location_fulfillment_set_pair_key UNIQUE (stock_location_uid, fulfillment_set_uid)
);
CREATE INDEX link_stock_location_fulfillment_set_labels_idx ON link_stock_location_fulfillment_set USING gin (labels);
CREATE INDEX link_stock_location_fulfillment_set_phase_idx ON link_stock_location_fulfillment_set ((status ->> 'phase'));
CREATE INDEX link_stock_location_fulfillment_set_fulfillment_set_uid_idx ON link_stock_location_fulfillment_set (fulfillment_set_uid);
COMMENT ON TABLE link_stock_location_fulfillment_set IS 'Says which fulfillment sets (shipping, pickup) a stock location offers (Medusa link stock_location ↔ fulfillment_set).';
COMMENT ON COLUMN link_stock_location_fulfillment_set.stock_location_uid IS 'Stock location offering the set. ref: stock_location.uid';
COMMENT ON COLUMN link_stock_location_fulfillment_set.fulfillment_set_uid IS 'Fulfillment set the location offers. ref: fulfillment_set.uid';
COMMENT ON COLUMN link_stock_location_fulfillment_set.status IS 'Lifecycle: active while linked; unlinking moves the row to inactive. terminal: inactive';

CREATE TABLE link_stock_location_fulfillment_provider (
    uid                      TEXT PRIMARY KEY CHECK (uid ~ '^lslfp_[0-9A-HJKMNP-TV-Z]{26}$'),
    stock_location_uid       TEXT NOT NULL,
    fulfillment_provider_uid TEXT NOT NULL,
    status                   JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels                   JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations              JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts                TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts                TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT link_stock_location_fulfillment_provider_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'inactive'), false)
    ),
    CONSTRAINT link_stock_location_fulfillment_provider_pair_key UNIQUE (stock_location_uid, fulfillment_provider_uid)
);
CREATE INDEX link_stock_location_fulfillment_provider_labels_idx ON link_stock_location_fulfillment_provider USING gin (labels);
CREATE INDEX link_stock_location_fulfillment_provider_phase_idx ON link_stock_location_fulfillment_provider ((status ->> 'phase'));
CREATE INDEX link_stock_location_fulfillment_provider_provider_uid_idx ON link_stock_location_fulfillment_provider (fulfillment_provider_uid);
COMMENT ON TABLE link_stock_location_fulfillment_provider IS 'Says which fulfillment providers a stock location can use (Medusa link stock_location ↔ fulfillment_provider).';
COMMENT ON COLUMN link_stock_location_fulfillment_provider.stock_location_uid IS 'Stock location using the provider. ref: stock_location.uid';
COMMENT ON COLUMN link_stock_location_fulfillment_provider.fulfillment_provider_uid IS 'Fulfillment provider available at the location. ref: fulfillment_provider.uid';
COMMENT ON COLUMN link_stock_location_fulfillment_provider.status IS 'Lifecycle: active while linked; unlinking moves the row to inactive. terminal: inactive';

CREATE TABLE link_return_request_fulfillment (
    uid                TEXT PRIMARY KEY CHECK (uid ~ '^lrf_[0-9A-HJKMNP-TV-Z]{26}$'),
    return_request_uid TEXT NOT NULL,
    fulfillment_uid    TEXT NOT NULL,
    status             JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels             JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations        JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts          TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts          TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT link_return_request_fulfillment_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'inactive'), false)
    ),
    CONSTRAINT link_return_request_fulfillment_pair_key UNIQUE (return_request_uid, fulfillment_uid)
);
CREATE INDEX link_return_request_fulfillment_labels_idx ON link_return_request_fulfillment USING gin (labels);
CREATE INDEX link_return_request_fulfillment_phase_idx ON link_return_request_fulfillment ((status ->> 'phase'));
CREATE INDEX link_return_request_fulfillment_fulfillment_uid_idx ON link_return_request_fulfillment (fulfillment_uid);
COMMENT ON TABLE link_return_request_fulfillment IS 'Records the inbound fulfillments of a return (Medusa link return ↔ fulfillment).';
COMMENT ON COLUMN link_return_request_fulfillment.return_request_uid IS 'Return being shipped back. ref: return_request.uid';
COMMENT ON COLUMN link_return_request_fulfillment.fulfillment_uid IS 'Fulfillment carrying the returned goods. ref: fulfillment.uid';
COMMENT ON COLUMN link_return_request_fulfillment.status IS 'Lifecycle: active while linked; unlinking moves the row to inactive. terminal: inactive';

CREATE TABLE link_order_referral (
    uid                TEXT PRIMARY KEY CHECK (uid ~ '^lorf_[0-9A-HJKMNP-TV-Z]{26}$'),
    order_uid          TEXT NOT NULL,
    referral_uid       TEXT NOT NULL,
    attribution_weight NUMERIC(5, 4) NOT NULL DEFAULT 1 CHECK (attribution_weight > 0 AND attribution_weight <= 1),
    status             JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels             JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations        JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts          TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts          TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT link_order_referral_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'inactive'), false)
    ),
    CONSTRAINT link_order_referral_pair_key UNIQUE (order_uid, referral_uid)
);
CREATE INDEX link_order_referral_labels_idx ON link_order_referral USING gin (labels);
CREATE INDEX link_order_referral_phase_idx ON link_order_referral ((status ->> 'phase'));
CREATE INDEX link_order_referral_referral_uid_idx ON link_order_referral (referral_uid);
COMMENT ON TABLE link_order_referral IS 'Attributes an order to a creator referral, with the share of credit it gets (multi-touch attribution).';
COMMENT ON COLUMN link_order_referral.order_uid IS 'Order attributed. ref: order_header.uid';
COMMENT ON COLUMN link_order_referral.referral_uid IS 'Referral the order is attributed to. ref: referral.uid';
COMMENT ON COLUMN link_order_referral.attribution_weight IS 'Share of the order credited to the referral; an order''s weights add up to at most 1. unit: ratio';
COMMENT ON COLUMN link_order_referral.status IS 'Lifecycle: active while linked; unlinking moves the row to inactive. terminal: inactive';

CREATE TABLE link_publisher_product (
    uid           TEXT PRIMARY KEY CHECK (uid ~ '^lpubp_[0-9A-HJKMNP-TV-Z]{26}$'),
    publisher_uid TEXT NOT NULL,
    product_uid   TEXT NOT NULL,
    status        JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels        JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations   JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts     TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts     TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT link_publisher_product_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'inactive'), false)
    ),
    CONSTRAINT link_publisher_product_pair_key UNIQUE (publisher_uid, product_uid)
);
CREATE INDEX link_publisher_product_labels_idx ON link_publisher_product USING gin (labels);
CREATE INDEX link_publisher_product_phase_idx ON link_publisher_product ((status ->> 'phase'));
CREATE INDEX link_publisher_product_product_uid_idx ON link_publisher_product (product_uid);
COMMENT ON TABLE link_publisher_product IS 'Says which products a publisher is allowed to or chose to promote.';
COMMENT ON COLUMN link_publisher_product.publisher_uid IS 'Publisher (creator/partner) promoting the product. ref: publisher.uid';
COMMENT ON COLUMN link_publisher_product.product_uid IS 'Product the publisher promotes. ref: product.uid';
COMMENT ON COLUMN link_publisher_product.status IS 'Lifecycle: active while linked; unlinking moves the row to inactive. terminal: inactive';

CREATE TABLE link_customer_membership (
    uid            TEXT PRIMARY KEY CHECK (uid ~ '^lcm_[0-9A-HJKMNP-TV-Z]{26}$'),
    customer_uid   TEXT NOT NULL,
    membership_uid TEXT NOT NULL,
    status         JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels         JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations    JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts      TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts      TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT link_customer_membership_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'inactive'), false)
    ),
    CONSTRAINT link_customer_membership_pair_key UNIQUE (customer_uid, membership_uid)
);
CREATE INDEX link_customer_membership_labels_idx ON link_customer_membership USING gin (labels);
CREATE INDEX link_customer_membership_phase_idx ON link_customer_membership ((status ->> 'phase'));
CREATE INDEX link_customer_membership_membership_uid_idx ON link_customer_membership (membership_uid);
COMMENT ON TABLE link_customer_membership IS 'Ties a commerce customer to a membership.';
COMMENT ON COLUMN link_customer_membership.customer_uid IS 'Customer holding the membership. ref: customer.uid';
COMMENT ON COLUMN link_customer_membership.membership_uid IS 'Membership held. ref: membership.uid';
COMMENT ON COLUMN link_customer_membership.status IS 'Lifecycle: active while linked; unlinking moves the row to inactive. terminal: inactive';

CREATE TABLE link_invoice_order (
    uid         TEXT PRIMARY KEY CHECK (uid ~ '^lio_[0-9A-HJKMNP-TV-Z]{26}$'),
    invoice_uid TEXT NOT NULL,
    order_uid   TEXT NOT NULL,
    status      JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels      JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts   TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts   TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT link_invoice_order_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'inactive'), false)
    ),
    CONSTRAINT link_invoice_order_pair_key UNIQUE (invoice_uid, order_uid)
);
CREATE INDEX link_invoice_order_labels_idx ON link_invoice_order USING gin (labels);
CREATE INDEX link_invoice_order_phase_idx ON link_invoice_order ((status ->> 'phase'));
CREATE INDEX link_invoice_order_order_uid_idx ON link_invoice_order (order_uid);
COMMENT ON TABLE link_invoice_order IS 'Says which orders an invoice bills.';
COMMENT ON COLUMN link_invoice_order.invoice_uid IS 'Invoice billing the order. ref: invoice.uid';
COMMENT ON COLUMN link_invoice_order.order_uid IS 'Order billed. ref: order_header.uid';
COMMENT ON COLUMN link_invoice_order.status IS 'Lifecycle: active while linked; unlinking moves the row to inactive. terminal: inactive';

CREATE TABLE link_principal_publisher (
    uid           TEXT PRIMARY KEY CHECK (uid ~ '^lprp_[0-9A-HJKMNP-TV-Z]{26}$'),
    principal_uid TEXT NOT NULL,
    publisher_uid TEXT NOT NULL,
    status        JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels        JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations   JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts     TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts     TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT link_principal_publisher_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'inactive'), false)
    ),
    CONSTRAINT link_principal_publisher_pair_key UNIQUE (principal_uid, publisher_uid)
);
CREATE INDEX link_principal_publisher_labels_idx ON link_principal_publisher USING gin (labels);
CREATE INDEX link_principal_publisher_phase_idx ON link_principal_publisher ((status ->> 'phase'));
CREATE INDEX link_principal_publisher_publisher_uid_idx ON link_principal_publisher (publisher_uid);
COMMENT ON TABLE link_principal_publisher IS 'Lets a principal act for a publisher (portal access); what it may do is decided by role_binding.';
COMMENT ON COLUMN link_principal_publisher.principal_uid IS 'Principal (person or service identity) acting for the publisher. ref: principal.uid';
COMMENT ON COLUMN link_principal_publisher.publisher_uid IS 'Publisher the principal acts for. ref: publisher.uid';
COMMENT ON COLUMN link_principal_publisher.status IS 'Lifecycle: active while linked; unlinking moves the row to inactive. terminal: inactive';
