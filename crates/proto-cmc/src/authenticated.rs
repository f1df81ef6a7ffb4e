//! Shared secrets as CMS sees them: a Full PKI Request wrapped in an
//! AuthenticatedData (RFC 5272 §3.2) instead of a SignedData, and the
//! authData control with Publish Trust Anchors in the answer to any request
//! a shared secret authenticated (§6.15, §6.16).
//!
//! A request in an AuthenticatedData names its secret in the PKIData's
//! identification control; the engine finds that secret (a one-time
//! enrollment secret, or a client's MAC credential whose reference it is)
//! and the MAC is verified with PBKDF2(identification ‖ secret) as the
//! codec does it ([`cmc_codec::authenticated`]). The secret is the one
//! the identification names, never one the client chooses: a valid MAC
//! made with secret A under the identification of secret B fails. A wrong
//! MAC, an unknown identification and a spent, expired or locked secret
//! get one answer, authDataFail (RFC 5272 §6.1.4), count towards the
//! secret's lockout as a wrong identityProofV2 does, and are
//! unauthenticated failures (the server's per-address limit counts them).
//! Once the MAC verifies, the PKIData goes through the same checks as a
//! signed one (signingTime from the authenticated attributes, nonces,
//! limits, controls), its certification requests still prove possession
//! of their keys, and a one-time secret's requests carry their
//! popLinkWitnessV2 as under identityProofV2.
//!
//! The answer to a request authenticated by a shared secret (this way, or
//! with identityProofV2 by the owner of a one-time secret whose sealed copy
//! the CA keeps) carries, where the CA publishes them
//! (`publish_trust_anchors`, on by default), an id-cmc-authData control
//! naming a cmsSequence AuthenticatedData, MAC'd with the same secret and a
//! fresh salt, whose PKIData holds id-cmc-trustedAnchors: the seqNumber and
//! the SHA-256 of the CA's root certificate, which the response's
//! certificates carry. A client without a trust anchor checks it with its
//! secret and can then check the CA's signature.

use cmc_ca::{Reason, SharedSecret};
use cmc_codec::authenticated::{AuthenticatedMessage, parse_authenticated, password};
use cmc_codec::trust_anchors::{auth_publish_content, publish_trust_anchors};
use const_oid::db::rfc5911::ID_CT_AUTH_DATA;

use super::*;

/// Whether `body` is a ContentInfo whose contentType is AuthenticatedData,
/// read from its first octets (DER or BER, definite or indefinite length).
fn is_authenticated_data(body: &[u8]) -> bool {
    let Ok(oid) = ID_CT_AUTH_DATA.to_der() else {
        return false;
    };
    // SEQUENCE, then its length (short, long or indefinite form).
    let Some((&0x30, rest)) = body.split_first() else {
        return false;
    };
    let Some((&len, rest)) = rest.split_first() else {
        return false;
    };
    let skip = match len {
        0x80 => 0,
        0x81..=0x84 => usize::from(len & 0x7f),
        l if l < 0x80 => 0,
        _ => return false,
    };
    rest.get(skip..).is_some_and(|r| r.starts_with(&oid))
}

