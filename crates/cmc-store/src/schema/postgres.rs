//! The PostgreSQL migrations, in version order (append-only: never edit
//! one that has shipped).

use super::Migration;

pub(super) const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        description: "initial schema",
        sql: r"
CREATE TABLE cas (
    name        TEXT PRIMARY KEY,
    cert_der    BYTEA NOT NULL,
    key_ref     TEXT NOT NULL,
    parent      TEXT REFERENCES cas (name),
    created_at  BIGINT NOT NULL
);

CREATE TABLE ca_chain (
    ca        TEXT NOT NULL REFERENCES cas (name),
    position  BIGINT NOT NULL,
    cert_der  BYTEA NOT NULL,
    PRIMARY KEY (ca, position)
);

CREATE TABLE certificates (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    issuer             TEXT NOT NULL REFERENCES cas (name),
    serial             BYTEA NOT NULL,
    status             TEXT NOT NULL
                       CHECK (status IN ('reserved', 'issued', 'failed', 'revoked')),
    requester          TEXT NOT NULL,
    profile            TEXT NOT NULL,
    request_hash       BYTEA NOT NULL,
    reserved_at        BIGINT NOT NULL,
    tbs_der            BYTEA,
    cert_der           BYTEA,
    subject            TEXT,
    not_before         BIGINT,
    not_after          BIGINT,
    issued_at          BIGINT,
    failed_at          BIGINT,
    failure_reason     TEXT,
    revoked_at         BIGINT,
    revocation_reason  BIGINT,
    invalidity_date    BIGINT,
    UNIQUE (issuer, serial),
    CHECK ((status IN ('issued', 'revoked')) = (cert_der IS NOT NULL)),
    CHECK ((status IN ('issued', 'revoked')) = (subject IS NOT NULL)),
    CHECK ((status = 'failed') = (failed_at IS NOT NULL)),
    CHECK ((status = 'revoked') = (revoked_at IS NOT NULL AND revocation_reason IS NOT NULL))
);
CREATE INDEX certificates_subject ON certificates (subject);
CREATE INDEX certificates_revoked ON certificates (issuer) WHERE status = 'revoked';

CREATE TABLE certificate_sans (
    cert_id   BIGINT NOT NULL REFERENCES certificates (id),
    position  BIGINT NOT NULL,
    san       TEXT NOT NULL,
    PRIMARY KEY (cert_id, position)
);
CREATE INDEX certificate_sans_san ON certificate_sans (san);

CREATE TABLE clients (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    cert_der     BYTEA NOT NULL,
    fingerprint  BYTEA NOT NULL UNIQUE,
    role         TEXT NOT NULL CHECK (role IN ('client', 'ra', 'agent')),
    expires_at   BIGINT,
    disabled_at  BIGINT,
    created_at   BIGINT NOT NULL
);

CREATE TABLE client_grants (
    client_id  TEXT NOT NULL REFERENCES clients (id),
    position   BIGINT NOT NULL,
    ca         TEXT,
    profile    TEXT,
    PRIMARY KEY (client_id, position)
);

CREATE TABLE secrets (
    ca               TEXT NOT NULL REFERENCES cas (name),
    identification   TEXT NOT NULL,
    derived_key      BYTEA NOT NULL,
    hash_alg         TEXT NOT NULL,
    purpose          TEXT NOT NULL CHECK (purpose IN ('enroll', 'revoke')),
    revoke_issuer    TEXT,
    revoke_serial    BYTEA,
    profile          TEXT,
    created_at       BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    used_at          BIGINT,
    failed_attempts  BIGINT NOT NULL DEFAULT 0,
    locked           BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (ca, identification),
    CHECK ((purpose = 'revoke') = (revoke_issuer IS NOT NULL AND revoke_serial IS NOT NULL))
);

CREATE TABLE nonces (
    signer      BYTEA NOT NULL,
    nonce       BYTEA NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    PRIMARY KEY (signer, nonce)
);
CREATE INDEX nonces_expires ON nonces (expires_at);

CREATE TABLE transactions (
    signer          BYTEA NOT NULL,
    transaction_id  BYTEA NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('open', 'pending', 'completed', 'failed')),
    pending_id      TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    PRIMARY KEY (signer, transaction_id),
    CHECK ((state = 'pending') = (pending_id IS NOT NULL))
);
CREATE INDEX transactions_expires ON transactions (expires_at);

CREATE TABLE pending_requests (
    seq                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id                    TEXT NOT NULL UNIQUE,
    ca                    TEXT NOT NULL REFERENCES cas (name),
    client                TEXT NOT NULL,
    profile               TEXT NOT NULL,
    request_der           BYTEA NOT NULL,
    body_part_id          BIGINT NOT NULL,
    created_at            BIGINT NOT NULL,
    state                 TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'rejected')),
    cert_serial           BYTEA,
    reject_reason         TEXT,
    decided_by            TEXT,
    decided_at            BIGINT,
    replacement_template  BYTEA,
    CHECK ((state = 'approved') = (cert_serial IS NOT NULL)),
    CHECK ((state = 'rejected') = (reject_reason IS NOT NULL))
);
CREATE INDEX pending_requests_ca ON pending_requests (ca, state);
CREATE INDEX pending_requests_client ON pending_requests (client, state);

