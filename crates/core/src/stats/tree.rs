//! The unit tree as statistics walk it: lineage, branches, and the public area a unit's figures are published under.

use super::*;

/// A unit of the tree, for roll-ups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeUnit {
    pub id: UnitId,
    pub name: String,
    pub level: Level,
    pub parent: Option<UnitId>,
}

/// The unit tree (组织部门层级).
#[derive(Debug, Clone, Default)]
pub struct Tree {
    units: BTreeMap<UnitId, TreeUnit>,
}

impl Tree {
    pub fn new(units: impl IntoIterator<Item = TreeUnit>) -> Self {
        Self {
            units: units.into_iter().map(|u| (u.id.clone(), u)).collect(),
        }
    }

    pub fn get(&self, id: &UnitId) -> Option<&TreeUnit> {
        self.units.get(id)
    }

    pub fn units(&self) -> impl Iterator<Item = &TreeUnit> {
        self.units.values()
    }

    /// `unit`, its parent, … up to the root (stops on a cycle).
    pub fn lineage<'a>(&'a self, unit: &'a UnitId) -> Vec<&'a UnitId> {
        let mut out = vec![unit];
        let mut at = unit;
        while let Some(parent) = self.units.get(at).and_then(|u| u.parent.as_ref()) {
            if out.contains(&parent) {
                break;
            }
            out.push(parent);
            at = parent;
        }
        out
    }

    /// Whether `unit` is `root` or below it.
    pub fn within(&self, unit: &UnitId, root: &UnitId) -> bool {
        self.lineage(unit).contains(&root)
    }

    pub fn children<'a>(&'a self, unit: &'a UnitId) -> impl Iterator<Item = &'a TreeUnit> + 'a {
        self.units
            .values()
            .filter(move |u| u.parent.as_ref() == Some(unit))
    }

    /// Under `root`, the child whose subtree holds `unit` (or `root` itself
    /// for its own cases): the row a roll-up counts `unit` in.
    pub fn branch<'a>(&'a self, unit: &'a UnitId, root: &UnitId) -> Option<&'a UnitId> {
        let lineage = self.lineage(unit);
        let at = lineage.iter().position(|u| *u == root)?;
        lineage.get(at.saturating_sub(1)).copied()
    }

    /// The unit a public figure may name for `unit`: itself, or the nearest
    /// ancestor at `lowest` or above (a county's cases show under its city).
    pub fn public_area<'a>(&'a self, unit: &'a UnitId, lowest: Level) -> Option<&'a UnitId> {
        self.lineage(unit)
            .into_iter()
            .find(|u| self.units.get(*u).is_some_and(|t| t.level <= lowest))
    }
}
