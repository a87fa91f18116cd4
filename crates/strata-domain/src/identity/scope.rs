//! Authorization scopes: `<module>:read`, `<module>:write`, `*:read`, `*:write` and `*`, where
//! `<module>` is a schema module name (`order`, `product`, `publisher`, …: the DDL file name
//! without its `NN_` prefix). Write implies read.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What a request does to a module's tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Verb {
    /// GET, HEAD, list.
    Read,
    /// Create, patch, delete, status changes. Implies [`Verb::Read`].
    Write,
}

impl Verb {
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Read => "read",
            Verb::Write => "write",
        }
    }

    /// Whether holding `self` grants `wanted` (write grants read).
    pub fn covers(self, wanted: Verb) -> bool {
        self >= wanted
    }
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One grant. Parse with [`Scope::parse`] (against the modules of the embedded schema) or
/// [`Scope::parse_in`] (against a given list of module names).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// `*`: everything.
    All,
    /// `*:read` or `*:write`: that verb on every module.
    AnyModule(Verb),
    /// `<module>:read` or `<module>:write`.
    Module { module: String, verb: Verb },
}

/// Why a scope string was refused; the message lists what is valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    #[error(
        "invalid scope {0:?}: expected <module>:read, <module>:write, *:read, *:write or * \
         (e.g. order:read, product:write)"
    )]
    Syntax(String),
    #[error("invalid scope {scope:?}: the verb must be `read` or `write`, not {verb:?}")]
    Verb { scope: String, verb: String },
    #[error(
        "invalid scope {scope:?}: unknown module {module:?}{hint}; the modules are: {}",
        .valid.join(", ")
    )]
    UnknownModule {
        scope: String,
        module: String,
        /// ` (did you mean `order`?)` or empty.
        hint: String,
        valid: Vec<String>,
    },
    #[error("no scopes given: pass at least one, e.g. order:read or *:read")]
    Empty,
}

/// The module names of the schema built into this binary, in file order.
pub fn module_names() -> &'static [String] {
    static NAMES: OnceLock<Vec<String>> = OnceLock::new();
    NAMES.get_or_init(|| {
        strata_schema::SchemaSource::embedded()
            .files
            .iter()
            .filter_map(|f| strata_schema::parse::module_of_file(&f.name))
            .map(|(_, name)| name)
            .collect()
    })
}

impl Scope {
    /// Parse against the modules of the embedded schema.
    pub fn parse(text: &str) -> Result<Scope, ScopeError> {
        Scope::parse_in(text, module_names())
    }

    /// Parse against the given module names.
    pub fn parse_in<S: AsRef<str>>(text: &str, modules: &[S]) -> Result<Scope, ScopeError> {
        let s = text.trim();
        if s == "*" {
            return Ok(Scope::All);
        }
        let Some((module, verb)) = s.split_once(':') else {
            return Err(ScopeError::Syntax(s.to_string()));
        };
        if module.is_empty() || verb.is_empty() {
            return Err(ScopeError::Syntax(s.to_string()));
        }
        let verb = match verb {
            "read" => Verb::Read,
            "write" => Verb::Write,
            other => {
                return Err(ScopeError::Verb {
                    scope: s.to_string(),
                    verb: other.to_string(),
                });
            }
        };
        if module == "*" {
            return Ok(Scope::AnyModule(verb));
        }
        if !modules.iter().any(|m| m.as_ref() == module) {
            let valid: Vec<String> = modules.iter().map(|m| m.as_ref().to_string()).collect();
            return Err(ScopeError::UnknownModule {
                scope: s.to_string(),
                module: module.to_string(),
                hint: suggest(module, &valid)
                    .map(|m| format!(" (did you mean `{m}`?)"))
                    .unwrap_or_default(),
                valid,
            });
        }
        Ok(Scope::Module {
            module: module.to_string(),
            verb,
        })
    }

