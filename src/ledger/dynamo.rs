//! The DynamoDB [`Store`]: the crate's only DynamoDB I/O.
//!
//! One `UpdateItem` per [`Update`]: `SET expires_at ADD a :a, …` under a `ConditionExpression`
//! (`attribute_not_exists(a) OR a <= :max` per guard), so concurrent gateways on one table never
//! both take the last of a budget. The client is built on first use with the standard AWS chain
//! (region, credentials, `AWS_ENDPOINT_URL_DYNAMODB`), short timeouts and one attempt: a request
//! waits on admission, and `CHATRIX_LEDGER_ON_ERROR` decides what a failure means.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use aws_sdk_dynamodb::Client;
use tokio::sync::OnceCell;

use super::plan::{ItemKey, Update};
use super::store::{Outcome, Row, Store, StoreError};

pub struct DynamoStore {
    table: String,
    client: OnceCell<Client>,
}

type Item = HashMap<String, AttributeValue>;

impl DynamoStore {
    pub fn new(table: String) -> Self {
        Self {
            table,
            client: OnceCell::new(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    async fn client(&self) -> &Client {
        self.client
            .get_or_init(|| async {
                // One attempt: `UpdateItem ADD` is not idempotent, and a retry after an answer
                // that was lost would count a reservation or a settlement twice.
                let sdk = crate::aws::store_config(crate::aws::Limits {
                    connect: Duration::from_secs(1),
                    attempt: Duration::from_secs(2),
                    operation: Duration::from_secs(2),
                    attempts: 1,
                })
                .await;
                Client::new(&sdk)
            })
            .await
    }

    async fn current(&self, key: &ItemKey, attrs: &[&str]) -> Result<Vec<i64>, StoreError> {
        // Boxed where it is made, as every SDK call on a request's path: an operation's future is
        // 7-24 KB, copied with each future that holds it (`routes::future_sizes_tests`).
        let out = Box::pin(
            self.client()
                .await
                .get_item()
                .table_name(&self.table)
                .key("pk", AttributeValue::S(key.pk.clone()))
                .key("sk", AttributeValue::S(key.sk.clone()))
                .consistent_read(true)
                .send(),
        )
        .await
        .map_err(|e| StoreError(describe(&e)))?;
        Ok(numbers(out.item.as_ref(), attrs))
    }
}

fn numbers(item: Option<&Item>, attrs: &[&str]) -> Vec<i64> {
    attrs
        .iter()
        .map(|a| {
            item.and_then(|i| i.get(*a))
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0)
        })
        .collect()
}

/// `SET #exp = :exp ADD #a0 :a0, …` and the guards' condition, with their names and values.
fn expression(update: &Update) -> (String, Option<String>, Item, HashMap<String, String>) {
    let mut names = HashMap::from([("#exp".to_owned(), "expires_at".to_owned())]);
    let mut values = HashMap::from([(
        ":exp".to_owned(),
        AttributeValue::N(update.expires_at.to_string()),
    )]);
    let mut adds = Vec::new();
    for (i, (attr, v)) in update.adds.iter().enumerate() {
        names.insert(format!("#a{i}"), (*attr).to_owned());
        values.insert(format!(":a{i}"), AttributeValue::N(v.to_string()));
        adds.push(format!("#a{i} :a{i}"));
    }
    let mut conditions = Vec::new();
    for (i, (attr, max)) in update.guards.iter().enumerate() {
        names.insert(format!("#g{i}"), (*attr).to_owned());
        values.insert(format!(":g{i}"), AttributeValue::N(max.to_string()));
        conditions.push(format!("(attribute_not_exists(#g{i}) OR #g{i} <= :g{i})"));
    }
    let set = format!("SET #exp = :exp ADD {}", adds.join(", "));
    let condition = (!conditions.is_empty()).then(|| conditions.join(" AND "));
    (set, condition, values, names)
}

impl Store for DynamoStore {
    async fn update(&self, update: &Update) -> Result<Outcome, StoreError> {
        let (set, condition, values, names) = expression(update);
        let result = Box::pin(
            self.client()
                .await
                .update_item()
                .table_name(&self.table)
                .key("pk", AttributeValue::S(update.item.pk.clone()))
                .key("sk", AttributeValue::S(update.item.sk.clone()))
                .update_expression(set)
                .set_condition_expression(condition)
                .set_expression_attribute_names(Some(names))
                .set_expression_attribute_values(Some(values))
                .return_values(ReturnValue::UpdatedNew)
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .send(),
        )
        .await;
        let guards: Vec<&str> = update.guards.iter().map(|(a, _)| *a).collect();
        match result {
            Ok(out) => {
                let adds: Vec<&str> = update.adds.iter().map(|(a, _)| *a).collect();
                Ok(Outcome::Done(numbers(out.attributes.as_ref(), &adds)))
            }
            Err(SdkError::ServiceError(e)) => match e.into_err() {
                UpdateItemError::ConditionalCheckFailedException(c) => match c.item {
                    Some(item) => Ok(Outcome::Refused(numbers(Some(&item), &guards))),
                    // Servers that do not return the old item (moto): read it.
                    None => Ok(Outcome::Refused(self.current(&update.item, &guards).await?)),
                },
                other => Err(StoreError(format!(
                    "{}: {}",
                    other.code().unwrap_or("error"),
                    other.message().unwrap_or("no message")
                ))),
            },
            Err(other) => Err(StoreError(DisplayErrorContext(other).to_string())),
        }
    }

    async fn query(&self, pk: &str) -> Result<Vec<Row>, StoreError> {
        let mut rows = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = Box::pin(
                self.client()
                    .await
                    .query()
                    .table_name(&self.table)
                    .key_condition_expression("pk = :pk")
                    .expression_attribute_values(":pk", AttributeValue::S(pk.to_owned()))
                    .set_exclusive_start_key(start.take())
                    .send(),
            )
            .await
            .map_err(|e| StoreError(describe(&e)))?;
            for item in out.items.unwrap_or_default() {
                let sk = item
                    .get("sk")
                    .and_then(|v| v.as_s().ok())
                    .cloned()
                    .unwrap_or_default();
                let numbers = item
                    .iter()
                    .filter(|(k, _)| k.as_str() != "expires_at")
                    .filter_map(|(k, v)| Some((k.clone(), v.as_n().ok()?.parse().ok()?)))
                    .collect();
                rows.push(Row { sk, numbers });
            }
            match out.last_evaluated_key {
                Some(next) if !next.is_empty() => start = Some(next),
                _ => return Ok(rows),
            }
        }
    }
}

/// The error code and message AWS gave, or the transport failure.
fn describe<E, R>(e: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match e {
        SdkError::ServiceError(s) => {
            let err = s.err();
            format!(
                "{}: {}",
                err.code().unwrap_or("error"),
                err.message().unwrap_or("no message")
            )
        }
        other => DisplayErrorContext(other).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_update_is_one_set_add_expression_under_every_guard() {
        let update = Update {
            item: ItemKey {
                pk: "rate#key#alice".into(),
                sk: "minute#2026-03-31T23:59".into(),
            },
            adds: vec![("requests", 1), ("tokens", 900)],
            guards: vec![("requests", 59), ("tokens", 399_100)],
            expires_at: 1_775_000_000,
        };
        let (set, condition, values, names) = expression(&update);
        assert_eq!(set, "SET #exp = :exp ADD #a0 :a0, #a1 :a1");
        assert_eq!(
            condition.as_deref(),
            Some(
                "(attribute_not_exists(#g0) OR #g0 <= :g0) AND \
                 (attribute_not_exists(#g1) OR #g1 <= :g1)"
            )
        );
        assert_eq!(values[":g1"], AttributeValue::N("399100".into()));
        assert_eq!(names["#a1"], "tokens");
        let plain = Update {
            guards: Vec::new(),
            ..update
        };
        assert_eq!(expression(&plain).1, None);
    }
}
