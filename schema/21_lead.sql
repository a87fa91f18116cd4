-- Module 21: Lead
-- B2B, wholesale and partner leads, and creator applications. A lead comes from a lead_source and may
-- be referred by a publisher (module 16); staff (user_account, module 15) work it through
-- lead_assignment and lead_activity until it converts into a customer (module 05) or a publisher.
-- Lead conversions from referral links are recorded in conversion (module 16).

CREATE TABLE lead_source (
    uid             TEXT PRIMARY KEY CHECK (uid ~ '^lsrc_[0-9A-HJKMNP-TV-Z]{26}$'),
    name            TEXT NOT NULL,
    source_type     TEXT NOT NULL CHECK (source_type IN ('web_form', 'referral', 'partner', 'trade_show', 'outbound', 'import', 'other')),
    description     TEXT,
    status          JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT lead_source_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'archived'), false)
    ),
    CONSTRAINT lead_source_name_key UNIQUE (name)
);
CREATE INDEX lead_source_labels_idx ON lead_source USING gin (labels);
CREATE INDEX lead_source_phase_idx ON lead_source ((status ->> 'phase'));
COMMENT ON TABLE lead_source IS 'Where leads come from: a web form, a trade show, outbound prospecting, a partner or referral programme, an import.';
COMMENT ON COLUMN lead_source.name IS 'Unique source name shown to staff, e.g. Wholesale form.';
COMMENT ON COLUMN lead_source.source_type IS 'Kind of source.';
COMMENT ON COLUMN lead_source.description IS 'What the source is and how leads arrive from it.';
COMMENT ON COLUMN lead_source.status IS 'Lifecycle: active; archived ends it. terminal: archived';

CREATE TABLE lead (
    uid                      TEXT PRIMARY KEY CHECK (uid ~ '^lead_[0-9A-HJKMNP-TV-Z]{26}$'),
    email                    TEXT NOT NULL,
    full_name                TEXT,
    company                  TEXT,
    phone                    TEXT,
    website_url              TEXT,
    country_code             TEXT CHECK (country_code ~ '^[a-z]{2}$'),
    lead_type                TEXT NOT NULL CHECK (lead_type IN ('wholesale', 'b2b', 'partner', 'creator_application')),
    lead_source_uid          TEXT,
    publisher_uid            TEXT,
    customer_uid             TEXT,
    converted_publisher_uid  TEXT,
    score                    INTEGER NOT NULL DEFAULT 0 CHECK (score BETWEEN 0 AND 100),
    last_contacted_ts        TIMESTAMPTZ,
    status                   JSONB NOT NULL DEFAULT '{"phase": "new", "conditions": []}',
    labels                   JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations              JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts                TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts                TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT lead_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('new', 'contacted', 'qualified', 'converted', 'disqualified', 'archived'), false)
    )
);
CREATE INDEX lead_labels_idx ON lead USING gin (labels);
CREATE INDEX lead_phase_idx ON lead ((status ->> 'phase'));
CREATE INDEX lead_lead_source_uid_idx ON lead (lead_source_uid);
CREATE INDEX lead_publisher_uid_idx ON lead (publisher_uid);
CREATE INDEX lead_customer_uid_idx ON lead (customer_uid);
CREATE INDEX lead_converted_publisher_uid_idx ON lead (converted_publisher_uid);
CREATE INDEX lead_email_idx ON lead (email);
CREATE INDEX lead_company_idx ON lead (company);
CREATE INDEX lead_score_idx ON lead (score);
COMMENT ON TABLE lead IS 'A B2B, wholesale or partner prospect (or a creator applying to the programme), possibly referred by a publisher, worked by staff until converted or disqualified.';
COMMENT ON COLUMN lead.email IS 'Contact email of the lead.';
COMMENT ON COLUMN lead.full_name IS 'Contact person''s name.';
COMMENT ON COLUMN lead.company IS 'Company or shop name.';
COMMENT ON COLUMN lead.phone IS 'Contact phone number.';
COMMENT ON COLUMN lead.website_url IS 'Website of the company or creator.';
COMMENT ON COLUMN lead.country_code IS 'ISO 3166-1 alpha-2 country (lower case) of the lead.';
COMMENT ON COLUMN lead.lead_type IS 'What the lead wants: to buy wholesale, a B2B deal, a partnership, or to join as a creator.';
COMMENT ON COLUMN lead.lead_source_uid IS 'Source the lead came from. ref: lead_source.uid';
COMMENT ON COLUMN lead.publisher_uid IS 'Publisher who referred the lead, if any. ref: publisher.uid';
COMMENT ON COLUMN lead.customer_uid IS 'Customer account created when the lead converted. ref: customer.uid';
COMMENT ON COLUMN lead.converted_publisher_uid IS 'Publisher created when a creator application converted. ref: publisher.uid';
COMMENT ON COLUMN lead.score IS 'Qualification score from 0 (cold) to 100 (hot).';
COMMENT ON COLUMN lead.last_contacted_ts IS 'When staff last contacted the lead.';
COMMENT ON COLUMN lead.status IS 'Lifecycle: new → contacted → qualified → converted; disqualified or archived end it. terminal: archived, converted, disqualified';

