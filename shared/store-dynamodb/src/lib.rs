//! The DynamoDB store: every item in one table keyed (pk, sk), written through
//! serde_dynamo, with the TTL attribute `expires_at` that every read also enforces itself
//! (DynamoDB deletes expired items only within days).

pub mod stream;
#[cfg(feature = "testing")]
pub mod testing;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, KeysAndAttributes, Put, PutRequest, ReturnValue,
    Select, TransactWriteItem, WriteRequest,
};
use std::collections::HashMap;
use titolare_store::backend::validate_writes;
use titolare_store::{
    BackendError, Condition, Count, Item, ItemBackend, Query, QueryPage, TTL_ATTRIBUTE, Write,
};

const LIVE_FILTER: &str = "attribute_not_exists(expires_at) OR expires_at > :now";

#[derive(Clone)]
pub struct DynamoBackend {
    client: Client,
    table: String,
}

impl DynamoBackend {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// A client from the environment (region, credentials, and `AWS_ENDPOINT_URL` for any
    /// DynamoDB-compatible endpoint).
    pub async fn from_env(table: impl Into<String>) -> Self {
        let config = aws_config::load_from_env().await;
        Self::new(Client::new(&config), table)
    }

    /// Puts items unconditionally, 25 to a BatchWriteItem, sending again what DynamoDB
    /// leaves unprocessed after a growing pause (throttling): for bulk imports, never for
    /// state changes, which go through conditional transactions.
    pub async fn batch_put(&self, items: &[Item]) -> Result<(), BackendError> {
        for chunk in items.chunks(25) {
            let mut requests = Vec::with_capacity(chunk.len());
            for item in chunk {
                let attributes = serde_dynamo::to_item(item)
                    .map_err(|e| BackendError::Corrupt(e.to_string()))?;
                let put = PutRequest::builder()
                    .set_item(Some(attributes))
                    .build()
                    .map_err(unavailable)?;
                requests.push(WriteRequest::builder().put_request(put).build());
            }
            let mut pending = HashMap::from([(self.table.clone(), requests)]);
            let mut attempt = 0;
            while !pending.is_empty() {
                backoff(attempt).await;
                attempt += 1;
                let out = self
                    .client
                    .batch_write_item()
                    .set_request_items(Some(pending))
                    .send()
                    .await
                    .map_err(unavailable)?;
                pending = out
                    .unprocessed_items
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|(_, r)| !r.is_empty())
                    .collect();
            }
        }
        Ok(())
    }

    /// Reads many keys, 100 to a (strongly consistent) BatchGetItem, asking again for what
    /// DynamoDB leaves unprocessed after a growing pause.
    pub async fn batch_get(&self, keys: &[(String, String)]) -> Result<Vec<Item>, BackendError> {
        let mut items = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(100) {
            let wanted = KeysAndAttributes::builder()
                .set_keys(Some(
                    chunk.iter().map(|(pk, sk)| Self::key(pk, sk)).collect(),
                ))
                .consistent_read(true)
                .build()
                .map_err(unavailable)?;
            let mut pending = HashMap::from([(self.table.clone(), wanted)]);
            let mut attempt = 0;
            while !pending.is_empty() {
                backoff(attempt).await;
                attempt += 1;
                let out = self
                    .client
                    .batch_get_item()
                    .set_request_items(Some(pending))
                    .send()
                    .await
                    .map_err(unavailable)?;
                for map in out.responses.unwrap_or_default().into_values().flatten() {
                    items.push(decode(map)?);
                }
                pending = out
                    .unprocessed_keys
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|(_, k)| !k.keys().is_empty())
                    .collect();
            }
        }
        Ok(items)
    }

    /// A single conditional PutItem or DeleteItem.
    async fn write_one(&self, write: &Write, now: i64) -> Result<(), BackendError> {
        let (condition, values) = expression(write.condition(), now).unzip();
        match write {
            Write::Put { item, .. } => {
                let attributes = serde_dynamo::to_item(item)
                    .map_err(|e| BackendError::Corrupt(e.to_string()))?;
                self.client
                    .put_item()
                    .table_name(&self.table)
                    .set_item(Some(attributes))
                    .set_condition_expression(condition)
                    .set_expression_attribute_values(values)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| {
                        single_write_error(
                            e.as_service_error()
                                .is_some_and(|e| e.is_conditional_check_failed_exception()),
                            &e,
                        )
                    })
            }
            Write::Delete { pk, sk, .. } => self
                .client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(Self::key(pk, sk)))
                .set_condition_expression(condition)
                .set_expression_attribute_values(values)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| {
                    single_write_error(
                        e.as_service_error()
                            .is_some_and(|e| e.is_conditional_check_failed_exception()),
                        &e,
                    )
                }),
            Write::Check { .. } => Err(BackendError::Invalid("a lone check writes nothing".into())),
        }
    }

    fn key(pk: &str, sk: &str) -> HashMap<String, AttributeValue> {
        HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
    }
}

