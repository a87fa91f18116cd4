//! Bulk operations: start a query (`bulkOperationRunQuery`), wait for it (polling, woken early by
//! the `bulk_operations/finish` webhook), download its JSONL result, streaming, checked to be
//! whole.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt};
use reqwest::header::USER_AGENT;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};
use tokio::io::{AsyncBufRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::Notify;
use tokio_util::io::StreamReader;

use crate::Gid;
use crate::client::{AdminClient, excerpt};
use crate::error::{ShopifyError, UserError};
use crate::model::string_enum;

string_enum! {
    /// `BulkOperation.status`.
    pub enum BulkOperationStatus {
        /// Accepted, not started.
        Created => "CREATED",
        /// Running.
        Running => "RUNNING",
        /// Done: `url` holds the result (or is null when nothing matched).
        Completed => "COMPLETED",
        /// Being cancelled.
        Canceling => "CANCELING",
        /// Cancelled.
        Canceled => "CANCELED",
        /// Failed: see `errorCode`.
        Failed => "FAILED",
        /// The result is no longer available.
        Expired => "EXPIRED",
    }
}

string_enum! {
    /// `BulkOperation.errorCode`.
    pub enum BulkOperationErrorCode {
        /// The app lacks a scope the query needs.
        AccessDenied => "ACCESS_DENIED",
        /// Shopify failed (often intermittently).
        InternalServerError => "INTERNAL_SERVER_ERROR",
        /// The query took too long.
        Timeout => "TIMEOUT",
    }
}

impl BulkOperationStatus {
    /// Whether the operation will not change any more.
    pub fn is_finished(&self) -> bool {
        matches!(
            self,
            Self::Completed | Self::Canceled | Self::Failed | Self::Expired
        )
    }
}

/// A bulk operation as Shopify reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkOperation {
    /// `gid://shopify/BulkOperation/…`.
    pub id: Gid,
    /// Where it is.
    pub status: BulkOperationStatus,
    /// Why it failed.
    #[serde(default)]
    pub error_code: Option<BulkOperationErrorCode>,
    /// When it was created.
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    /// When it completed.
    #[serde(default)]
    pub completed_at: Option<DateTime<Utc>>,
    /// Objects fetched so far (all levels).
    #[serde(default, deserialize_with = "opt_u64")]
    pub object_count: Option<u64>,
    /// Top-level objects fetched so far.
    #[serde(default, deserialize_with = "opt_u64")]
    pub root_object_count: Option<u64>,
    /// Size of the result file in bytes.
    #[serde(default, deserialize_with = "opt_u64")]
    pub file_size: Option<u64>,
    /// The result (JSONL), once completed; `None` when the query matched nothing.
    #[serde(default)]
    pub url: Option<String>,
    /// What a failed operation fetched.
    #[serde(default)]
    pub partial_data_url: Option<String>,
    /// `QUERY` or `MUTATION`.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// The GraphQL document it runs: how a caller recognises an operation it started itself.
    #[serde(default)]
    pub query: Option<String>,
}

impl BulkOperation {
    /// Whether it runs `query` (compared without regard to whitespace, which GraphQL ignores).
    pub fn runs(&self, query: &str) -> bool {
        self.query
            .as_deref()
            .is_some_and(|q| q.split_whitespace().eq(query.split_whitespace()))
    }
}

/// `UnsignedInt64` arrives as a string (`"2048"`); accept a number too.
fn opt_u64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(u64),
        Text(String),
    }
    match Option::<Raw>::deserialize(deserializer)? {
        None => Ok(None),
        Some(Raw::Number(n)) => Ok(Some(n)),
        Some(Raw::Text(s)) => s.parse().map(Some).map_err(serde::de::Error::custom),
    }
}

