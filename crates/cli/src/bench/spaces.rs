//! The `spaces` scenario of `twinscape bench`: the 2018 management face over a large graph, one request at a time.
//!
//! It installs the built-in 2018 models with one 2018 write (a space created and deleted again), checks the extended types the portfolio's spatial flavor uses against the server's catalogue, and loads the portfolio with its tower as twins of those models in one import job (`bench::import_phase`, without a Models section).
//! Then two timed phases on one connection, each request alone, so a latency is one request's and not a queue's:
//! `spaces-down` lists the tower's spaces (`spaces?spaceId=<tower>&traverse=Down&includes=values`), each answer counted against the portfolio;
//! `floor-move` moves the tower's first floor to the site's first ordinary building and back (`PATCH spaces/{floor}` with `parentSpaceId`), alternately, so every move is real, each checked with a read of the floor after its clock stopped.
//! The floor is put back in the tower at the end, so a rerun finds the portfolio as imported.
//! What is sent is derived from the `portfolio`; the import, the target check and the rendering of results belong to `bench`.

use std::collections::BTreeSet;
use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use hdrhistogram::Histogram;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

use super::load::{self, Bound, ERROR_SAMPLES_MAX, Phase, PhaseReport, Target, call};
use portfolio::{Kind, Portfolio, SpatialType};

/// Where the 2018 management face is mounted.
const MANAGEMENT: &str = "/management/api/v1.0";
/// The highest latency the histograms record, in microseconds.
const LATENCY_US_MAX: u64 = 60_000_000;

/// What the timed phases touch: the tower, the floor that moves, and the building it moves to.
struct Plan {
    tower: String,
    /// Spaces in the tower's subtree (the tower, its floors and rooms): the objects each `spaces-down` answer holds.
    spaces: usize,
    /// Rooms among them: the objects whose `values` hold an `Occupancy`.
    rooms: usize,
    floor: String,
    /// Twins below the floor (rooms, devices, sensors).
    floor_descendants: usize,
    other_building: String,
}

impl Plan {
    fn of(portfolio: &Portfolio) -> Plan {
        let tower = portfolio.tower.clone().expect("the spaces scenario adds a tower");
        let mut below = vec![0usize; portfolio.twins.len()];
        for index in tower.clone().skip(1).rev() {
            let parent = portfolio.twins[index].parent.expect("tower twins have a parent");
            below[parent] += below[index] + 1;
        }
        let kinds = |kind: Kind| tower.clone().filter(move |&i| portfolio.twins[i].kind == kind);
        let floor = kinds(Kind::Floor).next().expect("a tower has a floor");
        let other = portfolio.levels[Kind::Building as usize].start;
        Plan {
            tower: portfolio.twins[tower.start].id.clone(),
            spaces: tower.clone().filter(|&i| portfolio.twins[i].kind.is_space()).count(),
            rooms: kinds(Kind::Room).count(),
            floor: portfolio.twins[floor].id.clone(),
            floor_descendants: below[floor],
            other_building: portfolio.twins[other].id.clone(),
        }
    }
}

/// Runs the scenario against `target` and reports its import and its two phases, each bounded by `bound`.
pub(crate) async fn run(
    target: &Target,
    portfolio: &Portfolio,
    bound: Bound,
    progress: &mut dyn Write,
) -> Result<Vec<PhaseReport>> {
    let client = load::client(target)?;
    let base = format!("{}{MANAGEMENT}", target.base);
    let installed = install_models(&client, target, &base).await?;
    let _ = writeln!(
        progress,
        "bench: models {}",
        if installed {
            "installed (the built-in 2018 models, by creating and deleting a space)"
        } else {
            "already there"
        }
    );
    check_types(&client, &base).await?;
    let import = super::import_phase(target, portfolio, super::Flavor::Spatial, progress).await?;
    let _ = writeln!(progress, "bench: import: {} records, {} errors", import.ops, import.errors);
    let plan = Plan::of(portfolio);
    let _ = writeln!(
        progress,
        "bench: spaces-down: {} with {} spaces ({} rooms) in its subtree; floor-move: {} with {} twins below it, to {} and back",
        plan.tower, plan.spaces, plan.rooms, plan.floor, plan.floor_descendants, plan.other_building
    );
    let read = spaces_down(&client, &base, &plan, bound).await;
    let _ = writeln!(progress, "bench: spaces-down: {} ops, {} errors", read.ops, read.errors);
    let moves = floor_moves(&client, &base, &plan, bound).await?;
    let _ = writeln!(progress, "bench: floor-move: {} ops, {} errors", moves.ops, moves.errors);
    Ok(vec![import, read, moves])
}

