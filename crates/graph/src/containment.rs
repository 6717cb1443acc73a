//! The containment tree: which relationships place a twin inside another (`Containment`, declared per graph) and the tree they form over twin slots (`Tree`), kept in step with every write by `TenantGraph`.
//!
//! A twin has at most one containment parent, and containment has no cycles; several relationships may give a twin the same parent (`room -hasDevice-> device` and `device -locatedIn-> room`), so the tree counts parent relationships per child.
//! Each slot keeps its parent, its place in its parent's list of children (a linked list, so attaching and detaching cost no search), its depth and the size of its subtree: attaching or detaching a subtree costs its size plus its depth, never the graph's.
//! This module knows slots only; checking a write before it is applied, naming twins in refusals, and which relationships a write adds or removes belong to `tenant`.

use std::collections::HashMap;

use crate::error::{GraphError, Invalid};

/// The relationship names that place a twin inside another, with their direction.
///
/// The default declares none; a graph is given its declaration at construction (`TenantGraph::with_containment`) or later (`TenantGraph::set_containment`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Containment {
    parent_to_child: Vec<String>,
    child_to_parent: Vec<String>,
}

/// Which end of a containment relationship is the parent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The source contains the target (`building -contains-> floor`).
    ParentToChild,
    /// The target contains the source (`floor -isPartOf-> building`).
    ChildToParent,
}

impl Containment {
    /// A declaration: relationships from a parent to its child (`contains`, `hasDevice`), and from a child to its parent (`isPartOf`, `locatedIn`).
    /// Refused when a name is empty or listed twice, in one list or in both.
    pub fn new<P, C>(parent_to_child: P, child_to_parent: C) -> Result<Containment, GraphError>
    where
        P: IntoIterator,
        P::Item: Into<String>,
        C: IntoIterator,
        C::Item: Into<String>,
    {
        let parent_to_child: Vec<String> = parent_to_child.into_iter().map(Into::into).collect();
        let child_to_parent: Vec<String> = child_to_parent.into_iter().map(Into::into).collect();
        let all: Vec<&String> = parent_to_child.iter().chain(&child_to_parent).collect();
        for (i, name) in all.iter().enumerate() {
            if name.is_empty() {
                return Err(GraphError::invalid(Invalid::InvalidArgument, "a containment relationship name is empty"));
            }
            if all[..i].contains(name) {
                return Err(GraphError::invalid(
                    Invalid::InvalidArgument,
                    format!("the containment relationship '{name}' is declared twice"),
                ));
            }
        }
        Ok(Containment { parent_to_child, child_to_parent })
    }

    /// No containment: every twin is a root.
    pub fn none() -> Containment {
        Containment::default()
    }

    /// The relationships from a parent to its child.
    pub fn parent_to_child(&self) -> &[String] {
        &self.parent_to_child
    }

    /// The relationships from a child to its parent.
    pub fn child_to_parent(&self) -> &[String] {
        &self.child_to_parent
    }

    /// Whether a relationship name is containment, and in which direction.
    pub fn role(&self, name: &str) -> Option<Role> {
        if self.parent_to_child.iter().any(|n| n == name) {
            Some(Role::ParentToChild)
        } else if self.child_to_parent.iter().any(|n| n == name) {
            Some(Role::ChildToParent)
        } else {
            None
        }
    }
}

/// Containment relationships that loading kept in the graph but left out of the tree, because they would have given a twin a second parent or made a cycle (data stored before the rule, or under another declaration).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Violations {
    /// How many relationships were left out.
    pub count: usize,
    /// The first few, as sentences naming the relationship, the twin and its parents.
    pub examples: Vec<String>,
}

impl Violations {
    /// Most examples kept.
    pub const EXAMPLES_MAX: usize = 10;

    pub(crate) fn record(&mut self, example: impl FnOnce() -> String) {
        self.count += 1;
        if self.examples.len() < Violations::EXAMPLES_MAX {
            self.examples.push(example());
        }
    }
}

/// No slot: the parent of a root, the end of a list.
const NONE: u32 = u32::MAX;

/// One slot's place in the tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Place {
    parent: u32,
    first_child: u32,
    next_sibling: u32,
    /// The previous sibling; for the first child, the last one, so appending a child costs no walk.
    prev_sibling: u32,
    /// Edges from the root: 0 for a twin without a parent.
    depth: u32,
    /// Twins in the subtree, the twin included.
    size: u32,
    /// Containment relationships that give this twin its parent; the twin is detached when the last goes.
    parent_edges: u32,
}

const ROOT: Place = Place {
    parent: NONE,
    first_child: NONE,
    next_sibling: NONE,
    prev_sibling: NONE,
    depth: 0,
    size: 1,
    parent_edges: 0,
};

/// Why a containment relationship cannot be added.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The child already has this other parent.
    SecondParent { current: u32 },
    /// The parent lies within the child's subtree.
    Cycle,
}