/// Before the n-th call of a batch (from 0): nothing, then 50 ms doubling up to 3.2 s, with
/// jitter, as AWS advises for unprocessed items.
async fn backoff(attempt: u32) {
    if attempt == 0 {
        return;
    }
    let ceiling = 50u64 << attempt.min(6);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()));
    let pause = ceiling / 2 + nanos % (ceiling / 2 + 1);
    tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn single_write_error<E: std::error::Error>(condition_failed: bool, e: &E) -> BackendError {
    if condition_failed {
        BackendError::ConditionFailed { index: 0 }
    } else {
        unavailable(e)
    }
}

/// The error's chain of messages, not its Debug form, which would carry the raw HTTP response.
fn unavailable<E: std::error::Error>(e: E) -> BackendError {
    BackendError::Unavailable(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())
}

fn decode(map: HashMap<String, AttributeValue>) -> Result<Item, BackendError> {
    // serde's message may quote a value; keep personal data out of errors and logs.
    serde_dynamo::from_item(map).map_err(|_| BackendError::Corrupt("item does not parse".into()))
}

/// A condition as a DynamoDB expression and the values it names.
fn expression(condition: Condition, now: i64) -> Option<(String, HashMap<String, AttributeValue>)> {
    let present =
        "attribute_exists(pk) AND (attribute_not_exists(expires_at) OR expires_at > :now)";
    let now_value = || HashMap::from([(":now".to_owned(), n(now))]);
    match condition {
        Condition::Always => None,
        Condition::Absent => Some((
            "attribute_not_exists(pk) OR expires_at <= :now".to_owned(),
            now_value(),
        )),
        Condition::Present => Some((present.to_owned(), now_value())),
        Condition::Version(v) => {
            let mut values = now_value();
            values.insert(":version".to_owned(), n(v as i64));
            Some((format!("{present} AND version = :version"), values))
        }
        Condition::StoredVersion(v) => Some((
            "attribute_exists(pk) AND version = :version".to_owned(),
            HashMap::from([(":version".to_owned(), n(v as i64))]),
        )),
    }
}

#[async_trait]
impl ItemBackend for DynamoBackend {
    async fn get_many(
        &self,
        keys: &[(String, String)],
        now: i64,
    ) -> Result<Vec<Item>, BackendError> {
        let items = self.batch_get(keys).await?;
        Ok(items.into_iter().filter(|i| i.is_live(now)).collect())
    }

    async fn put_many(&self, items: &[Item], _now: i64) -> Result<(), BackendError> {
        self.batch_put(items).await
    }

