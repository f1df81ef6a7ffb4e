//! The SQLite migrations, in version order (append-only: never edit
//! one that has shipped).

use super::Migration;

pub(super) const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        description: "initial schema",
        sql: r"
CREATE TABLE cas (
    name        TEXT PRIMARY KEY,
    cert_der    BLOB NOT NULL,
    key_ref     TEXT NOT NULL,
    parent      TEXT REFERENCES cas (name),
    created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE ca_chain (
    ca        TEXT NOT NULL REFERENCES cas (name),
    position  INTEGER NOT NULL,
    cert_der  BLOB NOT NULL,
    PRIMARY KEY (ca, position)
) STRICT;

CREATE TABLE certificates (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    issuer             TEXT NOT NULL REFERENCES cas (name),
    serial             BLOB NOT NULL,
    status             TEXT NOT NULL
                       CHECK (status IN ('reserved', 'issued', 'failed', 'revoked')),
    requester          TEXT NOT NULL,
    profile            TEXT NOT NULL,
    request_hash       BLOB NOT NULL,
    reserved_at        INTEGER NOT NULL,
    tbs_der            BLOB,
    cert_der           BLOB,
    subject            TEXT,
    not_before         INTEGER,
    not_after          INTEGER,
    issued_at          INTEGER,
    failed_at          INTEGER,
    failure_reason     TEXT,
    revoked_at         INTEGER,
    revocation_reason  INTEGER,
    invalidity_date    INTEGER,
    UNIQUE (issuer, serial),
    CHECK ((status IN ('issued', 'revoked')) = (cert_der IS NOT NULL)),
    CHECK ((status IN ('issued', 'revoked')) = (subject IS NOT NULL)),
    CHECK ((status = 'failed') = (failed_at IS NOT NULL)),
    CHECK ((status = 'revoked') = (revoked_at IS NOT NULL AND revocation_reason IS NOT NULL))
) STRICT;
CREATE INDEX certificates_subject ON certificates (subject);
CREATE INDEX certificates_revoked ON certificates (issuer) WHERE status = 'revoked';

CREATE TABLE certificate_sans (
    cert_id   INTEGER NOT NULL REFERENCES certificates (id),
    position  INTEGER NOT NULL,
    san       TEXT NOT NULL,
    PRIMARY KEY (cert_id, position)
) STRICT;
CREATE INDEX certificate_sans_san ON certificate_sans (san);

CREATE TABLE clients (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL UNIQUE,
    cert_der     BLOB NOT NULL,
    fingerprint  BLOB NOT NULL UNIQUE,
    role         TEXT NOT NULL CHECK (role IN ('client', 'ra', 'agent')),
    expires_at   INTEGER,
    disabled_at  INTEGER,
    created_at   INTEGER NOT NULL
) STRICT;

CREATE TABLE client_grants (
    client_id  TEXT NOT NULL REFERENCES clients (id),
    position   INTEGER NOT NULL,
    ca         TEXT,
    profile    TEXT,
    PRIMARY KEY (client_id, position)
) STRICT;

CREATE TABLE secrets (
    ca               TEXT NOT NULL REFERENCES cas (name),
    identification   TEXT NOT NULL,
    derived_key      BLOB NOT NULL,
    hash_alg         TEXT NOT NULL,
    purpose          TEXT NOT NULL CHECK (purpose IN ('enroll', 'revoke')),
    revoke_issuer    TEXT,
    revoke_serial    BLOB,
    profile          TEXT,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    used_at          INTEGER,
    failed_attempts  INTEGER NOT NULL DEFAULT 0,
    locked           INTEGER NOT NULL DEFAULT FALSE,
    PRIMARY KEY (ca, identification),
    CHECK ((purpose = 'revoke') = (revoke_issuer IS NOT NULL AND revoke_serial IS NOT NULL))
) STRICT;

CREATE TABLE nonces (
    signer      BLOB NOT NULL,
    nonce       BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (signer, nonce)
) STRICT;
CREATE INDEX nonces_expires ON nonces (expires_at);

CREATE TABLE transactions (
    signer          BLOB NOT NULL,
    transaction_id  BLOB NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('open', 'pending', 'completed', 'failed')),
    pending_id      TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    PRIMARY KEY (signer, transaction_id),
    CHECK ((state = 'pending') = (pending_id IS NOT NULL))
) STRICT;
CREATE INDEX transactions_expires ON transactions (expires_at);

