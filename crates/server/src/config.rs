//! Server configuration in the two stages of STYLE.md §5: `ConfigFile`, the serde form where every field is optional, and `Config`, the validated, typed form the server runs with.
//!
//! Layers are merged lowest to highest with `ConfigFile::overlay`: the embedded `config/default.toml`, a config file, `TWINSCAPE__SECTION__KEY` environment variables (`ConfigFile::from_env`), command-line flags.
//! This module never reads a file or the environment itself: the binary reads them and hands over text and variables, so every layer is testable with plain values.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::num::{NonZeroU32, NonZeroUsize};
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// The validated configuration of one server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The socket address the HTTP face binds; port 0 asks the OS for a free port (see `BoundServer::local_addr`).
    pub listen: SocketAddr,
    /// The data directory of the embedded store, made absolute against the working directory at load time.
    pub data_dir: PathBuf,
    /// HTTPS when present, plain HTTP when absent.
    pub tls: Option<TlsConfig>,
    /// How long open connections may finish their requests after the shutdown signal before they are dropped.
    pub shutdown_grace: Duration,
    /// How long a client may take to complete the TLS handshake before its connection is closed.
    pub tls_handshake_timeout: Duration,
    /// Load the demo building (idempotently) and simulate its sensors, so a newcomer sees the server alive.
    pub demo: bool,
    pub limits: Limits,
    /// `POST /query`: the engine's budgets and the store of continuation cursors.
    pub query: QueryConfig,
    /// Every tenant graph's containment declaration: the relationships that place a twin inside another, which the containment tree and `IN_SPACE` follow (`[query] containment_parent_to_child` and `containment_child_to_parent`).
    pub containment: graph::Containment,
    /// The MQTT listener devices send telemetry to.
    pub mqtt: MqttConfig,
    /// How long history is kept, and how often it is pruned.
    pub history: HistoryConfig,
}

/// History's retention (`[history]`): a background sweep prunes every series to it, a bounded batch at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HistoryConfig {
    /// Points older than this are deleted; `None` (`retention_days = 0`) keeps points of any age.
    pub retention: Option<Duration>,
    /// Points a series keeps, its newest; `None` (`points_max = 0`) keeps any number. At most history's `points_scanned_max` (1,000,000), since a prune reads the points it keeps.
    pub points_max: Option<u64>,
    /// How often the sweep starts a pass over every series.
    pub sweep_interval: Duration,
    /// Series one round of the sweep prunes before it yields (each prune deletes at most 10,000 points).
    pub sweep_series_max: NonZeroUsize,
}

impl HistoryConfig {
    /// The sweep's settings, as `server::history::sweep` takes them.
    pub fn sweep(&self) -> crate::history::Sweep {
        let age_max_us = self.retention.map(|r| u64::try_from(r.as_micros()).unwrap_or(u64::MAX));
        crate::history::Sweep {
            retention: history::Retention { age_max_us, points_max: self.points_max },
            series_per_round_max: self.sweep_series_max.get(),
        }
    }
}

/// The MQTT listener (`[mqtt]`): plain TCP on one address, TLS on another, either or both; the sessions, their limits and the connection slots are shared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MqttConfig {
    /// The socket address of plain MQTT; `None` (`listen = ""`) serves none. Port 0 asks the OS for a free port (see `BoundServer::mqtt_local_addr`).
    pub listen: Option<SocketAddr>,
    /// MQTT over TLS, as the Azure IoT device SDKs connect (conventionally port 8883); `None` (`tls_listen = ""`, the default) serves none.
    pub tls: Option<MqttTlsConfig>,
    /// QoS 1 messages one connection may have waiting for their acknowledgement; when that many wait, nothing more is read from the connection until the store has them, so a slow store slows the sender.
    pub inflight_max: NonZeroUsize,
    /// How long a client may take, once connected, to send CONNECT.
    pub connect_timeout: Duration,
}

/// MQTT over TLS (`[mqtt] tls_listen`, `cert_path`, `key_path`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MqttTlsConfig {
    /// The socket address it binds; port 0 asks the OS for a free port (see `BoundServer::mqtt_tls_local_addr`).
    pub listen: SocketAddr,
    /// `[mqtt] cert_path` and `key_path` when given, else the HTTP face's `[tls]` ones; the handshake has `[server] tls_handshake_timeout_ms`, as on the HTTP face.
    pub certificate: TlsConfig,
}

/// PEM files for HTTPS, and for MQTT over TLS unless `[mqtt]` names its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsConfig {
    /// The certificate chain, leaf first.
    pub cert_path: PathBuf,
    /// The private key of the leaf certificate (PKCS#8, PKCS#1 or SEC1).
    pub key_path: PathBuf,
}