/// Installs the built-in models with one 2018 write, a root space deleted again (the models stay), unless the data plane lists them already; `false` when it did.
async fn install_models(client: &Client, target: &Target, base: &str) -> Result<bool> {
    let space_model = Kind::Room.spatial_model();
    let url = format!("{}/models/{space_model}?api-version={}", target.base, load::API_VERSION);
    let listed = call(client, Method::GET, &url, None).await.map_err(anyhow::Error::msg)?;
    if listed.status == StatusCode::OK {
        return Ok(false);
    }
    let body = json!({ "name": "twinscape bench" });
    let created =
        call(client, Method::POST, &format!("{base}/spaces"), Some(&body)).await.map_err(anyhow::Error::msg)?;
    if created.status != StatusCode::CREATED {
        bail!("create a space to install the built-in models: {}: {}", created.status, created.text());
    }
    let id: String = serde_json::from_slice(&created.body).context("read the new space's id")?;
    let deleted =
        call(client, Method::DELETE, &format!("{base}/spaces/{id}"), None).await.map_err(anyhow::Error::msg)?;
    if !deleted.status.is_success() {
        bail!("delete the space {id} that installed the built-in models: {}: {}", deleted.status, deleted.text());
    }
    Ok(true)
}

/// Checks every extended type the spatial flavor writes against the server's catalogue (`GET types/{id}`), since an import checks only that ids are integers and names strings.
async fn check_types(client: &Client, base: &str) -> Result<()> {
    let types: BTreeSet<(u32, &str, &str)> = Kind::ALL
        .iter()
        .flat_map(|kind| kind.spatial_types())
        .map(|&(_, _, SpatialType { category, id, name })| (id, category, name))
        .collect();
    for (id, category, name) in types {
        let answer =
            call(client, Method::GET, &format!("{base}/types/{id}"), None).await.map_err(anyhow::Error::msg)?;
        let found: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
        if answer.status != StatusCode::OK || found["category"] != category || found["name"] != name {
            bail!(
                "the portfolio gives type {id} as {category} {name}; the server has {}: {}",
                answer.status,
                answer.text()
            );
        }
    }
    Ok(())
}

/// `GET spaces?spaceId=<tower>&traverse=Down&includes=values`, one request at a time; an answer must hold the tower's spaces, each room with its `Occupancy`.
async fn spaces_down(client: &Client, base: &str, plan: &Plan, bound: Bound) -> PhaseReport {
    let url = format!("{base}/spaces?spaceId={}&traverse=Down&includes=values", plan.tower);
    let mut tally = Tally::new(Phase::SpacesDown, bound);
    while tally.next_turn() {
        let answer = match call(client, Method::GET, &url, None).await {
            Ok(answer) => answer,
            Err(message) => {
                tally.error(message);
                continue;
            }
        };
        // The check runs after the clock stopped: the latency is the server's answer, not bench's reading of it.
        let spaces: Option<Vec<Value>> = serde_json::from_slice(&answer.body).ok();
        let with_values = |spaces: &[Value]| {
            spaces
                .iter()
                .filter(|s| s["values"].as_array().is_some_and(|v| v.iter().any(|v| v["type"] == "Occupancy")))
                .count()
        };
        match spaces {
            _ if answer.status != StatusCode::OK => {
                tally.error(format!("GET {url}: {}: {}", answer.status, answer.text()))
            }
            Some(spaces) if spaces.len() == plan.spaces && with_values(&spaces) == plan.rooms => {
                tally.ok(answer.latency)
            }
            Some(spaces) => tally.error(format!(
                "GET {url}: {} spaces, {} with an Occupancy, where the portfolio has {} and {}",
                spaces.len(),
                with_values(&spaces),
                plan.spaces,
                plan.rooms
            )),
            None => tally.error(format!("GET {url}: not a list of spaces: {}", answer.text())),
        }
    }
    tally.report()
}

