//! queryPending (RFC 5272 §6.13): what became of a held request, asked by
//! the principal that made it (`Engine::query_pending`).

use super::*;

impl Cmc<'_> {
    /// Every queryPending of a PKIData: pending with a fresh pendInfo while
    /// it waits, the certificate once approved (sent, like getCert), the
    /// agent's reason once rejected.
    pub(super) fn answer_queries(
        &self,
        ca: &LoadedCa,
        signer: &Principal,
        queries: &[(BodyPartId, QueryPending)],
        outcome: &mut PartResults,
    ) {
        for (id, QueryPending(token)) in queries {
            match self
                .engine
                .query_pending(ca.name(), &signer.requester(), token.as_bytes())
            {
                Ok(PendingStatus::Waiting(held)) => match certify::pend_info(ca.name(), &held) {
                    Ok(info) => outcome.pending.push((*id, info)),
                    Err(failure) => outcome.failed.push((failure, *id)),
                },
                Ok(PendingStatus::Issued(cert)) => {
                    outcome.succeeded.push(*id);
                    outcome.fetched.push(*cert);
                }
                Err(refused) => outcome.failed.push((Failure::from(refused), *id)),
            }
        }
    }
}
