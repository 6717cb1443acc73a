//! Applying what a batch's runs did: the values and notifications of the runs that ended well, with their SensorChange, SpaceChange and UdfCustom events and the history points of their values, and a UdfFailed event for each run that did not, all in one durable write; then each run is counted and kept (`record`).
//!
//! A run whose values cannot be applied (the object it set was deleted since, or its history refuses the point) fails as a whole: nothing of it is applied and its UdfFailed event says why; the batch's other runs are applied.

use std::sync::Arc;

use compute::sandbox::{self, RunOutcome, RunStatus};
use graph::Precondition;
use ontology::ObjectKind;
use serde_json::{Value, json};

use super::{Done, Effect, MESSAGE_BYTES_MAX, Ran, as_text, cut, envelope, kept_log, status_label};
use crate::data::{Tenant, TenantState, Written};
use crate::error::ApiError;
use crate::management::is_kind;
use crate::router::AppState;

/// A run of a batch, as it is applied and recorded.
pub(crate) struct Finished {
    pub(crate) function_id: String,
    /// The sensor whose value ran the function.
    pub(crate) sensor_id: String,
    /// The message's correlation id, as the function's `executionContext` had it.
    pub(crate) correlation_id: String,
    pub(crate) ran: Ran,
}

/// Applies what the runs of a batch did in one durable write, then counts and keeps each run; `Err` is a store failure, after which nothing of the batch is applied or counted.
pub(crate) async fn apply_batch(
    state: &AppState,
    tenant: &Arc<TenantState>,
    finished: Vec<Finished>,
) -> Result<(), ApiError> {
    if finished.is_empty() {
        return Ok(());
    }
    let source = state.data.event_source().to_owned();
    let finished = tenant
        .write_all(&state.data, move |tenant| {
            let now = crate::data::now();
            let ts = crate::history::micros_of(&now).unwrap_or(history::Timestamp::from_micros(0));
            let versions = tenant.graph.version();
            let mut written = Written::default();
            let mut finished = finished;
            for run in &mut finished {
                if run.ran.outcome.status == RunStatus::Ok
                    && let Err(refused) = apply_run(tenant, &source, &now, ts, run, &mut written)?
                {
                    run.ran.outcome.status = RunStatus::Threw {
                        message: format!("Error: what the function set was refused: {refused}"),
                        stack: None,
                    };
                }
                if run.ran.outcome.status != RunStatus::Ok {
                    written.events.push(failure_event(&source, &now, run));
                }
            }
            // What the runs set are values: the functions' selections stay valid.
            tenant.value_versions += tenant.graph.version().wrapping_sub(versions);
            Ok::<_, ApiError>((finished, written))
        })
        .await?;
    for run in &finished {
        record(state, tenant, run);
    }
    Ok(())
}

/// Applies one run's effects to the tenant, adding its store ops and events to `written`.
/// `Ok(Err(why))` refuses the run with nothing of it applied; `Err` is a failure after part of it was applied, which fails the whole write.
fn apply_run(
    tenant: &mut Tenant,
    source: &str,
    now: &str,
    ts: history::Timestamp,
    run: &Finished,
    written: &mut Written,
) -> Result<Result<(), String>, ApiError> {
    // Checked and planned before anything changes, so a refusal leaves the tenant as it was (a point planned for a refused run only leaves a sequence number unused).
    let mut ops = Vec::new();
    for done in &run.ran.effects {
        let (series, kind, id, text) = match &done.effect {
            Effect::SensorValue { sensor, value, .. } => {
                (history::SeriesId::sensor(sensor), ObjectKind::Sensor, sensor, Some(as_text(value)))
            }
            Effect::SpaceValue { space, name, value } => {
                let text = (!value.is_null()).then(|| as_text(value));
                (
                    history::SeriesId::space_value(space, &stored_name(tenant, space, name)),
                    ObjectKind::Space,
                    space,
                    text,
                )
            }
            Effect::Notification { .. } => continue,
        };
        let graph = &tenant.graph;
        if !graph.slot(id).is_some_and(|s| is_kind(graph, s, kind)) {
            return Ok(Err(format!("{} '{id}' no longer exists", kind_name(kind))));
        }
        let Some(text) = text else { continue };
        let point = series.map(|series| history::NewPoint { series, ts, value: crate::history::value_of(&text) });
        match point.and_then(|point| tenant.history.plan(&[point])) {
            Ok(planned) => ops.extend(planned),
            Err(err) => return Ok(Err(format!("the history of '{id}' refused the value: {err}"))),
        }
    }
    written.ops.extend(ops);
    let Finished { function_id, correlation_id, .. } = run;
    for done in &run.ran.effects {
        let Done { effect, previous, superseded } = done;
        match effect {
            Effect::SensorValue { sensor, data_type, value } => {
                let previous = match previous {
                    Some(known) => known.clone(),
                    None => current_value(tenant, sensor),
                };
                let text = as_text(value);
                // A later message of the batch set the sensor after this run: its value stays.
                if !superseded {
                    let patch =
                        json!([{ "op": "add", "path": "/value", "value": { "value": text, "timestamp": now } }]);
                    let (_, changes) = tenant.graph.patch_twin(sensor, &patch, &Precondition::None, now)?;
                    written.and(Written::changes(changes));
                }
                written.events.push(envelope(
                    source,
                    now,
                    "SensorChange",
                    json!({
                        "Type": "Classic",
                        "DataType": data_type,
                        "Id": sensor,
                        "Value": text,
                        "PreviousValue": previous,
                        "EventTimestamp": now,
                        "MessageType": "sensor",
                        "Properties": { "CorrelationId": correlation_id, "UserDefinedFunctionId": function_id },
                    }),
                ));
            }
            Effect::SpaceValue { space, name, value } => {
                let name = stored_name(tenant, space, name);
                let values = tenant.graph.twin(space).and_then(|t| t.property("values"));
                let previous = values.as_ref().and_then(|v| v.get(&name)).and_then(|v| v.get("value").cloned());
                let pointer = format!("/values/{}", name.replace('~', "~0").replace('/', "~1"));
                let patch = if value.is_null() {
                    if previous.is_none() {
                        continue;
                    }
                    json!([{ "op": "remove", "path": pointer }])
                } else {
                    let entry = json!({ "value": as_text(value), "timestamp": now });
                    if values.is_some() {
                        json!([{ "op": "add", "path": pointer, "value": entry }])
                    } else {
                        json!([{ "op": "add", "path": "/values", "value": { name.clone(): entry } }])
                    }
                };
                let (_, changes) = tenant.graph.patch_twin(space, &patch, &Precondition::None, now)?;
                written.and(Written::changes(changes));
                written.events.push(envelope(
                    source,
                    now,
                    "SpaceChange",
                    json!({
                        "DataType": name,
                        "Id": space,
                        "Value": if value.is_null() { Value::Null } else { json!(as_text(value)) },
                        "PreviousValue": previous,
                        "EventTimestamp": now,
                        "CorrelationId": correlation_id,
                    }),
                ));
            }
            Effect::Notification { object_id, object_type, payload } => {
                written.events.push(envelope(
                    source,
                    now,
                    "UdfCustom",
                    json!({
                        "TopologyObjectId": object_id,
                        "ResourceType": object_type.name(),
                        "Payload": payload,
                        "CorrelationId": correlation_id,
                    }),
                ));
            }
        }
    }
    Ok(Ok(()))
}

