
-- Module 02: Product
-- The catalogue, after Medusa v2's product module: products (product, the legacy dim_products) with
-- their variants (product_variant), options and option values (product_option, product_option_value,
-- joined to variants by product_variant_option), images (product_image), collections
-- (product_collection), types (product_type), categories (product_category, which also holds the legacy
-- tag groups) and tags (product_tag, the legacy tag_classifications; a product lists its tags in
-- product.tag_uids). Prices live in price_set (via link_product_variant_price_set), stock in
-- inventory_item (via link_product_variant_inventory_item); order_line_item and cart_line_item refer to
-- product and product_variant.

CREATE TABLE product (
    uid               TEXT PRIMARY KEY CHECK (uid ~ '^prd_[0-9A-HJKMNP-TV-Z]{26}$'),
    title             TEXT NOT NULL,
    handle            TEXT NOT NULL CHECK (handle ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    subtitle          TEXT,
    description       TEXT,
    vendor            TEXT,
    is_giftcard       BOOLEAN NOT NULL DEFAULT false,
    discountable      BOOLEAN NOT NULL DEFAULT true,
    thumbnail         TEXT,
    product_type_uid  TEXT,
    collection_uid    TEXT,
    external_id       TEXT,
    published_ts      TIMESTAMPTZ,
    tag_uids          JSONB NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(tag_uids) = 'array'),
    weight            NUMERIC(12, 3),
    length            NUMERIC(12, 3),
    height            NUMERIC(12, 3),
    width             NUMERIC(12, 3),
    hs_code           TEXT,
    mid_code          TEXT,
    origin_country    TEXT CHECK (origin_country ~ '^[a-z]{2}$'),
    material          TEXT,
    status            JSONB NOT NULL DEFAULT '{"phase": "draft", "conditions": []}',
    labels            JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations       JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts         TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts         TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT product_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('draft', 'proposed', 'published', 'rejected', 'archived'), false)
    ),
    CONSTRAINT product_handle_key UNIQUE (handle)
);
CREATE INDEX product_labels_idx ON product USING gin (labels);
CREATE INDEX product_phase_idx ON product ((status ->> 'phase'));
CREATE INDEX product_product_type_uid_idx ON product (product_type_uid);
CREATE INDEX product_collection_uid_idx ON product (collection_uid);
CREATE UNIQUE INDEX product_external_id_key ON product (external_id);
CREATE INDEX product_title_idx ON product (title);
CREATE INDEX product_published_ts_idx ON product (published_ts);
CREATE INDEX product_tag_uids_idx ON product USING gin (tag_uids);
COMMENT ON TABLE product IS 'A product offered for sale (Medusa''s product; the legacy dim_products). Sellable units are its product_variant rows.';
COMMENT ON COLUMN product.title IS 'Product name shown to customers and staff.';
COMMENT ON COLUMN product.handle IS 'URL-safe unique slug, e.g. clear-magsafe-case.';
COMMENT ON COLUMN product.subtitle IS 'Short secondary title.';
COMMENT ON COLUMN product.description IS 'Long description (may contain HTML from Shopify).';
COMMENT ON COLUMN product.vendor IS 'Vendor or brand name (Shopify vendor).';
COMMENT ON COLUMN product.is_giftcard IS 'True if the product is a gift card.';
COMMENT ON COLUMN product.discountable IS 'False if promotions must never apply to the product.';
COMMENT ON COLUMN product.thumbnail IS 'URL of the thumbnail image.';
COMMENT ON COLUMN product.product_type_uid IS 'Type of the product. ref: product_type.uid';
COMMENT ON COLUMN product.collection_uid IS 'Collection the product belongs to. ref: product_collection.uid';
COMMENT ON COLUMN product.external_id IS 'Identifier of the product in the source system (Shopify product GID).';
COMMENT ON COLUMN product.published_ts IS 'When the product was first published (launch day for the top_riser classification).';
COMMENT ON COLUMN product.tag_uids IS 'Tags attached to the product: JSON array of product_tag uids.';
COMMENT ON COLUMN product.weight IS 'Shipping weight of the product. unit: grams';
COMMENT ON COLUMN product.length IS 'Length of the product. unit: millimeters';
COMMENT ON COLUMN product.height IS 'Height of the product. unit: millimeters';
COMMENT ON COLUMN product.width IS 'Width of the product. unit: millimeters';
COMMENT ON COLUMN product.hs_code IS 'Harmonized System customs code.';
COMMENT ON COLUMN product.mid_code IS 'Manufacturer identification code for US customs.';
COMMENT ON COLUMN product.origin_country IS 'ISO 3166-1 alpha-2 country of origin (lower case), for customs.';
COMMENT ON COLUMN product.material IS 'Material, for customs and display.';
COMMENT ON COLUMN product.status IS 'Lifecycle: draft → proposed → published, or rejected; archived ends it. terminal: archived';

