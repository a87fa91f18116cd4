
-- Module 06: Order
-- Orders after Medusa v2's order module, with order renamed order_header (the legacy
-- raw_shopify_orders): line items (order_line_item, the legacy raw_shopify_line_items) with their tax
-- lines and promotion adjustments, shipping methods with theirs, per-version totals snapshots
-- (order_summary), versioned edits (order_change, order_change_action), money movements recorded
-- against the order (order_transaction, pointing at payment_capture / payment_refund) and the shipping
-- and billing addresses (order_address). Orders point at store, customer, region and sales_channel;
-- payments, fulfillments, promotions and carts reach orders through link tables (module 14), returns,
-- claims and exchanges through module 13.

CREATE TABLE order_header (
    uid                 TEXT PRIMARY KEY CHECK (uid ~ '^ord_[0-9A-HJKMNP-TV-Z]{26}$'),
    order_number        TEXT NOT NULL,
    display_id          BIGINT NOT NULL CHECK (display_id > 0),
    external_id         TEXT,
    store_uid           TEXT NOT NULL,
    customer_uid        TEXT,
    region_uid          TEXT,
    sales_channel_uid   TEXT,
    email               TEXT,
    currency_code       TEXT NOT NULL CHECK (currency_code ~ '^[a-z]{3}$'),
    source_channel      TEXT NOT NULL DEFAULT 'web' CHECK (source_channel IN ('web', 'pos', 'shopify', 'api', 'import')),
    version             INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    no_notification     BOOLEAN NOT NULL DEFAULT false,
    item_total          NUMERIC(20, 4) NOT NULL,
    raw_item_total      JSONB NOT NULL CHECK (jsonb_typeof(raw_item_total) = 'object'),
    subtotal            NUMERIC(20, 4) NOT NULL,
    raw_subtotal        JSONB NOT NULL CHECK (jsonb_typeof(raw_subtotal) = 'object'),
    discount_total      NUMERIC(20, 4),
    raw_discount_total  JSONB CHECK (jsonb_typeof(raw_discount_total) = 'object'),
    shipping_total      NUMERIC(20, 4) NOT NULL,
    raw_shipping_total  JSONB NOT NULL CHECK (jsonb_typeof(raw_shipping_total) = 'object'),
    tax_total           NUMERIC(20, 4) NOT NULL,
    raw_tax_total       JSONB NOT NULL CHECK (jsonb_typeof(raw_tax_total) = 'object'),
    total               NUMERIC(20, 4) NOT NULL,
    raw_total           JSONB NOT NULL CHECK (jsonb_typeof(raw_total) = 'object'),
    tax_rate            NUMERIC(9, 6) NOT NULL DEFAULT 0,
    quantity            INTEGER NOT NULL CHECK (quantity >= 0),
    placed_ts           TIMESTAMPTZ NOT NULL,
    canceled_ts         TIMESTAMPTZ,
    status              JSONB NOT NULL DEFAULT '{"phase": "pending", "conditions": []}',
    labels              JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations         JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT order_header_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('draft', 'pending', 'requires_action', 'completed', 'canceled', 'archived'), false)
    ),
    CONSTRAINT order_header_order_number_key UNIQUE (store_uid, order_number),
    CONSTRAINT order_header_display_id_key UNIQUE (store_uid, display_id)
);
CREATE INDEX order_header_labels_idx ON order_header USING gin (labels);
CREATE INDEX order_header_phase_idx ON order_header ((status ->> 'phase'));
CREATE INDEX order_header_customer_uid_idx ON order_header (customer_uid);
CREATE INDEX order_header_region_uid_idx ON order_header (region_uid);
CREATE INDEX order_header_sales_channel_uid_idx ON order_header (sales_channel_uid);
CREATE INDEX order_header_email_idx ON order_header (email);
CREATE UNIQUE INDEX order_header_external_id_key ON order_header (external_id);
CREATE INDEX order_header_placed_ts_idx ON order_header (placed_ts);
CREATE INDEX order_header_order_number_idx ON order_header (order_number);
CREATE INDEX order_header_update_ts_idx ON order_header (update_ts);
COMMENT ON TABLE order_header IS 'An order placed in a store (Medusa''s order, renamed). One row per order; its lines are order_line_item.';
COMMENT ON COLUMN order_header.order_number IS 'Human-facing order number shown to staff and customers, e.g. #1001; unique per store.';
COMMENT ON COLUMN order_header.display_id IS 'Sequential number of the order within its store (Medusa''s display_id; Shopify''s order_number); order_number is its formatted form.';
COMMENT ON COLUMN order_header.external_id IS 'Identifier of the order in the source system (Shopify order GID), when imported.';
COMMENT ON COLUMN order_header.store_uid IS 'Store the order was placed in. ref: store.uid';
COMMENT ON COLUMN order_header.customer_uid IS 'Customer who placed the order; NULL for guest checkouts. ref: customer.uid';
COMMENT ON COLUMN order_header.region_uid IS 'Region the order was placed in (drives currency, tax and shipping). ref: region.uid';
COMMENT ON COLUMN order_header.sales_channel_uid IS 'Sales channel the order was placed through. ref: sales_channel.uid';
COMMENT ON COLUMN order_header.email IS 'Contact email captured at checkout.';
COMMENT ON COLUMN order_header.currency_code IS 'ISO 4217 currency code (lower case) of every amount on the order.';
COMMENT ON COLUMN order_header.source_channel IS 'Where the order came from.';
COMMENT ON COLUMN order_header.version IS 'Current version of the order; raised by each confirmed order_change.';
COMMENT ON COLUMN order_header.no_notification IS 'True if no notifications are sent to the customer about this order.';
COMMENT ON COLUMN order_header.item_total IS 'Sum of line-item totals, tax included.';
COMMENT ON COLUMN order_header.subtotal IS 'Sum of line-item subtotals before discounts, taxes and shipping.';
COMMENT ON COLUMN order_header.discount_total IS 'Sum of discounts applied to the order.';
COMMENT ON COLUMN order_header.shipping_total IS 'Sum of shipping-method totals, tax included.';
COMMENT ON COLUMN order_header.tax_total IS 'Sum of all taxes on the order.';
COMMENT ON COLUMN order_header.total IS 'Grand total the customer pays: items and shipping, after discounts, tax included.';
COMMENT ON COLUMN order_header.tax_rate IS 'Effective tax rate. unit: percent';
COMMENT ON COLUMN order_header.quantity IS 'Total number of units over all lines.';
COMMENT ON COLUMN order_header.placed_ts IS 'When the customer placed the order.';
COMMENT ON COLUMN order_header.canceled_ts IS 'When the order was canceled; NULL unless canceled.';
COMMENT ON COLUMN order_header.status IS 'Lifecycle: draft → pending (requires_action while blocked) → completed; canceled or archived end it. terminal: archived, canceled';

