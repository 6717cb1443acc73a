//! The history API on both faces (ours; neither the 2018 service nor ADT had one): a raw page of a series with a continuation, and bucketed aggregates of a series or of a set of series merged.
//!
//! The 2018 face (relative to `/management/api/v1.0`, errors in its format):
//! `GET sensors/{id}/history` and `…/history/aggregate`; `GET spaces/{id}/values/{name}/history` and `…/history/aggregate` for a computed space value; `GET spaces/{id}/sensors/history/aggregate?dataType=X&traverse=Down` for every sensor of a data type in the spaces the tree parameters select (`spatial::navigate`, as the sensor listing reads them), merged.
//! The data plane (with `api-version`, ADT's error format): `GET /digitaltwins/{id}/history` and `…/history/aggregate`, the series of the sensor whose twin id is `id` (empty for a twin that never had a value).
//!
//! Parameters, names in any case: `from` and `to` (RFC 3339 with an offset; the range is `from <= t < to`); a raw page takes `order` (`desc`, the default, newest first, or `asc`), `limit` (default `RANGE_LIMIT_DEFAULT`, at most the history limit `range_points_max`) and `after` (the `continuationToken` of the previous page); an aggregate takes `interval` (an ISO 8601 duration such as `PT1H`, `PT15M` or `P1D`, days being 24 hours, or a number of seconds; default one hour), buckets aligned to the Unix epoch in UTC, and `functions` (a comma-separated subset of `avg,min,max,count,last`; default all).
//! Without `from` and `to`, a raw page spans all time, and an aggregate the day before now.
//! Times come back as RFC 3339 in UTC with seven fractional digits, values as their text, with `number` when the value has a numeric form (`history::value_of`).
//! The reads do not take the tenant's lock beyond finding the series, and run on a blocking thread.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use history::{Bucket, BucketQuery, HistoryError, Order, Point, Position, RangeQuery, SeriesId, Timestamp};
use ontology::ObjectKind;
use serde_json::{Map, Value, json};

use super::{StorePoints, history, rfc3339};
use crate::error::{ApiError, ErrorCode};
use crate::management::{MgmtError, Params, object_slot, route};
use crate::router::AppState;

/// The points of a raw page when `limit` is not given.
pub(crate) const RANGE_LIMIT_DEFAULT: usize = 100;

/// The span of an aggregate without `from`: one day before `to`.
const AGGREGATE_SPAN_DEFAULT_US: i64 = 24 * 3_600_000_000;

/// The bucket width without `interval`: one hour.
const INTERVAL_DEFAULT_US: u64 = 3_600_000_000;

/// The aggregate functions, as `functions` names them.
const FUNCTIONS: [&str; 5] = ["avg", "min", "max", "count", "last"];

/// The 2018 face's history routes, relative to its base.
pub(crate) fn management() -> Router<AppState> {
    let router = Router::new();
    let router = route(router, "/sensors/{id}/history", get(sensor_range));
    let router = route(router, "/sensors/{id}/history/aggregate", get(sensor_buckets));
    let router = route(router, "/spaces/{id}/values/{name}/history", get(space_value_range));
    let router = route(router, "/spaces/{id}/values/{name}/history/aggregate", get(space_value_buckets));
    route(router, "/spaces/{id}/sensors/history/aggregate", get(space_sensors_buckets))
}

/// The data plane's history routes.
pub(crate) fn data_plane() -> Router<AppState> {
    Router::new()
        .route("/digitaltwins/{id}/history", get(twin_range))
        .route("/digitaltwins/{id}/history/aggregate", get(twin_buckets))
}