/// The fields fetched for every operation.
const FIELDS: &str = "id status errorCode createdAt completedAt objectCount rootObjectCount fileSize url partialDataUrl type query";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MutationPayload {
    bulk_operation: Option<BulkOperation>,
    #[serde(default)]
    user_errors: Vec<UserError>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RunData {
    bulk_operation_run_query: MutationPayload,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CancelData {
    bulk_operation_cancel: MutationPayload,
}

#[derive(Deserialize)]
struct NodeData {
    node: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CurrentData {
    current_bulk_operation: Option<BulkOperation>,
}

impl AdminClient {
    /// Starts a bulk query (`bulkOperationRunQuery`) and returns the operation as created.
    /// `userErrors` (another operation running, an invalid query) are
    /// [`ShopifyError::BulkUserErrors`]; see [`ShopifyError::is_operation_in_progress`].
    pub async fn run_bulk_query(&self, query: &str) -> Result<BulkOperation, ShopifyError> {
        let mutation = format!(
            "mutation StrataBulkRun($query: String!) {{ bulkOperationRunQuery(query: $query) {{ bulkOperation {{ {FIELDS} }} userErrors {{ field message code }} }} }}"
        );
        let data: RunData = self
            .graphql(&mutation, json!({ "query": query }))
            .await?
            .data;
        let operation = mutation_result(data.bulk_operation_run_query, "bulkOperationRunQuery")?;
        tracing::info!(id = %operation.id, status = %operation.status, "bulk query started");
        Ok(operation)
    }

    /// The operation `id` (by the `node` query, which every API version has).
    pub async fn bulk_operation(&self, id: &Gid) -> Result<BulkOperation, ShopifyError> {
        let query = format!(
            "query StrataBulkOperation($id: ID!) {{ node(id: $id) {{ ... on BulkOperation {{ {FIELDS} }} }} }}"
        );
        let data: NodeData = self
            .graphql(&query, json!({ "id": id.as_str() }))
            .await?
            .data;
        let not_found = || ShopifyError::BulkNotFound { id: id.to_string() };
        match data.node {
            None | Some(Value::Null) => Err(not_found()),
            Some(Value::Object(map)) if map.is_empty() => Err(not_found()),
            Some(node) => {
                serde_json::from_value(node).map_err(|e| ShopifyError::UnexpectedResponse {
                    context: format!("the bulk operation {id}"),
                    reason: e.to_string(),
                })
            }
        }
    }

    /// The app's most recent bulk query (`currentBulkOperation`), if any: what a sync
    /// restarting after a crash looks at before starting another.
    pub async fn current_bulk_operation(&self) -> Result<Option<BulkOperation>, ShopifyError> {
        let query =
            format!("query StrataCurrentBulkOperation {{ currentBulkOperation {{ {FIELDS} }} }}");
        let data: CurrentData = self.graphql(&query, json!({})).await?.data;
        Ok(data.current_bulk_operation)
    }

    /// Asks Shopify to cancel the operation (`bulkOperationCancel`); it passes through
    /// `CANCELING` to `CANCELED`.
    pub async fn cancel_bulk_operation(&self, id: &Gid) -> Result<BulkOperation, ShopifyError> {
        let mutation = format!(
            "mutation StrataBulkCancel($id: ID!) {{ bulkOperationCancel(id: $id) {{ bulkOperation {{ {FIELDS} }} userErrors {{ field message }} }} }}"
        );
        let data: CancelData = self
            .graphql(&mutation, json!({ "id": id.as_str() }))
            .await?
            .data;
        mutation_result(data.bulk_operation_cancel, "bulkOperationCancel")
    }

    /// Polls the operation every `poll_interval` until it finishes; returns it when
    /// `COMPLETED`, [`ShopifyError::BulkFailed`] when `FAILED`, `CANCELED` or `EXPIRED`.
    ///
    /// `finish_signal`, if given, cuts a wait short: have the `bulk_operations/finish` webhook
    /// handler call [`Notify::notify_one`] (which is remembered if nobody waits yet). The
    /// signal only triggers a poll, so a spurious or lost one costs nothing but time. Wrap the
    /// call in [`tokio::time::timeout`] to bound it.
    pub async fn wait_for_bulk(
        &self,
        id: &Gid,
        poll_interval: Duration,
        finish_signal: Option<&Notify>,
    ) -> Result<BulkOperation, ShopifyError> {
        loop {
            let operation = self.bulk_operation(id).await?;
            match operation.status {
                BulkOperationStatus::Completed => {
                    tracing::info!(
                        id = %operation.id,
                        objects = operation.object_count,
                        bytes = operation.file_size,
                        "bulk operation completed"
                    );
                    return Ok(operation);
                }
                BulkOperationStatus::Failed
                | BulkOperationStatus::Canceled
                | BulkOperationStatus::Expired => {
                    tracing::warn!(id = %operation.id, status = %operation.status, code = ?operation.error_code, "bulk operation did not complete");
                    return Err(ShopifyError::BulkFailed {
                        id: operation.id.to_string(),
                        status: operation.status,
                        error_code: operation.error_code,
                        partial_data_url: operation.partial_data_url,
                    });
                }
                ref status => {
                    tracing::debug!(id = %operation.id, %status, objects = operation.object_count, "bulk operation still running");
                }
            }
            match finish_signal {
                Some(signal) => {
                    tokio::select! {
                        () = tokio::time::sleep(poll_interval) => {}
                        () = signal.notified() => {
                            tracing::debug!(%id, "finish signal: polling now");
                        }
                    }
                }
                None => tokio::time::sleep(poll_interval).await,
            }
        }
    }

    /// Downloads a completed operation's result into `writer` (nothing when the query matched
    /// nothing), checked against its `fileSize`. Returns the bytes written.
    pub async fn download_operation<W: AsyncWrite + Unpin>(
        &self,
        operation: &BulkOperation,
        writer: W,
    ) -> Result<u64, ShopifyError> {
        match &operation.url {
            Some(url) => self.download(url, writer, operation.file_size).await,
            None if operation.status == BulkOperationStatus::Completed => Ok(0),
            None => Err(ShopifyError::BulkFailed {
                id: operation.id.to_string(),
                status: operation.status.clone(),
                error_code: operation.error_code.clone(),
                partial_data_url: operation.partial_data_url.clone(),
            }),
        }
    }

    /// Streams the result at `url` into `writer` and returns the bytes written. The transfer
    /// must be whole: a connection cut mid-body, or fewer bytes than `Content-Length` or
    /// `expected_size` (the operation's `fileSize`), is [`ShopifyError::Truncated`] (the writer
    /// then holds a partial file: start it over). The access token is not sent: result URLs are
    /// signed, and on another host.
    pub async fn download<W: AsyncWrite + Unpin>(
        &self,
        url: &str,
        mut writer: W,
        expected_size: Option<u64>,
    ) -> Result<u64, ShopifyError> {
        let response = self.start_download(url).await?;
        let expected = expected_length(response.content_length(), expected_size)?;
        let mut stream = response.bytes_stream();
        let mut received = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| ShopifyError::Truncated {
                received,
                expected,
                detail: format!("the transfer failed mid-body: {e}"),
            })?;
            writer.write_all(&chunk).await?;
            received += chunk.len() as u64;
        }
        writer.flush().await?;
        if let Some(expected) = expected
            && received != expected
        {
            return Err(ShopifyError::Truncated {
                received,
                expected: Some(expected),
                detail: "the body ended early".to_owned(),
            });
        }
        tracing::info!(bytes = received, "bulk result downloaded");
        Ok(received)
    }

    /// Opens the result at `url` as a stream to read while it downloads (for
    /// [`crate::jsonl::OrdersReader`]). A cut transfer, or fewer bytes than announced, is an
    /// [`io::ErrorKind::UnexpectedEof`] error at the end of the stream: the reader then fails
    /// instead of returning a partial result as whole.
    pub async fn open_download(
        &self,
        url: &str,
        expected_size: Option<u64>,
    ) -> Result<impl AsyncBufRead + Send + Unpin + use<>, ShopifyError> {
        let response = self.start_download(url).await?;
        let expected = expected_length(response.content_length(), expected_size)?;
        let checked = CheckedStream {
            inner: Box::pin(response.bytes_stream()),
            received: 0,
            expected,
            done: false,
        };
        Ok(StreamReader::new(checked))
    }

    /// GETs `url`, retrying connection failures and 5xx as the retry policy allows.
    async fn start_download(&self, url: &str) -> Result<reqwest::Response, ShopifyError> {
        let parsed = url::Url::parse(url).map_err(|e| ShopifyError::UnexpectedResponse {
            context: "the bulk result URL".to_owned(),
            reason: format!("{url:?} is not a URL: {e}"),
        })?;
        let max_retries = self.retry_policy().max_retries;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let sent = self
                .http()
                .get(parsed.clone())
                .header(
                    USER_AGENT,
                    concat!("strata-shopify/", env!("CARGO_PKG_VERSION")),
                )
                .send()
                .await;
            let error = match sent {
                Ok(response) if response.status().is_success() => return Ok(response),
                Ok(response) if response.status().is_server_error() => {
                    let status = response.status().as_u16();
                    let body = response
                        .bytes()
                        .await
                        .map(|b| excerpt(&b))
                        .unwrap_or_default();
                    tracing::warn!(status, %body, "bulk result URL failed");
                    ShopifyError::Download {
                        status,
                        hint: "the storage server failed; download again later",
                    }
                }
                Ok(response) => {
                    let status = response.status().as_u16();
                    let hint = match status {
                        403 | 404 | 410 => {
                            "the signed URL expired or is wrong (results are kept 7 days): fetch the operation again for a fresh URL, or run the query again"
                        }
                        _ => "the storage server refused the request",
                    };
                    return Err(ShopifyError::Download { status, hint });
                }
                Err(source) if source.is_builder() => {
                    return Err(ShopifyError::Request {
                        endpoint: redact_query(&parsed),
                        source,
                    });
                }
                Err(source) => ShopifyError::Network {
                    endpoint: redact_query(&parsed),
                    attempts: attempt,
                    source,
                },
            };
            if attempt > max_retries {
                return Err(error);
            }
            let delay = self.backoff(attempt);
            tracing::warn!(attempt, ?delay, error = %error, "bulk result download failed; retrying");
            tokio::time::sleep(delay).await;
        }
    }
}

