-- Module 23: Macrodata
-- A Kubernetes-style registry of typed artifacts. macrodata_catalog is the namespace;
-- macrodata_artifact is one versioned artifact of a kind (classification_spec, combo_report,
-- combo_suggestion, combo_template, agent_assignment, design_asset, document_export) with its typed
-- spec and, for files, the SHA-256 and object-storage key of its bytes. It absorbs seven legacy
-- tables (classification_settings, combo_logs, combo_suggestions, combo_templates,
-- designer_assignments, assets, csv_exports); the legacy columns checksum and r2_key are now
-- content_hash_identifier and bearer_entity_key. Products link to artifacts through
-- link_product_macrodata_artifact (module 14); owners are principal rows (module 24).

CREATE TABLE macrodata_catalog (
    uid             TEXT PRIMARY KEY CHECK (uid ~ '^mdc_[0-9A-HJKMNP-TV-Z]{26}$'),
    name            TEXT NOT NULL CHECK (name ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
    catalog_kind    TEXT NOT NULL CHECK (catalog_kind IN ('system', 'team', 'publisher', 'shared')),
    description     TEXT,
    status          JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels          JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT macrodata_catalog_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('active', 'terminating', 'archived'), false)
    ),
    CONSTRAINT macrodata_catalog_name_key UNIQUE (name)
);
CREATE INDEX macrodata_catalog_labels_idx ON macrodata_catalog USING gin (labels);
CREATE INDEX macrodata_catalog_phase_idx ON macrodata_catalog ((status ->> 'phase'));
COMMENT ON TABLE macrodata_catalog IS 'A namespace of the macrodata artifact registry, in the manner of a Kubernetes namespace: every macrodata_artifact lives in exactly one catalog, and names are unique per catalog, kind and version.';
COMMENT ON COLUMN macrodata_catalog.name IS 'Unique catalog name, a DNS label as in Kubernetes namespaces, e.g. creative or operations.';
COMMENT ON COLUMN macrodata_catalog.catalog_kind IS 'Who the catalog serves: platform-owned system artifacts, one staff team (Ops, Creative), one publisher, or shared by all.';
COMMENT ON COLUMN macrodata_catalog.description IS 'What the catalog holds and who owns it.';
COMMENT ON COLUMN macrodata_catalog.status IS 'Lifecycle: active → terminating (its artifacts are being archived); archived ends it. terminal: archived';

