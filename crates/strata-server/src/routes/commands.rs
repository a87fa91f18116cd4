//! The domain commands over HTTP: place an order, then capture, ship, return and complete it.
//!
//! | route | command | success |
//! |---|---|---|
//! | `POST /v1/orders` | `place_order` | 201, `Location: /v1/orders/{uid}` |
//! | `POST /v1/orders/{uid}/complete` | `complete_order` | 200 |
//! | `POST /v1/orders/{uid}/payments` | `capture_payment` | 201, `Location: /v1/resources/payment_capture/{uid}` |
//! | `POST /v1/orders/{uid}/fulfillments` | `ship_fulfillment` | 201, `Location: /v1/fulfillments/{uid}` |
//! | `POST /v1/orders/{uid}/returns` | `request_return` | 201, `Location: /v1/resources/return_request/{uid}` |
//!
//! Each command is one PostgreSQL transaction that also writes the request's `audit_event` row;
//! its event is appended to `COMMERCE_TELEMETRY` after the commit. When the log stays unwritable
//! the change is still committed: the answer is the command's success status with
//! `"event_appended": false`, and the server keeps appending the event in the background (its id
//! is deterministic, so the log stores it once; `reemit_order_events` rebuilds it from PostgreSQL
//! if the server stops first). A 5xx would invite a retry that places a second order.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use strata_domain::commands::{
    self, CapturePayment, CommandError, LineQuantityInput, PlaceOrder, RequestReturn,
    ReturnLineInput, ShipFulfillment,
};
use strata_domain::resource::value::FieldError;
use strata_events::{CommerceEvent, Event, EventLog};

use super::resources::{json_body, query_pairs};
use crate::auth::{Verb, audit_context, authorize};
use crate::error::{ApiResult, Problem};
use crate::state::AppState;

/// The table whose module's write scope every command needs.
const ORDER_TABLE: &str = "order_header";

/// Waits between the background attempts to append an event the command could not append
/// (each attempt is itself a few quick retries); about ten minutes in all.
const BACKGROUND_APPEND_WAITS: [u64; 10] = [1, 2, 4, 8, 15, 30, 60, 120, 180, 180];

// ---- bodies -------------------------------------------------------------------------------------

/// `POST /v1/orders/{uid}/payments`: [`CapturePayment`] without `order_uid` (the path names it).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaptureBody {
    #[serde(default)]
    amount: Option<Decimal>,
    #[serde(default)]
    provider_uid: Option<String>,
}

/// `POST /v1/orders/{uid}/fulfillments`: [`ShipFulfillment`] without `order_uid`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ShipBody {
    location_uid: String,
    #[serde(default)]
    lines: Option<Vec<LineQuantityInput>>,
}

/// `POST /v1/orders/{uid}/returns`: [`RequestReturn`] without `order_uid`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReturnBody {
    lines: Vec<ReturnLineInput>,
    #[serde(default)]
    note: Option<String>,
}

/// `POST /v1/orders/{uid}/complete`: no fields (an empty body is the same as `{}`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CompleteBody {}

// ---- shared steps -------------------------------------------------------------------------------

pub(crate) fn no_query(raw: Option<&str>) -> ApiResult<()> {
    match query_pairs(raw).first() {
        Some((k, _)) => Err(Problem::bad_request(format!(
            "unknown query parameter `{k}`"
        ))),
        None => Ok(()),
    }
}

/// The field a serde error is about: the path to it (`lines[0]`), plus the member an unknown or
/// missing field error names (`lines[0].colour`). Empty for the body as a whole.
fn error_field(path: &serde_path_to_error::Path, message: &str) -> String {
    let mut field = path.to_string();
    if field == "." {
        field.clear();
    }
    let named = ["unknown field `", "missing field `"]
        .iter()
        .find_map(|p| message.strip_prefix(p))
        .and_then(|rest| rest.split('`').next());
    if let Some(name) = named {
        let already = field == name || field.ends_with(&format!(".{name}"));
        if !already {
            if !field.is_empty() {
                field.push('.');
            }
            field.push_str(name);
        }
    }
    field
}

