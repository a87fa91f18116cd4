-- Module 10: Promotion
-- Discounts, after Medusa v2's promotion module: a promotion (a code or an automatic discount) has one
-- application_method (what it takes off, from what) and promotion_rule rows (when it applies, which
-- items it targets, what must be bought for buy-get); promotions may belong to a campaign with an
-- optional campaign_budget. Carts and orders use promotions through link_cart_promotion and
-- link_order_promotion; the resulting discounts are the adjustment rows of modules 06 and 07.

CREATE TABLE promotion (
    uid                 TEXT PRIMARY KEY CHECK (uid ~ '^promo_[0-9A-HJKMNP-TV-Z]{26}$'),
    code                TEXT NOT NULL,
    promotion_type      TEXT NOT NULL DEFAULT 'standard' CHECK (promotion_type IN ('standard', 'buyget')),
    is_automatic        BOOLEAN NOT NULL DEFAULT false,
    is_tax_inclusive    BOOLEAN NOT NULL DEFAULT false,
    campaign_uid        TEXT,
    usage_limit         INTEGER CHECK (usage_limit >= 0),
    used_count          INTEGER NOT NULL DEFAULT 0 CHECK (used_count >= 0),
    status              JSONB NOT NULL DEFAULT '{"phase": "draft", "conditions": []}',
    labels              JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations         JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT promotion_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('draft', 'active', 'inactive', 'archived'), false)
    ),
    CONSTRAINT promotion_code_key UNIQUE (code)
);
CREATE INDEX promotion_labels_idx ON promotion USING gin (labels);
CREATE INDEX promotion_phase_idx ON promotion ((status ->> 'phase'));
CREATE INDEX promotion_campaign_uid_idx ON promotion (campaign_uid);
CREATE INDEX promotion_promotion_type_idx ON promotion (promotion_type);
COMMENT ON TABLE promotion IS 'A discount customers get with a code or automatically (Medusa''s promotion); what it takes off is its application_method, when it applies its promotion_rule rows.';
COMMENT ON COLUMN promotion.code IS 'Code customers enter at checkout (also the handle of automatic promotions); unique.';
COMMENT ON COLUMN promotion.promotion_type IS 'standard: a plain discount; buyget: buy some items (buy rules), get others discounted (target rules).';
COMMENT ON COLUMN promotion.is_automatic IS 'True when the promotion applies without the customer entering its code.';
COMMENT ON COLUMN promotion.is_tax_inclusive IS 'True when the discount value is meant to include tax.';
COMMENT ON COLUMN promotion.campaign_uid IS 'Campaign the promotion runs in, if any. ref: campaign.uid';
COMMENT ON COLUMN promotion.usage_limit IS 'How many times the promotion may be used in total; NULL for unlimited.';
COMMENT ON COLUMN promotion.used_count IS 'How many times the promotion has been used (orders placed with it).';
COMMENT ON COLUMN promotion.status IS 'Lifecycle: draft → active ⇄ inactive; archived ends it. terminal: archived';

CREATE TABLE promotion_rule (
    uid             TEXT PRIMARY KEY CHECK (uid ~ '^prorul_[0-9A-HJKMNP-TV-Z]{26}$'),
    promotion_uid   TEXT NOT NULL,
    rule_scope      TEXT NOT NULL DEFAULT 'promotion' CHECK (rule_scope IN ('promotion', 'target', 'buy')),
    description     TEXT,
    attribute       TEXT NOT NULL,
    operator        TEXT NOT NULL CHECK (operator IN ('gte', 'lte', 'gt', 'lt', 'eq', 'ne', 'in')),
    rule_values     JSONB NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(rule_values) = 'array'),
    status          JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT promotion_rule_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'archived'), false)
    )
);
CREATE INDEX promotion_rule_labels_idx ON promotion_rule USING gin (labels);
CREATE INDEX promotion_rule_phase_idx ON promotion_rule ((status ->> 'phase'));
CREATE INDEX promotion_rule_promotion_uid_idx ON promotion_rule (promotion_uid, rule_scope);
CREATE INDEX promotion_rule_attribute_idx ON promotion_rule (attribute, operator);
COMMENT ON TABLE promotion_rule IS 'A condition of a promotion (Medusa''s promotion_rule with its promotion_rule_value rows folded into rule_values): attribute operator values, e.g. customer.groups.id in [...].';
COMMENT ON COLUMN promotion_rule.promotion_uid IS 'Promotion the rule belongs to. ref: promotion.uid';
COMMENT ON COLUMN promotion_rule.rule_scope IS 'Which rule set: promotion (whether the promotion applies to the cart), target (which items/shipping methods get the discount), buy (what must be bought, buyget only).';
COMMENT ON COLUMN promotion_rule.description IS 'Staff-facing explanation of the rule.';
COMMENT ON COLUMN promotion_rule.attribute IS 'Dotted path of the cart/item attribute tested, e.g. currency_code, items.product.id, customer.groups.id.';
COMMENT ON COLUMN promotion_rule.operator IS 'Comparison between the attribute and the values.';
COMMENT ON COLUMN promotion_rule.rule_values IS 'Values compared against, as a JSON array of strings (Medusa''s promotion_rule_value rows; "values" is reserved in SQL).';
COMMENT ON COLUMN promotion_rule.status IS 'Lifecycle: active; archived ends it. terminal: archived';