async fn sensor_range(
    State(state): State<AppState>,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, MgmtError> {
    let series = sensor_series(&state, &id)?;
    Ok(range(&state, series, &params.0).await.map_err(mgmt)?.into_response())
}

async fn sensor_buckets(
    State(state): State<AppState>,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, MgmtError> {
    let series = sensor_series(&state, &id)?;
    Ok(buckets(&state, vec![series], &params.0).await.map_err(mgmt)?.into_response())
}

async fn space_value_range(
    State(state): State<AppState>,
    Path((id, name)): Path<(String, String)>,
    params: Params,
) -> Result<Response, MgmtError> {
    let series = space_value_series(&state, &id, &name)?;
    Ok(range(&state, series, &params.0).await.map_err(mgmt)?.into_response())
}

async fn space_value_buckets(
    State(state): State<AppState>,
    Path((id, name)): Path<(String, String)>,
    params: Params,
) -> Result<Response, MgmtError> {
    let series = space_value_series(&state, &id, &name)?;
    Ok(buckets(&state, vec![series], &params.0).await.map_err(mgmt)?.into_response())
}

/// Every sensor of `dataType` (by name, any case; all sensors without it) in the spaces the tree parameters select from the space `id` (`traverse`, default `None`: the space itself), merged.
/// At most the history limit `series_max` sensors; more is a 400 asking to narrow the request.
async fn space_sensors_buckets(
    State(state): State<AppState>,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, MgmtError> {
    let series_max = history().limits().series_max;
    let data_type = params.text(&["dataType"]).map(str::to_owned);
    let mut pairs: Vec<(String, String)> =
        params.0.iter().filter(|(name, _)| !name.eq_ignore_ascii_case("spaceId")).cloned().collect();
    pairs.push(("spaceId".to_owned(), id.clone()));
    let tree = spatial::navigate::TreeFilter::from_pairs(&pairs)?;
    let series = state.data.tenant().read_all(|tenant| {
        object_slot(&tenant.graph, ObjectKind::Space, &id)?;
        let kinds = tenant.kinds();
        let slots = spatial::navigate::select(&tenant.graph, &kinds, ObjectKind::Sensor, &tree, usize::MAX)?;
        let mut series = Vec::new();
        for slot in slots {
            let Some(twin) = tenant.graph.twin_at(slot) else { continue };
            let kind = twin.property("dataType");
            let kind = kind.as_ref().and_then(Value::as_str).unwrap_or_default();
            if data_type.as_deref().is_some_and(|wanted| !wanted.eq_ignore_ascii_case(kind)) {
                continue;
            }
            if series.len() == series_max {
                return Err(MgmtError::invalid(format!(
                    "more than {series_max} sensors are selected; narrow the request with dataType or the tree parameters"
                )));
            }
            series.push(SeriesId::sensor(&twin.id).map_err(|err| mgmt(ApiError::from(err)))?);
        }
        Ok::<_, MgmtError>(series)
    })?;
    Ok(buckets(&state, series, &params.0).await.map_err(mgmt)?.into_response())
}

async fn twin_range(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let series = twin_series(&state, &id)?;
    Ok(range(&state, series, &pairs(query.as_deref())?).await?.into_response())
}

async fn twin_buckets(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let series = twin_series(&state, &id)?;
    Ok(buckets(&state, vec![series], &pairs(query.as_deref())?).await?.into_response())
}

/// The series of the sensor `id`; 404 when there is no such sensor.
fn sensor_series(state: &AppState, id: &str) -> Result<SeriesId, MgmtError> {
    let id = state.data.tenant().read(|graph| {
        let slot = object_slot(graph, ObjectKind::Sensor, id)?;
        Ok::<_, MgmtError>(graph.twin_at(slot).map(|t| t.id.clone()).unwrap_or_default())
    })?;
    SeriesId::sensor(&id).map_err(|err| mgmt(ApiError::from(err)))
}

/// The series of the space `id`'s value `name`, spelt as the space's values spell it (any case matches), else as given; 404 when there is no such space.
fn space_value_series(state: &AppState, id: &str, name: &str) -> Result<SeriesId, MgmtError> {
    let (id, name) = state.data.tenant().read(|graph| {
        let slot = object_slot(graph, ObjectKind::Space, id)?;
        let twin = graph.twin_at(slot);
        let values = twin.and_then(|t| t.property("values"));
        let stored = values
            .as_ref()
            .and_then(Value::as_object)
            .and_then(|v| v.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned());
        Ok::<_, MgmtError>((twin.map(|t| t.id.clone()).unwrap_or_default(), stored.unwrap_or_else(|| name.to_owned())))
    })?;
    SeriesId::space_value(&id, &name).map_err(|err| mgmt(ApiError::from(err)))
}

/// The sensor series of the twin `id`; `DigitalTwinNotFound` when there is no such twin.
fn twin_series(state: &AppState, id: &str) -> Result<SeriesId, ApiError> {
    let found = state.data.tenant().read(|graph| graph.twin(id).is_some());
    if !found {
        return Err(ApiError::from(graph::GraphError::NotFound {
            what: graph::Missing::Twin,
            message: format!("there is no twin with id '{id}'"),
        }));
    }
    Ok(SeriesId::sensor(id)?)
}

/// One raw page: `{"value": [points], "continuationToken": token or null}`.
async fn range(state: &AppState, series: SeriesId, pairs: &[(String, String)]) -> Result<axum::Json<Value>, ApiError> {
    let query = range_query(pairs).map_err(invalid)?;
    let points = state.data.tenant().points().clone();
    let answer = blocking(move || history().range(&points, &series, &query)).await?;
    let token = answer.next.map(|next| format!("{}.{}", next.ts.as_micros(), next.seq));
    let value: Vec<Value> = answer.points.iter().map(point_json).collect();
    Ok(axum::Json(json!({ "value": value, "continuationToken": token })))
}

/// Buckets of `series` merged: `{"interval": seconds, "value": [buckets]}`.
async fn buckets(
    state: &AppState,
    series: Vec<SeriesId>,
    pairs: &[(String, String)],
) -> Result<axum::Json<Value>, ApiError> {
    let (query, functions) =
        bucket_query(pairs, Timestamp::from_micros(jiff::Timestamp::now().as_microsecond())).map_err(invalid)?;
    let points: StorePoints = state.data.tenant().points().clone();
    let found = blocking(move || history().buckets(&points, &series, &query)).await?;
    let value: Vec<Value> = found.iter().map(|bucket| bucket_json(bucket, query.width_us, &functions)).collect();
    Ok(axum::Json(json!({ "interval": query.width_us as f64 / 1e6, "value": value })))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, HistoryError> + Send + 'static,
) -> Result<T, ApiError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(done) => Ok(done?),
        Err(join) => Err(ApiError::new(ErrorCode::InternalServerError, format!("the history read failed: {join}"))),
    }
}

/// A point as both faces show it.
pub(crate) fn point_json(point: &Point) -> Value {
    let mut out = Map::new();
    out.insert("timestamp".to_owned(), json!(rfc3339(point.position.ts)));
    out.insert("value".to_owned(), json!(point.value.text()));
    if let Some(number) = point.value.number() {
        out.insert("number".to_owned(), json!(number));
    }
    Value::Object(out)
}

fn bucket_json(bucket: &Bucket, width_us: u64, functions: &[&str]) -> Value {
    let mut out = Map::new();
    out.insert("start".to_owned(), json!(rfc3339(bucket.start)));
    let end = bucket.start.as_micros().saturating_add(i64::try_from(width_us).unwrap_or(i64::MAX));
    out.insert("end".to_owned(), json!(rfc3339(Timestamp::from_micros(end))));
    for function in functions {
        let value = match *function {
            "avg" => json!(bucket.avg),
            "min" => json!(bucket.min),
            "max" => json!(bucket.max),
            "count" => json!(bucket.count),
            _ => point_json(&bucket.last),
        };
        out.insert((*function).to_owned(), value);
    }
    Value::Object(out)
}

/// The first value of the parameter `name` (any case), when given and not blank.
fn param<'p>(pairs: &'p [(String, String)], name: &str) -> Option<&'p str> {
    pairs.iter().find(|(n, v)| n.eq_ignore_ascii_case(name) && !v.trim().is_empty()).map(|(_, v)| v.trim())
}