CREATE TABLE macrodata_artifact (
    uid                      TEXT PRIMARY KEY CHECK (uid ~ '^mda_[0-9A-HJKMNP-TV-Z]{26}$'),
    catalog_uid              TEXT NOT NULL,
    kind                     TEXT NOT NULL CHECK (kind IN ('classification_spec', 'combo_report', 'combo_suggestion', 'combo_template', 'agent_assignment', 'design_asset', 'document_export')),
    name                     TEXT NOT NULL,
    artifact_version         INTEGER NOT NULL DEFAULT 1 CHECK (artifact_version >= 1),
    spec                     JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(spec) = 'object'),
    content_hash_identifier  TEXT CHECK (content_hash_identifier ~ '^[0-9a-f]{64}$'),
    bearer_entity_key        TEXT,
    media_type               TEXT CHECK (media_type IN ('application/json', 'application/pdf', 'application/zip', 'application/octet-stream', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', 'text/csv', 'text/plain', 'text/markdown', 'image/png', 'image/jpeg', 'image/webp', 'image/gif', 'image/svg+xml', 'video/mp4', 'video/quicktime')),
    size_bytes               BIGINT CHECK (size_bytes >= 0),
    owner_principal_uid      TEXT,
    effective_ts             TIMESTAMPTZ,
    status                   JSONB NOT NULL DEFAULT '{"phase": "active", "conditions": []}',
    labels                   JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),
    annotations              JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(annotations) = 'object'),
    create_ts                TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_ts                TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT macrodata_artifact_status_check CHECK (
        jsonb_typeof(status) = 'object'
        AND COALESCE(jsonb_typeof(status -> 'conditions') = 'array', false)
        AND COALESCE(status ->> 'phase' IN ('draft', 'active', 'superseded', 'archived'), false)
    ),
    CONSTRAINT macrodata_artifact_catalog_uid_kind_name_artifact_version_key UNIQUE (catalog_uid, kind, name, artifact_version)
);
CREATE INDEX macrodata_artifact_labels_idx ON macrodata_artifact USING gin (labels);
CREATE INDEX macrodata_artifact_phase_idx ON macrodata_artifact ((status ->> 'phase'));
CREATE INDEX macrodata_artifact_owner_principal_uid_idx ON macrodata_artifact (owner_principal_uid);
CREATE INDEX macrodata_artifact_kind_idx ON macrodata_artifact (kind);
CREATE INDEX macrodata_artifact_catalog_uid_kind_idx ON macrodata_artifact (catalog_uid, kind);
CREATE INDEX macrodata_artifact_name_idx ON macrodata_artifact (name);
CREATE INDEX macrodata_artifact_content_hash_identifier_idx ON macrodata_artifact (content_hash_identifier);
CREATE INDEX macrodata_artifact_effective_ts_idx ON macrodata_artifact (effective_ts);
COMMENT ON TABLE macrodata_artifact IS 'A typed, versioned artifact in the registry (Kubernetes style: kind, name, spec). It replaces seven legacy tables, one kind each: classification_settings → classification_spec (the performance classification thresholds, replicated to the lake as configuration.objective_spec), combo_logs → combo_report, combo_suggestions → combo_suggestion, combo_templates → combo_template, designer_assignments → agent_assignment, assets → design_asset, csv_exports → document_export. Products link to artifacts through link_product_macrodata_artifact (legacy product_asset_mappings).';
COMMENT ON COLUMN macrodata_artifact.catalog_uid IS 'Catalog (namespace) the artifact lives in. ref: macrodata_catalog.uid';
COMMENT ON COLUMN macrodata_artifact.kind IS 'Type of the artifact, which fixes the shape of spec. Legacy tables by kind: classification_spec = classification_settings, combo_report = combo_logs, combo_suggestion = combo_suggestions, combo_template = combo_templates, agent_assignment = designer_assignments, design_asset = assets, document_export = csv_exports.';
COMMENT ON COLUMN macrodata_artifact.name IS 'Name of the artifact, unique per catalog, kind and version, e.g. default for the classification thresholds.';
COMMENT ON COLUMN macrodata_artifact.artifact_version IS 'Version number of the artifact, from 1; a change to an active artifact is a new row with the next version.';
COMMENT ON COLUMN macrodata_artifact.spec IS 'Typed body of the artifact, shaped by kind: e.g. for classification_spec the thresholds top_riser_7_day_threshold, top_riser_14_day_threshold, winner_30_day_threshold and banana_count; for agent_assignment the designer and products; for document_export the export parameters. Holds the legacy row''s columns other than the bytes.';
COMMENT ON COLUMN macrodata_artifact.content_hash_identifier IS 'SHA-256 (64 lower-case hex digits) of the artifact''s bytes; renamed from the legacy column checksum. NULL when the artifact has no bytes (spec only).';
COMMENT ON COLUMN macrodata_artifact.bearer_entity_key IS 'Object-storage (R2) key of the artifact''s bytes, e.g. an image or a CSV file; renamed from the legacy column r2_key. NULL when the artifact has no bytes (spec only).';
COMMENT ON COLUMN macrodata_artifact.media_type IS 'IANA media type of the bytes at bearer_entity_key; NULL when the artifact has no bytes. New types are added by a migration.';
COMMENT ON COLUMN macrodata_artifact.size_bytes IS 'Size of the bytes at bearer_entity_key; NULL when the artifact has no bytes.';
COMMENT ON COLUMN macrodata_artifact.owner_principal_uid IS 'Principal (staff user, service or partner) who owns the artifact, e.g. the designer of a design_asset; NULL for migrated rows without an owner. ref: principal.uid';
COMMENT ON COLUMN macrodata_artifact.effective_ts IS 'When the artifact takes effect (a classification_spec applies from the next refresh after it); NULL means as soon as it is active.';
COMMENT ON COLUMN macrodata_artifact.status IS 'Lifecycle: draft → active; superseded (a newer artifact_version of the same catalog, kind and name is active) or archived end it. terminal: archived, superseded';
