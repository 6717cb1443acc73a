//! The cursor store of `POST /query`: the rows of a query's answer beyond its first page, kept so that every later page comes from the graph state the query ran on.
//!
//! It is bounded twice: all kept rows together stay within a byte budget, and a cursor nobody read for the idle time is dropped.
//! A result whose rest alone is over the budget is refused; to make room for one that fits, the least recently read cursors are dropped.
//! A dropped cursor is simply unknown, so its token fails cleanly; once its last page has been served a cursor lives only `LAST_PAGE_GRACE` more (so a client can retry that page) and is the first to go when room is needed.
//! The clock is an argument, so the rules are tested without waiting; tokens and HTTP belong to `routes::query`, and expired cursors are also swept by the server's upkeep task.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use query::Row;
use store::TenantId;

/// How long a cursor stays after its last page was served, for a retry of that page (or the idle time, if shorter).
const LAST_PAGE_GRACE: Duration = Duration::from_secs(5);

/// Names one kept result; random, so one client cannot guess another's cursor.
pub(crate) type CursorId = u128;

/// The kept results of every tenant's queries.
pub(crate) struct Cursors {
    /// The budget of all kept rows together, counted by `row_bytes`.
    bytes_max: usize,
    /// How long a cursor lives after it was last read.
    idle: Duration,
    inner: Mutex<Inner>,
}

/// The rows `Cursors::page` serves: a range of a kept result, shared with the cursor, so copying them out happens outside the store's lock.
pub(crate) struct PageRows {
    rows: Arc<Vec<Row>>,
    start: usize,
    end: usize,
}

/// Why a result is not kept: its rows need more than the whole budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TooLarge {
    pub(crate) bytes: usize,
    pub(crate) bytes_max: usize,
}

/// What the store holds now, for `/metrics`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Usage {
    pub(crate) cursors: usize,
    pub(crate) bytes: usize,
    /// Cursors dropped before their time to make room for newer ones, since the server started.
    pub(crate) evicted: u64,
}

impl Cursors {
    pub(crate) fn new(bytes_max: usize, idle: Duration) -> Cursors {
        Cursors { bytes_max, idle, inner: Mutex::new(Inner::default()) }
    }

    /// Keeps `rows` for later pages of a query of `tenant` and names them; the least recently read cursors are dropped when the budget needs room.
    pub(crate) fn keep(&self, tenant: &TenantId, rows: Vec<Row>, now: Instant) -> Result<CursorId, TooLarge> {
        let bytes = rows.iter().map(row_bytes).sum::<usize>();
        if bytes > self.bytes_max {
            return Err(TooLarge { bytes, bytes_max: self.bytes_max });
        }
        let mut inner = self.lock();
        inner.expire(now, self.idle);
        while inner.bytes + bytes > self.bytes_max {
            let Some(&(_, oldest)) = inner.by_use.first() else { break };
            inner.remove(oldest);
            inner.evicted += 1;
            tracing::debug!(cursor = %format_args!("{oldest:032x}"), "query cursor dropped to make room");
        }
        let mut id = uuid::Uuid::new_v4().as_u128();
        while inner.cursors.contains_key(&id) {
            id = uuid::Uuid::new_v4().as_u128();
        }
        inner.bytes += bytes;
        inner.by_use.insert((now, id));
        inner.cursors.insert(id, Cursor { tenant: tenant.clone(), rows: Arc::new(rows), bytes, last_read: now });
        Ok(id)
    }

    /// Up to `size` rows of cursor `id` from row `start` on, or `None` when the cursor is unknown, expired, another tenant's, or has no row `start`.
    ///
    /// Reading a page restarts the cursor's idle time; serving its last page leaves it `LAST_PAGE_GRACE` to live.
    pub(crate) fn page(
        &self,
        tenant: &TenantId,
        id: CursorId,
        start: usize,
        size: usize,
        now: Instant,
    ) -> Option<PageRows> {
        let mut inner = self.lock();
        inner.expire(now, self.idle);
        let cursor = inner.cursors.get(&id).filter(|cursor| cursor.tenant == *tenant && start < cursor.rows.len())?;
        let rows = Arc::clone(&cursor.rows);
        let end = start.saturating_add(size).min(rows.len());
        if end == rows.len() {
            // Dated back so that it expires after the grace, and is evicted before any cursor still being read.
            let grace = LAST_PAGE_GRACE.min(self.idle);
            inner.touch(id, now.checked_sub(self.idle - grace).unwrap_or(now));
        } else {
            inner.touch(id, now);
        }
        Some(PageRows { rows, start, end })
    }

