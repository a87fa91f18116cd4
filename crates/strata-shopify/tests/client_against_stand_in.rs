//! The client against the stand-in over real HTTP: the whole bulk path, the incremental filter,
//! and each failure the client must survive or report.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::HeaderMap;
use chrono::{DateTime, TimeZone, Utc};
use rust_decimal::Decimal;
use strata_shopify::bulk::{BulkOperationErrorCode, BulkOperationStatus};
use strata_shopify::jsonl::{OrdersReader, ProductsReader, ReadAll};
use strata_shopify::stand_in::{StandIn, StandInOptions, Truncation};
use strata_shopify::webhook::{self, BulkOperationFinish, Topic};
use strata_shopify::{
    AdminClient, BulkOperation, Order, Secret, ShopifyConfig, ShopifyError, orders, products,
};
use tokio::sync::Notify;

fn options(orders: usize) -> StandInOptions {
    StandInOptions {
        orders,
        bulk_duration: Duration::from_millis(20),
        ..StandInOptions::default()
    }
}

/// The stand-in's config with quick retries.
fn fast(config: ShopifyConfig) -> ShopifyConfig {
    let mut config = config;
    config.retry.base_delay = Duration::from_millis(10);
    config.retry.max_delay = Duration::from_millis(50);
    config.request_timeout = Duration::from_secs(5);
    config
}

fn client(shop: &StandIn) -> AdminClient {
    AdminClient::new(fast(shop.config())).unwrap()
}

fn utc(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0).single().unwrap()
}

const POLL: Duration = Duration::from_millis(10);

async fn run_to_completion(client: &AdminClient, query: &str) -> BulkOperation {
    let op = client.run_bulk_query(query).await.unwrap();
    assert!(matches!(
        op.status,
        BulkOperationStatus::Created | BulkOperationStatus::Running
    ));
    client.wait_for_bulk(&op.id, POLL, None).await.unwrap()
}

async fn download(client: &AdminClient, op: &BulkOperation) -> Vec<u8> {
    let mut file = Vec::new();
    let written = client.download_operation(op, &mut file).await.unwrap();
    assert_eq!(written, file.len() as u64);
    file
}

async fn parse(bytes: &[u8]) -> ReadAll<Order> {
    OrdersReader::new(bytes).read_all().await.unwrap()
}

fn totals(orders: &[Order]) -> (u64, u64, Decimal) {
    let items = orders.iter().map(|o| o.line_items.len() as u64).sum();
    let quantity = orders.iter().map(|o| o.total_quantity() as u64).sum();
    let price = orders.iter().map(|o| o.total_price.amount).sum();
    (items, quantity, price)
}

#[tokio::test]
async fn bulk_query_poll_download_parse_yields_exactly_the_store() {
    let shop = StandIn::start(options(300)).await.unwrap();
    let client = client(&shop);
    let op = run_to_completion(&client, &orders::orders_bulk_query(None)).await;
    assert_eq!(op.status, BulkOperationStatus::Completed);
    let file = download(&client, &op).await;
    assert_eq!(op.file_size, Some(file.len() as u64));

    let all = parse(&file).await;
    assert!(all.quarantined.is_empty(), "{:?}", all.quarantined);
    assert!(!all.truncated_tail);
    let expected = shop.summary(None);
    assert_eq!(all.items.len() as u64, expected.orders);
    assert_eq!(expected.orders, 300);
    let (items, quantity, price) = totals(&all.items);
    assert_eq!(items, expected.line_items);
    assert_eq!(quantity, expected.total_quantity);
    assert_eq!(price, expected.total_price);
    assert_eq!(op.root_object_count, Some(300));
    assert_eq!(op.object_count, Some(expected.orders + expected.line_items));
    let ids: Vec<u64> = all.items.iter().map(|o| o.id.id()).collect();
    assert_eq!(ids, shop.order_ids(None));

    // The model is complete and consistent: every order's lines add up to its subtotal.
    for order in &all.items {
        assert!(!order.line_items.is_empty());
        assert_eq!(
            Some(order.line_items_total()),
            order.subtotal_price.as_ref().map(|m| m.amount)
        );
        let item = &order.line_items[0];
        assert!(item.product.is_some() && item.variant.is_some());
        assert!(item.id.is("LineItem"));
        assert_eq!(order.tax_lines.len(), 1);
        assert!(
            order
                .shipping_address
                .as_ref()
                .and_then(|a| a.city.as_ref())
                .is_some()
        );
    }

    // Reading while downloading gives the same orders.
    let streamed = OrdersReader::new(
        client
            .open_download(op.url.as_deref().unwrap(), op.file_size)
            .await
            .unwrap(),
    )
    .read_all()
    .await
    .unwrap();
    assert_eq!(streamed.items, all.items);
    let stats = shop.stats();
    assert_eq!(stats.downloads, 2);
    assert_eq!(stats.bulk_operations, 1);
    assert_eq!(stats.throttled, 0);
    shop.shutdown().await;
}

