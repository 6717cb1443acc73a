//! `twinscape import --format provision FILE.yaml`: creates the topology of a provisioning YAML file (the style of the 2018 samples' `provisionSample.yaml`, read by `topology`) on a running server through the 2018 management API, idempotently.
//!
//! Every object is looked up before it is created, so a second run creates nothing and reports every object as existing.
//! The HTTP sequence is the official occupancy sample's (reference README §13), carried over to the keys the sample ignored; per space, depth first:
//! the space, found by name under its parent (`GET spaces?$filter=Name eq '…' and ParentSpaceId eq guid'…'`) or created with `Type` and `Subtype` (which the sample left out),
//! then its custom types, property keys, property values, resources (waiting while each provisions), devices with their connection strings and each device's sensors, and users; then its child spaces.
//! Matchers, user-defined functions and role assignments are reported as skipped, one line each: this server does not have them yet.
//! A file with problems sends nothing; the first refusal from the server stops the run with the API's message and the object's place in the file, after reporting what was done before it (a re-run picks up from there).
//! An unreachable server is an error of the command (exit code 2), as for the other imports.
//! This file does not judge types, names or values: the server does, and its message is passed on.

mod topology;

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use reqwest::{Method, StatusCode, Url};
use serde_json::{Map, Value, json};

use self::topology::{Device, Object, Place, Problem, Skipped, SkippedKind, Space, Topology};
use crate::{Output, table};

/// The scope of a property key whose entry gives none: keys listed on a space are for spaces, as SmartHotel360 creates them.
pub(crate) const DEFAULT_KEY_SCOPE: &str = "Spaces";

/// Where the 2018 management API is mounted on a server.
const MANAGEMENT_BASE: &str = "management/api/v1.0/";

/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a resource may stay `Provisioning` before the run gives up on it; the samples wait without end.
const RESOURCE_WAIT_MAX: Duration = Duration::from_secs(300);

/// The first and the longest pause between two reads of a provisioning resource.
const RESOURCE_POLL_MS: (u64, u64) = (50, 2000);

/// Why an object is reported but not sent.
const NOT_SUPPORTED: &str = "not yet supported by this server";

/// Reads `file`, checks it whole, and provisions it on the server at `server`; the report is a table, or JSON with `json`.
pub(crate) fn run(file: &Path, server: &str, ca_cert: Option<&Path>, json: bool) -> Result<Output> {
    let name = file.display().to_string();
    let size = std::fs::metadata(file).with_context(|| format!("read {name}"))?.len();
    if size > topology::FILE_BYTES_MAX {
        bail!("read {name}: the file has {size} bytes, more than the limit of {}", topology::FILE_BYTES_MAX);
    }
    let text = std::fs::read_to_string(file).with_context(|| format!("read {name}"))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let (topology, problems) = topology::parse(text);
    if !problems.is_empty() {
        return Ok(report_problems(&name, &problems, json));
    }
    let api = Api::new(server, crate::bulk::client(ca_cert)?)?;
    let mut run = Run { api, rows: Vec::new() };
    let outcome = crate::bulk::runtime()?.block_on(run.topology(&topology));
    match outcome {
        Ok(()) => Ok(report(&name, &run.rows, None, json)),
        Err(Halt::Failed(failure)) => Ok(report(&name, &run.rows, Some(&failure), json)),
        Err(Halt::Unreachable(err)) => Err(err),
    }
}

/// What became of an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Created,
    /// It existed, and the file changed it (a property's value, a user's names).
    Updated,
    Exists,
    Skipped,
}

impl Status {
    fn name(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Updated => "updated",
            Status::Exists => "exists",
            Status::Skipped => "skipped",
        }
    }
}

/// One reported object.
struct Row {
    kind: &'static str,
    /// How deep the object sits in the topology, for the indentation of its name: a root space is 0, what it holds 1.
    depth: usize,
    name: String,
    place: Place,
    id: Option<String>,
    status: Status,
    /// More to say: a space's type, a device's connection string, a property's value, why an object was skipped.
    detail: Detail,
}

