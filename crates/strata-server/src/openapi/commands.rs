//! The domain commands (`crates/strata-server/src/routes/commands.rs`): `POST /v1/orders` and
//! `POST /v1/orders/{uid}/complete|payments|fulfillments|returns`.
//!
//! The request schemas mirror the domain's serde types exactly in shape (`additionalProperties:
//! false`, the required members, `null` where an `Option` takes it) and state the checks the
//! commands make before they touch the database (uid prefixes, quantities, money with at most two
//! decimals, a non-blank tax or discount code, the email of a guest checkout), so that a body the
//! document accepts fails only on what the database holds: an unknown store (404), a variant that
//! is not for sale (422), an order in the wrong phase (409), …. The event in every answer is
//! described by the `COMMERCE_TELEMETRY` JSON Schema of `strata-events`, hoisted into
//! `components.schemas` as `CommerceEvent` and `Event<Definition>`.

use serde_json::{Map, Value, json};
use strata_events::StreamName;
use strata_schema::Schema;

use super::paths::{Target, json_content, with_responses};
use super::responses::header_ref;
use super::schemas::NO_NUL;
use super::{insert_unique, reference, schema_ref};

/// `<prefix>_` + a ULID, as the domain's uid check accepts it.
fn uid(prefix: &str) -> String {
    format!("^{prefix}_[0-9A-HJKMNP-TV-Z]{{26}}$")
}

fn uid_schema(prefix: &str, description: &str) -> Value {
    json!({"type": "string", "pattern": uid(prefix), "description": description})
}

fn nullable_uid(prefix: &str, description: &str) -> Value {
    json!({"type": ["string", "null"], "pattern": uid(prefix), "description": description})
}

/// A text PostgreSQL can store that is not blank.
const NOT_BLANK: &str = r"^[^\u0000]*[^\s\u0000][^\u0000]*$";
/// Largest amount of one price, discount or capture: 10^12 minor units, less a cent.
const MONEY_INT_DIGITS: u32 = 10;
/// Units of one order line.
const MAX_QUANTITY: i64 = 1_000_000;
/// Lines of one order.
const MAX_LINES: usize = 1_000;

/// Money as the commands take it: a decimal string with at most two decimals, or a whole number.
fn money(description: &str, positive: bool) -> Value {
    let d = MONEY_INT_DIGITS;
    let max = 10i64.pow(d) - 1;
    let pattern = if positive {
        format!(
            r"^(?:[1-9][0-9]{{0,{}}}(?:\.[0-9]{{1,2}})?|0\.(?:[1-9][0-9]?|0[1-9]))$",
            d - 1
        )
    } else {
        format!(r"^[0-9]{{1,{d}}}(?:\.[0-9]{{1,2}})?$")
    };
    json!({
        "description": description,
        "anyOf": [
            {"type": "string", "pattern": pattern},
            {"type": "integer", "minimum": if positive { 1 } else { 0 }, "maximum": max},
        ],
    })
}

fn with_null(s: Value) -> Value {
    let mut s = s;
    if let Some(Value::Array(any)) = s.get_mut("anyOf") {
        any.push(json!({"type": "null"}));
    }
    s
}

fn quantity(description: &str) -> Value {
    json!({"type": "integer", "minimum": 1, "maximum": MAX_QUANTITY, "description": description})
}

fn text(description: &str) -> Value {
    json!({"type": ["string", "null"], "pattern": NO_NUL, "description": description})
}

fn object(required: &[&str], properties: Value, description: &str) -> Value {
    json!({
        "type": "object",
        "description": description,
        "required": required,
        "properties": properties,
        "additionalProperties": false,
    })
}

// ---- request bodies -----------------------------------------------------------------------------

const PLACE: &str = "PlaceOrderRequest";
const PLACE_LINE: &str = "PlaceOrderLine";
const PLACE_DISCOUNT: &str = "PlaceOrderDiscount";
const ADDRESS: &str = "OrderAddressInput";
const CAPTURE: &str = "CapturePaymentRequest";
const SHIP: &str = "ShipFulfillmentRequest";
const LINE_QUANTITY: &str = "OrderLineQuantity";
const RETURN: &str = "RequestReturnRequest";
const RETURN_LINE: &str = "ReturnLineRequest";
const COMPLETE: &str = "CompleteOrderRequest";