#[tokio::test]
async fn the_updated_at_filter_is_honoured_and_store_changes_show_up() {
    let shop = StandIn::start(options(400)).await.unwrap();
    let client = client(&shop);
    let since = utc(2024, 2, 15, 0);
    let op = run_to_completion(&client, &orders::orders_bulk_query(Some(since))).await;
    let all = parse(&download(&client, &op).await).await;
    let expected_ids = shop.order_ids(Some(since));
    assert!(
        !expected_ids.is_empty() && expected_ids.len() < 400,
        "{}",
        expected_ids.len()
    );
    assert_eq!(
        all.items.iter().map(|o| o.id.id()).collect::<Vec<_>>(),
        expected_ids
    );
    assert!(all.items.iter().all(|o| o.updated_at >= since));
    let expected = shop.summary(Some(since));
    assert_eq!(totals(&all.items).1, expected.total_quantity);

    // Between runs: one old order is edited, three orders arrive.
    let watermark = utc(2024, 6, 1, 0);
    let old = shop.order_ids(None)[5];
    let before = shop.summary(None).total_quantity;
    shop.update_order(old, watermark).unwrap();
    assert_eq!(shop.summary(None).total_quantity, before + 1);
    let new = shop.add_orders(3, utc(2024, 6, 2, 12));
    assert!(shop.update_order(1, watermark).is_err());

    let op = run_to_completion(&client, &orders::orders_bulk_query(Some(watermark))).await;
    let delta = parse(&download(&client, &op).await).await;
    let mut ids: Vec<u64> = delta.items.iter().map(|o| o.id.id()).collect();
    ids.sort_unstable();
    let mut wanted = vec![old];
    wanted.extend(&new);
    assert_eq!(ids, wanted);
    assert_eq!(delta.items[0].updated_at, watermark);
    assert_eq!(
        totals(&delta.items).1,
        shop.summary(Some(watermark)).total_quantity
    );

    // Nothing matches: the operation completes without a URL, and downloads nothing.
    let op = run_to_completion(
        &client,
        &orders::orders_bulk_query(Some(utc(2030, 1, 1, 0))),
    )
    .await;
    assert_eq!(op.url, None);
    assert_eq!(download(&client, &op).await.len(), 0);
}

#[tokio::test]
async fn products_come_with_their_variants() {
    let shop = StandIn::start(StandInOptions {
        products: 30,
        ..options(10)
    })
    .await
    .unwrap();
    let client = client(&shop);
    let op = run_to_completion(&client, &products::products_bulk_query(None)).await;
    let mut file = Vec::new();
    client.download_operation(&op, &mut file).await.unwrap();
    let all = ProductsReader::new(file.as_slice())
        .read_all()
        .await
        .unwrap();
    assert!(all.quarantined.is_empty(), "{:?}", all.quarantined);
    let ids: Vec<u64> = all.items.iter().map(|p| p.id.id()).collect();
    assert_eq!(ids, shop.product_ids());
    assert!(
        all.items
            .iter()
            .all(|p| (1..=3).contains(&p.variants.len()))
    );
    assert!(
        all.items
            .iter()
            .all(|p| p.variants.iter().all(|v| v.price.is_some()))
    );

    let product = ids[3];
    shop.update_product(product, utc(2024, 7, 1, 0)).unwrap();
    let op = run_to_completion(
        &client,
        &products::products_bulk_query(Some(utc(2024, 6, 1, 0))),
    )
    .await;
    let mut file = Vec::new();
    client.download_operation(&op, &mut file).await.unwrap();
    let changed = ProductsReader::new(file.as_slice())
        .read_all()
        .await
        .unwrap();
    assert_eq!(changed.items.len(), 1);
    assert_eq!(changed.items[0].id.id(), product);
    assert!(changed.items[0].tags.iter().any(|t| t == "updated"));
}

