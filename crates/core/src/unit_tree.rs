//! Checking a unit tree to import (`sunlight unit import`): every line is
//! checked against the file and the units that exist before anything is
//! written, so a bad file changes nothing and names its line.

use std::collections::HashMap;

use crate::{Level, UnitId};

/// The longest unit name accepted, in characters.
pub const NAME_CHARS: usize = 200;

/// One unit as a file (or the database) describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitSpec {
    /// Where it stands in the file (1-based; 0 for a unit from the database).
    pub line: usize,
    pub id: UnitId,
    pub name: String,
    pub name_en: Option<String>,
    pub level: Level,
    pub parent: Option<UnitId>,
}

impl UnitSpec {
    /// A unit given on a command line or in code (no file line, no
    /// English name).
    pub fn new(id: UnitId, name: impl Into<String>, level: Level, parent: Option<UnitId>) -> Self {
        Self {
            line: 0,
            id,
            name: name.into(),
            name_en: None,
            level,
            parent,
        }
    }
}

/// Why a file was refused, naming the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportProblem {
    #[error("line {line}: unit {id} appears twice (first on line {first})")]
    Twice {
        line: usize,
        id: UnitId,
        first: usize,
    },
    #[error(
        "line {line}: unit {id} exists with a different {field}; change it in place, not by import"
    )]
    Changed {
        line: usize,
        id: UnitId,
        field: &'static str,
    },
    #[error("line {line}: parent {parent} is neither in the file nor in the database")]
    NoParent { line: usize, parent: UnitId },
    #[error("line {line}: a {level} unit needs a parent of level {expected}")]
    WrongParent {
        line: usize,
        level: Level,
        expected: &'static str,
    },
    #[error(
        "line {line}: the name is empty, longer than {NAME_CHARS} characters, or holds control or invisible characters"
    )]
    BadName { line: usize },
    #[error("the file names no unit")]
    Empty,
}

/// Normalises a name: trimmed, empty English names dropped.
fn tidy(spec: &mut UnitSpec) {
    spec.name = spec.name.trim().to_owned();
    spec.name_en = spec
        .name_en
        .take()
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty());
}

/// Whether a unit name can be shown: 1 to `NAME_CHARS` characters, no
/// control or invisible formatting characters.
pub fn name_ok(name: &str) -> bool {
    let chars = name.chars().count();
    chars > 0 && chars <= NAME_CHARS && !name.chars().any(|c| c.is_control() || invisible(c))
}

/// Characters that change how a name is shown without showing themselves
/// (bidirectional overrides, zero-width marks): a unit path on the public
/// form could be made to read as another unit's.
fn invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