fn request_schemas() -> Vec<(&'static str, Value)> {
    let rate = json!({
        "description": "Tax rate applied to every line, in percent (`\"8.25\"`): 0 to 100, at most 6 decimals.",
        "anyOf": [
            {"type": "string", "pattern": r"^(?:[0-9]{1,2}(?:\.[0-9]{1,6})?|100(?:\.0{1,6})?)$"},
            {"type": "integer", "minimum": 0, "maximum": 100},
        ],
    });
    let place = json!({
        "type": "object",
        "description": "Place an order: the order header, its lines with tax lines and adjustments, the summary, the shipping address and the referral link, in one transaction; then `order_created`. A guest checkout (no `customer_uid`) needs an `email`.",
        "required": ["store_uid", "region_uid", "sales_channel_uid", "currency_code", "lines", "tax_rate_percent", "shipping_address"],
        "properties": {
            "store_uid": uid_schema("sto", "The store; must exist and be active."),
            "customer_uid": nullable_uid("cus", "The customer; must exist and be active. Absent for a guest checkout."),
            "email": {"type": ["string", "null"], "pattern": r"^[^\u0000]*@[^\u0000]*$", "description": "Contact email; defaults to the customer's."},
            "region_uid": uid_schema("reg", "The region; must exist, be active and sell in `currency_code`."),
            "sales_channel_uid": uid_schema("sc", "The sales channel; must exist and not be disabled."),
            "currency_code": {"type": "string", "pattern": "^[a-z]{3}$", "description": "ISO 4217, lower case (`usd`)."},
            "lines": {"type": "array", "minItems": 1, "maxItems": MAX_LINES, "items": schema_ref(PLACE_LINE)},
            "tax_rate_percent": rate,
            "tax_code": {"type": ["string", "null"], "pattern": NOT_BLANK, "description": "Code written on the tax lines (default `tax`)."},
            "shipping_address": schema_ref(ADDRESS),
            "referral_uid": nullable_uid("rfl", "The referral the order is attributed to; must exist and be open or converted."),
            "source_channel": {"type": ["string", "null"], "enum": ["web", "pos", "shopify", "api", "import", null], "description": "Default `web`."},
        },
        "anyOf": [
            {"required": ["customer_uid"], "properties": {"customer_uid": {"type": "string"}}},
            {"required": ["email"], "properties": {"email": {"type": "string"}}},
        ],
        "additionalProperties": false,
    });
    let line = object(
        &["variant_uid", "quantity"],
        json!({
            "variant_uid": uid_schema("var", "The variant; it and its product must be for sale (422 naming `lines[i].variant_uid` otherwise)."),
            "quantity": quantity("Units, 1 to 1,000,000."),
            "unit_price": with_null(money("Price of one unit; default: the variant's price in the order's currency (422 when it has none).", false)),
            "discount": {"anyOf": [schema_ref(PLACE_DISCOUNT), {"type": "null"}]},
        }),
        "One order line.",
    );
    let discount = json!({
        "description": "A discount on the line: `{\"amount\": {\"amount\": \"5.00\", \"code\": \"WELCOME5\"}}` (a fixed amount, at most the line subtotal) or `{\"code\": \"CREATOR10\"}` (an active item promotion's code).",
        "oneOf": [
            object(&["amount"], json!({"amount": object(&["amount"], json!({
                "amount": money("The amount off the line.", false),
                "code": text("A code shown on the adjustment."),
            }), "A fixed amount off.")}), "A fixed amount off the line."),
            object(&["code"], json!({"code": {"type": "string", "pattern": NOT_BLANK, "description": "The code of an active promotion targeting items."}}), "A promotion code."),
        ],
    });
    let address = object(
        &[],
        json!({
            "first_name": text("First name."),
            "last_name": text("Last name."),
            "company": text("Company."),
            "address_1": text("Street address."),
            "address_2": text("Second address line."),
            "city": text("City."),
            "country_code": {"type": ["string", "null"], "pattern": "^[a-z]{2}$", "description": "ISO 3166-1 alpha-2, lower case (`us`)."},
            "province": text("Province or state."),
            "postal_code": text("Postal code."),
            "phone": text("Phone."),
        }),
        "Where the goods go (copied into `order_address`, role `shipping`).",
    );
    let capture = object(
        &[],
        json!({
            "amount": with_null(money("Amount to capture, more than 0; default: everything not captured yet. More than what is left is a 422.", true)),
            "provider_uid": {"type": ["string", "null"], "pattern": NOT_BLANK, "description": "Payment provider of a new payment (default `pp_system_default`)."},
        }),
        "Capture money for the order of the path. The body may be left out (capture everything).",
    );
    let ship = object(
        &["location_uid"],
        json!({
            "location_uid": uid_schema("sloc", "The stock location the goods leave from; must exist (404) and be active."),
            "lines": {"anyOf": [
                {"type": "array", "minItems": 1, "items": schema_ref(LINE_QUANTITY)},
                {"type": "null"},
            ], "description": "Units per line; default: every unit not shipped yet. A line of another order, or more units than are left, is a 422."},
        }),
        "Ship (part of) the order of the path.",
    );
    let line_quantity = object(
        &["line_item_uid", "quantity"],
        json!({
            "line_item_uid": uid_schema("ordli", "The order line."),
            "quantity": quantity("Units, at least 1."),
        }),
        "Units of one order line.",
    );
    let ret = object(
        &["lines"],
        json!({
            "lines": {"type": "array", "minItems": 1, "items": schema_ref(RETURN_LINE)},
            "note": text("Note kept on every return item."),
        }),
        "Ask to return goods of the order of the path.",
    );
    let return_line = object(
        &["line_item_uid", "quantity"],
        json!({
            "line_item_uid": uid_schema("ordli", "The order line."),
            "quantity": quantity("Units, at least 1; with the line's other returns at most what was shipped (422 otherwise)."),
            "reason_uid": nullable_uid("rr", "A return reason; must exist (404)."),
        }),
        "Units of one order line to return.",
    );
    let complete = json!({
        "type": "object",
        "description": "No fields; the body may be left out.",
        "maxProperties": 0,
        "additionalProperties": false,
    });
    vec![
        (PLACE, place),
        (PLACE_LINE, line),
        (PLACE_DISCOUNT, discount),
        (ADDRESS, address),
        (CAPTURE, capture),
        (SHIP, ship),
        (LINE_QUANTITY, line_quantity),
        (RETURN, ret),
        (RETURN_LINE, return_line),
        (COMPLETE, complete),
    ]
}

