-- Module 16: Publisher & Ad Server
-- Creator and affiliate marketing. A publisher (creator, affiliate, media outlet, agency) signs a
-- publisher_contract, is paid through a publisher_payout_method, and puts out publications whose
-- engagement is reported by telemetry_source keys into the PUBLICATION_TELEMETRY stream (the events
-- themselves live in the lake, not here). Visits through a referral_link are referrals; a referral
-- that leads to an order (order_header), a lead or a signup is a conversion; commission_rule turns
-- conversions into commission rows, settled into payout (module 22) through commission_payout and
-- posted to the ledger (module 18). Paid placements run through ad_server, ad_campaign, ad_creative
-- and ad_placement. Products are tied to publishers and publications by module 14 links.

CREATE TABLE publisher (
    uid                      TEXT PRIMARY KEY CHECK (uid ~ '^pub_[0-9A-HJKMNP-TV-Z]{26}$'),
    handle                   TEXT NOT NULL CHECK (handle ~ '^[a-z0-9][a-z0-9_.-]{1,63}$'),
    display_name             TEXT NOT NULL,
    email                    TEXT,
    website_url              TEXT,
    publisher_type           TEXT NOT NULL DEFAULT 'creator' CHECK (publisher_type IN ('creator', 'affiliate', 'media', 'agency')),
    country_code             TEXT CHECK (country_code ~ '^[a-z]{2}$'),
    default_commission_rate  NUMERIC(7, 4) NOT NULL DEFAULT 0 CHECK (default_commission_rate BETWEEN 0 AND 100),
    onboarded_ts             TIMESTAMPTZ,
    status                   JSONB NOT NULL DEFAULT '{"phase": "applied", "conditions": []}',
    labels                   JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations              JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts                TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts                TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT publisher_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('applied', 'active', 'suspended', 'archived'), false)
    ),
    CONSTRAINT publisher_handle_key UNIQUE (handle)
);
CREATE INDEX publisher_labels_idx ON publisher USING gin (labels);
CREATE INDEX publisher_phase_idx ON publisher ((status ->> 'phase'));
CREATE INDEX publisher_email_idx ON publisher (email);
CREATE INDEX publisher_publisher_type_idx ON publisher (publisher_type);
CREATE INDEX publisher_display_name_idx ON publisher (display_name);
COMMENT ON TABLE publisher IS 'A creator, affiliate, media outlet or agency that promotes the brand''s products and earns commissions. One row per partner; its content is publication, its links referral_link, its earnings commission.';
COMMENT ON COLUMN publisher.handle IS 'Unique public handle of the publisher (lower case), used in referral codes and URLs, e.g. casey_cases.';
COMMENT ON COLUMN publisher.display_name IS 'Name shown to staff and on creator pages.';
COMMENT ON COLUMN publisher.email IS 'Contact email of the publisher, used for onboarding, statements and payout notices.';
COMMENT ON COLUMN publisher.website_url IS 'Main website or profile URL of the publisher.';
COMMENT ON COLUMN publisher.publisher_type IS 'What kind of partner this is: an individual creator, an affiliate site, a media outlet or an agency managing creators.';
COMMENT ON COLUMN publisher.country_code IS 'ISO 3166-1 alpha-2 country (lower case) the publisher is based in; drives tax forms and payout rails.';
COMMENT ON COLUMN publisher.default_commission_rate IS 'Commission rate applied to a sale when no commission_rule matches. unit: percent';
COMMENT ON COLUMN publisher.onboarded_ts IS 'When the publisher was approved and onboarded; NULL while the application is pending.';
COMMENT ON COLUMN publisher.status IS 'Lifecycle: applied → active; suspended pauses links and payouts; archived ends it. terminal: archived';

CREATE TABLE publisher_payout_method (
    uid                  TEXT PRIMARY KEY CHECK (uid ~ '^pubpm_[0-9A-HJKMNP-TV-Z]{26}$'),
    publisher_uid        TEXT NOT NULL,
    method_type          TEXT NOT NULL CHECK (method_type IN ('bank_transfer', 'paypal', 'stripe_connect', 'wise', 'check')),
    currency_code        TEXT NOT NULL CHECK (currency_code ~ '^[a-z]{3}$'),
    external_account_id  TEXT,
    display_hint         TEXT,
    is_default           BOOLEAN NOT NULL DEFAULT false,
    status               JSONB NOT NULL DEFAULT '{"phase": "pending_verification", "conditions": []}',
    labels               JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts            TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts            TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT publisher_payout_method_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('pending_verification', 'active', 'disabled', 'archived'), false)
    )
);
CREATE INDEX publisher_payout_method_labels_idx ON publisher_payout_method USING gin (labels);
CREATE INDEX publisher_payout_method_phase_idx ON publisher_payout_method ((status ->> 'phase'));
CREATE INDEX publisher_payout_method_publisher_uid_idx ON publisher_payout_method (publisher_uid);
COMMENT ON TABLE publisher_payout_method IS 'A way to pay a publisher (bank transfer, PayPal, Stripe Connect, …). Holds only provider-side references and a display hint, never full account numbers. Used by payout and payout_schedule.';
COMMENT ON COLUMN publisher_payout_method.publisher_uid IS 'Publisher who is paid through this method. ref: publisher.uid';
COMMENT ON COLUMN publisher_payout_method.method_type IS 'Payment rail used to pay the publisher.';
COMMENT ON COLUMN publisher_payout_method.currency_code IS 'ISO 4217 currency code (lower case) the publisher is paid in through this method.';
COMMENT ON COLUMN publisher_payout_method.external_account_id IS 'Identifier of the receiving account at the payment provider (e.g. Stripe connected account id, PayPal payer id); a token, never a bank account number.';
COMMENT ON COLUMN publisher_payout_method.display_hint IS 'Masked hint shown to staff and the publisher, e.g. ''PayPal c***@example.com'' or ''•••• 4242''.';
COMMENT ON COLUMN publisher_payout_method.is_default IS 'Whether payouts use this method when none is chosen explicitly.';
COMMENT ON COLUMN publisher_payout_method.status IS 'Lifecycle: pending_verification → active; disabled stops its use; archived ends it. terminal: archived';

