//! Tracing set-up honouring Lambda's advanced logging controls.
//!
//! Level: `AWS_LAMBDA_LOG_LEVEL` first, then `RUST_LOG` (full directive
//! syntax), then `info`. Format: JSON when `AWS_LAMBDA_LOG_FORMAT=json`
//! (any case), plain text otherwise. Logs go to stdout, which Lambda ships
//! to CloudWatch; the AWS SDK and HTTP stacks are held at `warn` unless a
//! directive names them.

use tracing_subscriber::EnvFilter;

pub const AWS_LAMBDA_LOG_LEVEL: &str = "AWS_LAMBDA_LOG_LEVEL";
pub const AWS_LAMBDA_LOG_FORMAT: &str = "AWS_LAMBDA_LOG_FORMAT";
pub const RUST_LOG: &str = "RUST_LOG";

const QUIET: &[&str] = &[
    "aws_smithy_runtime=warn",
    "aws_config=warn",
    "hyper=warn",
    "hyper_util=warn",
    "h2=warn",
    "rustls=warn",
    "object_store=warn",
    // delta-rs warns on every MERGE about metrics it derives; its real
    // failures reach us as returned errors.
    "deltalake_core=error",
    // The Delta kernel (crate buoyant_kernel, imported as delta_kernel) logs
    // INFO spans per snapshot and an ERROR for "no table here yet", which is how every
    // table starts; its real errors reach us as returned errors anyway.
    "buoyant_kernel=off",
    "delta_kernel=off",
    "lambda_runtime=warn",
];

/// The filter directives for a level setting: Lambda's level words
/// (TRACE, DEBUG, INFO, WARN, ERROR, FATAL) or a `RUST_LOG` directive string.
pub fn directives(aws_level: Option<&str>, rust_log: Option<&str>) -> String {
    let base = match aws_level.map(|l| l.trim().to_ascii_lowercase()) {
        Some(l) if l == "fatal" => "error".to_string(),
        Some(l) if !l.is_empty() => l,
        _ => rust_log
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .unwrap_or("info")
            .to_string(),
    };
    let mut out = base.clone();
    for q in QUIET {
        let target = q.split('=').next().unwrap_or_default();
        if !base.contains(target) {
            out.push(',');
            out.push_str(q);
        }
    }
    out
}

/// Install the global subscriber. Safe to call twice (the second is a no-op),
/// so the CLI and tests can call it freely.
pub fn init(env: &crate::Env) {
    let filter = EnvFilter::try_new(directives(
        env.optional(AWS_LAMBDA_LOG_LEVEL),
        env.optional(RUST_LOG),
    ))
    .unwrap_or_else(|_| EnvFilter::new("info"));
    let json = env
        .optional(AWS_LAMBDA_LOG_FORMAT)
        .is_some_and(|f| f.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(false);
    let _ = if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init()
    } else {
        builder.without_time().try_init()
    };
}

#[cfg(test)]
mod tests {
    use super::directives;

    #[test]
    fn aws_level_wins_then_rust_log_then_info() {
        assert!(directives(Some("DEBUG"), Some("trace")).starts_with("debug,"));
        assert!(directives(Some("FATAL"), None).starts_with("error,"));
        assert!(directives(None, Some("oxbow=trace")).starts_with("oxbow=trace,"));
        assert!(directives(None, None).starts_with("info,"));
        // a directive naming a quiet crate is left as the user wrote it
        let d = directives(None, Some("info,hyper=debug"));
        assert!(!d.contains("hyper=warn"), "{d}");
    }
}
