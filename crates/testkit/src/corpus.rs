//! Request corpora kept as data files (`tests/corpus/*.txt` of a crate),
//! so a case is added by writing it down, not by writing code.
//!
//! A file is a list of cases; `#` lines and blank lines between cases are
//! comments:
//!
//! ```text
//! === form: raw 0xFF byte in a value
//! POST /report?lang=en 400
//! content-type: application/x-www-form-urlencoded
//! | unit=gd&narrative=ab\xFFcd
//! ```
//!
//! - `=== NAME` starts a case; names are unique in a file.
//! - The next line is `METHOD TARGET EXPECT`. `EXPECT` is the status the
//!   answer must have, `4xx` for any client error, or `-` for a client
//!   error or a closed connection (bytes that are not HTTP at all). A raw
//!   case, whose body is the whole request sent as bytes, is `RAW - …`.
//! - `NAME: VALUE` lines are headers, in order, before the body.
//! - `| TEXT` lines are the body (or, for a raw case, the whole request),
//!   joined without line breaks: a line break in the bytes is written `\n`
//!   (`\r\n` in HTTP), so a long body can be wrapped freely. A line
//!   may not end in white space (an editor would strip it): write `\x20`.
//! - In a header value, the target and the body: `\\`, `\n`, `\r`, `\t`,
//!   `\xHH` (any byte, also invalid UTF-8), `\$` (a dollar sign);
//!   `${NAME}` is the value of variable `NAME` given by the test (a code
//!   the test filed first, say); `${repeat COUNT TEXT}` is `TEXT` (escapes
//!   allowed, no `}`) `COUNT` times.

/// The answer a case must get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    Status(u16),
    /// Any 4xx.
    ClientError,
    /// A 4xx, or the connection closed without an answer.
    ClientErrorOrClosed,
}

/// One request of a corpus and the answer it must get.
#[derive(Debug, Clone)]
pub struct CorpusCase {
    pub name: String,
    pub method: String,
    pub target: String,
    pub expect: Expect,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

/// The cases of `text`, with `vars` filled in; an error names the line.
pub fn load_corpus(text: &str, vars: &[(&str, &str)]) -> Result<Vec<CorpusCase>, String> {
    let mut cases: Vec<CorpusCase> = Vec::new();
    let (mut head_seen, mut body_seen) = (false, false);
    for (n, line) in text.lines().enumerate() {
        let at = |e: String| format!("line {}: {e}", n + 1);
        // An editor that strips trailing blanks would change the bytes:
        // a blank a case needs at the end of a line is written `\x20`.
        if line.ends_with([' ', '\t']) {
            return Err(at("ends in white space (write it `\\x20`)".into()));
        }
        if let Some(name) = line.strip_prefix("=== ") {
            if cases.iter().any(|c| c.name == name) {
                return Err(at(format!("a second case named {name:?}")));
            }
            cases.push(CorpusCase {
                name: name.to_owned(),
                method: String::new(),
                target: String::new(),
                expect: Expect::ClientError,
                headers: Vec::new(),
                body: Vec::new(),
            });
            (head_seen, body_seen) = (false, false);
            continue;
        }
        let Some(case) = cases.last_mut() else {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            return Err(at("text before the first `=== NAME`".into()));
        };
        if !head_seen {
            let mut words = line.split(' ');
            let (Some(method), Some(target), Some(expect), None) =
                (words.next(), words.next(), words.next(), words.next())
            else {
                return Err(at("want `METHOD TARGET EXPECT`".into()));
            };
            case.method = method.to_owned();
            let target = expand(target, vars).map_err(at)?;
            case.target = String::from_utf8(target).map_err(|_| at("target not UTF-8".into()))?;
            case.expect = match expect {
                "-" => Expect::ClientErrorOrClosed,
                "4xx" => Expect::ClientError,
                code => Expect::Status(code.parse().map_err(|_| at(format!("status {code:?}")))?),
            };
            head_seen = true;
        } else if let Some(piece) = line.strip_prefix("| ") {
            case.body.extend(expand(piece, vars).map_err(at)?);
            body_seen = true;
        } else if line == "|" {
            body_seen = true;
        } else if line.is_empty() || line.starts_with('#') {
            // A blank line or a comment.
        } else if body_seen {
            // A body line that lost its `| ` must not pass as a header.
            return Err(at(format!(
                "not a body line after the body began: {line:?}"
            )));
        } else if let Some((name, value)) = line.split_once(": ") {
            let value = expand(value, vars).map_err(at)?;
            case.headers.push((name.to_owned(), value));
        } else {
            return Err(at(format!("not a header or body line: {line:?}")));
        }
    }
    match cases.iter().find(|c| c.method.is_empty()) {
        Some(c) => Err(format!("case {:?} has no request line", c.name)),
        None => Ok(cases),
    }
}

/// The bytes of `text`: escapes decoded, variables and repeats filled in.
fn expand(text: &str, vars: &[(&str, &str)]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(['\\', '$']) {
        let (plain, special) = rest.split_at(i);
        out.extend_from_slice(plain.as_bytes());
        if let Some(after) = special.strip_prefix("${") {
            let (inner, tail) = after.split_once('}').ok_or("`${` without `}`")?;
            out.extend(placeholder(inner, vars)?);
            rest = tail;
        } else if let Some(after) = special.strip_prefix('\\') {
            let (byte, used) = escape(after)?;
            out.push(byte);
            rest = after.get(used..).unwrap_or_default();
        } else {
            out.push(b'$');
            rest = special.strip_prefix('$').unwrap_or_default();
        }
    }
    out.extend_from_slice(rest.as_bytes());
    Ok(out)
}

/// The byte of the escape after a backslash, and how many characters it used.
fn escape(after: &str) -> Result<(u8, usize), String> {
    let mut chars = after.chars();
    Ok(match chars.next() {
        Some('\\') => (b'\\', 1),
        Some('n') => (b'\n', 1),
        Some('r') => (b'\r', 1),
        Some('t') => (b'\t', 1),
        Some('$') => (b'$', 1),
        Some('x') => {
            let hex = after.get(1..3).ok_or("`\\x` needs two hex digits")?;
            let byte = u8::from_str_radix(hex, 16).map_err(|_| format!("`\\x{hex}`"))?;
            (byte, 3)
        }
        other => return Err(format!("unknown escape `\\{}`", other.unwrap_or(' '))),
    })
}

fn placeholder(inner: &str, vars: &[(&str, &str)]) -> Result<Vec<u8>, String> {
    if let Some(spec) = inner.strip_prefix("repeat ") {
        let (count, unit) = spec.split_once(' ').ok_or("want `${repeat COUNT TEXT}`")?;
        let count: usize = count
            .parse()
            .map_err(|_| format!("repeat count {count:?}"))?;
        return Ok(expand(unit, vars)?.repeat(count));
    }
    vars.iter()
        .find(|(name, _)| *name == inner)
        .map(|(_, value)| value.as_bytes().to_vec())
        .ok_or_else(|| format!("no variable {inner:?}"))
}
