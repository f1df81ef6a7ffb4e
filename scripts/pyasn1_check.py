#!/usr/bin/env python3
"""Independent cross-check of cmc-asn1's encodings with pyasn1-modules.

Usage:
    pip install pyasn1-modules
    cargo run -p cmc-asn1 --example emit_samples -- /tmp/cmc-samples
    python3 scripts/pyasn1_check.py /tmp/cmc-samples

Every *.der file in the directory must be a ContentInfo holding a SignedData whose
eContent is a PKIData (files named pki_data_*) or a PKIResponse (pki_response_*), as
written by the emit_samples example. Each file is decoded with pyasn1_modules.rfc6402
(control values and nested content decoded through the open-type maps), re-encoded by
pyasn1 and compared with our bytes, and a few field values are checked. One line per
file, then "N passed, M failed"; the exit status is non-zero on any failure.

Known deviations of pyasn1-modules 0.4.2 rfc6402 from RFC 6402:
- CMCStatusInfoV2.otherInfo.extendedFailInfo lacks its [1] tag, which makes the otherInfo
  CHOICE ambiguous (pendInfo is a SEQUENCE too): pyasn1 then cannot decode any
  CMCStatusInfoV2 that has a statusString or otherInfo ("PostponedError"). This script
  replaces that one definition with RFC 6402's (see fix_status_info_v2) and says so.
- ChangeSubjectName's subjectAlt lacks its [1] tag, so that even a value with a subject
  only does not decode (the subject's SEQUENCE is taken for GeneralNames): the script
  decodes it with the definition of erratum 3943 and the rfc5272bis module (see
  change_subject_name_spec), as cmc-asn1 encodes it.
- id-cmc-raIdentityWitness and id-cmc-changeSubjectName have no open-type entry: their
  values are decoded with rfc6402.BodyPartPath and that ChangeSubjectName by hand.
- id_kp_cmcArchive is .28 instead of .29 (not used here).
identityProofV2 = .34 and popLinkWitnessV2 = .33 there, as in RFC 5272's text and in
cmc-asn1.
"""

import pathlib
import sys

from pyasn1.codec.der import decoder, encoder
from pyasn1.type import char, namedtype, tag, univ
from pyasn1_modules import rfc5280, rfc5652, rfc6402

ID_SHA256 = "2.16.840.1.101.3.4.2.1"
ID_HMAC_SHA256 = "1.2.840.113549.2.9"
ID_ENVELOPED_DATA = str(rfc5652.id_envelopedData)


def fix_status_info_v2():
    """CMCStatusInfoV2 as in RFC 6402 Appendix A: extendedFailInfo is [1] (IMPLICIT)."""
    other_info = univ.Choice(
        componentType=namedtype.NamedTypes(
            namedtype.NamedType("failInfo", rfc6402.CMCFailInfo()),
            namedtype.NamedType("pendInfo", rfc6402.PendInfo()),
            namedtype.NamedType(
                "extendedFailInfo",
                univ.Sequence(
                    componentType=namedtype.NamedTypes(
                        namedtype.NamedType("failInfoOID", univ.ObjectIdentifier()),
                        namedtype.NamedType("failInfoValue", rfc6402.AttributeValue()),
                    )
                ).subtype(implicitTag=tag.Tag(tag.tagClassContext, tag.tagFormatConstructed, 1)),
            ),
        )
    )
    rfc6402.CMCStatusInfoV2.componentType = namedtype.NamedTypes(
        namedtype.NamedType("cMCStatus", rfc6402.CMCStatus()),
        namedtype.NamedType("bodyList", univ.SequenceOf(componentType=rfc6402.BodyPartReference())),
        namedtype.OptionalNamedType("statusString", char.UTF8String()),
        namedtype.OptionalNamedType("otherInfo", other_info),
    )
    rfc6402.cmcControlAttributesMap[rfc6402.id_cmc_statusInfoV2] = rfc6402.CMCStatusInfoV2()