fn time(pairs: &[(String, String)], name: &str) -> Result<Option<Timestamp>, String> {
    let Some(text) = param(pairs, name) else { return Ok(None) };
    let time = text
        .parse::<jiff::Timestamp>()
        .map_err(|err| format!("`{name}` is `{text}`, not an RFC 3339 time with an offset: {err}"))?;
    Ok(Some(Timestamp::from_micros(time.as_microsecond())))
}

/// A raw page's query from the parameters.
fn range_query(pairs: &[(String, String)]) -> Result<RangeQuery, String> {
    let from = time(pairs, "from")?.unwrap_or(Timestamp::MIN);
    let to = time(pairs, "to")?.unwrap_or(Timestamp::MAX);
    let order = match param(pairs, "order").map(str::to_ascii_lowercase).as_deref() {
        None | Some("desc") => Order::NewestFirst,
        Some("asc") => Order::OldestFirst,
        Some(other) => return Err(format!("`order` is `{other}`; it takes `asc` or `desc`")),
    };
    let limit = match param(pairs, "limit") {
        None => RANGE_LIMIT_DEFAULT,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("`limit` is `{text}`, not a positive integer"))?,
    };
    let after = match param(pairs, "after") {
        None => None,
        Some(token) => Some(position(token).ok_or_else(|| format!("`after` is `{token}`, not a continuation token"))?),
    };
    Ok(RangeQuery { from, to, order, limit, after })
}