#[tokio::test]
async fn server_errors_are_retried_until_the_budget_runs_out() {
    let shop = StandIn::start(options(5)).await.unwrap();
    let client = client(&shop);
    shop.fail_next_requests(3, 503);
    let op = client
        .run_bulk_query(&orders::orders_bulk_query(None))
        .await
        .unwrap();
    assert_eq!(shop.stats().injected_failures, 3);
    assert_eq!(shop.stats().bulk_operations, 1);
    client.wait_for_bulk(&op.id, POLL, None).await.unwrap();

    let mut config = fast(shop.config());
    config.retry.max_retries = 1;
    let impatient = AdminClient::new(config).unwrap();
    shop.fail_next_requests(5, 502);
    let err = impatient.current_bulk_operation().await.unwrap_err();
    assert!(
        matches!(
            err,
            ShopifyError::Server {
                status: 502,
                attempts: 2,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_transient());
    assert!(err.to_string().contains("502"), "{err}");
}

#[tokio::test]
async fn a_slow_answer_times_out_and_is_retried() {
    let shop = StandIn::start(options(5)).await.unwrap();
    let mut config = fast(shop.config());
    config.request_timeout = Duration::from_millis(300);
    let client = AdminClient::new(config).unwrap();
    shop.delay_next_requests(1, Duration::from_secs(3));
    let started = Instant::now();
    let current = client.current_bulk_operation().await.unwrap();
    assert!(current.is_none());
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(shop.stats().delayed, 1);
    assert_eq!(shop.stats().graphql_requests, 2);
}

#[tokio::test]
async fn a_throttled_request_waits_for_the_bucket_then_succeeds() {
    let shop = StandIn::start(options(5)).await.unwrap();
    let client = client(&shop);
    // Empty bucket, 50 points a second: the 10-point mutation is THROTTLED; the answer says
    // how empty the bucket is, and the client waits ~200 ms before trying again.
    shop.set_throttle(0.0, 50.0);
    let started = Instant::now();
    client
        .run_bulk_query(&orders::orders_bulk_query(None))
        .await
        .unwrap();
    let waited = started.elapsed();
    assert_eq!(shop.stats().throttled, 1);
    assert!(waited >= Duration::from_millis(150), "{waited:?}");
    assert!(waited < Duration::from_secs(3), "{waited:?}");
}

#[tokio::test]
async fn the_client_waits_before_sending_when_the_bucket_is_low() {
    let shop = StandIn::start(options(5)).await.unwrap();
    let client = client(&shop);
    shop.set_throttle(5.0, 50.0);
    // 1 point: passes, and tells the client 4 are left.
    client.current_bulk_operation().await.unwrap();
    assert!(client.throttle_status().currently_available <= 5.0);
    let started = Instant::now();
    client
        .run_bulk_query(&orders::orders_bulk_query(None))
        .await
        .unwrap();
    let waited = started.elapsed();
    assert_eq!(
        shop.stats().throttled,
        0,
        "the client should have waited instead"
    );
    assert!(waited >= Duration::from_millis(90), "{waited:?}");
}

#[tokio::test]
async fn a_failed_operation_is_a_clear_error() {
    let shop = StandIn::start(options(20)).await.unwrap();
    let client = client(&shop);
    shop.fail_next_bulk_operation("ACCESS_DENIED");
    let op = client
        .run_bulk_query(&orders::orders_bulk_query(None))
        .await
        .unwrap();
    let err = client.wait_for_bulk(&op.id, POLL, None).await.unwrap_err();
    match &err {
        ShopifyError::BulkFailed {
            id,
            status,
            error_code,
            ..
        } => {
            assert_eq!(id, op.id.as_str());
            assert_eq!(*status, BulkOperationStatus::Failed);
            assert_eq!(*error_code, Some(BulkOperationErrorCode::AccessDenied));
        }
        other => panic!("{other:?}"),
    }
    assert!(!err.is_transient());
    let text = err.to_string();
    assert!(
        text.contains("ACCESS_DENIED") && text.contains("scope"),
        "{text}"
    );

    // The next one is fine.
    run_to_completion(&client, &orders::orders_bulk_query(None)).await;
}

#[tokio::test]
async fn a_second_bulk_query_while_one_runs_is_refused_with_user_errors() {
    let shop = StandIn::start(options(20)).await.unwrap();
    shop.set_bulk_duration(Duration::from_millis(500));
    let client = client(&shop);
    let first = client
        .run_bulk_query(&orders::orders_bulk_query(None))
        .await
        .unwrap();
    let err = client
        .run_bulk_query(&orders::orders_bulk_query(None))
        .await
        .unwrap_err();
    let ShopifyError::BulkUserErrors { errors } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(errors[0].code.as_deref(), Some("OPERATION_IN_PROGRESS"));
    assert!(err.is_operation_in_progress());
    assert!(err.to_string().contains("still running"), "{err}");
    let current = client.current_bulk_operation().await.unwrap().unwrap();
    assert_eq!(current.id, first.id);

    let cancelled = client.cancel_bulk_operation(&first.id).await.unwrap();
    assert_eq!(cancelled.status, BulkOperationStatus::Canceled);
    let err = client
        .wait_for_bulk(&first.id, POLL, None)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ShopifyError::BulkFailed {
                status: BulkOperationStatus::Canceled,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_transient());

    let bogus = strata_shopify::Gid::new("BulkOperation", 1);
    assert!(matches!(
        client.bulk_operation(&bogus).await.unwrap_err(),
        ShopifyError::BulkNotFound { .. }
    ));
}

#[tokio::test]
async fn a_cut_download_is_an_error_not_a_short_file() {
    let shop = StandIn::start(options(200)).await.unwrap();
    let client = client(&shop);
    let op = run_to_completion(&client, &orders::orders_bulk_query(None)).await;
    let size = op.file_size.unwrap();
    assert!(size > 100_000, "{size}");

    // The connection closes mid-body: Content-Length is not reached.
    shop.truncate_next_download(Truncation::CutConnection {
        keep_bytes: size / 2,
    });
    let mut file = Vec::new();
    let err = client.download_operation(&op, &mut file).await.unwrap_err();
    assert!(matches!(err, ShopifyError::Truncated { .. }), "{err:?}");
    assert!(err.is_transient());
    assert!((file.len() as u64) < size);

    // A well-formed but short response: only fileSize shows it.
    shop.truncate_next_download(Truncation::ShortBody {
        keep_bytes: size - 10,
    });
    let err = client
        .download_operation(&op, &mut Vec::new())
        .await
        .unwrap_err();
    assert!(matches!(err, ShopifyError::Truncated { .. }), "{err:?}");
    assert!(err.to_string().contains(&size.to_string()), "{err}");

    // No Content-Length, a clean end: only the count against fileSize shows it.
    shop.truncate_next_download(Truncation::Unsized {
        keep_bytes: size - 10,
    });
    let err = client
        .download_operation(&op, &mut Vec::new())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ShopifyError::Truncated { received, .. } if received == size - 10),
        "{err:?}"
    );
    shop.truncate_next_download(Truncation::Unsized {
        keep_bytes: size - 10,
    });
    let stream = client
        .open_download(op.url.as_deref().unwrap(), op.file_size)
        .await
        .unwrap();
    let err = OrdersReader::new(stream).read_all().await.unwrap_err();
    assert!(err.to_string().contains("ended after"), "{err}");

    // Read while downloading: the reader fails instead of ending early.
    shop.truncate_next_download(Truncation::CutConnection {
        keep_bytes: size / 3,
    });
    let stream = client
        .open_download(op.url.as_deref().unwrap(), op.file_size)
        .await
        .unwrap();
    assert!(OrdersReader::new(stream).read_all().await.is_err());

    // Without the operation's size, a short file still ends in a truncated last line.
    shop.truncate_next_download(Truncation::ShortBody {
        keep_bytes: size / 2,
    });
    let mut cut = Vec::new();
    client
        .download(op.url.as_deref().unwrap(), &mut cut, None)
        .await
        .unwrap();
    assert_eq!(cut.len() as u64, size / 2);
    let all = parse(&cut).await;
    assert!(!cut.ends_with(b"\n"), "the cut should fall inside a line");
    assert!(all.truncated_tail);
    assert_eq!(all.quarantined.last().map(|q| q.line_no), Some(all.lines));

    // A 503 from storage is retried.
    shop.fail_next_downloads(2);
    let file = download(&client, &op).await;
    assert_eq!(file.len() as u64, size);
}

