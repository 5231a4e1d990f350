//! [`Objects`] on S3 with the AWS SDK: server-side copies between any two
//! buckets the credentials can read and write (`CopyObject`, or
//! `UploadPartCopy` parts for objects over 5 GiB), so no data passes
//! through the function.
//!
//! The checksum of a written object is S3's ETag as `md5:<hex>` when the
//! ETag is an MD5 of the content: one-part objects without SSE-KMS or
//! SSE-C. Otherwise none is recorded (see `meander::backup::objects`).

use std::time::Duration;

use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    CompletedMultipartUpload, CompletedPart, ServerSideEncryption, StorageClass,
};
use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{StreamExt, TryStreamExt};
use meander::backup::{Listed, Loc, ObjectInfo, Objects, ObjectsError, Put, Scheme};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// The largest object `CopyObject` copies in one request (5 GiB).
pub const MAX_SINGLE_COPY: u64 = 5 * 1024 * 1024 * 1024;
/// Part size of multipart copies (grown so a copy has at most 10,000 parts).
pub const COPY_PART_SIZE: u64 = 512 * 1024 * 1024;
const MAX_PARTS: u64 = 10_000;
/// Parts copied at once in one multipart copy.
const PART_CONCURRENCY: usize = 8;
/// Attempts of a conditional put answered 409 ConditionalRequestConflict.
const CONFLICT_ATTEMPTS: u32 = 5;

/// Characters of a key kept as they are in `x-amz-copy-source`.
const COPY_SOURCE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// S3 through the AWS SDK.
#[derive(Debug, Clone)]
pub struct S3Objects {
    client: aws_sdk_s3::Client,
    /// Storage class of the objects this instance writes (bucket default when `None`).
    pub storage_class: Option<StorageClass>,
    /// Objects larger than this are copied in parts.
    pub multipart_threshold: u64,
}

impl S3Objects {
    pub fn new(client: aws_sdk_s3::Client) -> Self {
        S3Objects {
            client,
            storage_class: None,
            multipart_threshold: MAX_SINGLE_COPY,
        }
    }

    /// Write objects in `class` (e.g. `STANDARD_IA`, `GLACIER_IR`).
    pub fn with_storage_class(mut self, class: Option<StorageClass>) -> Self {
        self.storage_class = class;
        self
    }
}

/// The S3 client from the standard AWS configuration (region, credentials,
/// `AWS_ENDPOINT_URL`), path-style.
pub async fn client_from_env() -> aws_sdk_s3::Client {
    let sdk = meander_lambda::clients::sdk_config().await;
    meander_lambda::clients::s3(&sdk)
}

fn s3_only(at: &Loc) -> Result<(), ObjectsError> {
    if at.scheme == Scheme::S3 {
        Ok(())
    } else {
        Err(ObjectsError::failed(at, "not an s3:// location"))
    }
}

fn status<E, R>(e: &SdkError<E, R>) -> Option<u16>
where
    R: HasStatus,
{
    e.raw_response().map(HasStatus::status_code)
}

/// The HTTP status of a raw SDK response.
trait HasStatus {
    fn status_code(&self) -> u16;
}

impl HasStatus for aws_sdk_s3::config::http::HttpResponse {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}