    async fn get(&self, pk: &str, sk: &str, now: i64) -> Result<Option<Item>, BackendError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        match out.item {
            Some(map) => Ok(Some(decode(map)?).filter(|i| i.is_live(now))),
            None => Ok(None),
        }
    }

    async fn query(&self, query: &Query, now: i64) -> Result<QueryPage, BackendError> {
        let mut page = QueryPage::default();
        let mut start = query
            .start_after
            .as_deref()
            .map(|sk| Self::key(&query.pk, sk));
        let key_condition = if query.sk_prefix.is_empty() {
            "pk = :pk"
        } else {
            "pk = :pk AND begins_with(sk, :prefix)"
        };
        while page.items.len() < query.limit {
            let mut request = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression(key_condition)
                .filter_expression(LIVE_FILTER)
                .expression_attribute_values(":pk", s(&query.pk))
                .expression_attribute_values(":now", n(now))
                .scan_index_forward(query.forward)
                .limit((query.limit - page.items.len()).min(1000) as i32)
                .set_exclusive_start_key(start.take());
            if !query.sk_prefix.is_empty() {
                request = request.expression_attribute_values(":prefix", s(&query.sk_prefix));
            }
            let out = request.send().await.map_err(unavailable)?;
            page.scanned += out.scanned_count as usize;
            for map in out.items.unwrap_or_default() {
                page.items.push(decode(map)?);
            }
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        Ok(page)
    }

    async fn count(&self, pk: &str, sk_prefix: &str, now: i64) -> Result<Count, BackendError> {
        let mut count = Count::default();
        let mut start = None;
        loop {
            let mut request = self
                .client
                .query()
                .table_name(&self.table)
                .select(Select::Count)
                .filter_expression(LIVE_FILTER)
                .expression_attribute_values(":pk", s(pk))
                .expression_attribute_values(":now", n(now))
                .set_exclusive_start_key(start.take());
            request = if sk_prefix.is_empty() {
                request.key_condition_expression("pk = :pk")
            } else {
                request
                    .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                    .expression_attribute_values(":prefix", s(sk_prefix))
            };
            let out = request.send().await.map_err(unavailable)?;
            count.live += out.count as u64;
            count.scanned += out.scanned_count as u64;
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(count),
            }
        }
    }

    async fn transact(&self, writes: &[Write], now: i64) -> Result<(), BackendError> {
        validate_writes(writes)?;
        if let [single] = writes
            && !matches!(single, Write::Check { .. })
        {
            // One item needs no transaction, which would cost twice the write capacity.
            return self.write_one(single, now).await;
        }
        let mut items = Vec::with_capacity(writes.len());
        for write in writes {
            let (condition, values) = expression(write.condition(), now).unzip();
            let transact_item = match write {
                Write::Put { item, .. } => {
                    let attributes = serde_dynamo::to_item(item)
                        .map_err(|e| BackendError::Corrupt(e.to_string()))?;
                    let put = Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(attributes))
                        .set_condition_expression(condition)
                        .set_expression_attribute_values(values)
                        .build()
                        .map_err(unavailable)?;
                    TransactWriteItem::builder().put(put).build()
                }
                Write::Delete { pk, sk, .. } => {
                    let delete = Delete::builder()
                        .table_name(&self.table)
                        .set_key(Some(Self::key(pk, sk)))
                        .set_condition_expression(condition)
                        .set_expression_attribute_values(values)
                        .build()
                        .map_err(unavailable)?;
                    TransactWriteItem::builder().delete(delete).build()
                }
                Write::Check { pk, sk, .. } => {
                    let Some(condition) = condition else { continue };
                    let check = ConditionCheck::builder()
                        .table_name(&self.table)
                        .set_key(Some(Self::key(pk, sk)))
                        .condition_expression(condition)
                        .set_expression_attribute_values(values)
                        .build()
                        .map_err(unavailable)?;
                    TransactWriteItem::builder().condition_check(check).build()
                }
            };
            items.push(transact_item);
        }
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e)) => {
                let err = e.into_err();
                if let aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(cancel) = &err {
                    let reasons = cancel.cancellation_reasons();
                    if let Some(index) = reasons.iter().position(|r| r.code() == Some("ConditionalCheckFailed")) {
                        return Err(BackendError::ConditionFailed { index });
                    }
                    if reasons.iter().any(|r| r.code() == Some("TransactionConflict")) {
                        return Err(BackendError::Conflict);
                    }
                }
                if err.is_transaction_in_progress_exception() {
                    return Err(BackendError::Conflict);
                }
                Err(unavailable(err))
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn next_sequence(&self, name: &str) -> Result<u64, BackendError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(titolare_store::keys::SEQUENCE_PK, name)))
            .update_expression("ADD seq :one")
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(unavailable)?;
        out.attributes
            .and_then(|a| {
                a.get("seq")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|v| v.parse().ok())
            })
            .ok_or_else(|| BackendError::Corrupt("sequence without a value".into()))
    }
}

/// A DynamoDB client from a loaded SDK configuration (shared with the other AWS clients).
pub fn client_from(sdk: &aws_config::SdkConfig) -> Client {
    Client::new(sdk)
}

/// The TTL attribute the table must enable (kept next to the code that reads it).
pub const TTL: &str = TTL_ATTRIBUTE;
