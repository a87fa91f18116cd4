-- Module 15: User
-- Staff accounts and outbound notifications, after Medusa v2's user and notification modules: a
-- user_account is an admin/staff user of the commerce back office (their sign-in identity is a
-- principal of module 24), an invite brings a new one in, and notification records every message sent
-- to a customer or staff member (email, SMS, in-app feed, webhook) and its delivery outcome.

CREATE TABLE user_account (
    uid             TEXT PRIMARY KEY CHECK (uid ~ '^user_[0-9A-HJKMNP-TV-Z]{26}$'),
    email           TEXT NOT NULL CHECK (email ~ '^[^@[:space:]]+@[^@[:space:]]+$' AND email = lower(email)),
    first_name      TEXT,
    last_name       TEXT,
    avatar_url      TEXT,
    status          JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT user_account_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'disabled', 'archived'), false)
    ),
    CONSTRAINT user_account_email_key UNIQUE (email)
);
CREATE INDEX user_account_labels_idx ON user_account USING gin (labels);
CREATE INDEX user_account_phase_idx ON user_account ((status ->> 'phase'));
CREATE INDEX user_account_last_name_idx ON user_account (last_name, first_name);
COMMENT ON TABLE user_account IS 'A staff user of the commerce back office (Medusa''s user, renamed since USER is an SQL keyword).';
COMMENT ON COLUMN user_account.email IS 'Work email of the user, stored lower case; unique.';
COMMENT ON COLUMN user_account.first_name IS 'Given name.';
COMMENT ON COLUMN user_account.last_name IS 'Family name.';
COMMENT ON COLUMN user_account.avatar_url IS 'URL of the user''s avatar image.';
COMMENT ON COLUMN user_account.status IS 'Lifecycle: active ⇄ disabled (cannot sign in); archived ends it. terminal: archived';

CREATE TABLE invite (
    uid                 TEXT PRIMARY KEY CHECK (uid ~ '^invite_[0-9A-HJKMNP-TV-Z]{26}$'),
    email               TEXT NOT NULL CHECK (email ~ '^[^@[:space:]]+@[^@[:space:]]+$' AND email = lower(email)),
    token_hash          TEXT NOT NULL CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    expires_ts          TIMESTAMPTZ NOT NULL,
    accepted_ts         TIMESTAMPTZ,
    invited_by_uid      TEXT,
    accepted_user_uid   TEXT,
    status              JSONB NOT NULL DEFAULT '{"phase": "pending", "conditions": []}',
    labels              JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations         JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT invite_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('pending', 'accepted', 'expired', 'revoked', 'archived'), false)
    ),
    CONSTRAINT invite_token_hash_key UNIQUE (token_hash)
);
CREATE INDEX invite_labels_idx ON invite USING gin (labels);
CREATE INDEX invite_phase_idx ON invite ((status ->> 'phase'));
CREATE INDEX invite_email_idx ON invite (email);
CREATE INDEX invite_invited_by_uid_idx ON invite (invited_by_uid);
CREATE INDEX invite_accepted_user_uid_idx ON invite (accepted_user_uid);
CREATE INDEX invite_expires_ts_idx ON invite (expires_ts);
COMMENT ON TABLE invite IS 'An invitation for someone to become a staff user (Medusa''s invite); accepting it creates a user_account. Only a hash of the invite token is kept.';
COMMENT ON COLUMN invite.email IS 'Email address the invite was sent to, stored lower case; several invites may exist for one address (re-invites).';
COMMENT ON COLUMN invite.token_hash IS 'SHA-256 of the invite token, lower-case hex; the token itself is only in the invite link and never stored.';
COMMENT ON COLUMN invite.expires_ts IS 'When the invite stops being accepted.';
COMMENT ON COLUMN invite.accepted_ts IS 'When the invite was accepted (Medusa''s accepted flag).';
COMMENT ON COLUMN invite.invited_by_uid IS 'Staff user who sent the invite. ref: user_account.uid';
COMMENT ON COLUMN invite.accepted_user_uid IS 'User account created when the invite was accepted. ref: user_account.uid';
COMMENT ON COLUMN invite.status IS 'Lifecycle: pending → accepted; expired or revoked end it unused, archived ends any. terminal: archived, expired, revoked';

