//! Import jobs: `PUT /jobs/imports/{id}` starts a bulk import that runs in the background, and the job record (status, counts, per-line errors) is kept durably in the store's `Jobs` table.
//!
//! As ADT: one bulk job runs at a time, status goes `notstarted` → `running` → `succeeded` | `failed` (or `cancelling` → `cancelled`), the input is named by `inputBlobUri` (here a file the server can read) and a log is written to `outputBlobUri` when given.
//! Our extension: the request body may be the NDJSON (or explorer JSON) itself.
//! A job that was running when the server stopped is marked failed at the next start; re-running the same import is safe, since imports change only what differs.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use graph::bulk::{self, Bulk};
use serde_json::{Map, Value, json};
use store::{Op, StoreError, Table};

use crate::data::{DataPlane, TenantState, now};
use crate::error::{ApiError, ErrorCode};
use crate::import::{ImportError, Progress};

/// Most per-line errors kept in a job record; the output log has them all.
const JOB_ERRORS_MAX: usize = 1_000;

/// Where an import's data comes from.
pub enum Input {
    /// A file the server reads (`inputBlobUri`).
    File(PathBuf),
    /// The request body.
    Body(String),
}

/// The jobs of the default tenant.
pub struct Jobs {
    records: Mutex<BTreeMap<String, Value>>,
    cancel: Mutex<BTreeMap<String, Arc<AtomicBool>>>,
}

