//! Matchers of the 2018 face (`matchers…`, `matchers/{id}/evaluate/{sensorId}`, `sensors/{id}/matchers`): conditions on a sensor, its device and its space that pick the sensors a space's user-defined functions run for.
//!
//! A matcher lives in the tenant's `spatial` state, hangs off a space (its name unique there), and applies to the sensors in that space's subtree whose documents meet all its conditions.
//! Conditions are checked and compiled by `compute::matcher` before anything is stored, and compiled again from the stored record when they are evaluated; the documents are the 2018 objects `View::render` shows, with the includes the 2018 documentation names for each target.
//! `PATCH` takes the 2018 `ConditionUpdate`s: one with an `id` changes the members it gives of that condition (an empty `path` deletes it), one without adds a condition.
//! This file deliberately does not keep which matchers apply to which sensor between requests: `sensors/{id}/matchers` evaluates the matchers along the sensor's space path on each call; the telemetry pipeline keeps its own per-sensor cache.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use compute::matcher::{self as engine, Condition, Documents, MatcherError};
use ontology::ObjectKind;
use serde_json::{Value, json};
use spatial::navigate::TreeFilter;
use spatial::odata::QueryOptions;
use spatial::state::{Matcher, MatcherCondition};

use super::objects::{self, View};
use super::{Body, Includes, MgmtError, Params, new_id, object_slot, route};
use crate::data::Written;
use crate::error::ApiError;
use crate::router::AppState;

/// What `includes` may name on matchers.
///
/// `userdefinedfunctions` is accepted and shows `userDefinedFunctions: []`: user-defined functions are not served yet, so no matcher is linked to one.
const INCLUDES: [&str; 5] = ["description", "conditions", "fullpath", "space", "userdefinedfunctions"];

/// Matcher names, in characters (`MatcherCreate`).
const NAME_CHARS: (usize, usize) = (3, 64);

/// Friendly names, in characters.
const FRIENDLY_NAME_CHARS_MAX: usize = 64;

/// Descriptions, in characters.
const DESCRIPTION_CHARS_MAX: usize = 4000;

/// The documents conditions read, as the 2018 documentation defines them: `GET sensors/{id}?includes=properties,types`, `GET devices/{id}?includes=properties,types,sensors,sensorsproperties,sensorstypes` and `GET spaces/{id}?includes=properties,types,location,timezone`.
const SENSOR_INCLUDES: &[&str] = &["properties", "types"];
const DEVICE_INCLUDES: &[&str] = &["properties", "types", "sensors", "sensorsproperties", "sensorstypes"];
const SPACE_INCLUDES: &[&str] = &["properties", "types", "location", "timezone"];

pub(crate) fn routes() -> Router<AppState> {
    let router = Router::new();
    let router = route(router, "/matchers", get(list).post(create));
    let router = route(router, "/matchers/{id}", get(retrieve).patch(update).delete(remove));
    let router = route(router, "/matchers/{id}/evaluate/{sensor}", get(evaluate));
    route(router, "/sensors/{id}/matchers", get(of_sensor))
}

/// `GET matchers?ids&names&includes` with the tree parameters (the matchers on the spaces they select; without them, every matcher) and OData.
async fn list(State(state): State<AppState>, params: Params) -> Result<Response, MgmtError> {
    let includes = params.includes(&INCLUDES)?;
    let ids = params.list("ids");
    let names = params.list("names");
    let filter = TreeFilter::from_pairs(&params.0)?;
    let options = QueryOptions::from_pairs(&params.0)?;
    let max = state.limits.management_results_max.get();
    let values = state.data.tenant().read_all(|t| -> Result<Vec<Value>, MgmtError> {
        let view = View::new(t);
        let spaces = objects::spaces_selected(&view, &filter)?;
        let selected = t
            .spatial
            .matchers()
            .filter(|m| spaces.as_ref().is_none_or(|s| s.contains(m.space_id.as_str())))
            .filter(|m| ids.is_empty() || ids.iter().any(|id| id.eq_ignore_ascii_case(&m.id)))
            .filter(|m| names.is_empty() || names.iter().any(|name| name.eq_ignore_ascii_case(&m.name)));
        let mut out = objects::Results::new(options, max);
        for matcher in selected {
            if !out.push(matcher_json(&view, matcher, &includes))? {
                break;
            }
        }
        Ok(out.finish())
    })?;
    Ok(axum::Json(Value::Array(values)).into_response())
}

