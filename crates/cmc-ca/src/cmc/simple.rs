//! Simple PKI Requests (RFC 5272 §3.1, §4.1).

use super::*;

impl Engine {
    /// Handles a Simple PKI Request (`application/pkcs10`) for CA `ca`,
    /// when its settings allow them: the PKCS #10 self-signature is
    /// verified and the certificate issued with the CA's default profile,
    /// answered with a certs-only response (the certificate and the CA
    /// chain). A failure is a signed Full PKI Response with the failInfo
    /// (RFC 5272 §4.1), bodyList `[0]`.
    ///
    /// # Errors
    /// [`NotCmc`]: an unknown CA, a CA that does not take Simple PKI
    /// Requests, a body that is not PKCS #10 or is too large, or a CA that
    /// cannot sign.
    pub fn handle_simple(
        &self,
        ca: &str,
        body: &[u8],
        transport: &Transport,
    ) -> Result<CmcReply, NotCmc> {
        let ca = self.ca(ca).map_err(|_| NotCmc::UnknownCa(ca.to_owned()))?;
        if !self.config().ca_settings(ca.name()).allow_simple_requests {
            return Err(NotCmc::SimpleRequestsNotAllowed(ca.name().to_owned()));
        }
        let now = self.now();
        // RFC 5272 §6.1.1: a failure of a Simple PKI Request names body
        // part 1, the request itself.
        let fail = |failure: Failure| {
            self.reply(
                &ca,
                &Echo::default(),
                Outcome::default(),
                Some(Refusal {
                    failure,
                    body_list: vec![SIMPLE_BODY_PART],
                    authenticated: false,
                }),
                now,
            )
        };
        let csr = match decode_simple_request(body, &self.config().limits()) {
            Ok(csr) => csr,
            Err(e) if e.is_not_cms() => return Err(not_cms(&e)),
            Err(e) => return fail(codec_failure(&e, ca.name())),
        };
        let request = match cmc_policy::Request::from_cert_req(&csr) {
            Ok(r) => r,
            Err(e) => return fail(Failure::failed(CmcFailInfo::BadRequest, e.to_string())),
        };
        let requester = transport.peer.as_ref().map_or_else(
            || SIMPLE_REQUESTER.to_owned(),
            |p| format!("{SIMPLE_REQUESTER} from {p}"),
        );
        // The profile's approval rules hold for Simple PKI Requests too:
        // the request waits for an agent (or takes a bootstrap
        // auto-approval), and the answer is a Full PKI Response with status
        // pending. The sender cannot authenticate a queryPending; the
        // operator delivers the certificate once approved.
        let profile = self.config().default_profile_name(ca.name());
        let needs_approval = match self.check_profile(ca.name(), &profile) {
            Ok(p) => p.requires_approval(),
            Err(e) => return fail(Failure::from_engine(&e, ca.name(), SIMPLE_BODY_PART)),
        };
        let mut auto_approved = false;
        if needs_approval {
            // Refused now rather than held for an agent to find it refused.
            if let Err(e) = self.precheck(&ca, &profile, &request, &NameScope::profile()) {
                return fail(Failure::from_engine(&e, ca.name(), SIMPLE_BODY_PART));
            }
            match self.store().take_auto_approval(ca.name()) {
                Ok(true) => {
                    auto_approved = true;
                    tracing::info!(
                        ca = ca.name(),
                        requester,
                        "simple request auto-approved (bootstrap)"
                    );
                }
                Ok(false) => {
                    let tagged =
                        TaggedRequest::Tcr(Box::new(cmc_asn1::TaggedCertificationRequest {
                            body_part_id: SIMPLE_BODY_PART,
                            certification_request: csr,
                        }));
                    return match self.hold(&ca, &requester, &profile, &tagged, SIMPLE_BODY_PART) {
                        Ok(info) => self.reply(
                            &ca,
                            &Echo::default(),
                            Outcome {
                                pending: vec![(SIMPLE_BODY_PART, info)],
                                ..Outcome::default()
                            },
                            None,
                            now,
                        ),
                        Err(failure) => fail(failure),
                    };
                }
                Err(e) => {
                    return fail(Failure::from_engine(&e.into(), ca.name(), SIMPLE_BODY_PART));
                }
            }
        }
        let issued = match self.issue_with_ca(&ca, Some(&profile), &request, &requester, body) {
            Ok(i) => i,
            Err(e) => {
                if auto_approved {
                    self.return_auto_approval(&ca);
                }
                return fail(Failure::from_engine(&e, ca.name(), SIMPLE_BODY_PART));
            }
        };
        let mut certs = vec![issued.certificate];
        certs.push(ca.certificate().clone());
        certs.extend(chain(&ca)?);
        let der = certs_only_response(&certs).map_err(|e| {
            tracing::error!(ca = ca.name(), error = %e, "cannot encode a certs-only response");
            NotCmc::Internal
        })?;
        Ok(CmcReply {
            der,
            content_type: CERTS_ONLY_CONTENT_TYPE,
            statuses: vec![PartStatus {
                status: CmcStatus::Success,
                fail_info: None,
                body_list: vec![0],
            }],
            issued: 1,
            authenticated: false,
        })
    }
}
