//! Sessions recover: after the process is logged out of the token, and after
//! the module is finalised and initialised again (every session handle
//! invalid), the next signatures log in again / replace their session and
//! succeed. Its own process, because it disturbs the whole module.

// Test helpers outside #[test] functions: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use cmc_keys::pkcs11::{Pkcs11Key, module_context};
use cmc_keys::{KeySpec, SigningKey};
use cryptoki::context::{CInitializeArgs, CInitializeFlags};
use der::Encode;
use signature::Verifier;
use spki::DecodePublicKey;

#[test]
fn pkcs11_sessions_recover_from_logout_and_reinitialisation() {
    let Some(hsm) = common::hsm("pkcs11_sessions_recover_from_logout_and_reinitialisation") else {
        return;
    };
    let label = format!("cmc-test-recovery-{}", common::random_suffix());
    let key = Pkcs11Key::generate(&hsm.config(&label).with_sessions(2), KeySpec::P384).unwrap();
    let verifier =
        p384::ecdsa::VerifyingKey::from_public_key_der(&key.public_key().to_der().unwrap())
            .unwrap();
    let check = |round: &str| {
        // More signatures than pooled sessions, so every pooled session is used.
        for i in 0..4 {
            let msg = format!("{round} {i}");
            let der = key
                .sign(msg.as_bytes())
                .unwrap_or_else(|e| panic!("{round}: {e}"));
            let sig = p384::ecdsa::DerSignature::from_bytes(&der).unwrap();
            verifier.verify(msg.as_bytes(), &sig).unwrap();
        }
    };
    check("before");

    // Lost login: every session of the process is logged out.
    key.logout().unwrap();
    check("after logout");

    // Invalid session handles: the module is reset under the pool.
    let ctx = module_context(&hsm.module).unwrap();
    ctx.clone().finalize().unwrap();
    ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .unwrap();
    check("after C_Finalize + C_Initialize");

    key.destroy().unwrap();
}
