//! The `trent` binary: flags and environment → [`trent::Config`], start the servers, stop on SIGINT/SIGTERM.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

/// Local AWS KMS and Azure Key Vault for tests and CI, driven by the official SDKs.
#[derive(Parser, Debug)]
#[command(name = "trent", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    /// Address every listener binds to.
    #[arg(long, env = "TRENT_HOST", default_value = "127.0.0.1")]
    host: IpAddr,

    /// AWS KMS port (AWS JSON 1.1); 0 picks a free port.
    #[arg(long, env = "TRENT_KMS_PORT", default_value_t = 4730)]
    kms_port: u16,

    /// Azure Key Vault plain-HTTP port; 0 picks a free port.
    #[arg(long, env = "TRENT_KEYVAULT_PORT", default_value_t = 4594)]
    keyvault_port: u16,

    /// Azure Key Vault HTTPS port; 0 picks a free port.
    #[arg(long, env = "TRENT_KEYVAULT_TLS_PORT", default_value_t = 4595)]
    keyvault_tls_port: u16,

    /// PEM certificate (chain) for the HTTPS listener; default: a self-signed one generated at start.
    #[arg(long, env = "TRENT_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,

    /// PEM private key for --tls-cert.
    #[arg(long, env = "TRENT_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,

    /// Where to write the CA certificate of the generated TLS certificate (default: trent-ca.pem in the
    /// system temporary directory).
    #[arg(long, env = "TRENT_TLS_CA_OUT")]
    tls_ca_out: Option<PathBuf>,

    /// Keep all state in an embedded database in this directory (created when missing); default: memory only.
    #[arg(long, env = "TRENT_DATA_DIR")]
    data_dir: Option<PathBuf>,

    /// Do not serve AWS KMS.
    #[arg(long, env = "TRENT_NO_KMS")]
    no_kms: bool,

    /// Do not serve Azure Key Vault.
    #[arg(long, env = "TRENT_NO_KEYVAULT")]
    no_keyvault: bool,

    /// YAML or JSON file of KMS keys and Key Vault secrets to create at start (idempotent; see the README).
    #[arg(long, env = "TRENT_INIT", value_name = "FILE")]
    init: Option<PathBuf>,

    /// Another host name trent answers for, besides localhost, *.localhost, loopback addresses and
    /// host.docker.internal (repeatable; `*.example.test` allows every name under it), e.g. for --host 0.0.0.0.
    #[arg(
        long = "allow-host",
        env = "TRENT_ALLOW_HOSTS",
        value_delimiter = ',',
        value_name = "NAME"
    )]
    allow_hosts: Vec<String>,

    /// Require `Authorization: Bearer <TOKEN>` on the control API (/_parlel/*).
    #[arg(long, env = "TRENT_CONTROL_TOKEN", value_name = "TOKEN")]
    control_token: Option<String>,

    /// Seconds a client may take to send a request's headers; idle keep-alive connections close after it too.
    #[arg(long, env = "TRENT_HEADER_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    header_timeout: u64,

    /// Seconds a request body may go without sending a byte before it is refused and the connection closed.
    #[arg(long, env = "TRENT_BODY_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    body_timeout: u64,

    /// Most connections open at once, across every listener; lowered to fit under the descriptor limit (whose soft
    /// value trent raises to the hard one at start).
    #[arg(long, env = "TRENT_MAX_CONNECTIONS", default_value_t = 768, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    max_connections: u64,

    /// Log filter (tracing EnvFilter syntax): error, warn, info, debug, trace, or e.g. `trent=debug`.
    #[arg(long, env = "TRENT_LOG", default_value = "info")]
    log: String,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check a data directory without changing it: report what is wrong and, with --export, save what is still
    /// readable as state documents. Exit status 0 when nothing is wrong, 1 otherwise.
    Check {
        /// The data directory to check.
        #[arg(long, env = "TRENT_DATA_DIR")]
        data_dir: PathBuf,
        /// Write each readable service's state to DIR/<service>.json (loadable with POST /_parlel/import).
        #[arg(long, value_name = "DIR")]
        export: Option<PathBuf>,
    },
}

/// `trent check`: the report on stdout, a one-line verdict last.
fn check(data_dir: &std::path::Path, export: Option<&std::path::Path>) -> std::process::ExitCode {
    match trent::check::run(data_dir, export) {
        Ok(report) => {
            for line in &report.lines {
                println!("{line}");
            }
            if report.problems == 0 {
                println!("result: no problem found in {}", data_dir.display());
                std::process::ExitCode::SUCCESS
            } else {
                println!("result: {} problem(s) found in {}", report.problems, data_dir.display());
                std::process::ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("trent check: {e}");
            std::process::ExitCode::from(2)
        }
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Check { data_dir, export }) = &cli.command {
        return check(data_dir, export.as_deref());
    }
    let filter = EnvFilter::try_new(&cli.log).unwrap_or_else(|_| EnvFilter::new("info"));
    // Logs go to stderr (stdout stays free for what a user pipes), without colour codes unless stderr is a terminal.
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();

    let config = trent::Config {
        host: cli.host,
        kms_port: cli.kms_port,
        keyvault_port: cli.keyvault_port,
        keyvault_tls_port: cli.keyvault_tls_port,
        tls_cert: cli.tls_cert,
        tls_key: cli.tls_key,
        tls_ca_out: cli.tls_ca_out.or(trent::Config::default().tls_ca_out),
        enable_kms: !cli.no_kms,
        enable_keyvault: !cli.no_keyvault,
        init: cli.init,
        data_dir: cli.data_dir,
        allowed_hosts: cli.allow_hosts,
        control_token: cli.control_token.filter(|t| !t.is_empty()),
        header_read_timeout: std::time::Duration::from_secs(cli.header_timeout),
        body_read_timeout: std::time::Duration::from_secs(cli.body_timeout),
        max_connections: connection_budget(cli.max_connections as usize),
    };
    let started = std::time::Instant::now();
    let server = match trent::Server::start(config).await {
        Ok(server) => server,
        Err(e) => {
            tracing::error!(error = %e, "could not start");
            return std::process::ExitCode::FAILURE;
        }
    };
    tracing::info!(elapsed_ms = started.elapsed().as_secs_f64() * 1000.0, "trent ready");
    shutdown_signal().await;
    tracing::info!("shutting down");
    server.stop().await;
    std::process::ExitCode::SUCCESS
}

/// Descriptors kept for everything but client connections: listeners, the data directory, the CA file, logs.
const RESERVED_DESCRIPTORS: u64 = 64;

/// Raises the soft descriptor limit to the hard one where the system allows, and returns `requested` lowered (with a
/// warning) so that the connections fit under it: a flood of connections then meets the cap, not EMFILE.
fn connection_budget(requested: usize) -> usize {
    let limit = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read or raise the descriptor limit; assuming 1024");
            1024
        }
    };
    let most = usize::try_from(limit.saturating_sub(RESERVED_DESCRIPTORS).max(1)).unwrap_or(usize::MAX);
    if requested > most {
        tracing::warn!(
            requested,
            descriptor_limit = limit,
            max_connections = most,
            "--max-connections lowered to fit under the descriptor limit"
        );
        return most;
    }
    requested
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