/// The HTTP face's limits (STYLE.md §4); inputs over a limit are rejected where they arrive, with `LimitExceeded`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Request body bytes for every route except model uploads; default 32 KiB, as ADT caps a twin at 32 KB.
    pub body_bytes_max: NonZeroUsize,
    /// Request body bytes of a model upload (`POST /models`); default 4 MiB (ADT allows 1 MiB per model, 250 models per call).
    pub models_body_bytes_max: NonZeroUsize,
    /// Request body bytes of an import job whose body is the bulk data itself (`PUT /jobs/imports/{id}` with NDJSON); default 1 GiB.
    pub import_body_bytes_max: NonZeroUsize,
    /// A string property value, in bytes (ADT: 4 KiB).
    pub string_bytes_max: NonZeroUsize,
    /// A twin document, in bytes of JSON (ADT: 32 KiB).
    pub twin_bytes_max: NonZeroUsize,
    /// A twin or relationship id, in bytes.
    pub id_bytes_max: NonZeroUsize,
    /// Outgoing, and separately incoming, relationships of one twin (ADT: 50,000).
    pub relationships_per_twin_max: NonZeroUsize,
    /// Models in one upload (ADT: 250).
    pub models_per_upload_max: NonZeroUsize,
    /// Models of a tenant (ADT: 10,000).
    pub models_max: NonZeroUsize,
    /// Twins of a tenant.
    pub twins_max: NonZeroUsize,
    /// Items on one page of a list; a smaller `max-items-per-page` is honoured, a larger one is capped. Default 100, as ADT's model pages.
    pub page_items_max: NonZeroU32,
    /// Items on one page of query results; default 1000, as ADT.
    pub query_page_items_max: NonZeroU32,
    /// Objects one read of the 2018 management face may return; more is an error asking to narrow the request (the 2018 service: 1,000).
    pub management_results_max: NonZeroUsize,
    /// Connections served at once; the accept loop waits for a free slot, so further clients queue in the listen backlog. The MQTT listener has as many again of its own.
    pub connections_max: NonZeroUsize,
    /// Bytes of one telemetry message's body, over MQTT and HTTP; default 256 KiB, as the 2018 service.
    pub telemetry_payload_bytes_max: NonZeroUsize,
    /// Telemetry messages the HTTP routes (`telemetry`, `telemetry/batch`, telemetry to a sensor twin) hold at once, stored or waiting for their functions; a request past it is answered 429 with `Retry-After` and changes nothing. A batch counts its lines (one larger than this counts as this many). Default 10,000.
    pub telemetry_http_inflight_max: NonZeroUsize,
    /// Events a subscriber of the live event stream (`GET /events/stream`) may fall behind the durable event log; one further behind is disconnected and can resume with `Last-Event-ID`.
    pub event_stream_lag_max: NonZeroUsize,
}

/// The query face (`POST /query`): what one query may use, and how long and how much of its result is kept for its next pages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryConfig {
    /// JOIN clauses in one query (ADT: 5); 0 forbids JOIN.
    pub joins_max: usize,
    /// Hops one MATCH relationship pattern may span (ADT: 10).
    pub hops_max: NonZeroU32,
    /// Rows any stage of a query's execution holds, the answer included.
    pub rows_max: NonZeroUsize,
    /// How long one query may run before it fails with `TimeoutError` (ADT: 60 s).
    pub time_max: Duration,
    /// Bytes of result rows kept, over all queries, for pages after the first; a result whose rest is larger is refused.
    pub cursor_bytes_max: NonZeroUsize,
    /// How long the rest of a result is kept after its last page was served; a later continuation token has expired.
    pub cursor_idle: Duration,
    /// How long a query may run on the thread that received its request; one that needs longer stops and runs again on a blocking thread, within `time_max`. Zero runs every query on a blocking thread.
    pub inline_time_max: Duration,
    /// Longest query text, in characters (ADT: 8,000).
    pub text_chars_max: NonZeroUsize,
    /// Most AND and OR operators in one query (ADT: 50).
    pub and_or_max: NonZeroUsize,
    /// Most items in one IN or NIN list (ADT: 50 in its limits table, 100 in its operator reference).
    pub in_items_max: NonZeroUsize,
}

/// Why a configuration layer could not be read or the merged layers could not be validated.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A layer is not well-formed: TOML syntax, an unknown key, a value of the wrong type.
    #[error("read {origin}: {message}")]
    Parse { origin: String, message: String },
    /// The merged layers are well-formed but a value is not acceptable.
    #[error("invalid `{key}`: {message}")]
    Invalid { key: &'static str, message: String },
}

/// One configuration layer as written: every field optional, unknown keys rejected.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConfigFile {
    pub server: ServerSection,
    pub tls: TlsSection,
    pub limits: LimitsSection,
    pub query: QuerySection,
    pub mqtt: MqttSection,
    pub history: HistorySection,
}

/// `[server]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSection {
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub shutdown_grace_ms: Option<u64>,
    pub demo: Option<bool>,
    pub tls_handshake_timeout_ms: Option<u64>,
}

/// `[tls]`; both keys or neither.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsSection {
    pub cert_path: Option<PathBuf>,
    pub key_path: Option<PathBuf>,
}

/// `[limits]`, see `Limits`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsSection {
    pub body_bytes_max: Option<u64>,
    pub models_body_bytes_max: Option<u64>,
    pub import_body_bytes_max: Option<u64>,
    pub string_bytes_max: Option<u64>,
    pub twin_bytes_max: Option<u64>,
    pub id_bytes_max: Option<u64>,
    pub relationships_per_twin_max: Option<u64>,
    pub models_per_upload_max: Option<u64>,
    pub models_max: Option<u64>,
    pub twins_max: Option<u64>,
    pub page_items_max: Option<u64>,
    pub query_page_items_max: Option<u64>,
    pub management_results_max: Option<u64>,
    pub connections_max: Option<u64>,
    pub telemetry_payload_bytes_max: Option<u64>,
    pub telemetry_http_inflight_max: Option<u64>,
    pub event_stream_lag_max: Option<u64>,
}

/// `[query]`, see `QueryConfig`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QuerySection {
    pub joins_max: Option<u64>,
    pub hops_max: Option<u64>,
    pub rows_max: Option<u64>,
    pub time_max_ms: Option<u64>,
    pub containment_parent_to_child: Option<Vec<String>>,
    pub containment_child_to_parent: Option<Vec<String>>,
    pub cursor_bytes_max: Option<u64>,
    pub cursor_idle_ms: Option<u64>,
    pub inline_time_max_us: Option<u64>,
    pub text_chars_max: Option<u64>,
    pub and_or_max: Option<u64>,
    pub in_items_max: Option<u64>,
}

/// `[mqtt]`, see `MqttConfig`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MqttSection {
    /// A socket address, or `""` for no plain MQTT listener.
    pub listen: Option<String>,
    /// A socket address, or `""` for no MQTT over TLS.
    pub tls_listen: Option<String>,
    /// The certificate chain of MQTT over TLS, when it is not `[tls]`'s; both keys or neither.
    pub cert_path: Option<PathBuf>,
    pub key_path: Option<PathBuf>,
    pub inflight_max: Option<u64>,
    pub connect_timeout_ms: Option<u64>,
}

