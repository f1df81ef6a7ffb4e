//! `enroll`: send a Full PKI Request built as `request` builds it, check the
//! response and write the certificate; answer an encryptedPOP challenge in
//! a second round (RFC 5272 §6.7).

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context as _, Result, anyhow, bail};
use clap::Args;
use cmc_asn1::{DecryptedPop, EncryptedPop, TaggedRequest, TransactionId};
use cmc_codec::envelope::{open_challenge, the_pop};
use cmc_codec::identity::ProofHash;
use cmc_codec::trust_anchors::{ProvenAnchors, seq_number};
use cmc_keys::SigningKey;
use der::Encode;
use der::asn1::OctetString;

use crate::Io;
use crate::commands::exchange::{Answer, Endpoint, exchange};
use crate::commands::request::{
    BuildArgs, Built, FIRST_DECRYPTED_POP_ID, TRANSACTION_ID, build, nonce_builder, read_cert_file,
    sign_with_certificate,
};
use crate::inspect::{pem, summarize};
use crate::{http, tls};

/// `enroll`.
#[derive(Debug, Args)]
pub struct EnrollArgs {
    /// The CMC server's URL, e.g. `http://ca.example:8080/cmc/root` or
    /// `https://ca.example/cmc/root`.
    #[arg(long)]
    pub url: String,
    /// The certificate(s) the response signer must be or chain to (PEM or
    /// DER). May be left out with --trust-anchors-out: the anchors the
    /// secret proves are used instead.
    #[arg(
        long,
        value_name = "PEM",
        required_unless_present = "trust_anchors_out"
    )]
    pub ca_cert: Option<PathBuf>,
    /// With a shared secret (--identification): check the trust anchors the
    /// CA publishes in its authData control with the secret (RFC 5272
    /// §6.15, §6.16), write the certificates they name here (PEM), and
    /// verify the response with them when there is no --ca-cert. A response
    /// whose authData does not verify is refused.
    #[arg(long, value_name = "FILE", requires = "identification")]
    pub trust_anchors_out: Option<PathBuf>,
    /// What the request is built from.
    #[command(flatten)]
    pub build: BuildArgs,
    /// Write the issued certificate (PEM) here.
    #[arg(long, value_name = "FILE")]
    pub out_cert: PathBuf,
    /// Write the other certificates of the response (the CA chain, PEM) here.
    #[arg(long, value_name = "FILE")]
    pub out_chain: Option<PathBuf>,
    /// For an https:// URL: the certificate(s) that the server's TLS
    /// certificate must chain to (PEM or DER); default: --ca-cert.
    #[arg(long, value_name = "PEM")]
    pub tls_ca: Option<PathBuf>,
    /// For an https:// URL: present the signer certificate (and its chain)
    /// as the TLS client certificate, signing with the signer key, for
    /// servers that require the TLS client to be the CMS signer.
    #[arg(long)]
    pub tls_client_auth: bool,
    /// Seconds to wait for connecting, sending and each read.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub timeout: u64,
}