/// What a row says besides its kind, name, id and status: one text for the table, the same as named members for JSON.
#[derive(Default)]
struct Detail {
    text: String,
    members: Vec<(&'static str, String)>,
}

impl Detail {
    /// A detail of one member, shown as its text.
    fn one(member: &'static str, text: impl Into<String>) -> Detail {
        let text = text.into();
        Detail { text: text.clone(), members: vec![(member, text)] }
    }
}

/// The refusal that stopped a run, and the object it was about.
struct Failure {
    kind: &'static str,
    name: String,
    place: Place,
    message: String,
}

/// Why a run stopped early.
enum Halt {
    Failed(Failure),
    Unreachable(anyhow::Error),
}

/// Why a step could not finish: the server refused it (the message says which request and why), or could not be reached.
enum Stop {
    Refused(String),
    Unreachable(anyhow::Error),
}

type Step<T> = std::result::Result<T, Stop>;

/// Ties a stopped step to the object it was about.
fn at(kind: &'static str, name: &str, place: &Place) -> impl FnOnce(Stop) -> Halt {
    let (name, place) = (name.to_owned(), place.clone());
    move |stop| match stop {
        Stop::Refused(message) => Halt::Failed(Failure { kind, name, place, message }),
        Stop::Unreachable(err) => Halt::Unreachable(err),
    }
}

/// The 2018 management API of one server.
struct Api {
    client: reqwest::Client,
    /// `…/management/api/v1.0/`, with the final slash, so routes join under it.
    base: Url,
}

/// A server's answer: its status and its body as JSON (a body that is not JSON is kept as a string).
struct Reply {
    status: StatusCode,
    body: Value,
}

impl Api {
    fn new(server: &str, client: reqwest::Client) -> Result<Api> {
        let root = format!("{}/", server.trim_end_matches('/'));
        let base = Url::parse(&root)
            .and_then(|root| root.join(MANAGEMENT_BASE))
            .with_context(|| format!("read the server address {server}"))?;
        Ok(Api { client, base })
    }

    async fn send(&self, method: Method, route: &str, query: &[(&str, &str)], body: Option<&Value>) -> Step<Reply> {
        let mut url =
            self.base.join(route).map_err(|err| Stop::Unreachable(anyhow!("build the URL of {route}: {err}")))?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let mut request = self.client.request(method, url).timeout(REQUEST_TIMEOUT);
        if let Some(body) = body {
            request = request.json(body);
        }
        let unreachable = |err: reqwest::Error| {
            Stop::Unreachable(anyhow::Error::new(err).context(format!("reach the server at {}", self.base)))
        };
        let response = request.send().await.map_err(unreachable)?;
        let status = response.status();
        let text = response.text().await.map_err(unreachable)?;
        let body = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Ok(Reply { status, body })
    }

    /// A read that must answer 200.
    async fn get(&self, route: &str, query: &[(&str, &str)]) -> Step<Value> {
        let reply = self.send(Method::GET, route, query, None).await?;
        expect(&reply, "GET", route, &[StatusCode::OK])?;
        Ok(reply.body)
    }

    /// A list read: the objects of the answer.
    async fn list(&self, route: &str, query: &[(&str, &str)]) -> Step<Vec<Value>> {
        match self.get(route, query).await? {
            Value::Array(items) => Ok(items),
            other => Err(Stop::Refused(format!("GET {route} answered {other} where a list belongs"))),
        }
    }

