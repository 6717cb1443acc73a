//! The Twinscape server: today its HTTP infrastructure, on which the ADT data plane, the 2018 management API and the MQTT listener are being built.
//!
//! Start with `Config` (merged from `config::ConfigFile` layers by the binary), then `Server::bind` and `BoundServer::run`.
//! Requests pass `router::app`'s layers (request id and span, metrics by route template, ADT-format rejections, body limit) before a route in `routes`.
//! Handlers answer errors with `ApiError` (`error`), read bodies with `extract::Json`, get the API version from `ApiVersion` and page with `paging`.
//! This crate installs no tracing subscriber, reads no environment variable and prints nothing; the `twinscape` binary does those.
//!
//! Layout:
//! - `config`: `ConfigFile` layers and the validated `Config` with its `Limits`.
//! - `listener`: binding, TLS handshake (`tls`), the accept loop, graceful shutdown.
//! - `router`: `AppState`, `router`, `app`; `routes`: the route modules and the data-plane plug-in point.
//! - `error`, `extract`, `rejection`: the ADT error format, for handlers and for framework rejections.
//! - `api_version`, `paging`: data-plane conventions.
//! - `data`: the store and the tenants' graphs, and the write path that keeps them in step; `import`: bulk import in durable chunks.
//! - `cursors`: the rest of `POST /query` results, kept for their later pages.
//! - `mqtt`: the MQTT listener devices send telemetry to; `telemetry`: the pipeline's first stage (authentication, sensor values, DeviceMessage events) and its HTTP routes.
//! - `trace`, `http_metrics`: request ids and spans; the Prometheus registry and its HTTP layer.

pub mod api_version;
pub mod config;
mod cursors;
pub mod data;
pub mod demo;
pub mod error;
pub mod extract;
mod functions;
pub mod history;
mod http_metrics;
pub mod import;
pub mod jobs;
mod listener;
mod management;
mod mqtt;
pub mod paging;
mod rejection;
mod router;
mod routes;
mod telemetry;
mod tls;
mod topology;
mod trace;

pub use api_version::ApiVersion;
pub use config::{Config, Limits, QueryConfig, TlsConfig};
pub use error::{ApiError, ErrorCode};
pub use listener::{BoundServer, Server, StartError};
pub use router::{AppState, app, router};
pub use store::StoreError;
pub use trace::REQUEST_ID_HEADER;