/// `POST matchers`: `{name, description?, friendlyName?, spaceId, conditions?: [{target, path, value, comparison}]}` → 201 with the new id.
async fn create(State(state): State<AppState>, body: Body) -> Result<Response, MgmtError> {
    let name = body.bounded("name", NAME_CHARS.0, NAME_CHARS.1)?.ok_or_else(|| required("name"))?.to_owned();
    let friendly_name = body.bounded("friendlyName", 0, FRIENDLY_NAME_CHARS_MAX)?.map(str::to_owned);
    let description = body.bounded("description", 0, DESCRIPTION_CHARS_MAX)?.map(str::to_owned);
    let space_id = body.id("spaceId")?.ok_or_else(|| required("spaceId"))?.to_owned();
    let mut conditions = Vec::new();
    for (i, item) in body.array("conditions")?.iter().enumerate() {
        conditions.push(new_condition(i, &Body::from_value(item, "conditions")?)?);
    }
    let matcher = Matcher { id: new_id(), name, friendly_name, description, space_id, conditions };
    compile(&matcher).map_err(|err| MgmtError::invalid_member("conditions", err.to_string()))?;
    let id = matcher.id.clone();
    super::created_after(&state, id.clone(), move |t| {
        object_slot(&t.graph, ObjectKind::Space, &matcher.space_id)?;
        Ok(Written::records(t.spatial.put_matcher(matcher)?))
    })
    .await
}

