//! `show FILE`: decode a CMC request (PKIData) or response (PKIResponse)
//! and print what it holds. Signatures are checked and the result is
//! reported; a bad signature does not make the command fail.

use std::io::Write;
use std::path::PathBuf;
use std::time::SystemTime;

use anyhow::{Context as _, Result, anyhow, bail};
use clap::Args;
use cmc_asn1::{PkiData, PkiResponse, TaggedAttribute, TaggedRequest, oid};
use cmc_ca::types::UnixTime;
use cmc_codec::{
    Encoding, FullRequest, ResponseVerifyOptions, VerifyOptions, decode_full_request,
    decode_response, statuses,
};
use cmc_policy::KeyKind;
use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use const_oid::db::rfc5911::{ID_CT_AUTH_DATA, ID_SIGNED_DATA, ID_SIGNING_TIME};
use der::asn1::OctetString;
use der::{Decode, Encode};
use serde::Serialize;
use x509_cert::Certificate;
use x509_cert::ext::pkix::SubjectKeyIdentifier;
use x509_cert::time::Time;

use crate::Io;
use crate::commands::exchange::body_list;
use crate::commands::show_auth;
use crate::inspect::oid_name;
use crate::output::{self, Fields, hex};
use crate::time::format_rfc3339;
use crate::time::parse_rfc3339;

#[path = "show_ra.rs"]
mod ra;

/// `show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The CMC request or response (DER, BER or PEM).
    pub file: PathBuf,
    /// Verify signatures at this time (RFC 3339) instead of now.
    #[arg(long, value_name = "RFC3339", value_parser = parse_rfc3339)]
    pub at: Option<UnixTime>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Open an encrypted message (EnvelopedData or AuthEnvelopedData, RFC
    /// 5272 §5) with this key file and show what it holds.
    #[arg(long, value_name = "KEY")]
    pub decrypt_key: Option<PathBuf>,
    /// Where the --decrypt-key passphrase is (or --unencrypted-key).
    #[command(flatten)]
    pub passphrase: crate::commands::args::PassphraseArgs,
}

#[derive(Debug, Serialize)]
struct Shown {
    /// The envelope the message came in (opened with --decrypt-key).
    #[serde(skip_serializing_if = "Option::is_none")]
    envelope: Option<String>,
    /// `PKIData` (a Full PKI Request) or `PKIResponse`.
    content_type: String,
    encoding: &'static str,
    /// Whether the signature verified (`None`: no signer).
    signature_valid: Option<bool>,
    /// What the verification said.
    signature: String,
    signers: Vec<SignerShown>,
    controls: Vec<ControlShown>,
    statuses: Vec<StatusShown>,
    requests: Vec<RequestShown>,
    certificates: Vec<CertShown>,
    /// AuthenticatedData: the request's wrapper, or what an authData
    /// control names.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    authenticated: Vec<show_auth::AuthShown>,
}

#[derive(Debug, Serialize)]
struct SignerShown {
    sid_kind: &'static str,
    sid: String,
    /// The subject of the certificate the sid names, if the message has it.
    subject: Option<String>,
    digest_algorithm: String,
    signature_algorithm: String,
    signing_time: Option<String>,
}

#[derive(Debug, Serialize)]
struct ControlShown {
    body_part_id: u32,
    name: String,
    oid: String,
    /// What the control says, for the controls described in detail (a
    /// regInfo or responseInfo: its value as text, such as the JSON of an
    /// admin request or answer).
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
}

#[derive(Debug, Serialize)]
struct StatusShown {
    control_body_part_id: u32,
    status: &'static str,
    fail_info: Option<&'static str>,
    body_list: String,
    status_string: Option<String>,
}

#[derive(Debug, Serialize)]
struct RequestShown {
    kind: &'static str,
    body_part_id: Option<u32>,
    subject: Option<String>,
    key_type: Option<String>,
    /// The request's changeSubjectName attribute (RFC 6402), described.
    #[serde(skip_serializing_if = "Option::is_none")]
    change_subject_name: Option<String>,
}

#[derive(Debug, Serialize)]
struct CertShown {
    subject: String,
    issuer: String,
    serial: String,
}

