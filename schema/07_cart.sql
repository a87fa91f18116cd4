
-- Module 07: Cart
-- Shopping carts after Medusa v2's cart module: cart, its line items (cart_line_item) with tax lines and
-- promotion adjustments, and the chosen shipping methods (cart_shipping_method). Carts point at region,
-- customer and sales_channel; promotions and payment collections reach a cart through link_cart_promotion
-- and link_cart_payment_collection, and link_order_cart records the order a completed cart became.

CREATE TABLE cart (
    uid                TEXT PRIMARY KEY CHECK (uid ~ '^cart_[0-9A-HJKMNP-TV-Z]{26}$'),
    region_uid         TEXT,
    customer_uid       TEXT,
    sales_channel_uid  TEXT,
    email              TEXT,
    currency_code      TEXT NOT NULL CHECK (currency_code ~ '^[a-z]{3}$'),
    locale             TEXT,
    shipping_address   JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(shipping_address) = 'object'),
    billing_address    JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(billing_address) = 'object'),
    completed_ts       TIMESTAMPTZ,
    status             JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels             JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations        JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts          TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts          TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT cart_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'completed', 'abandoned', 'archived'), false)
    )
);
CREATE INDEX cart_labels_idx ON cart USING gin (labels);
CREATE INDEX cart_phase_idx ON cart ((status ->> 'phase'));
CREATE INDEX cart_region_uid_idx ON cart (region_uid);
CREATE INDEX cart_customer_uid_idx ON cart (customer_uid);
CREATE INDEX cart_sales_channel_uid_idx ON cart (sales_channel_uid);
CREATE INDEX cart_email_idx ON cart (email);
CREATE INDEX cart_update_ts_idx ON cart (update_ts);
COMMENT ON TABLE cart IS 'A shopping cart (Medusa''s cart). Its addresses are kept inline as JSON snapshots.';
COMMENT ON COLUMN cart.region_uid IS 'Region of the cart (drives currency, tax and shipping). ref: region.uid';
COMMENT ON COLUMN cart.customer_uid IS 'Customer the cart belongs to; NULL for an anonymous cart. ref: customer.uid';
COMMENT ON COLUMN cart.sales_channel_uid IS 'Sales channel the cart was created in. ref: sales_channel.uid';
COMMENT ON COLUMN cart.email IS 'Contact email entered at checkout.';
COMMENT ON COLUMN cart.currency_code IS 'ISO 4217 currency code (lower case) of every amount in the cart.';
COMMENT ON COLUMN cart.locale IS 'BCP 47 locale of the shopper, e.g. en-US.';
COMMENT ON COLUMN cart.shipping_address IS 'Shipping address: object with first_name, last_name, company, address_1, address_2, city, country_code, province, postal_code, phone.';
COMMENT ON COLUMN cart.billing_address IS 'Billing address: same shape as shipping_address.';
COMMENT ON COLUMN cart.completed_ts IS 'When checkout completed and the cart became an order.';
COMMENT ON COLUMN cart.status IS 'Lifecycle: active → completed at checkout; abandoned when idle (may become active again); archived ends it. terminal: archived, completed';

