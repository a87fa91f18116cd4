//! Error responses (RFC 9457 problem+json), response headers and the security scheme.

use serde_json::{Map, Value, json};

use super::{reference, schema_ref};

pub(crate) const BEARER: &str = "bearer";

/// The statuses every authenticated operation can answer with.
pub(crate) const ALWAYS: [u16; 5] = [400, 401, 403, 429, 503];

/// (status, component name, title as the server writes it, description)
const ERRORS: [(u16, &str, &str, &str); 12] = [
    (
        400,
        "BadRequest",
        "Bad Request",
        "Malformed JSON or query: an unknown or invalid query parameter, a bad cursor.",
    ),
    (
        401,
        "Unauthorized",
        "Unauthorized",
        "Missing or invalid credentials: send `Authorization: Bearer <api key>`.",
    ),
    (
        403,
        "Forbidden",
        "Forbidden",
        "The key's scopes do not allow this operation.",
    ),
    (404, "NotFound", "Not Found", "Unknown collection or uid."),
    (
        408,
        "RequestTimeout",
        "Request Timeout",
        "The query did not finish within its time limit (`timeout_ms`) and was stopped.",
    ),
    (
        409,
        "Conflict",
        "Conflict",
        "Conflict: a duplicate unique key, a row in a terminal phase, or a concurrent update (retry).",
    ),
    (
        412,
        "PreconditionFailed",
        "Precondition Failed",
        "`If-Match` does not match the row's current `ETag`.",
    ),
    (
        413,
        "ContentTooLarge",
        "Payload Too Large",
        "The body is over the limit (1 MiB).",
    ),
    (
        415,
        "UnsupportedMediaType",
        "Unsupported Media Type",
        "Wrong content type for the body.",
    ),
    (
        422,
        "UnprocessableContent",
        "Unprocessable Entity",
        "Invalid fields: `errors` has one entry per field.",
    ),
    (
        429,
        "TooManyRequests",
        "Too Many Requests",
        "Rate limit exceeded; slow down and retry.",
    ),
    (
        503,
        "ServiceUnavailable",
        "Service Unavailable",
        "The database is unavailable; retry shortly. Nothing was written.",
    ),
];

pub(crate) fn components() -> Value {
    let mut m = Map::new();
    for (status, name, title, description) in ERRORS {
        let slug: String = title
            .to_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let mut example = json!({
            "type": format!("https://strata.dev/problems/{slug}"),
            "title": title,
            "status": status,
            "detail": description,
        });
        if status == 422 {
            example["detail"] = json!("the request has invalid fields");
            example["errors"] = json!([{"field": "currency_code", "message": "is required"}]);
        }
        let mut response = json!({
            "description": description,
            "content": {"application/problem+json": {"schema": schema_ref("Problem"), "example": example}},
        });
        if matches!(status, 429 | 503) {
            response["headers"] = json!({"Retry-After": header_ref("Retry-After")});
        }
        m.insert(name.into(), response);
    }
    Value::Object(m)
}

/// `responses` entries for these error statuses, sorted.
pub(crate) fn errors(statuses: &[u16]) -> Map<String, Value> {
    let mut out = Map::new();
    let mut all: Vec<u16> = ALWAYS.iter().chain(statuses).copied().collect();
    all.sort_unstable();
    all.dedup();
    for s in all {
        let (_, name, _, _) = ERRORS
            .iter()
            .find(|(code, _, _, _)| *code == s)
            .unwrap_or_else(|| panic!("no error response for {s}"));
        out.insert(s.to_string(), reference("responses", name));
    }
    out
}

pub(crate) fn headers() -> Value {
    json!({
        "ETag": {
            "description": "The row's version (a strong ETag); send it back in `If-Match`.",
            "schema": {"type": "string"},
        },
        "Retry-After": {
            "description": "Seconds to wait before retrying (on 429 and 503).",
            "schema": {"type": "integer", "minimum": 1},
        },
        "Location": {
            "description": "The path of the created resource.",
            "schema": {"type": "string", "format": "uri-reference"},
        },
    })
}

pub(crate) fn header_ref(name: &str) -> Value {
    reference("headers", name)
}

pub(crate) fn security_schemes() -> Value {
    json!({
        BEARER: {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key from `strata apikey create --name N --scopes S`. Scopes: `<module>:read`, `<module>:write`, `*:read`, `*:write`, `*`; write implies read.",
        },
    })
}