// ---- answers ------------------------------------------------------------------------------------

const EVENT: &str = "CommerceEvent";
const PLACED: &str = "PlacedOrder";
const COMPLETED: &str = "CompletedOrder";
const CAPTURED: &str = "CapturedPayment";
const SHIPPED: &str = "ShippedFulfillment";
const REQUESTED: &str = "RequestedReturn";

/// A decimal as the server writes money: at least two decimals.
const MONEY_OUT: &str = r"^[0-9]+\.[0-9]{2,}$";

fn answer(required: &[&str], mut properties: Map<String, Value>, description: &str) -> Value {
    properties.insert(
        "event".into(),
        json!({"$ref": format!("#/components/schemas/{EVENT}"), "description": "The command's event as `COMMERCE_TELEMETRY` stores it (its id is deterministic)."}),
    );
    properties.insert(
        "event_appended".into(),
        json!({"type": "boolean", "description": "Whether the event is in the log. `false`: the change IS committed but the log was unwritable; the server keeps appending the event in the background (and `reemit_order_events` rebuilds it from PostgreSQL). Do not repeat the command."}),
    );
    let mut required: Vec<&str> = required.to_vec();
    required.extend(["event", "event_appended"]);
    json!({
        "type": "object",
        "description": description,
        "required": required,
        "properties": properties,
    })
}

