//! Body part identifiers and references (RFC 5272 §3.2.2, §3.2.3, §6.1.1, §6.17).

use alloc::vec::Vec;

use der::Choice;

use const_oid::{AssociatedOid, ObjectIdentifier};

use crate::oid;

/// `BodyPartID` (RFC 5272 §3.2.2).
///
/// ```text
/// BodyPartID ::= INTEGER(0..4294967295)
/// ```
///
/// `u32` covers exactly the constrained range; der rejects negative and larger values.
pub type BodyPartId = u32;

/// `BodyPartPath` (RFC 5272 §3.2.3, §6.1.1): the path from the outermost PKIData down to a
/// nested body part, outermost first.
///
/// ```text
/// BodyPartPath ::= SEQUENCE SIZE (1..MAX) OF BodyPartID
/// ```
///
/// The controls `id-cmc-raIdentityWitness` and `id-cmc-responseBody` carry a BodyPartPath;
/// they have their own types, [`RaIdentityWitness`] and [`ResponseBodyPath`], so that each can
/// carry its [`AssociatedOid`]. The size constraint is not enforced when decoding.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct BodyPartPath(pub Vec<BodyPartId>);
der_newtype!(BodyPartPath(Vec<BodyPartId>));
body_part_slice!(BodyPartPath);

/// Value of the `id-cmc-raIdentityWitness` control (added by RFC 6402; §6.20 of the
/// rfc5272bis draft): the
/// [`BodyPartPath`] of the body part whose identity proof the RA checked.
///
/// ```text
/// cmc-raIdentityWitness CMC-CONTROL ::=
///    { BodyPartPath IDENTIFIED BY id-cmc-raIdentityWitness }
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct RaIdentityWitness(pub Vec<BodyPartId>);
der_newtype!(RaIdentityWitness(Vec<BodyPartId>));
body_part_slice!(RaIdentityWitness);

impl AssociatedOid for RaIdentityWitness {
    const OID: ObjectIdentifier = oid::ID_CMC_RA_IDENTITY_WITNESS;
}

/// Value of the `id-cmc-responseBody` control (added by RFC 6402; §6.21 of the
/// rfc5272bis draft): a
/// [`BodyPartPath`] naming an embedded response.
///
/// ```text
/// cmc-responseBody CMC-CONTROL ::= {
///    BodyPartPath IDENTIFIED BY id-cmc-responseBody
/// }
/// ```
///
/// A separate type only so that it can carry its own [`AssociatedOid`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ResponseBodyPath(pub Vec<BodyPartId>);
der_newtype!(ResponseBodyPath(Vec<BodyPartId>));
body_part_slice!(ResponseBodyPath);

impl AssociatedOid for ResponseBodyPath {
    const OID: ObjectIdentifier = oid::ID_CMC_RESPONSE_BODY;
}

/// `BodyPartList` (RFC 5272 §6.17), the value of the batch request/response controls.
///
/// ```text
/// BodyPartList ::= SEQUENCE SIZE (1..MAX) OF BodyPartID
/// ```
///
/// The batch controls carry a BodyPartList; they have their own types, [`BatchRequests`] and
/// [`BatchResponses`], so that each can carry its [`AssociatedOid`]. The size constraint is not
/// enforced when decoding.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct BodyPartList(pub Vec<BodyPartId>);
der_newtype!(BodyPartList(Vec<BodyPartId>));
body_part_slice!(BodyPartList);

/// Value of the `id-cmc-batchRequests` control (RFC 5272 §6.17): the body parts of
/// `cmsSequence` that hold the PKIData to process as a batch.
///
/// ```text
/// cmc-batchRequests CMC-CONTROL ::=
///     { BodyPartList IDENTIFIED BY id-cmc-batchRequests }
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct BatchRequests(pub Vec<BodyPartId>);
der_newtype!(BatchRequests(Vec<BodyPartId>));
body_part_slice!(BatchRequests);

impl AssociatedOid for BatchRequests {
    const OID: ObjectIdentifier = oid::ID_CMC_BATCH_REQUESTS;
}

/// Value of the `id-cmc-batchResponses` control (RFC 5272 §6.17): a `BodyPartList`.
///
/// ```text
/// cmc-batchResponses CMC-CONTROL ::=
///     { BodyPartList IDENTIFIED BY id-cmc-batchResponses }
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct BatchResponses(pub Vec<BodyPartId>);
der_newtype!(BatchResponses(Vec<BodyPartId>));
body_part_slice!(BatchResponses);

impl AssociatedOid for BatchResponses {
    const OID: ObjectIdentifier = oid::ID_CMC_BATCH_RESPONSES;
}

/// `BodyPartReference` (RFC 5272 §6.1.1).
///
/// ```text
/// BodyPartReference ::= CHOICE {
///    bodyPartID           BodyPartID,
///    bodyPartPath         BodyPartPath
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Choice)]
pub enum BodyPartReference {
    /// A body part of the PKIData this status answers.
    BodyPartId(BodyPartId),
    /// A body part inside nested PKIData.
    BodyPartPath(BodyPartPath),
}

impl From<BodyPartId> for BodyPartReference {
    fn from(id: BodyPartId) -> Self {
        Self::BodyPartId(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::{Decode, Encode};

    #[test]
    fn body_part_id_range() {
        assert_eq!(
            BodyPartId::MAX.to_der().unwrap(),
            [0x02, 0x05, 0x00, 0xff, 0xff, 0xff, 0xff]
        );
        assert!(BodyPartId::from_der(&[0x02, 0x01, 0xff]).is_err());
        assert!(BodyPartId::from_der(&[0x02, 0x05, 0x01, 0, 0, 0, 0]).is_err());
    }

    #[test]
    fn body_part_reference_round_trip() {
        for r in [
            BodyPartReference::BodyPartId(0),
            BodyPartReference::BodyPartId(0x7fff_ffff),
            BodyPartReference::BodyPartPath(BodyPartPath(vec![1, 2, 3])),
        ] {
            let der = r.to_der().unwrap();
            assert_eq!(BodyPartReference::from_der(&der).unwrap(), r);
        }
        assert_eq!(
            BodyPartReference::BodyPartPath(BodyPartPath(vec![1, 2]))
                .to_der()
                .unwrap(),
            [0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02]
        );
    }

    #[test]
    fn lists_round_trip() {
        let l = BodyPartList(vec![5, 6]);
        assert_eq!(BodyPartList::from_der(&l.to_der().unwrap()).unwrap(), l);
        let b = BatchResponses(vec![7]);
        assert_eq!(BatchResponses::from_der(&b.to_der().unwrap()).unwrap(), b);
        let r = ResponseBodyPath(vec![7, 8]);
        assert_eq!(ResponseBodyPath::from_der(&r.to_der().unwrap()).unwrap(), r);
        let w = RaIdentityWitness(vec![1]);
        assert_eq!(
            RaIdentityWitness::from_der(&w.to_der().unwrap()).unwrap(),
            w
        );
        let q = BatchRequests(vec![1, 2, 3]);
        assert_eq!(
            q.to_der().unwrap(),
            BodyPartList(vec![1, 2, 3]).to_der().unwrap()
        );
        assert_eq!(BatchRequests::from_der(&q.to_der().unwrap()).unwrap(), q);
        assert_eq!(&*l, &[5, 6]);
    }
}
