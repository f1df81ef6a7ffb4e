//! The CMP transactions: a certificate request (ir, cr, kur, p10cr) with
//! polling and certConf, a revocation (rr), a general message (genm).

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use der::Encode;
use proto_cmp::{
    CaCertsValue, CertOrEncCert, CertRepMessage, FailureBit, InfoTypeAndValue, PkiBody,
    PkiFailureInfo, PkiStatus, PkiStatusInfo, PollReq, Received, oid,
};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::Certificate;

use super::request::{
    CERT_REQ_ID, NewKey, cert_req_msg, cert_status, info_type, info_type_name, new_key, parse_dn,
    read_one_cert, rev_details, san_extension,
};
use super::session::{Session, chain_of, write_pem};
use super::status::{is_granted, status_text};
use super::{CertOutArgs, EnrollArgs, GenmArgs, P10crArgs, RrArgs};
use crate::Io;
use crate::commands::request::read_csr;
use crate::inspect::summarize;

/// Which CRMF request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Ir,
    Cr,
    Kur,
}

/// `cmp ir`, `cmp cr` and `cmp kur` (which renews `oldcert`, default
/// `--cert`).
pub(crate) fn run_crmf(
    kind: Kind,
    args: &EnrollArgs,
    oldcert: Option<&Path>,
    io: &mut Io<'_>,
) -> Result<()> {
    let old = if kind == Kind::Kur {
        let Some(path) = oldcert.or(args.common.cert.as_deref()) else {
            bail!("kur needs the certificate to renew: --oldcert PEM, or --cert");
        };
        Some(read_one_cert(path, "--oldcert")?)
    } else {
        None
    };
    let subject = match (&args.subject, &old) {
        (Some(dn), _) => parse_dn(dn)?,
        (None, Some(old)) => old.tbs_certificate().subject().clone(),
        (None, None) => bail!("--subject is required"),
    };
    let extensions = if args.san.is_empty() {
        Vec::new()
    } else {
        vec![san_extension(&args.san)?]
    };
    let mut session = Session::new(
        &args.common,
        Some(&subject),
        old.as_ref().map(|o| o.tbs_certificate().issuer()),
    )?;
    let key = new_key(&args.key, &args.common.passphrase)?;
    let outcome =
        cert_req_msg(&key, subject, extensions, old.as_ref(), args.popo).and_then(|msg| {
            let body = match kind {
                Kind::Ir => PkiBody::Ir(vec![msg]),
                Kind::Cr => PkiBody::Cr(vec![msg]),
                Kind::Kur => PkiBody::Kur(vec![msg]),
            };
            certify(&mut session, body, Some(key.public_key()), &args.out, io)
        });
    if outcome.is_err()
        && let (Some(path), NewKey::Private(_)) = (&args.key.new_key, &key)
    {
        // Nothing was issued for the generated key: remove it, so that a
        // retry can use the same path.
        let _ = std::fs::remove_file(path);
    }
    let issued = outcome?;
    issued.write(&session, &args.out, &args.common.extracertsout, io)
}

/// `cmp p10cr`.
pub(crate) fn run_p10cr(args: &P10crArgs, io: &mut Io<'_>) -> Result<()> {
    let csr = read_csr(&args.csr)?;
    let mut session = Session::new(&args.common, Some(&csr.info.subject), None)?;
    let key = csr.info.public_key.clone();
    let issued = certify(&mut session, PkiBody::P10cr(csr), Some(&key), &args.out, io)?;
    issued.write(&session, &args.out, &args.common.extracertsout, io)
}

/// A certificate received and confirmed.
struct Issued {
    cert: Certificate,
    ca_pubs: Vec<Certificate>,
    extra_certs: Vec<Certificate>,
}

impl Issued {
    fn write(
        &self,
        session: &Session,
        out: &CertOutArgs,
        extracertsout: &Option<std::path::PathBuf>,
        io: &mut Io<'_>,
    ) -> Result<()> {
        let der = self
            .cert
            .to_der()
            .map_err(|e| anyhow!("re-encoding: {e}"))?;
        let s = summarize(&der)?;
        writeln!(
            io.out,
            "issued: subject {}, serial {}, notAfter {}",
            s.subject, s.serial, s.not_after
        )
        .context("writing output")?;
        write_pem(&out.certout, std::slice::from_ref(&self.cert))?;
        writeln!(io.out, "certificate written to {}", out.certout.display())
            .context("writing output")?;
        if let Some(path) = &out.chainout {
            let pool: Vec<Certificate> = self
                .extra_certs
                .iter()
                .chain(&self.ca_pubs)
                .chain(session.trusted())
                .cloned()
                .collect();
            let chain = chain_of(&self.cert, &pool);
            write_pem(path, &chain)?;
            writeln!(
                io.out,
                "chain ({} certificates) written to {}",
                chain.len(),
                path.display()
            )
            .context("writing output")?;
        }
        if let Some(path) = &out.cacertsout {
            write_pem(path, &self.ca_pubs)?;
            writeln!(
                io.out,
                "caPubs ({} certificates) written to {}",
                self.ca_pubs.len(),
                path.display()
            )
            .context("writing output")?;
        }
        write_extra_certs(extracertsout.as_deref(), &self.extra_certs, io)
    }
}

