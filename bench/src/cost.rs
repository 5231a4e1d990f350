//! Lambda cost from measured durations and peak memory, at the published
//! arm64 price (us-east-1, `shared/AWS-FACTS.md`, bench/README.md).

use serde_json::{json, Value};

/// Dollars per GB-second, arm64, us-east-1 (first pricing tier).
pub const ARM64_PER_GB_SECOND: f64 = 0.000_013_333_4;
/// Dollars per request.
pub const PER_REQUEST: f64 = 0.20 / 1_000_000.0;
/// Where the prices come from.
pub const PRICE_SOURCE: &str = "AWS Lambda pricing, us-east-1, arm64: $0.0000133334 per GB-s, \
$0.20 per 1M requests (shared/AWS-FACTS.md, as published on 2026-11-21)";
/// The memory size at which Lambda gives a function one full vCPU.
pub const ONE_VCPU_MB: u32 = 1769;
/// The memory sizes considered (MB). Lambda accepts any size from 128 MB to
/// 10,240 MB in 1 MB steps; these are the usual steps.
pub const MEMORY_TIERS_MB: [u32; 12] = [
    128, 256, 512, 768, 1024, 1536, 2048, 3008, 4096, 6144, 8192, 10240,
];

/// The smallest tier that holds a peak resident set of `peak_rss_kb`.
pub fn memory_tier_mb(peak_rss_kb: u64) -> Option<u32> {
    MEMORY_TIERS_MB
        .into_iter()
        .find(|mb| u64::from(*mb) * 1024 >= peak_rss_kb)
}

/// Cost of processing records in invocations of `records_per_invocation`
/// records, each taking `duration_ms` at `memory_mb`: GB-seconds per
/// invocation (billed per 1 ms, rounded up) and dollars per million records
/// (compute + requests).
pub fn per_million(duration_ms: f64, memory_mb: u32, records_per_invocation: u64) -> Value {
    let billed_ms = duration_ms.ceil().max(1.0);
    let gb_s = f64::from(memory_mb) / 1024.0 * billed_ms / 1000.0;
    let invocations = 1_000_000.0 / records_per_invocation.max(1) as f64;
    let compute = invocations * gb_s * ARM64_PER_GB_SECOND;
    let requests = invocations * PER_REQUEST;
    json!({
        "memory_mb": memory_mb,
        "billed_ms_per_invocation": billed_ms,
        "gb_seconds_per_invocation": gb_s,
        "gb_seconds_per_million_records": invocations * gb_s,
        "dollars_per_million_records": compute + requests,
        "compute_dollars_per_million_records": compute,
        "request_dollars_per_million_records": requests,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_hold_the_peak() {
        assert_eq!(memory_tier_mb(10_000), Some(128));
        assert_eq!(memory_tier_mb(128 * 1024), Some(128));
        assert_eq!(memory_tier_mb(128 * 1024 + 1), Some(256));
        assert_eq!(memory_tier_mb(11 * 1024 * 1024), None);
    }

    #[test]
    fn cost_of_a_known_batch() {
        // 1,000 records in 1,000 ms at 1024 MB: 1 GB-s per invocation,
        // 1,000 invocations per million records.
        let c = per_million(999.2, 1024, 1000);
        assert_eq!(c["billed_ms_per_invocation"], 1000.0);
        assert_eq!(c["gb_seconds_per_million_records"], 1000.0);
        let dollars = c["dollars_per_million_records"].as_f64().unwrap();
        assert!((dollars - (1000.0 * ARM64_PER_GB_SECOND + 0.0002)).abs() < 1e-12);
    }
}