    /// A create that must answer 201 with the new id (a JSON string, or a number for types and property keys).
    async fn create(&self, method: Method, route: &str, body: &Value) -> Step<String> {
        let reply = self.send(method.clone(), route, &[], Some(body)).await?;
        expect(&reply, method.as_str(), route, &[StatusCode::CREATED])?;
        created_id(&reply, method.as_str(), route)
    }
}

/// Refuses an answer whose status is not one of `wanted`, with the API's message.
fn expect(reply: &Reply, method: &str, route: &str, wanted: &[StatusCode]) -> Step<()> {
    if wanted.contains(&reply.status) {
        return Ok(());
    }
    Err(Stop::Refused(refusal(reply, method, route)))
}

/// `POST spaces answered 400 Bad Request: <the API's message>`.
fn refusal(reply: &Reply, method: &str, route: &str) -> String {
    let message = match reply.body.pointer("/error/message").and_then(Value::as_str) {
        Some(message) => message.to_owned(),
        None => match &reply.body {
            Value::Null => "(no message)".to_owned(),
            Value::String(text) => text.clone(),
            other => other.to_string(),
        },
    };
    format!("{method} {route} answered {}: {message}", reply.status)
}

fn created_id(reply: &Reply, method: &str, route: &str) -> Step<String> {
    match &reply.body {
        Value::String(id) => Ok(id.clone()),
        Value::Number(id) => Ok(id.to_string()),
        other => Err(Stop::Refused(format!("{method} {route} answered 201 with {other} where the new id belongs"))),
    }
}

/// The id of an object the server listed.
fn id_of(object: &Value) -> Option<String> {
    match object.get("id")? {
        Value::String(id) => Some(id.clone()),
        Value::Number(id) => Some(id.to_string()),
        _ => None,
    }
}

/// Whether member `name` of a listed object is `text`, ignoring case (as the 2018 API compares names).
fn has(object: &Value, name: &str, text: &str) -> bool {
    object.get(name).and_then(Value::as_str).is_some_and(|v| v.eq_ignore_ascii_case(text))
}

/// A create body: the members the file gave and those the place in the topology adds.
fn body(members: &[(&'static str, String)], extra: &[(&str, &str)]) -> Value {
    let mut body = Map::new();
    for (member, text) in members {
        body.insert((*member).to_owned(), json!(text));
    }
    for (member, text) in extra {
        body.insert((*member).to_owned(), json!(text));
    }
    Value::Object(body)
}

/// A text in an OData string literal, where a quote is written twice.
fn odata_text(text: &str) -> String {
    text.replace('\'', "''")
}

/// One provisioning run: the server and what it reported so far.
struct Run {
    api: Api,
    rows: Vec<Row>,
}

impl Run {
    /// Provisions the spaces depth first, each before what it holds and its holdings before its children, as the sample does.
    async fn topology(&mut self, topology: &Topology) -> std::result::Result<(), Halt> {
        let mut pending: Vec<(&Space, Option<String>, usize)> =
            topology.spaces.iter().rev().map(|s| (s, None, 0)).collect();
        while let Some((space, parent, depth)) = pending.pop() {
            let id =
                self.space(space, parent.as_deref(), depth).await.map_err(at("space", &space.name, &space.place))?;
            self.holdings(space, &id, depth + 1).await?;
            pending.extend(space.children.iter().rev().map(|child| (child, Some(id.clone()), depth + 1)));
        }
        Ok(())
    }

    fn report(&mut self, row: Row) {
        self.rows.push(row);
    }

    /// Finds the space by name under its parent, or creates it; its id.
    async fn space(&mut self, space: &Space, parent: Option<&str>, depth: usize) -> Step<String> {
        let name = odata_text(&space.name);
        let filter = match parent {
            None => format!("Name eq '{name}' and ParentSpaceId eq null"),
            Some(parent) => format!("Name eq '{name}' and ParentSpaceId eq guid'{parent}'"),
        };
        // `name` narrows the candidates before the filter runs, so the lookup stays under the server's result cap in a large tenant.
        let query = [("name", space.name.as_str()), ("$filter", &filter), ("includes", "types")];
        let found = self.api.list("spaces", &query).await?;
        let (id, status, shown) = match found.as_slice() {
            [] => {
                let mut extra = vec![("Name", space.name.as_str())];
                extra.extend(parent.map(|p| ("ParentSpaceId", p)));
                let id = self.api.create(Method::POST, "spaces", &body(&space.members, &extra)).await?;
                // Read back for the types as the server named them.
                let shown = self.api.get(&format!("spaces/{id}"), &[("includes", "types")]).await?;
                (id, Status::Created, shown)
            }
            [one] => (
                id_of(one).ok_or_else(|| Stop::Refused(format!("GET spaces listed a space without an id: {one}")))?,
                Status::Exists,
                one.clone(),
            ),
            many => {
                let under = parent.map_or_else(|| "at the root".to_owned(), |p| format!("under space {p}"));
                return Err(Stop::Refused(format!(
                    "{} spaces named '{}' are {under}; the file cannot tell which one it means",
                    many.len(),
                    space.name
                )));
            }
        };
        // The types the space has, which for a space found may differ from the file's: a found space is not changed.
        let text = |member: &str| shown.get(member).and_then(Value::as_str).unwrap_or("None").to_owned();
        let (ty, subtype) = (text("type"), text("subtype"));
        let detail = Detail {
            text: if subtype == "None" { ty.clone() } else { format!("{ty}/{subtype}") },
            members: vec![("type", ty), ("subtype", subtype)],
        };
        self.report(Row {
            kind: "space",
            depth,
            name: space.name.clone(),
            place: space.place.clone(),
            id: Some(id.clone()),
            status,
            detail,
        });
        Ok(id)
    }

    /// What a space holds, in the order the file's objects depend on each other: types and property keys before the objects and values that use them.
    async fn holdings(&mut self, space: &Space, id: &str, depth: usize) -> std::result::Result<(), Halt> {
        for ty in &space.types {
            let name = ty.member("Name").unwrap_or_default();
            self.custom_type(ty, id, depth).await.map_err(at("type", name, &ty.place))?;
        }
        for key in &space.property_keys {
            let name = key.member("Name").unwrap_or_default();
            self.property_key(key, id, depth).await.map_err(at("propertykey", name, &key.place))?;
        }
        if !space.properties.is_empty() {
            self.properties(space, id, depth).await?;
        }
        for resource in &space.resources {
            let kind = resource.member("Type").unwrap_or_default();
            self.resource(resource, id, depth).await.map_err(at("resource", kind, &resource.place))?;
        }
        for device in &space.devices {
            self.device(device, id, depth).await?;
        }
        for user in &space.users {
            let upn = user.member("Upn").unwrap_or_default();
            self.user(user, id, depth).await.map_err(at("user", upn, &user.place))?;
        }
        for skipped in &space.skipped {
            self.skipped(skipped, depth);
        }
        Ok(())
    }

    /// A custom extended type on the space, found by category and name among the space's own types.
    async fn custom_type(&mut self, ty: &Object, space: &str, depth: usize) -> Step<()> {
        let (category, name) = (ty.member("Category").unwrap_or_default(), ty.member("Name").unwrap_or_default());
        let query = [("spaceId", space), ("system", "false"), ("categories", category), ("names", name)];
        let found = self.api.list("types", &query).await?;
        let existing =
            found.iter().find(|t| has(t, "spaceId", space) && has(t, "category", category) && has(t, "name", name));
        let (id, status) = match existing.and_then(id_of) {
            Some(id) => (id, Status::Exists),
            None => (
                self.api.create(Method::POST, "types", &body(&ty.members, &[("SpaceId", space)])).await?,
                Status::Created,
            ),
        };
        self.report(Row {
            kind: "type",
            depth,
            name: name.to_owned(),
            place: ty.place.clone(),
            id: Some(id),
            status,
            detail: Detail::one("category", category),
        });
        Ok(())
    }

    /// A property key defined on the space, found by scope and name among the space's own keys.
    async fn property_key(&mut self, key: &Object, space: &str, depth: usize) -> Step<()> {
        let name = key.member("Name").unwrap_or_default();
        let scope = key.member("Scope").unwrap_or(DEFAULT_KEY_SCOPE);
        let found =
            self.api.list("propertykeys", &[("spaceId", space), ("traverse", "None"), ("scope", scope)]).await?;
        let existing =
            found.iter().find(|k| has(k, "spaceId", space) && has(k, "scope", scope) && has(k, "name", name));
        let (id, status) = match existing.and_then(id_of) {
            Some(id) => (id, Status::Exists),
            None => {
                let mut extra = vec![("SpaceId", space)];
                if key.member("Scope").is_none() {
                    extra.push(("Scope", DEFAULT_KEY_SCOPE));
                }
                (self.api.create(Method::POST, "propertykeys", &body(&key.members, &extra)).await?, Status::Created)
            }
        };
        self.report(Row {
            kind: "propertykey",
            depth,
            name: name.to_owned(),
            place: key.place.clone(),
            id: Some(id),
            status,
            detail: Detail::one("scope", scope),
        });
        Ok(())
    }

    /// The space's property values, each reported as soon as it is done: one missing or different is set with a `PUT` of its own (which creates or updates it, and whose refusal names it), and the values read before and after tell what changed (the server normalises values by their key, so `True` may be stored as `true`).
    async fn properties(&mut self, space: &Space, id: &str, depth: usize) -> std::result::Result<(), Halt> {
        let route = format!("spaces/{id}/properties");
        let value_in = |listed: &[Value], name: &str| -> Option<String> {
            listed
                .iter()
                .find(|p| has(p, "name", name))
                .and_then(|p| p.get("value"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let first = &space.properties[0];
        let before = self.api.list(&route, &[]).await.map_err(at("property", &first.name, &first.place))?;
        for property in &space.properties {
            let was = value_in(&before, &property.name);
            let is = if was.as_deref() == Some(property.value.as_str()) {
                was.clone()
            } else {
                let item = json!([{"Name": property.name, "Value": property.value}]);
                let set = async {
                    let reply = self.api.send(Method::PUT, &route, &[], Some(&item)).await?;
                    expect(&reply, "PUT", &route, &[StatusCode::OK, StatusCode::NO_CONTENT])?;
                    self.api.list(&route, &[]).await
                };
                let after = set.await.map_err(at("property", &property.name, &property.place))?;
                value_in(&after, &property.name)
            };
            let status = match &was {
                None => Status::Created,
                Some(was) if Some(was) == is.as_ref() => Status::Exists,
                Some(_) => Status::Updated,
            };
            self.report(Row {
                kind: "property",
                depth,
                name: property.name.clone(),
                place: property.place.clone(),
                id: None,
                status,
                detail: Detail::one("value", is.unwrap_or_else(|| property.value.clone())),
            });
        }
        Ok(())
    }

    /// A space resource of a type, found on the space or created; either way the run waits while it provisions.
    async fn resource(&mut self, resource: &Object, space: &str, depth: usize) -> Step<()> {
        let kind = resource.member("Type").unwrap_or_default();
        let found = self.api.list("resources", &[("spaceId", space), ("type", kind)]).await?;
        let existing = found.iter().find(|r| has(r, "spaceId", space) && has(r, "type", kind));
        let (id, status) = match existing.and_then(id_of) {
            Some(id) => (id, Status::Exists),
            None => {
                let body = body(&resource.members, &[("SpaceId", space)]);
                (self.api.create(Method::POST, "resources", &body).await?, Status::Created)
            }
        };
        let state = self.wait_for(&id).await?;
        self.report(Row {
            kind: "resource",
            depth,
            name: kind.to_owned(),
            place: resource.place.clone(),
            id: Some(id),
            status,
            detail: Detail::one("resourceStatus", state),
        });
        Ok(())
    }

    /// Reads the resource until it is no longer `Provisioning`, as the samples poll it; its status then, which must be `Running`.
    async fn wait_for(&self, id: &str) -> Step<String> {
        let route = format!("resources/{id}");
        let started = Instant::now();
        let mut pause = RESOURCE_POLL_MS.0;
        loop {
            let resource = self.api.get(&route, &[]).await?;
            let status = resource.get("status").and_then(Value::as_str).unwrap_or_default().to_owned();
            if status.eq_ignore_ascii_case("running") {
                return Ok(status);
            }
            if !status.eq_ignore_ascii_case("provisioning") {
                return Err(Stop::Refused(format!("resource {id} is {status}, not Running")));
            }
            if started.elapsed() > RESOURCE_WAIT_MAX {
                return Err(Stop::Refused(format!(
                    "resource {id} is still Provisioning after {} s; run the import again later",
                    RESOURCE_WAIT_MAX.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(pause)).await;
            pause = (pause * 2).min(RESOURCE_POLL_MS.1);
        }
    }

    /// A device, found in the space by hardware id (or by name when it has none) or created, with its connection string; then its sensors.
    async fn device(&mut self, device: &Device, space: &str, depth: usize) -> std::result::Result<(), Halt> {
        let name = device.member("Name").or(device.member("HardwareId")).unwrap_or_default().to_owned();
        let (id, row) =
            self.device_itself(device, space, depth, &name).await.map_err(at("device", &name, &device.place))?;
        self.report(row);
        let existing = self.api.list("sensors", &[("deviceIds", &id), ("includes", "types")]).await.map_err(at(
            "device",
            &name,
            &device.place,
        ))?;
        let mut claimed: Vec<String> = Vec::new();
        for sensor in &device.sensors {
            let label = sensor.member("HardwareId").or(sensor.member("DataType")).unwrap_or("sensor").to_owned();
            self.sensor(sensor, &id, &existing, &mut claimed, depth + 1).await.map_err(at(
                "sensor",
                &label,
                &sensor.place,
            ))?;
        }
        Ok(())
    }

    async fn device_itself(&mut self, device: &Device, space: &str, depth: usize, name: &str) -> Step<(String, Row)> {
        let query = match device.member("HardwareId") {
            Some(hardware_id) => [("hardwareIds", hardware_id), ("spaceId", space)],
            None => [("names", name), ("spaceId", space)],
        };
        let found = self.api.list("devices", &query).await?;
        let (id, status) = match found.as_slice() {
            [] => (
                self.api.create(Method::POST, "devices", &body(&device.members, &[("SpaceId", space)])).await?,
                Status::Created,
            ),
            [one] => (
                id_of(one).ok_or_else(|| Stop::Refused(format!("GET devices listed a device without an id: {one}")))?,
                Status::Exists,
            ),
            many => {
                return Err(Stop::Refused(format!(
                    "{} devices named '{name}' are in space {space}; the file cannot tell which one it means (give the device a hardwareId)",
                    many.len()
                )));
            }
        };
        // The sample reads the connection string this way: lists never carry it.
        let route = format!("devices/{id}");
        let with_string = self.api.get(&route, &[("includes", "ConnectionString")]).await?;
        let connection = with_string.get("connectionString").and_then(Value::as_str).map(str::to_owned);
        let row = Row {
            kind: "device",
            depth,
            name: name.to_owned(),
            place: device.place.clone(),
            id: Some(id.clone()),
            status,
            detail: connection.map(|c| Detail::one("connectionString", c)).unwrap_or_default(),
        };
        Ok((id, row))
    }

    /// A sensor of the device: the device's sensor of that hardware id, or (without one) its first sensor of that data type not matched yet; else created.
    ///
    /// A create refused with 409 (the hardware id is taken) counts as existing when the sensor of that hardware id is on this device, as the sample's re-runs rely on.
    async fn sensor(
        &mut self,
        sensor: &Object,
        device: &str,
        existing: &[Value],
        claimed: &mut Vec<String>,
        depth: usize,
    ) -> Step<()> {
        let data_type = sensor.member("DataType").unwrap_or("None");
        let found = match sensor.member("HardwareId") {
            Some(hardware_id) => existing.iter().find(|s| has(s, "hardwareId", hardware_id)),
            None => existing
                .iter()
                .find(|s| has(s, "dataType", data_type) && id_of(s).is_some_and(|id| !claimed.contains(&id))),
        };
        let (id, status) = match found.and_then(id_of) {
            Some(id) => (id, Status::Exists),
            None => {
                let reply = self
                    .api
                    .send(Method::POST, "sensors", &[], Some(&body(&sensor.members, &[("DeviceId", device)])))
                    .await?;
                match (reply.status, sensor.member("HardwareId")) {
                    (StatusCode::CREATED, _) => (created_id(&reply, "POST", "sensors")?, Status::Created),
                    (StatusCode::CONFLICT, Some(hardware_id)) => {
                        let holder = self.api.list("sensors", &[("hardwareIds", hardware_id)]).await?;
                        match holder.iter().find(|s| has(s, "deviceId", device)).and_then(id_of) {
                            Some(id) => (id, Status::Exists),
                            None => return Err(Stop::Refused(refusal(&reply, "POST", "sensors"))),
                        }
                    }
                    _ => return Err(Stop::Refused(refusal(&reply, "POST", "sensors"))),
                }
            }
        };
        claimed.push(id.clone());
        self.report(Row {
            kind: "sensor",
            depth,
            name: sensor.member("HardwareId").unwrap_or(data_type).to_owned(),
            place: sensor.place.clone(),
            id: Some(id),
            status,
            detail: Detail::one("dataType", data_type),
        });
        Ok(())
    }

    /// A user of the space, found by upn; `PUT users` creates it, or updates the names the file gives when they differ.
    async fn user(&mut self, user: &Object, space: &str, depth: usize) -> Step<()> {
        let upn = user.member("Upn").unwrap_or_default();
        let found = self.api.list("users", &[("spaceId", space), ("upn", upn)]).await?;
        let existing = found.iter().find(|u| has(u, "upn", upn));
        let same = |u: &Value| {
            [("FirstName", "firstName"), ("LastName", "lastName")].iter().all(|(member, shown)| {
                user.member(member).is_none_or(|given| u.get(*shown).and_then(Value::as_str) == Some(given))
            })
        };
        let (id, status) = match existing {
            Some(found) if same(found) => (
                id_of(found).ok_or_else(|| Stop::Refused(format!("GET users listed a user without an id: {found}")))?,
                Status::Exists,
            ),
            _ => {
                let reply =
                    self.api.send(Method::PUT, "users", &[], Some(&body(&user.members, &[("SpaceId", space)]))).await?;
                expect(&reply, "PUT", "users", &[StatusCode::CREATED, StatusCode::NO_CONTENT])?;
                if reply.status == StatusCode::CREATED {
                    (created_id(&reply, "PUT", "users")?, Status::Created)
                } else {
                    let id = existing
                        .and_then(id_of)
                        .ok_or_else(|| Stop::Refused("PUT users updated a user the list did not show".to_owned()))?;
                    (id, Status::Updated)
                }
            }
        };
        self.report(Row {
            kind: "user",
            depth,
            name: upn.to_owned(),
            place: user.place.clone(),
            id: Some(id),
            status,
            detail: Detail::default(),
        });
        Ok(())
    }

    fn skipped(&mut self, skipped: &Skipped, depth: usize) {
        self.report(Row {
            kind: skipped.kind.name(),
            depth,
            name: skipped.name.clone(),
            place: skipped.place.clone(),
            id: None,
            status: Status::Skipped,
            detail: Detail::one("reason", NOT_SUPPORTED),
        });
    }
}

/// The problems of a file that was not sent: one line each on stderr (`FILE:LINE: PATH: message`), or a JSON report.
fn report_problems(file: &str, problems: &[Problem], json: bool) -> Output {
    if json {
        let problems: Vec<Value> =
            problems.iter().map(|p| json!({"line": p.line, "path": p.path, "message": p.message})).collect();
        let report = json!({"objects": [], "problems": problems, "error": null});
        return Output { stdout: pretty(&report), stderr: String::new(), success: false };
    }
    let mut stderr = String::new();
    for problem in problems {
        let path = if problem.path.is_empty() { String::new() } else { format!("{}: ", problem.path) };
        stderr.push_str(&format!("{file}:{}: {path}{}\n", problem.line, problem.message));
    }
    let count = if problems.len() == 1 { "1 problem".to_owned() } else { format!("{} problems", problems.len()) };
    stderr.push_str(&format!("{count} in {file}; nothing was sent to the server\n"));
    Output { stdout: String::new(), stderr, success: false }
}

/// The objects of a run as a table and a summary line (or JSON), and the refusal that stopped it, if one did.
fn report(file: &str, rows: &[Row], failure: Option<&Failure>, json: bool) -> Output {
    let count = |status: Status| rows.iter().filter(|r| r.status == status).count();
    let error = failure
        .map(|f| format!("{} '{}' at {} ({file}:{}): {}", f.kind, f.name, f.place.path, f.place.line, f.message));
    if json {
        let objects: Vec<Value> = rows
            .iter()
            .map(|row| {
                let mut object = json!({
                    "kind": row.kind,
                    "name": row.name,
                    "path": row.place.path,
                    "line": row.place.line,
                    "id": row.id,
                    "status": row.status.name(),
                });
                for (member, text) in &row.detail.members {
                    object[*member] = json!(text);
                }
                object
            })
            .collect();
        let error = failure.map(|f| {
            json!({"kind": f.kind, "name": f.name, "path": f.place.path, "line": f.place.line, "message": f.message})
        });
        let report = json!({
            "objects": objects,
            "created": count(Status::Created),
            "updated": count(Status::Updated),
            "existing": count(Status::Exists),
            "skipped": count(Status::Skipped),
            "problems": [],
            "error": error,
        });
        return Output { stdout: pretty(&report), stderr: String::new(), success: failure.is_none() };
    }
    let mut table = vec![["kind", "name", "id", "status", "detail"].map(str::to_owned).to_vec()];
    for row in rows {
        table.push(vec![
            row.kind.to_owned(),
            format!("{}{}", "  ".repeat(row.depth), row.name),
            row.id.clone().unwrap_or_else(|| "-".to_owned()),
            row.status.name().to_owned(),
            row.detail.text.clone(),
        ]);
    }
    let mut stdout = if rows.is_empty() { String::new() } else { table::render(&table, "") };
    stdout.push_str(&format!(
        "{} created, {} updated, {} existing, {} skipped",
        count(Status::Created),
        count(Status::Updated),
        count(Status::Exists),
        count(Status::Skipped)
    ));
    let skipped: Vec<String> = SkippedKind::ALL
        .iter()
        .filter_map(|kind| {
            let n = rows.iter().filter(|r| r.status == Status::Skipped && r.kind == kind.name()).count();
            (n > 0).then(|| format!("{n} {}{}", kind.name(), if n == 1 { "" } else { "s" }))
        })
        .collect();
    if !skipped.is_empty() {
        stdout.push_str(&format!(" ({NOT_SUPPORTED}: {})", skipped.join(", ")));
    }
    stdout.push('\n');
    let stderr = error.map(|e| format!("error: {e}\n")).unwrap_or_default();
    Output { stdout, stderr, success: failure.is_none() }
}

fn pretty(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("a JSON value always serializes");
    text.push('\n');
    text
}