CREATE TABLE order_line_item (
    uid                        TEXT PRIMARY KEY CHECK (uid ~ '^ordli_[0-9A-HJKMNP-TV-Z]{26}$'),
    order_uid                  TEXT NOT NULL,
    product_uid                TEXT,
    variant_uid                TEXT,
    external_id                TEXT,
    title                      TEXT NOT NULL,
    subtitle                   TEXT,
    thumbnail                  TEXT,
    product_title              TEXT,
    product_subtitle           TEXT,
    product_description        TEXT,
    product_handle             TEXT,
    variant_title              TEXT,
    variant_sku                TEXT,
    variant_barcode            TEXT,
    variant_option_values      JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(variant_option_values) = 'object'),
    quantity                   INTEGER NOT NULL CHECK (quantity >= 0),
    fulfilled_quantity         INTEGER NOT NULL DEFAULT 0 CHECK (fulfilled_quantity >= 0),
    shipped_quantity           INTEGER NOT NULL DEFAULT 0 CHECK (shipped_quantity >= 0),
    returned_quantity          INTEGER NOT NULL DEFAULT 0 CHECK (returned_quantity >= 0),
    unit_price                 NUMERIC(20, 4) NOT NULL,
    raw_unit_price             JSONB NOT NULL CHECK (jsonb_typeof(raw_unit_price) = 'object'),
    compare_at_unit_price      NUMERIC(20, 4),
    raw_compare_at_unit_price  JSONB CHECK (jsonb_typeof(raw_compare_at_unit_price) = 'object'),
    subtotal                   NUMERIC(20, 4) NOT NULL,
    raw_subtotal               JSONB NOT NULL CHECK (jsonb_typeof(raw_subtotal) = 'object'),
    discount_total             NUMERIC(20, 4) NOT NULL,
    raw_discount_total         JSONB NOT NULL CHECK (jsonb_typeof(raw_discount_total) = 'object'),
    tax_total                  NUMERIC(20, 4) NOT NULL,
    raw_tax_total              JSONB NOT NULL CHECK (jsonb_typeof(raw_tax_total) = 'object'),
    total                      NUMERIC(20, 4) NOT NULL,
    raw_total                  JSONB NOT NULL CHECK (jsonb_typeof(raw_total) = 'object'),
    requires_shipping          BOOLEAN NOT NULL DEFAULT true,
    is_giftcard                BOOLEAN NOT NULL DEFAULT false,
    is_discountable            BOOLEAN NOT NULL DEFAULT true,
    is_tax_inclusive           BOOLEAN NOT NULL DEFAULT false,
    is_custom_price            BOOLEAN NOT NULL DEFAULT false,
    status                     JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels                     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations                JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts                  TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts                  TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT order_line_item_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'canceled', 'archived'), false)
    )
);
CREATE INDEX order_line_item_labels_idx ON order_line_item USING gin (labels);
CREATE INDEX order_line_item_phase_idx ON order_line_item ((status ->> 'phase'));
CREATE INDEX order_line_item_order_uid_idx ON order_line_item (order_uid);
CREATE INDEX order_line_item_product_uid_idx ON order_line_item (product_uid);
CREATE INDEX order_line_item_variant_uid_idx ON order_line_item (variant_uid);
CREATE UNIQUE INDEX order_line_item_external_id_key ON order_line_item (external_id);
CREATE INDEX order_line_item_variant_sku_idx ON order_line_item (variant_sku);
COMMENT ON TABLE order_line_item IS 'A line of an order: one variant, its quantity and prices, with a snapshot of the product at purchase (Medusa''s order_line_item and order_item merged; the legacy raw_shopify_line_items).';
COMMENT ON COLUMN order_line_item.order_uid IS 'Order the line belongs to. ref: order_header.uid';
COMMENT ON COLUMN order_line_item.product_uid IS 'Product bought; NULL if since deleted or never in the catalogue. ref: product.uid';
COMMENT ON COLUMN order_line_item.variant_uid IS 'Variant bought; NULL if since deleted or never in the catalogue. ref: product_variant.uid';
COMMENT ON COLUMN order_line_item.external_id IS 'Identifier of the line in the source system (Shopify line item GID).';
COMMENT ON COLUMN order_line_item.title IS 'Line title shown to the customer.';
COMMENT ON COLUMN order_line_item.subtitle IS 'Line subtitle.';
COMMENT ON COLUMN order_line_item.thumbnail IS 'URL of the thumbnail at the time of purchase.';
COMMENT ON COLUMN order_line_item.product_title IS 'Product title at the time of purchase.';
COMMENT ON COLUMN order_line_item.product_subtitle IS 'Product subtitle at the time of purchase.';
COMMENT ON COLUMN order_line_item.product_description IS 'Product description at the time of purchase.';
COMMENT ON COLUMN order_line_item.product_handle IS 'Product handle at the time of purchase.';
COMMENT ON COLUMN order_line_item.variant_title IS 'Variant title at the time of purchase.';
COMMENT ON COLUMN order_line_item.variant_sku IS 'Variant SKU at the time of purchase.';
COMMENT ON COLUMN order_line_item.variant_barcode IS 'Variant barcode at the time of purchase.';
COMMENT ON COLUMN order_line_item.variant_option_values IS 'Option values of the variant at the time of purchase: object mapping option title to value.';
COMMENT ON COLUMN order_line_item.quantity IS 'Units ordered (current order version).';
COMMENT ON COLUMN order_line_item.fulfilled_quantity IS 'Units fulfilled so far.';
COMMENT ON COLUMN order_line_item.shipped_quantity IS 'Units shipped so far.';
COMMENT ON COLUMN order_line_item.returned_quantity IS 'Units returned and received so far.';
COMMENT ON COLUMN order_line_item.unit_price IS 'Price of one unit.';
COMMENT ON COLUMN order_line_item.compare_at_unit_price IS 'Original unit price before a sale, shown struck through.';
COMMENT ON COLUMN order_line_item.subtotal IS 'unit_price × quantity, before discounts and taxes.';
COMMENT ON COLUMN order_line_item.discount_total IS 'Sum of the line''s adjustments.';
COMMENT ON COLUMN order_line_item.tax_total IS 'Sum of the line''s tax lines.';
COMMENT ON COLUMN order_line_item.total IS 'Line total after discounts, tax included.';
COMMENT ON COLUMN order_line_item.requires_shipping IS 'False if the line needs no shipping.';
COMMENT ON COLUMN order_line_item.is_giftcard IS 'True if the line is a gift card.';
COMMENT ON COLUMN order_line_item.is_discountable IS 'False if promotions must not apply to the line.';
COMMENT ON COLUMN order_line_item.is_tax_inclusive IS 'True if unit_price already includes tax.';
COMMENT ON COLUMN order_line_item.is_custom_price IS 'True if unit_price was set by hand instead of from pricing.';
COMMENT ON COLUMN order_line_item.status IS 'Lifecycle: active; canceled (removed by an order edit) or archived end it. terminal: archived, canceled';