CREATE TABLE publisher_contract (
    uid              TEXT PRIMARY KEY CHECK (uid ~ '^pubct_[0-9A-HJKMNP-TV-Z]{26}$'),
    publisher_uid    TEXT NOT NULL,
    contract_number  TEXT NOT NULL,
    contract_type    TEXT NOT NULL CHECK (contract_type IN ('affiliate', 'sponsorship', 'ambassador', 'licensing')),
    commission_rate  NUMERIC(7, 4) CHECK (commission_rate BETWEEN 0 AND 100),
    flat_fee         NUMERIC(20, 4) CHECK (flat_fee >= 0),
    raw_flat_fee     JSONB CHECK (jsonb_typeof(raw_flat_fee) = 'object'),
    currency_code    TEXT NOT NULL CHECK (currency_code ~ '^[a-z]{3}$'),
    starts_ts        TIMESTAMPTZ NOT NULL,
    ends_ts          TIMESTAMPTZ,
    signed_ts        TIMESTAMPTZ,
    document_key     TEXT,
    status           JSONB NOT NULL DEFAULT '{"phase": "draft", "conditions": []}',
    labels           JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations      JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts        TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts        TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT publisher_contract_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('draft', 'sent', 'active', 'expired', 'terminated', 'archived'), false)
    ),
    CONSTRAINT publisher_contract_term_check CHECK (ends_ts IS NULL OR ends_ts > starts_ts),
    CONSTRAINT publisher_contract_contract_number_key UNIQUE (contract_number)
);
CREATE INDEX publisher_contract_labels_idx ON publisher_contract USING gin (labels);
CREATE INDEX publisher_contract_phase_idx ON publisher_contract ((status ->> 'phase'));
CREATE INDEX publisher_contract_publisher_uid_idx ON publisher_contract (publisher_uid);
CREATE INDEX publisher_contract_ends_ts_idx ON publisher_contract (ends_ts);
COMMENT ON TABLE publisher_contract IS 'An agreement with a publisher: affiliate terms, sponsorship, ambassador or licensing deal, with its rate or fee and term. The signed document lives in object storage.';
COMMENT ON COLUMN publisher_contract.publisher_uid IS 'Publisher the contract is with. ref: publisher.uid';
COMMENT ON COLUMN publisher_contract.contract_number IS 'Human-facing contract number, unique, e.g. PC-2026-0042.';
COMMENT ON COLUMN publisher_contract.contract_type IS 'Kind of agreement.';
COMMENT ON COLUMN publisher_contract.commission_rate IS 'Commission rate agreed in the contract, overriding the publisher''s default; NULL when the contract sets no rate. unit: percent';
COMMENT ON COLUMN publisher_contract.flat_fee IS 'Fixed fee agreed for the term (sponsorship or licensing); NULL when none.';
COMMENT ON COLUMN publisher_contract.currency_code IS 'ISO 4217 currency code (lower case) of every amount on the row.';
COMMENT ON COLUMN publisher_contract.starts_ts IS 'When the contract term starts.';
COMMENT ON COLUMN publisher_contract.ends_ts IS 'When the contract term ends; NULL for an open-ended contract.';
COMMENT ON COLUMN publisher_contract.signed_ts IS 'When both parties signed; NULL until signed.';
COMMENT ON COLUMN publisher_contract.document_key IS 'Object-storage key of the signed contract document.';
COMMENT ON COLUMN publisher_contract.status IS 'Lifecycle: draft → sent → active; expired (term ended) or terminated (ended early) or archived end it. terminal: archived, expired, terminated';

