-- Module 24: Identity
-- Who can act on the platform. A principal is a staff user (user_account, module 15), a service
-- (workers and workflows) or a partner (publisher, module 16); api_key holds only hashes of
-- principals' secrets; role and role_binding grant 'module:verb' permissions. Policies (module 25)
-- refine access; audit_event (module 25) records what principals do.

CREATE TABLE principal (
    uid             TEXT PRIMARY KEY CHECK (uid ~ '^prn_[0-9A-HJKMNP-TV-Z]{26}$'),
    principal_type  TEXT NOT NULL CHECK (principal_type IN ('user', 'service', 'partner')),
    display_name    TEXT NOT NULL,
    email           TEXT,
    user_uid        TEXT,
    publisher_uid   TEXT,
    last_seen_ts    TIMESTAMPTZ,
    status          JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT principal_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'disabled', 'deleted'), false)
    ),
    CONSTRAINT principal_user_check CHECK ((principal_type = 'user') = (user_uid IS NOT NULL)),
    CONSTRAINT principal_publisher_check CHECK (publisher_uid IS NULL OR principal_type = 'partner')
);
CREATE INDEX principal_labels_idx ON principal USING gin (labels);
CREATE INDEX principal_phase_idx ON principal ((status ->> 'phase'));
CREATE INDEX principal_publisher_uid_idx ON principal (publisher_uid);
CREATE UNIQUE INDEX principal_user_uid_key ON principal (user_uid);
CREATE INDEX principal_email_idx ON principal (email);
CREATE INDEX principal_principal_type_idx ON principal (principal_type);
COMMENT ON TABLE principal IS 'An identity that can act on the platform and be audited: a staff user (user_account), a service (workers, workflows) or a partner (a publisher''s login). Roles and policies bind to principals.';
COMMENT ON COLUMN principal.principal_type IS 'What acts: a staff user, a service account, or a partner (publisher) account.';
COMMENT ON COLUMN principal.display_name IS 'Name shown in audit trails and admin screens.';
COMMENT ON COLUMN principal.email IS 'Contact email; NULL for services.';
COMMENT ON COLUMN principal.user_uid IS 'Staff user this principal is, for principal_type user (set exactly then); unique. ref: user_account.uid';
COMMENT ON COLUMN principal.publisher_uid IS 'Publisher this partner principal acts for; only for principal_type partner (further publishers through link_principal_publisher). ref: publisher.uid';
COMMENT ON COLUMN principal.last_seen_ts IS 'When the principal was last authenticated.';
COMMENT ON COLUMN principal.status IS 'Lifecycle: active ⇄ disabled; deleted ends it. terminal: deleted';

CREATE TABLE api_key (
    uid             TEXT PRIMARY KEY CHECK (uid ~ '^key_[0-9A-HJKMNP-TV-Z]{26}$'),
    principal_uid   TEXT NOT NULL,
    name            TEXT NOT NULL,
    key_prefix      TEXT NOT NULL CHECK (key_prefix ~ '^[A-Za-z0-9_-]{4,24}$'),
    key_hash        TEXT NOT NULL CHECK (key_hash ~ '^[0-9a-f]{64}$'),
    scopes          JSONB NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(scopes) = 'array'),
    last_used_ts    TIMESTAMPTZ,
    expires_ts      TIMESTAMPTZ,
    status          JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT api_key_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'revoked', 'expired'), false)
    ),
    CONSTRAINT api_key_key_prefix_key UNIQUE (key_prefix),
    CONSTRAINT api_key_key_hash_key UNIQUE (key_hash)
);
CREATE INDEX api_key_labels_idx ON api_key USING gin (labels);
CREATE INDEX api_key_phase_idx ON api_key ((status ->> 'phase'));
CREATE INDEX api_key_principal_uid_idx ON api_key (principal_uid);
CREATE INDEX api_key_expires_ts_idx ON api_key (expires_ts);
COMMENT ON TABLE api_key IS 'An API key of a principal. Only a SHA-256 hash of the secret is stored (the secret is shown once, at creation) with a short prefix to recognise it in lists; scopes limit what it may do.';
COMMENT ON COLUMN api_key.principal_uid IS 'Principal the key authenticates as. ref: principal.uid';
COMMENT ON COLUMN api_key.name IS 'Name given by its creator, e.g. shopify-sync worker.';
COMMENT ON COLUMN api_key.key_prefix IS 'First characters of the key, shown in lists to recognise it; unique. Not enough to authenticate.';
COMMENT ON COLUMN api_key.key_hash IS 'SHA-256 (64 lower-case hex digits) of the secret; the secret itself is never stored.';
COMMENT ON COLUMN api_key.scopes IS 'Array of ''module:verb'' strings the key may use, e.g. ["order:read", "product:write"]; empty means none.';
COMMENT ON COLUMN api_key.last_used_ts IS 'When the key last authenticated a request.';
COMMENT ON COLUMN api_key.expires_ts IS 'When the key stops working; NULL for no expiry.';
COMMENT ON COLUMN api_key.status IS 'Lifecycle: active; revoked (by a user or a delete) or expired (past expires_ts) end it. terminal: revoked, expired';