CREATE TABLE application_method (
    uid                     TEXT PRIMARY KEY CHECK (uid ~ '^proapm_[0-9A-HJKMNP-TV-Z]{26}$'),
    promotion_uid           TEXT NOT NULL,
    application_type        TEXT NOT NULL CHECK (application_type IN ('fixed', 'percentage')),
    target_type             TEXT NOT NULL CHECK (target_type IN ('order', 'items', 'shipping_methods')),
    allocation              TEXT CHECK (allocation IN ('each', 'across')),
    value                   NUMERIC(20, 4) NOT NULL CHECK (value >= 0),
    currency_code           TEXT CHECK (currency_code ~ '^[a-z]{3}$'),
    max_quantity            INTEGER CHECK (max_quantity > 0),
    apply_to_quantity       INTEGER CHECK (apply_to_quantity > 0),
    buy_rules_min_quantity  INTEGER CHECK (buy_rules_min_quantity > 0),
    status                  JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels                  JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations             JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts               TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts               TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT application_method_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'archived'), false)
    ),
    CONSTRAINT application_method_percentage_check CHECK (application_type <> 'percentage' OR value <= 100),
    CONSTRAINT application_method_fixed_currency_check CHECK (application_type <> 'fixed' OR currency_code IS NOT NULL),
    CONSTRAINT application_method_promotion_uid_key UNIQUE (promotion_uid)
);
CREATE INDEX application_method_labels_idx ON application_method USING gin (labels);
CREATE INDEX application_method_phase_idx ON application_method ((status ->> 'phase'));
CREATE INDEX application_method_currency_code_idx ON application_method (currency_code);
COMMENT ON TABLE application_method IS 'How a promotion discounts (Medusa''s promotion_application_method): a fixed amount or a percentage, off the order, its items or its shipping methods. One per promotion.';
COMMENT ON COLUMN application_method.promotion_uid IS 'Promotion this is the method of; unique. ref: promotion.uid';
COMMENT ON COLUMN application_method.application_type IS 'fixed: value is an amount in currency_code; percentage: value is a percent (0-100).';
COMMENT ON COLUMN application_method.target_type IS 'What the discount applies to.';
COMMENT ON COLUMN application_method.allocation IS 'each: the value applies to every targeted unit (up to max_quantity); across: the value is spread over all targeted units. NULL for order targets.';
COMMENT ON COLUMN application_method.value IS 'Discount value; an amount when application_type is fixed, a percent when percentage. unit: amount or percent, see application_type';
COMMENT ON COLUMN application_method.currency_code IS 'ISO 4217 currency code (lower case) of a fixed value; required when application_type is fixed.';
COMMENT ON COLUMN application_method.max_quantity IS 'Most units the discount applies to per cart, for allocation each.';
COMMENT ON COLUMN application_method.apply_to_quantity IS 'Buyget: how many target units get the discount.';
COMMENT ON COLUMN application_method.buy_rules_min_quantity IS 'Buyget: how many units matching the buy rules must be in the cart.';
COMMENT ON COLUMN application_method.status IS 'Lifecycle: active; archived ends it. terminal: archived';