CREATE TABLE product_variant (
    uid               TEXT PRIMARY KEY CHECK (uid ~ '^var_[0-9A-HJKMNP-TV-Z]{26}$'),
    product_uid       TEXT NOT NULL,
    title             TEXT NOT NULL,
    sku               TEXT,
    barcode           TEXT,
    ean               TEXT,
    upc               TEXT,
    external_id       TEXT,
    allow_backorder   BOOLEAN NOT NULL DEFAULT false,
    manage_inventory  BOOLEAN NOT NULL DEFAULT true,
    variant_rank      INTEGER NOT NULL DEFAULT 0,
    weight            NUMERIC(12, 3),
    length            NUMERIC(12, 3),
    height            NUMERIC(12, 3),
    width             NUMERIC(12, 3),
    hs_code           TEXT,
    mid_code          TEXT,
    origin_country    TEXT CHECK (origin_country ~ '^[a-z]{2}$'),
    material          TEXT,
    status            JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels            JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations       JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts         TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts         TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT product_variant_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'archived'), false)
    )
);
CREATE INDEX product_variant_labels_idx ON product_variant USING gin (labels);
CREATE INDEX product_variant_phase_idx ON product_variant ((status ->> 'phase'));
CREATE INDEX product_variant_product_uid_idx ON product_variant (product_uid);
CREATE UNIQUE INDEX product_variant_sku_key ON product_variant (sku);
CREATE INDEX product_variant_barcode_idx ON product_variant (barcode);
CREATE UNIQUE INDEX product_variant_external_id_key ON product_variant (external_id);
COMMENT ON TABLE product_variant IS 'A sellable variant of a product, e.g. one phone model and colour (Medusa''s product_variant).';
COMMENT ON COLUMN product_variant.product_uid IS 'Product the variant belongs to. ref: product.uid';
COMMENT ON COLUMN product_variant.title IS 'Variant name, e.g. iPhone 15 / Clear.';
COMMENT ON COLUMN product_variant.sku IS 'Stock keeping unit; unique over all variants.';
COMMENT ON COLUMN product_variant.barcode IS 'Barcode printed on the item.';
COMMENT ON COLUMN product_variant.ean IS 'European Article Number.';
COMMENT ON COLUMN product_variant.upc IS 'Universal Product Code.';
COMMENT ON COLUMN product_variant.external_id IS 'Identifier of the variant in the source system (Shopify variant GID).';
COMMENT ON COLUMN product_variant.allow_backorder IS 'True if the variant may be ordered when out of stock.';
COMMENT ON COLUMN product_variant.manage_inventory IS 'True if stock is tracked through inventory_item.';
COMMENT ON COLUMN product_variant.variant_rank IS 'Display order of the variant within its product (ascending).';
COMMENT ON COLUMN product_variant.weight IS 'Shipping weight of the variant. unit: grams';
COMMENT ON COLUMN product_variant.length IS 'Length of the variant. unit: millimeters';
COMMENT ON COLUMN product_variant.height IS 'Height of the variant. unit: millimeters';
COMMENT ON COLUMN product_variant.width IS 'Width of the variant. unit: millimeters';
COMMENT ON COLUMN product_variant.hs_code IS 'Harmonized System customs code.';
COMMENT ON COLUMN product_variant.mid_code IS 'Manufacturer identification code for US customs.';
COMMENT ON COLUMN product_variant.origin_country IS 'ISO 3166-1 alpha-2 country of origin (lower case), for customs.';
COMMENT ON COLUMN product_variant.material IS 'Material, for customs and display.';
COMMENT ON COLUMN product_variant.status IS 'Lifecycle: active until archived (soft delete). terminal: archived';

CREATE TABLE product_option (
    uid             TEXT PRIMARY KEY CHECK (uid ~ '^opt_[0-9A-HJKMNP-TV-Z]{26}$'),
    product_uid     TEXT NOT NULL,
    title           TEXT NOT NULL,
    status          JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT product_option_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'archived'), false)
    ),
    CONSTRAINT product_option_product_title_key UNIQUE (product_uid, title)
);
CREATE INDEX product_option_labels_idx ON product_option USING gin (labels);
CREATE INDEX product_option_phase_idx ON product_option ((status ->> 'phase'));
COMMENT ON TABLE product_option IS 'An option axis of a product, e.g. Phone model or Colour (Medusa''s product_option).';
COMMENT ON COLUMN product_option.product_uid IS 'Product the option belongs to. ref: product.uid';
COMMENT ON COLUMN product_option.title IS 'Option name, unique within the product.';
COMMENT ON COLUMN product_option.status IS 'Lifecycle: active until archived (soft delete). terminal: archived';