#[tokio::test]
async fn malformed_lines_are_quarantined_with_their_numbers_and_the_rest_parses() {
    let shop = StandIn::start(options(50)).await.unwrap();
    let client = client(&shop);
    let clean_op = run_to_completion(&client, &orders::orders_bulk_query(None)).await;
    let clean_file = download(&client, &clean_op).await;
    let clean = parse(&clean_file).await;

    // Line 2 is a line item of the first order; the fifth order's own line is L.
    let text = String::from_utf8(clean_file).unwrap();
    let roots: Vec<u64> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.contains("__parentId"))
        .map(|(i, _)| i as u64 + 1)
        .collect();
    let fifth = roots[4];
    let fifth_children = roots[5] - fifth - 1;
    let lost_item_qty = clean.items[0].line_items[0].quantity as u64;
    let fifth_qty = clean.items[4].total_quantity() as u64;

    shop.corrupt_lines_in_next_bulk([2, fifth]);
    let op = run_to_completion(&client, &orders::orders_bulk_query(None)).await;
    let all = parse(&download(&client, &op).await).await;

    let mut lines: Vec<u64> = all.quarantined.iter().map(|q| q.line_no).collect();
    lines.sort_unstable();
    let mut wanted = vec![2, fifth];
    wanted.extend((1..=fifth_children).map(|k| fifth + k));
    assert_eq!(lines, wanted, "{:#?}", all.quarantined);
    let first = all.quarantined.iter().find(|q| q.line_no == 2).unwrap();
    assert!(first.reason.contains("not valid JSON"), "{}", first.reason);
    assert_eq!(first.parent_id.as_deref(), Some(clean.items[0].id.as_str()));
    // The orphans name their parent: the order to fetch again.
    for orphan in all.quarantined.iter().filter(|q| q.line_no > fifth) {
        assert!(orphan.reason.contains("orphan"), "{}", orphan.reason);
        assert_eq!(
            orphan.parent_id.as_deref(),
            Some(clean.items[4].id.as_str())
        );
    }

    // Everything else parsed.
    assert_eq!(all.items.len(), clean.items.len() - 1);
    assert_eq!(
        all.items[0].line_items.len(),
        clean.items[0].line_items.len() - 1
    );
    assert!(all.items.iter().all(|o| o.id != clean.items[4].id));
    let (_, quantity, _) = totals(&all.items);
    assert_eq!(
        quantity,
        shop.summary(None).total_quantity - lost_item_qty - fifth_qty
    );
}