CREATE TABLE cart_line_item (
    uid                        TEXT PRIMARY KEY CHECK (uid ~ '^cali_[0-9A-HJKMNP-TV-Z]{26}$'),
    cart_uid                   TEXT NOT NULL,
    product_uid                TEXT,
    variant_uid                TEXT,
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
    quantity                   INTEGER NOT NULL CHECK (quantity > 0),
    unit_price                 NUMERIC(20, 4) NOT NULL,
    raw_unit_price             JSONB NOT NULL CHECK (jsonb_typeof(raw_unit_price) = 'object'),
    compare_at_unit_price      NUMERIC(20, 4),
    raw_compare_at_unit_price  JSONB CHECK (jsonb_typeof(raw_compare_at_unit_price) = 'object'),
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
    CONSTRAINT cart_line_item_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'archived'), false)
    )
);
CREATE INDEX cart_line_item_labels_idx ON cart_line_item USING gin (labels);
CREATE INDEX cart_line_item_phase_idx ON cart_line_item ((status ->> 'phase'));
CREATE INDEX cart_line_item_cart_uid_idx ON cart_line_item (cart_uid);
CREATE INDEX cart_line_item_product_uid_idx ON cart_line_item (product_uid);
CREATE INDEX cart_line_item_variant_uid_idx ON cart_line_item (variant_uid);
COMMENT ON TABLE cart_line_item IS 'A line of a cart: one variant, its quantity and price (Medusa''s cart line_item).';
COMMENT ON COLUMN cart_line_item.cart_uid IS 'Cart the line belongs to. ref: cart.uid';
COMMENT ON COLUMN cart_line_item.product_uid IS 'Product in the line. ref: product.uid';
COMMENT ON COLUMN cart_line_item.variant_uid IS 'Variant in the line. ref: product_variant.uid';
COMMENT ON COLUMN cart_line_item.title IS 'Line title shown to the customer.';
COMMENT ON COLUMN cart_line_item.subtitle IS 'Line subtitle.';
COMMENT ON COLUMN cart_line_item.thumbnail IS 'URL of the thumbnail at the time of purchase.';
COMMENT ON COLUMN cart_line_item.product_title IS 'Product title at the time of purchase.';
COMMENT ON COLUMN cart_line_item.product_subtitle IS 'Product subtitle at the time of purchase.';
COMMENT ON COLUMN cart_line_item.product_description IS 'Product description at the time of purchase.';
COMMENT ON COLUMN cart_line_item.product_handle IS 'Product handle at the time of purchase.';
COMMENT ON COLUMN cart_line_item.variant_title IS 'Variant title at the time of purchase.';
COMMENT ON COLUMN cart_line_item.variant_sku IS 'Variant SKU at the time of purchase.';
COMMENT ON COLUMN cart_line_item.variant_barcode IS 'Variant barcode at the time of purchase.';
COMMENT ON COLUMN cart_line_item.variant_option_values IS 'Option values of the variant at the time of purchase: object mapping option title to value.';
COMMENT ON COLUMN cart_line_item.quantity IS 'Units in the cart.';
COMMENT ON COLUMN cart_line_item.unit_price IS 'Price of one unit.';
COMMENT ON COLUMN cart_line_item.compare_at_unit_price IS 'Original unit price before a sale, shown struck through.';
COMMENT ON COLUMN cart_line_item.requires_shipping IS 'False if the line needs no shipping.';
COMMENT ON COLUMN cart_line_item.is_giftcard IS 'True if the line is a gift card.';
COMMENT ON COLUMN cart_line_item.is_discountable IS 'False if promotions must not apply to the line.';
COMMENT ON COLUMN cart_line_item.is_tax_inclusive IS 'True if unit_price already includes tax.';
COMMENT ON COLUMN cart_line_item.is_custom_price IS 'True if unit_price was set by hand instead of from pricing.';
COMMENT ON COLUMN cart_line_item.status IS 'Lifecycle: active until archived (soft delete). terminal: archived';

CREATE TABLE cart_line_item_tax_line (
    uid             TEXT PRIMARY KEY CHECK (uid ~ '^calitx_[0-9A-HJKMNP-TV-Z]{26}$'),
    line_item_uid   TEXT NOT NULL,
    code            TEXT NOT NULL,
    description     TEXT,
    rate            NUMERIC(9, 6) NOT NULL,
    tax_rate_uid    TEXT,
    provider_uid    TEXT,
    status          JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT cart_line_item_tax_line_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'archived'), false)
    )
);
CREATE INDEX cart_line_item_tax_line_labels_idx ON cart_line_item_tax_line USING gin (labels);
CREATE INDEX cart_line_item_tax_line_phase_idx ON cart_line_item_tax_line ((status ->> 'phase'));
CREATE INDEX cart_line_item_tax_line_line_item_uid_idx ON cart_line_item_tax_line (line_item_uid);
CREATE INDEX cart_line_item_tax_line_tax_rate_uid_idx ON cart_line_item_tax_line (tax_rate_uid);
CREATE INDEX cart_line_item_tax_line_provider_uid_idx ON cart_line_item_tax_line (provider_uid);
COMMENT ON TABLE cart_line_item_tax_line IS 'A tax applicable to a cart line (Medusa''s cart line_item_tax_line); the amount is computed, not stored.';
COMMENT ON COLUMN cart_line_item_tax_line.line_item_uid IS 'The taxed line. ref: cart_line_item.uid';
COMMENT ON COLUMN cart_line_item_tax_line.code IS 'Tax code, e.g. VAT or a provider code.';
COMMENT ON COLUMN cart_line_item_tax_line.description IS 'Human-readable description of the tax.';
COMMENT ON COLUMN cart_line_item_tax_line.rate IS 'Tax rate applied. unit: percent';
COMMENT ON COLUMN cart_line_item_tax_line.tax_rate_uid IS 'Tax rate the line was computed from, if any. ref: tax_rate.uid';
COMMENT ON COLUMN cart_line_item_tax_line.provider_uid IS 'Tax provider that computed the line, if any. ref: tax_provider.uid';
COMMENT ON COLUMN cart_line_item_tax_line.status IS 'Lifecycle: active until archived (soft delete). terminal: archived';

