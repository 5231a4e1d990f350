//! SDK clients pointed at the moto server (S3, SQS, DynamoDB, DynamoDB
//! Streams, Glue), and helpers that create the per-test resources: buckets,
//! queues with a dead-letter queue, S3 -> SQS notifications, DynamoDB tables
//! with a stream.
//!
//! Every helper takes a name *prefix* and returns the unique name it used,
//! so tests run in parallel against one server without seeing each other.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    StreamSpecification, StreamViewType,
};
use aws_sdk_s3::types::{
    Event, FilterRule, FilterRuleName, NotificationConfiguration, NotificationConfigurationFilter,
    QueueConfiguration, S3KeyFilter,
};
use aws_sdk_sqs::types::QueueAttributeName;

use crate::error::{context, Error, Result};
use crate::moto::{self, unique_name, ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY};

/// The SDK configuration for the moto endpoint: region `us-east-1`, static
/// test credentials, endpoint URL. Starts moto if it is not running yet.
pub async fn sdk_config() -> SdkConfig {
    let endpoint = moto::moto().endpoint().to_string();
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            ACCESS_KEY_ID,
            SECRET_ACCESS_KEY,
            None,
            None,
            "meander-e2e",
        ))
        .load()
        .await
}

/// S3 client, path-style (moto serves buckets by path).
pub fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// The clients a test needs, all on the moto endpoint.
#[derive(Debug, Clone)]
pub struct Aws {
    pub config: SdkConfig,
    pub s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub streams: aws_sdk_dynamodbstreams::Client,
    pub glue: aws_sdk_glue::Client,
}

/// A queue: name, URL (for API calls) and ARN (for policies, events).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queue {
    pub name: String,
    pub url: String,
    pub arn: String,
}

/// A source queue whose failures redrive into `dlq`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueWithDlq {
    pub queue: Queue,
    pub dlq: Queue,
    pub max_receive_count: u32,
}

/// How to create a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueOptions {
    /// Seconds a received message stays hidden; short so redrive is quick.
    pub visibility_timeout_secs: u32,
    /// FIFO queue (the name gets the `.fifo` suffix, so does its DLQ's).
    pub fifo: bool,
    /// FIFO only: deduplicate on the body's SHA-256.
    pub content_based_deduplication: bool,
}

impl Default for QueueOptions {
    fn default() -> Self {
        QueueOptions {
            visibility_timeout_secs: 1,
            fifo: false,
            content_based_deduplication: false,
        }
    }
}

/// One queue of a bucket's notification configuration ([`Aws::notify_queues`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueNotification<'a> {
    pub queue_arn: &'a str,
    /// e.g. `s3:ObjectCreated:*`, `s3:ObjectRemoved:*`.
    pub events: &'a [&'a str],
    pub prefix: Option<&'a str>,
    pub suffix: Option<&'a str>,
}

/// A DynamoDB table with a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamTable {
    pub name: String,
    pub arn: String,
    pub stream_arn: String,
}

impl Aws {
    /// Clients for the process's moto server (started on first use).
    pub async fn new() -> Aws {
        let config = sdk_config().await;
        Aws {
            s3: s3_client(&config),
            sqs: aws_sdk_sqs::Client::new(&config),
            dynamodb: aws_sdk_dynamodb::Client::new(&config),
            streams: aws_sdk_dynamodbstreams::Client::new(&config),
            glue: aws_sdk_glue::Client::new(&config),
            config,
        }
    }