fn props(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn answer_schemas() -> Vec<(&'static str, Value)> {
    let order_uid = || uid_schema("ord", "The order.");
    let placed = answer(
        &["order_uid", "order_number", "display_id", "line_item_uids"],
        props(json!({
            "order_uid": order_uid(),
            "order_number": {"type": "string", "pattern": "^#[0-9]+$", "description": "`#` + `display_id`."},
            "display_id": {"type": "integer", "minimum": 1, "description": "Sequential number of the order in its store (first: 1001)."},
            "line_item_uids": {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": uid("ordli")}, "description": "The new lines, in the order of the request's lines."},
        })),
        "The order placed.",
    );
    let completed = answer(
        &["order_uid"],
        props(json!({"order_uid": order_uid()})),
        "The order completed.",
    );
    let captured = answer(
        &[
            "order_uid",
            "payment_collection_uid",
            "payment_uid",
            "capture_uid",
            "amount",
            "captured_total",
        ],
        props(json!({
            "order_uid": order_uid(),
            "payment_collection_uid": uid_schema("paycol", "The order's payment collection."),
            "payment_uid": uid_schema("pay", "The payment captured against."),
            "capture_uid": uid_schema("capt", "The new `payment_capture`."),
            "amount": {"type": "string", "pattern": MONEY_OUT, "description": "Captured by this request."},
            "captured_total": {"type": "string", "pattern": MONEY_OUT, "description": "Captured for the order so far, this request included."},
        })),
        "The capture.",
    );
    let shipped = answer(
        &["order_uid", "fulfillment_uid", "lines"],
        props(json!({
            "order_uid": order_uid(),
            "fulfillment_uid": uid_schema("ful", "The new fulfillment (phase `shipped`)."),
            "lines": {"type": "array", "minItems": 1, "items": schema_ref(LINE_QUANTITY), "description": "Units shipped per line by this fulfillment."},
        })),
        "The shipment.",
    );
    let requested = answer(
        &["order_uid", "return_uid", "display_id", "refund_amount"],
        props(json!({
            "order_uid": order_uid(),
            "return_uid": uid_schema("ret", "The new `return_request` (phase `requested`)."),
            "display_id": {"type": "integer", "minimum": 1, "description": "Sequential number of the return."},
            "refund_amount": {"type": "string", "pattern": MONEY_OUT, "description": "Refund due if every unit comes back."},
        })),
        "The return request.",
    );
    vec![
        (PLACED, placed),
        (COMPLETED, completed),
        (CAPTURED, captured),
        (SHIPPED, shipped),
        (REQUESTED, requested),
    ]
}

/// Rewrites `#/$defs/<X>` into `#/components/schemas/Event<X>`.
fn rewrite_refs(v: &mut Value) {
    match v {
        Value::Object(o) => {
            if let Some(Value::String(r)) = o.get_mut("$ref")
                && let Some(name) = r.strip_prefix("#/$defs/")
            {
                *r = format!("#/components/schemas/Event{name}");
            }
            o.values_mut().for_each(rewrite_refs);
        }
        Value::Array(a) => a.iter_mut().for_each(rewrite_refs),
        _ => {}
    }
}

/// The commerce event schema as `CommerceEvent` and its definitions as `Event<Name>`.
fn event_schemas() -> Vec<(String, Value)> {
    let mut root = strata_events::json_schema(StreamName::Commerce);
    rewrite_refs(&mut root);
    let mut out = Vec::new();
    if let Value::Object(o) = &mut root {
        // `$id` would move the base of the rewritten refs; the document's dialect is 2020-12.
        o.remove("$id");
        o.remove("$schema");
        if let Some(Value::Object(defs)) = o.remove("$defs") {
            for (name, def) in defs {
                out.push((format!("Event{name}"), def));
            }
        }
    }
    out.push((EVENT.to_string(), root));
    out
}

/// Adds the commands' schemas to `components.schemas`.
pub(crate) fn components(out: &mut Map<String, Value>) {
    for (name, s) in request_schemas().into_iter().chain(answer_schemas()) {
        insert_unique(out, name.to_string(), s);
    }
    for (name, s) in event_schemas() {
        insert_unique(out, name, s);
    }
}

// ---- paths --------------------------------------------------------------------------------------

/// The `uid` path parameter of the command paths: an order uid.
pub(crate) const ORDER_UID_PARAM: &str = "orderUid";

pub(crate) fn order_uid_param() -> Value {
    json!({
        "name": "uid",
        "in": "path",
        "required": true,
        "description": "The order (`ord_<ULID>`); an unknown order is a 404.",
        "schema": {"type": "string", "pattern": uid("ord")},
    })
}

fn problem(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/problem+json": {"schema": schema_ref("Problem")}},
    })
}