/// Moves the floor between the tower and the other building, one `PATCH` at a time, starting from wherever it is; each move is checked by reading the floor's `parentSpaceId` after its clock stopped, and the floor ends in the tower.
async fn floor_moves(client: &Client, base: &str, plan: &Plan, bound: Bound) -> Result<PhaseReport> {
    let floor_url = format!("{base}/spaces/{}", plan.floor);
    let mut parent =
        parent_of(client, &floor_url).await.map_err(anyhow::Error::msg).context("read the floor to move")?;
    let mut tally = Tally::new(Phase::FloorMove, bound);
    while tally.next_turn() {
        let to = if parent == plan.tower { &plan.other_building } else { &plan.tower };
        match call(client, Method::PATCH, &floor_url, Some(&json!({ "parentSpaceId": to }))).await {
            Ok(answer) if answer.status == StatusCode::NO_CONTENT => match parent_of(client, &floor_url).await {
                Ok(now) if now == *to => {
                    tally.ok(answer.latency);
                    parent = now;
                }
                Ok(now) => {
                    tally.error(format!("PATCH {floor_url} to {to} answered 204, and the floor is in {now}"));
                    parent = now;
                }
                Err(message) => tally.error(message),
            },
            Ok(answer) => tally.error(format!("PATCH {floor_url} to {to}: {}: {}", answer.status, answer.text())),
            Err(message) => tally.error(message),
        }
    }
    if parent != plan.tower {
        let answer = call(client, Method::PATCH, &floor_url, Some(&json!({ "parentSpaceId": plan.tower })))
            .await
            .map_err(anyhow::Error::msg)?;
        if answer.status != StatusCode::NO_CONTENT {
            bail!("move {} back to {}: {}: {}", plan.floor, plan.tower, answer.status, answer.text());
        }
    }
    Ok(tally.report())
}

/// The `parentSpaceId` of the space at `url`.
async fn parent_of(client: &Client, url: &str) -> Result<String, String> {
    let answer = call(client, Method::GET, url, None).await?;
    let space: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
    match space["parentSpaceId"].as_str() {
        Some(parent) if answer.status == StatusCode::OK => Ok(parent.to_owned()),
        _ => Err(format!("GET {url}: {}: {}", answer.status, answer.text())),
    }
}

/// A phase's count of turns, its latencies and its errors.
struct Tally {
    phase: Phase,
    bound: Bound,
    started: Instant,
    turns: u64,
    ops: u64,
    errors: u64,
    histogram: Histogram<u64>,
    error_samples: Vec<String>,
}

impl Tally {
    fn new(phase: Phase, bound: Bound) -> Tally {
        let histogram = Histogram::new_with_bounds(1, LATENCY_US_MAX, 3).expect("the histogram bounds are valid");
        Tally {
            phase,
            bound,
            started: Instant::now(),
            turns: 0,
            ops: 0,
            errors: 0,
            histogram,
            error_samples: Vec::new(),
        }
    }

    /// Whether the phase sends another request: until it has sent its operations or spent its time.
    fn next_turn(&mut self) -> bool {
        if self.turns >= self.bound.operations || self.started.elapsed() >= self.bound.time {
            return false;
        }
        self.turns += 1;
        true
    }

    fn ok(&mut self, latency: Duration) {
        self.ops += 1;
        self.histogram.saturating_record(latency.as_micros().max(1).try_into().unwrap_or(u64::MAX));
    }

    fn error(&mut self, message: String) {
        self.errors += 1;
        if self.error_samples.len() < ERROR_SAMPLES_MAX {
            self.error_samples.push(message);
        }
    }

    fn report(self) -> PhaseReport {
        PhaseReport {
            phase: self.phase,
            ops: self.ops,
            errors: self.errors,
            elapsed: self.started.elapsed(),
            histogram: self.histogram,
            error_samples: self.error_samples,
            cut_short: self.turns < self.bound.operations && !self.bound.timed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_counts_the_towers_spaces_and_the_floors_twins() {
        let portfolio = Portfolio::generate(300, 1).with_tower_floors(20_000, 10);
        let plan = Plan::of(&portfolio);
        let rendered = format!(
            "tower {}: {} spaces, {} rooms\nfloor {}: {} twins below\nmoves to {}\n",
            plan.tower, plan.spaces, plan.rooms, plan.floor, plan.floor_descendants, plan.other_building
        );
        expect_test::expect![[r#"
            tower tenant-1_site-1_tower-1: 2015 spaces, 2004 rooms
            floor tenant-1_site-1_tower-1_floor-1: 2211 twins below
            moves to tenant-1_site-1_bldg-1
        "#]]
        .assert_eq(&rendered);
    }
}