class Mismatch(Exception):
    pass


def expect(what, got, want):
    if got != want:
        raise Mismatch(f"{what}: got {got!r}, want {want!r}")


def decode(data, spec):
    value, rest = decoder.decode(data, asn1Spec=spec, decodeOpenTypes=True)
    if rest:
        raise Mismatch(f"{len(rest)} trailing octets after {type(spec).__name__}")
    return value


def controls(body):
    """attrType (dotted string) -> list of (bodyPartID, decoded single value)."""
    out = {}
    for attr in body["controlSequence"]:
        values = attr["attrValues"]
        expect(f"number of values of {attr['attrType']}", len(values), 1)
        out.setdefault(str(attr["attrType"]), []).append((int(attr["bodyPartID"]), values[0]))
    return out


def only(ctl, oid):
    found = ctl.get(str(oid), [])
    expect(f"count of {oid}", len(found), 1)
    return found[0][1]


def check_pki_data_full(pd):
    ctl = controls(pd)
    expect(
        "control types",
        [str(a["attrType"]) for a in pd["controlSequence"]],
        [
            str(o)
            for o in (
                rfc6402.id_cmc_identification,
                rfc6402.id_cmc_identityProofV2,
                rfc6402.id_cmc_transactionId,
                rfc6402.id_cmc_senderNonce,
                rfc6402.id_cmc_dataReturn,
                rfc6402.id_cmc_regInfo,
                rfc6402.id_cmc_lraPOPWitness,
                rfc6402.id_cmc_revokeRequest,
                rfc6402.id_cmc_getCert,
                rfc6402.id_cmc_getCRL,
            )
        ],
    )
    expect("identityProofV2 OID", str(rfc6402.id_cmc_identityProofV2), "1.3.6.1.5.5.7.7.34")
    expect("identification", str(only(ctl, rfc6402.id_cmc_identification)), "alice@example.com")
    proof = only(ctl, rfc6402.id_cmc_identityProofV2)
    expect("identityProofV2.proofAlgID", str(proof["proofAlgID"]["algorithm"]), ID_SHA256)
    expect("identityProofV2.macAlgId", str(proof["macAlgId"]["algorithm"]), ID_HMAC_SHA256)
    expect("identityProofV2.witness", proof["witness"].asOctets(), b"\x77" * 32)
    expect("transactionId", int(only(ctl, rfc6402.id_cmc_transactionId)), 0x123456789A)
    expect("senderNonce", only(ctl, rfc6402.id_cmc_senderNonce).asOctets(), b"\xa5" * 16)
    expect("dataReturn", only(ctl, rfc6402.id_cmc_dataReturn).asOctets(), b"opaque client state")
    expect("regInfo", only(ctl, rfc6402.id_cmc_regInfo).asOctets(), b"crmf")
    lra = only(ctl, rfc6402.id_cmc_lraPOPWitness)
    expect("lraPOPWitness.pkiDataBodyid", int(lra["pkiDataBodyid"]), 0)
    expect("lraPOPWitness.bodyIds", [int(i) for i in lra["bodyIds"]], [0x2001, 0x2002])
    rr = only(ctl, rfc6402.id_cmc_revokeRequest)
    expect("revokeRequest.serialNumber", int(rr["serialNumber"]), 0xD29920C9)
    expect("revokeRequest.reason", str(rr["reason"]), "keyCompromise")
    expect("revokeRequest.invalidityDate", str(rr["invalidityDate"]), "20230130214542Z")
    expect("revokeRequest.passphrase", rr["passphrase"].asOctets(), b"secret")
    expect("revokeRequest.comment", str(rr["comment"]), "lost laptop")
    gc = only(ctl, rfc6402.id_cmc_getCert)
    expect("getCert.issuerName", gc["issuerName"].getName(), "directoryName")
    expect("getCert.serialNumber", int(gc["serialNumber"]), 0x012345)
    crl = only(ctl, rfc6402.id_cmc_getCRL)
    expect("getCRL.cRLName", str(crl["cRLName"]["uniformResourceIdentifier"]), "http://crl.example/ca.crl")
    expect("getCRL.time", str(crl["time"]), "20231114221320Z")
    # keyCompromise(1) | cACompromise(2)
    expect("getCRL.reasons", tuple(crl["reasons"]), (0, 1, 1))

    reqs = pd["reqSequence"]
    expect("request kinds", [r.getName() for r in reqs], ["tcr", "crm", "crm", "orm"])
    tcr = reqs[0]["tcr"]
    expect("tcr.bodyPartID", int(tcr["bodyPartID"]), 0x2001)
    info = tcr["certificationRequest"]["certificationRequestInfo"]
    expect("tcr version", int(info["version"]), 0)
    expect("tcr attribute", str(info["attributes"][0]["attrType"]), "1.2.840.113549.1.9.14")
    crm1, crm2 = reqs[1]["crm"], reqs[2]["crm"]
    expect("crm certReqIds", [int(c["certReq"]["certReqId"]) for c in (crm1, crm2)], [0x2002, 0x2003])
    expect("crm 1 popo", crm1["popo"].isValue, False)
    expect("crm 1 regInfo", str(crm1["regInfo"][0]["type"]), "1.3.6.1.5.5.7.5.2.1")
    expect("crm 2 popo", crm2["popo"].getName(), "signature")
    t = crm2["certReq"]["certTemplate"]
    expect("template version", int(t["version"]), 2)
    expect("template serialNumber", int(t["serialNumber"]), 0x0102)
    expect("template validity.notBefore", t["validity"]["notBefore"].getName(), "utcTime")
    expect("template validity.notAfter", t["validity"]["notAfter"].getName(), "generalTime")
    expect("template issuer kind", t["issuer"].getName(), "rdnSequence")
    expect("template subject RDNs", len(t["subject"]["rdnSequence"]), 3)
    expect("template publicKey alg", str(t["publicKey"]["algorithm"]["algorithm"]), "1.2.840.10045.2.1")
    expect("template extensions", [str(e["extnID"]) for e in t["extensions"]], ["2.5.29.15", "2.5.29.17"])
    expect("orm.bodyPartID", int(reqs[3]["orm"]["bodyPartID"]), 0x2004)

    expect("cmsSequence bodyPartID", int(pd["cmsSequence"][0]["bodyPartID"]), 0x3001)
    expect("cmsSequence contentType", str(pd["cmsSequence"][0]["contentInfo"]["contentType"]), ID_ENVELOPED_DATA)
    expect("otherMsg bodyPartID", int(pd["otherMsgSequence"][0]["bodyPartID"]), 0x4001)