/// `show`.
pub(crate) fn run(args: &ShowArgs, io: &mut Io<'_>) -> Result<()> {
    let raw =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let input = if raw.starts_with(b"-----BEGIN") {
        der::pem::decode_vec(&raw)
            .map_err(|e| anyhow!("{}: bad PEM: {e}", args.file.display()))?
            .1
    } else {
        raw
    };
    let (input, envelope) = open_envelope(input, args)?;
    let time = args.at.map_or_else(SystemTime::now, |t| t.to_system_time());
    let mut shown = inspect(&input, time).with_context(|| format!("{}", args.file.display()))?;
    shown.envelope = envelope;
    if args.json {
        return output::json(io.out, &shown);
    }
    print(io.out, &shown)
}

/// The message inside an envelope, opened with --decrypt-key, and what
/// the envelope was; `input` as it is when it is no envelope.
fn open_envelope(input: Vec<u8>, args: &ShowArgs) -> Result<(Vec<u8>, Option<String>)> {
    // RFC 5272 §5 "Option 2": a SignedData around the envelope.
    let opts = VerifyOptions::new(SystemTime::now());
    let (input, signed) = match cmc_codec::wrapped::signed_envelope(&input, &opts) {
        Ok(Some(outer)) => (
            outer.envelope,
            " inside a SignedData whose signature is valid",
        ),
        Ok(None) => (input, ""),
        Err(e) => bail!("{}: a signed envelope: {e}", args.file.display()),
    };
    let Some(kind) = cmc_codec::decrypt::envelope_kind(&input) else {
        return Ok((input, None));
    };
    let Some(path) = &args.decrypt_key else {
        bail!(
            "{}: an encrypted message ({kind:?}Data); give --decrypt-key to open it",
            args.file.display()
        );
    };
    let key = crate::commands::request::signer_key(path, &args.passphrase)?;
    let opened = cmc_codec::decrypt::open_with_key(&input, &key, input.len())
        .map_err(|e| anyhow!("{}: {e}", args.file.display()))?;
    let what = format!(
        "{kind:?}Data{signed} holding {}, opened with {}",
        oid_name(&opened.content_type),
        path.display()
    );
    let inner = opened
        .content_info_der()
        .map_err(|e| anyhow!("{}: {e}", args.file.display()))?;
    Ok((inner, Some(what)))
}

fn inspect(input: &[u8], time: SystemTime) -> Result<Shown> {
    let (der, encoding) =
        cmc_codec::ber::to_der(input).map_err(|e| anyhow!("not DER or BER: {e}"))?;
    let ci = ContentInfo::from_der(&der).map_err(|e| anyhow!("not a CMS ContentInfo: {e}"))?;
    if ci.content_type == ID_CT_AUTH_DATA {
        let (auth, pki) = show_auth::request(&ci.content)?;
        return Ok(Shown {
            envelope: None,
            content_type: "PKIData (in an AuthenticatedData)".into(),
            encoding: match encoding {
                Encoding::Der => "DER",
                Encoding::Ber => "BER",
            },
            signature_valid: None,
            signature: "none: a MAC (AuthenticatedData), not checked without the secret".into(),
            signers: Vec::new(),
            controls: controls(&pki.control_sequence),
            statuses: Vec::new(),
            requests: pki.req_sequence.iter().map(request).collect(),
            certificates: Vec::new(),
            authenticated: vec![auth],
        });
    }
    if ci.content_type != ID_SIGNED_DATA {
        bail!(
            "a ContentInfo of type {}, not SignedData",
            oid_name(&ci.content_type)
        );
    }
    let sd: SignedData = ci
        .content
        .decode_as()
        .map_err(|e| anyhow!("SignedData does not decode: {e}"))?;
    let econtent = sd
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or_else(|| anyhow!("the SignedData has no eContent"))?
        .decode_as::<OctetString>()
        .map_err(|e| anyhow!("eContent is not an OCTET STRING: {e}"))?;
    let certs: Vec<Certificate> = sd
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|c| match c {
            CertificateChoices::Certificate(c) => Some(c.clone()),
            CertificateChoices::Other(_) => None,
        })
        .collect();
    let signers = sd
        .signer_infos
        .0
        .iter()
        .map(|si| signer(si, &certs))
        .collect();
    let certificates = certs
        .iter()
        .map(|c| {
            let tbs = c.tbs_certificate();
            CertShown {
                subject: tbs.subject().to_string(),
                issuer: tbs.issuer().to_string(),
                serial: crate::inspect::serial_text(c),
            }
        })
        .collect();
    let ect = sd.encap_content_info.econtent_type;
    let mut shown = Shown {
        envelope: None,
        content_type: String::new(),
        encoding: match encoding {
            Encoding::Der => "DER",
            Encoding::Ber => "BER",
        },
        signature_valid: None,
        signature: String::new(),
        signers,
        controls: Vec::new(),
        statuses: Vec::new(),
        requests: Vec::new(),
        certificates,
        authenticated: Vec::new(),
    };
    if ect == oid::ID_CCT_PKI_DATA {
        let pki = PkiData::from_der(econtent.as_bytes())
            .map_err(|e| anyhow!("eContent is not a PKIData: {e}"))?;
        shown.content_type = "PKIData".into();
        shown.controls = controls(&pki.control_sequence);
        shown.requests = pki.req_sequence.iter().map(request).collect();
        (shown.signature_valid, shown.signature) =
            match decode_full_request(input, &VerifyOptions::new(time)) {
                Ok(FullRequest::Signed(_)) => (Some(true), "valid".into()),
                Ok(FullRequest::Unsigned(_)) => (None, "unsigned".into()),
                Err(e) => (Some(false), format!("invalid: {e}")),
            };
    } else if ect == oid::ID_CCT_PKI_RESPONSE {
        let resp = PkiResponse::from_der(econtent.as_bytes())
            .map_err(|e| anyhow!("eContent is not a PKIResponse: {e}"))?;
        shown.content_type = "PKIResponse".into();
        shown.controls = controls(&resp.control_sequence);
        shown.authenticated = show_auth::in_response(&resp);
        shown.statuses = statuses(&resp)
            .map_err(|e| anyhow!("a status control does not decode: {e}"))?
            .into_iter()
            .map(|s| StatusShown {
                control_body_part_id: s.control_id,
                status: s.status.name(),
                fail_info: s.fail_info.map(|f| f.name()),
                body_list: body_list(&s.body_list),
                status_string: s.status_string,
            })
            .collect();
        // No trust anchor here: check the signature with the certificates the
        // message itself carries.
        (shown.signature_valid, shown.signature) =
            match decode_response(input, &ResponseVerifyOptions::new(time, &certs)) {
                Ok(_) => (
                    Some(true),
                    "valid (signature only: the signer is not checked against a trust anchor)"
                        .into(),
                ),
                Err(e) => (Some(false), format!("invalid: {e}")),
            };
    } else {
        bail!(
            "eContentType {} is neither PKIData nor PKIResponse",
            oid_name(&ect)
        );
    }
    Ok(shown)
}