/// The position a continuation token names: `<microseconds>.<sequence number>`.
fn position(token: &str) -> Option<Position> {
    let (ts, seq) = token.split_once('.')?;
    Some(Position { ts: Timestamp::from_micros(ts.parse().ok()?), seq: seq.parse().ok()? })
}

/// An aggregate's query and functions from the parameters, `now` for a missing `to`.
fn bucket_query(pairs: &[(String, String)], now: Timestamp) -> Result<(BucketQuery, Vec<&'static str>), String> {
    let to = time(pairs, "to")?.unwrap_or(now);
    let from = time(pairs, "from")?
        .unwrap_or(Timestamp::from_micros(to.as_micros().saturating_sub(AGGREGATE_SPAN_DEFAULT_US)));
    let width_us = match param(pairs, "interval") {
        None => INTERVAL_DEFAULT_US,
        Some(text) => interval_us(text)?,
    };
    let functions = match param(pairs, "functions") {
        None => FUNCTIONS.to_vec(),
        Some(text) => {
            let mut chosen = Vec::new();
            for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                let known = FUNCTIONS.iter().find(|f| f.eq_ignore_ascii_case(name)).ok_or_else(|| {
                    format!("`functions` names `{name}`; it takes a list of {}", FUNCTIONS.join(", "))
                })?;
                if !chosen.contains(known) {
                    chosen.push(*known);
                }
            }
            chosen
        }
    };
    Ok((BucketQuery { from, to, width_us, origin: Timestamp::from_micros(0) }, functions))
}

/// A bucket width: a positive number of seconds, or an ISO 8601 duration of days (24 hours each), hours, minutes and seconds.
fn interval_us(text: &str) -> Result<u64, String> {
    let bad = |why: String| format!("`interval` is `{text}`, {why}");
    let micros = if let Ok(seconds) = text.parse::<f64>() {
        if !seconds.is_finite() {
            return Err(bad("not a number of seconds".to_owned()));
        }
        (seconds * 1e6).round() as i128
    } else {
        let span = text
            .parse::<jiff::Span>()
            .map_err(|_| bad("neither a number of seconds nor an ISO 8601 duration such as PT1H".to_owned()))?;
        let duration = span
            .to_duration(jiff::SpanRelativeTo::days_are_24_hours())
            .map_err(|_| bad("not a fixed length: years and months are not".to_owned()))?;
        duration.as_micros()
    };
    u64::try_from(micros).ok().filter(|&us| us > 0).ok_or_else(|| bad("not a positive length".to_owned()))
}

fn pairs(query: Option<&str>) -> Result<Vec<(String, String)>, ApiError> {
    serde_urlencoded::from_str(query.unwrap_or_default())
        .map_err(|err| ApiError::new(ErrorCode::InvalidArgument, format!("the query string cannot be read: {err}")))
}

fn invalid(message: String) -> ApiError {
    ApiError::new(ErrorCode::InvalidArgument, message)
}

fn mgmt(err: ApiError) -> MgmtError {
    MgmtError::from(err)
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;

    fn check_interval(text: &str, expected: Expect) {
        let shown = match interval_us(text) {
            Ok(us) => format!("{us}us"),
            Err(err) => err,
        };
        expected.assert_eq(&shown);
    }

    #[test]
    fn intervals() {
        check_interval("PT1H", expect!["3600000000us"]);
        check_interval("PT15M", expect!["900000000us"]);
        check_interval("P1D", expect!["86400000000us"]);
        check_interval("90", expect!["90000000us"]);
        check_interval("0", expect!["`interval` is `0`, not a positive length"]);
        check_interval(
            "hourly",
            expect!["`interval` is `hourly`, neither a number of seconds nor an ISO 8601 duration such as PT1H"],
        );
        check_interval("P1M", expect!["`interval` is `P1M`, not a fixed length: years and months are not"]);
    }
}
