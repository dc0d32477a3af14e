//! trent: AWS KMS and Azure Key Vault, emulated locally for tests and CI.
//!
//! [`Server`] runs the whole emulator in-process — what the `trent` binary runs, and what Rust tests start on
//! ephemeral ports:
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let server = trent::Server::start(trent::Config::ephemeral()).await?;
//! println!("KMS at {}", server.kms_endpoint());
//! server.stop().await;
//! # Ok(()) }
//! ```

pub mod aws;
pub mod check;
pub mod clock;
pub mod config;
pub mod crypto;
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
pub mod init;
pub mod keyvault;

/// The file name of the Key Vault issuing CA's certificate, written beside `--tls-ca-out`.
pub const ISSUING_CA_FILE: &str = "trent-keyvault-ca.pem";
pub mod kms;
pub mod limits;
pub mod storage;

use std::net::SocketAddr;

use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;
use tokio::task::JoinHandle;

pub use clock::Clock;
pub use config::Config;

/// A running emulator: its listeners, their addresses, and the handle that stops them.
pub struct Server {
    kms_addr: Option<SocketAddr>,
    keyvault_addr: Option<SocketAddr>,
    keyvault_tls_addr: Option<SocketAddr>,
    ca_pem: Option<String>,
    ca_path: Option<std::path::PathBuf>,
    clock: Clock,
    kms: Option<std::sync::Arc<kms::Kms>>,
    keyvault: Option<std::sync::Arc<keyvault::KeyVault>>,
    trigger: http::ShutdownTrigger,
    tasks: Vec<JoinHandle<std::io::Result<()>>>,
}

impl Server {
    /// Binds every enabled listener and starts serving. Returns once all ports are bound.
    pub async fn start(config: Config) -> std::io::Result<Server> {
        // An init file is read and checked before anything is bound: a bad one fails the start, changing nothing.
        let init = config.init.as_deref().map(init::InitFile::load).transpose()?;
        let clock = Clock::new();
        let (trigger, shutdown) = http::shutdown_pair();
        let mut server = Server {
            kms_addr: None,
            keyvault_addr: None,
            keyvault_tls_addr: None,
            ca_pem: None,
            ca_path: None,
            clock: clock.clone(),
            kms: None,
            keyvault: None,
            trigger,
            tasks: Vec::new(),
        };

        // The services exist before any listener accepts, so their state is complete when the first request comes.
        // With a data directory their state is loaded from it (storage::Database), else it starts empty in memory.
        let (kms_service, keyvault_service) = match &config.data_dir {
            Some(dir) => {
                let started = std::time::Instant::now();
                let backend = storage::open(Some(dir)).map_err(std::io::Error::other)?;
                let kms = match config.enable_kms {
                    true => Some(kms::Kms::with_storage(clock.clone(), backend.clone())),
                    false => None,
                };
                let kms = kms.transpose().map_err(std::io::Error::other)?;
                let kv = match config.enable_keyvault {
                    true => Some(keyvault::KeyVault::with_storage(clock.clone(), backend)),
                    false => None,
                };
                let kv = kv.transpose().map_err(std::io::Error::other)?;
                tracing::info!(
                    dir = %dir.display(),
                    kms_records = kms.as_ref().map_or(0, |k| k.1),
                    keyvault_records = kv.as_ref().map_or(0, |k| k.1),
                    elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
                    "state loaded from the data directory"
                );
                (kms.map(|k| k.0), kv.map(|k| k.0))
            }
            None => (
                config.enable_kms.then(|| kms::Kms::new(clock.clone())),
                config.enable_keyvault.then(|| keyvault::KeyVault::new(clock.clone())),
            ),
        };
        if let Some(init) = init {
            let applied = init.apply(kms_service.as_deref(), keyvault_service.as_deref()).await?;
            tracing::info!(?applied, "init file applied");
            persist(kms_service.as_deref(), keyvault_service.as_deref()).await?;
        }
        server.kms = kms_service.clone();
        server.keyvault = keyvault_service.clone();

        let limits = http::Limits::new(
            config.header_read_timeout,
            config.body_read_timeout,
            config.max_connections,
        );
        let guard = std::sync::Arc::new(http::guard::Guard {
            allowed_hosts: config
                .allowed_hosts
                .iter()
                .map(|h| h.trim().to_ascii_lowercase())
                .collect(),
            bind_address: Some(config.host),
            control_token: config.control_token.clone(),
        });
        let guarded = |router: Router, envelope: http::guard::Envelope| {
            router.layer(axum::middleware::from_fn_with_state(
                (guard.clone(), envelope),
                http::guard::guard,
            ))
        };

        if let Some(kms) = kms_service {
            let router = Router::new()
                .route("/", post(aws::handle::<kms::Kms>))
                .with_state(kms.clone())
                .merge(http::control::routes(kms))
                .fallback(aws::fallback)
                .method_not_allowed_fallback(aws::method_not_allowed)
                .layer(axum::extract::DefaultBodyLimit::max(1 << 20));
            let router = guarded(router, http::guard::Envelope::Aws);
            let router = http::with_common_layers(router, || {
                aws::AwsError::internal("trent hit an internal error handling this request").into_response()
            });
            let (listener, addr) = http::bind(SocketAddr::new(config.host, config.kms_port)).await?;
            tracing::info!(%addr, "AWS KMS listening");
            server.kms_addr = Some(addr);
            server.tasks.push(tokio::spawn(http::serve(
                listener,
                router,
                shutdown.clone(),
                None,
                limits.clone(),
            )));
        }

        if let Some(vault) = keyvault_service {
            let router = guarded(keyvault::app(vault), http::guard::Envelope::Azure);
            let router = http::with_common_layers(router, || {
                (
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                    axum::Json(serde_json::json!({"error": {"code": "InternalServerError", "message": "trent hit an internal error handling this request"}})),
                )
                    .into_response()
            });
            let (listener, addr) = http::bind(SocketAddr::new(config.host, config.keyvault_port)).await?;
            tracing::info!(%addr, "Azure Key Vault listening (http)");
            server.keyvault_addr = Some(addr);
            server.tasks.push(tokio::spawn(http::serve(
                listener,
                router.clone(),
                shutdown.clone(),
                None,
                limits.clone(),
            )));

            // HTTPS: the SDKs other than JS refuse bearer tokens over plain HTTP.
            let tls = http::tls::setup(
                config.tls_cert.as_deref(),
                config.tls_key.as_deref(),
                &config.allowed_hosts,
            )?;
            if let Some(path) = &config.tls_ca_out {
                // The certificates plane's issuing CA (a separate root: the HTTPS CA is name-constrained) beside it.
                let file = path.with_file_name(ISSUING_CA_FILE);
                if let Some(kv) = &server.keyvault {
                    kv.set_issuing_ca_file(file);
                }
            }
            if let (Some(pem), Some(path)) = (&tls.ca_pem, config.tls_ca_out.clone()) {
                http::tls::write_pem(&path, pem)?;
                tracing::info!(path = %path.display(), "CA certificate of the Key Vault HTTPS listener written");
                server.ca_path = Some(path);
            }
            server.ca_pem = tls.ca_pem;
            let (listener, addr) = http::bind(SocketAddr::new(config.host, config.keyvault_tls_port)).await?;
            tracing::info!(%addr, "Azure Key Vault listening (https)");
            server.keyvault_tls_addr = Some(addr);
            server.tasks.push(tokio::spawn(http::serve(
                listener,
                router,
                shutdown.clone(),
                Some(tls.acceptor),
                limits.clone(),
            )));
        }
        Ok(server)
    }