fn mutation_result(payload: MutationPayload, name: &str) -> Result<BulkOperation, ShopifyError> {
    if !payload.user_errors.is_empty() {
        return Err(ShopifyError::BulkUserErrors {
            errors: payload.user_errors,
        });
    }
    payload
        .bulk_operation
        .ok_or_else(|| ShopifyError::UnexpectedResponse {
            context: name.to_owned(),
            reason: "neither bulkOperation nor userErrors".to_owned(),
        })
}

/// The length to check the body against: `Content-Length` and `fileSize` must agree.
fn expected_length(
    content_length: Option<u64>,
    file_size: Option<u64>,
) -> Result<Option<u64>, ShopifyError> {
    match (content_length, file_size) {
        (Some(announced), Some(size)) if announced != size => Err(ShopifyError::Truncated {
            received: 0,
            expected: Some(size),
            detail: format!(
                "the server sends {announced} bytes but the operation's fileSize is {size}"
            ),
        }),
        (announced, size) => Ok(size.or(announced)),
    }
}

/// Signed URLs carry their signature in the query: keep it out of errors and logs.
fn redact_query(url: &url::Url) -> String {
    let mut url = url.clone();
    if url.query().is_some() {
        url.set_query(Some("…"));
    }
    url.to_string()
}

/// The download's bytes, failing at the end if fewer arrived than announced.
struct CheckedStream {
    inner: Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>,
    received: u64,
    expected: Option<u64>,
    done: bool,
}

