//! `twinscape import` and `twinscape export`: bulk data (ADT bulk-import NDJSON or explorer JSON) into and out of a running server (through its import-job and export routes) or a stopped server's data directory (directly through the store).
//!
//! Both paths apply the same server-side import: validated, chunked, durable, idempotent on re-run, every bad line reported with its number.
//! `--format provision` (or a `.yaml`/`.yml` file) hands a 2018 provisioning YAML file to `provision`, which needs a running server.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use serde_json::Value;
use server::data::DataPlane;
use server::import::{self as bulk, Format};

use crate::Output;

const API_VERSION: &str = "api-version=2023-10-31";
const DEFAULT_SERVER: &str = "http://127.0.0.1:8080";

#[derive(Args)]
pub(crate) struct ImportArgs {
    /// The file to import: ADT bulk-import NDJSON, explorer JSON, or a 2018 provisioning YAML topology.
    file: PathBuf,
    /// A running server to import into [default: http://127.0.0.1:8080].
    #[arg(long, value_name = "URL", conflicts_with = "data_dir")]
    server: Option<String>,
    /// A stopped server's data directory to import into directly.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// The file's format; when not given, a `.yaml` or `.yml` file is a provisioning topology and other files are detected from their content.
    #[arg(long, value_enum)]
    format: Option<FormatArg>,
    /// Trust this PEM certificate when the server is reached over HTTPS.
    #[arg(long, value_name = "PEM")]
    ca_cert: Option<PathBuf>,
    /// Print a JSON report instead of a table (with --format provision).
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub(crate) struct ExportArgs {
    /// A running server to export from [default: http://127.0.0.1:8080].
    #[arg(long, value_name = "URL", conflicts_with = "data_dir")]
    server: Option<String>,
    /// A stopped server's data directory to export from directly.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Write to this file instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Trust this PEM certificate when the server is reached over HTTPS.
    #[arg(long, value_name = "PEM")]
    ca_cert: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    Ndjson,
    Explorer,
    /// A topology in the provisioning YAML of the 2018 samples, created through the 2018 management API.
    Provision,
}

pub(crate) fn import(args: ImportArgs) -> Result<Output> {
    let yaml = args.file.extension().is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
    if matches!(args.format, Some(FormatArg::Provision)) || (args.format.is_none() && yaml) {
        if args.data_dir.is_some() {
            bail!(
                "--format provision creates objects through a running server's 2018 API; give --server instead of --data-dir"
            );
        }
        let server = args.server.as_deref().unwrap_or(DEFAULT_SERVER);
        return crate::provision::run(&args.file, server, args.ca_cert.as_deref(), args.json);
    }
    if args.json {
        bail!("--json reports a provisioning run; give it with --format provision");
    }
    let text = std::fs::read_to_string(&args.file).with_context(|| format!("read {}", args.file.display()))?;
    let text = text.strip_prefix('\u{feff}').map(str::to_owned).unwrap_or(text);
    let format = match args.format {
        Some(FormatArg::Ndjson) => Format::Ndjson,
        Some(FormatArg::Explorer) => Format::Explorer,
        // A provisioning file went to `provision` above.
        Some(FormatArg::Provision) | None => bulk::detect(&text),
    };
    let summary = match &args.data_dir {
        Some(dir) => import_offline(dir, &text, format)?,
        None => import_online(
            args.server.as_deref().unwrap_or(DEFAULT_SERVER),
            &args.file,
            text,
            format,
            args.ca_cert.as_deref(),
        )?,
    };
    Ok(summary)
}

pub(crate) fn export(args: ExportArgs) -> Result<Output> {
    let text = match &args.data_dir {
        Some(dir) => {
            let data = open_data_dir(dir)?;
            data.tenant().read(|graph| graph.export_ndjson())
        }
        None => {
            let base = args.server.as_deref().unwrap_or(DEFAULT_SERVER).trim_end_matches('/').to_owned();
            let client = client(args.ca_cert.as_deref())?;
            runtime()?.block_on(async move {
                let response =
                    client.get(format!("{base}/export?{API_VERSION}")).send().await.context("reach the server")?;
                let status = response.status();
                let body = response.text().await.context("read the export")?;
                if !status.is_success() {
                    bail!("the server answered {status}: {body}");
                }
                Ok(body)
            })?
        }
    };
    match &args.output {
        Some(path) => {
            std::fs::write(path, &text).with_context(|| format!("write {}", path.display()))?;
            Ok(Output {
                stdout: String::new(),
                stderr: format!("exported {} lines to {}\n", text.lines().count(), path.display()),
                success: true,
            })
        }
        None => Ok(Output { stdout: text, stderr: String::new(), success: true }),
    }
}

fn open_data_dir(dir: &Path) -> Result<DataPlane> {
    let config = server::Config::default();
    DataPlane::open_dir(dir, config.limits.graph(), config.containment)
        .with_context(|| format!("open the data directory {} (is a server running on it?)", dir.display()))
}

fn import_offline(dir: &Path, text: &str, format: Format) -> Result<Output> {
    let data = open_data_dir(dir)?;
    let tenant = data.tenant();
    let parsed = bulk::parse(text, format);
    let bar = progress_bar();
    let progress = data
        .import(&tenant, parsed, |p| {
            if let Some(bar) = &bar {
                bar.set_length(p.records_total as u64);
                bar.set_position(p.records_done as u64);
            }
            true
        })
        .context("import into the data directory")?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let counts = Counts {
        models_created: progress.models_created,
        models_unchanged: progress.models_unchanged,
        twins: progress.twins_written,
        relationships: progress.relationships_written,
        errors: progress.errors.iter().map(|e| (e.line, e.message.clone())).collect(),
    };
    Ok(counts.summary())
}

fn import_online(base: &str, file: &Path, text: String, format: Format, ca_cert: Option<&Path>) -> Result<Output> {
    let base = base.trim_end_matches('/').to_owned();
    let job_id = format!(
        "cli-{}-{}",
        file.file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("import")
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .take(40)
            .collect::<String>(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0)
    );
    let content_type = match format {
        Format::Ndjson => "application/x-ndjson",
        Format::Explorer => "application/json",
    };
    let bar = progress_bar();
    let client = client(ca_cert)?;
    runtime()?.block_on(async move {
        let url = format!("{base}/jobs/imports/{job_id}?{API_VERSION}");
        let response = client
            .put(&url)
            .header("content-type", content_type)
            .body(text)
            .send()
            .await
            .context("reach the server")?;
        let status = response.status();
        if !status.is_success() {
            bail!("the server refused the import job ({status}): {}", response.text().await.unwrap_or_default());
        }
        // Poll the job until it ends; bounded by the job itself, which always ends.
        let job = loop {
            let job: Value =
                client.get(&url).send().await.context("reach the server")?.json().await.context("read the job")?;
            match job["status"].as_str() {
                Some("succeeded" | "failed" | "cancelled") => break job,
                Some(_) => {
                    if let Some(bar) = &bar {
                        let c = &job["counts"];
                        bar.set_length(c["recordsTotal"].as_u64().unwrap_or(0));
                        bar.set_position(c["recordsDone"].as_u64().unwrap_or(0));
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                None => bail!("the server returned a job without a status: {job}"),
            }
        };
        if let Some(bar) = &bar {
            bar.finish_and_clear();
        }
        if let Some(error) = job.get("error").filter(|e| !e.is_null())
            && job["errors"].as_array().is_none_or(Vec::is_empty)
        {
            bail!("the import job {} ended {}: {}", job["id"], job["status"], error);
        }
        let c = &job["counts"];
        let number = |k: &str| c[k].as_u64().unwrap_or(0) as usize;
        let counts = Counts {
            models_created: number("modelsCreated"),
            models_unchanged: number("modelsUnchanged"),
            twins: number("twinsWritten"),
            relationships: number("relationshipsWritten"),
            errors: job["errors"]
                .as_array()
                .map(|errs| {
                    errs.iter()
                        .map(|e| {
                            (
                                e["line"].as_u64().unwrap_or(0) as usize,
                                e["message"].as_str().unwrap_or_default().to_owned(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default(),
        };
        Ok(counts.summary())
    })
}

/// A progress bar on standard error when it is a terminal; nothing otherwise (scripts and tests see only the summary).
fn progress_bar() -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(0);
    let style =
        indicatif::ProgressStyle::with_template("importing {bar:40} {pos}/{len} records ({per_sec}, {eta} left)")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    Some(bar)
}

struct Counts {
    models_created: usize,
    models_unchanged: usize,
    twins: usize,
    relationships: usize,
    errors: Vec<(usize, String)>,
}

impl Counts {
    fn summary(&self) -> Output {
        let mut stderr = String::new();
        for (line, message) in &self.errors {
            stderr.push_str(&format!("line {line}: {message}\n"));
        }
        let stdout = format!(
            "{} models created ({} unchanged), {} twins and {} relationships written, {} errors\n",
            self.models_created,
            self.models_unchanged,
            self.twins,
            self.relationships,
            self.errors.len()
        );
        Output { stdout, stderr, success: self.errors.is_empty() }
    }
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().context("start the async runtime")
}

/// An HTTP client; over HTTPS it trusts only the certificate given with `--ca-cert` (a server's own certificate, as `twinscape serve --tls-cert` uses).
pub(crate) fn client(ca_cert: Option<&Path>) -> Result<reqwest::Client> {
    let mut roots = rustls::RootCertStore::empty();
    if let Some(path) = ca_cert {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        for cert in CertificateDer::pem_file_iter(path).with_context(|| format!("read {}", path.display()))? {
            roots.add(cert.with_context(|| format!("parse {}", path.display()))?).context("trust the certificate")?;
        }
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .context("set up TLS")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder().tls_backend_preconfigured(tls).build().context("build the HTTP client")
}
