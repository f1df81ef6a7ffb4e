//! A `PKIStatusInfo` (RFC 4210 §5.2.3) for a person: the status, every
//! failInfo bit by its ASN.1 name, and the statusString.

use proto_cmp::{PkiStatus, PkiStatusInfo};

/// The ASN.1 name of `status`.
pub(crate) const fn status_name(status: PkiStatus) -> &'static str {
    match status {
        PkiStatus::Accepted => "accepted",
        PkiStatus::GrantedWithMods => "grantedWithMods",
        PkiStatus::Rejection => "rejection",
        PkiStatus::Waiting => "waiting",
        PkiStatus::RevocationWarning => "revocationWarning",
        PkiStatus::RevocationNotification => "revocationNotification",
        PkiStatus::KeyUpdateWarning => "keyUpdateWarning",
    }
}

/// `status: rejection, failInfo: badMessageCheck|badPOP, statusString: "…"`.
pub(crate) fn status_text(info: &PkiStatusInfo) -> String {
    let mut text = format!("status: {}", status_name(info.status));
    if let Some(fail) = info.fail_info {
        let bits: Vec<&str> = fail.bits().map(proto_cmp::FailureBit::name).collect();
        if bits.is_empty() {
            text.push_str(", failInfo: (none set)");
        } else {
            text.push_str(&format!(", failInfo: {}", bits.join("|")));
        }
    }
    if let Some(strings) = &info.status_string {
        text.push_str(&format!(", statusString: {:?}", strings.join(" ")));
    }
    text
}

/// Whether `status` means the request was granted.
pub(crate) const fn is_granted(status: PkiStatus) -> bool {
    matches!(status, PkiStatus::Accepted | PkiStatus::GrantedWithMods)
}

#[cfg(test)]
mod tests {
    use proto_cmp::{FailureBit, PkiFailureInfo};

    use super::*;

    #[test]
    fn failures_are_spelled_out() {
        let info = PkiStatusInfo::rejection(
            PkiFailureInfo::of(FailureBit::BadMessageCheck).with(FailureBit::BadPop),
            "MAC does not verify",
        );
        assert_eq!(
            status_text(&info),
            "status: rejection, failInfo: badMessageCheck|badPOP, statusString: \"MAC does not verify\""
        );
        assert_eq!(status_text(&PkiStatusInfo::accepted()), "status: accepted");
        assert!(is_granted(PkiStatus::GrantedWithMods));
        assert!(!is_granted(PkiStatus::Waiting));
    }
}
