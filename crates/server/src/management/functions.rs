//! `userdefinedfunctions`: create and update as multipart (`metadata` JSON and `contents` JavaScript, as the 2018 samples send them), list with navigation, get, delete, and `contents` (the script back).
//! Ours besides the 2018 API: `includes=statistics` (how the function's runs went) and `userdefinedfunctions/{id}/logs` (its last runs with their `log()` lines), read from `functions::Statistics`, which the telemetry pipeline keeps.
//!
//! A function is checked when it is uploaded (it must compile, its top level must run within the sandbox's limits, and it must define `process`), so a broken script is refused with the reason instead of failing on every message.
//! Which telemetry runs a function: the sensors in its space's subtree that one of its matchers selects; the telemetry pipeline finds them.

use axum::Router;
use axum::extract::{Multipart, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use ontology::ObjectKind;
use serde_json::{Value, json};
use spatial::navigate::TreeFilter;
use spatial::odata::QueryOptions;
use spatial::state::Function;

use super::objects::{self, View};
use super::{Body, Includes, MgmtError, Params, new_id, object_slot, route};
use crate::data::{Tenant, Written, now};
use crate::functions::RunRecord;
use crate::router::AppState;

/// What `includes` may name on functions; `statistics` is ours (see `with_statistics`).
const INCLUDES: [&str; 6] = ["matchers", "description", "space", "fullpath", "contentinfo", "statistics"];

/// The longest script accepted, in bytes.
pub(crate) const SCRIPT_BYTES_MAX: usize = 256 * 1024;

pub(crate) fn routes() -> Router<AppState> {
    let router = Router::new();
    let router = route(router, "/userdefinedfunctions", get(list).post(create));
    let router = route(router, "/userdefinedfunctions/{id}", get(retrieve).patch(update).delete(remove));
    let router = route(router, "/userdefinedfunctions/{id}/contents", get(contents));
    route(router, "/userdefinedfunctions/{id}/logs", get(logs))
}

/// The two parts of an upload: the metadata object and the script, each as given.
struct Upload {
    metadata: Body,
    script: Option<String>,
}

/// Reads the multipart body: a part named `metadata` (JSON) and one named `contents` (the script, UTF-8).
async fn read_upload(mut multipart: Multipart) -> Result<Upload, MgmtError> {
    let (mut metadata, mut script) = (None, None);
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| MgmtError::invalid(format!("the multipart body cannot be read: {e}")))?
    {
        let name = field.name().unwrap_or_default().to_ascii_lowercase();
        let bytes =
            field.bytes().await.map_err(|e| MgmtError::invalid(format!("the part '{name}' cannot be read: {e}")))?;
        match name.as_str() {
            "metadata" => metadata = Some(Body::parse(&bytes)?),
            "contents" => {
                if bytes.len() > SCRIPT_BYTES_MAX {
                    return Err(MgmtError::invalid_member(
                        "contents",
                        format!("the script has {} bytes; at most {SCRIPT_BYTES_MAX} are accepted", bytes.len()),
                    ));
                }
                let text = String::from_utf8(bytes.to_vec())
                    .map_err(|_| MgmtError::invalid_member("contents", "the script is not UTF-8 text"))?;
                script = Some(text);
            }
            other => {
                return Err(MgmtError::invalid(format!("the part '{other}' is not one of metadata and contents")));
            }
        }
    }
    let metadata = metadata.ok_or_else(|| MgmtError::invalid_member("metadata", "the part `metadata` is required"))?;
    Ok(Upload { metadata, script })
}

/// A function name: 3 to 50 letters, digits or underscores (the 2018 rule), spaces allowed as the samples use them ("Motion Processor").
fn check_name(name: &str) -> Result<(), MgmtError> {
    let length = name.chars().count();
    let ok = (3..=50).contains(&length) && name.chars().all(|c| c.is_alphanumeric() || c == '_' || c == ' ');
    if ok {
        Ok(())
    } else {
        Err(MgmtError::invalid_member(
            "name",
            format!("the name '{name}' must be 3 to 50 letters, digits, underscores or spaces"),
        ))
    }
}

/// The matcher ids of the metadata, each an existing matcher.
fn matchers_of(tenant: &Tenant, metadata: &Body) -> Result<Option<Vec<String>>, MgmtError> {
    if metadata.get("matchers").is_none() {
        return Ok(None);
    }
    let mut ids = Vec::new();
    for item in metadata.array("matchers")? {
        let id = item.as_str().ok_or_else(|| MgmtError::invalid_member("matchers", "`matchers` holds matcher ids"))?;
        if tenant.spatial.matcher(id).is_none() {
            return Err(MgmtError::not_found("matcher", id));
        }
        if !ids.iter().any(|known: &String| known.eq_ignore_ascii_case(id)) {
            ids.push(id.to_owned());
        }
    }
    Ok(Some(ids))
}

/// Compiles a script and runs its top level in a sandbox of its own, as it will run on telemetry.
fn check_script(script: &str) -> Result<(), MgmtError> {
    compute::sandbox::Sandbox::check(script, &compute::sandbox::Limits::default())
        .map_err(|e| MgmtError::invalid_member("contents", format!("the script is refused: {e}")))
}

