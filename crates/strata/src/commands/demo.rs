//! `strata demo`: the main job on embedded defaults: apply the schema, seed a store, print what the
//! store holds, then stream the store's events through the pipelines into the Iceberg lake and
//! print what each lake table holds; then compute the measurements and print the classification.
//! With `--shopify-fake N`, then the daily Shopify sync from a local stand-in shop.

use std::process::ExitCode;

use anyhow::{Context, Result};
use strata_domain::Database;
use strata_schema::SchemaSource;

use super::{connect, schema, seed};

mod lake;
mod measure;
use crate::cli::{DemoArgs, GlobalOpts, SyncCommand, SyncShopifyArgs};

pub async fn run(global: &GlobalOpts, args: DemoArgs) -> Result<ExitCode> {
    let db = connect(global).await?;
    let result = demo(global, &db, &args).await;
    db.shutdown().await?;
    result?;
    match args.shopify_fake {
        Some(orders) => {
            println!("\nThe daily Shopify sync, from a local stand-in shop with {orders} orders:");
            let sync = SyncShopifyArgs {
                since: None,
                fake: Some(orders),
                id: None,
                timeout: 3600,
                poll_interval: None,
                json: false,
            };
            super::sync::run(global, SyncCommand::Shopify(sync)).await
        }
        None => Ok(ExitCode::SUCCESS),
    }
}

async fn demo(global: &GlobalOpts, db: &Database, args: &DemoArgs) -> Result<()> {
    println!("Strata demo on {}", db.target());
    let report = schema::apply_schema(db, &SchemaSource::embedded()).await?;
    schema::print_apply(&report);
    let seeded = seed::seed_store(db, &args.seed).await?;
    seed::print_report(&seeded);
    summary(db).await?;
    if args.no_lake {
        return Ok(());
    }
    lake::stream_store(global, db).await?;
    measure::measure(global, db).await
}

async fn summary(db: &Database) -> Result<()> {
    let client = db.client().await?;
    let tables: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
            &[],
        )
        .await?
        .get(0);
    println!("\nDomain: {tables} tables in the public schema");
    let row = client
        .query_one(
            "SELECT count(*), coalesce(sum(total), 0)::text, min(placed_ts)::date::text, max(placed_ts)::date::text,
                    count(*) FILTER (WHERE status ->> 'phase' = 'completed')
               FROM order_header WHERE status ->> 'phase' <> 'canceled'",
            &[],
        )
        .await
        .context("summarising orders")?;
    let (orders, revenue, first, last, completed): (
        i64,
        String,
        Option<String>,
        Option<String>,
        i64,
    ) = (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
    println!(
        "Orders: {orders} ({completed} completed) from {} to {}, revenue {revenue} (all currencies)",
        first.unwrap_or_default(),
        last.unwrap_or_default()
    );
    let counts = client
        .query_one(
            "SELECT (SELECT count(*) FROM product), (SELECT count(*) FROM product_variant),
                    (SELECT count(*) FROM customer), (SELECT count(*) FROM order_line_item),
                    (SELECT count(*) FROM return_request), (SELECT count(*) FROM publisher),
                    (SELECT count(*) FROM conversion)",
            &[],
        )
        .await?;
    println!(
        "Catalog: {} products, {} variants; {} customers; {} line items; {} returns; {} publishers, {} referred orders",
        counts.get::<_, i64>(0),
        counts.get::<_, i64>(1),
        counts.get::<_, i64>(2),
        counts.get::<_, i64>(3),
        counts.get::<_, i64>(4),
        counts.get::<_, i64>(5),
        counts.get::<_, i64>(6)
    );
    let top = client
        .query(
            "SELECT p.title, sum(li.quantity)::bigint AS units, sum(li.total)::text AS revenue
               FROM order_line_item li JOIN product p ON p.uid = li.product_uid
              WHERE li.status ->> 'phase' = 'active'
              GROUP BY p.uid, p.title ORDER BY units DESC, p.uid LIMIT 5",
            &[],
        )
        .await?;
    println!("\nTop products by units:");
    for r in top {
        println!(
            "  {:<32} {:>7} units  {:>12}",
            r.get::<_, String>(0),
            r.get::<_, i64>(1),
            r.get::<_, String>(2)
        );
    }
    let ful = client
        .query_one(
            "SELECT coalesce(sum(total_count), 0)::bigint, coalesce(sum(successful_count), 0)::bigint,
                    coalesce(sum(failed_count), 0)::bigint FROM fulfillment_daily_summary",
            &[],
        )
        .await?;
    println!(
        "\nFulfillment: {} shipments, {} successful, {} failed",
        ful.get::<_, i64>(0),
        ful.get::<_, i64>(1),
        ful.get::<_, i64>(2)
    );
    Ok(())
}