    /// Whether this scope grants `verb` on `module`.
    pub fn allows(&self, module: &str, verb: Verb) -> bool {
        match self {
            Scope::All => true,
            Scope::AnyModule(v) => v.covers(verb),
            Scope::Module { module: m, verb: v } => m == module && v.covers(verb),
        }
    }
}

/// A near miss for an unknown module: a table-like name (`order_header`) whose first word is a
/// module, a plural (`orders`), or a module that starts with what was typed.
fn suggest<'a>(given: &str, valid: &'a [String]) -> Option<&'a str> {
    let given = given.to_ascii_lowercase();
    valid
        .iter()
        .find(|m| **m == given)
        .or_else(|| {
            valid
                .iter()
                .filter(|m| given.starts_with(m.as_str()))
                .max_by_key(|m| m.len())
        })
        .or_else(|| {
            valid
                .iter()
                .find(|m| given.len() >= 3 && m.starts_with(&given))
        })
        .map(String::as_str)
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::All => f.write_str("*"),
            Scope::AnyModule(v) => write!(f, "*:{v}"),
            Scope::Module { module, verb } => write!(f, "{module}:{verb}"),
        }
    }
}

impl FromStr for Scope {
    type Err = ScopeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::parse(s)
    }
}

impl Serialize for Scope {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Scope {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Scope::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A set of scopes (what a key or an SSO caller may do), ordered and without duplicates.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Scopes(BTreeSet<Scope>);

impl Scopes {
    pub fn new(scopes: impl IntoIterator<Item = Scope>) -> Self {
        Scopes(scopes.into_iter().collect())
    }

    /// Parse a comma-separated list (`order:read,product:write`) against the embedded schema.
    /// Empty items are ignored; an empty list is an error.
    pub fn parse_list(text: &str) -> Result<Scopes, ScopeError> {
        let scopes = text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(Scope::parse)
            .collect::<Result<BTreeSet<_>, _>>()?;
        if scopes.is_empty() {
            return Err(ScopeError::Empty);
        }
        Ok(Scopes(scopes))
    }

    /// Scopes as stored (JSON strings). Entries that no longer parse (a module that was removed)
    /// grant nothing and are skipped with a warning rather than locking the key out entirely.
    pub fn from_stored<S: AsRef<str>>(stored: &[S]) -> Scopes {
        Scopes(
            stored
                .iter()
                .filter_map(|s| match Scope::parse(s.as_ref()) {
                    Ok(scope) => Some(scope),
                    Err(e) => {
                        tracing::warn!(error = %e, "ignoring a stored scope that no longer parses");
                        None
                    }
                })
                .collect(),
        )
    }

    /// Whether any scope grants `verb` on `module`.
    pub fn allows(&self, module: &str, verb: Verb) -> bool {
        self.0.iter().any(|s| s.allows(module, verb))
    }