CREATE TABLE ad_server (
    uid                  TEXT PRIMARY KEY CHECK (uid ~ '^adsrv_[0-9A-HJKMNP-TV-Z]{26}$'),
    name                 TEXT NOT NULL,
    server_type          TEXT NOT NULL CHECK (server_type IN ('google_ad_manager', 'kevel', 'adbutler', 'revive', 'internal')),
    endpoint_url         TEXT NOT NULL,
    external_account_id  TEXT,
    provision_timer_ts   TIMESTAMPTZ,
    last_provisioned_ts  TIMESTAMPTZ,
    status               JSONB NOT NULL DEFAULT '{"phase": "provisioning", "conditions": []}',
    labels               JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts            TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts            TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT ad_server_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('provisioning', 'active', 'degraded', 'disabled', 'archived'), false)
    ),
    CONSTRAINT ad_server_name_key UNIQUE (name)
);
CREATE INDEX ad_server_labels_idx ON ad_server USING gin (labels);
CREATE INDEX ad_server_phase_idx ON ad_server ((status ->> 'phase'));
CREATE INDEX ad_server_provision_timer_ts_idx ON ad_server (provision_timer_ts);
COMMENT ON TABLE ad_server IS 'An ad server the brand provisions and uses to serve ads on publisher inventory (Google Ad Manager, Kevel, …). Parent of ad_campaign and ad_placement.';
COMMENT ON COLUMN ad_server.name IS 'Unique name of the ad server in Strata, e.g. gam-main.';
COMMENT ON COLUMN ad_server.server_type IS 'Ad-server product behind this row.';
COMMENT ON COLUMN ad_server.endpoint_url IS 'Base URL of the ad server''s API or ad-serving endpoint.';
COMMENT ON COLUMN ad_server.external_account_id IS 'Account or network id of the brand at the ad server.';
COMMENT ON COLUMN ad_server.provision_timer_ts IS 'When the next provisioning/refresh timer for this ad server fires (named by the seed); NULL when none is scheduled.';
COMMENT ON COLUMN ad_server.last_provisioned_ts IS 'When provisioning or the last refresh last completed successfully.';
COMMENT ON COLUMN ad_server.status IS 'Lifecycle: provisioning → active; degraded when refreshes fail; disabled stops serving; archived ends it. terminal: archived';

CREATE TABLE ad_campaign (
    uid                     TEXT PRIMARY KEY CHECK (uid ~ '^adcmp_[0-9A-HJKMNP-TV-Z]{26}$'),
    ad_server_uid           TEXT NOT NULL,
    promotion_campaign_uid  TEXT,
    name                    TEXT NOT NULL,
    external_id             TEXT,
    objective               TEXT NOT NULL CHECK (objective IN ('awareness', 'traffic', 'conversion', 'retargeting')),
    budget                  NUMERIC(20, 4) CHECK (budget >= 0),
    raw_budget              JSONB CHECK (jsonb_typeof(raw_budget) = 'object'),
    currency_code           TEXT NOT NULL CHECK (currency_code ~ '^[a-z]{3}$'),
    starts_ts               TIMESTAMPTZ,
    ends_ts                 TIMESTAMPTZ,
    status                  JSONB NOT NULL DEFAULT '{"phase": "draft", "conditions": []}',
    labels                  JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations             JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts               TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts               TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT ad_campaign_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('draft', 'scheduled', 'running', 'paused', 'completed', 'archived'), false)
    ),
    CONSTRAINT ad_campaign_flight_check CHECK (ends_ts IS NULL OR starts_ts IS NULL OR ends_ts > starts_ts)
);
CREATE INDEX ad_campaign_labels_idx ON ad_campaign USING gin (labels);
CREATE INDEX ad_campaign_phase_idx ON ad_campaign ((status ->> 'phase'));
CREATE INDEX ad_campaign_promotion_campaign_uid_idx ON ad_campaign (promotion_campaign_uid);
CREATE UNIQUE INDEX ad_campaign_ad_server_uid_external_id_key ON ad_campaign (ad_server_uid, external_id);
CREATE INDEX ad_campaign_name_idx ON ad_campaign (name);
CREATE INDEX ad_campaign_starts_ts_idx ON ad_campaign (starts_ts);
COMMENT ON TABLE ad_campaign IS 'An ad campaign run through an ad_server, with budget and flight dates; optionally tied to a promotion campaign. Its ads are ad_creative rows.';
COMMENT ON COLUMN ad_campaign.ad_server_uid IS 'Ad server the campaign runs on. ref: ad_server.uid';
COMMENT ON COLUMN ad_campaign.promotion_campaign_uid IS 'Promotion campaign (module 10) this ad campaign supports, if any. ref: campaign.uid';
COMMENT ON COLUMN ad_campaign.name IS 'Campaign name shown to staff.';
COMMENT ON COLUMN ad_campaign.external_id IS 'Identifier of the campaign (order/line item) in the ad server.';
COMMENT ON COLUMN ad_campaign.objective IS 'What the campaign optimises for.';
COMMENT ON COLUMN ad_campaign.budget IS 'Total budget of the campaign; NULL when uncapped.';
COMMENT ON COLUMN ad_campaign.currency_code IS 'ISO 4217 currency code (lower case) of every amount on the row.';
COMMENT ON COLUMN ad_campaign.starts_ts IS 'Start of the flight; NULL until scheduled.';
COMMENT ON COLUMN ad_campaign.ends_ts IS 'End of the flight; NULL for an open-ended campaign.';
COMMENT ON COLUMN ad_campaign.status IS 'Lifecycle: draft → scheduled → running ⇄ paused → completed; archived ends it. terminal: archived, completed';

