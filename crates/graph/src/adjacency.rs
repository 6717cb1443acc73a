//! The relationship indexes of one twin: its outgoing relationships by id, and the (source, id) pairs of its incoming ones.
//!
//! Both are sorted vectors rather than B-trees: most twins have a handful of relationships, a B-tree node reserves room for eleven, and at a million twins that reserve was most of the graph's memory.
//! Small lists grow one slot at a time for the same reason; long ones grow as vectors do.

use crate::record::Relationship;

/// Below this many entries a list grows by exactly one slot.
const EXACT_GROWTH_BELOW: usize = 8;

/// A twin's outgoing relationships, sorted by relationship id.
#[derive(Debug, Default)]
pub(crate) struct Outgoing(Vec<Relationship>);

impl Outgoing {
    pub(crate) fn get(&self, id: &str) -> Option<&Relationship> {
        self.0.binary_search_by(|r| r.id.as_str().cmp(id)).ok().map(|i| &self.0[i])
    }

    /// Inserts or replaces; returns the replaced relationship.
    pub(crate) fn insert(&mut self, relationship: Relationship) -> Option<Relationship> {
        match self.0.binary_search_by(|r| r.id.cmp(&relationship.id)) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i], relationship)),
            Err(i) => {
                grow(&mut self.0);
                self.0.insert(i, relationship);
                None
            }
        }
    }

    pub(crate) fn remove(&mut self, id: &str) -> Option<Relationship> {
        let i = self.0.binary_search_by(|r| r.id.as_str().cmp(id)).ok()?;
        let removed = self.0.remove(i);
        self.0.shrink_to(self.0.len().max(EXACT_GROWTH_BELOW));
        Some(removed)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Relationship> {
        self.0.iter()
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A twin's incoming relationships as (source twin, relationship id), sorted.
#[derive(Debug, Default)]
pub(crate) struct Incoming(Vec<(String, String)>);

impl Incoming {
    pub(crate) fn insert(&mut self, source: &str, id: &str) {
        let key = (source, id);
        if let Err(i) = self.0.binary_search_by(|(s, r)| (s.as_str(), r.as_str()).cmp(&key)) {
            grow(&mut self.0);
            self.0.insert(i, (source.to_owned(), id.to_owned()));
        }
    }

    pub(crate) fn remove(&mut self, source: &str, id: &str) {
        let key = (source, id);
        if let Ok(i) = self.0.binary_search_by(|(s, r)| (s.as_str(), r.as_str()).cmp(&key)) {
            self.0.remove(i);
            self.0.shrink_to(self.0.len().max(EXACT_GROWTH_BELOW));
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(s, r)| (s.as_str(), r.as_str()))
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn grow<T>(list: &mut Vec<T>) {
    if list.len() < EXACT_GROWTH_BELOW {
        list.reserve_exact(1);
    }
}
