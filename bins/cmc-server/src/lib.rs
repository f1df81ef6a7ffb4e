#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod activity;
pub mod backup;
pub mod bootstrap;
pub mod cli;
pub mod config;
pub mod limit;
pub mod metrics;
pub mod purge;
pub mod routes;
pub mod server;
pub mod tls;

/// Completes on the first SIGTERM or SIGINT.
///
/// # Errors
/// If the signal handlers cannot be installed.
pub fn shutdown_signal() -> anyhow::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM received"),
            _ = int.recv() => tracing::info!("SIGINT received"),
        }
    })
}
