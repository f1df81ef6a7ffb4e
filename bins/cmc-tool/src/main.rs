//! `cmc-tool`: parse the command line, run the command, report an error on
//! standard error with exit status 1 (clap's usage errors exit with 2).

#![forbid(unsafe_code)]

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use cmc_tool::{Cli, Io};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let out_is_terminal = stdout.is_terminal();
    let mut out = stdout.lock();
    let mut err = stderr.lock();
    let mut io = Io {
        out: &mut out,
        err: &mut err,
        out_is_terminal,
    };
    match cmc_tool::run(&cli, &mut io) {
        Ok(()) => ExitCode::SUCCESS,
        // `renew --once` found nothing due: its own status, no error.
        Err(e) if e.is::<cmc_tool::commands::renew::NotDue>() => {
            ExitCode::from(cmc_tool::commands::renew::EXIT_NOT_DUE)
        }
        Err(e) => {
            eprintln!("cmc-tool: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