/// JSON Schema counts `2.0` as an integer, serde's `i64` does not: numbers with a zero fraction
/// become integers before the body is deserialized (a quantity of `2.0` is 2 units).
fn integral_floats_as_integers(v: &mut Value) {
    match v {
        Value::Number(n) if n.is_f64() => {
            // Below 2^63 in magnitude, an integral f64 is exactly an i64.
            if let Some(f) = n.as_f64()
                && f.fract() == 0.0
                && f.abs() < 9_223_372_036_854_775_808.0
            {
                *v = Value::from(f as i64);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(integral_floats_as_integers),
        Value::Object(o) => o.values_mut().for_each(integral_floats_as_integers),
        _ => {}
    }
}

/// A JSON object body into `T`, exactly as the domain's serde types accept it: malformed JSON is
/// a 400, a wrong media type a 415, an unknown field, a missing one or a wrong type a 422 naming
/// the field. With `optional`, an empty body stands for `{}`.
pub(crate) fn parse_body<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: &Bytes,
    optional: bool,
) -> ApiResult<T> {
    let mut value = if optional && body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        json_body(headers, body, false)?
    };
    if !value.is_object() {
        return Err(invalid(vec![FieldError::new(
            "",
            "the body must be a JSON object",
        )]));
    }
    integral_floats_as_integers(&mut value);
    serde_path_to_error::deserialize(value).map_err(|e| {
        let message = e.inner().to_string();
        invalid(vec![FieldError::new(
            error_field(e.path(), &message),
            message,
        )])
    })
}

fn invalid(errors: Vec<FieldError>) -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "the request has invalid fields",
    )
    .with_errors(errors)
}

/// A command's failure as problem+json, by [`CommandError::http_status`].
fn command_problem(e: CommandError) -> Problem {
    let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match e {
        CommandError::Invalid { field, message } => invalid(vec![FieldError::new(field, message)]),
        CommandError::NotFound { .. } | CommandError::Conflict(_) => {
            Problem::new(status, e.to_string())
        }
        CommandError::Unavailable(m) => {
            tracing::warn!(error = %m, "database unavailable during a command");
            Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the database is unavailable; nothing was written, retry shortly",
            )
        }
        other => {
            tracing::error!(error = %other, "command failed");
            Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "an unexpected error occurred; it was logged",
            )
        }
    }
}

/// The order uid of the path; anything but `ord_` + a ULID names no order (404).
fn order_uid(uid: &str) -> ApiResult<&str> {
    let ok = uid
        .strip_prefix("ord_")
        .is_some_and(|r| r.len() == 26 && ulid::Ulid::from_string(r).is_ok());
    if ok {
        Ok(uid)
    } else {
        Err(Problem::new(
            StatusCode::NOT_FOUND,
            format!("order_header {uid} does not exist"),
        ))
    }
}

/// Authenticates the caller and checks `order:write`, plus the write scope of the module of
/// `creates` (the table of the row the command creates besides the order's own).
async fn authorize_command(
    state: &AppState,
    headers: &HeaderMap,
    creates: Option<&str>,
) -> ApiResult<strata_domain::identity::Caller> {
    let caller = authorize(state, headers, ORDER_TABLE, Verb::Write).await?;
    if let Some(table) = creates {
        let module = state.module_of(table).unwrap_or_default();
        caller.require(module, Verb::Write).map_err(|_| {
            Problem::new(
                StatusCode::FORBIDDEN,
                format!("this command also needs the scope `{module}:write`"),
            )
        })?;
    }
    Ok(caller)
}

/// Appends a committed command's event; `false` when the log is unwritable, in which case the
/// append goes on in the background.
async fn append(state: &AppState, event: &CommerceEvent) -> bool {
    match commands::append_event(state.events.as_ref(), event).await {
        Ok(()) => true,
        Err(e) => {
            tracing::error!(error = %e, "event not appended; retrying in the background");
            let log = state.events.clone();
            let event = event.clone();
            tokio::spawn(async move { append_in_background(log, event).await });
            false
        }
    }
}

async fn append_in_background(log: std::sync::Arc<dyn EventLog>, event: CommerceEvent) {
    for wait in BACKGROUND_APPEND_WAITS {
        tokio::time::sleep(Duration::from_secs(wait)).await;
        match commands::append_event(log.as_ref(), &event).await {
            Ok(()) => {
                tracing::info!(event_id = %event.event_id, "event appended after a delay");
                return;
            }
            Err(e) => tracing::warn!(error = %e, "event still not appended"),
        }
    }
    tracing::error!(
        event_id = %event.event_id,
        order_uid = %event.body.order.order_uid,
        "event still not appended; reemit_order_events appends it from PostgreSQL"
    );
}

/// The event as the stream stores it.
fn event_json(event: &CommerceEvent) -> Value {
    serde_json::to_value(Event::Commerce(event.clone())).unwrap_or(Value::Null)
}

