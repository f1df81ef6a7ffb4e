//! `cmc-server`: parse the arguments, load the configuration, start
//! logging, build the engine (creating the embedded setup on a first
//! start), serve, and drain on SIGTERM or SIGINT.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use cmc_ca::{Engine, EngineConfig, SystemClock};
use cmc_server::cli::{self, Command};
use cmc_server::config::Config;
use cmc_server::metrics::Metrics;
use cmc_server::routes::{App, Settings};
use cmc_server::server::{Limits, Server};
use cmc_server::{backup, bootstrap, purge, shutdown_signal, tls};

/// mimalloc with the default `mimalloc` feature (see Cargo.toml).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let config_path = match cli::parse(std::env::args_os().skip(1)) {
        Ok(Command::Run { config }) => config,
        Ok(Command::Help) => {
            print!("{}", cli::USAGE);
            return ExitCode::SUCCESS;
        }
        Ok(Command::Version) => {
            println!("cmc-server {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("cmc-server: {e}");
            return ExitCode::from(2);
        }
    };
    init_tracing();
    match run(config_path.as_deref()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cmc-server: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
}

fn run(config_path: Option<&std::path::Path>) -> Result<()> {
    let config = match config_path {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    let (engine_file, s) = (&config.engine, &config.server);
    // Everything that blocks (store, keys) happens before the runtime
    // starts; afterwards the engine is only called from blocking threads.
    let mut engine_config = EngineConfig::from_config(engine_file)?;
    // The engine decodes no request larger than the server accepts.
    engine_config.max_request_bytes = s.max_body_bytes;
    // TLS first: a bad certificate or key path must not leave a half-made
    // first-start setup behind.
    let tls = s.tls.as_ref().map(tls::server_config).transpose()?;
    cmc_ca::ensure_data_dir(&engine_file.data_dir)?;
    let engine = Arc::new(
        Engine::open(
            &engine_file.store_url(),
            Arc::new(SystemClock),
            engine_config,
        )
        .with_context(|| format!("opening the store in {}", engine_file.data_dir.display()))?,
    );
    let ca_name = engine_file
        .default_ca
        .clone()
        .unwrap_or_else(|| cmc_ca::ROOT_NAME.to_owned());
    let outcome = engine.ensure_embedded(&engine_file.data_dir, &ca_name)?;

    let settings = Settings::from_config(&config);
    let limits = Limits {
        read_timeout: Duration::from_secs(s.read_timeout_secs),
        idle_timeout: Duration::from_secs(s.idle_timeout_secs),
        drain_timeout: Duration::from_secs(s.read_timeout_secs.saturating_add(30)),
    };
    let purge_schedule =
        purge::Schedule::from_interval_secs(engine_file.requests.purge_interval_secs);
    let app = Arc::new(App::new(
        Arc::clone(&engine),
        settings.clone(),
        Arc::new(Metrics::new()),
        s.max_concurrency,
    ));
    // The async workers (tokio's default: one per core) only accept,
    // parse HTTP and move bytes. All CPU and store work of a request is one
    // task on the blocking pool under one of `max_concurrency` permits
    // (routes/blocking.rs), so the pool never needs more threads than the
    // permits plus the purge schedule's one: that is its bound. Why the
    // permits exceed the cores: `config.rs`, `max_concurrency`.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .max_blocking_threads(s.max_concurrency.saturating_add(1))
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        // Installed before anything is printed, so that a signal sent as
        // soon as the address is known is not fatal.
        let signal = shutdown_signal()?;
        let console = match &config.console {
            Some(c) => {
                let console = cmc_console::Console::new(c.settings(&engine_file.data_dir)?)
                    .with_activity(app.metrics().activity());
                let console_app = Arc::new(app.console_app(console));
                let console_tls = c
                    .tls
                    .as_ref()
                    .map(|t| tls::server_config_for("console.tls", t))
                    .transpose()?;
                match Server::bind(c.listen, console_tls, console_app, limits).await {
                    Ok(server) => Some(server),
                    // The embedded default's console is a convenience: a
                    // port already taken does not stop the CA.
                    Err(e) if config_path.is_none() => {
                        println!("console not started: {e:#}");
                        tracing::warn!(error = %format!("{e:#}"), "console not started");
                        None
                    }
                    Err(e) => return Err(e),
                }
            }
            None => None,
        };
        let server = Server::bind(s.listen, tls, app, limits).await?;
        let url = server.url()?;
        print!(
            "{}",
            bootstrap::describe(&outcome, |ca| format!("{url}{}/{ca}", settings.base_path))
        );
        if let Some(console) = &console {
            print!(
                "{}",
                bootstrap::describe_console(&console.url()?, &engine_file.data_dir)
            );
        }
        println!("listening on {url}");
        tracing::info!(%url, "listening");
        let (stop_purge, stop) = tokio::sync::watch::channel(false);
        if let Some(b) = engine_file.backup.clone() {
            let every = Duration::from_secs(b.interval_secs()?);
            let file = config_path.map(std::path::Path::to_path_buf);
            tokio::spawn(backup::run(
                engine_file.clone(),
                file,
                b,
                every,
                stop.clone(),
            ));
        }
        let purger = tokio::spawn(purge::run(engine, purge_schedule, stop.clone()));
        let console_task = console.map(|console| {
            let mut stop = stop.clone();
            tokio::spawn(console.run(async move {
                let _ = stop.wait_for(|stopped| *stopped).await;
            }))
        });
        let served = server.run(signal).await;
        let _ = stop_purge.send(true);
        if let Some(task) = console_task {
            match task.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "the console listener failed"),
                Err(e) => tracing::error!(error = %e, "the console listener panicked"),
            }
        }
        if let Err(e) = purger.await {
            tracing::error!(error = %e, "the purge schedule panicked");
        }
        served
    })?;
    runtime.shutdown_timeout(Duration::from_secs(5));
    tracing::info!("stopped");
    Ok(())
}