fn write_extra_certs(path: Option<&Path>, certs: &[Certificate], io: &mut Io<'_>) -> Result<()> {
    if let Some(path) = path {
        write_pem(path, certs)?;
        writeln!(
            io.out,
            "extraCerts ({} certificates) written to {}",
            certs.len(),
            path.display()
        )
        .context("writing output")?;
    }
    Ok(())
}

/// Sends a certificate request, polls while it is held, checks the
/// certificate's key against `expected_key`, and confirms it (certConf),
/// unless implicit confirmation was asked for and granted.
fn certify(
    session: &mut Session,
    body: PkiBody,
    expected_key: Option<&SubjectPublicKeyInfoOwned>,
    out: &CertOutArgs,
    io: &mut Io<'_>,
) -> Result<Issued> {
    let request = body.name();
    let (answer_type, p10) = match &body {
        PkiBody::Ir(_) => (1, false),
        PkiBody::Kur(_) => (8, false),
        PkiBody::P10cr(_) => (3, true),
        _ => (3, false),
    };
    let mut received = session.exchange(body, out.implicit_confirm)?;
    let (cert, cert_req_id, ca_pubs) = loop {
        let rep = certificate_response(&received, answer_type, request)?;
        let [resp] = rep.response.as_slice() else {
            bail!(
                "{request}: the answer holds {} certificate responses, not one",
                rep.response.len()
            );
        };
        // A p10cr is answered with certReqId -1 (RFC 9483 §4.1.4), or 0 by
        // OpenSSL 3.0.
        let id_ok = if p10 {
            resp.cert_req_id == -1 || resp.cert_req_id == 0
        } else {
            resp.cert_req_id == CERT_REQ_ID
        };
        if !id_ok {
            bail!(
                "{request}: the answer is for certReqId {}",
                resp.cert_req_id
            );
        }
        if resp.status.status == PkiStatus::Waiting {
            writeln!(io.out, "{request}: {}", status_text(&resp.status))
                .context("writing output")?;
            received = poll(session, resp.cert_req_id, io)?;
            continue;
        }
        if !is_granted(resp.status.status) {
            bail!("{request}: {}", status_text(&resp.status));
        }
        let Some(pair) = &resp.certified_key_pair else {
            bail!(
                "{request}: {} without a certificate",
                status_text(&resp.status)
            );
        };
        let CertOrEncCert::Certificate(cert) = &pair.cert_or_enc_cert else {
            bail!(
                "{request}: the certificate is encrypted (indirect POP), which this client does not support"
            );
        };
        writeln!(io.out, "{request}: {}", status_text(&resp.status)).context("writing output")?;
        break (
            cert.clone(),
            resp.cert_req_id,
            rep.ca_pubs.clone().unwrap_or_default(),
        );
    };
    let extra_certs = received.message.extra_certs.clone().unwrap_or_default();
    if let Some(key) = expected_key
        && cert.tbs_certificate().subject_public_key_info() != key
    {
        let refusal = PkiStatusInfo::rejection(
            PkiFailureInfo::of(FailureBit::IncorrectData),
            "the public key of the certificate is not the one requested",
        );
        let sent = confirm(session, &cert, cert_req_id, Some(refusal));
        bail!(
            "{request}: the certificate is not for the requested key; it was rejected in certConf{}",
            sent.err()
                .map(|e| format!(" (which failed: {e:#})"))
                .unwrap_or_default()
        );
    }
    if out.implicit_confirm && received.message.header.implicit_confirm() {
        writeln!(io.out, "implicit confirmation granted: no certConf").context("writing output")?;
    } else {
        confirm(session, &cert, cert_req_id, None)?;
        writeln!(io.out, "certConf: confirmed (pkiConf)").context("writing output")?;
    }
    Ok(Issued {
        cert,
        ca_pubs,
        extra_certs,
    })
}

/// The CertRepMessage of an answer of type `answer_type` (ip 1, cp 3, kup 8).
fn certificate_response<'a>(
    received: &'a Received,
    answer_type: u32,
    request: &str,
) -> Result<&'a CertRepMessage> {
    let body = &received.message.body;
    match body {
        PkiBody::Ip(r) | PkiBody::Cp(r) | PkiBody::Kup(r) if body.type_number() == answer_type => {
            Ok(r)
        }
        other => bail!(
            "{request}: the server answered {} instead of {}",
            other.name(),
            proto_cmp::body_type_name(answer_type).unwrap_or("?")
        ),
    }
}

