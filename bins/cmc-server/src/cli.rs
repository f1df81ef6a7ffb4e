//! The command line: `cmc-server [--config FILE]`, `--help`, `--version`.
//!
//! Deliberately tiny: the only value on the command line is the path of the
//! configuration file. Secrets never come from argv.

use std::ffi::OsString;
use std::path::PathBuf;

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Run the server, with the configuration file if one is given (else
    /// the built-in defaults).
    Run {
        /// `--config FILE`.
        config: Option<PathBuf>,
    },
    /// Print the usage and exit.
    Help,
    /// Print the version and exit.
    Version,
}

/// The usage text.
pub const USAGE: &str = "\
Usage: cmc-server [--config FILE]

The CMC (RFC 5272/5273) certificate authority's HTTP server.

Options:
  -c, --config FILE   the TOML configuration file (default: the built-in
                      embedded setup: ./cmc-data, SQLite, one root CA,
                      listening on 127.0.0.1:8080, the operator console
                      on 127.0.0.1:8444)
  -h, --help          print this text
  -V, --version       print the version

Key passphrases and PINs are never given on the command line: the
configuration names the environment variable or file they are read from.
Logging: RUST_LOG (default info).
";

/// Parses the arguments after the program name.
///
/// # Errors
/// A message for an unknown option, a missing or repeated `--config`
/// value, or an argument that is not valid UTF-8 where text is expected.
pub fn parse<I>(args: I) -> Result<Command, String>
where
    I: IntoIterator<Item = OsString>,
{
    let mut config = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let text = arg.to_str();
        match text {
            Some("-h" | "--help") => return Ok(Command::Help),
            Some("-V" | "--version") => return Ok(Command::Version),
            Some("-c" | "--config") => {
                let value = args
                    .next()
                    .ok_or_else(|| "--config needs a file name".to_owned())?;
                set_config(&mut config, PathBuf::from(value))?;
            }
            Some(t) if t.starts_with("--config=") => {
                set_config(&mut config, PathBuf::from(&t["--config=".len()..]))?;
            }
            Some(t) => {
                return Err(format!("unexpected argument {t:?} (try --help)"));
            }
            None => return Err("arguments must be valid UTF-8 (try --help)".to_owned()),
        }
    }
    Ok(Command::Run { config })
}

fn set_config(slot: &mut Option<PathBuf>, path: PathBuf) -> Result<(), String> {
    if path.as_os_str().is_empty() {
        return Err("--config needs a file name".to_owned());
    }
    if slot.replace(path).is_some() {
        return Err("--config given twice".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Command, String> {
        parse(args.iter().map(OsString::from))
    }

    #[test]
    fn forms() {
        assert_eq!(p(&[]), Ok(Command::Run { config: None }));
        for args in [
            &["--config", "a.toml"][..],
            &["-c", "a.toml"],
            &["--config=a.toml"],
        ] {
            assert_eq!(
                p(args),
                Ok(Command::Run {
                    config: Some("a.toml".into())
                }),
                "{args:?}"
            );
        }
        assert_eq!(p(&["--help"]), Ok(Command::Help));
        assert_eq!(p(&["-c", "x", "-h"]), Ok(Command::Help));
        assert_eq!(p(&["--version"]), Ok(Command::Version));
    }

    #[test]
    fn errors() {
        assert!(p(&["--config"]).unwrap_err().contains("needs a file"));
        assert!(p(&["--config="]).unwrap_err().contains("needs a file"));
        assert!(p(&["-c", "a", "-c", "b"]).unwrap_err().contains("twice"));
        assert!(
            p(&["--passphrase", "x"])
                .unwrap_err()
                .contains("--passphrase")
        );
        assert!(p(&["serve"]).unwrap_err().contains("serve"));
    }
}