/// The sensor's value as the graph holds it.
fn current_value(tenant: &Tenant, sensor: &str) -> Option<Value> {
    tenant.graph.twin(sensor).and_then(|t| t.property("value")).and_then(|v| v.get("value").cloned())
}

/// A space value's name as the space keeps it: the spelling it was first set with (later calls may spell it in any case), or `name` for a new one.
fn stored_name(tenant: &Tenant, space: &str, name: &str) -> String {
    let values = tenant.graph.twin(space).and_then(|t| t.property("values"));
    values
        .as_ref()
        .and_then(Value::as_object)
        .and_then(|v| v.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned())
        .unwrap_or_else(|| name.to_owned())
}

fn kind_name(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::Space => "space",
        ObjectKind::Device => "device",
        ObjectKind::Sensor => "sensor",
        ObjectKind::User => "user",
    }
}

/// The UdfFailed event of a run that did not end well.
///
/// The event is ours: the 2018 reference documents no event for a failed run. It has the envelope of the 2018 events, with `data` `{UserDefinedFunctionId, SensorId, CorrelationId, Status, Message}`: `Status` as the `function_runs_total` metric labels it (`threw`, `timed_out`, `out_of_memory`, `stack_overflow`), `Message` the error (at most `MESSAGE_BYTES_MAX` bytes).
fn failure_event(source: &str, now: &str, run: &Finished) -> Value {
    let status = &run.ran.outcome.status;
    envelope(
        source,
        now,
        "UdfFailed",
        json!({
            "UserDefinedFunctionId": run.function_id,
            "SensorId": run.sensor_id,
            "CorrelationId": run.correlation_id,
            "Status": status_label(status),
            "Message": cut(&status.to_string(), MESSAGE_BYTES_MAX),
        }),
    )
}

/// Counts a run by how it ended (the metric and the function's `Statistics`), keeps it with its log lines, and logs one that failed (at DEBUG: a user's function failing is the user's business, reported in the metric, the statistics and a UdfFailed event).
fn record(state: &AppState, tenant: &TenantState, run: &Finished) {
    let outcome: &RunOutcome = &run.ran.outcome;
    let status = status_label(&outcome.status);
    let message = match &outcome.status {
        sandbox::RunStatus::Ok => None,
        failed => Some(cut(&failed.to_string(), MESSAGE_BYTES_MAX)),
    };
    if message.is_some() {
        tracing::debug!(
            function = run.function_id,
            sensor = run.sensor_id,
            correlation_id = run.correlation_id,
            outcome = %outcome.status,
            log = ?outcome.log,
            "a function run failed"
        );
    }
    state.metrics.record(|| metrics::counter!(super::RUNS_TOTAL, "status" => status).increment(1));
    let log = kept_log(&outcome.log);
    let log_lines_dropped = outcome.log_lines_dropped + (outcome.log.len() - log.len());
    let record = super::RunRecord {
        time: crate::data::now(),
        sensor_id: run.sensor_id.clone(),
        correlation_id: run.correlation_id.clone(),
        status,
        message,
        duration: outcome.duration,
        log,
        log_lines_dropped,
    };
    state.functions.statistics.record(&tenant.id, &run.function_id, &outcome.status, record);
}
