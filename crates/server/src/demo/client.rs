//! The demo's way into the server: requests to the server's own router, in process, as a client of the 2018 management face would send them over HTTP.
//!
//! Every request passes the same layers and handlers as one from the network (validation, the durable write path, metrics by route), so the demo's objects and readings are exactly what a provisioning script and real devices would make.
//! This file only sends requests and reads answers; what to send is `provision`'s and `simulation`'s.

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::Value;
use tower::ServiceExt as _;

/// Where the 2018 management face is mounted.
const MANAGEMENT_BASE: &str = "/management/api/v1.0";

/// The most bytes of an answer the demo reads; its answers are small objects and short lists.
const ANSWER_BYTES_MAX: usize = 4 * 1024 * 1024;

/// The boundary of the multipart bodies the demo sends; neither part contains it.
const BOUNDARY: &str = "twinscape-demo-7f3c1a";

/// Why a request of the demo did not do what it asked.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DemoError {
    #[error("{method} {route} answered {status}: {message}")]
    Refused { method: Method, route: String, status: StatusCode, message: String },
    #[error("{method} {route} answered {status} with {body}, where {wanted} belongs")]
    Unexpected { method: Method, route: String, status: StatusCode, body: String, wanted: &'static str },
}

/// The router of a running server, to send management requests to.
#[derive(Clone)]
pub(crate) struct Api {
    app: Router,
}

/// One answer: its status and its body, as text and as JSON (`Null` when it is no JSON).
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) text: String,
    pub(crate) body: Value,
}

impl Api {
    pub(crate) fn new(app: Router) -> Api {
        Api { app }
    }

    /// `GET` of `route` (relative to the management base, with its query) that must answer 200; its JSON body.
    pub(crate) async fn get(&self, route: &str) -> Result<Value, DemoError> {
        let answer = self.send(Method::GET, route, &[], Body::empty()).await?;
        expect(&answer, &Method::GET, route, StatusCode::OK)?;
        Ok(answer.body)
    }

    /// `GET` of `route` that must answer 200; its body as text.
    pub(crate) async fn get_text(&self, route: &str) -> Result<String, DemoError> {
        let answer = self.send(Method::GET, route, &[], Body::empty()).await?;
        expect(&answer, &Method::GET, route, StatusCode::OK)?;
        Ok(answer.text)
    }

    /// `GET` of a list; its objects.
    pub(crate) async fn list(&self, route: &str) -> Result<Vec<Value>, DemoError> {
        match self.get(route).await? {
            Value::Array(items) => Ok(items),
            other => Err(DemoError::Unexpected {
                method: Method::GET,
                route: route.to_owned(),
                status: StatusCode::OK,
                body: other.to_string(),
                wanted: "a list",
            }),
        }
    }

    /// `POST` of a JSON body that must answer 201 with the new object's id.
    pub(crate) async fn create(&self, route: &str, body: &Value) -> Result<String, DemoError> {
        let answer = self.send_json(Method::POST, route, body).await?;
        created(answer, &Method::POST, route)
    }

    /// `POST` (create) or `PATCH` (update) of a user-defined function: multipart, `metadata` JSON and `contents` the script, as the 2018 samples upload them.
    /// An update may leave the script out (`None`), so it keeps its script and version.
    /// A create answers the new id; an update `None`.
    pub(crate) async fn upload(
        &self,
        method: Method,
        route: &str,
        metadata: &Value,
        script: Option<&str>,
    ) -> Result<Option<String>, DemoError> {
        let mut body = format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"metadata\"\r\nContent-Type: application/json\r\n\r\n{metadata}\r\n"
        );
        if let Some(script) = script {
            body.push_str(&format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"contents\"; filename=\"availability.js\"\r\nContent-Type: text/javascript\r\n\r\n{script}\r\n"
            ));
        }
        body.push_str(&format!("--{BOUNDARY}--\r\n"));
        let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
        let answer =
            self.send(method.clone(), route, &[(header::CONTENT_TYPE.as_str(), &content_type)], body.into()).await?;
        if method == Method::POST {
            return created(answer, &method, route).map(Some);
        }
        expect(&answer, &method, route, StatusCode::NO_CONTENT)?;
        Ok(None)
    }

    /// Sends a JSON body.
    pub(crate) async fn send_json(&self, method: Method, route: &str, body: &Value) -> Result<Answer, DemoError> {
        self.send(method, route, &[(header::CONTENT_TYPE.as_str(), "application/json")], body.to_string().into()).await
    }

    /// Sends one request to `route` under the management base with `headers`, and reads the whole answer.
    pub(crate) async fn send(
        &self,
        method: Method,
        route: &str,
        headers: &[(&str, &str)],
        body: Body,
    ) -> Result<Answer, DemoError> {
        let mut request = Request::builder().method(method.clone()).uri(format!("{MANAGEMENT_BASE}/{route}"));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(body).map_err(|err| DemoError::Refused {
            method: method.clone(),
            route: route.to_owned(),
            status: StatusCode::BAD_REQUEST,
            message: format!("the request cannot be built: {err}"),
        })?;
        let response = match self.app.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let status = response.status();
        let bytes =
            axum::body::to_bytes(response.into_body(), ANSWER_BYTES_MAX).await.map_err(|err| DemoError::Refused {
                method: method.clone(),
                route: route.to_owned(),
                status,
                message: format!("the answer cannot be read: {err}"),
            })?;
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let text = String::from_utf8_lossy(&bytes).into_owned();
        Ok(Answer { status, text, body })
    }
}

/// Percent-encodes `text` for a query string or a path segment.
pub(crate) fn encoded(text: &str) -> String {
    serde_urlencoded::to_string([("", text)]).map(|pair| pair[1..].to_owned()).unwrap_or_default()
}

/// Refuses an answer whose status is not `wanted`, with the 2018 error's message.
fn expect(answer: &Answer, method: &Method, route: &str, wanted: StatusCode) -> Result<(), DemoError> {
    if answer.status == wanted {
        return Ok(());
    }
    let message = answer.body["error"]["message"].as_str().map_or_else(|| answer.body.to_string(), str::to_owned);
    Err(DemoError::Refused { method: method.clone(), route: route.to_owned(), status: answer.status, message })
}

/// The id of a 201 answer.
fn created(answer: Answer, method: &Method, route: &str) -> Result<String, DemoError> {
    expect(&answer, method, route, StatusCode::CREATED)?;
    match answer.body {
        Value::String(id) => Ok(id),
        other => Err(DemoError::Unexpected {
            method: method.clone(),
            route: route.to_owned(),
            status: answer.status,
            body: other.to_string(),
            wanted: "the new id",
        }),
    }
}