fn answer(status: StatusCode, body: Value, location: Option<String>) -> Response {
    let mut resp = (status, axum::Json(body)).into_response();
    if let Some(loc) = location
        && let Ok(v) = HeaderValue::from_str(&loc)
    {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

// ---- handlers -----------------------------------------------------------------------------------

/// `POST /v1/orders`.
pub async fn place_order(
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    no_query(q.as_deref())?;
    let caller = authorize_command(&s, &headers, None).await?;
    let cmd: PlaceOrder = parse_body(&headers, &body, false)?;
    let audit = audit_context(&caller, &headers);
    let placed = commands::commit_place_order(&s.db, cmd, Some(&audit))
        .await
        .map_err(command_problem)?;
    let appended = append(&s, &placed.event).await;
    let location = format!("/v1/orders/{}", placed.order_uid);
    let body = json!({
        "order_uid": placed.order_uid,
        "order_number": placed.order_number,
        "display_id": placed.display_id,
        "line_item_uids": placed.line_item_uids,
        "event": event_json(&placed.event),
        "event_appended": appended,
    });
    Ok(answer(StatusCode::CREATED, body, Some(location)))
}

/// `POST /v1/orders/{uid}/complete`.
pub async fn complete_order(
    State(s): State<AppState>,
    Path(uid): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    no_query(q.as_deref())?;
    let caller = authorize_command(&s, &headers, None).await?;
    let uid = order_uid(&uid)?;
    let CompleteBody {} = parse_body(&headers, &body, true)?;
    let audit = audit_context(&caller, &headers);
    let done = commands::commit_complete_order(&s.db, uid, Some(&audit))
        .await
        .map_err(command_problem)?;
    let appended = append(&s, &done.event).await;
    let body = json!({
        "order_uid": done.order_uid,
        "event": event_json(&done.event),
        "event_appended": appended,
    });
    Ok(answer(StatusCode::OK, body, None))
}

/// `POST /v1/orders/{uid}/payments`.
pub async fn capture_payment(
    State(s): State<AppState>,
    Path(uid): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    no_query(q.as_deref())?;
    let caller = authorize_command(&s, &headers, Some("payment_capture")).await?;
    let uid = order_uid(&uid)?;
    let b: CaptureBody = parse_body(&headers, &body, true)?;
    let cmd = CapturePayment {
        order_uid: uid.to_string(),
        amount: b.amount,
        provider_uid: b.provider_uid,
    };
    let audit = audit_context(&caller, &headers);
    let done = commands::commit_capture_payment(&s.db, cmd, Some(&audit))
        .await
        .map_err(command_problem)?;
    let appended = append(&s, &done.event).await;
    let location = format!("/v1/resources/payment_capture/{}", done.capture_uid);
    let body = json!({
        "order_uid": uid,
        "payment_collection_uid": done.payment_collection_uid,
        "payment_uid": done.payment_uid,
        "capture_uid": done.capture_uid,
        "amount": done.amount,
        "captured_total": done.captured_total,
        "event": event_json(&done.event),
        "event_appended": appended,
    });
    Ok(answer(StatusCode::CREATED, body, Some(location)))
}

/// `POST /v1/orders/{uid}/fulfillments`.
pub async fn ship_fulfillment(
    State(s): State<AppState>,
    Path(uid): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    no_query(q.as_deref())?;
    let caller = authorize_command(&s, &headers, Some("fulfillment")).await?;
    let uid = order_uid(&uid)?;
    let b: ShipBody = parse_body(&headers, &body, false)?;
    let cmd = ShipFulfillment {
        order_uid: uid.to_string(),
        location_uid: b.location_uid,
        lines: b.lines,
    };
    let audit = audit_context(&caller, &headers);
    let done = commands::commit_ship_fulfillment(&s.db, cmd, Some(&audit))
        .await
        .map_err(command_problem)?;
    let appended = append(&s, &done.event).await;
    let location = format!("/v1/fulfillments/{}", done.fulfillment_uid);
    let body = json!({
        "order_uid": uid,
        "fulfillment_uid": done.fulfillment_uid,
        "lines": done.lines,
        "event": event_json(&done.event),
        "event_appended": appended,
    });
    Ok(answer(StatusCode::CREATED, body, Some(location)))
}

/// `POST /v1/orders/{uid}/returns`.
pub async fn request_return(
    State(s): State<AppState>,
    Path(uid): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    no_query(q.as_deref())?;
    let caller = authorize_command(&s, &headers, Some("return_request")).await?;
    let uid = order_uid(&uid)?;
    let b: ReturnBody = parse_body(&headers, &body, false)?;
    let cmd = RequestReturn {
        order_uid: uid.to_string(),
        lines: b.lines,
        note: b.note,
    };
    let audit = audit_context(&caller, &headers);
    let done = commands::commit_request_return(&s.db, cmd, Some(&audit))
        .await
        .map_err(command_problem)?;
    let appended = append(&s, &done.event).await;
    let location = format!("/v1/resources/return_request/{}", done.return_uid);
    let body = json!({
        "order_uid": uid,
        "return_uid": done.return_uid,
        "display_id": done.display_id,
        "refund_amount": done.refund_amount,
        "event": event_json(&done.event),
        "event_appended": appended,
    });
    Ok(answer(StatusCode::CREATED, body, Some(location)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        h
    }

    fn fields<T: DeserializeOwned + std::fmt::Debug>(body: &str) -> (u16, Vec<String>) {
        let err = parse_body::<T>(&headers(), &Bytes::from(body.to_string()), false)
            .expect_err("rejected");
        (
            err.status,
            err.errors.iter().map(|e| e.field.clone()).collect(),
        )
    }

    #[test]
    fn serde_errors_name_the_field() {
        let (status, f) = fields::<PlaceOrder>(r#"{"store_uid": 5}"#);
        assert_eq!((status, f), (422, vec!["store_uid".to_string()]));
        let (status, f) = fields::<PlaceOrder>(r#"{"colour": "red"}"#);
        assert_eq!((status, f), (422, vec!["colour".to_string()]));
        let (status, f) = fields::<PlaceOrder>(r#"{}"#);
        assert_eq!((status, f), (422, vec!["store_uid".to_string()]));
        let (_, f) =
            fields::<ReturnBody>(r#"{"lines": [{"line_item_uid": "x", "quantity": "2"}]}"#);
        assert_eq!(f, vec!["lines[0].quantity".to_string()]);
        let (_, f) = fields::<ReturnBody>(r#"{"lines": [{"line_item_uid": "x", "qty": 2}]}"#);
        assert_eq!(f, vec!["lines[0].qty".to_string()]);
        let (_, f) = fields::<ReturnBody>(r#"{"lines": [{"quantity": 2}]}"#);
        assert_eq!(f, vec!["lines[0].line_item_uid".to_string()]);
        let (_, f) = fields::<CaptureBody>(r#"{"order_uid": "ord_x"}"#);
        assert_eq!(f, vec!["order_uid".to_string()]);
        let (_, f) = fields::<CaptureBody>(r#"[]"#);
        assert_eq!(f, vec![String::new()]);
        let (status, _) = fields::<CaptureBody>(r#"{"amount": "#);
        assert_eq!(status, 400);
    }

    #[test]
    fn integral_numbers_with_a_fraction_are_integers() {
        let b: ReturnBody = parse_body(
            &headers(),
            &Bytes::from_static(br#"{"lines": [{"line_item_uid": "x", "quantity": 2.0}]}"#),
            false,
        )
        .expect("2.0 is an integer");
        assert_eq!(b.lines[0].quantity, 2);
        let (status, f) =
            fields::<ReturnBody>(r#"{"lines": [{"line_item_uid": "x", "quantity": 2.5}]}"#);
        assert_eq!((status, f), (422, vec!["lines[0].quantity".to_string()]));
        let b: CaptureBody = parse_body(
            &headers(),
            &Bytes::from_static(br#"{"amount": 12.0}"#),
            false,
        )
        .expect("amount");
        assert_eq!(b.amount, Some(Decimal::from(12)));
    }

    #[test]
    fn optional_bodies_may_be_empty() {
        let none = HeaderMap::new();
        let b: CaptureBody = parse_body(&none, &Bytes::new(), true).expect("empty body");
        assert!(b.amount.is_none() && b.provider_uid.is_none());
        let err = parse_body::<CaptureBody>(&none, &Bytes::from_static(b"{}"), true)
            .expect_err("a body needs its media type");
        assert_eq!(err.status, 415);
        let CompleteBody {} = parse_body(&headers(), &Bytes::from_static(b"{}"), true).expect("{}");
        assert_eq!(
            parse_body::<CompleteBody>(&headers(), &Bytes::from_static(b"{\"x\": 1}"), true)
                .expect_err("no fields")
                .status,
            422
        );
    }

    #[test]
    fn path_uids_that_are_not_order_uids_are_not_found() {
        assert!(order_uid("ord_01ARZ3NDEKTSV4RRFFQ69G5FAV").is_ok());
        // What the document's pattern allows, the domain's uid check allows.
        assert!(order_uid("ord_ZZZZZZZZZZZZZZZZZZZZZZZZZZ").is_ok());
        for bad in [
            "ord_01ARZ3NDEKTSV4RRFFQ69G5FA!",
            "ord_01ARZ3NDEKTSV4RRFFQ69G5FA",
            "sto_01ARZ3NDEKTSV4RRFFQ69G5FAV",
            "",
        ] {
            assert_eq!(order_uid(bad).expect_err(bad).status, 404);
        }
    }
}