/// `[history]`, see `HistoryConfig`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HistorySection {
    pub retention_days: Option<u64>,
    pub points_max: Option<u64>,
    pub sweep_interval_ms: Option<u64>,
    pub sweep_series_max: Option<u64>,
}

/// The prefix of configuration environment variables: `TWINSCAPE__LIMITS__BODY_BYTES_MAX` sets `[limits] body_bytes_max`.
pub const ENV_PREFIX: &str = "TWINSCAPE__";

impl Config {
    /// Validates merged layers; every field of `ConfigFile` is destructured here, so a new field cannot be forgotten.
    pub fn from_file(file: ConfigFile) -> Result<Config, ConfigError> {
        let ConfigFile { server, tls, limits, query, mqtt, history } = file;
        let ServerSection { listen, data_dir, shutdown_grace_ms, demo, tls_handshake_timeout_ms } = server;
        let TlsSection { cert_path, key_path } = tls;
        let QuerySection {
            joins_max,
            hops_max,
            rows_max,
            time_max_ms,
            containment_parent_to_child,
            containment_child_to_parent,
            cursor_bytes_max,
            cursor_idle_ms,
            inline_time_max_us,
            text_chars_max,
            and_or_max,
            in_items_max,
        } = query;
        let LimitsSection {
            body_bytes_max,
            models_body_bytes_max,
            import_body_bytes_max,
            string_bytes_max,
            twin_bytes_max,
            id_bytes_max,
            relationships_per_twin_max,
            models_per_upload_max,
            models_max,
            twins_max,
            page_items_max,
            query_page_items_max,
            management_results_max,
            connections_max,
            telemetry_payload_bytes_max,
            telemetry_http_inflight_max,
            event_stream_lag_max,
        } = limits;
        let MqttSection {
            listen: mqtt_listen,
            tls_listen: mqtt_tls_listen,
            cert_path: mqtt_cert_path,
            key_path: mqtt_key_path,
            inflight_max,
            connect_timeout_ms,
        } = mqtt;
        let HistorySection { retention_days, points_max, sweep_interval_ms, sweep_series_max } = history;

        let data_dir = required("server.data_dir", data_dir)?;
        let data_dir = std::path::absolute(&data_dir)
            .map_err(|err| invalid("server.data_dir", format!("cannot resolve {}: {err}", data_dir.display())))?;
        let tls = match (cert_path, key_path) {
            (Some(cert_path), Some(key_path)) => Some(TlsConfig { cert_path, key_path }),
            (None, None) => None,
            (Some(_), None) | (None, Some(_)) => {
                return Err(invalid("tls", "cert_path and key_path must be given together".to_owned()));
            }
        };
        let mqtt_tls = mqtt_tls(mqtt_tls_listen, mqtt_cert_path, mqtt_key_path, tls.as_ref())?;
        Ok(Config {
            listen: required("server.listen", listen)?,
            data_dir,
            tls,
            shutdown_grace: Duration::from_millis(required("server.shutdown_grace_ms", shutdown_grace_ms)?),
            demo: required("server.demo", demo)?,
            tls_handshake_timeout: Duration::from_millis(positive(
                "server.tls_handshake_timeout_ms",
                tls_handshake_timeout_ms,
            )?),
            limits: Limits {
                body_bytes_max: non_zero_usize("limits.body_bytes_max", body_bytes_max)?,
                models_body_bytes_max: non_zero_usize("limits.models_body_bytes_max", models_body_bytes_max)?,
                import_body_bytes_max: non_zero_usize("limits.import_body_bytes_max", import_body_bytes_max)?,
                string_bytes_max: non_zero_usize("limits.string_bytes_max", string_bytes_max)?,
                twin_bytes_max: non_zero_usize("limits.twin_bytes_max", twin_bytes_max)?,
                id_bytes_max: non_zero_usize("limits.id_bytes_max", id_bytes_max)?,
                relationships_per_twin_max: non_zero_usize(
                    "limits.relationships_per_twin_max",
                    relationships_per_twin_max,
                )?,
                models_per_upload_max: non_zero_usize("limits.models_per_upload_max", models_per_upload_max)?,
                models_max: non_zero_usize("limits.models_max", models_max)?,
                twins_max: non_zero_usize("limits.twins_max", twins_max)?,
                page_items_max: non_zero_u32("limits.page_items_max", page_items_max)?,
                query_page_items_max: non_zero_u32("limits.query_page_items_max", query_page_items_max)?,
                management_results_max: non_zero_usize("limits.management_results_max", management_results_max)?,
                connections_max: non_zero_usize("limits.connections_max", connections_max)?,
                telemetry_payload_bytes_max: non_zero_usize(
                    "limits.telemetry_payload_bytes_max",
                    telemetry_payload_bytes_max,
                )?,
                telemetry_http_inflight_max: non_zero_usize(
                    "limits.telemetry_http_inflight_max",
                    telemetry_http_inflight_max,
                )?,
                event_stream_lag_max: non_zero_usize("limits.event_stream_lag_max", event_stream_lag_max)?,
            },
            query: QueryConfig {
                joins_max: usize_value("query.joins_max", joins_max)?,
                hops_max: non_zero_u32("query.hops_max", hops_max)?,
                rows_max: non_zero_usize("query.rows_max", rows_max)?,
                time_max: Duration::from_millis(positive("query.time_max_ms", time_max_ms)?),
                cursor_bytes_max: non_zero_usize("query.cursor_bytes_max", cursor_bytes_max)?,
                cursor_idle: Duration::from_millis(positive("query.cursor_idle_ms", cursor_idle_ms)?),
                inline_time_max: Duration::from_micros(required("query.inline_time_max_us", inline_time_max_us)?),
                text_chars_max: non_zero_usize("query.text_chars_max", text_chars_max)?,
                and_or_max: non_zero_usize("query.and_or_max", and_or_max)?,
                in_items_max: non_zero_usize("query.in_items_max", in_items_max)?,
            },
            containment: containment(containment_parent_to_child, containment_child_to_parent)?,
            mqtt: MqttConfig {
                listen: optional_address("mqtt.listen", mqtt_listen)?,
                tls: mqtt_tls,
                inflight_max: non_zero_usize("mqtt.inflight_max", inflight_max)?,
                connect_timeout: Duration::from_millis(positive("mqtt.connect_timeout_ms", connect_timeout_ms)?),
            },
            history: HistoryConfig {
                retention: match required("history.retention_days", retention_days)? {
                    0 => None,
                    days => Some(Duration::from_secs(days.checked_mul(86_400).ok_or_else(|| {
                        invalid("history.retention_days", format!("{days} days is longer than a duration can be"))
                    })?)),
                },
                points_max: match required("history.points_max", points_max)? {
                    0 => None,
                    n if n > ::history::Limits::default().points_scanned_max as u64 => {
                        return Err(invalid(
                            "history.points_max",
                            format!(
                                "{n} is more than a prune may read ({})",
                                ::history::Limits::default().points_scanned_max
                            ),
                        ));
                    }
                    n => Some(n),
                },
                sweep_interval: Duration::from_millis(positive("history.sweep_interval_ms", sweep_interval_ms)?),
                sweep_series_max: non_zero_usize("history.sweep_series_max", sweep_series_max)?,
            },
        })
    }
}