CREATE TABLE order_line_item_tax_line (
    uid             TEXT PRIMARY KEY CHECK (uid ~ '^ordlitx_[0-9A-HJKMNP-TV-Z]{26}$'),
    line_item_uid   TEXT NOT NULL,
    code            TEXT NOT NULL,
    description     TEXT,
    rate            NUMERIC(9, 6) NOT NULL,
    tax_rate_uid    TEXT,
    provider_uid    TEXT,
    amount          NUMERIC(20, 4) NOT NULL,
    raw_amount      JSONB NOT NULL CHECK (jsonb_typeof(raw_amount) = 'object'),
    status          JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT order_line_item_tax_line_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'archived'), false)
    )
);
CREATE INDEX order_line_item_tax_line_labels_idx ON order_line_item_tax_line USING gin (labels);
CREATE INDEX order_line_item_tax_line_phase_idx ON order_line_item_tax_line ((status ->> 'phase'));
CREATE INDEX order_line_item_tax_line_line_item_uid_idx ON order_line_item_tax_line (line_item_uid);
CREATE INDEX order_line_item_tax_line_tax_rate_uid_idx ON order_line_item_tax_line (tax_rate_uid);
CREATE INDEX order_line_item_tax_line_provider_uid_idx ON order_line_item_tax_line (provider_uid);
COMMENT ON TABLE order_line_item_tax_line IS 'A tax applied to an order line (Medusa''s order_line_item_tax_line).';
COMMENT ON COLUMN order_line_item_tax_line.line_item_uid IS 'The taxed line. ref: order_line_item.uid';
COMMENT ON COLUMN order_line_item_tax_line.code IS 'Tax code, e.g. VAT or a provider code.';
COMMENT ON COLUMN order_line_item_tax_line.description IS 'Human-readable description of the tax.';
COMMENT ON COLUMN order_line_item_tax_line.rate IS 'Tax rate applied. unit: percent';
COMMENT ON COLUMN order_line_item_tax_line.tax_rate_uid IS 'Tax rate the line was computed from, if any. ref: tax_rate.uid';
COMMENT ON COLUMN order_line_item_tax_line.provider_uid IS 'Tax provider that computed the line, if any. ref: tax_provider.uid';
COMMENT ON COLUMN order_line_item_tax_line.amount IS 'Tax amount for the line.';
COMMENT ON COLUMN order_line_item_tax_line.status IS 'Lifecycle: active until archived (soft delete). terminal: archived';

