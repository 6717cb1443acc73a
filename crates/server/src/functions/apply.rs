//! Applying what a message's runs did, in the write that stores the message's value (`apply_runs`): the values and notifications of the runs that ended well, with their SensorChange, SpaceChange and UdfCustom events and the history points of their values, and a UdfFailed event for each run that did not; then each run is counted and kept (`record_runs`).
//!
//! A run whose values cannot be applied (the object it set was deleted since, the graph refuses what it set, such as a space grown past the twin size limit, or its history refuses a point) fails as a whole: nothing of it is applied and its UdfFailed event says why; the batch's other runs are applied.
//! A message whose value is refused when the batch is written, after its functions ran (its sensor was deleted meanwhile), has its runs fail the same way (`fail_runs`).

use std::collections::HashMap;

use compute::sandbox::{self, RunOutcome, RunStatus};
use graph::Precondition;
use graph::patch::Operation;
use ontology::ObjectKind;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::{Effect, MESSAGE_BYTES_MAX, Ran, as_text, cut, envelope, kept_log, status_label};
use crate::data::{Event, Tenant, TenantState, Written};
use crate::error::ApiError;
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

/// The sensor whose value ran a message's functions, and the value it held before the message.
/// The 2018 service ran a message's functions before the value was the sensor's, so a run that sets that sensor replaces the value before the message (as its SensorChange names it), until one of the message's runs has set it.
pub(crate) struct OwnSensor<'a> {
    pub(crate) id: &'a str,
    pub(crate) before: Option<Value>,
    /// A run of the message set the sensor: later runs replace that value, which the graph holds.
    replaced: bool,
}

impl<'a> OwnSensor<'a> {
    pub(crate) fn new(id: &'a str, before: Option<Value>) -> OwnSensor<'a> {
        OwnSensor { id, before, replaced: false }
    }
}

/// Applies what a message's runs did, in their order, to the tenant (which holds the message's value), adding their ops and events to `written`: a run that ended well has its values and notifications applied, or fails as a whole when they are refused; every run that did not end well gets a UdfFailed event.
/// `Err` is a failure after part of a run was applied (which its checks rule out), which fails the whole write.
pub(crate) fn apply_runs(
    tenant: &mut Tenant,
    source: &str,
    now: &str,
    runs: &mut [Finished],
    own: &mut OwnSensor<'_>,
    written: &mut Written,
) -> Result<(), ApiError> {
    let ts = crate::history::micros_of(now).unwrap_or(history::Timestamp::from_micros(0));
    for run in runs {
        if run.ran.outcome.status == RunStatus::Ok {
            match apply_run(tenant, source, now, ts, run, own, written)? {
                Ok(()) => {
                    own.replaced |= run.ran.effects.iter().any(|effect| sets_sensor(effect, own.id));
                }
                Err(refused) => {
                    run.ran.outcome.status = RunStatus::Threw {
                        message: format!("Error: what the function set was refused: {refused}"),
                        stack: None,
                    };
                }
            }
        }
        if run.ran.outcome.status != RunStatus::Ok {
            written.events.push(failure_event(source, now, run));
        }
    }
    Ok(())
}

/// Fails runs whose message was refused after they ran, saying `why` of those that ended well (a run that failed keeps its own failure): nothing of them is applied, and each gets a UdfFailed event in `written`.
pub(crate) fn fail_runs(source: &str, now: &str, runs: &mut [Finished], why: &str, written: &mut Written) {
    for run in runs {
        run.ran.effects.clear();
        if run.ran.outcome.status == RunStatus::Ok {
            run.ran.outcome.status = RunStatus::Threw { message: format!("Error: {why}"), stack: None };
        }
        written.events.push(failure_event(source, now, run));
    }
}

/// Counts and keeps runs once what they did is durable (`record`).
pub(crate) fn record_runs<'a>(state: &AppState, tenant: &TenantState, runs: impl IntoIterator<Item = &'a Finished>) {
    for run in runs {
        record(state, tenant, run);
    }
}

fn sets_sensor(effect: &Effect, id: &str) -> bool {
    matches!(effect, Effect::SensorValue { sensor, .. } if sensor == id)
}

