//! `console passwd`: set an operator's password for the web console
//! (`[console]` of cmc-server), stored as an Argon2id hash in
//! `console-passwords` in the data directory (mode 0600).
//!
//! The password never comes from the command line: from a file, an
//! environment variable, or the terminal (typed twice, not echoed).

use std::io::{BufRead as _, Write as _};
use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use clap::Subcommand;
use zeroize::Zeroizing;

use crate::Io;
use crate::context::Context;

/// The environment variable a password may come from.
pub const PASSWORD_ENV: &str = "CMC_CONSOLE_PASSWORD";

/// `console ...`
#[derive(Debug, Subcommand)]
pub enum ConsoleCommand {
    /// Set (or replace) an operator's console password.
    Passwd {
        /// The operator's name (what the audit log records, as
        /// `console:NAME`).
        #[arg(long, default_value = "admin")]
        operator: String,
        /// Read the password from this file (its first line).
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
        /// Read the password from the environment variable
        /// CMC_CONSOLE_PASSWORD.
        #[arg(long, conflicts_with = "password_file")]
        password_env: bool,
    },
}

pub(crate) fn run(ctx: &Context, cmd: &ConsoleCommand, io: &mut Io<'_>) -> Result<()> {
    match cmd {
        ConsoleCommand::Passwd {
            operator,
            password_file,
            password_env,
        } => {
            let password = if let Some(path) = password_file {
                let text = Zeroizing::new(
                    std::fs::read_to_string(path)
                        .with_context(|| format!("reading {}", path.display()))?,
                );
                Zeroizing::new(text.lines().next().unwrap_or("").to_owned())
            } else if *password_env {
                match std::env::var(PASSWORD_ENV) {
                    Ok(p) => Zeroizing::new(p),
                    Err(_) => bail!("{PASSWORD_ENV} is not set"),
                }
            } else {
                prompt_twice()?
            };
            let file = cmc_console::password::password_file(&ctx.data_dir()?);
            cmc_console::password::set_password(&file, operator, &password)?;
            writeln!(
                io.out,
                "console password of {operator:?} set (Argon2id hash in {})",
                file.display()
            )
            .context("writing output")
        }
    }
}

/// Reads the password from the terminal twice, without echo.
fn prompt_twice() -> Result<Zeroizing<String>> {
    let first = prompt("console password: ")?;
    let second = prompt("again: ")?;
    if *first != *second {
        bail!("the two passwords differ");
    }
    Ok(first)
}

fn prompt(question: &str) -> Result<Zeroizing<String>> {
    let tty = || {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
            .context("no terminal to ask for the password: use --password-file or --password-env")
    };
    let stty = |arg: &str| -> Result<()> {
        let ok = std::process::Command::new("stty")
            .arg(arg)
            .stdin(tty()?)
            .status()
            .context("running stty")?
            .success();
        if !ok {
            bail!("stty {arg} failed");
        }
        Ok(())
    };
    let mut out = tty()?;
    write!(out, "{question}").context("writing the prompt")?;
    out.flush().context("writing the prompt")?;
    stty("-echo")?;
    let mut line = Zeroizing::new(String::new());
    let read = std::io::BufReader::new(tty()?).read_line(&mut line);
    let restored = stty("echo");
    writeln!(out).context("writing the prompt")?;
    read.context("reading the password")?;
    restored?;
    Ok(Zeroizing::new(
        line.trim_end_matches(['\n', '\r']).to_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passwd(config: &std::path::Path, extra: &[&str]) -> Result<String> {
        let mut out = Vec::new();
        let mut err = Vec::new();
        let mut io = Io {
            out: &mut out,
            err: &mut err,
            out_is_terminal: false,
        };
        let mut args = vec![
            "cmc-tool",
            "--config",
            config.to_str().unwrap(),
            "console",
            "passwd",
        ];
        args.extend_from_slice(extra);
        crate::run_args(args, &mut io)?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn the_password_file_is_read_checked_and_hashed() {
        let tmp = tempfile::tempdir().unwrap();
        let config = tmp.path().join("cmc.toml");
        std::fs::write(&config, "data_dir = \"data\"\n").unwrap();
        let pw = tmp.path().join("pw");
        std::fs::write(&pw, "short\n").unwrap();
        let e = format!(
            "{:#}",
            passwd(&config, &["--password-file", pw.to_str().unwrap()]).unwrap_err()
        );
        assert!(e.contains("at least 12"), "{e}");
        let missing = tmp.path().join("missing");
        assert!(passwd(&config, &["--password-file", missing.to_str().unwrap()]).is_err());
        std::fs::write(&pw, "a long enough password\nsecond line ignored\n").unwrap();
        let out = passwd(
            &config,
            &["--operator", "ops", "--password-file", pw.to_str().unwrap()],
        )
        .unwrap();
        assert!(out.contains("console password of \"ops\" set"), "{out}");
        let file = cmc_console::password::password_file(&tmp.path().join("data"));
        assert!(cmc_console::password::verify_password(
            &file,
            "ops",
            "a long enough password"
        ));
        assert!(!cmc_console::password::verify_password(
            &file,
            "admin",
            "a long enough password"
        ));
        let e = format!(
            "{:#}",
            passwd(
                &config,
                &[
                    "--operator",
                    "bad:name",
                    "--password-file",
                    pw.to_str().unwrap()
                ]
            )
            .unwrap_err()
        );
        assert!(e.contains("operator name"), "{e}");
    }
}
