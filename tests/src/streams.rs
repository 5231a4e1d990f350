//! A DynamoDB Streams reader that plays Lambda's stream event source
//! mapping: DescribeStream -> shards -> GetShardIterator -> GetRecords,
//! building the Lambda DynamoDB event, with a checkpoint per shard so each
//! read returns only records not yet handled.
//!
//! Records are passed on as moto gives them (it is what the function will
//! meet in the tests), with one addition: `eventSourceARN`, which moto's
//! records lack and real Lambda events always carry. moto's
//! `ApproximateCreationDateTime` is fractional epoch seconds (e.g.
//! `1716200000.123`), where AWS sends whole seconds; it is kept as is.
//!
//! [`StreamReader::drain`] invokes a function batch by batch; a partial batch
//! response naming a `SequenceNumber` means "retry from that record", as in
//! Lambda (the lowest listed sequence number wins).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use aws_sdk_dynamodbstreams::types::{AttributeValue, Record, ShardIteratorType};
use serde_json::{json, Map, Number, Value};

use crate::error::{context, Error, Result};
use crate::poller::batch_item_failures;
use crate::runtime::{FunctionProcess, InvokeOutcome};

/// Reads one stream, remembering per shard the last record handled.
#[derive(Debug, Clone)]
pub struct StreamReader {
    client: aws_sdk_dynamodbstreams::Client,
    stream_arn: String,
    /// shard id -> sequence number of the last record handled.
    checkpoints: BTreeMap<String, String>,
    /// Records per invocation (Lambda's `BatchSize`, default 100).
    pub batch_size: i32,
    pub invoke_timeout: Duration,
    /// Lambda's `MaximumRetryAttempts`: retries of a batch that fails with
    /// no progress before it is discarded (Lambda's default is infinite;
    /// a test bed needs an end).
    pub max_retry_attempts: u32,
}

/// Records of one shard, in order, as a Lambda event would carry them.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamBatch {
    pub shard_id: String,
    pub records: Vec<Value>,
}

impl StreamBatch {
    /// `{"Records": [...]}`
    pub fn event(&self) -> Value {
        json!({ "Records": self.records })
    }

    /// The records' `dynamodb.SequenceNumber`s, in order.
    pub fn sequence_numbers(&self) -> Vec<String> {
        self.records.iter().map(sequence_number).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

/// Totals of a [`StreamReader::drain`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StreamDrainStats {
    pub invocations: usize,
    /// Records checkpointed as handled (not counting discarded ones).
    pub records_processed: usize,
    /// Items listed in `batchItemFailures`, summed over invocations.
    pub failures_reported: usize,
    /// Invocations answered on `/error` or with a malformed response.
    pub invocation_errors: usize,
    /// Records skipped after `max_retry_attempts` (Lambda would send them to
    /// the on-failure destination).
    pub discarded: Vec<Value>,
}

impl StreamReader {
    /// A reader of `stream_arn` starting at the oldest record (TRIM_HORIZON).
    pub fn new(client: &aws_sdk_dynamodbstreams::Client, stream_arn: &str) -> Self {
        StreamReader {
            client: client.clone(),
            stream_arn: stream_arn.to_string(),
            checkpoints: BTreeMap::new(),
            batch_size: 100,
            invoke_timeout: Duration::from_secs(120),
            max_retry_attempts: 2,
        }
    }

    pub fn stream_arn(&self) -> &str {
        &self.stream_arn
    }

    /// The shard ids, in the order DescribeStream lists them.
    pub async fn shards(&self) -> Result<Vec<String>> {
        let mut shards = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .describe_stream()
                .stream_arn(&self.stream_arn)
                .set_exclusive_start_shard_id(start)
                .send()
                .await
                .map_err(context(format!("describe stream {}", self.stream_arn)))?;
            let Some(desc) = out.stream_description() else {
                break;
            };
            shards.extend(
                desc.shards()
                    .iter()
                    .filter_map(|s| s.shard_id().map(str::to_string)),
            );
            match desc.last_evaluated_shard_id() {
                Some(last) => start = Some(last.to_string()),
                None => break,
            }
        }
        Ok(shards)
    }

    /// The checkpoint of `shard_id`: the last handled sequence number.
    pub fn checkpoint_of(&self, shard_id: &str) -> Option<&str> {
        self.checkpoints.get(shard_id).map(String::as_str)
    }

    /// Mark every record of `shard_id` up to `sequence_number` as handled.
    pub fn checkpoint(&mut self, shard_id: &str, sequence_number: &str) {
        self.checkpoints
            .insert(shard_id.to_string(), sequence_number.to_string());
    }