/// `enroll`.
pub(crate) fn run(args: &EnrollArgs, io: &mut Io<'_>) -> Result<()> {
    let url = http::parse_url(&args.url)?;
    let trusted = match &args.ca_cert {
        Some(path) => read_cert_file(path, "--ca-cert")?,
        None => Vec::new(),
    };
    if !url.tls && (args.tls_ca.is_some() || args.tls_client_auth) {
        bail!("--tls-ca and --tls-client-auth need an https:// URL");
    }
    if url.tls && trusted.is_empty() && args.tls_ca.is_none() {
        bail!("an https:// URL without --ca-cert needs --tls-ca");
    }
    let built = build(&args.build)?;
    let tls = if url.tls {
        let roots = match &args.tls_ca {
            Some(path) => read_cert_file(path, "--tls-ca")?,
            None => trusted.clone(),
        };
        let client = match (&built.signer_key, args.tls_client_auth) {
            (Some(key), true) => Some((
                built.signer_chain.as_slice(),
                Arc::clone(key) as Arc<dyn SigningKey>,
            )),
            (None, true) => bail!(
                "--tls-client-auth needs a signer certificate; a shared-secret request has none"
            ),
            (_, false) => None,
        };
        Some(tls::client_config(&roots, client)?)
    } else {
        None
    };
    let first = Endpoint::new(&args.url, url, args.timeout, tls.as_ref())
        .and_then(|endpoint| {
            let answer = exchange(&endpoint, &built, &trusted, io)?;
            if answer.challenges.is_empty() {
                return Ok(answer);
            }
            // popRequired: prove possession by decrypting (RFC 5272 §6.7).
            writeln!(
                io.out,
                "encryptedPOP: {} challenge(s) opened with the new key; sending decryptedPOP",
                answer.challenges.len()
            )
            .context("writing output")?;
            let again = second_round(&built, &answer.challenges)?;
            // Over the first round's connection, if the server kept it.
            let second = exchange(&endpoint, &again, &trusted, io)?;
            if !second.challenges.is_empty() {
                bail!("the CA asked for encryptedPOP again");
            }
            Ok(second)
        })
        .and_then(|answer| {
            if answer.issued.is_empty() && answer.failures.is_empty() && !answer.pending.is_empty()
            {
                return Ok(answer);
            }
            if answer.issued.is_empty() {
                if answer.failures.is_empty() {
                    bail!("the response carries no certificate issued by its signer");
                }
                bail!("the CA answered {}", answer.failures.join(", "));
            }
            Ok(answer)
        });
    let Answer {
        issued,
        others,
        failures,
        pending,
        anchors,
        ..
    } = match first {
        Ok(answer) => answer,
        Err(e) => {
            // Nothing was issued for the new key: remove it, so that a retry
            // can use the same path.
            if let Some(key) = &args.build.new_key {
                let _ = std::fs::remove_file(key);
            }
            return Err(e);
        }
    };
    if let Some((proven, certificates)) = &anchors {
        write_anchors(proven, certificates, args.trust_anchors_out.as_deref(), io)?;
    } else if args.trust_anchors_out.is_some() {
        bail!("the response carries no authData control with trust anchors");
    }
    if issued.is_empty() {
        // Held for approval: nothing to write yet; the new key is kept for
        // the certificate to come.
        for token in &pending {
            writeln!(
                io.out,
                "pending: the CA holds the request for approval; ask again with \
                 --query-pending {token} (same signer and --out-cert)"
            )
            .context("writing output")?;
        }
        return Ok(());
    }
    let mut cert_pem = String::new();
    for c in &issued {
        let der = c.to_der().map_err(|e| anyhow!("re-encoding: {e}"))?;
        let s = summarize(&der)?;
        writeln!(
            io.out,
            "issued: subject {}, serial {}, notAfter {}",
            s.subject, s.serial, s.not_after
        )
        .context("writing output")?;
        cert_pem.push_str(&pem("CERTIFICATE", &der)?);
    }
    std::fs::write(&args.out_cert, cert_pem)
        .with_context(|| format!("writing {}", args.out_cert.display()))?;
    writeln!(io.out, "certificate written to {}", args.out_cert.display())
        .context("writing output")?;
    if let Some(path) = &args.out_chain {
        let mut chain = String::new();
        for c in &others {
            chain.push_str(&pem(
                "CERTIFICATE",
                &c.to_der().map_err(|e| anyhow!("re-encoding: {e}"))?,
            )?);
        }
        std::fs::write(path, chain).with_context(|| format!("writing {}", path.display()))?;
        writeln!(io.out, "chain written to {}", path.display()).context("writing output")?;
    }
    // Some parts failed while others were issued: what was issued is
    // written, and the failure is still the answer.
    if !failures.is_empty() {
        bail!("the CA answered {}", failures.join(", "));
    }
    Ok(())
}