struct Command {
    id: &'static str,
    path: &'static str,
    summary: &'static str,
    description: &'static str,
    /// The module (besides the order's) whose write scope the command needs.
    also_scope: Option<&'static str>,
    body: &'static str,
    body_required: bool,
    status: &'static str,
    answer: &'static str,
    location: bool,
    not_found: &'static str,
    conflict: &'static str,
    invalid: &'static str,
}

const COMMANDS: [Command; 5] = [
    Command {
        id: "orders_place",
        path: "/v1/orders",
        summary: "Place an order",
        description: "Writes the order header, its lines (priced from the catalogue unless `unit_price` is given) with tax lines and adjustments, the version-1 summary, the shipping address and the referral link in one transaction, with the request's `audit_event` row; then appends `order_created` (the order's full snapshot) to `COMMERCE_TELEMETRY`. Order numbers are `#` + the store's next `display_id` (1001 first). Responds with `Location: /v1/orders/{uid}`.",
        also_scope: None,
        body: PLACE,
        body_required: true,
        status: "201",
        answer: PLACED,
        location: true,
        not_found: "The store, region, sales channel, customer or referral does not exist.",
        conflict: "The store is not active, or a concurrent write persisted after retries.",
        invalid: "Invalid fields, one entry per field: an unknown field or a wrong type, or what the catalogue says: a variant or product not for sale (`lines[i].variant_uid`), no price in the currency (`lines[i].unit_price`), a currency the region does not sell in (`currency_code`), an inactive region, channel or customer, a discount larger than the line or an unknown promotion code, amounts too large.",
    },
    Command {
        id: "orders_complete",
        path: "/v1/orders/{uid}/complete",
        summary: "Complete an order",
        description: "Moves a `pending` or `requires_action` order to `completed` (with a `Completed` condition), with the request's `audit_event` row, then appends `order_completed`.",
        also_scope: None,
        body: COMPLETE,
        body_required: false,
        status: "200",
        answer: COMPLETED,
        location: false,
        not_found: "No such order.",
        conflict: "The order is already completed, or canceled, archived or a draft.",
        invalid: "The body has fields (it takes none).",
    },
    Command {
        id: "orders_capture_payment",
        path: "/v1/orders/{uid}/payments",
        summary: "Capture a payment for an order",
        description: "The first capture creates the order's payment collection and payment (for the order total); each writes a `payment_capture`, an `order_transaction` and the summary's `paid_total`, with the request's `audit_event` row; then `payment_captured` is appended. Responds with `Location: /v1/resources/payment_capture/{uid}`.",
        also_scope: Some("payment"),
        body: CAPTURE,
        body_required: false,
        status: "201",
        answer: CAPTURED,
        location: true,
        not_found: "No such order.",
        conflict: "The order is fully captured, or canceled, archived or a draft.",
        invalid: "Invalid fields: an unknown field or a wrong type, or an `amount` more than what is left to capture.",
    },
    Command {
        id: "orders_ship_fulfillment",
        path: "/v1/orders/{uid}/fulfillments",
        summary: "Ship (part of) an order",
        description: "Writes a `fulfillment` (phase `shipped`, with the order's shipping address), its items and the order link, and raises the lines' shipped quantities, with the request's `audit_event` row; then appends `fulfillment_shipped`. Responds with `Location: /v1/fulfillments/{uid}`.",
        also_scope: Some("fulfillment"),
        body: SHIP,
        body_required: true,
        status: "201",
        answer: SHIPPED,
        location: true,
        not_found: "No such order or stock location.",
        conflict: "Nothing is left to ship, or the order is canceled, archived or a draft.",
        invalid: "Invalid fields: an unknown field or a wrong type, an inactive stock location, a line of another order, more units than are left to ship.",
    },
    Command {
        id: "orders_request_return",
        path: "/v1/orders/{uid}/returns",
        summary: "Request a return",
        description: "Writes a `return_request` (phase `requested`, numbered over all returns, with the refund due if every unit comes back) and its items, with the request's `audit_event` row; then appends `return_requested`. Responds with `Location: /v1/resources/return_request/{uid}`.",
        also_scope: Some("return"),
        body: RETURN,
        body_required: true,
        status: "201",
        answer: REQUESTED,
        location: true,
        not_found: "No such order or return reason.",
        conflict: "The order is canceled, archived or a draft.",
        invalid: "Invalid fields: an unknown field or a wrong type, a line of another order, more units than were shipped and not yet returned.",
    },
];