/// The units of `file` to create, parents before children. Units that
/// exist unchanged are left out (an import can run again); any other
/// problem refuses the whole file.
pub fn plan_import(
    file: Vec<UnitSpec>,
    existing: &[UnitSpec],
) -> Result<Vec<UnitSpec>, ImportProblem> {
    if file.is_empty() {
        return Err(ImportProblem::Empty);
    }
    let known: HashMap<&UnitId, &UnitSpec> = existing.iter().map(|u| (&u.id, u)).collect();
    let mut seen: HashMap<UnitId, usize> = HashMap::new();
    let mut levels: HashMap<UnitId, Level> =
        existing.iter().map(|u| (u.id.clone(), u.level)).collect();
    let mut fresh = Vec::new();
    for mut spec in file {
        tidy(&mut spec);
        if let Some(first) = seen.insert(spec.id.clone(), spec.line) {
            return Err(ImportProblem::Twice {
                line: spec.line,
                id: spec.id,
                first,
            });
        }
        if !name_ok(&spec.name) || spec.name_en.as_deref().is_some_and(|n| !name_ok(n)) {
            return Err(ImportProblem::BadName { line: spec.line });
        }
        if let Some(old) = known.get(&spec.id) {
            let field = if old.name != spec.name {
                Some("name")
            } else if old.name_en != spec.name_en {
                Some("English name")
            } else if old.level != spec.level {
                Some("level")
            } else if old.parent != spec.parent {
                Some("parent")
            } else {
                None
            };
            if let Some(field) = field {
                return Err(ImportProblem::Changed {
                    line: spec.line,
                    id: spec.id,
                    field,
                });
            }
            continue;
        }
        levels.insert(spec.id.clone(), spec.level);
        fresh.push(spec);
    }
    for spec in &fresh {
        let expected = spec.level.parent_level();
        let found = match &spec.parent {
            Some(parent) => Some(*levels.get(parent).ok_or_else(|| ImportProblem::NoParent {
                line: spec.line,
                parent: parent.clone(),
            })?),
            None => None,
        };
        if found != expected {
            return Err(ImportProblem::WrongParent {
                line: spec.line,
                level: spec.level,
                expected: expected.map_or("none (a root)", Level::as_str),
            });
        }
    }
    // Parents are one level up, so ordering by level puts them first.
    fresh.sort_by_key(|s| (s.level, s.line));
    Ok(fresh)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(line: usize, id: &str, level: Level, parent: Option<&str>) -> UnitSpec {
        UnitSpec {
            line,
            id: UnitId::parse(id).unwrap(),
            name: format!("{id} 组织部"),
            name_en: None,
            level,
            parent: parent.map(|p| UnitId::parse(p).unwrap()),
        }
    }

    #[test]
    fn orders_parents_first_and_skips_unchanged_units() {
        let existing = vec![spec(0, "gd", Level::Province, None)];
        let file = vec![
            spec(2, "gd-gz-th", Level::County, Some("gd-gz")),
            spec(3, "gd-gz", Level::City, Some("gd")),
            spec(4, "gd", Level::Province, None),
        ];
        let plan = plan_import(file, &existing).unwrap();
        let ids: Vec<_> = plan.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["gd-gz", "gd-gz-th"]);
    }

    #[test]
    fn names_the_line_of_each_problem() {
        let existing = vec![spec(0, "gd", Level::Province, None)];
        let twice = vec![
            spec(1, "gd-gz", Level::City, Some("gd")),
            spec(2, "gd-gz", Level::City, Some("gd")),
        ];
        assert_eq!(
            plan_import(twice, &existing).unwrap_err().to_string(),
            "line 2: unit gd-gz appears twice (first on line 1)"
        );
        let orphan = vec![spec(7, "gd-sz-ft", Level::County, Some("gd-sz"))];
        assert!(matches!(
            plan_import(orphan, &existing),
            Err(ImportProblem::NoParent { line: 7, .. })
        ));
        let skip = vec![spec(3, "gd-x", Level::County, Some("gd"))];
        assert!(matches!(
            plan_import(skip, &existing),
            Err(ImportProblem::WrongParent { line: 3, .. })
        ));
        let mut renamed = spec(5, "gd", Level::Province, None);
        renamed.name = "别的名字".into();
        assert!(matches!(
            plan_import(vec![renamed], &existing),
            Err(ImportProblem::Changed {
                line: 5,
                field: "name",
                ..
            })
        ));
        let mut spoof = spec(4, "gd-gz", Level::City, Some("gd"));
        spoof.name = "广州\u{202E}部织组委市".into();
        assert!(matches!(
            plan_import(vec![spoof], &existing),
            Err(ImportProblem::BadName { line: 4 })
        ));
        let mut blank = spec(9, "gd-gz", Level::City, Some("gd"));
        blank.name = "  ".into();
        assert!(matches!(
            plan_import(vec![blank], &existing),
            Err(ImportProblem::BadName { line: 9 })
        ));
        let rootless = vec![spec(1, "gz", Level::City, None)];
        assert!(matches!(
            plan_import(rootless, &[]),
            Err(ImportProblem::WrongParent { line: 1, .. })
        ));
        assert_eq!(plan_import(vec![], &existing), Err(ImportProblem::Empty));
    }
}