CREATE TABLE ad_creative (
    uid              TEXT PRIMARY KEY CHECK (uid ~ '^adcr_[0-9A-HJKMNP-TV-Z]{26}$'),
    ad_campaign_uid  TEXT NOT NULL,
    asset_uid        TEXT,
    product_uid      TEXT,
    name             TEXT NOT NULL,
    creative_format  TEXT NOT NULL CHECK (creative_format IN ('image', 'video', 'html5', 'native', 'text')),
    width            INTEGER CHECK (width > 0),
    height           INTEGER CHECK (height > 0),
    click_url        TEXT NOT NULL,
    external_id      TEXT,
    status           JSONB NOT NULL DEFAULT '{"phase": "draft", "conditions": []}',
    labels           JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations      JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts        TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts        TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT ad_creative_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('draft', 'in_review', 'approved', 'rejected', 'archived'), false)
    )
);
CREATE INDEX ad_creative_labels_idx ON ad_creative USING gin (labels);
CREATE INDEX ad_creative_phase_idx ON ad_creative ((status ->> 'phase'));
CREATE INDEX ad_creative_ad_campaign_uid_idx ON ad_creative (ad_campaign_uid);
CREATE INDEX ad_creative_asset_uid_idx ON ad_creative (asset_uid);
CREATE INDEX ad_creative_product_uid_idx ON ad_creative (product_uid);
COMMENT ON TABLE ad_creative IS 'One ad of an ad_campaign: an image, video, HTML5 or native unit with its click-through URL. Its artwork is a macrodata_artifact of kind design_asset.';
COMMENT ON COLUMN ad_creative.ad_campaign_uid IS 'Campaign the creative belongs to. ref: ad_campaign.uid';
COMMENT ON COLUMN ad_creative.asset_uid IS 'Design asset (macrodata_artifact of kind design_asset) holding the creative''s artwork. ref: macrodata_artifact.uid';
COMMENT ON COLUMN ad_creative.product_uid IS 'Product the creative advertises, if a single one. ref: product.uid';
COMMENT ON COLUMN ad_creative.name IS 'Creative name shown to staff.';
COMMENT ON COLUMN ad_creative.creative_format IS 'Format of the ad unit.';
COMMENT ON COLUMN ad_creative.width IS 'Width in pixels; NULL for fluid or native units.';
COMMENT ON COLUMN ad_creative.height IS 'Height in pixels; NULL for fluid or native units.';
COMMENT ON COLUMN ad_creative.click_url IS 'Destination URL of a click on the ad (usually a referral_link URL).';
COMMENT ON COLUMN ad_creative.external_id IS 'Identifier of the creative in the ad server.';
COMMENT ON COLUMN ad_creative.status IS 'Lifecycle: draft → in_review → approved; rejected or archived end it. terminal: archived, rejected';

CREATE TABLE ad_placement (
    uid              TEXT PRIMARY KEY CHECK (uid ~ '^adpl_[0-9A-HJKMNP-TV-Z]{26}$'),
    ad_server_uid    TEXT NOT NULL,
    publisher_uid    TEXT NOT NULL,
    publication_uid  TEXT,
    name             TEXT NOT NULL,
    placement_type   TEXT NOT NULL CHECK (placement_type IN ('banner', 'sidebar', 'inline', 'interstitial', 'video_preroll', 'native', 'newsletter_slot')),
    width            INTEGER CHECK (width > 0),
    height           INTEGER CHECK (height > 0),
    external_id      TEXT,
    status           JSONB NOT NULL DEFAULT '{"phase": "pending", "conditions": []}',
    labels           JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations      JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts        TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts        TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT ad_placement_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('pending', 'active', 'paused', 'archived'), false)
    )
);
CREATE INDEX ad_placement_labels_idx ON ad_placement USING gin (labels);
CREATE INDEX ad_placement_phase_idx ON ad_placement ((status ->> 'phase'));
CREATE INDEX ad_placement_publisher_uid_idx ON ad_placement (publisher_uid);
CREATE INDEX ad_placement_publication_uid_idx ON ad_placement (publication_uid);
CREATE UNIQUE INDEX ad_placement_ad_server_uid_external_id_key ON ad_placement (ad_server_uid, external_id);
COMMENT ON TABLE ad_placement IS 'An ad slot on a publisher''s inventory (site zone, newsletter slot, pre-roll) known to an ad_server, into which the ad server serves ad_creative rows.';
COMMENT ON COLUMN ad_placement.ad_server_uid IS 'Ad server that serves this placement. ref: ad_server.uid';
COMMENT ON COLUMN ad_placement.publisher_uid IS 'Publisher that owns the inventory. ref: publisher.uid';
COMMENT ON COLUMN ad_placement.publication_uid IS 'Publication the slot sits in, when it is tied to one piece of content. ref: publication.uid';
COMMENT ON COLUMN ad_placement.name IS 'Placement name shown to staff.';
COMMENT ON COLUMN ad_placement.placement_type IS 'Kind of slot.';
COMMENT ON COLUMN ad_placement.width IS 'Width in pixels; NULL for fluid slots.';
COMMENT ON COLUMN ad_placement.height IS 'Height in pixels; NULL for fluid slots.';
COMMENT ON COLUMN ad_placement.external_id IS 'Identifier of the placement (zone / ad unit) in the ad server.';
COMMENT ON COLUMN ad_placement.status IS 'Lifecycle: pending → active ⇄ paused; archived ends it. terminal: archived';