fn operation(orders: &Target, c: &Command) -> Value {
    let extra = c
        .also_scope
        .map(|m| format!(" Also requires `{m}:write` (or `*:write`, `*`)."))
        .unwrap_or_default();
    let description = format!(
        "{}\n\nEvery command is one PostgreSQL transaction: a failed request writes nothing. When the event log is unwritable after the commit, the answer is still {} with `event_appended: false` (the change is committed; do not repeat the request).{extra}",
        c.description, c.status
    );
    let mut o = orders.op(c.id, c.summary.into(), description, true);
    let content = json_content(schema_ref(c.body));
    o.insert(
        "requestBody".into(),
        json!({"required": c.body_required, "content": content}),
    );
    if c.path.contains("{uid}") {
        o.insert(
            "parameters".into(),
            json!([reference("parameters", ORDER_UID_PARAM)]),
        );
    }
    let mut ok = json!({"description": "The command's result, with its event.", "content": json_content(schema_ref(c.answer))});
    if c.location {
        ok["headers"] = json!({"Location": header_ref("Location")});
    }
    let mut item = with_responses(o, vec![(c.status, ok)], &[404, 409, 413, 415, 422]);
    let responses = &mut item["responses"];
    responses["404"] = problem(c.not_found);
    responses["409"] = problem(c.conflict);
    responses["422"] = problem(c.invalid);
    item
}

/// Adds the command operations to `paths` (`POST` next to `GET /v1/orders`).
pub(crate) fn paths(schema: &Schema, out: &mut Map<String, Value>) {
    let Some(header) = schema.table("order_header") else {
        return;
    };
    let orders = Target::new(schema, header);
    for c in &COMMANDS {
        let op = operation(&orders, c);
        match out.get_mut(c.path).and_then(Value::as_object_mut) {
            Some(item) => {
                item.insert("post".into(), op);
            }
            None => {
                let mut item = Map::new();
                item.insert("post".into(), op);
                insert_unique(out, c.path.to_string(), Value::Object(item));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    fn doc() -> Value {
        super::super::document(&strata_schema::embedded().expect("schema"))
    }

    #[test]
    fn every_command_is_a_post_with_its_body_and_answer() {
        let doc = doc();
        for c in &super::COMMANDS {
            let op = &doc["paths"][c.path]["post"];
            assert_eq!(op["operationId"], c.id, "{}", c.path);
            assert_eq!(op["tags"], serde_json::json!(["06 order"]), "{}", c.path);
            let body = &op["requestBody"];
            assert_eq!(body["required"], c.body_required, "{}", c.path);
            assert_eq!(
                body["content"]["application/json"]["schema"]["$ref"],
                format!("#/components/schemas/{}", c.body)
            );
            let ok = &op["responses"][c.status];
            assert_eq!(
                ok["content"]["application/json"]["schema"]["$ref"],
                format!("#/components/schemas/{}", c.answer)
            );
            assert_eq!(ok["headers"].get("Location").is_some(), c.location);
            for status in [
                "400", "401", "403", "404", "409", "413", "415", "422", "429", "503",
            ] {
                assert!(op["responses"].get(status).is_some(), "{} {status}", c.path);
            }
            if let Some(m) = c.also_scope {
                let d = op["description"].as_str().unwrap_or_default();
                assert!(d.contains(&format!("`{m}:write`")), "{}", c.path);
            }
        }
        // Placing sits next to listing.
        assert_eq!(
            doc["paths"]["/v1/orders"]["get"]["operationId"],
            "orders_list"
        );
    }

    #[test]
    fn the_event_schema_is_hoisted_whole() {
        let text = serde_json::to_string(&doc()).expect("json");
        assert!(!text.contains("#/$defs/"));
        assert!(!text.contains("urn:strata:events"));
        let schemas = &doc()["components"]["schemas"];
        assert!(schemas["CommerceEvent"]["properties"]["event_type"].is_object());
        assert!(schemas["EventAmount"]["pattern"].is_string());
    }
}
