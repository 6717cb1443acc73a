//! `/models`: upload (all or nothing, validated with the models already stored), list with `dependenciesFor` and `includeModelDefinition`, get, decommission, delete.

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::Value;

use crate::api_version::ApiVersion;
use crate::error::ApiError;
use crate::extract::Json;
use crate::paging::{BaseUrl, MaxItemsPerPage};
use crate::router::AppState;
use crate::routes::listing::{self, PageQuery, PageRequest};

pub(crate) fn routes(models_body_bytes_max: usize) -> Router<AppState> {
    Router::new()
        .route("/models", post(add).layer(DefaultBodyLimit::max(models_body_bytes_max)).get(list))
        .route("/models/{id}", get(get_one).patch(update).delete(delete))
}

async fn add(State(state): State<AppState>, Json(body): Json<Value>) -> Result<impl IntoResponse, ApiError> {
    let Value::Array(documents) = body else {
        return Err(ApiError::invalid_argument("The request body must be a JSON array of DTDL interfaces."));
    };
    let tenant = state.data.tenant();
    let now = crate::data::now();
    let created = tenant
        .write(&state.data, move |graph| {
            let (models, changes) = graph.upload_models(documents, &now)?;
            Ok((models, changes, Vec::new()))
        })
        .await?;
    let body: Vec<Value> = created.iter().map(|m| m.to_json(true)).collect();
    Ok((StatusCode::CREATED, Json(Value::Array(body))))
}

/// The query of `GET /models`: repeated `dependenciesFor`, `includeModelDefinition`, `continuationToken`.
struct ListQuery {
    dependencies_for: Vec<String>,
    include_definition: bool,
    page: PageQuery,
}

fn parse_list_query(raw: Option<&str>) -> Result<ListQuery, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or_default())
        .map_err(|e| ApiError::invalid_argument(format!("The query string cannot be read: {e}.")))?;
    let mut out = ListQuery { dependencies_for: Vec::new(), include_definition: false, page: PageQuery::default() };
    for (k, v) in pairs {
        match k.as_str() {
            "dependenciesFor" => out.dependencies_for.push(v),
            "includeModelDefinition" => {
                out.include_definition = parse_bool("includeModelDefinition", &v)?;
            }
            "continuationToken" => out.page.continuation_token = Some(v),
            _ => {}
        }
    }
    Ok(out)
}

fn parse_bool(name: &str, value: &str) -> Result<bool, ApiError> {
    match value.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(ApiError::invalid_argument(format!("{name} must be true or false, not '{value}'."))),
    }
}

async fn list(
    State(state): State<AppState>,
    version: ApiVersion,
    base: BaseUrl,
    max: MaxItemsPerPage,
    RawQuery(raw): RawQuery,
) -> Result<impl IntoResponse, ApiError> {
    let query = parse_list_query(raw.as_deref())?;
    let request = PageRequest::new(&query.page, max, state.limits.page_items_max)?;
    let tenant = state.data.tenant();
    let items: Vec<(String, Value)> = tenant.read(|graph| -> Result<_, ApiError> {
        let models: Vec<&graph::StoredModel> = if query.dependencies_for.is_empty() {
            graph.models().collect()
        } else {
            graph.models_with_dependencies(&query.dependencies_for)?
        };
        Ok(models.iter().map(|m| (m.id.to_string(), m.to_json(query.include_definition))).collect())
    })?;
    let include = if query.include_definition { "true" } else { "false" };
    let mut params: Vec<(&str, &str)> = vec![("includeModelDefinition", include)];
    params.extend(query.dependencies_for.iter().map(|d| ("dependenciesFor", d.as_str())));
    Ok(request.page(items, listing::link(&base, "/models", version, &params)))
}

#[derive(Debug, serde::Deserialize)]
struct GetQuery {
    #[serde(rename = "includeModelDefinition")]
    include_definition: Option<String>,
}

async fn get_one(
    State(state): State<AppState>,
    Path(id): Path<String>,
    axum::extract::Query(query): axum::extract::Query<GetQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let include = query
        .include_definition
        .as_deref()
        .map(|v| parse_bool("includeModelDefinition", v))
        .transpose()?
        .unwrap_or(false);
    let tenant = state.data.tenant();
    tenant.read(|graph| graph.model(&id).map(|m| m.to_json(include))).map(Json).ok_or_else(|| {
        ApiError::from(graph::GraphError::NotFound {
            what: graph::Missing::Model,
            message: format!("there is no model with id '{id}'"),
        })
    })
}

async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(patch): Json<Value>,
) -> Result<impl IntoResponse, ApiError> {
    let tenant = state.data.tenant();
    tenant.write(&state.data, move |graph| Ok(((), graph.patch_model(&id, &patch)?, Vec::new()))).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn delete(State(state): State<AppState>, Path(id): Path<String>) -> Result<impl IntoResponse, ApiError> {
    let tenant = state.data.tenant();
    tenant.write(&state.data, move |graph| Ok(((), graph.delete_model(&id)?, Vec::new()))).await?;
    Ok(StatusCode::NO_CONTENT)
}