CREATE TABLE role (
    uid             TEXT PRIMARY KEY CHECK (uid ~ '^role_[0-9A-HJKMNP-TV-Z]{26}$'),
    name            TEXT NOT NULL CHECK (name ~ '^[a-z][a-z0-9_-]{1,63}$'),
    description     TEXT,
    permissions     JSONB NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(permissions) = 'array'),
    is_builtin      BOOLEAN NOT NULL DEFAULT false,
    status          JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT role_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'archived'), false)
    ),
    CONSTRAINT role_name_key UNIQUE (name)
);
CREATE INDEX role_labels_idx ON role USING gin (labels);
CREATE INDEX role_phase_idx ON role ((status ->> 'phase'));
COMMENT ON TABLE role IS 'A named set of permissions (e.g. ops, creative, fulfillment, engineer, partner) granted to principals through role_binding.';
COMMENT ON COLUMN role.name IS 'Unique role name, e.g. ops-staff.';
COMMENT ON COLUMN role.description IS 'What the role is for.';
COMMENT ON COLUMN role.permissions IS 'Array of ''module:verb'' strings the role grants, e.g. ["order:read", "macrodata_artifact:write"]; ''*'' as module or verb is a wildcard.';
COMMENT ON COLUMN role.is_builtin IS 'Whether the platform ships and maintains the role (it cannot be edited by staff).';
COMMENT ON COLUMN role.status IS 'Lifecycle: active; archived ends it (its bindings stop granting). terminal: archived';

CREATE TABLE role_binding (
    uid                       TEXT PRIMARY KEY CHECK (uid ~ '^rb_[0-9A-HJKMNP-TV-Z]{26}$'),
    role_uid                  TEXT NOT NULL,
    principal_uid             TEXT NOT NULL,
    granted_by_principal_uid  TEXT,
    expires_ts                TIMESTAMPTZ,
    status                    JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels                    JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations               JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts                 TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts                 TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT role_binding_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'revoked'), false)
    ),
    CONSTRAINT role_binding_role_uid_principal_uid_key UNIQUE (role_uid, principal_uid)
);
CREATE INDEX role_binding_labels_idx ON role_binding USING gin (labels);
CREATE INDEX role_binding_phase_idx ON role_binding ((status ->> 'phase'));
CREATE INDEX role_binding_principal_uid_idx ON role_binding (principal_uid);
CREATE INDEX role_binding_granted_by_principal_uid_idx ON role_binding (granted_by_principal_uid);
COMMENT ON TABLE role_binding IS 'Grant of a role to a principal, optionally until an expiry.';
COMMENT ON COLUMN role_binding.role_uid IS 'Role granted. ref: role.uid';
COMMENT ON COLUMN role_binding.principal_uid IS 'Principal that receives the role. ref: principal.uid';
COMMENT ON COLUMN role_binding.granted_by_principal_uid IS 'Principal who made the grant; NULL for bootstrap grants. ref: principal.uid';
COMMENT ON COLUMN role_binding.expires_ts IS 'When the grant lapses; NULL for no expiry.';
COMMENT ON COLUMN role_binding.status IS 'Lifecycle: active; revoked ends it. terminal: revoked';
