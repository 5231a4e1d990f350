//! The events the benchmarks feed the functions, built from the test bed's
//! sample records (`meander_e2e::records`) the way Lambda delivers them.

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sqs::types::Message;
use meander_e2e::records::{dynamo_item, dynamo_item_json, dynamo_key, json_message};
use serde_json::{json, Value};

/// The DynamoDB table the stream records come from.
pub const DYNAMO_TABLE: &str = "BenchOrders";
/// Its stream's ARN (the record's `eventSourceARN`).
pub const STREAM_ARN: &str =
    "arn:aws:dynamodb:us-east-1:123456789012:table/BenchOrders/stream/2026-11-21T00:00:00.000";
/// The queue the JSON messages come from.
pub const QUEUE_ARN: &str = "arn:aws:sqs:us-east-1:123456789012:bench-ingest";

/// Stream record `i` of a `NEW_AND_OLD_IMAGES` stream: mostly INSERTs of
/// item `i`; every 10th a MODIFY of an earlier item (new quantity and a new
/// `note` attribute), every 20th a REMOVE of an earlier item.
pub fn dynamo_record(i: usize) -> Value {
    let (name, keys_of, new, old) = if i % 20 == 19 {
        let target = i - 10;
        ("REMOVE", target, None, Some(dynamo_item(target)))
    } else if i % 10 == 9 {
        let target = i - 5;
        let old = dynamo_item(target);
        let mut new = old.clone();
        new.insert("qty".into(), AttributeValue::N((target * 7).to_string()));
        new.insert("note".into(), AttributeValue::S(format!("changed {i}")));
        ("MODIFY", target, Some(new), Some(old))
    } else {
        ("INSERT", i, Some(dynamo_item(i)), None)
    };
    let mut dynamodb = json!({
        "ApproximateCreationDateTime": 1_795_219_200 + (i / 100) as i64,
        "Keys": dynamo_item_json(&dynamo_key(keys_of)),
        "SequenceNumber": format!("4{:020}", 1_000_000 + i),
        "SizeBytes": 512,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    });
    if let Some(new) = new {
        dynamodb["NewImage"] = dynamo_item_json(&new);
    }
    if let Some(old) = old {
        dynamodb["OldImage"] = dynamo_item_json(&old);
    }
    json!({
        "eventID": format!("{:032x}", i as u128 * 0x9e37_79b9_7f4a_7c15),
        "eventName": name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": dynamodb,
        "eventSourceARN": STREAM_ARN,
    })
}

/// `records` stream records in Lambda DynamoDB events of `batch` records.
pub fn dynamo_batches(records: usize, batch: usize) -> Vec<Value> {
    (0..records)
        .collect::<Vec<_>>()
        .chunks(batch.max(1))
        .map(|c| json!({ "Records": c.iter().map(|&i| dynamo_record(i)).collect::<Vec<_>>() }))
        .collect()
}

/// `messages` JSON messages ([`json_message`]) in Lambda SQS events of
/// `batch` messages, and the total size of their bodies in bytes.
pub fn sqs_batches(messages: usize, batch: usize) -> (Vec<Value>, u64) {
    let mut bytes = 0u64;
    let events = (0..messages)
        .collect::<Vec<_>>()
        .chunks(batch.max(1))
        .map(|c| {
            let msgs: Vec<Message> = c
                .iter()
                .map(|&i| {
                    let body = json_message(i as i64);
                    bytes += body.len() as u64;
                    Message::builder()
                        .message_id(format!("00000000-0000-4000-8000-{i:012}"))
                        .receipt_handle(format!("rh-{i}"))
                        .body(body)
                        .attributes(
                            aws_sdk_sqs::types::MessageSystemAttributeName::SentTimestamp,
                            "1795219200000",
                        )
                        .build()
                })
                .collect();
            meander_e2e::poller::sqs_event(QUEUE_ARN, &msgs)
        })
        .collect();
    (events, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dynamo_batches_hold_every_record_once() {
        let batches = dynamo_batches(45, 10);
        assert_eq!(batches.len(), 5);
        let records: Vec<&Value> = batches
            .iter()
            .flat_map(|b| b["Records"].as_array().unwrap())
            .collect();
        assert_eq!(records.len(), 45);
        assert_eq!(records[0]["eventName"], "INSERT");
        assert_eq!(records[9]["eventName"], "MODIFY");
        assert_eq!(records[19]["eventName"], "REMOVE");
        assert!(records[19]["dynamodb"].get("NewImage").is_none());
        assert_eq!(records[9]["dynamodb"]["NewImage"]["note"]["S"], "changed 9");
    }

    #[test]
    fn sqs_batches_count_body_bytes() {
        let (events, bytes) = sqs_batches(25, 10);
        assert_eq!(events.len(), 3);
        let bodies: u64 = events
            .iter()
            .flat_map(|e| e["Records"].as_array().unwrap())
            .map(|r| r["body"].as_str().unwrap().len() as u64)
            .sum();
        assert_eq!(bodies, bytes);
    }
}