#[tokio::test]
async fn a_wrong_token_is_refused_at_once_and_never_printed() {
    let shop = StandIn::start(options(5)).await.unwrap();
    let mut config = fast(shop.config());
    config.access_token = Secret::new("shpat_wrong_and_secret");
    let client = AdminClient::new(config.clone()).unwrap();
    let err = client.current_bulk_operation().await.unwrap_err();
    assert!(
        matches!(err, ShopifyError::Unauthorized { status: 401, .. }),
        "{err:?}"
    );
    assert_eq!(shop.stats().unauthorized, 1, "a 401 is not retried");
    for printed in [
        err.to_string(),
        format!("{err:?}"),
        format!("{config:?}"),
        format!("{client:?}"),
        format!("{:?}", shop.config()),
    ] {
        assert!(!printed.contains("wrong_and_secret"), "{printed}");
        assert!(!printed.contains(shop.access_token()), "{printed}");
        assert!(!printed.contains(shop.webhook_secret()), "{printed}");
    }
    assert!(format!("{config:?}").contains("***"));
}

/// A webhook receiver as the sync would run it: verify, decode, signal.
async fn receiver(
    secret: Secret,
    signal: Arc<Notify>,
    seen: Arc<std::sync::Mutex<Vec<BulkOperationFinish>>>,
) -> (url::Url, tokio::task::JoinHandle<()>) {
    let app = axum::Router::new().route(
        "/webhooks",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let secret = secret.clone();
            let signal = Arc::clone(&signal);
            let seen = Arc::clone(&seen);
            async move {
                let header = headers
                    .get(webhook::HMAC_HEADER)
                    .and_then(|v| v.to_str().ok());
                if webhook::verify(&secret, &body, header).is_err() {
                    return axum::http::StatusCode::UNAUTHORIZED;
                }
                let topic = headers
                    .get(webhook::TOPIC_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .map(Topic::parse);
                if topic != Some(Topic::BulkOperationsFinish) {
                    return axum::http::StatusCode::BAD_REQUEST;
                }
                let Ok(finish) = BulkOperationFinish::from_body(&body) else {
                    return axum::http::StatusCode::BAD_REQUEST;
                };
                seen.lock().unwrap().push(finish);
                signal.notify_one();
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = url::Url::parse(&format!(
        "http://{}/webhooks",
        listener.local_addr().unwrap()
    ))
    .unwrap();
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (url, task)
}

#[tokio::test]
async fn the_finish_webhook_is_signed_and_wakes_the_wait() {
    let shop = StandIn::start(options(30)).await.unwrap();
    shop.set_bulk_duration(Duration::from_millis(200));
    let client = client(&shop);
    let signal = Arc::new(Notify::new());
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (url, server) = receiver(
        Secret::new(shop.webhook_secret()),
        Arc::clone(&signal),
        Arc::clone(&seen),
    )
    .await;
    shop.set_webhook_url(Some(url.clone()));

    let op = client
        .run_bulk_query(&orders::orders_bulk_query(None))
        .await
        .unwrap();
    let started = Instant::now();
    // Polling every 30 s: only the webhook can make this return quickly.
    let done = tokio::time::timeout(
        Duration::from_secs(10),
        client.wait_for_bulk(&op.id, Duration::from_secs(30), Some(&signal)),
    )
    .await
    .expect("the webhook should have cut the wait short")
    .unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(done.status, BulkOperationStatus::Completed);
    let finish = seen.lock().unwrap()[0].clone();
    assert_eq!(finish.admin_graphql_api_id, op.id);
    assert_eq!(finish.status(), BulkOperationStatus::Completed);
    assert_eq!(shop.stats().webhooks_sent, 1);

    // A receiver with another secret refuses the delivery.
    let (other_url, other) = receiver(
        Secret::new("not-the-secret"),
        Arc::new(Notify::new()),
        Arc::new(std::sync::Mutex::new(Vec::new())),
    )
    .await;
    shop.set_webhook_url(Some(other_url));
    let op = run_to_completion(&client, &orders::orders_bulk_query(None)).await;
    for _ in 0..100 {
        if shop.stats().webhooks_failed > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(shop.stats().webhooks_failed, 1, "{op:?}");
    server.abort();
    other.abort();
}

/// 100,000 orders (~300,000 line items) through the whole path. Slow in a debug build: run it
/// with `cargo test -p strata-shopify --release -- --ignored`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "large: run with --release -- --ignored"]
async fn a_hundred_thousand_orders() {
    let started = Instant::now();
    let shop = StandIn::start(options(100_000)).await.unwrap();
    let generated = started.elapsed();
    let client = client(&shop);
    let op = run_to_completion(&client, &orders::orders_bulk_query(None)).await;
    let completed = started.elapsed();
    let download_started = Instant::now();
    let bytes = client
        .download_operation(&op, tokio::io::sink())
        .await
        .unwrap();
    let download_only = download_started.elapsed();
    assert_eq!(Some(bytes), op.file_size);
    let parse_started = Instant::now();
    let stream = client
        .open_download(op.url.as_deref().unwrap(), op.file_size)
        .await
        .unwrap();
    let mut reader = OrdersReader::new(stream);
    let (mut orders, mut items, mut quantity) = (0u64, 0u64, 0u64);
    while let Some(order) = reader.next().await.unwrap() {
        orders += 1;
        items += order.line_items.len() as u64;
        quantity += order.total_quantity() as u64;
    }
    let expected = shop.summary(None);
    assert!(reader.quarantined().is_empty());
    assert_eq!(
        (orders, items, quantity),
        (
            expected.orders,
            expected.line_items,
            expected.total_quantity
        )
    );
    eprintln!(
        "100k orders ({items} line items): generated in {generated:?}, operation completed at {completed:?}; {} MB downloaded in {download_only:?}, downloaded and parsed in {:?}",
        bytes / 1_000_000,
        parse_started.elapsed(),
    );
}

/// The workflow engine runs these on a multi-threaded runtime: their futures must be `Send`.
#[test]
fn the_client_and_the_stand_in_can_cross_threads() {
    fn send<T: Send>(_: &T) {}
    fn send_sync<T: Send + Sync>() {}
    send_sync::<AdminClient>();
    send_sync::<StandIn>();
    let client = AdminClient::new(ShopifyConfig::new("shop", "token")).unwrap();
    let id = strata_shopify::Gid::new("BulkOperation", 1);
    let notify = Notify::new();
    send(&client.graphql::<serde_json::Value>("{ shop { name } }", serde_json::json!({})));
    send(&client.run_bulk_query("{ orders { edges { node { id } } } }"));
    send(&client.wait_for_bulk(&id, POLL, Some(&notify)));
    send(&client.download("http://127.0.0.1:1/x", Vec::new(), None));
    send(&client.open_download("http://127.0.0.1:1/x", None));
    let mut reader = OrdersReader::new(&b""[..]);
    send(&reader.next());
    send(&StandIn::start(options(1)));
}