def check_pki_data_popo(pd):
    kinds = []
    for r in pd["reqSequence"]:
        popo = r["crm"]["popo"]
        name = popo.getName()
        inner = popo.getComponent()
        if name in ("keyEncipherment", "keyAgreement"):
            name += "/" + inner.getName()
        elif name == "signature":
            psk = inner["poposkInput"]
            name += "/" + (psk["authInfo"].getName() if psk.isValue else "-")
        kinds.append(name)
    priv = ["thisMessage", "subsequentMessage", "subsequentMessage", "dhMAC", "agreeMAC", "encryptedKey"]
    want = ["raVerified", "signature/-", "signature/sender", "signature/publicKeyMAC"]
    for p in priv:
        want += ["keyEncipherment/" + p, "keyAgreement/" + p]
    expect("popo alternatives", kinds, want)
    ids = [int(r["crm"]["certReq"]["certReqId"]) for r in pd["reqSequence"]]
    expect("certReqIds", ids, list(range(0x5000, 0x5000 + len(want))))


def status_of(resp):
    return only(controls(resp), rfc6402.id_cmc_statusInfoV2)


def check_recipient_nonce(resp):
    expect("recipientNonce", only(controls(resp), rfc6402.id_cmc_recipientNonce).asOctets(), b"\xa5" * 16)