CREATE TABLE publication (
    uid             TEXT PRIMARY KEY CHECK (uid ~ '^pubi_[0-9A-HJKMNP-TV-Z]{26}$'),
    publisher_uid   TEXT NOT NULL,
    channel         TEXT NOT NULL CHECK (channel IN ('instagram', 'tiktok', 'youtube', 'blog', 'newsletter', 'podcast', 'other')),
    content_format  TEXT NOT NULL DEFAULT 'post' CHECK (content_format IN ('post', 'video', 'short', 'story', 'reel', 'article', 'newsletter', 'episode', 'live')),
    url             TEXT,
    title           TEXT,
    external_id     TEXT,
    published_ts    TIMESTAMPTZ,
    status          JSONB NOT NULL DEFAULT '{"phase": "draft", "conditions": []}',
    labels          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT publication_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('draft', 'scheduled', 'published', 'removed', 'archived'), false)
    )
);
CREATE INDEX publication_labels_idx ON publication USING gin (labels);
CREATE INDEX publication_phase_idx ON publication ((status ->> 'phase'));
CREATE INDEX publication_publisher_uid_idx ON publication (publisher_uid);
CREATE UNIQUE INDEX publication_channel_external_id_key ON publication (channel, external_id);
CREATE INDEX publication_published_ts_idx ON publication (published_ts);
COMMENT ON TABLE publication IS 'A piece of content a publisher puts out (post, video, story, newsletter, …) that promotes products; the subject of PUBLICATION_TELEMETRY events (clicks, impressions, views, engagements, conversions). Linked to products by link_product_publication.';
COMMENT ON COLUMN publication.publisher_uid IS 'Publisher who made the content. ref: publisher.uid';
COMMENT ON COLUMN publication.channel IS 'Platform the content is published on.';
COMMENT ON COLUMN publication.content_format IS 'Form of the content on its channel.';
COMMENT ON COLUMN publication.url IS 'Public URL of the content; NULL until published.';
COMMENT ON COLUMN publication.title IS 'Title or caption excerpt shown to staff.';
COMMENT ON COLUMN publication.external_id IS 'Identifier of the content on its platform (e.g. Instagram media id).';
COMMENT ON COLUMN publication.published_ts IS 'When the content went live; NULL until published.';
COMMENT ON COLUMN publication.status IS 'Lifecycle: draft → scheduled → published; removed (taken down) or archived end it. terminal: archived, removed';

CREATE TABLE telemetry_source (
    uid              TEXT PRIMARY KEY CHECK (uid ~ '^tsrc_[0-9A-HJKMNP-TV-Z]{26}$'),
    publisher_uid    TEXT NOT NULL,
    publication_uid  TEXT,
    name             TEXT NOT NULL,
    source_type      TEXT NOT NULL CHECK (source_type IN ('pixel', 'beacon', 'sdk', 'server_postback', 'link_redirect')),
    key_hash         TEXT NOT NULL CHECK (key_hash ~ '^[0-9a-f]{64}$'),
    last_event_ts    TIMESTAMPTZ,
    status           JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels           JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations      JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts        TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts        TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT telemetry_source_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'disabled', 'revoked', 'archived'), false)
    )
);
CREATE INDEX telemetry_source_labels_idx ON telemetry_source USING gin (labels);
CREATE INDEX telemetry_source_phase_idx ON telemetry_source ((status ->> 'phase'));
CREATE INDEX telemetry_source_publisher_uid_idx ON telemetry_source (publisher_uid);
CREATE INDEX telemetry_source_publication_uid_idx ON telemetry_source (publication_uid);
CREATE UNIQUE INDEX telemetry_source_key_hash_key ON telemetry_source (key_hash);
COMMENT ON TABLE telemetry_source IS 'A beacon, pixel, SDK key or postback endpoint that emits PUBLICATION_TELEMETRY events for a publisher (and optionally one publication). Only the hash of its key is stored.';
COMMENT ON COLUMN telemetry_source.publisher_uid IS 'Publisher whose events this source emits. ref: publisher.uid';
COMMENT ON COLUMN telemetry_source.publication_uid IS 'Publication the source is bound to; NULL for a publisher-wide source. ref: publication.uid';
COMMENT ON COLUMN telemetry_source.name IS 'Name shown to staff, e.g. ''blog pixel''.';
COMMENT ON COLUMN telemetry_source.source_type IS 'How the events are emitted.';
COMMENT ON COLUMN telemetry_source.key_hash IS 'SHA-256 (hex) of the source key sent with each event; the key itself is never stored.';
COMMENT ON COLUMN telemetry_source.last_event_ts IS 'When the last event from this source was received.';
COMMENT ON COLUMN telemetry_source.status IS 'Lifecycle: active ⇄ disabled; revoked (key invalidated) or archived end it. terminal: revoked, archived';

