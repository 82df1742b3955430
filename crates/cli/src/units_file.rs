//! Reading a unit tree for `sunlight unit import`: TOML (`[[unit]]` tables)
//! or CSV (a header row naming `id,name,level,parent` and optionally
//! `name_en`), chosen by the file's extension. Every unit keeps its line,
//! so a refusal names it.

use serde::Deserialize;
use sunlight_core::unit_tree::UnitSpec;
use sunlight_core::{Level, UnitId};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlFile {
    unit: Vec<toml::Spanned<TomlUnit>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlUnit {
    id: String,
    name: String,
    #[serde(default)]
    name_en: Option<String>,
    level: String,
    #[serde(default)]
    parent: Option<String>,
}

/// The 1-based line of byte `at` in `text`.
fn line_of(text: &str, at: usize) -> usize {
    text.get(..at)
        .map_or(0, |head| head.bytes().filter(|b| *b == b'\n').count())
        .saturating_add(1)
}

/// One unit's fields, checked: an id of the right shape, a known level,
/// an empty parent read as none.
fn spec(
    line: usize,
    id: &str,
    name: &str,
    name_en: Option<&str>,
    level: &str,
    parent: Option<&str>,
) -> Result<UnitSpec, String> {
    let id = UnitId::parse(id.trim()).map_err(|e| format!("line {line}: id: {e}"))?;
    let level: Level = level
        .trim()
        .parse()
        .map_err(|_| format!("line {line}: level must be province, city or county"))?;
    let parent = parent
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(UnitId::parse)
        .transpose()
        .map_err(|e| format!("line {line}: parent: {e}"))?;
    Ok(UnitSpec {
        line,
        id,
        name: name.to_owned(),
        name_en: name_en.map(str::to_owned),
        level,
        parent,
    })
}

/// Reads a TOML unit file.
pub fn parse_toml(text: &str) -> Result<Vec<UnitSpec>, String> {
    let file: TomlFile = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(0, |s| line_of(text, s.start));
        format!("line {line}: {}", e.message())
    })?;
    file.unit
        .into_iter()
        .map(|u| {
            let line = line_of(text, u.span().start);
            let u = u.into_inner();
            spec(
                line,
                &u.id,
                &u.name,
                u.name_en.as_deref(),
                &u.level,
                u.parent.as_deref(),
            )
        })
        .collect()
}

/// Splits one CSV record (RFC 4180: quoted fields may hold commas and
/// doubled quotes; a record stays on one line).
fn csv_fields(line: usize, record: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = record.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', false) if field.is_empty() => quoted = true,
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            (',', false) => fields.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    if quoted {
        return Err(format!("line {line}: a quoted field is not closed"));
    }
    fields.push(field);
    Ok(fields)
}

/// Reads a CSV unit file with a header row.
pub fn parse_csv(text: &str) -> Result<Vec<UnitSpec>, String> {
    let mut lines = text
        .trim_start_matches('\u{feff}')
        .lines()
        .enumerate()
        .map(|(i, l)| (i.saturating_add(1), l.trim_end_matches('\r')))
        .filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines.next().ok_or("the file is empty")?;
    let header: Vec<String> = csv_fields(1, header)?
        .into_iter()
        .map(|h| h.trim().to_lowercase())
        .collect();
    let column = |name: &str| header.iter().position(|h| h == name);
    let (Some(id), Some(name), Some(level)) = (column("id"), column("name"), column("level"))
    else {
        return Err(
            "line 1: the header must name the columns id, name, level (and parent, name_en)".into(),
        );
    };
    if let Some(unknown) = header
        .iter()
        .find(|h| !["id", "name", "name_en", "level", "parent"].contains(&h.as_str()))
    {
        return Err(format!("line 1: unknown column {unknown:?}"));
    }
    let (parent, name_en) = (column("parent"), column("name_en"));
    lines
        .map(|(line, record)| {
            let fields = csv_fields(line, record)?;
            if fields.len() != header.len() {
                return Err(format!(
                    "line {line}: {} fields where the header has {}",
                    fields.len(),
                    header.len()
                ));
            }
            let get = |i: Option<usize>| i.and_then(|i| fields.get(i)).map(String::as_str);
            spec(
                line,
                get(Some(id)).unwrap_or_default(),
                get(Some(name)).unwrap_or_default(),
                get(name_en).filter(|n| !n.trim().is_empty()),
                get(Some(level)).unwrap_or_default(),
                get(parent),
            )
        })
        .collect()
}

/// Reads `path` by its extension (`.toml` or `.csv`).
pub fn read(path: &std::path::Path) -> Result<Vec<UnitSpec>, String> {
    // A country's tree is some thousands of lines; a bigger file is a
    // mistake, not a tree.
    const MAX_BYTES: u64 = 4 << 20;
    let size = std::fs::metadata(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?
        .len();
    if size > MAX_BYTES {
        return Err(format!("{} is over 4 MiB", path.display()));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    match path.extension().and_then(|e| e.to_str()) {
        Some(ext) if ext.eq_ignore_ascii_case("csv") => parse_csv(&text),
        Some(ext) if ext.eq_ignore_ascii_case("toml") => parse_toml(&text),
        _ => Err("the unit file must end in .toml or .csv".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_and_csv_give_the_same_units_with_their_lines() {
        let toml = "# a province\n[[unit]]\nid = \"gd\"\nname = \"广东省委组织部\"\nname_en = \"Guangdong\"\nlevel = \"province\"\n\n[[unit]]\nid = \"gd-gz\"\nname = \"广州市委组织部\"\nlevel = \"city\"\nparent = \"gd\"\n";
        let csv = "id,name,level,parent,name_en\ngd,广东省委组织部,province,,Guangdong\ngd-gz,\"广州市委组织部\",city,gd,\n";
        let a = parse_toml(toml).unwrap();
        let b = parse_csv(csv).unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!((a[0].line, a[1].line), (2, 8));
        assert_eq!((b[0].line, b[1].line), (2, 3));
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(
                (&x.id, &x.name, &x.name_en, x.level, &x.parent),
                (&y.id, &y.name, &y.name_en, y.level, &y.parent)
            );
        }
    }

    #[test]
    fn bad_lines_are_named() {
        let csv = "id,name,level,parent\ngd,省,province,\n\"gd-x,县,county,gd\n";
        assert_eq!(
            parse_csv(csv).unwrap_err(),
            "line 3: a quoted field is not closed"
        );
        let csv = "id,name,level,parent\ngd,省,province,\nGD X,县,county,gd\n";
        assert!(parse_csv(csv).unwrap_err().starts_with("line 3: id:"));
        let csv = "id,name,level,parent\ngd,省,state,\n";
        assert_eq!(
            parse_csv(csv).unwrap_err(),
            "line 2: level must be province, city or county"
        );
        let csv = "id,name,lvl\n";
        assert!(parse_csv(csv).unwrap_err().starts_with("line 1:"));
        let toml = "[[unit]]\nid = \"gd\"\nname = \"省\"\nlevel = \"province\"\ncolour = \"red\"\n";
        assert!(
            parse_toml(toml).unwrap_err().starts_with("line 5:"),
            "{}",
            parse_toml(toml).unwrap_err()
        );
    }
}