def check_pki_response_success(resp):
    st = status_of(resp)
    expect("cMCStatus", str(st["cMCStatus"]), "success")
    expect("bodyList", [int(b["bodyPartID"]) for b in st["bodyList"]], [0x2001])
    expect("statusString", str(st["statusString"]), "issued")
    expect("otherInfo", st["otherInfo"].isValue, False)
    check_recipient_nonce(resp)
    expect("responseInfo", only(controls(resp), rfc6402.id_cmc_responseInfo).asOctets(), b'{"ok":true}')


def check_pki_response_failed(resp):
    st = status_of(resp)
    expect("cMCStatus", str(st["cMCStatus"]), "failed")
    body = st["bodyList"]
    expect("bodyList[0]", int(body[0]["bodyPartID"]), 0)
    expect("bodyList[1]", [int(i) for i in body[1]["bodyPartPath"]], [0x3001, 0x2001])
    expect("failInfo", str(st["otherInfo"]["failInfo"]), "badMessageCheck")
    check_recipient_nonce(resp)


def check_pki_response_failed_extended(resp):
    st = status_of(resp)
    expect("cMCStatus", str(st["cMCStatus"]), "failed")
    ext = st["otherInfo"]["extendedFailInfo"]
    expect("failInfoOID", str(ext["failInfoOID"]), "1.3.6.1.4.1.99999.3")
    value, _ = decoder.decode(ext["failInfoValue"].asOctets(), asn1Spec=char.UTF8String())
    expect("failInfoValue", str(value), "quota exceeded")
    check_recipient_nonce(resp)


def check_pki_response_pending(resp):
    st = status_of(resp)
    expect("cMCStatus", str(st["cMCStatus"]), "pending")
    expect("statusString present", st["statusString"].isValue, False)
    pend = st["otherInfo"]["pendInfo"]
    expect("pendToken", pend["pendToken"].asOctets(), b"pending-42")
    expect("pendTime", str(pend["pendTime"]), "20231114231320Z")
    check_recipient_nonce(resp)
    expect("cmsSequence bodyPartID", int(resp["cmsSequence"][0]["bodyPartID"]), 0x3002)


def change_subject_name_spec():
    """ChangeSubjectName with subjectAlt [1] IMPLICIT GeneralNames (RFC 6402 erratum 3943)."""
    return univ.Sequence(
        componentType=namedtype.NamedTypes(
            namedtype.OptionalNamedType("subject", rfc5280.Name()),
            namedtype.OptionalNamedType(
                "subjectAlt",
                rfc5280.GeneralNames().subtype(
                    implicitTag=tag.Tag(tag.tagClassContext, tag.tagFormatConstructed, 1)
                ),
            ),
        )
    )


def raw(value, spec):
    """A value pyasn1-modules has no open-type entry for, decoded with `spec`."""
    return decode(bytes(value), spec)