CREATE TABLE lead_activity (
    uid             TEXT PRIMARY KEY CHECK (uid ~ '^lact_[0-9A-HJKMNP-TV-Z]{26}$'),
    lead_uid        TEXT NOT NULL,
    actor_user_uid  TEXT,
    activity_type   TEXT NOT NULL CHECK (activity_type IN ('email', 'call', 'meeting', 'note', 'form_submission', 'task')),
    subject         TEXT,
    body            TEXT,
    occurred_ts     TIMESTAMPTZ NOT NULL,
    status          JSONB NOT NULL DEFAULT '{"phase": "completed", "conditions": []}',
    labels          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT lead_activity_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('scheduled', 'completed', 'canceled', 'archived'), false)
    )
);
CREATE INDEX lead_activity_labels_idx ON lead_activity USING gin (labels);
CREATE INDEX lead_activity_phase_idx ON lead_activity ((status ->> 'phase'));
CREATE INDEX lead_activity_lead_uid_idx ON lead_activity (lead_uid);
CREATE INDEX lead_activity_actor_user_uid_idx ON lead_activity (actor_user_uid);
CREATE INDEX lead_activity_occurred_ts_idx ON lead_activity (occurred_ts);
COMMENT ON TABLE lead_activity IS 'A touch-point with a lead: email, call, meeting, note, form submission; scheduled or done.';
COMMENT ON COLUMN lead_activity.lead_uid IS 'Lead the activity concerns. ref: lead.uid';
COMMENT ON COLUMN lead_activity.actor_user_uid IS 'Staff user who did or will do it; NULL for activities by the lead (form submissions). ref: user_account.uid';
COMMENT ON COLUMN lead_activity.activity_type IS 'Kind of activity.';
COMMENT ON COLUMN lead_activity.subject IS 'Short summary.';
COMMENT ON COLUMN lead_activity.body IS 'Details, notes or message text.';
COMMENT ON COLUMN lead_activity.occurred_ts IS 'When it happened, or is scheduled for.';
COMMENT ON COLUMN lead_activity.status IS 'Lifecycle: scheduled → completed (logged activities start here); canceled or archived end it. terminal: archived, canceled';

CREATE TABLE lead_assignment (
    uid                   TEXT PRIMARY KEY CHECK (uid ~ '^lasg_[0-9A-HJKMNP-TV-Z]{26}$'),
    lead_uid              TEXT NOT NULL,
    user_uid              TEXT NOT NULL,
    assigned_by_user_uid  TEXT,
    assignment_role       TEXT NOT NULL DEFAULT 'owner' CHECK (assignment_role IN ('owner', 'collaborator')),
    assigned_ts           TIMESTAMPTZ NOT NULL DEFAULT now(),
    status                JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels                JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations           JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts             TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts             TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT lead_assignment_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'ended', 'archived'), false)
    )
);
CREATE INDEX lead_assignment_labels_idx ON lead_assignment USING gin (labels);
CREATE INDEX lead_assignment_phase_idx ON lead_assignment ((status ->> 'phase'));
CREATE INDEX lead_assignment_lead_uid_idx ON lead_assignment (lead_uid);
CREATE INDEX lead_assignment_user_uid_idx ON lead_assignment (user_uid);
CREATE INDEX lead_assignment_assigned_by_user_uid_idx ON lead_assignment (assigned_by_user_uid);
COMMENT ON TABLE lead_assignment IS 'Assignment of a lead to a staff user as owner or collaborator, over a period.';
COMMENT ON COLUMN lead_assignment.lead_uid IS 'Lead assigned. ref: lead.uid';
COMMENT ON COLUMN lead_assignment.user_uid IS 'Staff user assigned. ref: user_account.uid';
COMMENT ON COLUMN lead_assignment.assigned_by_user_uid IS 'Staff user who made the assignment; NULL for automatic routing. ref: user_account.uid';
COMMENT ON COLUMN lead_assignment.assignment_role IS 'Part the user plays on the lead.';
COMMENT ON COLUMN lead_assignment.assigned_ts IS 'When the assignment started.';
COMMENT ON COLUMN lead_assignment.status IS 'Lifecycle: active; ended (reassigned or finished) or archived end it. terminal: ended, archived';