    /// The moto endpoint, `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> &str {
        moto::moto().endpoint()
    }

    /// Create a bucket named `<prefix>-<unique>`; returns its name.
    pub async fn create_bucket(&self, prefix: &str) -> Result<String> {
        let name = unique_name(prefix);
        self.s3
            .create_bucket()
            .bucket(&name)
            .send()
            .await
            .map_err(context(format!("create bucket {name}")))?;
        Ok(name)
    }

    /// All keys in `bucket` under `prefix`, sorted.
    pub async fn list_keys(&self, bucket: &str, prefix: &str) -> Result<Vec<String>> {
        let mut keys = Vec::new();
        let mut token = None;
        loop {
            let out = self
                .s3
                .list_objects_v2()
                .bucket(bucket)
                .prefix(prefix)
                .set_continuation_token(token)
                .send()
                .await
                .map_err(context(format!("list s3://{bucket}/{prefix}")))?;
            keys.extend(
                out.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_string)),
            );
            match out.next_continuation_token() {
                Some(t) if out.is_truncated() == Some(true) => token = Some(t.to_string()),
                _ => break,
            }
        }
        keys.sort();
        Ok(keys)
    }

    /// The bytes of `s3://bucket/key`.
    pub async fn get_object(&self, bucket: &str, key: &str) -> Result<Vec<u8>> {
        let out = self
            .s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(context(format!("get s3://{bucket}/{key}")))?;
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| Error::new(format!("read s3://{bucket}/{key}: {e}")))?;
        Ok(bytes.into_bytes().to_vec())
    }

    /// Put `body` at `s3://bucket/key`.
    pub async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: impl Into<Vec<u8>>,
    ) -> Result<()> {
        self.s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(aws_sdk_s3::primitives::ByteStream::from(body.into()))
            .send()
            .await
            .map_err(context(format!("put s3://{bucket}/{key}")))?;
        Ok(())
    }

    /// Create a queue named `<prefix>-<unique>` (plus `.fifo` for FIFO).
    pub async fn create_queue(&self, prefix: &str, options: &QueueOptions) -> Result<Queue> {
        self.create_queue_named(unique_name(prefix), options, None)
            .await
    }

    /// Create a queue and its dead-letter queue (`<name>-dlq`): a message
    /// received `max_receive_count` times without being deleted moves to the
    /// DLQ on the next receive.
    pub async fn create_queue_with_dlq(
        &self,
        prefix: &str,
        max_receive_count: u32,
        options: &QueueOptions,
    ) -> Result<QueueWithDlq> {
        let base = unique_name(prefix);
        let dlq = self
            .create_queue_named(format!("{base}-dlq"), options, None)
            .await?;
        let policy = serde_json::json!({
            "deadLetterTargetArn": dlq.arn,
            "maxReceiveCount": max_receive_count.to_string(),
        })
        .to_string();
        let queue = self.create_queue_named(base, options, Some(policy)).await?;
        // As the deployment does: the DLQ names its only source queue, so
        // `meander dlq replay` finds where to send messages back.
        let allow = serde_json::json!({
            "redrivePermission": "byQueue",
            "sourceQueueArns": [queue.arn],
        })
        .to_string();
        self.sqs
            .set_queue_attributes()
            .queue_url(&dlq.url)
            .attributes(QueueAttributeName::RedriveAllowPolicy, allow)
            .send()
            .await
            .map_err(context(format!(
                "set the redrive allow policy of {}",
                dlq.name
            )))?;
        Ok(QueueWithDlq {
            queue,
            dlq,
            max_receive_count,
        })
    }

    async fn create_queue_named(
        &self,
        name: String,
        options: &QueueOptions,
        redrive_policy: Option<String>,
    ) -> Result<Queue> {
        let name = if options.fifo {
            format!("{name}.fifo")
        } else {
            name
        };
        let mut req = self.sqs.create_queue().queue_name(&name).attributes(
            QueueAttributeName::VisibilityTimeout,
            options.visibility_timeout_secs.to_string(),
        );
        if options.fifo {
            req = req.attributes(QueueAttributeName::FifoQueue, "true");
            if options.content_based_deduplication {
                req = req.attributes(QueueAttributeName::ContentBasedDeduplication, "true");
            }
        }
        if let Some(p) = redrive_policy {
            req = req.attributes(QueueAttributeName::RedrivePolicy, p);
        }
        let out = req
            .send()
            .await
            .map_err(context(format!("create queue {name}")))?;
        let url = out
            .queue_url()
            .ok_or_else(|| Error::new(format!("create queue {name}: no QueueUrl")))?
            .to_string();
        let arn = self.queue_arn(&url).await?;
        Ok(Queue { name, url, arn })
    }

    /// The ARN of the queue at `url`.
    pub async fn queue_arn(&self, url: &str) -> Result<String> {
        let out = self
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(context(format!("get QueueArn of {url}")))?;
        out.attributes()
            .and_then(|a| a.get(&QueueAttributeName::QueueArn))
            .cloned()
            .ok_or_else(|| Error::new(format!("queue {url} has no QueueArn")))
    }

    /// `(visible, in flight)` message counts of the queue at `url`.
    pub async fn queue_depth(&self, url: &str) -> Result<(u64, u64)> {
        crate::poller::queue_depth(&self.sqs, url).await
    }

    /// Send one message with `body`; returns its message id.
    pub async fn send_message(&self, queue_url: &str, body: &str) -> Result<String> {
        let out = self
            .sqs
            .send_message()
            .queue_url(queue_url)
            .message_body(body)
            .send()
            .await
            .map_err(context(format!("send message to {queue_url}")))?;
        Ok(out.message_id().unwrap_or_default().to_string())
    }

    /// Send one message to a FIFO queue.
    pub async fn send_fifo_message(
        &self,
        queue_url: &str,
        body: &str,
        group_id: &str,
        deduplication_id: Option<&str>,
    ) -> Result<String> {
        let out = self
            .sqs
            .send_message()
            .queue_url(queue_url)
            .message_body(body)
            .message_group_id(group_id)
            .set_message_deduplication_id(deduplication_id.map(str::to_string))
            .send()
            .await
            .map_err(context(format!("send message to {queue_url}")))?;
        Ok(out.message_id().unwrap_or_default().to_string())
    }

    /// Have `bucket` send its `s3:ObjectCreated:*` events to the queue
    /// `queue_arn`, optionally only for keys with `prefix` / `suffix`.
    /// moto then sends an `s3:TestEvent` to the queue, as S3 does.
    pub async fn notify_queue_on_create(
        &self,
        bucket: &str,
        queue_arn: &str,
        prefix: Option<&str>,
        suffix: Option<&str>,
    ) -> Result<()> {
        self.notify_queue(bucket, queue_arn, &["s3:ObjectCreated:*"], prefix, suffix)
            .await
    }

    /// Have `bucket` send the `events` (e.g. `s3:ObjectCreated:*`,
    /// `s3:ObjectRemoved:*`) to the queue `queue_arn`.
    pub async fn notify_queue(
        &self,
        bucket: &str,
        queue_arn: &str,
        events: &[&str],
        prefix: Option<&str>,
        suffix: Option<&str>,
    ) -> Result<()> {
        self.notify_queues(
            bucket,
            &[QueueNotification {
                queue_arn,
                events,
                prefix,
                suffix,
            }],
        )
        .await
    }

    /// Have `bucket` send events to several queues at once (S3 keeps one
    /// notification configuration per bucket, so they are set together),
    /// e.g. data files to oxbow's queue and commit files to glue-sync's.
    pub async fn notify_queues(
        &self,
        bucket: &str,
        notifications: &[QueueNotification<'_>],
    ) -> Result<()> {
        let mut config = NotificationConfiguration::builder();
        for n in notifications {
            let mut rules = Vec::new();
            if let Some(p) = n.prefix {
                rules.push(
                    FilterRule::builder()
                        .name(FilterRuleName::Prefix)
                        .value(p)
                        .build(),
                );
            }
            if let Some(s) = n.suffix {
                rules.push(
                    FilterRule::builder()
                        .name(FilterRuleName::Suffix)
                        .value(s)
                        .build(),
                );
            }
            let mut qc = QueueConfiguration::builder()
                .queue_arn(n.queue_arn)
                .set_events(Some(n.events.iter().map(|e| Event::from(*e)).collect()));
            if !rules.is_empty() {
                qc = qc.filter(
                    NotificationConfigurationFilter::builder()
                        .key(S3KeyFilter::builder().set_filter_rules(Some(rules)).build())
                        .build(),
                );
            }
            let qc = qc
                .build()
                .map_err(context("build QueueConfiguration".to_string()))?;
            config = config.queue_configurations(qc);
        }
        self.s3
            .put_bucket_notification_configuration()
            .bucket(bucket)
            .notification_configuration(config.build())
            .send()
            .await
            .map_err(context(format!(
                "put notification configuration on {bucket}"
            )))?;
        Ok(())
    }

    /// Create a table `<prefix>-<unique>` with a stream of `view_type`
    /// (`NEW_AND_OLD_IMAGES`, `NEW_IMAGE`, `OLD_IMAGE`, `KEYS_ONLY`).
    /// `hash_key` and `range_key` are `(name, "S" | "N" | "B")`.
    pub async fn create_stream_table(
        &self,
        prefix: &str,
        hash_key: (&str, &str),
        range_key: Option<(&str, &str)>,
        view_type: &str,
    ) -> Result<StreamTable> {
        let name = unique_name(prefix);
        let mut req = self
            .dynamodb
            .create_table()
            .table_name(&name)
            .billing_mode(BillingMode::PayPerRequest)
            .stream_specification(
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::from(view_type))
                    .build()
                    .map_err(context("build StreamSpecification".to_string()))?,
            );
        for (key, kind) in [
            Some((hash_key, KeyType::Hash)),
            range_key.map(|r| (r, KeyType::Range)),
        ]
        .into_iter()
        .flatten()
        {
            let ((attr, ty), kind) = (key, kind);
            req = req
                .key_schema(
                    KeySchemaElement::builder()
                        .attribute_name(attr)
                        .key_type(kind)
                        .build()
                        .map_err(context("build KeySchemaElement".to_string()))?,
                )
                .attribute_definitions(
                    AttributeDefinition::builder()
                        .attribute_name(attr)
                        .attribute_type(ScalarAttributeType::from(ty))
                        .build()
                        .map_err(context("build AttributeDefinition".to_string()))?,
                );
        }
        let out = req
            .send()
            .await
            .map_err(context(format!("create table {name}")))?;
        let desc = out
            .table_description()
            .ok_or_else(|| Error::new(format!("create table {name}: no description")))?;
        Ok(StreamTable {
            arn: desc.table_arn().unwrap_or_default().to_string(),
            stream_arn: desc
                .latest_stream_arn()
                .ok_or_else(|| Error::new(format!("table {name} has no stream")))?
                .to_string(),
            name,
        })
    }
}

/// Send `bodies` to `queue_url` with SendMessageBatch, 10 per call, 16 calls
/// at once; panics unless every message was accepted.
pub async fn send_all(sqs: &aws_sdk_sqs::Client, queue_url: &str, bodies: &[String]) {
    use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
    use futures::StreamExt;
    let sent: Vec<usize> = futures::stream::iter(bodies.chunks(10))
        .map(|chunk| async move {
            let entries: Vec<SendMessageBatchRequestEntry> = chunk
                .iter()
                .enumerate()
                .map(|(i, body)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(body)
                        .build()
                        .expect("entry")
                })
                .collect();
            let out = sqs
                .send_message_batch()
                .queue_url(queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .expect("send batch");
            assert!(out.failed().is_empty(), "{:?}", out.failed());
            out.successful().len()
        })
        .buffer_unordered(16)
        .collect()
        .await;
    assert_eq!(sent.iter().sum::<usize>(), bodies.len());
}
