//! What the server tells the operator about the embedded setup (the
//! engine makes it: [`cmc_ca::Engine::ensure_embedded`]): what was created
//! where, and the `cmc-tool enroll` command that gets a first certificate.

use std::fmt::Write as _;

use cmc_ca::{EmbeddedFiles as Files, EmbeddedSetup, RA_CLIENT_ID, ROOT_DAYS, ROOT_SUBJECT};

/// The command that enrolls a first certificate with the bootstrap RA, in
/// the form of `cmc-tool enroll` (bins/cmc-tool/README.md).
#[must_use]
pub fn enroll_command(url: &str, files: &Files) -> String {
    format!(
        "{} enroll --url {url} --signer-cert {} --signer-key {} \
         --passphrase-file {} --ca-cert {} --new-key example.key --new-key-unencrypted \
         --subject CN=example --out-cert example.pem",
        cmc_tool_program(),
        files.ra_cert.display(),
        files.ra_key.display(),
        files.ra_passphrase.display(),
        files.ca_cert.display(),
    )
}

/// How to run `cmc-tool`: the binary beside this one when there is one (as
/// after `cargo build -p cmc-server -p cmc-tool`), else by name from PATH.
fn cmc_tool_program() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.join("cmc-tool")))
        .filter(|tool| tool.is_file())
        .map_or_else(|| "cmc-tool".to_owned(), |tool| tool.display().to_string())
}

/// What to tell the operator about the console at `url`: where it is and
/// how to log in.
#[must_use]
pub fn describe_console(url: &str, data_dir: &std::path::Path) -> String {
    let file = cmc_console::password::password_file(data_dir);
    let how = if cmc_console::password::any_password(&file) {
        "log in with an operator password (set more with `cmc-tool console passwd --operator NAME`)"
    } else {
        "set an operator password first: `cmc-tool console passwd --operator NAME` \
         (reads it from --password-file, $CMC_CONSOLE_PASSWORD or the terminal)"
    };
    format!("console on {url} (password login from loopback only): {how}\n")
}

/// What to tell the operator about `outcome`; `cmc_url` is the CMC URL of
/// the embedded CA.
#[must_use]
pub fn describe(outcome: &EmbeddedSetup, cmc_url: impl Fn(&str) -> String) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    match outcome {
        EmbeddedSetup::Created { ca, files } => {
            let _ = writeln!(out, "first start: created in {}:", files.data_dir.display());
            let _ = writeln!(
                out,
                "  CA {ca:?} ({ROOT_SUBJECT}, P-384, {ROOT_DAYS} days): certificate {}, key {} encrypted with the passphrase in {}",
                files.ca_cert.display(),
                files.ca_key.display(),
                files.ca_passphrase.display()
            );
            let _ = writeln!(
                out,
                "  bootstrap RA credential {RA_CLIENT_ID:?}: certificate {}, key {} encrypted with the passphrase in {}",
                files.ra_cert.display(),
                files.ra_key.display(),
                files.ra_passphrase.display()
            );
            let _ = writeln!(out, "enroll a first certificate with:");
            let _ = writeln!(out, "  {}", enroll_command(&cmc_url(ca), files));
        }
        EmbeddedSetup::Existing { cas, bootstrap } => {
            let _ = writeln!(
                out,
                "existing setup: nothing created; CAs: {}",
                cas.join(", ")
            );
            if let Some((ca, files)) = bootstrap {
                let _ = writeln!(
                    out,
                    "bootstrap RA credential: {} (enroll with: {})",
                    files.ra_cert.display(),
                    enroll_command(&cmc_url(ca), files)
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use cmc_ca::{Engine, EngineConfig, SystemClock};

    use super::*;

    #[test]
    fn the_operator_gets_the_command_and_never_the_passphrase() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        cmc_ca::ensure_data_dir(&dir).unwrap();
        let url = format!("sqlite://{}", dir.join("cmc.db").display());
        let engine = Engine::open(&url, Arc::new(SystemClock), EngineConfig::default()).unwrap();
        let outcome = engine.ensure_embedded(&dir, "root").unwrap();
        let EmbeddedSetup::Created { files, .. } = &outcome else {
            panic!("{outcome:?}")
        };
        let pass = std::fs::read_to_string(&files.ca_passphrase).unwrap();
        let text = describe(&outcome, |ca| format!("http://h/cmc/{ca}"));
        assert!(!text.contains(&pass), "the passphrase is never printed");
        assert!(
            text.contains("cmc-tool enroll --url http://h/cmc/root"),
            "{text}"
        );
        let engine = Engine::open(&url, Arc::new(SystemClock), EngineConfig::default()).unwrap();
        let again = engine.ensure_embedded(&dir, "root").unwrap();
        assert!(describe(&again, |ca| ca.to_owned()).contains("nothing created"));
        assert!(Path::new(&files.ra_cert).is_file());
    }
}