impl QueryConfig {
    /// The query engine's settings, as configured.
    /// The parser's bounds on the query text.
    pub fn syntax_limits(&self) -> query_syntax::Limits {
        query_syntax::Limits {
            query_chars_max: self.text_chars_max.get(),
            and_or_max: self.and_or_max.get(),
            in_items_max: self.in_items_max.get(),
            ..query_syntax::Limits::default()
        }
    }

    pub fn settings(&self) -> query::Settings {
        query::Settings {
            limits: query::Limits {
                joins_max: self.joins_max,
                hops_max: self.hops_max.get(),
                rows_max: self.rows_max.get(),
                time_max: self.time_max,
                // A result the cursor store could not keep is stopped while it is computed, not after.
                bytes_max: self.cursor_bytes_max.get(),
            },
        }
    }
}

impl Limits {
    /// The graph's limits, as configured.
    pub fn graph(&self) -> graph::Limits {
        graph::Limits {
            id_bytes_max: self.id_bytes_max.get(),
            string_bytes_max: self.string_bytes_max.get(),
            twin_bytes_max: self.twin_bytes_max.get(),
            outgoing_per_twin_max: self.relationships_per_twin_max.get(),
            incoming_per_twin_max: self.relationships_per_twin_max.get(),
            models_per_upload_max: self.models_per_upload_max.get(),
            models_max: self.models_max.get(),
            twins_max: self.twins_max.get(),
        }
    }
}

impl Default for Config {
    /// The embedded defaults alone.
    fn default() -> Config {
        Config::from_file(ConfigFile::embedded()).expect("the embedded config/default.toml is valid")
    }
}

impl ConfigFile {
    /// The shipped `config/default.toml`.
    pub fn embedded() -> ConfigFile {
        ConfigFile::parse(include_str!("../config/default.toml"), "embedded config/default.toml")
            .expect("the embedded config/default.toml parses")
    }

    /// Parses one TOML layer; `origin` names it in errors (a path, "embedded defaults").
    pub fn parse(text: &str, origin: &str) -> Result<ConfigFile, ConfigError> {
        toml::from_str(text).map_err(|err| ConfigError::Parse { origin: origin.to_owned(), message: err.to_string() })
    }

    /// The layer made of `TWINSCAPE__SECTION__KEY` variables among `vars` (pass `std::env::vars_os()`); other variables are ignored.
    ///
    /// A value is taken as a string when the key accepts one (addresses, paths), otherwise as a TOML value (`65536`, `true`).
    pub fn from_env(vars: impl IntoIterator<Item = (OsString, OsString)>) -> Result<ConfigFile, ConfigError> {
        let mut layer = ConfigFile::default();
        let mut vars: Vec<(String, OsString)> = vars
            .into_iter()
            .filter_map(|(name, value)| {
                let name = name.into_string().ok()?;
                name.starts_with(ENV_PREFIX).then_some((name, value))
            })
            .collect();
        vars.sort();
        for (name, value) in vars {
            let parse_error =
                |message: String| ConfigError::Parse { origin: format!("environment variable {name}"), message };
            let Some(value) = value.to_str() else {
                return Err(parse_error("the value is not UTF-8".to_owned()));
            };
            let path: Vec<String> = name[ENV_PREFIX.len()..].split("__").map(str::to_ascii_lowercase).collect();
            let [section, key] = path.as_slice() else {
                return Err(parse_error(format!("expected {ENV_PREFIX}SECTION__KEY")));
            };
            let one = |value: toml::Value| -> Result<ConfigFile, toml::de::Error> {
                let mut inner = toml::Table::new();
                inner.insert(key.clone(), value);
                let mut outer = toml::Table::new();
                outer.insert(section.clone(), toml::Value::Table(inner));
                toml::Value::Table(outer).try_into()
            };
            let single = match one(toml::Value::String(value.to_owned())) {
                Ok(single) => single,
                Err(as_string) => match toml_value(value).map(one) {
                    Some(Ok(single)) => single,
                    _ => return Err(parse_error(as_string.to_string().trim_end().to_owned())),
                },
            };
            layer = layer.overlay(single);
        }
        Ok(layer)
    }