CREATE TABLE order_line_item_adjustment (
    uid             TEXT PRIMARY KEY CHECK (uid ~ '^ordliadj_[0-9A-HJKMNP-TV-Z]{26}$'),
    line_item_uid   TEXT NOT NULL,
    code            TEXT,
    description     TEXT,
    promotion_uid   TEXT,
    amount          NUMERIC(20, 4) NOT NULL,
    raw_amount      JSONB NOT NULL CHECK (jsonb_typeof(raw_amount) = 'object'),
    status          JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT order_line_item_adjustment_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'archived'), false)
    )
);
CREATE INDEX order_line_item_adjustment_labels_idx ON order_line_item_adjustment USING gin (labels);
CREATE INDEX order_line_item_adjustment_phase_idx ON order_line_item_adjustment ((status ->> 'phase'));
CREATE INDEX order_line_item_adjustment_line_item_uid_idx ON order_line_item_adjustment (line_item_uid);
CREATE INDEX order_line_item_adjustment_promotion_uid_idx ON order_line_item_adjustment (promotion_uid);
CREATE INDEX order_line_item_adjustment_code_idx ON order_line_item_adjustment (code);
COMMENT ON TABLE order_line_item_adjustment IS 'A discount applied to an order line by a promotion (Medusa''s order_line_item_adjustment).';
COMMENT ON COLUMN order_line_item_adjustment.line_item_uid IS 'The adjusted line. ref: order_line_item.uid';
COMMENT ON COLUMN order_line_item_adjustment.code IS 'Promotion or discount code that produced the adjustment.';
COMMENT ON COLUMN order_line_item_adjustment.description IS 'Human-readable description of the adjustment.';
COMMENT ON COLUMN order_line_item_adjustment.promotion_uid IS 'Promotion that produced the adjustment, if any. ref: promotion.uid';
COMMENT ON COLUMN order_line_item_adjustment.amount IS 'Discount amount (positive) taken off the line.';
COMMENT ON COLUMN order_line_item_adjustment.status IS 'Lifecycle: active until archived (soft delete). terminal: archived';

CREATE TABLE order_shipping_method (
    uid                  TEXT PRIMARY KEY CHECK (uid ~ '^ordsm_[0-9A-HJKMNP-TV-Z]{26}$'),
    order_uid            TEXT NOT NULL,
    version              INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    name                 TEXT NOT NULL,
    description          TEXT,
    shipping_option_uid  TEXT,
    amount               NUMERIC(20, 4) NOT NULL,
    raw_amount           JSONB NOT NULL CHECK (jsonb_typeof(raw_amount) = 'object'),
    is_tax_inclusive     BOOLEAN NOT NULL DEFAULT false,
    is_custom_amount     BOOLEAN NOT NULL DEFAULT false,
    data                 JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(data) = 'object'),
    status               JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels               JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts            TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts            TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT order_shipping_method_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'canceled', 'archived'), false)
    )
);
CREATE INDEX order_shipping_method_labels_idx ON order_shipping_method USING gin (labels);
CREATE INDEX order_shipping_method_phase_idx ON order_shipping_method ((status ->> 'phase'));
CREATE INDEX order_shipping_method_order_uid_idx ON order_shipping_method (order_uid);
CREATE INDEX order_shipping_method_shipping_option_uid_idx ON order_shipping_method (shipping_option_uid);
COMMENT ON TABLE order_shipping_method IS 'A shipping method chosen for an order (Medusa''s order_shipping_method with order_shipping merged).';
COMMENT ON COLUMN order_shipping_method.order_uid IS 'Order the shipping method belongs to. ref: order_header.uid';
COMMENT ON COLUMN order_shipping_method.version IS 'Order version in which the method was added.';
COMMENT ON COLUMN order_shipping_method.name IS 'Name shown to the customer, e.g. Standard shipping.';
COMMENT ON COLUMN order_shipping_method.description IS 'Description shown to the customer.';
COMMENT ON COLUMN order_shipping_method.shipping_option_uid IS 'Shipping option the method was created from. ref: shipping_option.uid';
COMMENT ON COLUMN order_shipping_method.amount IS 'Shipping price before discounts.';
COMMENT ON COLUMN order_shipping_method.is_tax_inclusive IS 'True if amount already includes tax.';
COMMENT ON COLUMN order_shipping_method.is_custom_amount IS 'True if amount was set by hand instead of from the option''s price.';
COMMENT ON COLUMN order_shipping_method.data IS 'Provider-specific data for the fulfillment provider (e.g. a pickup point id).';
COMMENT ON COLUMN order_shipping_method.status IS 'Lifecycle: active; canceled (removed by an order edit) or archived end it. terminal: archived, canceled';