/// `GET matchers/{id}?includes`.
async fn retrieve(
    State(state): State<AppState>,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, MgmtError> {
    let includes = params.includes(&INCLUDES)?;
    let value = state.data.tenant().read_all(|t| -> Result<Value, MgmtError> {
        let matcher = t.spatial.matcher(&id).ok_or_else(|| MgmtError::not_found("matcher", &id))?;
        Ok(matcher_json(&View::new(t), matcher, &includes))
    })?;
    Ok(axum::Json(value).into_response())
}

/// `PATCH matchers/{id}`: `name`, `friendlyName` and `description` (`null` clears the last two), `spaceId` (moves the matcher to an existing space), and `conditions` as `ConditionUpdate`s, applied in order.
async fn update(State(state): State<AppState>, Path(id): Path<String>, body: Body) -> Result<StatusCode, MgmtError> {
    let name = body.bounded("name", NAME_CHARS.0, NAME_CHARS.1)?.map(str::to_owned);
    let friendly_name = body.bounded("friendlyName", 0, FRIENDLY_NAME_CHARS_MAX)?.map(str::to_owned);
    let clears_friendly_name = friendly_name.is_none() && body.has("friendlyName");
    let description = body.bounded("description", 0, DESCRIPTION_CHARS_MAX)?.map(str::to_owned);
    let clears_description = description.is_none() && body.has("description");
    let space_id = body.id("spaceId")?.map(str::to_owned);
    let updates: Vec<Body> =
        body.array("conditions")?.iter().map(|c| Body::from_value(c, "conditions")).collect::<Result<_, _>>()?;
    super::updated(&state, move |t| {
        let mut matcher = t.spatial.matcher(&id).ok_or_else(|| MgmtError::not_found("matcher", &id))?.clone();
        if let Some(name) = name {
            matcher.name = name;
        }
        if friendly_name.is_some() || clears_friendly_name {
            matcher.friendly_name = friendly_name;
        }
        if description.is_some() || clears_description {
            matcher.description = description;
        }
        if let Some(space_id) = space_id {
            object_slot(&t.graph, ObjectKind::Space, &space_id)?;
            matcher.space_id = space_id;
        }
        for (i, update) in updates.iter().enumerate() {
            update_condition(&mut matcher, i, update)?;
        }
        compile(&matcher).map_err(|err| MgmtError::invalid_member("conditions", err.to_string()))?;
        Ok(Written::records(t.spatial.put_matcher(matcher)?))
    })
    .await
}

/// `DELETE matchers/{id}`.
async fn remove(State(state): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, MgmtError> {
    super::updated(&state, move |t| Ok(Written::records(t.spatial.delete_matcher(&id)?))).await
}

/// `GET matchers/{id}/evaluate/{sensorId}?enableLogging=true` → `{success, logs}`: whether the matcher applies to the sensor, with a log line per condition when asked.
///
/// A sensor outside the subtree of the matcher's space is never matched by it: `success` is then false whatever the conditions say, and the log starts with a line saying why.
async fn evaluate(
    State(state): State<AppState>,
    Path((id, sensor)): Path<(String, String)>,
    params: Params,
) -> Result<Response, MgmtError> {
    let logging = params.flag("enableLogging")?.unwrap_or(false);
    let evaluation = state.data.tenant().read_all(|t| -> Result<engine::Evaluation, MgmtError> {
        let stored = t.spatial.matcher(&id).ok_or_else(|| MgmtError::not_found("matcher", &id))?;
        let slot = object_slot(&t.graph, ObjectKind::Sensor, &sensor)?;
        let view = View::new(t);
        let documents = SensorDocuments::new(&view, slot);
        let mut evaluation = compiled(stored)?.evaluate(&documents.documents(), logging);
        if !view.space_path(slot).contains(&stored.space_id.as_str()) {
            evaluation.success = false;
            if logging {
                let line = format!("sensor '{sensor}' is not in the subtree of space '{}' => False", stored.space_id);
                evaluation.logs.insert(0, line);
            }
        }
        Ok(evaluation)
    })?;
    Ok(axum::Json(json!({ "success": evaluation.success, "logs": evaluation.logs })).into_response())
}

/// `GET sensors/{id}/matchers?includes`: the matchers on the spaces from the root down to the sensor's space whose conditions hold for the sensor, root's first.
async fn of_sensor(
    State(state): State<AppState>,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, MgmtError> {
    let includes = params.includes(&INCLUDES)?;
    let options = QueryOptions::from_pairs(&params.0)?;
    let max = state.limits.management_results_max.get();
    let values = state.data.tenant().read_all(|t| -> Result<Vec<Value>, MgmtError> {
        let slot = object_slot(&t.graph, ObjectKind::Sensor, &id)?;
        let view = View::new(t);
        let path = view.space_path(slot);
        let documents = SensorDocuments::new(&view, slot);
        let mut out = objects::Results::new(options, max);
        for stored in t.spatial.matchers_on(&path) {
            if compiled(stored)?.matches(&documents.documents()) && !out.push(matcher_json(&view, stored, &includes))? {
                break;
            }
        }
        Ok(out.finish())
    })?;
    Ok(axum::Json(Value::Array(values)).into_response())
}

/// A matcher as the API shows it (`MatcherRetrieve`), with the sections `includes` asks for.
fn matcher_json(view: &View<'_>, matcher: &Matcher, includes: &Includes) -> Value {
    let mut value = json!({
        "id": matcher.id,
        "name": matcher.name,
        "friendlyName": matcher.friendly_name,
        "spaceId": matcher.space_id,
    });
    if includes.has("description") {
        value["description"] = json!(matcher.description);
    }
    if includes.has("conditions") {
        value["conditions"] = matcher.conditions.iter().map(MatcherCondition::to_json).collect();
    }
    for (section, member) in [("space", "space"), ("fullpath", "spacePaths")] {
        if includes.has(section) {
            value[member] = view.space_section(&matcher.space_id, section);
        }
    }
    if includes.has("userdefinedfunctions") {
        // No user-defined functions are served yet, so no matcher is linked to one; the section is there for clients that ask.
        value["userDefinedFunctions"] = json!([]);
    }
    value
}

/// The three documents a sensor is matched against, rendered once for all the matchers of a request.
pub(crate) struct SensorDocuments {
    sensor: Value,
    device: Value,
    space: Value,
}

impl SensorDocuments {
    /// The documents of the sensor in `slot`; `null` for a device or space it does not have (placed through the data plane without one).
    pub(crate) fn new(view: &View<'_>, slot: u32) -> SensorDocuments {
        let device = view.graph.parent_at(slot).filter(|&d| view.kinds.kind_at(d) == Some(ObjectKind::Device));
        let space = view.space_of(slot, ObjectKind::Sensor);
        SensorDocuments {
            sensor: view.render(slot, ObjectKind::Sensor, &Includes::of(SENSOR_INCLUDES)),
            device: device.map_or(Value::Null, |d| view.render(d, ObjectKind::Device, &Includes::of(DEVICE_INCLUDES))),
            space: space.map_or(Value::Null, |s| view.render(s, ObjectKind::Space, &Includes::of(SPACE_INCLUDES))),
        }
    }

    fn documents(&self) -> Documents<'_> {
        Documents { sensor: &self.sensor, device: &self.device, space: &self.space }
    }

    /// Whether a stored matcher's conditions hold for these documents; a matcher whose conditions no longer compile holds for nothing.
    pub(crate) fn hold(&self, matcher: &Matcher) -> bool {
        compile(matcher).is_ok_and(|compiled| compiled.matches(&self.documents()))
    }
}

/// A new condition from a `ConditionCreate` (or a `ConditionUpdate` without an id), the `i`th of the body's `conditions`, with a new id.
fn new_condition(i: usize, body: &Body) -> Result<MatcherCondition, MgmtError> {
    let member = |name: &str| -> Result<String, MgmtError> {
        condition_text(body, i, name)?.ok_or_else(|| {
            MgmtError::invalid_member(
                &format!("conditions[{i}].{name}"),
                format!("conditions[{i}] has no `{name}`; a condition takes target, path, value and comparison"),
            )
        })
    };
    let (target, path, value, comparison) =
        (member("target")?, member("path")?, member("value")?, member("comparison")?);
    let condition =
        Condition::parse(&new_id(), &target, &path, &value, &comparison).map_err(|err| condition_error(i, &err))?;
    Ok(stored(&condition))
}

/// Applies the `i`th `ConditionUpdate` of a PATCH: with an `id`, changes the members it gives of that condition, or deletes it when its `path` is empty; without, adds a condition.
fn update_condition(matcher: &mut Matcher, i: usize, update: &Body) -> Result<(), MgmtError> {
    let Some(id) = update.id("id").map_err(|_| condition_type_error(i, "id"))? else {
        matcher.conditions.push(new_condition(i, update)?);
        return Ok(());
    };
    let position = matcher.conditions.iter().position(|c| c.id.eq_ignore_ascii_case(id)).ok_or_else(|| {
        MgmtError::absent(format!("conditions[{i}]: matcher '{}' has no condition '{id}'", matcher.id))
    })?;
    let path = condition_text(update, i, "path")?;
    if path.as_deref().is_some_and(|p| p.trim().is_empty()) {
        matcher.conditions.remove(position);
        return Ok(());
    }
    let current = &matcher.conditions[position];
    let given = |name: &str, now: &str| -> Result<String, MgmtError> {
        Ok(condition_text(update, i, name)?.unwrap_or_else(|| now.to_owned()))
    };
    let condition = Condition::parse(
        &current.id,
        &given("target", &current.target)?,
        &path.unwrap_or_else(|| current.path.clone()),
        &given("value", &current.value)?,
        &given("comparison", &current.comparison)?,
    )
    .map_err(|err| condition_error(i, &err))?;
    matcher.conditions[position] = stored(&condition);
    Ok(())
}

/// A string member of the `i`th condition; another JSON type is an error naming it.
fn condition_text(body: &Body, i: usize, name: &str) -> Result<Option<String>, MgmtError> {
    body.text(name).map(|text| text.map(str::to_owned)).map_err(|_| condition_type_error(i, name))
}

fn condition_type_error(i: usize, name: &str) -> MgmtError {
    MgmtError::invalid_member(&format!("conditions[{i}].{name}"), format!("`conditions[{i}].{name}` must be a string"))
}

/// A refused condition, naming it and its member at fault.
fn condition_error(i: usize, err: &MatcherError) -> MgmtError {
    MgmtError::invalid_member(&format!("conditions[{i}].{}", err.member()), format!("conditions[{i}]: {err}"))
}

/// A checked condition as the spatial state keeps it: target and comparison in their canonical spelling.
fn stored(condition: &Condition) -> MatcherCondition {
    MatcherCondition {
        id: condition.id().to_owned(),
        target: condition.target().name().to_owned(),
        path: condition.path().to_owned(),
        value: condition.value().to_owned(),
        comparison: condition.comparison().name().to_owned(),
    }
}

/// The engine's matcher of a matcher's conditions.
fn compile(matcher: &Matcher) -> Result<engine::Matcher, MatcherError> {
    let conditions = matcher
        .conditions
        .iter()
        .map(|c| Condition::parse(&c.id, &c.target, &c.path, &c.value, &c.comparison))
        .collect::<Result<Vec<_>, _>>()?;
    engine::Matcher::new(conditions)
}

/// `compile` of a stored matcher, which was compiled before it was stored: a failure is a bug (or a JSONPath grammar that changed under stored paths), answered as an internal error and logged.
fn compiled(matcher: &Matcher) -> Result<engine::Matcher, MgmtError> {
    compile(matcher).map_err(|err| {
        let span = tracing::error_span!("stored matcher", matcher = %matcher.id);
        MgmtError::from(span.in_scope(|| ApiError::internal(&err)))
    })
}

fn required(member: &str) -> MgmtError {
    MgmtError::invalid_member(member, format!("`{member}` is required"))
}