impl Cmc<'_> {
    /// A Full PKI Request in an AuthenticatedData, answered; `None` when
    /// `body` is not one.
    pub(super) fn handle_authenticated(
        &self,
        ca: &LoadedCa,
        body: &[u8],
        transport: &Transport,
        now: UnixTime,
    ) -> Option<Result<CmcReply, NotCmc>> {
        is_authenticated_data(body).then(|| self.authenticated(ca, body, transport, now))
    }

    fn authenticated(
        &self,
        ca: &LoadedCa,
        body: &[u8],
        transport: &Transport,
        now: UnixTime,
    ) -> Result<CmcReply, NotCmc> {
        let max = self.engine.config().limits().max_input;
        let message = match parse_authenticated(body, max) {
            Ok(m) => m,
            Err(e) if e.is_not_cms() => return Err(not_cms(&e)),
            Err(e) => {
                return self.refuse(
                    ca,
                    transport,
                    &Echo::default(),
                    codec_failure(&e, ca.name()),
                );
            }
        };
        let pki_data = match check_content(&message) {
            Ok(p) => p,
            Err(failure) => return self.refuse(ca, transport, &Echo::default(), failure),
        };
        let echo = Echo::of(&pki_data);
        let (principal, secret, signing_time) = match self.mac_principal(ca, &message, &pki_data) {
            Ok(found) => found,
            Err(failure) => return self.refuse(ca, transport, &echo, failure),
        };
        // The identification named the secret; a principal other than a
        // secret's owner (a client's MAC credential) does not process it.
        let mut pki_data = pki_data;
        if principal.kind() != PrincipalKind::SecretOwner {
            pki_data
                .control_sequence
                .retain(|c| c.attr_type != oid::ID_CMC_IDENTIFICATION);
        }
        match self.process_signed(ca, &pki_data, signing_time, None, &principal, now) {
            Ok(mut outcome) => {
                outcome.shared_secret = Some(secret);
                self.reply(ca, &echo, outcome, None, now)
            }
            Err(refusal) => {
                let refusal = refusal.authenticated();
                tracing::info!(ca = ca.name(), peer = transport.peer,
                    fail_info = %refusal.failure.fail_info, text = refusal.failure.text,
                    "CMC request (AuthenticatedData) refused");
                self.audit_refusal(ca, Some(principal.requester()), &refusal);
                self.reply(ca, &echo, PartResults::default(), Some(refusal), now)
            }
        }
    }

    /// The principal whose secret the identification names, if the MAC
    /// verifies with it; that secret and the signingTime.
    fn mac_principal(
        &self,
        ca: &LoadedCa,
        message: &AuthenticatedMessage,
        pki_data: &PkiData,
    ) -> Result<(Principal, SharedSecret, Option<std::time::SystemTime>), Failure> {
        let identification = match pki_data.unique_control::<Identification>() {
            Ok(Some((_, Identification(id)))) => id,
            Ok(None) => {
                return Err(Failure::failed(
                    CmcFailInfo::BadRequest,
                    "a request in an AuthenticatedData names its shared secret in an identification control (RFC 5272 §3.2)",
                ));
            }
            Err(_) => {
                return Err(Failure::failed(
                    CmcFailInfo::BadRequest,
                    "malformed or repeated identification",
                ));
            }
        };
        let verified = std::cell::RefCell::new(None);
        let found = self.engine.principal_by_mac(
            ca.name(),
            identification.as_bytes(),
            only_queries(pki_data),
            |secret| {
                let result = message.verify(&password(&identification, secret));
                let ok = result.is_ok();
                *verified.borrow_mut() = Some(result);
                ok
            },
        );
        let why = verified
            .borrow()
            .as_ref()
            .and_then(|r| r.as_ref().err().map(ToString::to_string));
        match found {
            Ok(mac) => {
                let signing_time = verified
                    .into_inner()
                    .and_then(Result::ok)
                    .and_then(|v| v.signing_time);
                Ok((
                    mac.principal,
                    SharedSecret {
                        identification,
                        secret: mac.secret,
                    },
                    signing_time,
                ))
            }
            Err(refused) if refused.reason == Reason::BadIdentity => {
                tracing::info!(
                    ca = ca.name(),
                    why = why.as_deref().unwrap_or(&refused.detail),
                    "AuthenticatedData refused"
                );
                Err(Failure::failed(
                    CmcFailInfo::AuthDataFail,
                    "the AuthenticatedData does not verify with the shared secret its identification names",
                ))
            }
            Err(refused) => Err(Failure::from(refused)),
        }
    }

    /// An unauthenticated refusal of the whole request.
    fn refuse(
        &self,
        ca: &LoadedCa,
        transport: &Transport,
        echo: &Echo,
        failure: Failure,
    ) -> Result<CmcReply, NotCmc> {
        tracing::info!(ca = ca.name(), peer = transport.peer,
            fail_info = %failure.fail_info, text = failure.text,
            "CMC request (AuthenticatedData) failed verification");
        let refusal = MessageFailure {
            failure,
            body_list: vec![0],
            authenticated: false,
        };
        self.audit_refusal(ca, None, &refusal);
        let echo = Echo {
            sender_nonce: echo.sender_nonce.clone(),
            transaction_id: echo.transaction_id.clone(),
            ..Echo::default()
        };
        self.reply(
            ca,
            &echo,
            PartResults::default(),
            Some(refusal),
            self.engine.now(),
        )
    }

    /// The secret of a principal that proved itself with a one-time secret,
    /// for the authData control of its answer (`None` for others, or when
    /// the CA keeps no sealed copy of it).
    pub(super) fn secret_for_reply(
        &self,
        ca: &LoadedCa,
        signer: &Principal,
    ) -> Option<SharedSecret> {
        if signer.kind() != PrincipalKind::SecretOwner {
            return None;
        }
        self.engine
            .secret_of(ca.name(), signer)
            .inspect_err(|e| {
                tracing::warn!(ca = ca.name(), error = %e,
                    "the shared secret's sealed copy does not open: no authData in the answer");
            })
            .ok()
            .flatten()
    }

    /// The authData control and its AuthenticatedData with the CA's trust
    /// anchors, MAC'd with `secret` (nothing without one, or where the CA
    /// does not publish its anchors).
    pub(super) fn publish_anchors(
        &self,
        ca: &LoadedCa,
        out: &mut ResponseBuilder,
        secret: Option<&SharedSecret>,
        now: UnixTime,
    ) -> Result<(), cmc_asn1::Error> {
        let Some(secret) = secret else {
            return Ok(());
        };
        let anchors = match self.engine.trust_anchors(ca.name()) {
            Ok(Some(a)) => a,
            Ok(None) => return Ok(()),
            Err(e) => {
                tracing::warn!(ca = ca.name(), error = %e, "no trust anchors to publish");
                return Ok(());
            }
        };
        let refs: Vec<&[u8]> = anchors.certificates.iter().map(Vec::as_slice).collect();
        let built = publish_trust_anchors(anchors.seq_number, &refs).and_then(|pta| {
            auth_publish_content(
                &pta,
                &password(&secret.identification, &secret.secret),
                now.to_system_time(),
            )
        });
        match built {
            Ok(content) => out.authenticated_content(content),
            Err(e) => {
                tracing::error!(ca = ca.name(), error = %e, "cannot build the authData control");
                Ok(())
            }
        }
    }
}