/// `POST userdefinedfunctions` (multipart): 201 with the new id.
async fn create(State(state): State<AppState>, multipart: Multipart) -> Result<Response, MgmtError> {
    let upload = read_upload(multipart).await?;
    let metadata = upload.metadata;
    let script = upload
        .script
        .ok_or_else(|| MgmtError::invalid_member("contents", "the part `contents` (the script) is required"))?;
    check_script(&script)?;
    let name =
        metadata.text("name")?.ok_or_else(|| MgmtError::invalid_member("name", "`name` is required"))?.to_owned();
    check_name(&name)?;
    let space_id = metadata
        .id("spaceId")?
        .ok_or_else(|| MgmtError::invalid_member("spaceId", "`spaceId` is required"))?
        .to_owned();
    let friendly_name = metadata.bounded("friendlyName", 0, 64)?.map(str::to_owned);
    let description = metadata.bounded("description", 0, 4000)?.map(str::to_owned);
    let disabled = metadata.boolean("disabled")?.unwrap_or(false);
    let id = new_id();
    let answer = id.clone();
    let now = now();
    super::created_after(&state, answer.clone(), move |tenant| {
        object_slot(&tenant.graph, ObjectKind::Space, &space_id)?;
        let matchers = matchers_of(tenant, &metadata)?.unwrap_or_default();
        let function = Function {
            id,
            space_id,
            name,
            friendly_name,
            description,
            disabled,
            matchers,
            script,
            version: 1,
            last_modified_utc: now,
        };
        Ok(Written::records(tenant.spatial.put_function(function)?))
    })
    .await
}

/// `PATCH userdefinedfunctions/{id}` (multipart): the metadata's members that are given change; a `contents` part replaces the script (its version grows).
async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    multipart: Multipart,
) -> Result<StatusCode, MgmtError> {
    let upload = read_upload(multipart).await?;
    if let Some(script) = &upload.script {
        check_script(script)?;
    }
    let metadata = upload.metadata;
    if let Some(given) = metadata.id("id")?
        && !given.eq_ignore_ascii_case(&id)
    {
        return Err(MgmtError::invalid_member("id", format!("the metadata's id '{given}' is not the route's '{id}'")));
    }
    let now = now();
    super::updated(&state, move |tenant| {
        let mut function =
            tenant.spatial.function(&id).cloned().ok_or_else(|| MgmtError::not_found("user-defined function", &id))?;
        if let Some(name) = metadata.text("name")? {
            check_name(name)?;
            function.name = name.to_owned();
        }
        if let Some(space) = metadata.id("spaceId")? {
            object_slot(&tenant.graph, ObjectKind::Space, space)?;
            function.space_id = space.to_owned();
        }
        if let Some(friendly) = metadata.bounded("friendlyName", 0, 64)? {
            function.friendly_name = Some(friendly.to_owned());
        }
        if let Some(description) = metadata.bounded("description", 0, 4000)? {
            function.description = Some(description.to_owned());
        }
        if let Some(disabled) = metadata.boolean("disabled")? {
            function.disabled = disabled;
        }
        if let Some(matchers) = matchers_of(tenant, &metadata)? {
            function.matchers = matchers;
        }
        if let Some(script) = upload.script {
            function.script = script;
            function.version += 1;
        }
        function.last_modified_utc = now;
        Ok(Written::records(tenant.spatial.put_function(function)?))
    })
    .await
}