    /// Up to `max` records of `shard_id` after its checkpoint, as Lambda
    /// records. Does not move the checkpoint.
    pub async fn read_shard(&self, shard_id: &str, max: i32) -> Result<Vec<Value>> {
        let mut req = self
            .client
            .get_shard_iterator()
            .stream_arn(&self.stream_arn)
            .shard_id(shard_id);
        req = match self.checkpoints.get(shard_id) {
            Some(seq) => req
                .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                .sequence_number(seq),
            None => req.shard_iterator_type(ShardIteratorType::TrimHorizon),
        };
        let mut iterator = req
            .send()
            .await
            .map_err(context(format!("get shard iterator of {shard_id}")))?
            .shard_iterator()
            .map(str::to_string);
        // DynamoDB may answer empty pages before the records: follow a few.
        for _ in 0..5 {
            let Some(it) = iterator.take() else { break };
            let out = self
                .client
                .get_records()
                .shard_iterator(it)
                .limit(max.max(1))
                .send()
                .await
                .map_err(context(format!("get records of {shard_id}")))?;
            if !out.records().is_empty() {
                return Ok(out
                    .records()
                    .iter()
                    .map(|r| lambda_record(r, &self.stream_arn))
                    .collect());
            }
            iterator = out.next_shard_iterator().map(str::to_string);
        }
        Ok(Vec::new())
    }

    /// The next batch: the records after the checkpoint of the first shard
    /// that has any. Does not move the checkpoint.
    pub async fn next_batch(&self) -> Result<Option<StreamBatch>> {
        for shard_id in self.shards().await? {
            let records = self.read_shard(&shard_id, self.batch_size).await?;
            if !records.is_empty() {
                return Ok(Some(StreamBatch { shard_id, records }));
            }
        }
        Ok(None)
    }

    /// Every record of every shard after the checkpoints, as one Lambda
    /// event, and move the checkpoints past them: a second call returns only
    /// records written since.
    pub async fn read_new(&mut self) -> Result<Value> {
        let mut all = Vec::new();
        for shard_id in self.shards().await? {
            loop {
                let records = self.read_shard(&shard_id, 1000).await?;
                let Some(last) = records.last() else { break };
                self.checkpoint(&shard_id, &sequence_number(last));
                all.extend(records);
            }
        }
        Ok(json!({ "Records": all }))
    }

    /// Invoke `function` with batches until no record is left after the
    /// checkpoints. A response with `batchItemFailures` checkpoints up to the
    /// record before the lowest listed sequence number and retries from it;
    /// an error or a malformed response retries the whole batch; a batch
    /// that fails with no progress more than `max_retry_attempts` times is
    /// discarded. A crash, init error or timeout stops with an error.
    pub async fn drain(&mut self, function: &mut FunctionProcess) -> Result<StreamDrainStats> {
        let started = Instant::now();
        let mut stats = StreamDrainStats::default();
        let mut attempts: HashMap<String, u32> = HashMap::new();
        while let Some(batch) = self.next_batch().await? {
            if started.elapsed() > Duration::from_secs(300) {
                return Err(Error::new(format!(
                    "stream {} not drained in {:?}: {stats:?}",
                    self.stream_arn,
                    started.elapsed()
                )));
            }
            let seqs = batch.sequence_numbers();
            stats.invocations += 1;
            let outcome = function.invoke(batch.event(), self.invoke_timeout).await?;
            // Index of the first record to retry; None = all handled.
            let retry_from = match &outcome {
                InvokeOutcome::Response(v) => match batch_item_failures(v) {
                    Ok(failed) => {
                        stats.failures_reported += failed.len();
                        let positions: Option<Vec<usize>> = failed
                            .iter()
                            .map(|id| seqs.iter().position(|s| s == id))
                            .collect();
                        match positions {
                            Some(p) => p.into_iter().min(),
                            None => {
                                stats.invocation_errors += 1;
                                Some(0)
                            }
                        }
                    }
                    Err(_) => {
                        stats.invocation_errors += 1;
                        Some(0)
                    }
                },
                InvokeOutcome::Error(_) => {
                    stats.invocation_errors += 1;
                    Some(0)
                }
                other => {
                    return Err(Error::new(format!(
                        "drain of {} stopped: {} {}",
                        self.stream_arn,
                        function.name(),
                        other.describe()
                    )))
                }
            };
            match retry_from {
                None => {
                    stats.records_processed += seqs.len();
                    if let Some(last) = seqs.last() {
                        self.checkpoint(&batch.shard_id, last);
                    }
                }
                Some(i) if i > 0 => {
                    stats.records_processed += i;
                    self.checkpoint(&batch.shard_id, &seqs[i - 1]);
                }
                Some(_) => {
                    let first = seqs.first().cloned().unwrap_or_default();
                    let n = attempts.entry(first).or_insert(0);
                    *n += 1;
                    if *n > self.max_retry_attempts {
                        stats.discarded.extend(batch.records.iter().cloned());
                        if let Some(last) = seqs.last() {
                            self.checkpoint(&batch.shard_id, last);
                        }
                    }
                }
            }
        }
        Ok(stats)
    }
}