CREATE TABLE order_shipping_method_tax_line (
    uid                  TEXT PRIMARY KEY CHECK (uid ~ '^ordsmtx_[0-9A-HJKMNP-TV-Z]{26}$'),
    shipping_method_uid  TEXT NOT NULL,
    code                 TEXT NOT NULL,
    description          TEXT,
    rate                 NUMERIC(9, 6) NOT NULL,
    tax_rate_uid         TEXT,
    provider_uid         TEXT,
    amount               NUMERIC(20, 4) NOT NULL,
    raw_amount           JSONB NOT NULL CHECK (jsonb_typeof(raw_amount) = 'object'),
    status               JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels               JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts            TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts            TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT order_shipping_method_tax_line_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'archived'), false)
    )
);
CREATE INDEX order_shipping_method_tax_line_labels_idx ON order_shipping_method_tax_line USING gin (labels);
CREATE INDEX order_shipping_method_tax_line_phase_idx ON order_shipping_method_tax_line ((status ->> 'phase'));
CREATE INDEX order_shipping_method_tax_line_shipping_method_uid_idx ON order_shipping_method_tax_line (shipping_method_uid);
CREATE INDEX order_shipping_method_tax_line_tax_rate_uid_idx ON order_shipping_method_tax_line (tax_rate_uid);
CREATE INDEX order_shipping_method_tax_line_provider_uid_idx ON order_shipping_method_tax_line (provider_uid);
COMMENT ON TABLE order_shipping_method_tax_line IS 'A tax applied to an order shipping method (Medusa''s order_shipping_method_tax_line).';
COMMENT ON COLUMN order_shipping_method_tax_line.shipping_method_uid IS 'The taxed line. ref: order_shipping_method.uid';
COMMENT ON COLUMN order_shipping_method_tax_line.code IS 'Tax code, e.g. VAT or a provider code.';
COMMENT ON COLUMN order_shipping_method_tax_line.description IS 'Human-readable description of the tax.';
COMMENT ON COLUMN order_shipping_method_tax_line.rate IS 'Tax rate applied. unit: percent';
COMMENT ON COLUMN order_shipping_method_tax_line.tax_rate_uid IS 'Tax rate the line was computed from, if any. ref: tax_rate.uid';
COMMENT ON COLUMN order_shipping_method_tax_line.provider_uid IS 'Tax provider that computed the line, if any. ref: tax_provider.uid';
COMMENT ON COLUMN order_shipping_method_tax_line.amount IS 'Tax amount for the shipping method.';
COMMENT ON COLUMN order_shipping_method_tax_line.status IS 'Lifecycle: active until archived (soft delete). terminal: archived';

CREATE TABLE order_shipping_method_adjustment (
    uid                  TEXT PRIMARY KEY CHECK (uid ~ '^ordsmadj_[0-9A-HJKMNP-TV-Z]{26}$'),
    shipping_method_uid  TEXT NOT NULL,
    code                 TEXT,
    description          TEXT,
    promotion_uid        TEXT,
    amount               NUMERIC(20, 4) NOT NULL,
    raw_amount           JSONB NOT NULL CHECK (jsonb_typeof(raw_amount) = 'object'),
    status               JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels               JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts            TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts            TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT order_shipping_method_adjustment_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'archived'), false)
    )
);
CREATE INDEX order_shipping_method_adjustment_labels_idx ON order_shipping_method_adjustment USING gin (labels);
CREATE INDEX order_shipping_method_adjustment_phase_idx ON order_shipping_method_adjustment ((status ->> 'phase'));
CREATE INDEX order_shipping_method_adjustment_shipping_method_uid_idx ON order_shipping_method_adjustment (shipping_method_uid);
CREATE INDEX order_shipping_method_adjustment_promotion_uid_idx ON order_shipping_method_adjustment (promotion_uid);
COMMENT ON TABLE order_shipping_method_adjustment IS 'A discount applied to an order shipping method by a promotion (Medusa''s order_shipping_method_adjustment).';
COMMENT ON COLUMN order_shipping_method_adjustment.shipping_method_uid IS 'The adjusted line. ref: order_shipping_method.uid';
COMMENT ON COLUMN order_shipping_method_adjustment.code IS 'Promotion or discount code that produced the adjustment.';
COMMENT ON COLUMN order_shipping_method_adjustment.description IS 'Human-readable description of the adjustment.';
COMMENT ON COLUMN order_shipping_method_adjustment.promotion_uid IS 'Promotion that produced the adjustment, if any. ref: promotion.uid';
COMMENT ON COLUMN order_shipping_method_adjustment.amount IS 'Discount amount (positive) taken off the shipping method.';
COMMENT ON COLUMN order_shipping_method_adjustment.status IS 'Lifecycle: active until archived (soft delete). terminal: archived';

