//! The `twinscape` command line: parses arguments, runs one command, prints what the command returns and turns its verdict into an exit code.
//!
//! Only this file writes to the terminal; command modules return text, so they stay testable and the printing rule of STYLE.md holds.
//! The exception is `serve`, which runs until stopped: it writes its one address line to the stdout handle this file gives it, and logs to stderr through `tracing`.
//! Exit codes: 0 when the command's answer is "yes" (a valid, complete model set; an interface found in one; a server that stopped on a signal), 1 when it is "no", 2 for usage and I/O errors.
//! The CLI has `serve`, `models`, `import`, `export` and `bench`; each lives in its own module.

mod bench;
mod bulk;
mod input;
mod interface;
mod provision;
mod report;
mod schema;
mod serve;
mod table;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};
use model::{Dtmi, Options, UndefinedExtensions};

/// Twinscape, the spatial digital twin platform.
#[derive(Parser)]
#[command(name = "twinscape", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check and inspect DTDL models.
    #[command(subcommand)]
    Models(ModelsCommand),
    /// Run the server: the HTTP API, metrics at /metrics and health at /healthz, until SIGINT or SIGTERM.
    Serve(serve::ServeArgs),
    /// Import ADT bulk-import NDJSON or explorer JSON into a running server or a stopped server's data directory, or create a 2018 provisioning YAML topology on a running server; idempotent, every bad line reported.
    Import(bulk::ImportArgs),
    /// Export the graph as bulk-import NDJSON (it imports back to an identical graph).
    Export(bulk::ExportArgs),
    /// Load-test a running server over HTTP with a synthetic portfolio (loopback only unless --allow-remote); prints throughput and p50/p99/max latency per phase.
    Bench(bench::BenchArgs),
}

#[derive(Subcommand)]
enum ModelsCommand {
    /// Validate files and folders as one model set; exits 0 only when the set is valid and complete.
    Validate(ValidateArgs),
    /// Print an interface as resolved: its lineage and every content, own and inherited, with where it comes from.
    Show(ShowArgs),
}

#[derive(Args)]
struct ValidateArgs {
    /// DTDL files, or folders searched recursively for `*.json` files; all of them form one model set.
    #[arg(value_name = "PATH", required = true)]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    extensions: ExtensionArgs,
    /// Print a JSON report instead of tables.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct ShowArgs {
    /// The interface to show.
    #[arg(value_parser = parse_dtmi)]
    dtmi: Dtmi,
    /// DTDL files, or folders searched recursively for `*.json` files; all of them form one model set.
    #[arg(value_name = "PATH", required = true)]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    extensions: ExtensionArgs,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// Without either flag, the reference parser's default applies: DTDL v2 tolerates undefined extensions, v3 does not.
#[derive(Args)]
struct ExtensionArgs {
    /// Accept contexts and terms of extensions this engine does not define, in every DTDL version.
    #[arg(long, conflicts_with = "disallow_undefined_extensions")]
    allow_undefined_extensions: bool,
    /// Reject contexts and terms of extensions this engine does not define, in every DTDL version.
    #[arg(long)]
    disallow_undefined_extensions: bool,
}

impl ExtensionArgs {
    fn options(&self) -> Options {
        let undefined_extensions = match (self.allow_undefined_extensions, self.disallow_undefined_extensions) {
            (true, _) => UndefinedExtensions::Allow,
            (_, true) => UndefinedExtensions::Disallow,
            (false, false) => UndefinedExtensions::VersionDefault,
        };
        Options { undefined_extensions }
    }
}

/// What a command produced: text for each stream and whether its answer was "yes".
pub(crate) struct Output {
    pub(crate) stdout: String,
    pub(crate) stderr: String,
    pub(crate) success: bool,
}

/// mimalloc rather than the system allocator: the server allocates many small, short-lived buffers per request on several threads, where glibc's arenas spent a quarter of the write path's time (measured with perf under `twinscape bench`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(output) => {
            // A closed pipe (`twinscape … | head`) is not worth a panic; the exit code still tells the verdict.
            let _ = std::io::stdout().lock().write_all(output.stdout.as_bytes());
            let _ = std::io::stderr().lock().write_all(output.stderr.as_bytes());
            if output.success { ExitCode::SUCCESS } else { ExitCode::from(1) }
        }
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<Output> {
    match cli.command {
        Command::Models(ModelsCommand::Validate(args)) => {
            let documents = input::read(&args.paths)?;
            let outcome = model::parse(&documents, &args.extensions.options());
            Ok(report::validation(&documents, &outcome, args.json))
        }
        Command::Models(ModelsCommand::Show(args)) => {
            let documents = input::read(&args.paths)?;
            let outcome = model::parse(&documents, &args.extensions.options());
            Ok(interface::show(&documents, &outcome, &args.dtmi, args.json))
        }
        Command::Import(args) => bulk::import(args),
        Command::Export(args) => bulk::export(args),
        Command::Serve(args) => {
            serve::run(args, &mut std::io::stdout())?;
            Ok(Output { stdout: String::new(), stderr: String::new(), success: true })
        }
        Command::Bench(args) => bench::run(args, &mut std::io::stderr()),
    }
}

fn parse_dtmi(text: &str) -> Result<Dtmi, String> {
    Dtmi::parse(text).ok_or_else(|| format!("`{text}` is not a DTMI (expected something like dtmi:example:Room;1)"))
}
