//! The `[backup]` schedule: every `every`, an encrypted backup into `dir`
//! for the configured administrators, the oldest beyond `keep` removed.
//! The backup itself is `cmc_ca::backup::run_scheduled`, the code path of
//! `cmc-tool backup create`; it runs on the blocking pool, one at a time.

use std::path::PathBuf;
use std::time::Duration;

use cmc_ca::backup::{BackupSettings, Source, run_scheduled};
use cmc_ca::config::Config;
use tokio::sync::watch;

/// Runs the schedule until `stop` turns true: the first backup one
/// interval after the start, then one per interval. A failed backup is
/// logged and tried again at the next interval.
pub async fn run(
    config: Config,
    config_file: Option<PathBuf>,
    settings: BackupSettings,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    tracing::info!(dir = %settings.dir.display(), every = ?every, "scheduled backups");
    loop {
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
        let (config, file, settings) = (config.clone(), config_file.clone(), settings.clone());
        let done = tokio::task::spawn_blocking(move || {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
            let source = Source {
                config: &config,
                config_file: file.as_deref(),
            };
            run_scheduled(source, &settings, now, &mut |line| {
                tracing::debug!(backup = line);
            })
        })
        .await;
        match done {
            Ok(Ok(path)) => tracing::info!(file = %path.display(), "backup written"),
            Ok(Err(e)) => tracing::error!(error = %e, "backup failed"),
            Err(e) => tracing::error!(error = %e, "the backup task panicked"),
        }
    }
}