CREATE TABLE referral_link (
    uid              TEXT PRIMARY KEY CHECK (uid ~ '^rlnk_[0-9A-HJKMNP-TV-Z]{26}$'),
    code             TEXT NOT NULL CHECK (code ~ '^[A-Za-z0-9_-]{3,64}$'),
    publisher_uid    TEXT NOT NULL,
    publication_uid  TEXT,
    product_uid      TEXT,
    promotion_uid    TEXT,
    destination_url  TEXT NOT NULL,
    expires_ts       TIMESTAMPTZ,
    status           JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels           JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations      JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts        TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts        TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT referral_link_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'paused', 'expired', 'archived'), false)
    ),
    CONSTRAINT referral_link_code_key UNIQUE (code)
);
CREATE INDEX referral_link_labels_idx ON referral_link USING gin (labels);
CREATE INDEX referral_link_phase_idx ON referral_link ((status ->> 'phase'));
CREATE INDEX referral_link_publisher_uid_idx ON referral_link (publisher_uid);
CREATE INDEX referral_link_publication_uid_idx ON referral_link (publication_uid);
CREATE INDEX referral_link_product_uid_idx ON referral_link (product_uid);
CREATE INDEX referral_link_promotion_uid_idx ON referral_link (promotion_uid);
COMMENT ON TABLE referral_link IS 'A tracked link (and code) a publisher shares; each visit through it is a referral. Can target one product and carry a promotion (discount code).';
COMMENT ON COLUMN referral_link.code IS 'Unique short code in the link URL (and discount code when a promotion is attached).';
COMMENT ON COLUMN referral_link.publisher_uid IS 'Publisher who owns the link. ref: publisher.uid';
COMMENT ON COLUMN referral_link.publication_uid IS 'Publication the link appears in, if any. ref: publication.uid';
COMMENT ON COLUMN referral_link.product_uid IS 'Product the link points to; NULL for a store-wide link. ref: product.uid';
COMMENT ON COLUMN referral_link.promotion_uid IS 'Promotion (discount) applied to visitors arriving through the link, if any. ref: promotion.uid';
COMMENT ON COLUMN referral_link.destination_url IS 'Store URL the link redirects to.';
COMMENT ON COLUMN referral_link.expires_ts IS 'When the link stops attributing; NULL for no expiry.';
COMMENT ON COLUMN referral_link.status IS 'Lifecycle: active ⇄ paused; expired (past expires_ts) or archived end it. terminal: archived, expired';

CREATE TABLE referral (
    uid                     TEXT PRIMARY KEY CHECK (uid ~ '^rfl_[0-9A-HJKMNP-TV-Z]{26}$'),
    referral_link_uid       TEXT NOT NULL,
    publisher_uid           TEXT NOT NULL,
    customer_uid            TEXT,
    landing_ts              TIMESTAMPTZ NOT NULL,
    session_key_hash        TEXT NOT NULL CHECK (session_key_hash ~ '^[0-9a-f]{64}$'),
    landing_url             TEXT,
    referrer_url            TEXT,
    device_type             TEXT NOT NULL DEFAULT 'unknown' CHECK (device_type IN ('desktop', 'mobile', 'tablet', 'other', 'unknown')),
    country_code            TEXT CHECK (country_code ~ '^[a-z]{2}$'),
    attribution_expires_ts  TIMESTAMPTZ,
    status                  JSONB NOT NULL DEFAULT '{"phase": "open", "conditions": []}',
    labels                  JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations             JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts               TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts               TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT referral_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('open', 'converted', 'expired', 'rejected', 'archived'), false)
    )
);
CREATE INDEX referral_labels_idx ON referral USING gin (labels);
CREATE INDEX referral_phase_idx ON referral ((status ->> 'phase'));
CREATE INDEX referral_referral_link_uid_idx ON referral (referral_link_uid);
CREATE INDEX referral_publisher_uid_idx ON referral (publisher_uid);
CREATE INDEX referral_customer_uid_idx ON referral (customer_uid);
CREATE INDEX referral_session_key_hash_idx ON referral (session_key_hash);
CREATE INDEX referral_landing_ts_idx ON referral (landing_ts);
COMMENT ON TABLE referral IS 'One attributed visit (session) that arrived through a referral_link; conversions attribute orders, leads and signups to it.';
COMMENT ON COLUMN referral.referral_link_uid IS 'Link the visitor came through. ref: referral_link.uid';
COMMENT ON COLUMN referral.publisher_uid IS 'Publisher credited with the visit (copied from the link for filtering). ref: publisher.uid';
COMMENT ON COLUMN referral.customer_uid IS 'Customer the visitor was identified as; NULL while anonymous. ref: customer.uid';
COMMENT ON COLUMN referral.landing_ts IS 'When the visitor landed on the store.';
COMMENT ON COLUMN referral.session_key_hash IS 'SHA-256 (hex) of the visitor''s session key (cookie or device id); the key itself is never stored.';
COMMENT ON COLUMN referral.landing_url IS 'Store URL the visitor landed on.';
COMMENT ON COLUMN referral.referrer_url IS 'HTTP referrer of the visit, when sent.';
COMMENT ON COLUMN referral.device_type IS 'Device class of the visitor.';
COMMENT ON COLUMN referral.country_code IS 'ISO 3166-1 alpha-2 country (lower case) of the visit, from IP geolocation.';
COMMENT ON COLUMN referral.attribution_expires_ts IS 'End of the attribution window: conversions after it are not credited to this referral.';
COMMENT ON COLUMN referral.status IS 'Lifecycle: open (within the attribution window) → converted; expired (window passed), rejected (fraud or self-referral) or archived end it. terminal: archived, expired, rejected';