    pub fn iter(&self) -> impl Iterator<Item = &Scope> {
        self.0.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The canonical strings, as stored in `api_key.scopes`.
    pub fn to_strings(&self) -> Vec<String> {
        self.0.iter().map(Scope::to_string).collect()
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{s}")?;
        }
        Ok(())
    }
}

impl FromStr for Scopes {
    type Err = ScopeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scopes::parse_list(s)
    }
}

impl FromIterator<Scope> for Scopes {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        Scopes::new(iter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(m: &str, verb: Verb) -> Scope {
        Scope::Module {
            module: m.to_string(),
            verb,
        }
    }

    #[test]
    fn module_names_come_from_the_schema_files() {
        let names = module_names();
        assert_eq!(names.len(), 25);
        assert_eq!(names[0], "store");
        for m in ["order", "product", "publisher", "identity", "governance"] {
            assert!(names.iter().any(|n| n == m), "{m} in {names:?}");
        }
    }

    #[test]
    fn parses_every_form() {
        assert_eq!(Scope::parse("*").unwrap(), Scope::All);
        assert_eq!(
            Scope::parse("*:read").unwrap(),
            Scope::AnyModule(Verb::Read)
        );
        assert_eq!(
            Scope::parse("*:write").unwrap(),
            Scope::AnyModule(Verb::Write)
        );
        assert_eq!(
            Scope::parse("order:read").unwrap(),
            module("order", Verb::Read)
        );
        assert_eq!(
            Scope::parse(" product:write ").unwrap(),
            module("product", Verb::Write)
        );
        assert_eq!(
            "publisher:read".parse::<Scope>().unwrap(),
            module("publisher", Verb::Read)
        );
    }

    #[test]
    fn display_round_trips() {
        for s in ["*", "*:read", "*:write", "order:read", "macrodata:write"] {
            assert_eq!(Scope::parse(s).unwrap().to_string(), s);
        }
    }

    #[test]
    fn rejects_bad_syntax_and_verbs() {
        for s in ["", "order", ":read", "order:", "**", "order:read:write"] {
            assert!(Scope::parse(s).is_err(), "{s:?} should be refused");
        }
        let err = Scope::parse("order:delete").unwrap_err();
        assert!(matches!(err, ScopeError::Verb { .. }), "{err:?}");
        assert!(err.to_string().contains("read` or `write"), "{err}");
        assert!(Scope::parse("order:*").is_err());
        assert!(Scope::parse("*:*").is_err());
    }

    #[test]
    fn unknown_module_lists_the_valid_ones() {
        let err = Scope::parse("order_header:read").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("unknown module \"order_header\""), "{msg}");
        assert!(msg.contains("did you mean `order`?"), "{msg}");
        assert!(
            msg.contains("store, product, pricing") && msg.contains("governance"),
            "{msg}"
        );
        let err = Scope::parse("nonsense:read").unwrap_err().to_string();
        assert!(!err.contains("did you mean"), "{err}");
    }

    #[test]
    fn parse_in_uses_the_given_modules() {
        let modules = ["alpha", "beta"];
        assert!(Scope::parse_in("alpha:read", &modules).is_ok());
        assert!(Scope::parse_in("order:read", &modules).is_err());
    }

    #[test]
    fn allows_table() {
        use Verb::{Read, Write};
        // (scope, module, verb, allowed)
        let cases = [
            ("*", "order", Read, true),
            ("*", "order", Write, true),
            ("*:read", "order", Read, true),
            ("*:read", "order", Write, false),
            ("*:write", "product", Read, true),
            ("*:write", "product", Write, true),
            ("order:read", "order", Read, true),
            ("order:read", "order", Write, false),
            ("order:read", "product", Read, false),
            ("order:write", "order", Read, true),
            ("order:write", "order", Write, true),
            ("order:write", "cart", Write, false),
        ];
        for (scope, m, verb, allowed) in cases {
            assert_eq!(
                Scope::parse(scope).unwrap().allows(m, verb),
                allowed,
                "{scope} on {m}:{verb}"
            );
        }
    }

    #[test]
    fn scopes_list_parses_dedups_and_allows() {
        let s = Scopes::parse_list("order:read, product:write,,order:read").unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s.to_string(), "order:read,product:write");
        assert!(s.allows("order", Verb::Read));
        assert!(!s.allows("order", Verb::Write));
        assert!(s.allows("product", Verb::Read));
        assert!(!s.allows("cart", Verb::Read));
        assert_eq!(Scopes::parse_list(" , ").unwrap_err(), ScopeError::Empty);
        assert!(Scopes::parse_list("order:read,bogus:read").is_err());
        assert!(!Scopes::default().allows("order", Verb::Read));
    }

    #[test]
    fn stored_scopes_skip_what_no_longer_parses() {
        let s = Scopes::from_stored(&["order:read", "gone:write"]);
        assert_eq!(s.to_strings(), vec!["order:read".to_string()]);
    }

    #[test]
    fn serde_uses_strings() {
        let s = Scopes::parse_list("*:read,order:write").unwrap();
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json, serde_json::json!(["*:read", "order:write"]));
        let back: Scopes = serde_json::from_value(json).unwrap();
        assert_eq!(back, s);
    }
}