fn signer(si: &SignerInfo, certs: &[Certificate]) -> SignerShown {
    let (sid_kind, sid, cert) = match &si.sid {
        SignerIdentifier::IssuerAndSerialNumber(isn) => (
            "issuerAndSerialNumber",
            format!(
                "{}, serial {}",
                isn.issuer,
                crate::inspect::serial_number_text(&isn.serial_number)
            ),
            certs.iter().find(|c| {
                let tbs = c.tbs_certificate();
                tbs.issuer() == &isn.issuer && tbs.serial_number() == &isn.serial_number
            }),
        ),
        SignerIdentifier::SubjectKeyIdentifier(ski) => (
            "subjectKeyIdentifier",
            hex(ski.0.as_bytes()),
            certs.iter().find(|c| {
                c.tbs_certificate()
                    .get_extension::<SubjectKeyIdentifier>()
                    .ok()
                    .flatten()
                    .is_some_and(|(_, s)| s.0.as_bytes() == ski.0.as_bytes())
            }),
        ),
    };
    let signing_time = si
        .signed_attrs
        .iter()
        .flat_map(|attrs| attrs.iter())
        .find(|a| a.oid == ID_SIGNING_TIME)
        .and_then(|a| a.values.get(0))
        .and_then(|v| v.to_der().ok())
        .and_then(|d| Time::from_der(&d).ok())
        .map(|t| format_rfc3339(cmc_ca::x509::unix_time(&t)));
    SignerShown {
        sid_kind,
        sid,
        subject: cert.map(|c| c.tbs_certificate().subject().to_string()),
        digest_algorithm: oid_name(&si.digest_alg.oid),
        signature_algorithm: oid_name(&si.signature_algorithm.oid),
        signing_time,
    }
}

fn controls(list: &[TaggedAttribute]) -> Vec<ControlShown> {
    list.iter()
        .map(|c| ControlShown {
            body_part_id: c.body_part_id,
            name: oid::control_name(&c.attr_type)
                .map_or_else(|| c.attr_type.to_string(), str::to_owned),
            oid: c.attr_type.to_string(),
            detail: ra::describe(c).or_else(|| info_text(c)),
        })
        .collect()
}