    /// `over` on top of `self`: each field set in `over` wins.
    pub fn overlay(self, over: ConfigFile) -> ConfigFile {
        let ConfigFile { server, tls, limits, query, mqtt, history } = self;
        let ConfigFile {
            server: server_over,
            tls: tls_over,
            limits: limits_over,
            query: query_over,
            mqtt: mqtt_over,
            history: history_over,
        } = over;
        let ServerSection { listen, data_dir, shutdown_grace_ms, demo, tls_handshake_timeout_ms } = server;
        let TlsSection { cert_path, key_path } = tls;
        let QuerySection {
            joins_max,
            hops_max,
            rows_max,
            time_max_ms,
            containment_parent_to_child,
            containment_child_to_parent,
            cursor_bytes_max,
            cursor_idle_ms,
            inline_time_max_us,
            text_chars_max,
            and_or_max,
            in_items_max,
        } = query;
        let LimitsSection {
            body_bytes_max,
            models_body_bytes_max,
            import_body_bytes_max,
            string_bytes_max,
            twin_bytes_max,
            id_bytes_max,
            relationships_per_twin_max,
            models_per_upload_max,
            models_max,
            twins_max,
            page_items_max,
            query_page_items_max,
            management_results_max,
            connections_max,
            telemetry_payload_bytes_max,
            telemetry_http_inflight_max,
            event_stream_lag_max,
        } = limits;
        let MqttSection {
            listen: mqtt_listen,
            tls_listen: mqtt_tls_listen,
            cert_path: mqtt_cert_path,
            key_path: mqtt_key_path,
            inflight_max,
            connect_timeout_ms,
        } = mqtt;
        ConfigFile {
            server: ServerSection {
                listen: server_over.listen.or(listen),
                data_dir: server_over.data_dir.or(data_dir),
                shutdown_grace_ms: server_over.shutdown_grace_ms.or(shutdown_grace_ms),
                demo: server_over.demo.or(demo),
                tls_handshake_timeout_ms: server_over.tls_handshake_timeout_ms.or(tls_handshake_timeout_ms),
            },
            tls: TlsSection { cert_path: tls_over.cert_path.or(cert_path), key_path: tls_over.key_path.or(key_path) },
            limits: LimitsSection {
                body_bytes_max: limits_over.body_bytes_max.or(body_bytes_max),
                models_body_bytes_max: limits_over.models_body_bytes_max.or(models_body_bytes_max),
                import_body_bytes_max: limits_over.import_body_bytes_max.or(import_body_bytes_max),
                string_bytes_max: limits_over.string_bytes_max.or(string_bytes_max),
                twin_bytes_max: limits_over.twin_bytes_max.or(twin_bytes_max),
                id_bytes_max: limits_over.id_bytes_max.or(id_bytes_max),
                relationships_per_twin_max: limits_over.relationships_per_twin_max.or(relationships_per_twin_max),
                models_per_upload_max: limits_over.models_per_upload_max.or(models_per_upload_max),
                models_max: limits_over.models_max.or(models_max),
                twins_max: limits_over.twins_max.or(twins_max),
                page_items_max: limits_over.page_items_max.or(page_items_max),
                query_page_items_max: limits_over.query_page_items_max.or(query_page_items_max),
                management_results_max: limits_over.management_results_max.or(management_results_max),
                connections_max: limits_over.connections_max.or(connections_max),
                telemetry_payload_bytes_max: limits_over.telemetry_payload_bytes_max.or(telemetry_payload_bytes_max),
                telemetry_http_inflight_max: limits_over.telemetry_http_inflight_max.or(telemetry_http_inflight_max),
                event_stream_lag_max: limits_over.event_stream_lag_max.or(event_stream_lag_max),
            },
            query: QuerySection {
                joins_max: query_over.joins_max.or(joins_max),
                hops_max: query_over.hops_max.or(hops_max),
                rows_max: query_over.rows_max.or(rows_max),
                time_max_ms: query_over.time_max_ms.or(time_max_ms),
                containment_parent_to_child: query_over.containment_parent_to_child.or(containment_parent_to_child),
                containment_child_to_parent: query_over.containment_child_to_parent.or(containment_child_to_parent),
                cursor_bytes_max: query_over.cursor_bytes_max.or(cursor_bytes_max),
                cursor_idle_ms: query_over.cursor_idle_ms.or(cursor_idle_ms),
                inline_time_max_us: query_over.inline_time_max_us.or(inline_time_max_us),
                text_chars_max: query_over.text_chars_max.or(text_chars_max),
                and_or_max: query_over.and_or_max.or(and_or_max),
                in_items_max: query_over.in_items_max.or(in_items_max),
            },
            mqtt: MqttSection {
                listen: mqtt_over.listen.or(mqtt_listen),
                tls_listen: mqtt_over.tls_listen.or(mqtt_tls_listen),
                cert_path: mqtt_over.cert_path.or(mqtt_cert_path),
                key_path: mqtt_over.key_path.or(mqtt_key_path),
                inflight_max: mqtt_over.inflight_max.or(inflight_max),
                connect_timeout_ms: mqtt_over.connect_timeout_ms.or(connect_timeout_ms),
            },
            history: HistorySection {
                retention_days: history_over.retention_days.or(history.retention_days),
                points_max: history_over.points_max.or(history.points_max),
                sweep_interval_ms: history_over.sweep_interval_ms.or(history.sweep_interval_ms),
                sweep_series_max: history_over.sweep_series_max.or(history.sweep_series_max),
            },
        }
    }
}

/// `text` as a TOML value, if it is one.
fn toml_value(text: &str) -> Option<toml::Value> {
    let mut table: toml::Table = toml::from_str(&format!("value = {text}")).ok()?;
    if table.len() != 1 {
        return None;
    }
    table.remove("value")
}

fn invalid(key: &'static str, message: String) -> ConfigError {
    ConfigError::Invalid { key, message }
}

/// A socket address, or `""` for none.
fn optional_address(key: &'static str, value: Option<String>) -> Result<Option<SocketAddr>, ConfigError> {
    match required(key, value)?.trim() {
        "" => Ok(None),
        address => address
            .parse()
            .map(Some)
            .map_err(|err| invalid(key, format!("`{address}` is not a socket address (or \"\" for none): {err}"))),
    }
}

