//! `PKIBody` (RFC 4210 §5.1.2), restricted to the choices of the Lightweight CMP Profile
//! (RFC 9483 §4–§5).

use cmc_asn1::CertReqMessages;
use der::Choice;
use der::asn1::Null;
use x509_cert::request::CertReq;

use crate::cert_rep::CertRepMessage;
use crate::content::{
    CertConfirmContent, GenMsgContent, GenRepContent, PollRepContent, PollReqContent,
    RevRepContent, RevReqContent,
};
use crate::status::ErrorMsgContent;

/// `PKIBody` (RFC 4210 §5.1.2), with the alternatives RFC 9483 uses.
///
/// ```text
/// PKIBody ::= CHOICE {       -- message-specific body elements
///     ir       [0]  CertReqMessages,        --Initialization Request
///     ip       [1]  CertRepMessage,         --Initialization Response
///     cr       [2]  CertReqMessages,        --Certification Request
///     cp       [3]  CertRepMessage,         --Certification Response
///     p10cr    [4]  CertificationRequest,   --imported from [PKCS10]
///     popdecc  [5]  POPODecKeyChallContent, --pop Challenge
///     popdecr  [6]  POPODecKeyRespContent,  --pop Response
///     kur      [7]  CertReqMessages,        --Key Update Request
///     kup      [8]  CertRepMessage,         --Key Update Response
///     krr      [9]  CertReqMessages,        --Key Recovery Request
///     krp      [10] KeyRecRepContent,       --Key Recovery Response
///     rr       [11] RevReqContent,          --Revocation Request
///     rp       [12] RevRepContent,          --Revocation Response
///     ccr      [13] CertReqMessages,        --Cross-Cert. Request
///     ccp      [14] CertRepMessage,         --Cross-Cert. Response
///     ckuann   [15] CAKeyUpdAnnContent,     --CA Key Update Ann.
///     cann     [16] CertAnnContent,         --Certificate Ann.
///     rann     [17] RevAnnContent,          --Revocation Ann.
///     crlann   [18] CRLAnnContent,          --CRL Announcement
///     pkiconf  [19] PKIConfirmContent,      --Confirmation
///     nested   [20] NestedMessageContent,   --Nested Message
///     genm     [21] GenMsgContent,          --General Message
///     genp     [22] GenRepContent,          --General Response
///     error    [23] ErrorMsgContent,        --Error Message
///     certConf [24] CertConfirmContent,     --Certificate confirm
///     pollReq  [25] PollReqContent,         --Polling request
///     pollRep  [26] PollRepContent          --Polling response
/// }
///
/// PKIConfirmContent ::= NULL
/// ```
///
/// All tags are EXPLICIT (the CMP module's default). The alternatives not listed here
/// (popdecc, popdecr, krr, krp, ccr, ccp, ckuann, cann, rann, crlann, nested) are refused by
/// [`crate::decode_message`] with [`crate::Error::UnsupportedBody`].
#[derive(Clone, Debug, PartialEq, Eq, Choice)]
#[allow(
    clippy::large_enum_variant,
    reason = "one body per message; boxing would only move the allocation"
)]
pub enum PkiBody {
    /// `[0]` initialization request.
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", constructed = "true")]
    Ir(CertReqMessages),
    /// `[1]` initialization response.
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", constructed = "true")]
    Ip(CertRepMessage),
    /// `[2]` certification request.
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", constructed = "true")]
    Cr(CertReqMessages),
    /// `[3]` certification response.
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", constructed = "true")]
    Cp(CertRepMessage),
    /// `[4]` PKCS #10 certification request.
    #[asn1(context_specific = "4", tag_mode = "EXPLICIT", constructed = "true")]
    P10cr(CertReq),
    /// `[7]` key update request.
    #[asn1(context_specific = "7", tag_mode = "EXPLICIT", constructed = "true")]
    Kur(CertReqMessages),
    /// `[8]` key update response.
    #[asn1(context_specific = "8", tag_mode = "EXPLICIT", constructed = "true")]
    Kup(CertRepMessage),
    /// `[11]` revocation request.
    #[asn1(context_specific = "11", tag_mode = "EXPLICIT", constructed = "true")]
    Rr(RevReqContent),
    /// `[12]` revocation response.
    #[asn1(context_specific = "12", tag_mode = "EXPLICIT", constructed = "true")]
    Rp(RevRepContent),
    /// `[19]` confirmation (`PKIConfirmContent ::= NULL`).
    #[asn1(context_specific = "19", tag_mode = "EXPLICIT", constructed = "true")]
    PkiConf(Null),
    /// `[21]` general message.
    #[asn1(context_specific = "21", tag_mode = "EXPLICIT", constructed = "true")]
    Genm(GenMsgContent),
    /// `[22]` general response.
    #[asn1(context_specific = "22", tag_mode = "EXPLICIT", constructed = "true")]
    Genp(GenRepContent),
    /// `[23]` error message.
    #[asn1(context_specific = "23", tag_mode = "EXPLICIT", constructed = "true")]
    Error(ErrorMsgContent),
    /// `[24]` certificate confirmation.
    #[asn1(context_specific = "24", tag_mode = "EXPLICIT", constructed = "true")]
    CertConf(CertConfirmContent),
    /// `[25]` polling request.
    #[asn1(context_specific = "25", tag_mode = "EXPLICIT", constructed = "true")]
    PollReq(PollReqContent),
    /// `[26]` polling response.
    #[asn1(context_specific = "26", tag_mode = "EXPLICIT", constructed = "true")]
    PollRep(PollRepContent),
}

/// The body type numbers [`PkiBody`] has an alternative for.
pub const SUPPORTED_BODY_TYPES: [u32; 16] =
    [0, 1, 2, 3, 4, 7, 8, 11, 12, 19, 21, 22, 23, 24, 25, 26];

/// The ASN.1 name of body type `n` (RFC 4210 §5.1.2), or `None` past 26.
#[must_use]
pub const fn body_type_name(n: u32) -> Option<&'static str> {
    const NAMES: [&str; 27] = [
        "ir", "ip", "cr", "cp", "p10cr", "popdecc", "popdecr", "kur", "kup", "krr", "krp", "rr",
        "rp", "ccr", "ccp", "ckuann", "cann", "rann", "crlann", "pkiconf", "nested", "genm",
        "genp", "error", "certConf", "pollReq", "pollRep",
    ];
    if (n as usize) < NAMES.len() {
        Some(NAMES[n as usize])
    } else {
        None
    }
}

impl PkiBody {
    /// The body type number (the context tag of the alternative).
    #[must_use]
    pub const fn type_number(&self) -> u32 {
        match self {
            Self::Ir(_) => 0,
            Self::Ip(_) => 1,
            Self::Cr(_) => 2,
            Self::Cp(_) => 3,
            Self::P10cr(_) => 4,
            Self::Kur(_) => 7,
            Self::Kup(_) => 8,
            Self::Rr(_) => 11,
            Self::Rp(_) => 12,
            Self::PkiConf(_) => 19,
            Self::Genm(_) => 21,
            Self::Genp(_) => 22,
            Self::Error(_) => 23,
            Self::CertConf(_) => 24,
            Self::PollReq(_) => 25,
            Self::PollRep(_) => 26,
        }
    }

    /// The ASN.1 name of the alternative (`"ir"`, `"certConf"`, …).
    #[must_use]
    pub const fn name(&self) -> &'static str {
        match body_type_name(self.type_number()) {
            Some(name) => name,
            // type_number() only returns numbers below 27.
            None => "?",
        }
    }
}
