#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod cli;
pub mod commands;
mod context;
mod http;
mod inspect;
mod output;
pub mod time;
mod tls;

use std::io::Write;
use std::path::Path;

use anyhow::{Context as _, Result, bail};

pub use cli::Cli;
pub use context::DEFAULT_CONFIG_FILE;

use crate::cli::Command;
use crate::context::Context;

/// Where a command writes: its result to `out`, notes that must not mix
/// with a result written to standard output to `err`.
pub struct Io<'a> {
    /// The command's output (standard output).
    pub out: &'a mut dyn Write,
    /// Notes (standard error).
    pub err: &'a mut dyn Write,
    /// Whether `out` is a terminal: binary output is refused there.
    pub out_is_terminal: bool,
}

impl Io<'_> {
    /// Writes a command's file result to `path`, or to `out` when there
    /// is none (never binary data to a terminal).
    fn write_result(&mut self, path: Option<&Path>, bytes: &[u8], binary: bool) -> Result<()> {
        match path {
            Some(p) => std::fs::write(p, bytes).with_context(|| format!("writing {}", p.display())),
            None if binary && self.out_is_terminal => {
                bail!("refusing to write DER to a terminal: give -o FILE, or ask for PEM")
            }
            None => {
                self.out.write_all(bytes).context("writing output")?;
                self.out.flush().context("writing output")
            }
        }
    }
}

/// Runs one parsed command line.
///
/// # Errors
/// Whatever the command failed with, with context; the binary prints the
/// chain and exits with status 1.
pub fn run(cli: &Cli, io: &mut Io<'_>) -> Result<()> {
    let ctx = Context::load(cli.config.as_deref())?;
    match &cli.command {
        Command::Ca(cmd) => commands::ca::run(&ctx, cmd, io),
        Command::Client(cmd) => commands::client::run(&ctx, cmd, io),
        Command::Profile(cmd) => commands::profile::run(&ctx, cmd, io),
        Command::Cert(cmd) => commands::cert::run(&ctx, cmd, io),
        Command::Crl(cmd) => commands::crl::run(&ctx, cmd, io),
        Command::Secret(cmd) => commands::secret::run(&ctx, cmd, io),
        Command::Pending(cmd) => commands::pending::run(&ctx, cmd, io),
        Command::Console(cmd) => commands::console::run(&ctx, cmd, io),
        Command::Request(args) => commands::request::run(args, io),
        Command::Enroll(args) => commands::enroll::run(args, io),
        Command::Revoke(args) => commands::revoke::run(args, io),
        Command::Renew(args) => commands::renew::run(args, io),
        Command::Cmp(cmd) => commands::cmp::run(cmd, io),
        Command::Backup(cmd) => commands::backup::run(&ctx, cmd, io),
        Command::Show(args) => commands::show::run(args, io),
        Command::Bench(args) => commands::bench::run(args, io),
        Command::BenchLoad(args) => commands::bench_load::run(&ctx, args, io),
        Command::Audit(args) => commands::audit::run(&ctx, args, io),
    }
}

/// Parses `args` (the program name first, as in `std::env::args`) and runs
/// the command: `cmc-tool` embedded in another program or a test.
///
/// # Errors
/// A usage error (clap's message, including for `--help`), or whatever the
/// command failed with, as [`run`].
pub fn run_args<I, T>(args: I, io: &mut Io<'_>) -> Result<()>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    use clap::Parser as _;
    let cli = Cli::try_parse_from(args).map_err(|e| anyhow::anyhow!("{e}"))?;
    run(&cli, io)
}
