-- Module 25: Governance
-- Accountability and rules over every module. audit_event records each create, update, delete,
-- status change, login and revocation by a principal (module 24) on any of the 153 tables; policy
-- holds allow/deny rule sets (access, approval, retention, rate limits) and policy_binding applies
-- them to principals or roles.

CREATE TABLE audit_event (
    uid                  TEXT PRIMARY KEY CHECK (uid ~ '^aud_[0-9A-HJKMNP-TV-Z]{26}$'),
    actor_principal_uid  TEXT,
    api_key_uid          TEXT,
    action               TEXT NOT NULL CHECK (action IN ('create', 'update', 'delete', 'status', 'login', 'revoke')),
    target_table         TEXT NOT NULL CHECK (target_table ~ '^[a-z][a-z0-9_]*$'),
    target_key           TEXT NOT NULL CHECK (target_key ~ '^[a-z]+_[0-9A-HJKMNP-TV-Z]{26}$'),
    request_id           TEXT,
    occurred_ts          TIMESTAMPTZ NOT NULL DEFAULT now(),
    change               JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(change) = 'object'),
    ip_address           INET,
    user_agent           TEXT,
    status               JSONB NOT NULL DEFAULT '{"phase": "recorded", "conditions": []}',
    labels               JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts            TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts            TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT audit_event_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('recorded', 'archived'), false)
    )
);
CREATE INDEX audit_event_labels_idx ON audit_event USING gin (labels);
CREATE INDEX audit_event_phase_idx ON audit_event ((status ->> 'phase'));
CREATE INDEX audit_event_actor_principal_uid_idx ON audit_event (actor_principal_uid);
CREATE INDEX audit_event_api_key_uid_idx ON audit_event (api_key_uid);
CREATE INDEX audit_event_target_table_target_key_idx ON audit_event (target_table, target_key);
CREATE INDEX audit_event_occurred_ts_idx ON audit_event (occurred_ts);
CREATE INDEX audit_event_request_id_idx ON audit_event (request_id);
COMMENT ON TABLE audit_event IS 'One audited action on the domain: who (principal, key) did what (action) to which row (target_table, target_key), when, and the change. Append-only; it covers all 153 tables, so its target is the one polymorphic reference of the schema.';
COMMENT ON COLUMN audit_event.actor_principal_uid IS 'Principal who acted; NULL for anonymous or unauthenticated attempts. ref: principal.uid';
COMMENT ON COLUMN audit_event.api_key_uid IS 'API key used to authenticate the action, if any. ref: api_key.uid';
COMMENT ON COLUMN audit_event.action IS 'What was done: create, update, delete (a move to the terminal phase), status (a phase or condition change), login, revoke.';
COMMENT ON COLUMN audit_event.target_table IS 'Name of the table holding the affected row, e.g. order_header; for login, principal.';
COMMENT ON COLUMN audit_event.target_key IS 'uid of the affected row in the table named by target_table. Deliberately not a *_uid reference column: audit covers every table, so this is the single polymorphic reference allowed in the schema.';
COMMENT ON COLUMN audit_event.request_id IS 'Identifier of the API request or workflow step that made the change, to correlate with logs and sync.telemetry.';
COMMENT ON COLUMN audit_event.occurred_ts IS 'When the action happened.';
COMMENT ON COLUMN audit_event.change IS 'What changed, as an object: {"before": {…}, "after": {…}} of the changed columns (secrets and hashes left out).';
COMMENT ON COLUMN audit_event.ip_address IS 'Client IP address of the request, if any.';
COMMENT ON COLUMN audit_event.user_agent IS 'Client user agent of the request, if any.';
COMMENT ON COLUMN audit_event.status IS 'Lifecycle: recorded; archived (moved out of hot storage by retention) ends it. terminal: archived';

