#!/usr/bin/env python3
"""Independent decoding of the AuthenticatedData (RFC 5652 §9) we produce, with
pyasn1-modules (rfc5652, rfc6402, rfc8018).

Usage: python3 scripts/pyasn1_authdata_check.py FILE.der [FILE.der ...]

Each file is a ContentInfo holding an AuthenticatedData whose eContent is a PKIData
(id-cct-PKIData). Checked: one PasswordRecipientInfo (version 0) with PBKDF2 whose
parameters decode as PBKDF2-params (salt of 8 to 64 octets, iterations, keyLength 32,
prf hmacWithSHA256), keyEncryptionAlgorithm id-aes256-wrap without parameters, a 40-octet
encrypted key (a 32-octet MAC key wrapped), macAlgorithm hmacWithSHA256, digestAlgorithm
SHA-256, authAttrs with contentType = id-cct-PKIData, messageDigest and signingTime; the
PKIData decodes with rfc6402 and any id-cmc-trustedAnchors control decodes as
PublishTrustAnchors with SHA-256 and 32-octet hashes. Everything re-encodes to the same
octets. Prints one line per file; exits non-zero on any failure.
"""

import sys

from pyasn1.codec.der import decoder, encoder
from pyasn1_modules import rfc5652, rfc6402, rfc8018

ID_AES256_WRAP = "2.16.840.1.101.3.4.1.45"
ID_PBKDF2 = "1.2.840.113549.1.5.12"
ID_HMAC_SHA256 = "1.2.840.113549.2.9"
ID_SHA256 = "2.16.840.1.101.3.4.2.1"
ID_CT_AUTH_DATA = "1.2.840.113549.1.9.16.1.2"


def check(path):
    der = open(path, "rb").read()
    ci, rest = decoder.decode(der, asn1Spec=rfc5652.ContentInfo())
    assert not rest, "trailing data"
    assert str(ci["contentType"]) == ID_CT_AUTH_DATA, ci["contentType"]
    ad, rest = decoder.decode(ci["content"], asn1Spec=rfc5652.AuthenticatedData())
    assert not rest
    assert int(ad["version"]) == 0
    recips = ad["recipientInfos"]
    assert len(recips) == 1
    pwri = recips[0]["pwri"]
    assert int(pwri["version"]) == 0
    kdf = pwri["keyDerivationAlgorithm"]
    assert str(kdf["algorithm"]) == ID_PBKDF2
    params, rest = decoder.decode(kdf["parameters"], asn1Spec=rfc8018.PBKDF2_params())
    assert not rest
    salt = bytes(params["salt"]["specified"])
    assert 8 <= len(salt) <= 64, len(salt)
    assert 1000 <= int(params["iterationCount"]) <= 200000
    assert int(params["keyLength"]) == 32
    assert str(params["prf"]["algorithm"]) == ID_HMAC_SHA256
    kek = pwri["keyEncryptionAlgorithm"]
    assert str(kek["algorithm"]) == ID_AES256_WRAP
    assert not kek["parameters"].isValue
    assert len(bytes(pwri["encryptedKey"])) == 40
    assert str(ad["macAlgorithm"]["algorithm"]) == ID_HMAC_SHA256
    assert str(ad["digestAlgorithm"]["algorithm"]) == ID_SHA256
    encap = ad["encapContentInfo"]
    assert encap["eContentType"] == rfc6402.id_cct_PKIData
    attrs = {str(a["attrType"]): a["attrValues"] for a in ad["authAttrs"]}
    assert set(attrs) == {
        str(rfc5652.id_contentType),
        str(rfc5652.id_messageDigest),
        str(rfc5652.id_signingTime),
    }, attrs
    ctype, _ = decoder.decode(attrs[str(rfc5652.id_contentType)][0], asn1Spec=rfc5652.ContentType())
    assert ctype == rfc6402.id_cct_PKIData
    digest, _ = decoder.decode(attrs[str(rfc5652.id_messageDigest)][0], asn1Spec=rfc5652.MessageDigest())
    assert len(bytes(digest)) == 32
    assert len(bytes(ad["mac"])) == 32
    pki, rest = decoder.decode(bytes(encap["eContent"]), asn1Spec=rfc6402.PKIData())
    assert not rest
    anchors = 0
    for control in pki["controlSequence"]:
        if control["attrType"] == rfc6402.id_cmc_trustedAnchors:
            for value in control["attrValues"]:
                pta, rest = decoder.decode(value, asn1Spec=rfc6402.PublishTrustAnchors())
                assert not rest
                assert str(pta["hashAlgorithm"]["algorithm"]) == ID_SHA256
                assert all(len(bytes(h)) == 32 for h in pta["anchorHashes"])
                anchors += len(pta["anchorHashes"])
                assert encoder.encode(pta) == bytes(value)
    assert encoder.encode(pki) == bytes(encap["eContent"])
    assert encoder.encode(ad) == bytes(ci["content"])
    assert encoder.encode(ci) == der
    return "seqNumber/anchors %d" % anchors


def main():
    failed = 0
    for path in sys.argv[1:]:
        try:
            print("ok   %s: %s" % (path, check(path)))
        except Exception as e:  # noqa: BLE001 - report every file
            failed += 1
            print("FAIL %s: %r" % (path, e))
    print("%d passed, %d failed" % (len(sys.argv) - 1 - failed, failed))
    sys.exit(1 if failed or len(sys.argv) < 2 else 0)


if __name__ == "__main__":
    main()