CREATE TABLE order_summary (
    uid             TEXT PRIMARY KEY CHECK (uid ~ '^ordsum_[0-9A-HJKMNP-TV-Z]{26}$'),
    order_uid       TEXT NOT NULL,
    version         INTEGER NOT NULL CHECK (version >= 1),
    totals          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(totals) = 'object'),
    status          JSONB NOT NULL DEFAULT '{"phase": "current", "conditions": []}',
    labels          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT order_summary_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('current', 'superseded', 'archived'), false)
    ),
    CONSTRAINT order_summary_order_version_key UNIQUE (order_uid, version)
);
CREATE INDEX order_summary_labels_idx ON order_summary USING gin (labels);
CREATE INDEX order_summary_phase_idx ON order_summary ((status ->> 'phase'));
COMMENT ON TABLE order_summary IS 'Exact totals of one version of an order (Medusa''s order_summary).';
COMMENT ON COLUMN order_summary.order_uid IS 'The order. ref: order_header.uid';
COMMENT ON COLUMN order_summary.version IS 'Order version the totals belong to.';
COMMENT ON COLUMN order_summary.totals IS 'Exact totals snapshot: object of totals (paid_total, refunded_total, pending_difference, current_order_total, ...), each as an exact decimal string.';
COMMENT ON COLUMN order_summary.status IS 'Lifecycle: current until a newer version supersedes it; archived ends it. terminal: archived, superseded';

CREATE TABLE order_change (
    uid                    TEXT PRIMARY KEY CHECK (uid ~ '^ordch_[0-9A-HJKMNP-TV-Z]{26}$'),
    order_uid              TEXT NOT NULL,
    return_uid             TEXT,
    claim_uid              TEXT,
    exchange_uid           TEXT,
    version                INTEGER NOT NULL CHECK (version >= 1),
    change_type            TEXT NOT NULL DEFAULT 'edit' CHECK (change_type IN ('edit', 'return_request', 'return_receive', 'claim', 'exchange', 'transfer', 'update_order')),
    description            TEXT,
    internal_note          TEXT,
    created_by_uid         TEXT,
    requested_ts           TIMESTAMPTZ,
    confirmed_by_uid       TEXT,
    confirmed_ts           TIMESTAMPTZ,
    declined_reason        TEXT,
    declined_ts            TIMESTAMPTZ,
    canceled_ts            TIMESTAMPTZ,
    carry_over_promotions  BOOLEAN NOT NULL DEFAULT false,
    status                 JSONB NOT NULL DEFAULT '{"phase": "pending", "conditions": []}',
    labels                 JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations            JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts              TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts              TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT order_change_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('pending', 'requested', 'confirmed', 'declined', 'canceled'), false)
    )
);
CREATE INDEX order_change_labels_idx ON order_change USING gin (labels);
CREATE INDEX order_change_phase_idx ON order_change ((status ->> 'phase'));
CREATE INDEX order_change_order_uid_idx ON order_change (order_uid);
CREATE INDEX order_change_return_uid_idx ON order_change (return_uid);
CREATE INDEX order_change_claim_uid_idx ON order_change (claim_uid);
CREATE INDEX order_change_exchange_uid_idx ON order_change (exchange_uid);
CREATE INDEX order_change_created_by_uid_idx ON order_change (created_by_uid);
CREATE INDEX order_change_confirmed_by_uid_idx ON order_change (confirmed_by_uid);
COMMENT ON TABLE order_change IS 'A versioned change to an order (edit, return, claim, exchange, transfer), confirmed or declined as a whole (Medusa''s order_change).';
COMMENT ON COLUMN order_change.order_uid IS 'The changed order. ref: order_header.uid';
COMMENT ON COLUMN order_change.return_uid IS 'Return the change belongs to, if any. ref: return_request.uid';
COMMENT ON COLUMN order_change.claim_uid IS 'Claim the change belongs to, if any. ref: order_claim.uid';
COMMENT ON COLUMN order_change.exchange_uid IS 'Exchange the change belongs to, if any. ref: order_exchange.uid';
COMMENT ON COLUMN order_change.version IS 'Order version the change produces when confirmed.';
COMMENT ON COLUMN order_change.change_type IS 'What kind of change this is.';
COMMENT ON COLUMN order_change.description IS 'Description shown to the customer.';
COMMENT ON COLUMN order_change.internal_note IS 'Note for staff only.';
COMMENT ON COLUMN order_change.created_by_uid IS 'Staff user who created the change. ref: user_account.uid';
COMMENT ON COLUMN order_change.requested_ts IS 'When confirmation of the change was requested.';
COMMENT ON COLUMN order_change.confirmed_by_uid IS 'Staff user who confirmed the change. ref: user_account.uid';
COMMENT ON COLUMN order_change.confirmed_ts IS 'When the change was confirmed.';
COMMENT ON COLUMN order_change.declined_reason IS 'Why the change was declined.';
COMMENT ON COLUMN order_change.declined_ts IS 'When the change was declined.';
COMMENT ON COLUMN order_change.canceled_ts IS 'When the change was canceled.';
COMMENT ON COLUMN order_change.carry_over_promotions IS 'True if the order''s promotions apply to items the change adds.';
COMMENT ON COLUMN order_change.status IS 'Lifecycle: pending → requested → confirmed or declined; canceled ends it early. terminal: canceled, confirmed, declined';