/// The eContent is a PKIData.
fn check_content(message: &AuthenticatedMessage) -> Result<PkiData, Failure> {
    if message.content_type() != oid::ID_CCT_PKI_DATA {
        return Err(Failure::failed(
            CmcFailInfo::BadRequest,
            format!(
                "the AuthenticatedData holds {}, not a PKIData",
                message.content_type()
            ),
        ));
    }
    PkiData::from_der(message.unverified_content())
        .map_err(|e| Failure::failed(CmcFailInfo::BadRequest, format!("PKIData: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_authenticated_data_in_any_length_form() {
        let oid = ID_CT_AUTH_DATA.to_der().unwrap_or_default();
        let with = |head: &[u8]| [head, &oid, &[0xa0, 0x00]].concat();
        assert!(is_authenticated_data(&with(&[0x30, 0x10])));
        assert!(is_authenticated_data(&with(&[0x30, 0x80])));
        assert!(is_authenticated_data(&with(&[0x30, 0x82, 0x01, 0x00])));
        let signed = const_oid::db::rfc5911::ID_SIGNED_DATA
            .to_der()
            .unwrap_or_default();
        assert!(!is_authenticated_data(
            &[&[0x30, 0x10][..], &signed].concat()
        ));
        assert!(!is_authenticated_data(&[0x30]));
        assert!(!is_authenticated_data(b""));
    }
}