/// MQTT over TLS: its address, and the certificate of `[mqtt]` or else of `[tls]` (`https`); an address without a certificate is refused rather than served in plain text.
fn mqtt_tls(
    listen: Option<String>,
    cert_path: Option<PathBuf>,
    key_path: Option<PathBuf>,
    https: Option<&TlsConfig>,
) -> Result<Option<MqttTlsConfig>, ConfigError> {
    let own = match (cert_path, key_path) {
        (Some(cert_path), Some(key_path)) => Some(TlsConfig { cert_path, key_path }),
        (None, None) => None,
        (Some(_), None) | (None, Some(_)) => {
            return Err(invalid("mqtt", "cert_path and key_path must be given together".to_owned()));
        }
    };
    // A certificate without an address is left unused, so `tls_listen = ""` turns MQTT over TLS off whatever else the layers say.
    let Some(listen) = optional_address("mqtt.tls_listen", listen)? else { return Ok(None) };
    let Some(certificate) = own.or_else(|| https.cloned()) else {
        return Err(invalid(
            "mqtt.tls_listen",
            format!(
                "MQTT over TLS on {listen} needs a certificate: set [mqtt] cert_path and key_path, or [tls] cert_path and key_path (which also turn HTTPS on)"
            ),
        ));
    };
    Ok(Some(MqttTlsConfig { listen, certificate }))
}

fn required<T>(key: &'static str, value: Option<T>) -> Result<T, ConfigError> {
    value.ok_or_else(|| invalid(key, "no value in any layer".to_owned()))
}

fn positive(key: &'static str, value: Option<u64>) -> Result<u64, ConfigError> {
    match required(key, value)? {
        0 => Err(invalid(key, "must be at least 1".to_owned())),
        value => Ok(value),
    }
}

fn usize_value(key: &'static str, value: Option<u64>) -> Result<usize, ConfigError> {
    let value = required(key, value)?;
    usize::try_from(value).map_err(|_| invalid(key, format!("{value} is too large")))
}

fn non_zero_usize(key: &'static str, value: Option<u64>) -> Result<NonZeroUsize, ConfigError> {
    let value = positive(key, value)?;
    usize::try_from(value).ok().and_then(NonZeroUsize::new).ok_or_else(|| invalid(key, format!("{value} is too large")))
}

/// A list of relationship names: possibly empty, but no name empty or repeated.
fn relationship_names(key: &'static str, value: Option<Vec<String>>) -> Result<Vec<String>, ConfigError> {
    let names = required(key, value)?;
    for (i, name) in names.iter().enumerate() {
        if name.is_empty() {
            return Err(invalid(key, "a relationship name is empty".to_owned()));
        }
        if names[..i].contains(name) {
            return Err(invalid(key, format!("`{name}` is listed twice")));
        }
    }
    Ok(names)
}

/// The containment declaration of the two lists, after the built-in models' own (`ontology::CONTAINMENT`): each valid on its own, and no name in both.
fn containment(
    parent_to_child: Option<Vec<String>>,
    child_to_parent: Option<Vec<String>>,
) -> Result<graph::Containment, ConfigError> {
    const DOWN: &str = "query.containment_parent_to_child";
    const UP: &str = "query.containment_child_to_parent";
    // The built-in models' containment relationships are always part of it: the 2018 face places spaces, devices, sensors and users with them.
    let mut down: Vec<String> = ontology::CONTAINMENT.iter().map(|(name, _)| (*name).to_owned()).collect();
    for name in relationship_names(DOWN, parent_to_child)? {
        if !down.contains(&name) {
            down.push(name);
        }
    }
    let up = relationship_names(UP, child_to_parent)?;
    if let Some(name) = up.iter().find(|name| down.contains(name)) {
        return Err(invalid(UP, format!("`{name}` is also in `{DOWN}`; a relationship has one direction")));
    }
    graph::Containment::new(down, up).map_err(|err| invalid(UP, err.to_string()))
}

