//! Parameters. The list parameters use the list module's own column rules
//! (`filterable_columns`, `range_columns`, `sortable_columns`), and `tests.rs` checks every
//! documented parameter against the real parser.

use serde_json::{Map, Value, json};
pub(crate) use strata_domain::resource::{
    DEFAULT_LIMIT, MAX_LIMIT, RANGE_OPS, filterable_columns, range_columns, sortable_columns,
};
use strata_schema::Table;

use super::reference;
use super::schemas::{Mode, column_schema};

/// Query keys the list parser handles itself; a column of that name cannot be a filter.
pub(crate) const LIST_KEYS: [&str; 6] = [
    "limit",
    "cursor",
    "labelSelector",
    "phase",
    "sort",
    "fields",
];

fn query(name: &str, description: String, schema: Value) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema})
}

/// Reusable parameters in `components.parameters`.
pub(crate) fn components() -> Value {
    let mut m = Map::new();
    m.insert(
        "limit".into(),
        query(
            "limit",
            format!("Page size, 1 to {MAX_LIMIT}."),
            json!({"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}),
        ),
    );
    m.insert(
        "cursor".into(),
        query(
            "cursor",
            "`next_cursor` of the previous page; repeat the same `sort` with it.".into(),
            json!({"type": "string"}),
        ),
    );
    m.insert(
        "labelSelector".into(),
        query(
            "labelSelector",
            "Kubernetes label selector, comma-separated requirements: `a=b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`.".into(),
            json!({"type": "string", "pattern": selector_pattern()}),
        ),
    );
    m.insert(
        "uid".into(),
        json!({
            "name": "uid",
            "in": "path",
            "required": true,
            "description": "The resource's uid (`<prefix>_<ULID>`).",
            "schema": {"type": "string"},
        }),
    );
    m.insert(
        "If-Match".into(),
        json!({
            "name": "If-Match",
            "in": "header",
            "required": false,
            "description": "An `ETag` from a previous response (or `*`): the write happens only if the row has not changed since (else 412).",
            "schema": {"type": "string"},
        }),
    );
    Value::Object(m)
}

pub(crate) fn param_ref(name: &str) -> Value {
    reference("parameters", name)
}

/// Every parameter a list of `t` accepts. `extra` are the endpoint's own query keys (they shadow
/// columns of the same name); `fixed` are columns the path already filters on.
pub(crate) fn list_params(t: &Table, extra: &[&str], fixed: &[&str]) -> Vec<Value> {
    let mut out = vec![
        param_ref("limit"),
        param_ref("cursor"),
        param_ref("labelSelector"),
    ];
    out.push(query(
        "phase",
        format!(
            "Only rows in these phases: comma list of {}.",
            t.phases
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        json!({"type": "string", "pattern": list_pattern(t.phases.iter().map(String::as_str))}),
    ));
    let mut sorts = Vec::new();
    for c in sortable_columns(t) {
        sorts.push(Value::String(c.name.clone()));
        sorts.push(Value::String(format!("-{}", c.name)));
    }
    out.push(query(
        "sort",
        "Sort column; prefix `-` for descending. Ties are broken by `uid`.".into(),
        json!({"type": "string", "enum": sorts, "default": "uid"}),
    ));
    out.push(fields_param(t));
    let shadowed =
        |name: &str| LIST_KEYS.contains(&name) || extra.contains(&name) || fixed.contains(&name);
    for c in filterable_columns(t)
        .into_iter()
        .filter(|c| !shadowed(&c.name))
    {
        let mut d = format!("Only rows whose `{}` equals this value.", c.name);
        if let Some(r) = &c.reference {
            d.push_str(&format!(" References `{}.{}`.", r.table, r.column));
        }
        out.push(query(&c.name, d, column_schema(t, c, Mode::Query)));
    }
    for c in range_columns(t) {
        for (op, sym) in RANGE_OPS {
            let name = format!("{}.{op}", c.name);
            if extra.contains(&name.as_str()) {
                continue;
            }
            out.push(query(
                &name,
                format!("Only rows with `{}` {sym} this value.", c.name),
                column_schema(t, c, Mode::Query),
            ));
        }
    }
    out
}

/// `^(a|b)(,(a|b))*$`: a comma list drawn from `names`, or empty.
fn list_pattern<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let alt = names.map(regex_escape).collect::<Vec<_>>().join("|");
    format!("^$|^({alt})(,({alt}))*$")
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                vec![c]
            } else {
                vec!['\\', c]
            }
        })
        .collect()
}

/// The selector grammar `LabelSelector::parse` accepts, as a regular expression, so that
/// generated selectors are ones the server takes.
pub(crate) fn selector_pattern() -> String {
    let dns = "[a-z0-9]([-a-z0-9]{0,48}[a-z0-9])?";
    let name = "[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?";
    let key = format!("(({dns})(\\.({dns})){{0,3}}/)?{name}");
    let value = format!("({name})?");
    let set = format!("\\({value}(,{value})*\\)");
    let req = format!("({key}(=|==|!=){value}|!?{key}|{key} (in|notin) {set})");
    format!("^$|^{req}(,{req})*$")
}

/// `fields`: a comma list of the table's columns.
pub(crate) fn fields_param(t: &Table) -> Value {
    query(
        "fields",
        "Sparse fieldset: comma list of column names; `uid` is always included and the other columns are omitted.".into(),
        json!({"type": "string", "pattern": list_pattern(t.columns.iter().map(|c| c.name.as_str()))}),
    )
}