CREATE TABLE product_option_value (
    uid             TEXT PRIMARY KEY CHECK (uid ~ '^optval_[0-9A-HJKMNP-TV-Z]{26}$'),
    option_uid      TEXT NOT NULL,
    value           TEXT NOT NULL,
    status          JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT product_option_value_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'archived'), false)
    ),
    CONSTRAINT product_option_value_option_value_key UNIQUE (option_uid, value)
);
CREATE INDEX product_option_value_labels_idx ON product_option_value USING gin (labels);
CREATE INDEX product_option_value_phase_idx ON product_option_value ((status ->> 'phase'));
COMMENT ON TABLE product_option_value IS 'One value of a product option, e.g. iPhone 15 (Medusa''s product_option_value).';
COMMENT ON COLUMN product_option_value.option_uid IS 'Option the value belongs to. ref: product_option.uid';
COMMENT ON COLUMN product_option_value.value IS 'The value, unique within the option.';
COMMENT ON COLUMN product_option_value.status IS 'Lifecycle: active until archived (soft delete). terminal: archived';

CREATE TABLE product_variant_option (
    uid               TEXT PRIMARY KEY CHECK (uid ~ '^varopt_[0-9A-HJKMNP-TV-Z]{26}$'),
    variant_uid       TEXT NOT NULL,
    option_value_uid  TEXT NOT NULL,
    status            JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels            JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations       JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts         TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts         TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT product_variant_option_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'archived'), false)
    ),
    CONSTRAINT product_variant_option_variant_value_key UNIQUE (variant_uid, option_value_uid)
);
CREATE INDEX product_variant_option_labels_idx ON product_variant_option USING gin (labels);
CREATE INDEX product_variant_option_phase_idx ON product_variant_option ((status ->> 'phase'));
CREATE INDEX product_variant_option_option_value_uid_idx ON product_variant_option (option_value_uid);
COMMENT ON TABLE product_variant_option IS 'Which option value a variant has for each option (Medusa''s product_variant_option pivot).';
COMMENT ON COLUMN product_variant_option.variant_uid IS 'The variant. ref: product_variant.uid';
COMMENT ON COLUMN product_variant_option.option_value_uid IS 'The option value the variant takes. ref: product_option_value.uid';
COMMENT ON COLUMN product_variant_option.status IS 'Lifecycle: active until archived (soft delete). terminal: archived';

CREATE TABLE product_category (
    uid                  TEXT PRIMARY KEY CHECK (uid ~ '^pcat_[0-9A-HJKMNP-TV-Z]{26}$'),
    name                 TEXT NOT NULL,
    handle               TEXT NOT NULL CHECK (handle ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    description          TEXT,
    parent_category_uid  TEXT,
    mpath                TEXT NOT NULL,
    rank                 INTEGER NOT NULL DEFAULT 0,
    is_internal          BOOLEAN NOT NULL DEFAULT false,
    status               JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels               JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts            TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts            TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT product_category_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'inactive', 'archived'), false)
    ),
    CONSTRAINT product_category_handle_key UNIQUE (handle)
);
CREATE INDEX product_category_labels_idx ON product_category USING gin (labels);
CREATE INDEX product_category_phase_idx ON product_category ((status ->> 'phase'));
CREATE INDEX product_category_parent_category_uid_idx ON product_category (parent_category_uid);
CREATE INDEX product_category_mpath_idx ON product_category (mpath);
COMMENT ON TABLE product_category IS 'A node of the product category tree (Medusa''s product_category); also holds the legacy tag groups (tag_groups) that group product_tag rows.';
COMMENT ON COLUMN product_category.name IS 'Category name.';
COMMENT ON COLUMN product_category.handle IS 'URL-safe unique slug.';
COMMENT ON COLUMN product_category.description IS 'Free-text description.';
COMMENT ON COLUMN product_category.parent_category_uid IS 'Parent category; NULL for a root. ref: product_category.uid';
COMMENT ON COLUMN product_category.mpath IS 'Materialized path: dot-separated uids from the root to this category, maintained by the application.';
COMMENT ON COLUMN product_category.rank IS 'Display order among siblings (ascending).';
COMMENT ON COLUMN product_category.is_internal IS 'True if the category is for staff only (e.g. a tag group) and never shown to customers.';
COMMENT ON COLUMN product_category.status IS 'Lifecycle: active (visible) or inactive (hidden); archived ends it. terminal: archived';