fn non_zero_u32(key: &'static str, value: Option<u64>) -> Result<NonZeroU32, ConfigError> {
    let value = positive(key, value)?;
    u32::try_from(value).ok().and_then(NonZeroU32::new).ok_or_else(|| invalid(key, format!("{value} is too large")))
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;

    /// Merges the embedded defaults, `file` and `env`, validates, and prints the result or the error.
    fn check(file: &str, env: &[(&str, &str)], expect: Expect) {
        let vars = env.iter().map(|(k, v)| (OsString::from(k), OsString::from(v)));
        let merged = ConfigFile::parse(file, "test.toml")
            .and_then(|layer| Ok(ConfigFile::embedded().overlay(layer).overlay(ConfigFile::from_env(vars)?)))
            .and_then(Config::from_file);
        let actual = match merged {
            Ok(mut config) => {
                // The absolute form depends on the working directory; the test only shows that it is absolute.
                assert!(config.data_dir.is_absolute());
                config.data_dir = config.data_dir.file_name().map(PathBuf::from).unwrap_or_default();
                format!("{config:#?}")
            }
            Err(err) => format!("error: {err}"),
        };
        expect.assert_eq(&actual);
    }

    #[test]
    fn embedded_defaults() {
        check(
            "",
            &[],
            expect![[r#"
                Config {
                    listen: 127.0.0.1:8080,
                    data_dir: "twinscape-data",
                    tls: None,
                    shutdown_grace: 10s,
                    tls_handshake_timeout: 10s,
                    demo: false,
                    limits: Limits {
                        body_bytes_max: 32768,
                        models_body_bytes_max: 4194304,
                        import_body_bytes_max: 1073741824,
                        string_bytes_max: 4096,
                        twin_bytes_max: 32768,
                        id_bytes_max: 512,
                        relationships_per_twin_max: 50000,
                        models_per_upload_max: 250,
                        models_max: 10000,
                        twins_max: 10000000,
                        page_items_max: 100,
                        query_page_items_max: 1000,
                        management_results_max: 100000,
                        connections_max: 1024,
                        telemetry_payload_bytes_max: 262144,
                        telemetry_http_inflight_max: 10000,
                        event_stream_lag_max: 10000,
                    },
                    query: QueryConfig {
                        joins_max: 10,
                        hops_max: 20,
                        rows_max: 1000000,
                        time_max: 30s,
                        cursor_bytes_max: 536870912,
                        cursor_idle: 60s,
                        inline_time_max: 1ms,
                        text_chars_max: 8000,
                        and_or_max: 50,
                        in_items_max: 100,
                    },
                    containment: Containment {
                        parent_to_child: [
                            "contains",
                            "hasDevice",
                            "hasSensor",
                            "hasUser",
                        ],
                        child_to_parent: [
                            "isPartOf",
                        ],
                    },
                    mqtt: MqttConfig {
                        listen: Some(
                            127.0.0.1:1883,
                        ),
                        tls: None,
                        inflight_max: 64,
                        connect_timeout: 10s,
                    },
                    history: HistoryConfig {
                        retention: Some(
                            2592000s,
                        ),
                        points_max: Some(
                            1000000,
                        ),
                        sweep_interval: 300s,
                        sweep_series_max: 1000,
                    },
                }"#]],
        );
    }

    #[test]
    fn environment_beats_file() {
        check(
            "[server]\nlisten = \"0.0.0.0:9000\"\n[limits]\nbody_bytes_max = 1000\n[tls]\ncert_path = \"c.pem\"\nkey_path = \"k.pem\"\n",
            &[
                ("TWINSCAPE__LIMITS__BODY_BYTES_MAX", "2048"),
                ("TWINSCAPE__SERVER__DATA_DIR", "1234"),
                ("TWINSCAPE__SERVER__LISTEN", "127.0.0.1:0"),
                ("UNRELATED", "x"),
            ],
            expect![[r#"
                Config {
                    listen: 127.0.0.1:0,
                    data_dir: "1234",
                    tls: Some(
                        TlsConfig {
                            cert_path: "c.pem",
                            key_path: "k.pem",
                        },
                    ),
                    shutdown_grace: 10s,
                    tls_handshake_timeout: 10s,
                    demo: false,
                    limits: Limits {
                        body_bytes_max: 2048,
                        models_body_bytes_max: 4194304,
                        import_body_bytes_max: 1073741824,
                        string_bytes_max: 4096,
                        twin_bytes_max: 32768,
                        id_bytes_max: 512,
                        relationships_per_twin_max: 50000,
                        models_per_upload_max: 250,
                        models_max: 10000,
                        twins_max: 10000000,
                        page_items_max: 100,
                        query_page_items_max: 1000,
                        management_results_max: 100000,
                        connections_max: 1024,
                        telemetry_payload_bytes_max: 262144,
                        telemetry_http_inflight_max: 10000,
                        event_stream_lag_max: 10000,
                    },
                    query: QueryConfig {
                        joins_max: 10,
                        hops_max: 20,
                        rows_max: 1000000,
                        time_max: 30s,
                        cursor_bytes_max: 536870912,
                        cursor_idle: 60s,
                        inline_time_max: 1ms,
                        text_chars_max: 8000,
                        and_or_max: 50,
                        in_items_max: 100,
                    },
                    containment: Containment {
                        parent_to_child: [
                            "contains",
                            "hasDevice",
                            "hasSensor",
                            "hasUser",
                        ],
                        child_to_parent: [
                            "isPartOf",
                        ],
                    },
                    mqtt: MqttConfig {
                        listen: Some(
                            127.0.0.1:1883,
                        ),
                        tls: None,
                        inflight_max: 64,
                        connect_timeout: 10s,
                    },
                    history: HistoryConfig {
                        retention: Some(
                            2592000s,
                        ),
                        points_max: Some(
                            1000000,
                        ),
                        sweep_interval: 300s,
                        sweep_series_max: 1000,
                    },
                }"#]],
        );
    }

    #[test]
    fn query_settings_and_containment_from_the_environment() {
        let vars = [
            ("TWINSCAPE__QUERY__JOINS_MAX", "0"),
            ("TWINSCAPE__QUERY__CONTAINMENT_PARENT_TO_CHILD", r#"["contains", "hasPart"]"#),
            ("TWINSCAPE__QUERY__CONTAINMENT_CHILD_TO_PARENT", "[]"),
            ("TWINSCAPE__QUERY__TIME_MAX_MS", "1500"),
        ]
        .map(|(k, v)| (OsString::from(k), OsString::from(v)));
        let layer = ConfigFile::from_env(vars).expect("the variables parse");
        let config = Config::from_file(ConfigFile::embedded().overlay(layer)).expect("the values are valid");
        expect![[r#"
            (
                Settings {
                    limits: Limits {
                        joins_max: 0,
                        hops_max: 20,
                        rows_max: 1000000,
                        time_max: 1.5s,
                        bytes_max: 536870912,
                    },
                },
                Containment {
                    parent_to_child: [
                        "contains",
                        "hasDevice",
                        "hasSensor",
                        "hasUser",
                        "hasPart",
                    ],
                    child_to_parent: [],
                },
            )
        "#]]
        .assert_debug_eq(&(config.query.settings(), config.containment));
    }

    #[test]
    fn mistakes_are_reported() {
        check(
            "[server]\nlisen = \"x\"\n",
            &[],
            expect![[r#"
                error: read test.toml: TOML parse error at line 2, column 1
                  |
                2 | lisen = "x"
                  | ^^^^^
                unknown field `lisen`, expected one of `listen`, `data_dir`, `shutdown_grace_ms`, `demo`, `tls_handshake_timeout_ms`
            "#]],
        );
        check(
            "",
            &[("TWINSCAPE__LIMITS__BODY_BYTES_MAX", "lots")],
            expect![[r#"
            error: read environment variable TWINSCAPE__LIMITS__BODY_BYTES_MAX: invalid type: string "lots", expected u64
            in `limits.body_bytes_max`"#]],
        );
        check(
            "",
            &[("TWINSCAPE__LIMITS", "1")],
            expect!["error: read environment variable TWINSCAPE__LIMITS: expected TWINSCAPE__SECTION__KEY"],
        );
        check(
            "",
            &[("TWINSCAPE__SERVER__LISTEN", "localhost")],
            expect![[r#"
            error: read environment variable TWINSCAPE__SERVER__LISTEN: invalid socket address syntax
            in `server.listen`"#]],
        );
        check(
            "[tls]\ncert_path = \"c.pem\"\n",
            &[],
            expect!["error: invalid `tls`: cert_path and key_path must be given together"],
        );
        check(
            "[limits]\nconnections_max = 0\n",
            &[],
            expect!["error: invalid `limits.connections_max`: must be at least 1"],
        );
        check(
            "[query]\ncontainment_child_to_parent = [\"isPartOf\", \"isPartOf\"]\n",
            &[],
            expect!["error: invalid `query.containment_child_to_parent`: `isPartOf` is listed twice"],
        );
        check(
            "[query]\ncontainment_parent_to_child = [\"\"]\n",
            &[],
            expect!["error: invalid `query.containment_parent_to_child`: a relationship name is empty"],
        );
        check(
            "[query]\ncontainment_child_to_parent = [\"contains\"]\n",
            &[],
            expect![
                "error: invalid `query.containment_child_to_parent`: `contains` is also in `query.containment_parent_to_child`; a relationship has one direction"
            ],
        );
        check(
            "[query]\ncursor_idle_ms = 0\n",
            &[],
            expect!["error: invalid `query.cursor_idle_ms`: must be at least 1"],
        );
        check(
            "[mqtt]\nlisten = \"nowhere\"\n",
            &[],
            expect![[
                r#"error: invalid `mqtt.listen`: `nowhere` is not a socket address (or "" for none): invalid socket address syntax"#
            ]],
        );
        check(
            "[limits]\npage_items_max = 5000000000\n",
            &[],
            expect!["error: invalid `limits.page_items_max`: 5000000000 is too large"],
        );
    }

    /// Like `check`, printing only MQTT over TLS and whether HTTPS is on.
    fn check_mqtt_tls(file: &str, env: &[(&str, &str)], expect: Expect) {
        let vars = env.iter().map(|(k, v)| (OsString::from(k), OsString::from(v)));
        let merged = ConfigFile::parse(file, "test.toml")
            .and_then(|layer| Ok(ConfigFile::embedded().overlay(layer).overlay(ConfigFile::from_env(vars)?)))
            .and_then(Config::from_file);
        let actual = match merged {
            Ok(config) => format!("{:?}, https {}", config.mqtt.tls, config.tls.is_some()),
            Err(err) => format!("error: {err}"),
        };
        expect.assert_eq(&actual);
    }

    #[test]
    fn mqtt_over_tls_takes_its_own_certificate_or_else_the_https_one() {
        let https = "[tls]\ncert_path = \"c.pem\"\nkey_path = \"k.pem\"\n";
        let own = "[mqtt]\ncert_path = \"mc.pem\"\nkey_path = \"mk.pem\"\n";
        check_mqtt_tls("", &[], expect![[r#"None, https false"#]]);
        check_mqtt_tls(
            https,
            &[("TWINSCAPE__MQTT__TLS_LISTEN", "0.0.0.0:8883")],
            expect![[
                r#"Some(MqttTlsConfig { listen: 0.0.0.0:8883, certificate: TlsConfig { cert_path: "c.pem", key_path: "k.pem" } }), https true"#
            ]],
        );
        check_mqtt_tls(
            own,
            &[("TWINSCAPE__MQTT__TLS_LISTEN", "0.0.0.0:8883")],
            expect![[
                r#"Some(MqttTlsConfig { listen: 0.0.0.0:8883, certificate: TlsConfig { cert_path: "mc.pem", key_path: "mk.pem" } }), https false"#
            ]],
        );
        check_mqtt_tls(
            &format!("{https}{own}tls_listen = \"127.0.0.1:0\"\n"),
            &[],
            expect![[
                r#"Some(MqttTlsConfig { listen: 127.0.0.1:0, certificate: TlsConfig { cert_path: "mc.pem", key_path: "mk.pem" } }), https true"#
            ]],
        );
        // A certificate alone serves nothing, so `tls_listen = ""` turns MQTT over TLS off whatever the other layers say.
        check_mqtt_tls(own, &[], expect![[r#"None, https false"#]]);
        check_mqtt_tls(
            &format!("{own}tls_listen = \"0.0.0.0:8883\"\n"),
            &[("TWINSCAPE__MQTT__TLS_LISTEN", "")],
            expect![[r#"None, https false"#]],
        );
    }

    #[test]
    fn mqtt_over_tls_without_a_certificate_is_refused() {
        check(
            "[mqtt]\ntls_listen = \"0.0.0.0:8883\"\n",
            &[],
            expect![
                "error: invalid `mqtt.tls_listen`: MQTT over TLS on 0.0.0.0:8883 needs a certificate: set [mqtt] cert_path and key_path, or [tls] cert_path and key_path (which also turn HTTPS on)"
            ],
        );
        check(
            "[mqtt]\ntls_listen = \"0.0.0.0:8883\"\ncert_path = \"mc.pem\"\n",
            &[],
            expect!["error: invalid `mqtt`: cert_path and key_path must be given together"],
        );
        check(
            "[mqtt]\ntls_listen = \"8883\"\n",
            &[],
            expect![[
                r#"error: invalid `mqtt.tls_listen`: `8883` is not a socket address (or "" for none): invalid socket address syntax"#
            ]],
        );
    }

    #[test]
    fn an_empty_mqtt_listen_turns_the_listener_off() {
        let layer = ConfigFile::parse("[mqtt]\nlisten = \"\"\n", "test.toml").expect("the layer parses");
        let config = Config::from_file(ConfigFile::embedded().overlay(layer)).expect("the values are valid");
        assert_eq!(config.mqtt.listen, None);
        assert_eq!(Config::default().mqtt.listen, Some("127.0.0.1:1883".parse().expect("an address")));
    }
}