impl Jobs {
    /// Loads the job records; a job left `running` or `notstarted` by a stopped server is marked failed.
    pub fn load(data: &DataPlane) -> Result<Jobs, StoreError> {
        let tenant = data.tenant();
        let mut records = BTreeMap::new();
        let mut interrupted = Vec::new();
        data.store().scan(&tenant.id, Table::Jobs, &mut |key, bytes| {
            let mut record: Value = serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt { what: format!("job record '{key}': {e}") })?;
            if matches!(record["status"].as_str(), Some("running" | "notstarted" | "cancelling")) {
                record["status"] = json!("failed");
                record["error"] = json!({"code": "ImportInterrupted", "message": "the server stopped while the job ran; run the import again (it changes only what differs)"});
                interrupted.push((key.to_owned(), record.clone()));
            }
            records.insert(key.to_owned(), record);
            Ok(())
        })?;
        for (key, record) in interrupted {
            data.store().commit(vec![job_op(&tenant.id, &key, &record)])?;
        }
        Ok(Jobs { records: Mutex::new(records), cancel: Mutex::new(BTreeMap::new()) })
    }

    pub fn get(&self, id: &str) -> Option<Value> {
        self.lock().get(id).cloned()
    }

    pub fn list(&self) -> Vec<(String, Value)> {
        self.lock().iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Value>> {
        self.records.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Creates a job and starts it in the background; refuses a second concurrent job (`JobLimitReached`) and an id in use.
    pub fn start(
        self: &Arc<Self>,
        data: Arc<DataPlane>,
        id: String,
        input: Input,
        input_uri: String,
        output: Option<PathBuf>,
    ) -> Result<Value, ApiError> {
        let tenant = data.tenant();
        let record = {
            let mut records = self.lock();
            if records.contains_key(&id) {
                return Err(ApiError::invalid_argument(format!(
                    "an import job with id '{id}' exists; delete it or use another id"
                )));
            }
            if records.values().any(|r| matches!(r["status"].as_str(), Some("notstarted" | "running" | "cancelling"))) {
                return Err(ApiError::new(
                    ErrorCode::JobLimitReached,
                    "another import job is running; one bulk job runs at a time",
                ));
            }
            let created = now();
            let record = json!({
                "id": id,
                "inputBlobUri": input_uri,
                "outputBlobUri": output.as_ref().map(|p| p.display().to_string()),
                "status": "notstarted",
                "createdDateTime": created,
                "lastActionDateTime": created,
                "finishedDateTime": null,
                "purgeDateTime": null,
                "counts": counts(&Progress::default()),
                "errors": [],
            });
            records.insert(id.clone(), record.clone());
            record
        };
        data.store().commit(vec![job_op(&tenant.id, &id, &record)]).map_err(|e| ApiError::internal(&e))?;
        let cancel = Arc::new(AtomicBool::new(false));
        self.cancel.lock().unwrap_or_else(|p| p.into_inner()).insert(id.clone(), Arc::clone(&cancel));
        let jobs = Arc::clone(self);
        tokio::task::spawn_blocking(move || jobs.run(&data, &tenant, &id, input, output, &cancel));
        Ok(record)
    }

    /// Asks a running job to stop after its current chunk; what was imported stays (no rollback, as ADT).
    pub fn cancel(&self, data: &DataPlane, id: &str) -> Result<Value, ApiError> {
        let flag = self.cancel.lock().unwrap_or_else(|p| p.into_inner()).get(id).cloned();
        let record = self.update(data, id, |r| {
            if matches!(r["status"].as_str(), Some("notstarted" | "running")) {
                r["status"] = json!("cancelling");
            }
        })?;
        if let Some(flag) = flag {
            flag.store(true, Ordering::SeqCst);
        }
        Ok(record)
    }

    /// Removes a job record; a running job is cancelled first.
    pub fn delete(&self, data: &DataPlane, id: &str) -> Result<(), ApiError> {
        if self.get(id).is_none() {
            return Err(job_not_found(id));
        }
        if let Some(flag) = self.cancel.lock().unwrap_or_else(|p| p.into_inner()).remove(id) {
            flag.store(true, Ordering::SeqCst);
        }
        self.lock().remove(id);
        let tenant = data.tenant();
        data.store()
            .commit(vec![Op::Delete { tenant: tenant.id.clone(), table: Table::Jobs, key: id.to_owned() }])
            .map_err(|e| ApiError::internal(&e))?;
        Ok(())
    }

    fn update(&self, data: &DataPlane, id: &str, change: impl FnOnce(&mut Value)) -> Result<Value, ApiError> {
        let record = {
            let mut records = self.lock();
            let record = records.get_mut(id).ok_or_else(|| job_not_found(id))?;
            change(record);
            record["lastActionDateTime"] = json!(now());
            record.clone()
        };
        let tenant = data.tenant();
        data.store().commit(vec![job_op(&tenant.id, id, &record)]).map_err(|e| ApiError::internal(&e))?;
        Ok(record)
    }

    fn run(
        &self,
        data: &DataPlane,
        tenant: &TenantState,
        id: &str,
        input: Input,
        output: Option<PathBuf>,
        cancel: &AtomicBool,
    ) {
        let mut log = output.as_ref().and_then(|path| match std::fs::File::create(path) {
            Ok(f) => Some(f),
            Err(e) => {
                tracing::warn!(job = id, path = %path.display(), error = %e, "cannot write the import job's output log");
                None
            }
        });
        let mut write_log = |kind: &str, details: Value| {
            if let Some(f) = log.as_mut() {
                let line =
                    json!({"timestamp": now(), "jobId": id, "jobType": "Import", "logType": kind, "details": details});
                let _ = writeln!(f, "{line}");
            }
        };
        let _ = self.update(data, id, |r| r["status"] = json!("running"));
        write_log("Info", json!({"status": "Started"}));
        let text = match input {
            Input::Body(text) => Ok(text),
            Input::File(path) => {
                std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))
            }
        };
        let outcome = match text {
            Err(message) => Err(("InputUnreadable", message)),
            Ok(text) => {
                let bulk: Bulk = bulk::parse(&text, bulk::detect(&text));
                drop(text);
                let result = data.import(tenant, bulk, |progress| {
                    let _ = self.update(data, id, |r| r["counts"] = counts(progress));
                    !cancel.load(Ordering::SeqCst)
                });
                match result {
                    Ok(progress) => Ok(progress),
                    Err(ImportError::Cancelled) => Err(("Cancelled", "the job was cancelled".to_owned())),
                    Err(ImportError::Store(e)) => Err(("StoreFailed", e.to_string())),
                }
            }
        };
        let finished = now();
        let result = self.update(data, id, |r| {
            r["finishedDateTime"] = json!(finished);
            match &outcome {
                Ok(progress) => {
                    r["counts"] = counts(progress);
                    r["errors"] = Value::Array(progress.errors.iter().take(JOB_ERRORS_MAX).map(|e| json!({"line": e.line, "message": e.message})).collect());
                    if progress.errors.is_empty() {
                        r["status"] = json!("succeeded");
                    } else {
                        r["status"] = json!("failed");
                        r["error"] = json!({"code": "ImportRecordsFailed", "message": format!("{} record(s) could not be imported; see \"errors\"", progress.errors.len())});
                    }
                }
                Err(("Cancelled", _)) => r["status"] = json!("cancelled"),
                Err((code, message)) => {
                    r["status"] = json!("failed");
                    r["error"] = json!({"code": code, "message": message});
                }
            }
        });
        if let Ok(progress) = &outcome {
            for e in &progress.errors {
                write_log("Error", json!({"line": e.line, "message": e.message}));
            }
        }
        write_log("Info", json!({"status": result.as_ref().map(|r| r["status"].clone()).unwrap_or(Value::Null)}));
        self.cancel.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
        if let Err(e) = result {
            tracing::error!(job = id, error = %e.message(), "recording the end of an import job failed");
        }
    }
}

fn counts(p: &Progress) -> Value {
    let mut m = Map::new();
    m.insert("modelsCreated".to_owned(), json!(p.models_created));
    m.insert("modelsUnchanged".to_owned(), json!(p.models_unchanged));
    m.insert("twinsWritten".to_owned(), json!(p.twins_written));
    m.insert("relationshipsWritten".to_owned(), json!(p.relationships_written));
    m.insert("recordsDone".to_owned(), json!(p.records_done));
    m.insert("recordsTotal".to_owned(), json!(p.records_total));
    m.insert("errors".to_owned(), json!(p.errors.len()));
    Value::Object(m)
}

fn job_op(tenant: &store::TenantId, id: &str, record: &Value) -> Op {
    Op::Put {
        tenant: tenant.clone(),
        table: Table::Jobs,
        key: id.to_owned(),
        value: serde_json::to_vec(record).expect("serializing a JSON value into memory cannot fail"),
    }
}

pub fn job_not_found(id: &str) -> ApiError {
    ApiError::new(ErrorCode::ImportJobNotFound, format!("there is no import job with id '{id}'"))
}