    /// How long a cursor lives after it was last read.
    pub(crate) fn idle(&self) -> Duration {
        self.idle
    }

    /// Drops every cursor idle for longer than the idle time.
    pub(crate) fn sweep(&self, now: Instant) {
        self.lock().expire(now, self.idle);
    }

    pub(crate) fn usage(&self) -> Usage {
        let inner = self.lock();
        Usage { cursors: inner.cursors.len(), bytes: inner.bytes, evicted: inner.evicted }
    }

    /// The Prometheus text exposition of `usage`.
    pub(crate) fn render(&self, out: &mut String) {
        use std::fmt::Write as _;
        let Usage { cursors, bytes, evicted } = self.usage();
        for (name, kind, help, value) in [
            ("twinscape_query_cursors", "gauge", "Query results kept for their next pages.", cursors as u64),
            (
                "twinscape_query_cursor_bytes",
                "gauge",
                "Bytes of the query results kept for their next pages (limit: query.cursor_bytes_max).",
                bytes as u64,
            ),
            (
                "twinscape_query_cursors_evicted_total",
                "counter",
                "Query results dropped before their idle time to make room for newer ones.",
                evicted,
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            let _ = writeln!(out, "{name} {value}");
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl PageRows {
    pub(crate) fn rows(&self) -> &[Row] {
        &self.rows[self.start..self.end]
    }

    /// The row the next page starts at, when one is left.
    pub(crate) fn next(&self) -> Option<usize> {
        (self.end < self.rows.len()).then_some(self.end)
    }
}

/// What one kept row counts against the budget: its JSON text and the pointer that holds it.
fn row_bytes(row: &Row) -> usize {
    row.get().len() + std::mem::size_of::<Row>()
}

#[derive(Default)]
struct Inner {
    cursors: HashMap<CursorId, Cursor>,
    /// Every cursor by the time it was last read, oldest first, so expiry and eviction take from the front.
    by_use: BTreeSet<(Instant, CursorId)>,
    /// The sum of the cursors' `bytes`.
    bytes: usize,
    evicted: u64,
}

struct Cursor {
    /// Only the tenant whose query made the cursor reads it.
    tenant: TenantId,
    rows: Arc<Vec<Row>>,
    bytes: usize,
    last_read: Instant,
}

impl Inner {
    fn expire(&mut self, now: Instant, idle: Duration) {
        while let Some(&(last_read, id)) = self.by_use.first() {
            if now.saturating_duration_since(last_read) <= idle {
                break;
            }
            self.remove(id);
        }
    }

    fn touch(&mut self, id: CursorId, now: Instant) {
        if let Some(cursor) = self.cursors.get_mut(&id) {
            let last_read = std::mem::replace(&mut cursor.last_read, now);
            self.by_use.remove(&(last_read, id));
            self.by_use.insert((now, id));
        }
    }

    fn remove(&mut self, id: CursorId) {
        if let Some(cursor) = self.cursors.remove(&id) {
            self.by_use.remove(&(cursor.last_read, id));
            self.bytes -= cursor.bytes;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(texts: &[&str]) -> Vec<Row> {
        texts.iter().map(|t| Row::from_json((*t).to_owned()).expect("test rows are JSON")).collect()
    }

    /// The texts of a page and where the next one starts.
    fn check_page(page: Option<PageRows>) -> Option<(Vec<String>, Option<usize>)> {
        page.map(|p| (p.rows().iter().map(|r| r.get().to_owned()).collect(), p.next()))
    }

    fn tenant() -> TenantId {
        TenantId::default_tenant()
    }

    const IDLE: Duration = Duration::from_secs(60);

    #[test]
    fn pages_are_served_in_order_and_the_last_is_kept_for_a_retry_only() {
        let cursors = Cursors::new(1 << 20, IDLE);
        let t0 = Instant::now();
        let id = cursors.keep(&tenant(), rows(&["1", "2", "3", "4", "5"]), t0).expect("fits");
        assert_eq!(cursors.usage().cursors, 1);
        assert_eq!(check_page(cursors.page(&tenant(), id, 0, 2, t0)), Some((vec!["1".into(), "2".into()], Some(2))));
        // A retried page is served again.
        assert_eq!(check_page(cursors.page(&tenant(), id, 0, 2, t0)), Some((vec!["1".into(), "2".into()], Some(2))));
        assert_eq!(check_page(cursors.page(&tenant(), id, 2, 2, t0)), Some((vec!["3".into(), "4".into()], Some(4))));
        assert_eq!(check_page(cursors.page(&tenant(), id, 4, 2, t0)), Some((vec!["5".into()], None)));
        // The last page can be retried within the grace, and not after it.
        let retry = t0 + LAST_PAGE_GRACE / 2;
        assert_eq!(check_page(cursors.page(&tenant(), id, 4, 2, retry)), Some((vec!["5".into()], None)));
        assert!(cursors.page(&tenant(), id, 4, 2, retry + LAST_PAGE_GRACE + Duration::from_millis(1)).is_none());
        assert_eq!(cursors.usage(), Usage { cursors: 0, bytes: 0, evicted: 0 });
    }

    #[test]
    fn unknown_foreign_and_out_of_range_cursors_are_none() {
        let cursors = Cursors::new(1 << 20, IDLE);
        let t0 = Instant::now();
        let id = cursors.keep(&tenant(), rows(&["1", "2"]), t0).expect("fits");
        let other = TenantId::parse("other").expect("a valid tenant id");
        assert!(cursors.page(&other, id, 0, 1, t0).is_none());
        assert!(cursors.page(&tenant(), id.wrapping_add(1), 0, 1, t0).is_none());
        assert!(cursors.page(&tenant(), id, 2, 1, t0).is_none());
        assert_eq!(cursors.usage().cursors, 1);
    }

    #[test]
    fn idle_cursors_expire_and_reading_restarts_the_clock() {
        let cursors = Cursors::new(1 << 20, IDLE);
        let t0 = Instant::now();
        let read = cursors.keep(&tenant(), rows(&["1", "2", "3"]), t0).expect("fits");
        let idle = cursors.keep(&tenant(), rows(&["1", "2", "3"]), t0).expect("fits");
        let t1 = t0 + IDLE / 2;
        assert!(cursors.page(&tenant(), read, 0, 1, t1).is_some());
        let t2 = t0 + IDLE + Duration::from_millis(1);
        cursors.sweep(t2);
        assert!(cursors.page(&tenant(), idle, 0, 1, t2).is_none());
        assert!(cursors.page(&tenant(), read, 1, 1, t2).is_some());
        assert!(cursors.page(&tenant(), read, 2, 1, t2 + IDLE + Duration::from_millis(1)).is_none());
        assert_eq!(cursors.usage(), Usage { cursors: 0, bytes: 0, evicted: 0 });
    }

    #[test]
    fn the_budget_refuses_what_cannot_fit_and_evicts_the_least_recently_read() {
        let row = row_bytes(&rows(&["12345678"])[0]);
        let cursors = Cursors::new(4 * row, IDLE);
        let t0 = Instant::now();
        assert_eq!(
            cursors.keep(&tenant(), rows(&["12345678"; 5]), t0),
            Err(TooLarge { bytes: 5 * row, bytes_max: 4 * row })
        );
        let a = cursors.keep(&tenant(), rows(&["12345678"; 2]), t0).expect("fits");
        let b = cursors.keep(&tenant(), rows(&["12345678"; 2]), t0 + Duration::from_millis(1)).expect("fits");
        // Reading `a` makes `b` the least recently read.
        assert!(cursors.page(&tenant(), a, 0, 1, t0 + Duration::from_millis(2)).is_some());
        let c = cursors.keep(&tenant(), rows(&["12345678"; 2]), t0 + Duration::from_millis(3)).expect("fits");
        assert_eq!(cursors.usage(), Usage { cursors: 2, bytes: 4 * row, evicted: 1 });
        assert!(cursors.page(&tenant(), b, 0, 1, t0 + Duration::from_millis(4)).is_none());
        assert!(cursors.page(&tenant(), a, 1, 1, t0 + Duration::from_millis(4)).is_some());
        assert!(cursors.page(&tenant(), c, 0, 1, t0 + Duration::from_millis(4)).is_some());
    }
}