CREATE TABLE notification (
    uid                         TEXT PRIMARY KEY CHECK (uid ~ '^noti_[0-9A-HJKMNP-TV-Z]{26}$'),
    recipient                   TEXT NOT NULL,
    channel                     TEXT NOT NULL CHECK (channel IN ('email', 'sms', 'feed', 'webhook')),
    template                    TEXT NOT NULL,
    data                        JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(data) = 'object'),
    trigger_event               TEXT,
    customer_uid                TEXT,
    user_uid                    TEXT,
    original_notification_uid   TEXT,
    idempotency_key             TEXT,
    provider_id                 TEXT,
    external_id                 TEXT,
    sent_ts                     TIMESTAMPTZ,
    status                      JSONB NOT NULL DEFAULT '{"phase": "pending", "conditions": []}',
    labels                      JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations                 JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts                   TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts                   TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT notification_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('pending', 'sent', 'failed', 'archived'), false)
    ),
    CONSTRAINT notification_one_receiver_check CHECK (num_nonnulls(customer_uid, user_uid) <= 1),
    CONSTRAINT notification_idempotency_key_key UNIQUE (idempotency_key)
);
CREATE INDEX notification_labels_idx ON notification USING gin (labels);
CREATE INDEX notification_phase_idx ON notification ((status ->> 'phase'));
CREATE INDEX notification_customer_uid_idx ON notification (customer_uid);
CREATE INDEX notification_user_uid_idx ON notification (user_uid);
CREATE INDEX notification_original_notification_uid_idx ON notification (original_notification_uid);
CREATE INDEX notification_recipient_idx ON notification (recipient);
CREATE INDEX notification_trigger_event_idx ON notification (trigger_event);
CREATE INDEX notification_external_id_idx ON notification (provider_id, external_id);
CREATE INDEX notification_create_ts_idx ON notification (create_ts);
COMMENT ON TABLE notification IS 'A message sent (or to be sent) to a customer or staff member through a notification provider, and its outcome (Medusa''s notification).';
COMMENT ON COLUMN notification.recipient IS 'Address the message goes to: an email address, phone number, feed id or webhook URL depending on channel (Medusa''s to).';
COMMENT ON COLUMN notification.channel IS 'Channel the message is sent through.';
COMMENT ON COLUMN notification.template IS 'Identifier of the template rendered, e.g. order-placed.';
COMMENT ON COLUMN notification.data IS 'Data the template is rendered with.';
COMMENT ON COLUMN notification.trigger_event IS 'Event that caused the notification, e.g. order.placed (Medusa''s trigger_type).';
COMMENT ON COLUMN notification.customer_uid IS 'Customer the notification is for, when it is for a customer. ref: customer.uid';
COMMENT ON COLUMN notification.user_uid IS 'Staff user the notification is for, when it is for staff. ref: user_account.uid';
COMMENT ON COLUMN notification.original_notification_uid IS 'Notification this one re-sends, if it is a retry or resend. ref: notification.uid';
COMMENT ON COLUMN notification.idempotency_key IS 'Key that makes sending idempotent: a second notification with the same key is refused.';
COMMENT ON COLUMN notification.provider_id IS 'Registration key of the notification provider that sends it, e.g. sendgrid (not a table reference).';
COMMENT ON COLUMN notification.external_id IS 'Identifier of the message at the provider.';
COMMENT ON COLUMN notification.sent_ts IS 'When the provider accepted the message.';
COMMENT ON COLUMN notification.status IS 'Lifecycle: pending → sent; failed ends it (a resend is a new row), archived ends any. terminal: archived, failed';