CREATE TABLE order_change_action (
    uid                  TEXT PRIMARY KEY CHECK (uid ~ '^ordcha_[0-9A-HJKMNP-TV-Z]{26}$'),
    order_uid            TEXT NOT NULL,
    order_change_uid     TEXT NOT NULL,
    version              INTEGER NOT NULL CHECK (version >= 1),
    ordering             BIGINT NOT NULL,
    action               TEXT NOT NULL CHECK (action IN ('item_add', 'item_remove', 'item_update', 'fulfill_item', 'ship_item', 'deliver_item', 'cancel_item_fulfillment', 'return_item', 'receive_return_item', 'receive_damaged_return_item', 'cancel_return_item', 'write_off_item', 'reinstate_item', 'shipping_add', 'shipping_remove', 'shipping_update', 'promotion_add', 'promotion_remove', 'credit_line_add', 'transfer_customer', 'update_order_properties', 'cancel')),
    line_item_uid        TEXT,
    shipping_method_uid  TEXT,
    details              JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(details) = 'object'),
    amount               NUMERIC(20, 4),
    raw_amount           JSONB CHECK (jsonb_typeof(raw_amount) = 'object'),
    internal_note        TEXT,
    status               JSONB NOT NULL DEFAULT '{"phase": "pending", "conditions": []}',
    labels               JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts            TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts            TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT order_change_action_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('pending', 'applied', 'discarded'), false)
    )
);
CREATE INDEX order_change_action_labels_idx ON order_change_action USING gin (labels);
CREATE INDEX order_change_action_phase_idx ON order_change_action ((status ->> 'phase'));
CREATE INDEX order_change_action_order_uid_idx ON order_change_action (order_uid);
CREATE INDEX order_change_action_order_change_uid_idx ON order_change_action (order_change_uid);
CREATE INDEX order_change_action_line_item_uid_idx ON order_change_action (line_item_uid);
CREATE INDEX order_change_action_shipping_method_uid_idx ON order_change_action (shipping_method_uid);
COMMENT ON TABLE order_change_action IS 'One step of an order change, e.g. add an item or ship an item (Medusa''s order_change_action).';
COMMENT ON COLUMN order_change_action.order_uid IS 'The order. ref: order_header.uid';
COMMENT ON COLUMN order_change_action.order_change_uid IS 'Change the action belongs to. ref: order_change.uid';
COMMENT ON COLUMN order_change_action.version IS 'Order version the action belongs to.';
COMMENT ON COLUMN order_change_action.ordering IS 'Position of the action within the change (ascending).';
COMMENT ON COLUMN order_change_action.action IS 'What the action does.';
COMMENT ON COLUMN order_change_action.line_item_uid IS 'Line the action applies to, for item actions. ref: order_line_item.uid';
COMMENT ON COLUMN order_change_action.shipping_method_uid IS 'Shipping method the action applies to, for shipping actions. ref: order_shipping_method.uid';
COMMENT ON COLUMN order_change_action.details IS 'Action parameters, e.g. quantity, unit_price, reference_uid of a new item.';
COMMENT ON COLUMN order_change_action.amount IS 'Change in the order total caused by the action.';
COMMENT ON COLUMN order_change_action.internal_note IS 'Note for staff only.';
COMMENT ON COLUMN order_change_action.status IS 'Lifecycle: pending until applied with its change, or discarded. terminal: discarded, applied';