CREATE TABLE conversion (
    uid              TEXT PRIMARY KEY CHECK (uid ~ '^conv_[0-9A-HJKMNP-TV-Z]{26}$'),
    referral_uid     TEXT NOT NULL,
    publisher_uid    TEXT NOT NULL,
    order_uid        TEXT,
    customer_uid     TEXT,
    lead_uid         TEXT,
    conversion_type  TEXT NOT NULL CHECK (conversion_type IN ('sale', 'lead', 'signup')),
    amount           NUMERIC(20, 4) NOT NULL CHECK (amount >= 0),
    raw_amount       JSONB NOT NULL CHECK (jsonb_typeof(raw_amount) = 'object'),
    currency_code    TEXT NOT NULL CHECK (currency_code ~ '^[a-z]{3}$'),
    converted_ts     TIMESTAMPTZ NOT NULL,
    status           JSONB NOT NULL DEFAULT '{"phase": "pending", "conditions": []}',
    labels           JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations      JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts        TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts        TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT conversion_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('pending', 'confirmed', 'rejected', 'reversed', 'archived'), false)
    ),
    CONSTRAINT conversion_sale_order_check CHECK (conversion_type <> 'sale' OR order_uid IS NOT NULL)
);
CREATE INDEX conversion_labels_idx ON conversion USING gin (labels);
CREATE INDEX conversion_phase_idx ON conversion ((status ->> 'phase'));
CREATE INDEX conversion_referral_uid_idx ON conversion (referral_uid);
CREATE INDEX conversion_publisher_uid_idx ON conversion (publisher_uid);
CREATE INDEX conversion_order_uid_idx ON conversion (order_uid);
CREATE INDEX conversion_customer_uid_idx ON conversion (customer_uid);
CREATE INDEX conversion_lead_uid_idx ON conversion (lead_uid);
CREATE INDEX conversion_converted_ts_idx ON conversion (converted_ts);
CREATE INDEX conversion_conversion_type_idx ON conversion (conversion_type);
COMMENT ON TABLE conversion IS 'An attributed outcome of a referral: a sale (an order), a lead or a signup. Commissions are computed from conversions.';
COMMENT ON COLUMN conversion.referral_uid IS 'Referral the conversion is attributed to. ref: referral.uid';
COMMENT ON COLUMN conversion.publisher_uid IS 'Publisher credited (copied from the referral for filtering). ref: publisher.uid';
COMMENT ON COLUMN conversion.order_uid IS 'Order of a sale conversion; NULL for leads and signups. ref: order_header.uid';
COMMENT ON COLUMN conversion.customer_uid IS 'Customer who converted, when known. ref: customer.uid';
COMMENT ON COLUMN conversion.lead_uid IS 'Lead created by a lead conversion. ref: lead.uid';
COMMENT ON COLUMN conversion.conversion_type IS 'What the referral turned into.';
COMMENT ON COLUMN conversion.amount IS 'Attributed value: the order''s commissionable total for a sale, the agreed value of a lead or signup (often 0).';
COMMENT ON COLUMN conversion.currency_code IS 'ISO 4217 currency code (lower case) of every amount on the row.';
COMMENT ON COLUMN conversion.converted_ts IS 'When the conversion happened (order placed, lead captured, signup completed).';
COMMENT ON COLUMN conversion.status IS 'Lifecycle: pending → confirmed (return window passed); rejected (not valid) or reversed (order refunded or canceled) or archived end it. terminal: archived, rejected, reversed';

CREATE TABLE commission_rule (
    uid              TEXT PRIMARY KEY CHECK (uid ~ '^comr_[0-9A-HJKMNP-TV-Z]{26}$'),
    name             TEXT NOT NULL,
    publisher_uid    TEXT,
    product_uid      TEXT,
    conversion_type  TEXT CHECK (conversion_type IN ('sale', 'lead', 'signup')),
    rate             NUMERIC(7, 4) CHECK (rate BETWEEN 0 AND 100),
    flat_amount      NUMERIC(20, 4) CHECK (flat_amount >= 0),
    raw_flat_amount  JSONB CHECK (jsonb_typeof(raw_flat_amount) = 'object'),
    currency_code    TEXT NOT NULL CHECK (currency_code ~ '^[a-z]{3}$'),
    priority         INTEGER NOT NULL DEFAULT 0,
    starts_ts        TIMESTAMPTZ NOT NULL,
    ends_ts          TIMESTAMPTZ,
    status           JSONB NOT NULL DEFAULT '{"phase": "draft", "conditions": []}',
    labels           JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations      JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts        TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts        TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT commission_rule_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('draft', 'active', 'retired', 'archived'), false)
    ),
    CONSTRAINT commission_rule_amount_check CHECK (num_nonnulls(rate, flat_amount) >= 1),
    CONSTRAINT commission_rule_validity_check CHECK (ends_ts IS NULL OR ends_ts > starts_ts)
);
CREATE INDEX commission_rule_labels_idx ON commission_rule USING gin (labels);
CREATE INDEX commission_rule_phase_idx ON commission_rule ((status ->> 'phase'));
CREATE INDEX commission_rule_publisher_uid_idx ON commission_rule (publisher_uid);
CREATE INDEX commission_rule_product_uid_idx ON commission_rule (product_uid);
CREATE INDEX commission_rule_starts_ts_idx ON commission_rule (starts_ts);
COMMENT ON TABLE commission_rule IS 'How much a publisher earns for a conversion: a rate and/or flat amount, optionally scoped to a publisher, a product and a conversion type, within a validity window. The rule with the highest priority among matching rules applies; a rule with no publisher is a default for all publishers.';
COMMENT ON COLUMN commission_rule.name IS 'Rule name shown to staff.';
COMMENT ON COLUMN commission_rule.publisher_uid IS 'Publisher the rule applies to; NULL makes it a default rule for every publisher. ref: publisher.uid';
COMMENT ON COLUMN commission_rule.product_uid IS 'Product the rule applies to; NULL for every product. ref: product.uid';
COMMENT ON COLUMN commission_rule.conversion_type IS 'Conversion type the rule applies to; NULL for every type.';
COMMENT ON COLUMN commission_rule.rate IS 'Share of the conversion amount paid as commission; NULL when only a flat amount applies. unit: percent';
COMMENT ON COLUMN commission_rule.flat_amount IS 'Fixed commission per conversion; NULL when only the rate applies.';
COMMENT ON COLUMN commission_rule.currency_code IS 'ISO 4217 currency code (lower case) of every amount on the row.';
COMMENT ON COLUMN commission_rule.priority IS 'Tie-breaker among matching rules: the highest priority wins.';
COMMENT ON COLUMN commission_rule.starts_ts IS 'Start of the rule''s validity (by conversion time).';
COMMENT ON COLUMN commission_rule.ends_ts IS 'End of the rule''s validity; NULL for open-ended.';
COMMENT ON COLUMN commission_rule.status IS 'Lifecycle: draft → active; retired (no longer applied to new conversions) or archived end it. terminal: archived, retired';

