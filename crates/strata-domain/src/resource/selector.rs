//! Kubernetes label selectors: `tier=gold,env!=dev,region in (eu,us),!legacy,team`.
//!
//! Parsed into requirements that compile to SQL over the `labels` JSONB column; equality and
//! existence use `@>` / `?` so the GIN index applies.

use std::fmt;

/// One requirement of a selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// A parsed selector: all requirements must hold.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LabelSelector(pub Vec<Requirement>);

/// Why a selector string was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectorError(pub String);

impl fmt::Display for SelectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SelectorError {}

/// Label keys as Kubernetes defines them: optional DNS prefix and `/`, then a name of up to
/// 63 characters of `[A-Za-z0-9._-]` starting and ending alphanumeric.
pub fn valid_key(key: &str) -> bool {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    let name_ok = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    let prefix_ok = prefix.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 253
            && p.split('.').all(|part| {
                !part.is_empty()
                    && part
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            })
    });
    name_ok && prefix_ok
}

/// Label values: empty, or up to 63 characters like a key name.
pub fn valid_value(value: &str) -> bool {
    value.is_empty()
        || (value.len() <= 63
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
            && value.starts_with(|c: char| c.is_ascii_alphanumeric())
            && value.ends_with(|c: char| c.is_ascii_alphanumeric()))
}

/// Split on commas that are not inside parentheses.
fn split_top(s: &str) -> Result<Vec<&str>, SelectorError> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return Err(SelectorError("unbalanced `)` in labelSelector".into()));
                }
            }
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(SelectorError("unbalanced `(` in labelSelector".into()));
    }
    out.push(&s[start..]);
    Ok(out)
}

fn key(k: &str) -> Result<String, SelectorError> {
    let k = k.trim();
    if valid_key(k) {
        Ok(k.to_string())
    } else {
        Err(SelectorError(format!(
            "`{k}` is not a valid label key (letters, digits, `.`, `_`, `-`, up to 63; optional `prefix/`)"
        )))
    }
}

fn value(v: &str) -> Result<String, SelectorError> {
    let v = v.trim();
    if valid_value(v) {
        Ok(v.to_string())
    } else {
        Err(SelectorError(format!("`{v}` is not a valid label value")))
    }
}

fn set(rest: &str) -> Result<Vec<String>, SelectorError> {
    let inner = rest
        .trim()
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| {
            SelectorError(format!(
                "expected `(a,b,...)` after in/notin, found `{}`",
                rest.trim()
            ))
        })?;
    let values: Result<Vec<String>, _> = inner.split(',').map(value).collect();
    let values = values?;
    if values.is_empty() || values.iter().all(|v| v.is_empty()) {
        return Err(SelectorError(
            "an in/notin set needs at least one value".into(),
        ));
    }
    Ok(values)
}

impl LabelSelector {
    pub fn parse(input: &str) -> Result<Self, SelectorError> {
        let mut reqs = Vec::new();
        if input.trim().is_empty() {
            return Ok(Self(reqs));
        }
        for part in split_top(input)? {
            let part = part.trim();
            if part.is_empty() {
                return Err(SelectorError("empty requirement in labelSelector".into()));
            }
            let words: Vec<&str> = part.splitn(2, char::is_whitespace).collect();
            if words.len() == 2 {
                let rest = words[1].trim_start();
                if let Some(r) = rest.strip_prefix("notin") {
                    reqs.push(Requirement::NotIn(key(words[0])?, set(r)?));
                    continue;
                }
                if let Some(r) = rest.strip_prefix("in")
                    && r.trim_start().starts_with('(')
                {
                    reqs.push(Requirement::In(key(words[0])?, set(r)?));
                    continue;
                }
            }
            if let Some((k, v)) = part.split_once("!=") {
                reqs.push(Requirement::NotEquals(key(k)?, value(v)?));
            } else if let Some((k, v)) = part.split_once("==") {
                reqs.push(Requirement::Equals(key(k)?, value(v)?));
            } else if let Some((k, v)) = part.split_once('=') {
                reqs.push(Requirement::Equals(key(k)?, value(v)?));
            } else if let Some(k) = part.strip_prefix('!') {
                reqs.push(Requirement::NotExists(key(k)?));
            } else {
                reqs.push(Requirement::Exists(key(part)?));
            }
        }
        Ok(Self(reqs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        let s =
            LabelSelector::parse("tier=gold,env!=dev,region in (eu,us),!legacy,team,x notin (a)")
                .unwrap();
        assert_eq!(
            s.0,
            vec![
                Requirement::Equals("tier".into(), "gold".into()),
                Requirement::NotEquals("env".into(), "dev".into()),
                Requirement::In("region".into(), vec!["eu".into(), "us".into()]),
                Requirement::NotExists("legacy".into()),
                Requirement::Exists("team".into()),
                Requirement::NotIn("x".into(), vec!["a".into()]),
            ]
        );
        assert_eq!(
            LabelSelector::parse("strata.dev/seeded==true").unwrap().0,
            vec![Requirement::Equals(
                "strata.dev/seeded".into(),
                "true".into()
            )]
        );
    }

    #[test]
    fn refuses_bad_input() {
        for bad in [
            "a in (b",
            "=x",
            "a=b,,c",
            "a in ()",
            "bad key=x",
            "a=b c",
            "a in b",
        ] {
            assert!(LabelSelector::parse(bad).is_err(), "{bad} accepted");
        }
    }
}