CREATE TABLE order_transaction (
    uid             TEXT PRIMARY KEY CHECK (uid ~ '^ordtx_[0-9A-HJKMNP-TV-Z]{26}$'),
    order_uid       TEXT NOT NULL,
    version         INTEGER NOT NULL CHECK (version >= 1),
    amount          NUMERIC(20, 4) NOT NULL,
    raw_amount      JSONB NOT NULL CHECK (jsonb_typeof(raw_amount) = 'object'),
    currency_code   TEXT NOT NULL CHECK (currency_code ~ '^[a-z]{3}$'),
    reference_kind  TEXT NOT NULL CHECK (reference_kind IN ('capture', 'refund')),
    capture_uid     TEXT,
    refund_uid      TEXT,
    status          JSONB NOT NULL DEFAULT '{"phase": "recorded", "conditions": []}',
    labels          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT order_transaction_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('recorded', 'voided'), false)
    )
);
CREATE INDEX order_transaction_labels_idx ON order_transaction USING gin (labels);
CREATE INDEX order_transaction_phase_idx ON order_transaction ((status ->> 'phase'));
CREATE INDEX order_transaction_order_uid_idx ON order_transaction (order_uid);
CREATE INDEX order_transaction_capture_uid_idx ON order_transaction (capture_uid);
CREATE INDEX order_transaction_refund_uid_idx ON order_transaction (refund_uid);
COMMENT ON TABLE order_transaction IS 'Money received or paid back for an order: a payment capture (positive amount) or a refund (negative amount) (Medusa''s order_transaction).';
COMMENT ON COLUMN order_transaction.order_uid IS 'The order. ref: order_header.uid';
COMMENT ON COLUMN order_transaction.version IS 'Order version the transaction was recorded in.';
COMMENT ON COLUMN order_transaction.amount IS 'Signed amount: positive for a capture, negative for a refund.';
COMMENT ON COLUMN order_transaction.currency_code IS 'ISO 4217 currency code (lower case) of amount.';
COMMENT ON COLUMN order_transaction.reference_kind IS 'What the transaction records; names which of capture_uid / refund_uid is set.';
COMMENT ON COLUMN order_transaction.capture_uid IS 'Capture recorded, when reference_kind is capture. ref: payment_capture.uid';
COMMENT ON COLUMN order_transaction.refund_uid IS 'Refund recorded, when reference_kind is refund. ref: payment_refund.uid';
COMMENT ON COLUMN order_transaction.status IS 'Lifecycle: recorded; voided ends it (e.g. a capture reverted by the provider). terminal: voided';

CREATE TABLE order_address (
    uid             TEXT PRIMARY KEY CHECK (uid ~ '^ordaddr_[0-9A-HJKMNP-TV-Z]{26}$'),
    order_uid       TEXT NOT NULL,
    address_role    TEXT NOT NULL CHECK (address_role IN ('shipping', 'billing')),
    customer_uid    TEXT,
    first_name      TEXT,
    last_name       TEXT,
    company         TEXT,
    address_1       TEXT,
    address_2       TEXT,
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
    CONSTRAINT order_address_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'archived'), false)
    ),
    CONSTRAINT order_address_order_role_key UNIQUE (order_uid, address_role)
);
CREATE INDEX order_address_labels_idx ON order_address USING gin (labels);
CREATE INDEX order_address_phase_idx ON order_address ((status ->> 'phase'));
CREATE INDEX order_address_customer_uid_idx ON order_address (customer_uid);
CREATE INDEX order_address_name_idx ON order_address (last_name, first_name);
CREATE INDEX order_address_postal_code_idx ON order_address (postal_code);
COMMENT ON TABLE order_address IS 'A shipping or billing address of an order, copied at checkout (Medusa''s order_address). Staff search orders by customer name here.';
COMMENT ON COLUMN order_address.order_uid IS 'Order the address belongs to. ref: order_header.uid';
COMMENT ON COLUMN order_address.address_role IS 'Whether this is the shipping or the billing address of the order.';
COMMENT ON COLUMN order_address.customer_uid IS 'Customer whose saved address this was copied from, if any. ref: customer.uid';
COMMENT ON COLUMN order_address.first_name IS 'Given name of the addressee.';
COMMENT ON COLUMN order_address.last_name IS 'Family name of the addressee.';
COMMENT ON COLUMN order_address.company IS 'Company name on the address.';
COMMENT ON COLUMN order_address.address_1 IS 'First address line (street and number).';
COMMENT ON COLUMN order_address.address_2 IS 'Second address line (apartment, suite, ...).';
COMMENT ON COLUMN order_address.city IS 'City or locality.';
COMMENT ON COLUMN order_address.country_code IS 'ISO 3166-1 alpha-2 country code (lower case).';
COMMENT ON COLUMN order_address.province IS 'Province, state or region code (ISO 3166-2 subdivision where known).';
COMMENT ON COLUMN order_address.postal_code IS 'Postal or ZIP code.';
COMMENT ON COLUMN order_address.phone IS 'Phone number at the address, free form.';
COMMENT ON COLUMN order_address.status IS 'Lifecycle: active until archived (soft delete). terminal: archived';