/// pollReq until the answer is no longer a pollRep, waiting checkAfter
/// seconds between, within the session's deadline.
fn poll(session: &mut Session, cert_req_id: i64, io: &mut Io<'_>) -> Result<Received> {
    loop {
        let answer = session.exchange(PkiBody::PollReq(vec![PollReq { cert_req_id }]), false)?;
        let PkiBody::PollRep(reps) = &answer.message.body else {
            return Ok(answer);
        };
        let [rep] = reps.as_slice() else {
            bail!("pollReq: the pollRep holds {} entries, not one", reps.len());
        };
        if rep.cert_req_id != cert_req_id {
            bail!("pollReq: the pollRep is for certReqId {}", rep.cert_req_id);
        }
        let wait = Duration::from_secs(u64::try_from(rep.check_after).unwrap_or(0));
        if Instant::now() + wait > session.deadline() {
            bail!(
                "pollReq: still waiting when --timeout runs out (checkAfter {} s)",
                rep.check_after
            );
        }
        let reason = rep
            .reason
            .as_ref()
            .map(|r| format!(", reason: {:?}", r.join(" ")))
            .unwrap_or_default();
        writeln!(io.out, "pollRep: checkAfter {} s{reason}", rep.check_after)
            .context("writing output")?;
        std::thread::sleep(wait);
    }
}

/// certConf for `cert` (accepting it, or with `rejection`) and its pkiConf.
fn confirm(
    session: &mut Session,
    cert: &Certificate,
    cert_req_id: i64,
    rejection: Option<PkiStatusInfo>,
) -> Result<()> {
    let status = cert_status(cert, cert_req_id, rejection)?;
    if status.hash_alg.is_some() {
        // hashAlg is an RFC 9480 field.
        session.pvno = proto_cmp::PVNO_CMP2021;
    }
    let answer = session.exchange(PkiBody::CertConf(vec![status]), false)?;
    match &answer.message.body {
        PkiBody::PkiConf(_) => Ok(()),
        other => bail!(
            "certConf: the server answered {} instead of pkiconf",
            other.name()
        ),
    }
}

/// `cmp rr`.
pub(crate) fn run_rr(args: &RrArgs, io: &mut Io<'_>) -> Result<()> {
    let old = read_one_cert(&args.oldcert, "--oldcert")?;
    let tbs = old.tbs_certificate();
    let mut session = Session::new(&args.common, Some(tbs.subject()), Some(tbs.issuer()))?;
    let details = rev_details(&old, args.revreason)?;
    let answer = session.exchange(PkiBody::Rr(vec![details]), false)?;
    let PkiBody::Rp(rp) = &answer.message.body else {
        bail!(
            "rr: the server answered {} instead of rp",
            answer.message.body.name()
        );
    };
    let [status] = rp.status.as_slice() else {
        bail!("rr: the rp holds {} statuses, not one", rp.status.len());
    };
    if !is_granted(status.status) {
        bail!("rr: {}", status_text(status));
    }
    let serial = crate::inspect::serial_text(&old);
    writeln!(io.out, "rr: {}", status_text(status)).context("writing output")?;
    writeln!(io.out, "revoked: serial {serial}").context("writing output")?;
    write_extra_certs(
        args.common.extracertsout.as_deref(),
        &session.last_extra_certs,
        io,
    )
}

/// `cmp genm`.
pub(crate) fn run_genm(args: &GenmArgs, io: &mut Io<'_>) -> Result<()> {
    let types = if args.infotype.is_empty() {
        vec![oid::ID_IT_CA_CERTS]
    } else {
        args.infotype
            .iter()
            .map(|t| info_type(t))
            .collect::<Result<Vec<_>>>()?
    };
    let mut session = Session::new(&args.common, None, None)?;
    let body = PkiBody::Genm(types.into_iter().map(InfoTypeAndValue::request).collect());
    let answer = session.exchange(body, false)?;
    let PkiBody::Genp(itavs) = &answer.message.body else {
        bail!(
            "genm: the server answered {} instead of genp",
            answer.message.body.name()
        );
    };
    let mut ca_certs: Option<CaCertsValue> = None;
    for itav in itavs {
        let name = info_type_name(&itav.info_type);
        match &itav.info_value {
            None => writeln!(io.out, "genp: {name}: no value"),
            Some(_) if itav.info_type == oid::ID_IT_CA_CERTS => {
                let certs: CaCertsValue = itav.value_as()?;
                let subjects: Vec<String> = certs
                    .iter()
                    .map(|c| c.tbs_certificate().subject().to_string())
                    .collect();
                let line = writeln!(
                    io.out,
                    "genp: caCerts: {} certificates: {}",
                    certs.len(),
                    subjects.join("; ")
                );
                ca_certs.get_or_insert_with(Vec::new).extend(certs);
                line
            }
            Some(value) => writeln!(
                io.out,
                "genp: {name}: value of {} octets",
                value.value().len()
            ),
        }
        .context("writing output")?;
    }
    if let Some(path) = &args.cacertsout {
        let Some(certs) = &ca_certs else {
            bail!(
                "genm: the answer holds no caCerts value; {} not written",
                path.display()
            );
        };
        write_pem(path, certs)?;
        writeln!(io.out, "CA certificates written to {}", path.display())
            .context("writing output")?;
    }
    write_extra_certs(
        args.common.extracertsout.as_deref(),
        &session.last_extra_certs,
        io,
    )
}