CREATE TABLE cart_line_item_adjustment (
    uid             TEXT PRIMARY KEY CHECK (uid ~ '^caliadj_[0-9A-HJKMNP-TV-Z]{26}$'),
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
    CONSTRAINT cart_line_item_adjustment_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'archived'), false)
    )
);
CREATE INDEX cart_line_item_adjustment_labels_idx ON cart_line_item_adjustment USING gin (labels);
CREATE INDEX cart_line_item_adjustment_phase_idx ON cart_line_item_adjustment ((status ->> 'phase'));
CREATE INDEX cart_line_item_adjustment_line_item_uid_idx ON cart_line_item_adjustment (line_item_uid);
CREATE INDEX cart_line_item_adjustment_promotion_uid_idx ON cart_line_item_adjustment (promotion_uid);
COMMENT ON TABLE cart_line_item_adjustment IS 'A discount applied to a cart line by a promotion (Medusa''s cart line_item_adjustment).';
COMMENT ON COLUMN cart_line_item_adjustment.line_item_uid IS 'The adjusted line. ref: cart_line_item.uid';
COMMENT ON COLUMN cart_line_item_adjustment.code IS 'Promotion or discount code that produced the adjustment.';
COMMENT ON COLUMN cart_line_item_adjustment.description IS 'Human-readable description of the adjustment.';
COMMENT ON COLUMN cart_line_item_adjustment.promotion_uid IS 'Promotion that produced the adjustment, if any. ref: promotion.uid';
COMMENT ON COLUMN cart_line_item_adjustment.amount IS 'Discount amount (positive) taken off the line.';
COMMENT ON COLUMN cart_line_item_adjustment.status IS 'Lifecycle: active until archived (soft delete). terminal: archived';

CREATE TABLE cart_shipping_method (
    uid                  TEXT PRIMARY KEY CHECK (uid ~ '^casm_[0-9A-HJKMNP-TV-Z]{26}$'),
    cart_uid             TEXT NOT NULL,
    name                 TEXT NOT NULL,
    description          TEXT,
    shipping_option_uid  TEXT,
    amount               NUMERIC(20, 4) NOT NULL,
    raw_amount           JSONB NOT NULL CHECK (jsonb_typeof(raw_amount) = 'object'),
    is_tax_inclusive     BOOLEAN NOT NULL DEFAULT false,
    data                 JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(data) = 'object'),
    status               JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels               JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts            TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts            TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT cart_shipping_method_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'archived'), false)
    )
);
CREATE INDEX cart_shipping_method_labels_idx ON cart_shipping_method USING gin (labels);
CREATE INDEX cart_shipping_method_phase_idx ON cart_shipping_method ((status ->> 'phase'));
CREATE INDEX cart_shipping_method_cart_uid_idx ON cart_shipping_method (cart_uid);
CREATE INDEX cart_shipping_method_shipping_option_uid_idx ON cart_shipping_method (shipping_option_uid);
COMMENT ON TABLE cart_shipping_method IS 'A shipping method chosen for a cart (Medusa''s cart shipping_method).';
COMMENT ON COLUMN cart_shipping_method.cart_uid IS 'Cart the method belongs to. ref: cart.uid';
COMMENT ON COLUMN cart_shipping_method.name IS 'Name shown to the customer.';
COMMENT ON COLUMN cart_shipping_method.description IS 'Description shown to the customer.';
COMMENT ON COLUMN cart_shipping_method.shipping_option_uid IS 'Shipping option the method was created from. ref: shipping_option.uid';
COMMENT ON COLUMN cart_shipping_method.amount IS 'Shipping price before discounts.';
COMMENT ON COLUMN cart_shipping_method.is_tax_inclusive IS 'True if amount already includes tax.';
COMMENT ON COLUMN cart_shipping_method.data IS 'Provider-specific data for the fulfillment provider.';
COMMENT ON COLUMN cart_shipping_method.status IS 'Lifecycle: active until archived (soft delete). terminal: archived';