/// The tree over twin slots; a slot it never saw is a root without children.
#[derive(Clone, Debug, Default)]
pub(crate) struct Tree {
    places: Vec<Place>,
    /// Containment relationships kept outside the tree (see `Violations`), counted per (parent, child) slots.
    /// Relationships of one pair are interchangeable, so removing one of a pair takes from this count first.
    outside: HashMap<(u32, u32), u32>,
}

impl Tree {
    pub(crate) fn parent(&self, slot: u32) -> Option<u32> {
        let parent = self.place(slot).parent;
        (parent != NONE).then_some(parent)
    }

    pub(crate) fn depth(&self, slot: u32) -> u32 {
        self.place(slot).depth
    }

    pub(crate) fn size(&self, slot: u32) -> u32 {
        self.place(slot).size
    }

    /// The children of a slot, in the order they were attached.
    pub(crate) fn children(&self, slot: u32) -> impl Iterator<Item = u32> + '_ {
        let first = self.place(slot).first_child;
        std::iter::successors((first != NONE).then_some(first), |&child| {
            let next = self.place(child).next_sibling;
            (next != NONE).then_some(next)
        })
    }

    /// The ancestors of a slot, its parent first and its root last.
    pub(crate) fn ancestors(&self, slot: u32) -> impl Iterator<Item = u32> + '_ {
        std::iter::successors(self.parent(slot), |&up| self.parent(up))
    }

    /// Whether `slot` is `ancestor` or lies below it: a walk up of the difference in depth.
    pub(crate) fn is_within(&self, slot: u32, ancestor: u32) -> bool {
        let target = self.depth(ancestor);
        let mut node = slot;
        for _ in target..self.depth(slot) {
            node = self.place(node).parent;
        }
        node == ancestor
    }

    /// The subtree of a slot in pre-order, the slot first.
    pub(crate) fn subtree(&self, root: u32) -> impl Iterator<Item = u32> + '_ {
        std::iter::successors(Some(root), move |&at| self.next_in(root, at))
    }

    /// Whether `parent -> child` may join the tree, as if the relationship giving the pair `removing` were gone first (a relationship replaced by one with another target or name).
    pub(crate) fn check(&self, parent: u32, child: u32, removing: Option<(u32, u32)>) -> Result<(), Refusal> {
        // The slot whose parent edge the removal cuts, if it removes that slot's last one.
        let cut =
            removing.filter(|&(p, c)| self.place(c).parent == p && self.place(c).parent_edges == 1).map(|(_, c)| c);
        if let Some(current) = self.parent(child).filter(|_| cut != Some(child)) {
            return if current == parent { Ok(()) } else { Err(Refusal::SecondParent { current }) };
        }
        // The child is a root (or is about to be): a cycle if the parent lies within its subtree.
        let mut node = parent;
        loop {
            if node == child {
                return Err(Refusal::Cycle);
            }
            match self.parent(node) {
                Some(up) if cut != Some(node) => node = up,
                _ => return Ok(()),
            }
        }
    }

    /// Adds `parent -> child`, which `check` allowed.
    pub(crate) fn link(&mut self, parent: u32, child: u32) {
        let current = self.place(child).parent;
        if current == parent {
            self.place_mut(child).parent_edges += 1;
            return;
        }
        assert_eq!(current, NONE, "a relationship joins the tree only where `check` allows it");
        self.attach(parent, child);
    }

    /// Removes one relationship giving `parent -> child`: one kept outside the tree if there is one, otherwise one of the child's parent edges.
    pub(crate) fn unlink(&mut self, parent: u32, child: u32) {
        if let Some(count) = self.outside.get_mut(&(parent, child)) {
            *count -= 1;
            if *count == 0 {
                self.outside.remove(&(parent, child));
            }
            return;
        }
        let place = self.place_mut(child);
        assert_eq!(place.parent, parent, "a containment relationship in the tree gives its child this parent");
        place.parent_edges -= 1;
        if place.parent_edges == 0 {
            self.detach(child);
        }
    }

    /// Keeps `parent -> child` outside the tree (a stored relationship that `check` refused at load).
    pub(crate) fn keep_outside(&mut self, parent: u32, child: u32) {
        *self.outside.entry((parent, child)).or_default() += 1;
    }

    /// Whether removing a relationship of this pair leaves the tree as it is.
    pub(crate) fn is_outside(&self, pair: (u32, u32)) -> bool {
        self.outside.contains_key(&pair)
    }

    /// A slot whose twin is removed: it has no relationships left, so it is a root without children.
    pub(crate) fn release(&mut self, slot: u32) {
        assert_eq!(self.place(slot), ROOT, "a twin leaves the tree only once its relationships are gone");
    }

    fn place(&self, slot: u32) -> Place {
        self.places.get(slot as usize).copied().unwrap_or(ROOT)
    }

    fn place_mut(&mut self, slot: u32) -> &mut Place {
        let at = slot as usize;
        if at >= self.places.len() {
            self.places.resize(at + 1, ROOT);
        }
        &mut self.places[at]
    }

    /// Makes the root `child` the last child of `parent`: sizes up the parent's ancestors, depths down the child's subtree.
    fn attach(&mut self, parent: u32, child: u32) {
        let first = self.place_mut(parent).first_child;
        self.place_mut(child);
        if first == NONE {
            self.places[parent as usize].first_child = child;
            self.places[child as usize].prev_sibling = child;
        } else {
            let last = self.places[first as usize].prev_sibling;
            self.places[last as usize].next_sibling = child;
            self.places[child as usize].prev_sibling = last;
            self.places[first as usize].prev_sibling = child;
        }
        let place = &mut self.places[child as usize];
        place.parent = parent;
        place.parent_edges = 1;
        let size = place.size;
        let mut up = parent;
        while up != NONE {
            self.places[up as usize].size += size;
            up = self.places[up as usize].parent;
        }
        let shift = self.places[parent as usize].depth + 1;
        self.shift_depths(child, |depth| depth + shift);
    }

    /// Makes `child` a root, taking it out of its parent's list: sizes up the old ancestors, depths down its subtree.
    fn detach(&mut self, child: u32) {
        let Place { parent, prev_sibling: prev, next_sibling: next, size, depth, .. } = self.places[child as usize];
        let first = self.places[parent as usize].first_child;
        if child == first {
            self.places[parent as usize].first_child = next;
            if next != NONE {
                self.places[next as usize].prev_sibling = prev;
            }
        } else {
            self.places[prev as usize].next_sibling = next;
            let after = if next == NONE { first } else { next };
            self.places[after as usize].prev_sibling = prev;
        }
        let place = &mut self.places[child as usize];
        place.parent = NONE;
        place.prev_sibling = NONE;
        place.next_sibling = NONE;
        place.parent_edges = 0;
        let mut up = parent;
        while up != NONE {
            self.places[up as usize].size -= size;
            up = self.places[up as usize].parent;
        }
        self.shift_depths(child, |d| d - depth);
    }

    fn shift_depths(&mut self, root: u32, shift: impl Fn(u32) -> u32) {
        let mut at = Some(root);
        while let Some(slot) = at {
            let place = &mut self.places[slot as usize];
            place.depth = shift(place.depth);
            at = self.next_in(root, slot);
        }
    }

    /// The slot after `at` in a pre-order walk of `root`'s subtree.
    fn next_in(&self, root: u32, at: u32) -> Option<u32> {
        let first = self.place(at).first_child;
        if first != NONE {
            return Some(first);
        }
        let mut node = at;
        while node != root {
            let place = self.place(node);
            if place.next_sibling != NONE {
                return Some(place.next_sibling);
            }
            node = place.parent;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::{Place, Tree};

    #[test]
    fn a_place_stays_compact() {
        // Seven u32 per twin slot: 28 bytes at a million twins is 28 MB.
        assert_eq!(std::mem::size_of::<Place>(), 28);
    }

    /// The tree as text: every slot below `roots`, indented by depth, with its size and parent edge count.
    fn render(tree: &Tree, roots: &[u32]) -> String {
        let mut out = String::new();
        for &root in roots {
            for slot in tree.subtree(root) {
                let place = tree.place(slot);
                let indent = "  ".repeat(place.depth as usize);
                out.push_str(&format!("{indent}{slot} size {} edges {}\n", place.size, place.parent_edges));
            }
        }
        out
    }

    #[test]
    fn attach_and_detach_keep_sibling_lists() {
        let mut tree = Tree::default();
        for child in [1, 2, 3] {
            tree.check(0, child, None).expect("no parent yet");
            tree.link(0, child);
        }
        tree.link(2, 4);
        tree.link(0, 2);
        expect_test::expect![[r#"
            0 size 5 edges 0
              1 size 1 edges 1
              2 size 2 edges 2
                4 size 1 edges 1
              3 size 1 edges 1
        "#]]
        .assert_eq(&render(&tree, &[0]));
        // The middle child, then the last, then the first: each end of the list is patched.
        tree.unlink(0, 2);
        tree.unlink(0, 2);
        tree.unlink(0, 3);
        tree.link(0, 3);
        tree.unlink(0, 1);
        expect_test::expect![[r#"
            0 size 2 edges 0
              3 size 1 edges 1
            2 size 2 edges 0
              4 size 1 edges 1
        "#]]
        .assert_eq(&render(&tree, &[0, 2]));
        assert_eq!(tree.children(0).collect::<Vec<_>>(), [3]);
        assert!(tree.is_within(4, 2) && !tree.is_within(4, 0) && tree.is_within(3, 3));
    }
}