CREATE TABLE campaign (
    uid                 TEXT PRIMARY KEY CHECK (uid ~ '^procamp_[0-9A-HJKMNP-TV-Z]{26}$'),
    name                TEXT NOT NULL,
    description         TEXT,
    campaign_identifier TEXT NOT NULL,
    starts_ts           TIMESTAMPTZ,
    ends_ts             TIMESTAMPTZ,
    status              JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels              JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations         JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT campaign_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'paused', 'ended', 'archived'), false)
    ),
    CONSTRAINT campaign_window_check CHECK (ends_ts > starts_ts),
    CONSTRAINT campaign_campaign_identifier_key UNIQUE (campaign_identifier)
);
CREATE INDEX campaign_labels_idx ON campaign USING gin (labels);
CREATE INDEX campaign_phase_idx ON campaign ((status ->> 'phase'));
CREATE INDEX campaign_starts_ts_idx ON campaign (starts_ts, ends_ts);
CREATE INDEX campaign_name_idx ON campaign (name);
COMMENT ON TABLE campaign IS 'A marketing campaign grouping promotions over a time window, optionally with a campaign_budget (Medusa''s promotion_campaign).';
COMMENT ON COLUMN campaign.name IS 'Display name of the campaign.';
COMMENT ON COLUMN campaign.description IS 'What the campaign is about.';
COMMENT ON COLUMN campaign.campaign_identifier IS 'Unique external identifier of the campaign, e.g. the UTM campaign value.';
COMMENT ON COLUMN campaign.starts_ts IS 'When the campaign''s promotions start applying; NULL for immediately.';
COMMENT ON COLUMN campaign.ends_ts IS 'When the campaign''s promotions stop applying; NULL for open-ended.';
COMMENT ON COLUMN campaign.status IS 'Lifecycle: active ⇄ paused → ended; archived ends any. terminal: archived, ended';

CREATE TABLE campaign_budget (
    uid             TEXT PRIMARY KEY CHECK (uid ~ '^probudg_[0-9A-HJKMNP-TV-Z]{26}$'),
    campaign_uid    TEXT NOT NULL,
    budget_type     TEXT NOT NULL DEFAULT 'spend' CHECK (budget_type IN ('spend', 'usage')),
    currency_code   TEXT CHECK (currency_code ~ '^[a-z]{3}$'),
    limit_value     NUMERIC(20, 4) CHECK (limit_value >= 0),
    used_value      NUMERIC(20, 4) NOT NULL DEFAULT 0 CHECK (used_value >= 0),
    status          JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT campaign_budget_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'exhausted', 'archived'), false)
    ),
    CONSTRAINT campaign_budget_spend_currency_check CHECK (budget_type <> 'spend' OR currency_code IS NOT NULL),
    CONSTRAINT campaign_budget_campaign_uid_key UNIQUE (campaign_uid)
);
CREATE INDEX campaign_budget_labels_idx ON campaign_budget USING gin (labels);
CREATE INDEX campaign_budget_phase_idx ON campaign_budget ((status ->> 'phase'));
COMMENT ON TABLE campaign_budget IS 'The budget of a campaign (Medusa''s promotion_campaign_budget): a cap on the discount amount spent or on the number of uses. One per campaign.';
COMMENT ON COLUMN campaign_budget.campaign_uid IS 'Campaign the budget caps; unique. ref: campaign.uid';
COMMENT ON COLUMN campaign_budget.budget_type IS 'spend: limit_value/used_value are discount amounts in currency_code; usage: they count promotion uses.';
COMMENT ON COLUMN campaign_budget.currency_code IS 'ISO 4217 currency code (lower case) of a spend budget; required when budget_type is spend.';
COMMENT ON COLUMN campaign_budget.limit_value IS 'Cap of the budget; NULL for no cap. unit: amount in currency_code (spend) or uses (usage), see budget_type';
COMMENT ON COLUMN campaign_budget.used_value IS 'How much of the budget is used so far. unit: amount in currency_code (spend) or uses (usage), see budget_type';
COMMENT ON COLUMN campaign_budget.status IS 'Lifecycle: active → exhausted (used_value reached limit_value); archived ends it. terminal: archived';
