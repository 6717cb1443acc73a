//! Applying what a batch's runs did: the values and notifications of the runs that ended well, with their SensorChange, SpaceChange and UdfCustom events and the history points of their values, and a UdfFailed event for each run that did not, all in one durable write; then each run is counted and kept (`record`).
//!
//! A run whose values cannot be applied (the object it set was deleted since, the graph refuses what it set, such as a space grown past the twin size limit, or its history refuses a point) fails as a whole: nothing of it is applied and its UdfFailed event says why; the batch's other runs are applied.

use std::collections::HashMap;
use std::sync::Arc;

use compute::sandbox::{self, RunOutcome, RunStatus};
use graph::Precondition;
use ontology::ObjectKind;
use serde_json::{Map, Value, json};

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
        // What the runs set are values: the functions' selections stay valid.
        .write_values(&state.data, move |tenant| {
            let now = crate::data::now();
            let ts = crate::history::micros_of(&now).unwrap_or(history::Timestamp::from_micros(0));
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
            Ok::<_, ApiError>((finished, written))
        })
        .await?;
    for run in &finished {
        record(state, tenant, run);
    }
    Ok(())
}

/// Applies one run's effects to the tenant, adding its store ops and events to `written`.
/// `Ok(Err(why))` refuses the run with nothing of it applied: every twin it changes gets one patch of all its changes, and each patch is prepared (checked, its twin made) and the history points planned before any is applied; `Err` is a failure after part of it was applied (which the checks rule out), which fails the whole write.
fn apply_run(
    tenant: &mut Tenant,
    source: &str,
    now: &str,
    ts: history::Timestamp,
    run: &Finished,
    written: &mut Written,
) -> Result<Result<(), String>, ApiError> {
    let Finished { function_id, correlation_id, .. } = run;
    let mut plan = Plan::default();
    // The sensors' values and the spaces' `values` as the run's effects so far left them.
    let mut sensors: HashMap<&str, Option<Value>> = HashMap::new();
    let mut spaces: HashMap<&str, Option<Map<String, Value>>> = HashMap::new();
    for done in &run.ran.effects {
        let Done { effect, previous, superseded } = done;
        match effect {
            Effect::SensorValue { sensor, data_type, value } => {
                if let Err(why) = exists(tenant, ObjectKind::Sensor, sensor) {
                    return Ok(Err(why));
                }
                let previous = match previous {
                    Some(known) => known.clone(),
                    None => sensors.get(sensor.as_str()).cloned().unwrap_or_else(|| current_value(tenant, sensor)),
                };
                let text = as_text(value);
                sensors.insert(sensor, Some(json!(text)));
                // A later message of the batch set the sensor after this run: its value stays.
                if !superseded {
                    plan.patch(
                        sensor,
                        json!({ "op": "add", "path": "/value", "value": { "value": text, "timestamp": now } }),
                    );
                }
                plan.point(history::SeriesId::sensor(sensor), &text);
                plan.events.push(envelope(
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
                if let Err(why) = exists(tenant, ObjectKind::Space, space) {
                    return Ok(Err(why));
                }
                let values = spaces.entry(space).or_insert_with(|| {
                    tenant.graph.twin(space).and_then(|t| t.property("values")).and_then(|v| match v {
                        Value::Object(map) => Some(map),
                        _ => None,
                    })
                });
                // A value's name keeps the spelling it was first set with; later calls may spell it in any case.
                let name = values
                    .as_ref()
                    .and_then(|v| v.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned())
                    .unwrap_or_else(|| name.clone());
                let previous = values.as_ref().and_then(|v| v.get(&name)).and_then(|v| v.get("value").cloned());
                let pointer = format!("/values/{}", name.replace('~', "~0").replace('/', "~1"));
                if value.is_null() {
                    if previous.is_none() {
                        continue;
                    }
                    plan.patch(space, json!({ "op": "remove", "path": pointer }));
                    if let Some(values) = values.as_mut() {
                        values.remove(&name);
                    }
                } else {
                    let text = as_text(value);
                    let entry = json!({ "value": text, "timestamp": now });
                    match values.as_mut() {
                        Some(values) => {
                            plan.patch(space, json!({ "op": "add", "path": pointer, "value": entry }));
                            values.insert(name.clone(), entry);
                        }
                        None => {
                            plan.patch(
                                space,
                                json!({ "op": "add", "path": "/values", "value": { name.clone(): entry } }),
                            );
                            *values = Some(Map::from_iter([(name.clone(), entry)]));
                        }
                    }
                    plan.point(history::SeriesId::space_value(space, &name), &text);
                }
                plan.events.push(envelope(
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
                plan.events.push(envelope(
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
    let mut prepared = Vec::with_capacity(plan.patches.len());
    for (id, ops) in plan.patches {
        match tenant.graph.prepare_patch(&id, &Value::Array(ops), &Precondition::None, now) {
            Ok(patch) => prepared.push(patch),
            Err(err) => return Ok(Err(err.to_string())),
        }
    }
    let points = match plan
        .points
        .into_iter()
        .map(|(series, text)| {
            series.map(|series| history::NewPoint { series, ts, value: crate::history::value_of(&text) })
        })
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(points) => points,
        Err(err) => return Ok(Err(format!("its history refused a value: {err}"))),
    };
    // Planned last of the checks: a point planned for a run refused after it would only leave a sequence number unused.
    match tenant.history.plan(&points) {
        Ok(ops) => written.ops.extend(ops),
        Err(err) => return Ok(Err(format!("its history refused a value: {err}"))),
    }
    for patch in prepared {
        let (_, changes) = tenant.graph.apply_prepared(patch)?;
        written.and(Written::changes(changes));
    }
    written.events.extend(plan.events);
    Ok(Ok(()))
}

/// What a run will change: one patch per twin (in the order the run first touched them), its history points and its events.
#[derive(Default)]
struct Plan {
    patches: Vec<(String, Vec<Value>)>,
    points: Vec<(Result<history::SeriesId, history::HistoryError>, String)>,
    events: Vec<Value>,
}

impl Plan {
    fn patch(&mut self, id: &str, op: Value) {
        match self.patches.iter_mut().find(|(twin, _)| twin == id) {
            Some((_, ops)) => ops.push(op),
            None => self.patches.push((id.to_owned(), vec![op])),
        }
    }

    fn point(&mut self, series: Result<history::SeriesId, history::HistoryError>, text: &str) {
        self.points.push((series, text.to_owned()));
    }
}

/// `Ok` when the object `id` of `kind` still exists; the refusal of a run that set it otherwise.
fn exists(tenant: &Tenant, kind: ObjectKind, id: &str) -> Result<(), String> {
    let graph = &tenant.graph;
    if graph.slot(id).is_some_and(|s| is_kind(graph, s, kind)) {
        Ok(())
    } else {
        Err(format!("{} '{id}' no longer exists", kind_name(kind)))
    }
}

/// The sensor's value as the graph holds it.
fn current_value(tenant: &Tenant, sensor: &str) -> Option<Value> {
    tenant.graph.twin(sensor).and_then(|t| t.property("value")).and_then(|v| v.get("value").cloned())
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
