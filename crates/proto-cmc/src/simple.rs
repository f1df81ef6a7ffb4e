//! Simple PKI Requests (RFC 5272 §3.1, §4.1).

use super::*;

impl Cmc<'_> {
    /// See [`CmcFrontDoor::handle_simple`].
    pub(super) fn handle_simple(
        &self,
        ca: &str,
        body: &[u8],
        transport: &Transport,
    ) -> Result<CmcReply, NotCmc> {
        let ca = self
            .engine
            .ca(ca)
            .map_err(|_| NotCmc::UnknownCa(ca.to_owned()))?;
        if !self.engine.accepts_anonymous(ca.name()) {
            return Err(NotCmc::SimpleRequestsNotAllowed(ca.name().to_owned()));
        }
        let now = self.engine.now();
        // RFC 5272 §6.1.1: a failure of a Simple PKI Request names body
        // part 1, the request itself.
        let fail = |failure: Failure| {
            self.reply(
                &ca,
                &Echo::default(),
                PartResults::default(),
                Some(MessageFailure {
                    failure,
                    body_list: vec![SIMPLE_BODY_PART],
                    authenticated: false,
                }),
                now,
            )
        };
        let csr = match decode_simple_request(body, &self.engine.config().limits()) {
            Ok(csr) => csr,
            Err(e) if e.is_not_cms() => return Err(not_cms(&e)),
            Err(e) => return fail(codec_failure(&e, ca.name())),
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
        let form = cmc_ca::RequestForm::Pkcs10 {
            reference: SIMPLE_BODY_PART,
            csr: Box::new(csr),
        };
        let issued = match self
            .engine
            .enroll_anonymous(ca.name(), &requester, form, body)
        {
            Ok(cmc_ca::Enrolled::Issued(issued)) => issued,
            Ok(cmc_ca::Enrolled::Held(held)) => {
                return match certify::pend_info(ca.name(), &held) {
                    Ok(info) => self.reply(
                        &ca,
                        &Echo::default(),
                        PartResults {
                            pending: vec![(SIMPLE_BODY_PART, info)],
                            ..PartResults::default()
                        },
                        None,
                        now,
                    ),
                    Err(failure) => fail(failure),
                };
            }
            // A PKCS #10 request proves possession by its signature,
            // which the codec verified.
            Ok(cmc_ca::Enrolled::ProveByDecryption) => {
                return fail(Failure::failed(
                    CmcFailInfo::PopFailed,
                    "a Simple PKI Request proves possession by its signature",
                ));
            }
            Err(refused) => return fail(Failure::from(refused)),
        };
        let mut certs = vec![issued.certificate];
        certs.extend(self.engine.ca_chain(ca.name()).map_err(|e| {
            tracing::error!(ca = ca.name(), error = %e, "no CA chain for a certs-only response");
            NotCmc::Internal
        })?);
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