/// Applies one run's effects to the tenant, adding its store ops and events to `written`.
/// `Ok(Err(why))` refuses the run with nothing of it applied: every twin it changes gets one patch of all its changes, and each patch is prepared (checked, its twin made) and the history points planned before any is applied; `Err` is a failure after part of it was applied (which the checks rule out), which fails the whole write.
fn apply_run(
    tenant: &mut Tenant,
    source: &str,
    now: &str,
    ts: history::Timestamp,
    run: &Finished,
    own: &OwnSensor<'_>,
    written: &mut Written,
) -> Result<Result<(), String>, ApiError> {
    let Finished { function_id, correlation_id, .. } = run;
    let mut plan = Plan::default();
    // The sensors' values and the spaces' `values` as the run's effects so far left them.
    let mut sensors: HashMap<&str, Option<Value>> = HashMap::new();
    let mut spaces: HashMap<&str, Option<Map<String, Value>>> = HashMap::new();
    for effect in &run.ran.effects {
        match effect {
            Effect::SensorValue { sensor, data_type, value } => {
                if let Err(why) = exists(tenant, ObjectKind::Sensor, sensor) {
                    return Ok(Err(why));
                }
                let previous = match sensors.get(sensor.as_str()) {
                    Some(set) => set.clone(),
                    None if sensor == own.id && !own.replaced => own.before.clone(),
                    None => current_value(tenant, sensor),
                };
                let text = as_text(value);
                sensors.insert(sensor, Some(json!(text)));
                plan.patch(sensor, crate::telemetry::sensor_value_op(&text, now));
                plan.point(history::SeriesId::sensor(sensor), &text);
                let data = SensorChange {
                    kind: "Classic",
                    data_type,
                    id: sensor,
                    value: &text,
                    previous_value: previous.as_ref(),
                    event_timestamp: now,
                    message_type: "sensor",
                    properties: SensorChangeProperties { correlation_id, user_defined_function_id: function_id },
                };
                plan.events.push(envelope(source, now, "SensorChange", &data));
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
                if value.is_null() {
                    if previous.is_none() {
                        continue;
                    }
                    plan.patch(space, Operation::remove(&["values", &name]));
                    if let Some(values) = values.as_mut() {
                        values.remove(&name);
                    }
                } else {
                    let text = as_text(value);
                    let entry = json!({ "value": text, "timestamp": now });
                    match values.as_mut() {
                        Some(values) => {
                            plan.patch(space, Operation::add(&["values", &name], entry.clone()));
                            values.insert(name.clone(), entry);
                        }
                        None => {
                            plan.patch(space, Operation::add(&["values"], json!({ name.clone(): entry })));
                            *values = Some(Map::from_iter([(name.clone(), entry)]));
                        }
                    }
                    plan.point(history::SeriesId::space_value(space, &name), &text);
                }
                let text = (!value.is_null()).then(|| as_text(value));
                let data = SpaceChange {
                    data_type: &name,
                    id: space,
                    value: text.as_deref(),
                    previous_value: previous.as_ref(),
                    event_timestamp: now,
                    correlation_id,
                };
                plan.events.push(envelope(source, now, "SpaceChange", &data));
            }
            Effect::Notification { object_id, object_type, payload } => {
                let data = UdfCustom {
                    topology_object_id: object_id,
                    resource_type: object_type.name(),
                    payload,
                    correlation_id,
                };
                plan.events.push(envelope(source, now, "UdfCustom", &data));
            }
        }
    }
    let mut prepared = Vec::with_capacity(plan.patches.len());
    for (id, ops) in plan.patches {
        match tenant.graph.prepare_patch_ops(&id, ops, &Precondition::None, now) {
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
    patches: Vec<(String, Vec<Operation>)>,
    points: Vec<(Result<history::SeriesId, history::HistoryError>, String)>,
    events: Vec<Event>,
}

impl Plan {
    fn patch(&mut self, id: &str, op: Operation) {
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
    if tenant.is_object(kind, id) { Ok(()) } else { Err(format!("{} '{id}' no longer exists", kind_name(kind))) }
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
fn failure_event(source: &str, now: &str, run: &Finished) -> Event {
    let status = &run.ran.outcome.status;
    let data = UdfFailed {
        user_defined_function_id: &run.function_id,
        sensor_id: &run.sensor_id,
        correlation_id: &run.correlation_id,
        status: status_label(status),
        message: &cut(&status.to_string(), MESSAGE_BYTES_MAX),
    };
    envelope(source, now, "UdfFailed", &data)
}

/// The `data` of a SensorChange event: a value a function set on a sensor.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct SensorChange<'a> {
    /// Always `Classic`.
    #[serde(rename = "Type")]
    kind: &'a str,
    data_type: &'a str,
    id: &'a str,
    value: &'a str,
    /// The sensor's value before, `null` for none.
    previous_value: Option<&'a Value>,
    event_timestamp: &'a str,
    message_type: &'a str,
    properties: SensorChangeProperties<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct SensorChangeProperties<'a> {
    correlation_id: &'a str,
    user_defined_function_id: &'a str,
}

/// The `data` of a SpaceChange event: a value a function set on a space, or cleared (`Value` `null`).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct SpaceChange<'a> {
    /// The value's name.
    data_type: &'a str,
    id: &'a str,
    value: Option<&'a str>,
    previous_value: Option<&'a Value>,
    event_timestamp: &'a str,
    correlation_id: &'a str,
}

/// The `data` of a UdfCustom event: a notification a function sent.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct UdfCustom<'a> {
    topology_object_id: &'a str,
    resource_type: &'a str,
    payload: &'a str,
    correlation_id: &'a str,
}

/// The `data` of a UdfFailed event (`failure_event`).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct UdfFailed<'a> {
    user_defined_function_id: &'a str,
    sensor_id: &'a str,
    correlation_id: &'a str,
    status: &'a str,
    message: &'a str,
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::functions::envelope_as_value;

    const SOURCE: &str = "https://twinscape.example";
    const NOW: &str = "2026-11-26T12:00:00.0000000Z";

    /// Asserts that the event of `data` is, byte for byte, the one built before from `old` with `json!`.
    fn check_same(kind: &str, data: &impl Serialize, old: Value) {
        envelope(SOURCE, NOW, kind, data).check_same_as(|id| envelope_as_value(SOURCE, NOW, kind, kind, old, id));
    }

    #[test]
    fn function_events_are_the_json_they_were_built_as_before() {
        let (sensor, text, correlation_id, function_id) = ("sensor \"1\"", "21.5\n", "c-1", "f-é");
        for previous in [None, Some(json!("20")), Some(json!({"odd": [1, 2.5]}))] {
            let data = SensorChange {
                kind: "Classic",
                data_type: "Temperature",
                id: sensor,
                value: text,
                previous_value: previous.as_ref(),
                event_timestamp: NOW,
                message_type: "sensor",
                properties: SensorChangeProperties { correlation_id, user_defined_function_id: function_id },
            };
            let old = json!({
                "Type": "Classic",
                "DataType": "Temperature",
                "Id": sensor,
                "Value": text,
                "PreviousValue": previous,
                "EventTimestamp": NOW,
                "MessageType": "sensor",
                "Properties": { "CorrelationId": correlation_id, "UserDefinedFunctionId": function_id },
            });
            check_same("SensorChange", &data, old);
        }
        for (value, previous) in [(json!(null), Some(json!("on"))), (json!(3), None), (json!("off"), Some(json!("on")))]
        {
            let text = (!value.is_null()).then(|| as_text(&value));
            let data = SpaceChange {
                data_type: "Occupancy",
                id: "space-1",
                value: text.as_deref(),
                previous_value: previous.as_ref(),
                event_timestamp: NOW,
                correlation_id,
            };
            let old = json!({
                "DataType": "Occupancy",
                "Id": "space-1",
                "Value": if value.is_null() { Value::Null } else { json!(as_text(&value)) },
                "PreviousValue": previous,
                "EventTimestamp": NOW,
                "CorrelationId": correlation_id,
            });
            check_same("SpaceChange", &data, old);
        }
        let payload = r#"{"alert": "too \"hot\""}"#;
        let data = UdfCustom { topology_object_id: "space-1", resource_type: "Space", payload, correlation_id };
        let old = json!({
            "TopologyObjectId": "space-1",
            "ResourceType": "Space",
            "Payload": payload,
            "CorrelationId": correlation_id,
        });
        check_same("UdfCustom", &data, old);
    }

    #[test]
    fn failure_events_are_the_json_they_were_built_as_before() {
        let status = RunStatus::Threw { message: "Error: \"no\"".to_owned(), stack: Some("at f (udf:1)".to_owned()) };
        let outcome = RunOutcome { status, duration: std::time::Duration::ZERO, log: Vec::new(), log_lines_dropped: 0 };
        let run = Finished {
            function_id: "f-1".to_owned(),
            sensor_id: "sensor-1".to_owned(),
            correlation_id: "c-1".to_owned(),
            ran: Ran { outcome, effects: Vec::new() },
        };
        let status = &run.ran.outcome.status;
        let old = json!({
            "UserDefinedFunctionId": run.function_id,
            "SensorId": run.sensor_id,
            "CorrelationId": run.correlation_id,
            "Status": status_label(status),
            "Message": cut(&status.to_string(), MESSAGE_BYTES_MAX),
        });
        failure_event(SOURCE, NOW, &run)
            .check_same_as(|id| envelope_as_value(SOURCE, NOW, "UdfFailed", "UdfFailed", old, id));
    }

    /// Runs of a message refused after they ran all fail with a UdfFailed event; a run that ended well fails for the refusal, one that failed keeps its own failure.
    #[test]
    fn failing_a_refused_messages_runs_keeps_their_own_failures() {
        let run = |status: RunStatus| Finished {
            function_id: "f-1".to_owned(),
            sensor_id: "sensor-1".to_owned(),
            correlation_id: "c-1".to_owned(),
            ran: Ran {
                outcome: RunOutcome {
                    status,
                    duration: std::time::Duration::ZERO,
                    log: Vec::new(),
                    log_lines_dropped: 0,
                },
                effects: vec![Effect::Notification {
                    object_id: "space-1".to_owned(),
                    object_type: sandbox::ObjectType::Space,
                    payload: "{}".to_owned(),
                }],
            },
        };
        let mut runs = [run(RunStatus::Ok), run(RunStatus::TimedOut)];
        let mut written = Written::default();
        fail_runs(SOURCE, NOW, &mut runs, "the sensor went", &mut written);
        let statuses: Vec<String> = runs.iter().map(|r| r.ran.outcome.status.to_string()).collect();
        assert_eq!(statuses, ["Error: the sensor went", "timed out"]);
        assert!(runs.iter().all(|r| r.ran.effects.is_empty()), "nothing of them is applied");
        assert_eq!(written.events.len(), 2, "one UdfFailed event each");
    }
}