/// `DELETE userdefinedfunctions/{id}`; the function's statistics and logs are forgotten with it.
async fn remove(State(state): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, MgmtError> {
    let deleted = id.clone();
    let status =
        super::updated(&state, move |tenant| Ok(Written::records(tenant.spatial.delete_function(&deleted)?))).await?;
    state.functions.statistics.forget(&state.data.tenant().id, &id);
    Ok(status)
}

/// `GET userdefinedfunctions/{id}/logs` (ours; the 2018 API kept function logs in Application Insights): the function's last runs since the server started, oldest first, at most `functions::RECENT_RUNS_MAX`, each with its `log()` lines.
async fn logs(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, MgmtError> {
    let tenant = state.data.tenant();
    let id = tenant
        .read_all(|tenant| tenant.spatial.function(&id).map(|f| f.id.clone()))
        .ok_or_else(|| MgmtError::not_found("user-defined function", &id))?;
    let runs = state.functions.statistics.of(&tenant.id, &id).map(|f| f.recent).unwrap_or_default();
    Ok(axum::Json(Value::Array(runs.iter().map(run_json).collect())).into_response())
}

/// `GET userdefinedfunctions/{id}/contents`: the script.
async fn contents(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, MgmtError> {
    let script = state.data.tenant().read_all(|tenant| tenant.spatial.function(&id).map(|f| f.script.clone()));
    let script = script.ok_or_else(|| MgmtError::not_found("user-defined function", &id))?;
    Ok(([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], script).into_response())
}

/// A function as the 2018 API shows it.
fn render(view: &View<'_>, function: &Function, includes: &Includes) -> Value {
    let mut out = json!({
        "id": function.id,
        "spaceId": function.space_id,
        "name": function.name,
        "disabled": function.disabled,
    });
    if let Some(friendly) = &function.friendly_name {
        out["friendlyName"] = json!(friendly);
    }
    if includes.has("description") {
        out["description"] = json!(function.description);
    }
    if includes.has("matchers") {
        let matchers: Vec<Value> = function
            .matchers
            .iter()
            .filter_map(|id| view.spatial.matcher(id))
            .map(|m| json!({"id": m.id, "name": m.name, "spaceId": m.space_id}))
            .collect();
        out["matchers"] = Value::Array(matchers);
    }
    if includes.has("contentinfo") {
        out["contentInfo"] = json!({
            "type": "text/javascript",
            "sizeBytes": function.script.len(),
            "version": function.version.to_string(),
            "lastModifiedUtc": function.last_modified_utc,
        });
    }
    for section in ["space", "fullpath"] {
        if includes.has(section) {
            let member = if section == "space" { "space" } else { "spacePaths" };
            out[member] = view.space_section(&function.space_id, section);
        }
    }
    out
}

async fn retrieve(
    State(state): State<AppState>,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, MgmtError> {
    let includes = params.includes(&INCLUDES)?;
    let tenant = state.data.tenant();
    let mut function = tenant.read_all(|tenant| {
        let function =
            tenant.spatial.function(&id).ok_or_else(|| MgmtError::not_found("user-defined function", &id))?;
        Ok::<_, MgmtError>(render(&View::new(tenant), function, &includes))
    })?;
    // Read after the tenant's lock is let go, so that no request holds it and the statistics' lock at once.
    if includes.has("statistics") {
        with_statistics(&state, &tenant.id, &mut function);
    }
    Ok(axum::Json(function).into_response())
}

/// `GET userdefinedfunctions?names&ids&includes` with the tree parameters (`spaceIds` too, as the sample sends it) and OData.
async fn list(State(state): State<AppState>, params: Params) -> Result<Response, MgmtError> {
    let includes = params.includes(&INCLUDES)?;
    let ids = params.list("ids");
    let names = params.list("names");
    let filter = TreeFilter::from_pairs(&params.0)?;
    let options = QueryOptions::from_pairs(&params.0)?;
    let max = state.limits.management_results_max.get();
    let tenant = state.data.tenant();
    let mut values = tenant.read_all(|tenant| -> Result<Vec<Value>, MgmtError> {
        let view = View::new(tenant);
        let spaces = objects::spaces_selected(&view, &filter)?;
        let mut out = objects::Results::new(options, max);
        let selected = tenant
            .spatial
            .functions()
            .filter(|f| spaces.as_ref().is_none_or(|s| s.contains(f.space_id.as_str())))
            .filter(|f| ids.is_empty() || ids.iter().any(|id| id.eq_ignore_ascii_case(&f.id)))
            .filter(|f| names.is_empty() || names.iter().any(|name| name.eq_ignore_ascii_case(&f.name)));
        for function in selected {
            if !out.push(render(&view, function, &includes))? {
                break;
            }
        }
        Ok(out.finish())
    })?;
    if includes.has("statistics") {
        for function in &mut values {
            with_statistics(&state, &tenant.id, function);
        }
    }
    Ok(axum::Json(Value::Array(values)).into_response())
}

/// Adds `statistics` to a rendered function (our extension; the 2018 API has no run statistics): how its runs since the server started ended and how long they took.
///
/// `{runs, ok, errors, threw, timedOut, outOfMemory, stackOverflow, durationMsTotal, durationMsMax, lastRunUtc}`; `errors` counts the runs that did not end well, durations are milliseconds to the microsecond, and `lastRunUtc` is null before the first run (the counts start again when the server does).
fn with_statistics(state: &AppState, tenant: &store::TenantId, function: &mut Value) {
    let Some(id) = function["id"].as_str() else { return };
    let runs = state.functions.statistics.of(tenant, id).unwrap_or_default();
    let counts = &runs.counts;
    function["statistics"] = json!({
        "runs": counts.runs,
        "ok": counts.ok,
        "errors": counts.runs - counts.ok,
        "threw": counts.threw,
        "timedOut": counts.timed_out,
        "outOfMemory": counts.out_of_memory,
        "stackOverflow": counts.stack_overflow,
        "durationMsTotal": milliseconds(counts.duration_total),
        "durationMsMax": milliseconds(counts.duration_max),
        "lastRunUtc": runs.recent.back().map(|r| r.time.clone()),
    });
}

/// One kept run as `logs` shows it.
fn run_json(run: &RunRecord) -> Value {
    json!({
        "timeUtc": run.time,
        "sensorId": run.sensor_id,
        "correlationId": run.correlation_id,
        "status": run.status,
        "message": run.message,
        "durationMs": milliseconds(run.duration),
        "log": run.log,
        "logLinesDropped": run.log_lines_dropped,
    })
}

/// A duration in milliseconds, to the microsecond.
fn milliseconds(duration: std::time::Duration) -> f64 {
    (duration.as_micros() as f64) / 1000.0
}