CREATE TABLE commission (
    uid             TEXT PRIMARY KEY CHECK (uid ~ '^com_[0-9A-HJKMNP-TV-Z]{26}$'),
    conversion_uid  TEXT NOT NULL,
    publisher_uid   TEXT NOT NULL,
    rule_uid        TEXT,
    amount          NUMERIC(20, 4) NOT NULL CHECK (amount >= 0),
    raw_amount      JSONB NOT NULL CHECK (jsonb_typeof(raw_amount) = 'object'),
    currency_code   TEXT NOT NULL CHECK (currency_code ~ '^[a-z]{3}$'),
    rate_applied    NUMERIC(7, 4) CHECK (rate_applied BETWEEN 0 AND 100),
    earned_ts       TIMESTAMPTZ NOT NULL,
    status          JSONB NOT NULL DEFAULT '{"phase": "pending", "conditions": []}',
    labels          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT commission_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('pending', 'approved', 'paid', 'reversed', 'archived'), false)
    )
);
CREATE INDEX commission_labels_idx ON commission USING gin (labels);
CREATE INDEX commission_phase_idx ON commission ((status ->> 'phase'));
CREATE INDEX commission_conversion_uid_idx ON commission (conversion_uid);
CREATE INDEX commission_publisher_uid_idx ON commission (publisher_uid);
CREATE INDEX commission_rule_uid_idx ON commission (rule_uid);
CREATE INDEX commission_earned_ts_idx ON commission (earned_ts);
COMMENT ON TABLE commission IS 'What a publisher earned for one conversion under a commission_rule. Paid out through commission_payout into payout rows and posted to the ledger.';
COMMENT ON COLUMN commission.conversion_uid IS 'Conversion the commission is earned on. ref: conversion.uid';
COMMENT ON COLUMN commission.publisher_uid IS 'Publisher who earns it. ref: publisher.uid';
COMMENT ON COLUMN commission.rule_uid IS 'Rule that computed the amount; NULL for a manual commission. ref: commission_rule.uid';
COMMENT ON COLUMN commission.amount IS 'Commission earned.';
COMMENT ON COLUMN commission.currency_code IS 'ISO 4217 currency code (lower case) of every amount on the row.';
COMMENT ON COLUMN commission.rate_applied IS 'Rate used for the computation (copied from the rule at the time); NULL for flat or manual commissions. unit: percent';
COMMENT ON COLUMN commission.earned_ts IS 'When the commission was earned (the conversion time).';
COMMENT ON COLUMN commission.status IS 'Lifecycle: pending → approved → paid; reversed (conversion reversed, clawed back) or archived end it. terminal: archived, reversed';

CREATE TABLE commission_payout (
    uid             TEXT PRIMARY KEY CHECK (uid ~ '^compo_[0-9A-HJKMNP-TV-Z]{26}$'),
    commission_uid  TEXT NOT NULL,
    payout_uid      TEXT NOT NULL,
    amount          NUMERIC(20, 4) NOT NULL CHECK (amount > 0),
    raw_amount      JSONB NOT NULL CHECK (jsonb_typeof(raw_amount) = 'object'),
    currency_code   TEXT NOT NULL CHECK (currency_code ~ '^[a-z]{3}$'),
    status          JSONB NOT NULL DEFAULT '{"phase": "allocated", "conditions": []}',
    labels          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT commission_payout_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('allocated', 'settled', 'reversed', 'archived'), false)
    ),
    CONSTRAINT commission_payout_commission_uid_payout_uid_key UNIQUE (commission_uid, payout_uid)
);
CREATE INDEX commission_payout_labels_idx ON commission_payout USING gin (labels);
CREATE INDEX commission_payout_phase_idx ON commission_payout ((status ->> 'phase'));
CREATE INDEX commission_payout_payout_uid_idx ON commission_payout (payout_uid);
COMMENT ON TABLE commission_payout IS 'Allocation of (part of) a commission to a payout; a commission can be settled over several payouts and a payout settles many commissions.';
COMMENT ON COLUMN commission_payout.commission_uid IS 'Commission being paid. ref: commission.uid';
COMMENT ON COLUMN commission_payout.payout_uid IS 'Payout that pays it. ref: payout.uid';
COMMENT ON COLUMN commission_payout.amount IS 'Part of the commission paid by this payout.';
COMMENT ON COLUMN commission_payout.currency_code IS 'ISO 4217 currency code (lower case) of every amount on the row.';
COMMENT ON COLUMN commission_payout.status IS 'Lifecycle: allocated → settled (payout paid); reversed (payout failed or commission clawed back) or archived end it. terminal: archived, reversed';