/// The value of a regInfo or responseInfo control as text, when it is
/// UTF-8 (the swedenconnect client's admin requests and answers are JSON).
fn info_text(c: &TaggedAttribute) -> Option<String> {
    if c.attr_type != oid::ID_CMC_REG_INFO && c.attr_type != oid::ID_CMC_RESPONSE_INFO {
        return None;
    }
    let value = c
        .attr_values
        .iter()
        .next()?
        .decode_as::<OctetString>()
        .ok()?;
    String::from_utf8(value.as_bytes().to_vec()).ok()
}

fn request(r: &TaggedRequest) -> RequestShown {
    RequestShown {
        change_subject_name: ra::change_subject_name(r),
        ..request_fields(r)
    }
}

fn request_fields(r: &TaggedRequest) -> RequestShown {
    match r {
        TaggedRequest::Tcr(tcr) => {
            let info = &tcr.certification_request.info;
            RequestShown {
                kind: "tcr (PKCS #10)",
                body_part_id: Some(tcr.body_part_id),
                subject: Some(info.subject.to_string()),
                key_type: Some(KeyKind::of(&info.public_key).to_string()),
                change_subject_name: None,
            }
        }
        TaggedRequest::Crm(crm) => {
            let t = &crm.cert_req.cert_template;
            RequestShown {
                kind: "crm (CRMF)",
                body_part_id: crm.cert_req.body_part_id().ok(),
                subject: t.subject.as_ref().map(ToString::to_string),
                key_type: t.public_key.as_ref().map(|k| KeyKind::of(k).to_string()),
                change_subject_name: None,
            }
        }
        TaggedRequest::Orm(_) => RequestShown {
            kind: "orm",
            body_part_id: r.body_part_id().ok(),
            subject: None,
            key_type: None,
            change_subject_name: None,
        },
    }
}

fn print(out: &mut dyn Write, s: &Shown) -> Result<()> {
    let mut f = Fields::new();
    if let Some(envelope) = &s.envelope {
        f.add("encrypted", envelope);
    }
    f.add("content type", &s.content_type);
    f.add("encoding", s.encoding);
    f.add("signature", &s.signature);
    f.print(out)?;
    for (i, signer) in s.signers.iter().enumerate() {
        writeln!(out, "\nsigner {}:", i + 1).context("writing output")?;
        let mut f = Fields::new();
        f.add(
            "  subject",
            signer
                .subject
                .as_deref()
                .unwrap_or("(certificate not in the message)"),
        );
        f.add("  sid", format!("{}: {}", signer.sid_kind, signer.sid));
        f.add("  digest", &signer.digest_algorithm);
        f.add("  signature algorithm", &signer.signature_algorithm);
        f.add(
            "  signingTime",
            signer.signing_time.as_deref().unwrap_or("(none)"),
        );
        f.print(out)?;
    }
    writeln!(out, "\ncontrols:").context("writing output")?;
    for c in &s.controls {
        writeln!(out, "  {} (body part {})", c.name, c.body_part_id).context("writing output")?;
        if let Some(detail) = &c.detail {
            writeln!(out, "    {detail}").context("writing output")?;
        }
    }
    for st in &s.statuses {
        let mut line = format!(
            "  status (control {}): {}",
            st.control_body_part_id, st.status
        );
        if let Some(fi) = st.fail_info {
            line.push_str(&format!(", failInfo: {fi}"));
        }
        line.push_str(&format!(", bodyList: [{}]", st.body_list));
        if let Some(text) = &st.status_string {
            line.push_str(&format!(", statusString: {text:?}"));
        }
        writeln!(out, "{line}").context("writing output")?;
    }
    if !s.requests.is_empty() {
        writeln!(out, "\nrequests:").context("writing output")?;
        for r in &s.requests {
            writeln!(
                out,
                "  {} body part {}: subject {}, key {}",
                r.kind,
                r.body_part_id.map_or_else(|| "?".into(), |i| i.to_string()),
                r.subject.as_deref().unwrap_or("(none)"),
                r.key_type.as_deref().unwrap_or("(none)")
            )
            .context("writing output")?;
            if let Some(rename) = &r.change_subject_name {
                writeln!(out, "    changeSubjectName: {rename}").context("writing output")?;
            }
        }
    }
    writeln!(out, "\ncertificates:").context("writing output")?;
    for c in &s.certificates {
        writeln!(
            out,
            "  subject {}\n    issuer {}\n    serial {}",
            c.subject, c.issuer, c.serial
        )
        .context("writing output")?;
    }
    show_auth::print(out, &s.authenticated)
}