CREATE TABLE pending_requests (
    seq                   INTEGER PRIMARY KEY AUTOINCREMENT,
    id                    TEXT NOT NULL UNIQUE,
    ca                    TEXT NOT NULL REFERENCES cas (name),
    client                TEXT NOT NULL,
    profile               TEXT NOT NULL,
    request_der           BLOB NOT NULL,
    body_part_id          INTEGER NOT NULL,
    created_at            INTEGER NOT NULL,
    state                 TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'rejected')),
    cert_serial           BLOB,
    reject_reason         TEXT,
    decided_by            TEXT,
    decided_at            INTEGER,
    replacement_template  BLOB,
    CHECK ((state = 'approved') = (cert_serial IS NOT NULL)),
    CHECK ((state = 'rejected') = (reject_reason IS NOT NULL))
) STRICT;
CREATE INDEX pending_requests_ca ON pending_requests (ca, state);
CREATE INDEX pending_requests_client ON pending_requests (client, state);

CREATE TABLE crl_numbers (
    issuer       TEXT PRIMARY KEY REFERENCES cas (name),
    last_number  INTEGER NOT NULL
) STRICT;

CREATE TABLE crls (
    issuer       TEXT PRIMARY KEY REFERENCES cas (name),
    crl_number   INTEGER NOT NULL,
    der          BLOB NOT NULL,
    this_update  INTEGER NOT NULL,
    next_update  INTEGER NOT NULL
) STRICT;

CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    issuer     TEXT,
    serial     BLOB,
    profile    TEXT,
    requester  TEXT,
    outcome    TEXT NOT NULL CHECK (outcome IN ('success', 'failure')),
    detail     TEXT NOT NULL
) STRICT;
CREATE INDEX audit_log_at ON audit_log (at);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
",
    },
    Migration {
        version: 2,
        description: "secrets: the popLinkWitnessV2 key beside the identityProofV2 key",
        sql: "ALTER TABLE secrets ADD COLUMN link_key BLOB;",
    },
    Migration {
        version: 3,
        description: "bootstrap: requests a CA approves without an agent",
        sql: r"
CREATE TABLE ca_auto_approvals (
    ca         TEXT PRIMARY KEY REFERENCES cas (name),
    granted    INTEGER NOT NULL CHECK (granted >= 0),
    remaining  INTEGER NOT NULL CHECK (remaining >= 0 AND remaining <= granted),
    locked     INTEGER NOT NULL DEFAULT FALSE
) STRICT;
",
    },
    Migration {
        version: 4,
        description: "pending requests: a claim while one decision is being made",
        sql: r"
ALTER TABLE pending_requests ADD COLUMN claimed_by TEXT;
ALTER TABLE pending_requests ADD COLUMN claimed_until INTEGER;
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
    epoch   INTEGER NOT NULL
) STRICT;
CREATE TABLE engine_keys (
    name        TEXT PRIMARY KEY,
    value       BLOB NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;
",
    },
    Migration {
        version: 6,
        description: "revoked certificates listed in id order from the index alone (CRLs of millions)",
        // Covering (status too, or SQLite reads the row to check the
        // partial index's condition): a CRL is read from the index without
        // touching the table, in the order it lists its entries.
        sql: r"
DROP INDEX certificates_revoked;
CREATE INDEX certificates_revoked ON certificates
    (issuer, id, serial, revocation_reason, revoked_at, invalidity_date, not_after, status)
    WHERE status = 'revoked';
",
    },
    Migration {
        version: 7,
        description: "MAC credentials: sealed secrets of RA references and one-time secrets (CMP)",
        sql: r"
ALTER TABLE clients ADD COLUMN mac_reference TEXT;
ALTER TABLE clients ADD COLUMN mac_secret BLOB;
CREATE UNIQUE INDEX clients_mac_reference ON clients (mac_reference);
ALTER TABLE secrets ADD COLUMN mac_secret BLOB;
",
    },
    Migration {
        version: 8,
        description: "CMP: certificates waiting for their certConf",
        sql: r"
CREATE TABLE cmp_confirmations (
    signer          BLOB NOT NULL,
    transaction_id  BLOB NOT NULL,
    ca              TEXT NOT NULL REFERENCES cas (name),
    serial          BLOB NOT NULL,
    cert_req_id     INTEGER NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('waiting', 'confirmed', 'rejected', 'expired')),
    created_at      INTEGER NOT NULL,
    deadline        INTEGER NOT NULL,
    settled_at      INTEGER,
    PRIMARY KEY (signer, transaction_id)
) STRICT;
CREATE INDEX cmp_confirmations_waiting ON cmp_confirmations (deadline) WHERE state = 'waiting';
",
    },
    Migration {
        version: 9,
        description: "certificates accepted by their holder (CMC confirmCertAcceptance)",
        sql: r"
ALTER TABLE certificates ADD COLUMN accepted_at INTEGER;
",
    },
    Migration {
        version: 10,
        description: "a CA's certificates by issue time and by serial (admin listings by page)",
        // Pages in issue or serial order read the index in that order
        // instead of sorting every certificate of the CA; the counts read
        // the first index alone (covering: status and validity).
        sql: r"
CREATE INDEX certificates_by_issue ON certificates
    (issuer, issued_at, id, status, not_before, not_after)
    WHERE status IN ('issued', 'revoked');
CREATE INDEX certificates_by_serial ON certificates (issuer, length(serial), serial)
    WHERE status IN ('issued', 'revoked');
",
    },
    Migration {
        version: 11,
        description: "certificates withdrawn from publication (CMC publicationInfo dontPublish)",
        sql: r"
ALTER TABLE certificates ADD COLUMN unpublished_at INTEGER;
",
    },
    Migration {
        version: 12,
        description: "CA key generations (rollover): the active one in cas, passive and retired ones beside it",
        // Existing CAs and certificates are generation 1. A CA has at most
        // one passive (next) generation.
        sql: r"
ALTER TABLE cas ADD COLUMN generation INTEGER NOT NULL DEFAULT 1;
ALTER TABLE certificates ADD COLUMN ca_generation INTEGER NOT NULL DEFAULT 1;
CREATE TABLE ca_generations (
    ca           TEXT NOT NULL REFERENCES cas (name),
    generation   INTEGER NOT NULL CHECK (generation > 0),
    state        TEXT NOT NULL CHECK (state IN ('passive', 'retired')),
    cert_der     BLOB NOT NULL,
    key_ref      TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    activate_at  INTEGER,
    retired_at   INTEGER,
    PRIMARY KEY (ca, generation),
    CHECK ((state = 'retired') = (retired_at IS NOT NULL))
) STRICT;
CREATE UNIQUE INDEX ca_generations_one_passive ON ca_generations (ca) WHERE state = 'passive';
CREATE TABLE ca_generation_chain (
    ca          TEXT NOT NULL,
    generation  INTEGER NOT NULL,
    position    INTEGER NOT NULL,
    cert_der    BLOB NOT NULL,
    PRIMARY KEY (ca, generation, position),
    FOREIGN KEY (ca, generation) REFERENCES ca_generations (ca, generation)
) STRICT;
",
    },
    Migration {
        version: 13,
        description: "the operator client role (console administration by client certificate)",
        // SQLite cannot alter a CHECK constraint: clients is rebuilt with
        // its columns in their order, and client_grants (the one table that
        // references it) with it, so that no foreign key is left pointing
        // at a dropped table; foreign keys stay on throughout.
        sql: r"
CREATE TABLE clients_v13 (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    id             TEXT NOT NULL UNIQUE,
    cert_der       BLOB NOT NULL,
    fingerprint    BLOB NOT NULL UNIQUE,
    role           TEXT NOT NULL CHECK (role IN ('client', 'ra', 'agent', 'operator')),
    expires_at     INTEGER,
    disabled_at    INTEGER,
    created_at     INTEGER NOT NULL,
    subject        TEXT,
    names          TEXT,
    mac_reference  TEXT,
    mac_secret     BLOB
) STRICT;
INSERT INTO clients_v13 (seq, id, cert_der, fingerprint, role, expires_at, disabled_at,
                         created_at, subject, names, mac_reference, mac_secret)
    SELECT seq, id, cert_der, fingerprint, role, expires_at, disabled_at,
           created_at, subject, names, mac_reference, mac_secret FROM clients;
CREATE TABLE client_grants_v13 (
    client_id  TEXT NOT NULL REFERENCES clients_v13 (id),
    position   INTEGER NOT NULL,
    ca         TEXT,
    profile    TEXT,
    PRIMARY KEY (client_id, position)
) STRICT;
INSERT INTO client_grants_v13 (client_id, position, ca, profile)
    SELECT client_id, position, ca, profile FROM client_grants;
DELETE FROM sqlite_sequence WHERE name = 'clients_v13';
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'clients_v13', seq FROM sqlite_sequence WHERE name = 'clients';
DROP TABLE client_grants;
DROP TABLE clients;
ALTER TABLE clients_v13 RENAME TO clients;
ALTER TABLE client_grants_v13 RENAME TO client_grants;
CREATE INDEX clients_subject ON clients (subject);
CREATE UNIQUE INDEX clients_mac_reference ON clients (mac_reference);
",
    },
    Migration {
        version: 14,
        description: "searches newest first: certificates by CA, by CA and status, by requester; audit events by serial",
        // Keyset pages (`id < cursor ORDER BY id DESC`) read these in
        // order and stop after a page; without them SQLite sorts every
        // certificate of a CA (it has no statistics to prefer the primary
        // key) and a certificate's audit trail reads the whole log. The
        // counts by status are a scan of the second one alone.
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
        // Each commit wrote a leaf of (CA, status, id) and, for every
        // issuance event, a random leaf of audit_log_serial (a serial is
        // random): the pages of these two were a seventh of the WAL.
        // - (CA, status, id) now holds the rows not issued only: the hot
        //   path inserts issued rows, which it never holds. The counts
        //   read it and the CA index (for totals); a CA's pages of reserved,
        //   failed or revoked certificates read it (the queries name
        //   `status <> 'issued'`, for SQLite sees no implication).
        // - The CRL's index covers the key generation too: a CRL lists one
        //   generation's entries, and without it SQLite read them through
        //   the CA index, every certificate of the CA.
        // - An event names its certificate row (cert_id, filled on insert
        //   from the issuer and serial), so a certificate's trail reads an
        //   index that grows at its end; events of older schemas, and of
        //   serials without a row, stay indexed by serial.
        sql: r"
DROP INDEX certificates_by_ca_status;
CREATE INDEX certificates_unissued ON certificates (issuer, status, id) WHERE status <> 'issued';
DROP INDEX certificates_revoked;
CREATE INDEX certificates_revoked ON certificates
    (issuer, id, serial, revocation_reason, revoked_at, invalidity_date, not_after, status,
     ca_generation)
    WHERE status = 'revoked';
ALTER TABLE audit_log ADD COLUMN cert_id INTEGER;
DROP INDEX audit_log_serial;
CREATE INDEX audit_log_cert ON audit_log (cert_id, id) WHERE cert_id IS NOT NULL;
CREATE INDEX audit_log_serial_unlinked ON audit_log (serial, id)
    WHERE serial IS NOT NULL AND cert_id IS NULL;
",
    },
    Migration {
        version: 16,
        description: "spent nonces keyed by a signer prefix and the nonce",
        // An enrollment spends a nonce, a random key: a leaf page of its
        // own in the index that finds it, whose entries held the whole
        // 32-byte fingerprint and the nonce. The key is now 8 bytes of the
        // fingerprint and the nonce (types::replay::nonce_key), and the
        // row has nothing else but its expiry. The table keeps its rowid
        // (implicit, no AUTOINCREMENT): rows and the expiry index grow at
        // their end; clustered on the random key (WITHOUT ROWID) the
        // expiry index would end in that key, and a second's entries would
        // land on random pages of it. The nonces still live are carried
        // over (a key two rows share, a chance of 2^-64, keeps the later
        // expiry).
        sql: r"
CREATE TABLE spent_nonces (
    nonce_key   BLOB PRIMARY KEY,
    expires_at  INTEGER NOT NULL
) STRICT;
INSERT INTO spent_nonces (nonce_key, expires_at)
    SELECT CAST(substr(signer, 1, 8) || nonce AS BLOB), max(expires_at) FROM nonces GROUP BY 1;
DROP TABLE nonces;
CREATE INDEX spent_nonces_expires ON spent_nonces (expires_at);
",
    },
    Migration {
        version: 17,
        description: "the CA index holds rows with a positive id (PostgreSQL only)",
        // Nothing to do here: SQLite reads a certificate by (CA, serial)
        // through the unique index whatever the table holds. PostgreSQL's
        // planner, on a table without statistics, found the CA index as
        // cheap and walked all of a CA's rows (schema/postgres.rs).
        sql: "",
    },
];