fn failed<E>(
    at: &Loc,
    op: &str,
    e: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> ObjectsError
where
    E: std::error::Error + 'static,
{
    ObjectsError::failed(at, format!("{op} failed: {}", DisplayErrorContext(e)))
}

/// `md5:<hex>` when the ETag is an MD5 of the content.
pub fn md5_checksum(
    etag: Option<&str>,
    sse: Option<&ServerSideEncryption>,
    sse_customer_algorithm: Option<&str>,
) -> Option<String> {
    if sse_customer_algorithm.is_some() {
        return None;
    }
    if sse.is_some_and(|s| *s != ServerSideEncryption::Aes256) {
        return None;
    }
    let etag = etag?.trim().trim_matches('"');
    (etag.len() == 32 && etag.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| format!("md5:{}", etag.to_ascii_lowercase()))
}

fn copy_source(from: &Loc) -> String {
    format!(
        "{}/{}",
        from.bucket,
        utf8_percent_encode(&from.key, COPY_SOURCE)
    )
}

/// Byte ranges (inclusive ends) of a multipart copy of `size` bytes.
pub fn part_ranges(size: u64) -> Vec<(u64, u64)> {
    let part = COPY_PART_SIZE.max(size.div_ceil(MAX_PARTS));
    let mut out = Vec::new();
    let mut start = 0;
    while start < size {
        let end = (start + part).min(size);
        out.push((start, end - 1));
        start = end;
    }
    out
}

impl S3Objects {
    async fn copy_single(
        &self,
        from: &Loc,
        to: &Loc,
        size: u64,
    ) -> Result<ObjectInfo, ObjectsError> {
        let out = self
            .client
            .copy_object()
            .copy_source(copy_source(from))
            .bucket(&to.bucket)
            .key(&to.key)
            .set_storage_class(self.storage_class.clone())
            .send()
            .await
            .map_err(|e| {
                if e.code() == Some("NoSuchKey") {
                    ObjectsError::NotFound(from.to_string())
                } else {
                    failed(to, &format!("CopyObject from {from}"), &e)
                }
            })?;
        let checksum = md5_checksum(
            out.copy_object_result().and_then(|r| r.e_tag()),
            out.server_side_encryption(),
            out.sse_customer_algorithm(),
        );
        // CopyObject copies the whole object and does not return its size;
        // the backup checks every size with one listing afterwards.
        Ok(ObjectInfo { size, checksum })
    }

    async fn copy_multipart(
        &self,
        from: &Loc,
        to: &Loc,
        size: u64,
    ) -> Result<ObjectInfo, ObjectsError> {
        let upload = self
            .client
            .create_multipart_upload()
            .bucket(&to.bucket)
            .key(&to.key)
            .set_storage_class(self.storage_class.clone())
            .send()
            .await
            .map_err(|e| failed(to, "CreateMultipartUpload", &e))?;
        let upload_id = upload
            .upload_id()
            .ok_or_else(|| ObjectsError::failed(to, "CreateMultipartUpload returned no UploadId"))?
            .to_string();
        let source = copy_source(from);
        let parts: Result<Vec<CompletedPart>, ObjectsError> =
            futures::stream::iter(part_ranges(size).into_iter().enumerate())
                .map(|(i, (start, end))| {
                    let (source, upload_id) = (&source, &upload_id);
                    async move {
                        let number = i32::try_from(i + 1)
                            .map_err(|_| ObjectsError::failed(to, "too many parts"))?;
                        let out = self
                            .client
                            .upload_part_copy()
                            .bucket(&to.bucket)
                            .key(&to.key)
                            .upload_id(upload_id)
                            .part_number(number)
                            .copy_source(source)
                            .copy_source_range(format!("bytes={start}-{end}"))
                            .send()
                            .await
                            .map_err(|e| {
                                if e.code() == Some("NoSuchKey") {
                                    ObjectsError::NotFound(from.to_string())
                                } else {
                                    failed(to, &format!("UploadPartCopy from {from}"), &e)
                                }
                            })?;
                        Ok(CompletedPart::builder()
                            .part_number(number)
                            .set_e_tag(
                                out.copy_part_result()
                                    .and_then(|r| r.e_tag())
                                    .map(str::to_string),
                            )
                            .build())
                    }
                })
                .buffered(PART_CONCURRENCY)
                .try_collect()
                .await;
        let completed = match parts {
            Ok(parts) => self
                .client
                .complete_multipart_upload()
                .bucket(&to.bucket)
                .key(&to.key)
                .upload_id(&upload_id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(parts))
                        .build(),
                )
                .send()
                .await
                .map_err(|e| failed(to, "CompleteMultipartUpload", &e))
                .map(|_| ()),
            Err(e) => Err(e),
        };
        if let Err(e) = completed {
            let _ = self
                .client
                .abort_multipart_upload()
                .bucket(&to.bucket)
                .key(&to.key)
                .upload_id(&upload_id)
                .send()
                .await;
            return Err(e);
        }
        // A multipart ETag is not an MD5 of the content.
        Ok(ObjectInfo {
            size,
            checksum: None,
        })
    }
}

