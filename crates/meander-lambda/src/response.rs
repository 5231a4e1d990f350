//! Partial batch responses, the same JSON for SQS (message ids) and streams
//! (sequence numbers): `{"batchItemFailures":[{"itemIdentifier":"..."}]}`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchResponse {
    pub batch_item_failures: Vec<BatchItemFailure>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchItemFailure {
    pub item_identifier: String,
}

impl BatchResponse {
    /// A response listing `ids` as failed, each once, in first-seen order.
    pub fn failed<I, S>(ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut seen = std::collections::HashSet::new();
        let batch_item_failures = ids
            .into_iter()
            .map(Into::into)
            .filter(|id| seen.insert(id.clone()))
            .map(|item_identifier| BatchItemFailure { item_identifier })
            .collect();
        BatchResponse {
            batch_item_failures,
        }
    }

    pub fn is_success(&self) -> bool {
        self.batch_item_failures.is_empty()
    }

    pub fn failed_ids(&self) -> impl Iterator<Item = &str> {
        self.batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_as_lambda_expects_and_dedups() {
        let r = BatchResponse::failed(["m1", "m2", "m1"]);
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"batchItemFailures":[{"itemIdentifier":"m1"},{"itemIdentifier":"m2"}]}"#
        );
        assert_eq!(
            serde_json::to_string(&BatchResponse::default()).unwrap(),
            r#"{"batchItemFailures":[]}"#
        );
    }
}