CREATE TABLE policy (
    uid             TEXT PRIMARY KEY CHECK (uid ~ '^pol_[0-9A-HJKMNP-TV-Z]{26}$'),
    name            TEXT NOT NULL CHECK (name ~ '^[a-z][a-z0-9_-]{1,63}$'),
    description     TEXT,
    policy_type     TEXT NOT NULL CHECK (policy_type IN ('access', 'approval', 'data_retention', 'rate_limit')),
    rules           JSONB NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(rules) = 'array'),
    effect          TEXT NOT NULL CHECK (effect IN ('allow', 'deny')),
    priority        INTEGER NOT NULL DEFAULT 0,
    status          JSONB NOT NULL DEFAULT '{"phase": "draft", "conditions": []}',
    labels          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT policy_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('draft', 'active', 'disabled', 'archived'), false)
    ),
    CONSTRAINT policy_name_key UNIQUE (name)
);
CREATE INDEX policy_labels_idx ON policy USING gin (labels);
CREATE INDEX policy_phase_idx ON policy ((status ->> 'phase'));
CREATE INDEX policy_policy_type_idx ON policy (policy_type);
COMMENT ON TABLE policy IS 'A governance rule set: access conditions, approval requirements, data retention or rate limits, that allows or denies; bound to principals or roles by policy_binding.';
COMMENT ON COLUMN policy.name IS 'Unique policy name, e.g. payout-approval.';
COMMENT ON COLUMN policy.description IS 'What the policy enforces and why.';
COMMENT ON COLUMN policy.policy_type IS 'Area the policy governs.';
COMMENT ON COLUMN policy.rules IS 'Array of rule objects evaluated in order, e.g. [{"resource": "payout_batch", "verbs": ["approve"], "condition": {"max_total": "10000.00"}}].';
COMMENT ON COLUMN policy.effect IS 'Whether a matching rule allows or denies; deny wins over allow.';
COMMENT ON COLUMN policy.priority IS 'Evaluation order among policies of the same type: higher first.';
COMMENT ON COLUMN policy.status IS 'Lifecycle: draft → active ⇄ disabled; archived ends it. terminal: archived';

CREATE TABLE policy_binding (
    uid             TEXT PRIMARY KEY CHECK (uid ~ '^polb_[0-9A-HJKMNP-TV-Z]{26}$'),
    policy_uid      TEXT NOT NULL,
    principal_uid   TEXT,
    role_uid        TEXT,
    expires_ts      TIMESTAMPTZ,
    status          JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT policy_binding_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'revoked'), false)
    ),
    CONSTRAINT policy_binding_subject_check CHECK (num_nonnulls(principal_uid, role_uid) = 1),
    CONSTRAINT policy_binding_policy_uid_principal_uid_key UNIQUE (policy_uid, principal_uid),
    CONSTRAINT policy_binding_policy_uid_role_uid_key UNIQUE (policy_uid, role_uid)
);
CREATE INDEX policy_binding_labels_idx ON policy_binding USING gin (labels);
CREATE INDEX policy_binding_phase_idx ON policy_binding ((status ->> 'phase'));
CREATE INDEX policy_binding_principal_uid_idx ON policy_binding (principal_uid);
CREATE INDEX policy_binding_role_uid_idx ON policy_binding (role_uid);
COMMENT ON TABLE policy_binding IS 'Applies a policy to one principal or to every holder of one role.';
COMMENT ON COLUMN policy_binding.policy_uid IS 'Policy applied. ref: policy.uid';
COMMENT ON COLUMN policy_binding.principal_uid IS 'Principal the policy applies to; exactly one of principal_uid and role_uid is set. ref: principal.uid';
COMMENT ON COLUMN policy_binding.role_uid IS 'Role whose holders the policy applies to; exactly one of principal_uid and role_uid is set. ref: role.uid';
COMMENT ON COLUMN policy_binding.expires_ts IS 'When the binding lapses; NULL for no expiry.';
COMMENT ON COLUMN policy_binding.status IS 'Lifecycle: active; revoked ends it. terminal: revoked';