def check_pki_data_ra(pd):
    ctl = controls(pd)
    mod = only(ctl, rfc6402.id_cmc_modCertTemplate)
    expect("modCertTemplate.pkiDataReference", [int(i) for i in mod["pkiDataReference"]], [10])
    expect("modCertTemplate.certReferences", [int(i) for i in mod["certReferences"]], [2, 3])
    expect("modCertTemplate.replace", bool(mod["replace"]), False)
    t = mod["certTemplate"]
    expect("modCertTemplate subject RDNs", len(t["subject"]["rdnSequence"]), 3)
    expect("modCertTemplate extensions", [str(e["extnID"]) for e in t["extensions"]], ["2.5.29.15", "2.5.29.17"])
    expect("modCertTemplate publicKey present", t["publicKey"].isValue, False)
    add = only(ctl, rfc6402.id_cmc_addExtensions)
    expect("addExtensions.pkiDataReference", int(add["pkiDataReference"]), 0)
    expect("addExtensions.certReferences", [int(i) for i in add["certReferences"]], [0x2001])
    expect("addExtensions.extensions", [str(e["extnID"]) for e in add["extensions"]], ["2.5.29.15", "2.5.29.17"])
    done = only(ctl, rfc6402.id_cmc_controlProcessed)
    refs = [(r.getName(), [int(i) for i in r["bodyPartPath"]] if r.getName() == "bodyPartPath" else int(r["bodyPartID"])) for r in done["bodyList"]]
    expect("controlProcessed.bodyList", refs, [("bodyPartPath", [10, 4]), ("bodyPartID", 7)])
    witness = raw(only(ctl, rfc6402.id_cmc_raIdentityWitness), rfc6402.BodyPartPath())
    expect("raIdentityWitness", [int(i) for i in witness], [10, 4])
    tcr = pd["reqSequence"][0]["tcr"]
    attrs = {str(a["attrType"]): a["attrValues"] for a in tcr["certificationRequest"]["certificationRequestInfo"]["attributes"]}
    rename = raw(attrs[str(rfc6402.id_cmc_changeSubjectName)][0], change_subject_name_spec())
    expect("changeSubjectName subject RDNs", len(rename["subject"]["rdnSequence"]), 3)
    expect("changeSubjectName subjectAlt", [str(n["dNSName"]) for n in rename["subjectAlt"]], ["renamed.example"])
    expect("cmsSequence bodyPartID", int(pd["cmsSequence"][0]["bodyPartID"]), 10)


CHECKS = {
    "pki_data_full": check_pki_data_full,
    "pki_data_popo": check_pki_data_popo,
    "pki_data_ra": check_pki_data_ra,
    "pki_response_success": check_pki_response_success,
    "pki_response_failed": check_pki_response_failed,
    "pki_response_failed_extended": check_pki_response_failed_extended,
    "pki_response_pending": check_pki_response_pending,
}


def check_file(path):
    data = path.read_bytes()
    ci = decode(data, rfc5652.ContentInfo())
    expect("contentType", ci["contentType"], rfc5652.id_signedData)
    sd = ci["content"]
    econtent_type = sd["encapContentInfo"]["eContentType"]
    econtent = sd["encapContentInfo"]["eContent"].asOctets()
    if path.stem.startswith("pki_data"):
        expect("eContentType", str(econtent_type), str(rfc6402.id_cct_PKIData))
        body = decode(econtent, rfc6402.PKIData())
    elif path.stem.startswith("pki_response"):
        expect("eContentType", str(econtent_type), str(rfc6402.id_cct_PKIResponse))
        body = decode(econtent, rfc6402.PKIResponse())
    else:
        raise Mismatch("file name starts with neither pki_data nor pki_response")
    if encoder.encode(body) != econtent:
        raise Mismatch("pyasn1 re-encodes the eContent differently")
    if encoder.encode(ci) != data:
        raise Mismatch("pyasn1 re-encodes the ContentInfo differently")
    check = CHECKS.get(path.stem)
    if check is None:
        raise Mismatch("no field checks for this file name")
    check(body)
    return f"{type(body).__name__}, {len(body['controlSequence'])} controls"


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        print(f"usage: {argv[0]} SAMPLES_DIR", file=sys.stderr)
        return 2
    fix_status_info_v2()
    print("note: using RFC 6402's CMCStatusInfoV2 ([1] extendedFailInfo) instead of pyasn1-modules'")
    files = sorted(pathlib.Path(argv[1]).glob("*.der"))
    passed = failed = 0
    for path in files:
        try:
            summary = check_file(path)
        except Exception as e:  # any decoder error is a failure of this file
            failed += 1
            msg = " ".join(str(e).split())
            if len(msg) > 300:
                msg = msg[:300] + "..."
            print(f"FAIL {path.name}: {type(e).__name__}: {msg}")
        else:
            passed += 1
            print(f"ok   {path.name}: {summary}")
    missing = sorted(set(CHECKS) - {p.stem for p in files})
    for name in missing:
        failed += 1
        print(f"FAIL {name}.der: missing")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