/// The second round of RFC 5272 §6.7 for the encryptedPOP `challenges`:
/// each challenge opened with the new key (and its witness checked), the
/// same requests again with a decryptedPOP each, a fresh senderNonce and
/// the same transactionId, signed by the same signer.
fn second_round(built: &Built, challenges: &[EncryptedPop]) -> Result<Built> {
    let Some(key) = &built.new_key else {
        bail!(
            "the CA asks for an encryptedPOP round, but this request has no new key to answer with"
        );
    };
    let (Some(signer_key), false) = (&built.signer_key, built.signer_chain.is_empty()) else {
        bail!("the CA asks for an encryptedPOP round, which needs a signer certificate");
    };
    let (mut builder, nonce) = nonce_builder()?;
    if let Some(id) = &built.transaction_id {
        builder.control(TRANSACTION_ID, &TransactionId(id.clone()))?;
    }
    for (challenge, control_id) in challenges.iter().zip(FIRST_DECRYPTED_POP_ID..) {
        let TaggedRequest::Crm(crm) = &challenge.request else {
            bail!("the encryptedPOP names a request that is not CRMF");
        };
        if crm.cert_req.cert_template.public_key.as_ref() != Some(key.public_key()) {
            bail!("the encryptedPOP is for a request with another key");
        }
        let id = crm
            .cert_req
            .body_part_id()
            .map_err(|e| anyhow!("the encryptedPOP's request: {e}"))?;
        if ProofHash::from_hmac_oid(&challenge.the_pop_alg_id.oid) != Some(ProofHash::Sha256) {
            bail!(
                "the encryptedPOP asks for thePOPAlgID {}, not hmacWithSHA256",
                challenge.the_pop_alg_id.oid
            );
        }
        let opened = open_challenge(
            &challenge.cms,
            id,
            key,
            &challenge.witness_alg_id,
            challenge.witness.as_bytes(),
        )
        .context("opening the encryptedPOP challenge")?;
        let the_pop = the_pop(&opened, &crm.to_der().map_err(|e| anyhow!("{e}"))?)?;
        builder.crmf(crm.as_ref().clone())?;
        builder.control(
            control_id,
            &DecryptedPop {
                body_part_id: id,
                the_pop_alg_id: challenge.the_pop_alg_id.clone(),
                the_pop: OctetString::new(the_pop).map_err(|e| anyhow!("{e}"))?,
            },
        )?;
    }
    let der = sign_with_certificate(&builder, signer_key, &built.signer_chain)?;
    Ok(Built {
        der,
        nonce,
        signer_key: built.signer_key.clone(),
        signer_chain: built.signer_chain.clone(),
        new_key: None,
        transaction_id: built.transaction_id.clone(),
        encrypt_to: built.encrypt_to.clone(),
        password: None,
    })
}

/// Prints the trust anchors a shared secret proved and writes them (PEM)
/// to `out`.
fn write_anchors(
    proven: &ProvenAnchors,
    certificates: &[x509_cert::Certificate],
    out: Option<&std::path::Path>,
    io: &mut Io<'_>,
) -> Result<()> {
    let seq = seq_number(&proven.anchors).map_or_else(|| "(too large)".into(), |n| n.to_string());
    let mut text = String::new();
    for c in certificates {
        let der = c.to_der().map_err(|e| anyhow!("re-encoding: {e}"))?;
        writeln!(
            io.out,
            "trust anchor (seqNumber {seq}, proven by the shared secret): {}",
            c.tbs_certificate().subject()
        )
        .context("writing output")?;
        text.push_str(&pem("CERTIFICATE", &der)?);
    }
    if let Some(path) = out {
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
        writeln!(io.out, "trust anchors written to {}", path.display())
            .context("writing output")?;
    }
    Ok(())
}