CREATE TABLE crl_numbers (
    issuer       TEXT PRIMARY KEY REFERENCES cas (name),
    last_number  BIGINT NOT NULL
);

CREATE TABLE crls (
    issuer       TEXT PRIMARY KEY REFERENCES cas (name),
    crl_number   BIGINT NOT NULL,
    der          BYTEA NOT NULL,
    this_update  BIGINT NOT NULL,
    next_update  BIGINT NOT NULL
);

CREATE TABLE audit_log (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         BIGINT NOT NULL,
    kind       TEXT NOT NULL,
    issuer     TEXT,
    serial     BYTEA,
    profile    TEXT,
    requester  TEXT,
    outcome    TEXT NOT NULL CHECK (outcome IN ('success', 'failure')),
    detail     TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
",
    },
    Migration {
        version: 2,
        description: "secrets: the popLinkWitnessV2 key beside the identityProofV2 key",
        sql: "ALTER TABLE secrets ADD COLUMN link_key BYTEA;",
    },
    Migration {
        version: 3,
        description: "bootstrap: requests a CA approves without an agent",
        sql: r"
CREATE TABLE ca_auto_approvals (
    ca         TEXT PRIMARY KEY REFERENCES cas (name),
    granted    BIGINT NOT NULL CHECK (granted >= 0),
    remaining  BIGINT NOT NULL CHECK (remaining >= 0 AND remaining <= granted),
    locked     BOOLEAN NOT NULL DEFAULT FALSE
);
",
    },
    Migration {
        version: 4,
        description: "pending requests: a claim while one decision is being made",
        sql: r"
ALTER TABLE pending_requests ADD COLUMN claimed_by TEXT;
ALTER TABLE pending_requests ADD COLUMN claimed_until BIGINT;
",
    },
    Migration {
        version: 5,
        description: "names: registered name spaces, credential subjects, revocation epochs, engine keys",
        sql: r"
ALTER TABLE clients ADD COLUMN subject TEXT;
ALTER TABLE clients ADD COLUMN names TEXT;
CREATE INDEX clients_subject ON clients (subject);
ALTER TABLE secrets ADD COLUMN names TEXT;
CREATE TABLE revocation_epochs (
    issuer  TEXT PRIMARY KEY,
    epoch   BIGINT NOT NULL
);
CREATE TABLE engine_keys (
    name        TEXT PRIMARY KEY,
    value       BYTEA NOT NULL,
    created_at  BIGINT NOT NULL
);
",
    },
    Migration {
        version: 6,
        description: "revoked certificates listed in id order from the index alone (CRLs of millions)",
        // Covering (an index-only scan once vacuumed): a CRL is read from
        // the index without touching the table, in the order it lists its
        // entries.
        sql: r"
DROP INDEX certificates_revoked;
CREATE INDEX certificates_revoked ON certificates (issuer, id)
    INCLUDE (serial, revocation_reason, revoked_at, invalidity_date, not_after)
    WHERE status = 'revoked';
",
    },
    Migration {
        version: 7,
        description: "MAC credentials: sealed secrets of RA references and one-time secrets (CMP)",
        sql: r"
ALTER TABLE clients ADD COLUMN mac_reference TEXT;
ALTER TABLE clients ADD COLUMN mac_secret BYTEA;
CREATE UNIQUE INDEX clients_mac_reference ON clients (mac_reference);
ALTER TABLE secrets ADD COLUMN mac_secret BYTEA;
",
    },
    Migration {
        version: 8,
        description: "CMP: certificates waiting for their certConf",
        sql: r"
CREATE TABLE cmp_confirmations (
    signer          BYTEA NOT NULL,
    transaction_id  BYTEA NOT NULL,
    ca              TEXT NOT NULL REFERENCES cas (name),
    serial          BYTEA NOT NULL,
    cert_req_id     BIGINT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('waiting', 'confirmed', 'rejected', 'expired')),
    created_at      BIGINT NOT NULL,
    deadline        BIGINT NOT NULL,
    settled_at      BIGINT,
    PRIMARY KEY (signer, transaction_id)
);
CREATE INDEX cmp_confirmations_waiting ON cmp_confirmations (deadline) WHERE state = 'waiting';
",
    },
    Migration {
        version: 9,
        description: "certificates accepted by their holder (CMC confirmCertAcceptance)",
        sql: r"
ALTER TABLE certificates ADD COLUMN accepted_at BIGINT;
",
    },
    Migration {
        version: 10,
        description: "a CA's certificates by issue time and by serial (admin listings by page)",
        // As for SQLite; the counts are index-only scans once vacuumed.
        sql: r"
CREATE INDEX certificates_by_issue ON certificates (issuer, issued_at, id)
    INCLUDE (status, not_before, not_after)
    WHERE status IN ('issued', 'revoked');
CREATE INDEX certificates_by_serial ON certificates (issuer, length(serial), serial)
    WHERE status IN ('issued', 'revoked');
",
    },
    Migration {
        version: 11,
        description: "certificates withdrawn from publication (CMC publicationInfo dontPublish)",
        sql: r"
ALTER TABLE certificates ADD COLUMN unpublished_at BIGINT;
",
    },
    Migration {
        version: 12,
        description: "CA key generations (rollover): the active one in cas, passive and retired ones beside it",
        // As for SQLite; ADD COLUMN with a constant default rewrites no rows.
        sql: r"
ALTER TABLE cas ADD COLUMN generation BIGINT NOT NULL DEFAULT 1;
ALTER TABLE certificates ADD COLUMN ca_generation BIGINT NOT NULL DEFAULT 1;
CREATE TABLE ca_generations (
    ca           TEXT NOT NULL REFERENCES cas (name),
    generation   BIGINT NOT NULL CHECK (generation > 0),
    state        TEXT NOT NULL CHECK (state IN ('passive', 'retired')),
    cert_der     BYTEA NOT NULL,
    key_ref      TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    activate_at  BIGINT,
    retired_at   BIGINT,
    PRIMARY KEY (ca, generation),
    CHECK ((state = 'retired') = (retired_at IS NOT NULL))
);
CREATE UNIQUE INDEX ca_generations_one_passive ON ca_generations (ca) WHERE state = 'passive';
CREATE TABLE ca_generation_chain (
    ca          TEXT NOT NULL,
    generation  BIGINT NOT NULL,
    position    BIGINT NOT NULL,
    cert_der    BYTEA NOT NULL,
    PRIMARY KEY (ca, generation, position),
    FOREIGN KEY (ca, generation) REFERENCES ca_generations (ca, generation)
);
",
    },
    Migration {
        version: 13,
        description: "the operator client role (console administration by client certificate)",
        sql: r"
ALTER TABLE clients DROP CONSTRAINT clients_role_check;
ALTER TABLE clients ADD CONSTRAINT clients_role_check
    CHECK (role IN ('client', 'ra', 'agent', 'operator'));
",
    },
    Migration {
        version: 14,
        description: "searches newest first: certificates by CA, by CA and status, by requester; audit events by serial",
        // As for SQLite (PostgreSQL's planner has statistics, but a rare
        // CA, status or requester and an audit trail are still scans
        // without them).
        sql: r"
CREATE INDEX certificates_by_ca ON certificates (issuer, id);
CREATE INDEX certificates_by_ca_status ON certificates (issuer, status, id);
CREATE INDEX certificates_by_requester ON certificates (requester, id);
CREATE INDEX audit_log_serial ON audit_log (serial, id) WHERE serial IS NOT NULL;
",
    },
    Migration {
        version: 15,
        description: "fewer index pages per enrollment: counts by status from partial indexes, audit events linked to their certificate",
        // As for SQLite.
        sql: r"
DROP INDEX certificates_by_ca_status;
CREATE INDEX certificates_unissued ON certificates (issuer, status, id) WHERE status <> 'issued';
DROP INDEX certificates_revoked;
CREATE INDEX certificates_revoked ON certificates
    (issuer, id, serial, revocation_reason, revoked_at, invalidity_date, not_after, status,
     ca_generation)
    WHERE status = 'revoked';
ALTER TABLE audit_log ADD COLUMN cert_id BIGINT;
DROP INDEX audit_log_serial;
CREATE INDEX audit_log_cert ON audit_log (cert_id, id) WHERE cert_id IS NOT NULL;
CREATE INDEX audit_log_serial_unlinked ON audit_log (serial, id)
    WHERE serial IS NOT NULL AND cert_id IS NULL;
",
    },
    Migration {
        version: 16,
        description: "spent nonces keyed by a signer prefix and the nonce",
        // As for SQLite (a heap table needs no id for its rows to grow at
        // the end).
        sql: r"
CREATE TABLE spent_nonces (
    nonce_key   BYTEA PRIMARY KEY,
    expires_at  BIGINT NOT NULL
);
INSERT INTO spent_nonces (nonce_key, expires_at)
    SELECT substring(signer from 1 for 8) || nonce, max(expires_at) FROM nonces GROUP BY 1;
DROP TABLE nonces;
CREATE INDEX spent_nonces_expires ON spent_nonces (expires_at);
",
    },
    Migration {
        version: 17,
        description: "the CA index holds rows with a positive id (PostgreSQL only)",
        // On a table without statistics (a new store, until autovacuum's
        // first ANALYZE) the planner costs (CA, id) and the unique
        // (CA, serial) index the same for `issuer = $1 AND serial = $2`,
        // and took the CA index: every lookup of a certificate (revocation
        // check, audit link, status updates) walked all of its CA's rows,
        // and a pooled connection kept that plan as its generic plan. A
        // predicate these lookups do not imply takes the CA index out of
        // their choice; the searches by CA and the counts say `id > 0`
        // (identity ids start at 1, so it holds every row).
        sql: r"
DROP INDEX certificates_by_ca;
CREATE INDEX certificates_by_ca ON certificates (issuer, id) WHERE id > 0;
",
    },
];