/// `dynamodb.SequenceNumber` of a Lambda record ("" when missing).
pub fn sequence_number(record: &Value) -> String {
    record["dynamodb"]["SequenceNumber"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// A stream record as Lambda's DynamoDB event carries it, plus
/// `eventSourceARN` = `stream_arn`.
pub fn lambda_record(r: &Record, stream_arn: &str) -> Value {
    let mut out = Map::new();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            out.insert(k.to_string(), v);
        }
    };
    put("eventID", r.event_id().map(|s| json!(s)));
    put("eventName", r.event_name().map(|n| json!(n.as_str())));
    put("eventVersion", r.event_version().map(|s| json!(s)));
    put("eventSource", r.event_source().map(|s| json!(s)));
    put("awsRegion", r.aws_region().map(|s| json!(s)));
    if let Some(d) = r.dynamodb() {
        let mut dd = Map::new();
        if let Some(t) = d.approximate_creation_date_time() {
            dd.insert(
                "ApproximateCreationDateTime".into(),
                epoch_seconds(t.secs(), t.subsec_nanos()),
            );
        }
        for (key, image) in [
            ("Keys", d.keys()),
            ("NewImage", d.new_image()),
            ("OldImage", d.old_image()),
        ] {
            if let Some(image) = image {
                dd.insert(key.into(), item_json(image));
            }
        }
        if let Some(s) = d.sequence_number() {
            dd.insert("SequenceNumber".into(), json!(s));
        }
        if let Some(s) = d.size_bytes() {
            dd.insert("SizeBytes".into(), json!(s));
        }
        if let Some(v) = d.stream_view_type() {
            dd.insert("StreamViewType".into(), json!(v.as_str()));
        }
        put("dynamodb", Some(Value::Object(dd)));
    }
    put(
        "userIdentity",
        r.user_identity()
            .map(|u| json!({"principalId": u.principal_id(), "type": u.r#type()})),
    );
    put("eventSourceARN", Some(json!(stream_arn)));
    Value::Object(out)
}

/// Epoch seconds as a JSON number: whole when there is no fraction,
/// else with the fraction as received (moto sends milliseconds).
fn epoch_seconds(secs: i64, nanos: u32) -> Value {
    if nanos == 0 {
        return json!(secs);
    }
    let text = format!("{secs}.{nanos:09}");
    let text = text.trim_end_matches('0');
    text.parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .map(Value::Number)
        .unwrap_or_else(|| json!(secs))
}

/// An item (attribute name -> value) in DynamoDB JSON.
pub fn item_json(item: &HashMap<String, AttributeValue>) -> Value {
    Value::Object(
        item.iter()
            .map(|(k, v)| (k.clone(), attribute_json(v)))
            .collect(),
    )
}

/// One attribute value in DynamoDB JSON: `{"S": "x"}`, `{"N": "1"}`,
/// `{"B": "<base64>"}`, `SS`/`NS`/`BS`, `M`, `L`, `{"NULL": true}`, `BOOL`.
pub fn attribute_json(v: &AttributeValue) -> Value {
    match v {
        AttributeValue::S(s) => json!({ "S": s }),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::B(b) => json!({ "B": base64(b.as_ref()) }),
        AttributeValue::Ss(v) => json!({ "SS": v }),
        AttributeValue::Ns(v) => json!({ "NS": v }),
        AttributeValue::Bs(v) => {
            json!({ "BS": v.iter().map(|b| base64(b.as_ref())).collect::<Vec<_>>() })
        }
        AttributeValue::M(m) => json!({ "M": item_json(m) }),
        AttributeValue::L(l) => json!({ "L": l.iter().map(attribute_json).collect::<Vec<_>>() }),
        AttributeValue::Null(b) => json!({ "NULL": b }),
        AttributeValue::Bool(b) => json!({ "BOOL": b }),
        other => json!({ "UNKNOWN": format!("{other:?}") }),
    }
}

/// Standard base64 with padding (RFC 4648), as AWS JSON carries binaries.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let sextet = |shift: u32| char::from(ALPHABET[((n >> shift) & 63) as usize]);
        out.push(sextet(18));
        out.push(sextet(12));
        out.push(if chunk.len() > 1 { sextet(6) } else { '=' });
        out.push(if chunk.len() > 2 { sextet(0) } else { '=' });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodbstreams::primitives::Blob;

    #[test]
    fn base64_matches_rfc_4648() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), expected);
        }
        assert_eq!(base64(&[0, 1]), "AAE=");
    }

    #[test]
    fn attribute_values_are_dynamodb_json() {
        let v = AttributeValue::M(HashMap::from([(
            "k".to_string(),
            AttributeValue::L(vec![
                AttributeValue::Null(true),
                AttributeValue::Bool(false),
                AttributeValue::B(Blob::new(vec![0u8, 1])),
                AttributeValue::Ns(vec!["1".into(), "2.5".into()]),
            ]),
        )]));
        assert_eq!(
            attribute_json(&v),
            json!({"M": {"k": {"L": [{"NULL": true}, {"BOOL": false}, {"B": "AAE="}, {"NS": ["1", "2.5"]}]}}})
        );
    }

    #[test]
    fn creation_times_keep_their_fraction() {
        assert_eq!(epoch_seconds(1_716_200_000, 0), json!(1_716_200_000));
        assert_eq!(
            epoch_seconds(1_716_200_000, 389_000_000).to_string(),
            "1716200000.389"
        );
    }
}
