//! What runs on telemetry: matchers, which select the sensors a user-defined function applies to, and the JavaScript sandbox that runs user-defined functions against a host API.
//!
//! Layout: `matcher` evaluates a matcher's conditions (case-sensitive JSONPath into the documents of a sensor, its device and its space; case-insensitive comparison of the JSON text) with the evaluation log the 2018 API returns; `sandbox` runs a function in QuickJS with a time limit, a memory limit and a locked-down context reset after every run, reaching the graph only through the `Host` trait the server implements.
//! No I/O, no clock of its own: the server hands in documents, deadlines and the host.

pub mod matcher;
pub mod sandbox;