CREATE TABLE product_tag (
    uid             TEXT PRIMARY KEY CHECK (uid ~ '^ptag_[0-9A-HJKMNP-TV-Z]{26}$'),
    category_name   TEXT NOT NULL,
    tag_name        TEXT NOT NULL,
    category_uid    TEXT,
    status          JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT product_tag_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'archived'), false)
    ),
    CONSTRAINT product_tag_category_tag_key UNIQUE (category_name, tag_name)
);
CREATE INDEX product_tag_labels_idx ON product_tag USING gin (labels);
CREATE INDEX product_tag_phase_idx ON product_tag ((status ->> 'phase'));
CREATE INDEX product_tag_category_uid_idx ON product_tag (category_uid);
CREATE INDEX product_tag_tag_name_idx ON product_tag (tag_name);
COMMENT ON TABLE product_tag IS 'A product tag within a tag category (Medusa''s product_tag; the legacy tag_classifications). Products list their tags in product.tag_uids.';
COMMENT ON COLUMN product_tag.category_name IS 'Name of the tag category (tag group), e.g. style or theme.';
COMMENT ON COLUMN product_tag.tag_name IS 'The tag itself, unique within its category.';
COMMENT ON COLUMN product_tag.category_uid IS 'Product category that models the tag group, when one exists. ref: product_category.uid';
COMMENT ON COLUMN product_tag.status IS 'Lifecycle: active until archived (soft delete). terminal: archived';

CREATE TABLE product_image (
    uid             TEXT PRIMARY KEY CHECK (uid ~ '^img_[0-9A-HJKMNP-TV-Z]{26}$'),
    product_uid     TEXT NOT NULL,
    url             TEXT NOT NULL,
    image_rank      INTEGER NOT NULL DEFAULT 0,
    status          JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT product_image_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'archived'), false)
    )
);
CREATE INDEX product_image_labels_idx ON product_image USING gin (labels);
CREATE INDEX product_image_phase_idx ON product_image ((status ->> 'phase'));
CREATE INDEX product_image_product_uid_idx ON product_image (product_uid);
COMMENT ON TABLE product_image IS 'An image of a product (Medusa''s product_image).';
COMMENT ON COLUMN product_image.product_uid IS 'Product the image belongs to. ref: product.uid';
COMMENT ON COLUMN product_image.url IS 'URL of the image.';
COMMENT ON COLUMN product_image.image_rank IS 'Display order of the image within its product (ascending).';
COMMENT ON COLUMN product_image.status IS 'Lifecycle: active until archived (soft delete). terminal: archived';

CREATE TABLE product_collection (
    uid             TEXT PRIMARY KEY CHECK (uid ~ '^pcol_[0-9A-HJKMNP-TV-Z]{26}$'),
    title           TEXT NOT NULL,
    handle          TEXT NOT NULL CHECK (handle ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    external_id     TEXT,
    status          JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT product_collection_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'archived'), false)
    ),
    CONSTRAINT product_collection_handle_key UNIQUE (handle)
);
CREATE INDEX product_collection_labels_idx ON product_collection USING gin (labels);
CREATE INDEX product_collection_phase_idx ON product_collection ((status ->> 'phase'));
CREATE UNIQUE INDEX product_collection_external_id_key ON product_collection (external_id);
COMMENT ON TABLE product_collection IS 'A merchandising collection of products (Medusa''s product_collection).';
COMMENT ON COLUMN product_collection.title IS 'Collection name.';
COMMENT ON COLUMN product_collection.handle IS 'URL-safe unique slug.';
COMMENT ON COLUMN product_collection.external_id IS 'Identifier of the collection in the source system (Shopify collection GID).';
COMMENT ON COLUMN product_collection.status IS 'Lifecycle: active until archived (soft delete). terminal: archived';

CREATE TABLE product_type (
    uid             TEXT PRIMARY KEY CHECK (uid ~ '^ptyp_[0-9A-HJKMNP-TV-Z]{26}$'),
    value           TEXT NOT NULL,
    status          JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT product_type_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'archived'), false)
    ),
    CONSTRAINT product_type_value_key UNIQUE (value)
);
CREATE INDEX product_type_labels_idx ON product_type USING gin (labels);
CREATE INDEX product_type_phase_idx ON product_type ((status ->> 'phase'));
COMMENT ON TABLE product_type IS 'A product type, e.g. Phone case or Screen protector (Medusa''s product_type).';
COMMENT ON COLUMN product_type.value IS 'The type name, unique.';
COMMENT ON COLUMN product_type.status IS 'Lifecycle: active until archived (soft delete). terminal: archived';