    /// `http://host:port` of the AWS KMS listener.
    pub fn kms_endpoint(&self) -> String {
        self.kms_addr.map(|a| format!("http://{a}")).unwrap_or_default()
    }

    /// Address of the AWS KMS listener.
    pub fn kms_addr(&self) -> Option<SocketAddr> {
        self.kms_addr
    }

    /// `http://host:port` of the Azure Key Vault plain-HTTP listener (the default vault).
    pub fn keyvault_endpoint(&self) -> String {
        self.keyvault_addr.map(|a| format!("http://{a}")).unwrap_or_default()
    }

    /// Address of the Azure Key Vault plain-HTTP listener.
    pub fn keyvault_addr(&self) -> Option<SocketAddr> {
        self.keyvault_addr
    }

    /// `https://localhost:port` of the Azure Key Vault HTTPS listener (the default vault; `https://{vault}.localhost:port`
    /// selects another).
    pub fn keyvault_tls_endpoint(&self) -> String {
        self.keyvault_tls_addr
            .map(|a| format!("https://localhost:{}", a.port()))
            .unwrap_or_default()
    }

    /// Address of the Azure Key Vault HTTPS listener.
    pub fn keyvault_tls_addr(&self) -> Option<SocketAddr> {
        self.keyvault_tls_addr
    }

    /// PEM of the CA that signed the generated HTTPS certificate (None with `--tls-cert`).
    pub fn ca_certificate_pem(&self) -> Option<String> {
        self.ca_pem.clone()
    }

    /// Where the CA certificate was written (None with `--tls-cert`).
    pub fn ca_certificate_path(&self) -> Option<&std::path::Path> {
        self.ca_path.as_deref()
    }

    /// The clock every service of this server reads.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Applies an init file (see [`init`]) to this running server, as `--init` does at start: what the state
    /// already has is left alone, a conflict is an error that changes nothing.
    pub async fn apply_init(&self, path: &std::path::Path) -> std::io::Result<init::Applied> {
        let file = init::InitFile::load(path)?;
        let applied = file.apply(self.kms.as_deref(), self.keyvault.as_deref()).await?;
        persist(self.kms.as_deref(), self.keyvault.as_deref()).await?;
        Ok(applied)
    }

    /// Stops accepting, lets in-flight requests finish, and waits for every listener to close.
    pub async fn stop(self) {
        self.trigger.trigger();
        for task in self.tasks {
            match task.await {
                Ok(Err(e)) => tracing::warn!(error = %e, "listener ended with an error"),
                Err(e) => tracing::warn!(error = %e, "listener task failed"),
                Ok(Ok(())) => {}
            }
        }
    }
}

/// Makes changes made outside a request (the init file) durable, as every request's are.
async fn persist(kms: Option<&kms::Kms>, kv: Option<&keyvault::KeyVault>) -> std::io::Result<()> {
    if let Some(kms) = kms {
        kms.persist().await.map_err(std::io::Error::other)?;
    }
    if let Some(kv) = kv {
        kv.persist().await.map_err(std::io::Error::other)?;
    }
    Ok(())
}