impl Stream for CheckedStream {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        match self.inner.as_mut().poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(chunk))) => {
                self.received += chunk.len() as u64;
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(e))) => {
                self.done = true;
                let message = format!(
                    "the bulk result download was cut after {} bytes: {e}",
                    self.received
                );
                Poll::Ready(Some(Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    message,
                ))))
            }
            Poll::Ready(None) => {
                self.done = true;
                match self.expected {
                    Some(expected) if expected != self.received => {
                        let message = format!(
                            "the bulk result download ended after {} of {expected} bytes",
                            self.received
                        );
                        Poll::Ready(Some(Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            message,
                        ))))
                    }
                    _ => Poll::Ready(None),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_an_operation_with_counts_as_strings() {
        let op: BulkOperation = serde_json::from_value(json!({
            "id": "gid://shopify/BulkOperation/1",
            "status": "COMPLETED",
            "errorCode": null,
            "createdAt": "2024-01-01T00:00:00Z",
            "completedAt": "2024-01-01T00:01:00Z",
            "objectCount": "1500",
            "rootObjectCount": 500,
            "fileSize": "2048",
            "url": "https://storage.example/bulk/1.jsonl",
            "partialDataUrl": null,
            "type": "QUERY"
        }))
        .unwrap();
        assert_eq!(op.status, BulkOperationStatus::Completed);
        assert_eq!(op.object_count, Some(1500));
        assert_eq!(op.root_object_count, Some(500));
        assert_eq!(op.file_size, Some(2048));
        assert!(op.status.is_finished());
    }

    #[test]
    fn content_length_and_file_size_must_agree() {
        assert_eq!(expected_length(Some(10), Some(10)).unwrap(), Some(10));
        assert_eq!(expected_length(None, Some(10)).unwrap(), Some(10));
        assert_eq!(expected_length(Some(7), None).unwrap(), Some(7));
        assert!(expected_length(Some(7), Some(10)).is_err());
    }

    #[test]
    fn signatures_stay_out_of_errors() {
        let url = url::Url::parse("https://storage.example/r.jsonl?X-Goog-Signature=abc").unwrap();
        assert!(!redact_query(&url).contains("abc"));
    }
}
