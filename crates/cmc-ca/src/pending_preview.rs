//! What approving a held request would issue, before an agent decides: the
//! profile applied to the stored request (the same preparation and lint as
//! issuance, with a placeholder serial, nothing reserved or signed) and the
//! requester's names checked, so that `cmc-tool pending show` and the
//! console show the policy's decision next to the request.

use cmc_policy::Decision;

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::pending::stored_request;

/// The policy's view of a held request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingPreview {
    /// What the profile made of it: the subject, names, key usages,
    /// validity and extensions the certificate would carry, and what was
    /// left out and why. `Err` says why the profile refuses it as it
    /// stands.
    pub decision: std::result::Result<Decision, String>,
    /// Whether the names are within the requester's (`Err` says which is
    /// not): the check an approval without edits makes.
    pub names: std::result::Result<(), String>,
}

impl Engine {
    /// The policy's decision on held request `id` as it stands (see the
    /// module documentation). Nothing is written.
    ///
    /// # Errors
    /// An unknown request ([`Error::InvalidRequest`]), its CA not loaded,
    /// a stored request that does not decode, store failures. What the
    /// profile or the name rules refuse is in the preview, not an error.
    pub fn preview_pending(&self, id: &str) -> Result<PendingPreview> {
        let record = self
            .store()
            .get_pending(id)?
            .ok_or_else(|| Error::InvalidRequest(format!("there is no pending request {id}")))?;
        let ca = self.ca(&record.ca)?;
        let (_, request) = stored_request(&record)?;
        let prepared = self
            .check_profile(ca.name(), &record.profile)
            .and_then(|profile| {
                // Any positive serial of the usual size: nothing is signed.
                let serial = cmc_policy::Serial::from_bytes(&[0x40; 16])?;
                Ok(cmc_policy::prepare(
                    &request,
                    profile,
                    &self.issuer_info(&ca)?,
                    &serial,
                    self.now().to_system_time(),
                )?)
            });
        let prepared = match prepared {
            Ok(p) => p,
            Err(e) => {
                return Ok(PendingPreview {
                    decision: Err(e.to_string()),
                    names: Err("not checked: the profile refuses the request".to_owned()),
                });
            }
        };
        let names = self
            .scope_of_requester(ca.name(), &record.client)
            .and_then(|scope| {
                self.check_names(&scope, prepared.subject(), prepared.subject_alt_names())
            })
            .map_err(|e| e.to_string());
        Ok(PendingPreview {
            decision: Ok(prepared.decision().clone()),
            names,
        })
    }
}
