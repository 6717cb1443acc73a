//! `twinscape serve`: merges the configuration layers, installs the log subscriber, starts the server and runs it until SIGINT or SIGTERM.
//!
//! Layers, lowest to highest: the embedded defaults, `--config FILE`, `TWINSCAPE__SECTION__KEY` environment variables, the flags below.
//! Once the socket is bound, one line `twinscape listening on http(s)://ADDR` goes to the writer `main` hands over (stdout), so scripts and tests can read the port, then `twinscape mqtt listening on mqtt://ADDR` when plain MQTT is on and `twinscape mqtt listening on mqtts://ADDR` when MQTT over TLS is; logs go to stderr, filtered by `RUST_LOG` (default `info`).
//! What is served, and how, is the `server` crate's business.

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use server::config::{ConfigFile, MqttSection, ServerSection, TlsSection};
use server::{Config, Server};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;

#[derive(Args)]
pub(crate) struct ServeArgs {
    /// A TOML configuration file, layered over the built-in defaults.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The data directory [default: ./twinscape-data].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// The address to listen on; port 0 picks a free port [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Serve HTTPS with this PEM certificate chain (needs --tls-key).
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// The address of the MQTT listener devices send telemetry to (plain TCP); port 0 picks a free port, "" turns it off [default: 127.0.0.1:1883].
    #[arg(long, value_name = "ADDR")]
    mqtt_listen: Option<String>,
    /// The address of MQTT over TLS, as the Azure IoT device SDKs connect (conventionally port 8883); port 0 picks a free port, "" turns it off [default: off]. Its certificate is `[mqtt] cert_path` and `key_path`, or else --tls-cert and --tls-key.
    #[arg(long, value_name = "ADDR")]
    mqtt_tls_listen: Option<String>,
    /// Run the live occupancy demo, so there is something alive to look at: a building of two floors and eight rooms, each room with a simulated device whose motion, CO2 and temperature sensors report every two seconds, and the availability function that sets each room's AvailableAndFresh value from its motion and CO2.
    #[arg(long)]
    demo: bool,
}

/// Runs the server until a shutdown signal, announcing its address on `announce`.
pub(crate) fn run(args: ServeArgs, announce: &mut dyn Write) -> Result<()> {
    let config = config(args).context("read configuration")?;
    init_logging()?;
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("start the async runtime")?;
    runtime.block_on(async {
        let shutdown = shutdown_signal().context("listen for shutdown signals")?;
        let server = Server::bind(config).await.context("start the server")?;
        // One write for every line, so a reader that stops after the first never makes a later one fail.
        let mut lines = format!("twinscape listening on {}\n", server.url());
        for url in [server.mqtt_url(), server.mqtt_tls_url()].into_iter().flatten() {
            lines.push_str(&format!("twinscape mqtt listening on {url}\n"));
        }
        announce.write_all(lines.as_bytes()).context("print the address")?;
        announce.flush().context("print the address")?;
        server.run(shutdown).await;
        Ok(())
    })
}

fn config(args: ServeArgs) -> Result<Config> {
    let ServeArgs { config, data_dir, listen, tls_cert, tls_key, mqtt_listen, mqtt_tls_listen, demo } = args;
    let mut layers = ConfigFile::embedded();
    if let Some(path) = config {
        let text = std::fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))?;
        layers = layers.overlay(ConfigFile::parse(&text, &path.display().to_string())?);
    }
    layers = layers.overlay(ConfigFile::from_env(std::env::vars_os())?);
    let flags = ConfigFile {
        server: ServerSection { listen, data_dir, demo: demo.then_some(true), ..ServerSection::default() },
        tls: TlsSection { cert_path: tls_cert, key_path: tls_key },
        mqtt: MqttSection { listen: mqtt_listen, tls_listen: mqtt_tls_listen, ..MqttSection::default() },
        ..ConfigFile::default()
    };
    Ok(Config::from_file(layers.overlay(flags))?)
}

fn init_logging() -> Result<()> {
    let filter = EnvFilter::builder()
        .with_default_directive(LevelFilter::INFO.into())
        .from_env()
        .context("read the log filter in RUST_LOG")?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init()
        .map_err(|err| anyhow::anyhow!(err))
        .context("install the log subscriber")
}

/// Completes on the first SIGINT (Ctrl-C) or SIGTERM; the handlers are registered before it is returned, so no signal is missed once the server runs.
fn shutdown_signal() -> Result<impl Future<Output = ()>> {
    #[cfg(unix)]
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let interrupt = tokio::signal::ctrl_c();
    Ok(async move {
        #[cfg(unix)]
        let terminated = terminate.recv();
        #[cfg(not(unix))]
        let terminated = std::future::pending::<Option<()>>();
        tokio::select! {
            result = interrupt => match result {
                Ok(()) => tracing::info!("interrupted; shutting down"),
                Err(err) => tracing::error!(error = %err, "cannot listen for Ctrl-C; shutting down"),
            },
            _ = terminated => tracing::info!("terminated; shutting down"),
        }
    })
}