impl Objects for S3Objects {
    fn list<'a>(&'a self, prefix: &'a Loc) -> BoxFuture<'a, Result<Vec<Listed>, ObjectsError>> {
        Box::pin(async move {
            s3_only(prefix)?;
            let folder = if prefix.key.is_empty() {
                String::new()
            } else {
                format!("{}/", prefix.key)
            };
            let mut pages = self
                .client
                .list_objects_v2()
                .bucket(&prefix.bucket)
                .prefix(&folder)
                .into_paginator()
                .send();
            let mut out = Vec::new();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| failed(prefix, "ListObjectsV2", &e))?;
                for o in page.contents() {
                    let Some(rel) = o.key().and_then(|k| k.strip_prefix(folder.as_str())) else {
                        continue;
                    };
                    out.push(Listed {
                        key: rel.to_string(),
                        size: o.size().and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
                    });
                }
            }
            Ok(out)
        })
    }

    fn head<'a>(&'a self, at: &'a Loc) -> BoxFuture<'a, Result<Option<ObjectInfo>, ObjectsError>> {
        Box::pin(async move {
            s3_only(at)?;
            match self
                .client
                .head_object()
                .bucket(&at.bucket)
                .key(&at.key)
                .send()
                .await
            {
                Ok(out) => Ok(Some(ObjectInfo {
                    size: out
                        .content_length()
                        .and_then(|l| u64::try_from(l).ok())
                        .unwrap_or(0),
                    checksum: md5_checksum(
                        out.e_tag(),
                        out.server_side_encryption(),
                        out.sse_customer_algorithm(),
                    ),
                })),
                Err(e) if status(&e) == Some(404) => Ok(None),
                Err(e) => Err(failed(at, "HeadObject", &e)),
            }
        })
    }

    fn get<'a>(&'a self, at: &'a Loc) -> BoxFuture<'a, Result<Option<Bytes>, ObjectsError>> {
        Box::pin(async move {
            s3_only(at)?;
            match self
                .client
                .get_object()
                .bucket(&at.bucket)
                .key(&at.key)
                .send()
                .await
            {
                Ok(out) => {
                    let body =
                        out.body.collect().await.map_err(|e| {
                            ObjectsError::failed(at, format!("reading the body: {e}"))
                        })?;
                    Ok(Some(body.into_bytes()))
                }
                Err(e) if e.code() == Some("NoSuchKey") => Ok(None),
                Err(e) => Err(failed(at, "GetObject", &e)),
            }
        })
    }

    fn put<'a>(
        &'a self,
        at: &'a Loc,
        body: Bytes,
        create_only: bool,
    ) -> BoxFuture<'a, Result<Put, ObjectsError>> {
        Box::pin(async move {
            s3_only(at)?;
            let size = body.len() as u64;
            let mut attempt = 0;
            loop {
                attempt += 1;
                let mut req = self
                    .client
                    .put_object()
                    .bucket(&at.bucket)
                    .key(&at.key)
                    .set_storage_class(self.storage_class.clone())
                    .body(ByteStream::from(body.clone()));
                if create_only {
                    req = req.if_none_match("*");
                }
                match req.send().await {
                    Ok(out) => {
                        return Ok(Put::Created(ObjectInfo {
                            size,
                            checksum: md5_checksum(
                                out.e_tag(),
                                out.server_side_encryption(),
                                out.sse_customer_algorithm(),
                            ),
                        }))
                    }
                    Err(e) if create_only && status(&e) == Some(412) => {
                        return Ok(Put::AlreadyExists)
                    }
                    Err(e) if status(&e) == Some(409) && attempt < CONFLICT_ATTEMPTS => {
                        tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
                    }
                    Err(e) => return Err(failed(at, "PutObject", &e)),
                }
            }
        })
    }

    fn copy<'a>(
        &'a self,
        from: &'a Loc,
        to: &'a Loc,
        size: u64,
    ) -> BoxFuture<'a, Result<ObjectInfo, ObjectsError>> {
        Box::pin(async move {
            s3_only(from)?;
            s3_only(to)?;
            if size > self.multipart_threshold {
                self.copy_multipart(from, to, size).await
            } else {
                self.copy_single(from, to, size).await
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_that_are_md5s() {
        let etag = Some("\"9B2CF535F27731C974343645A3985328\"");
        assert_eq!(
            md5_checksum(etag, None, None).as_deref(),
            Some("md5:9b2cf535f27731c974343645a3985328")
        );
        assert!(md5_checksum(etag, Some(&ServerSideEncryption::Aes256), None).is_some());
        assert_eq!(
            md5_checksum(etag, Some(&ServerSideEncryption::AwsKms), None),
            None
        );
        assert_eq!(md5_checksum(etag, None, Some("AES256")), None, "SSE-C");
        assert_eq!(
            md5_checksum(Some("\"d41d8cd98f00b204e9800998ecf8427e-3\""), None, None),
            None,
            "multipart"
        );
        assert_eq!(md5_checksum(None, None, None), None);
    }

    #[test]
    fn copy_source_is_url_encoded() {
        assert_eq!(
            copy_source(&Loc::s3("b", "t/ds=1/a b+c é.parquet")),
            "b/t/ds%3D1/a%20b%2Bc%20%C3%A9.parquet"
        );
    }

    #[test]
    fn multipart_ranges_cover_the_object() {
        let size = 6 * 1024 * 1024 * 1024 + 7;
        let r = part_ranges(size);
        assert_eq!(r.first(), Some(&(0, COPY_PART_SIZE - 1)));
        assert_eq!(r.last().map(|x| x.1), Some(size - 1));
        assert!(r.windows(2).all(|w| w[0].1 + 1 == w[1].0));
        let huge = 5 * 1024 * 1024 * 1024 * 1024; // 5 TiB
        assert!(part_ranges(huge).len() as u64 <= MAX_PARTS);
        assert!(part_ranges(0).is_empty());
    }
}
