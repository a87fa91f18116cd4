//! Runs the Shopify stand-in until Ctrl-C, for trying the client (or curl) by hand:
//!
//! ```text
//! cargo run -p strata-shopify --features stand-in --example stand_in -- [ORDERS] [PORT] [SEED]
//! ```
//!
//! It prints the `SHOPIFY_*` variables that point a client at it.

use std::net::SocketAddr;

use strata_shopify::stand_in::{StandIn, StandInOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let orders: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(1_000);
    let port: u16 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(0);
    let seed: u64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(42);
    let shop = StandIn::start_on(
        SocketAddr::from(([127, 0, 0, 1], port)),
        StandInOptions {
            orders,
            seed,
            ..StandInOptions::default()
        },
    )
    .await?;
    let summary = shop.summary(None);
    println!(
        "Shopify stand-in: {} orders, {} line items, {} products",
        summary.orders, summary.line_items, summary.products
    );
    println!("SHOPIFY_SHOP=strata-stand-in");
    println!("SHOPIFY_BASE_URL={}", shop.base_url());
    println!("SHOPIFY_ADMIN_TOKEN={}", shop.access_token());
    println!("SHOPIFY_API_VERSION={}", shop.api_version());
    println!("SHOPIFY_WEBHOOK_SECRET={}", shop.webhook_secret());
    tokio::signal::ctrl_c().await?;
    println!("stats: {:?}", shop.stats());
    shop.shutdown().await;
    Ok(())
}
