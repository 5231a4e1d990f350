//! `meander`: run the fleet's functions locally, inspect tables, try a demo.

mod backup;
mod convert;
mod demo;
mod dlq;
mod info;
mod invoke;
mod vacuum;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "meander",
    version,
    about = "Land data in Delta Lake tables, without Spark"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Back up a Delta table at one version (default: the latest) by server-side copy, incrementally.
    Backup {
        /// The table: a local path, file://, or s3:// URI
        table: String,
        /// The backup root (s3://bucket/prefix or a local folder); the table's backup goes below it
        backup: String,
        /// The table version to back up (default: the latest)
        #[arg(long = "version", value_name = "N")]
        at_version: Option<u64>,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// Recreate a backed-up table in an empty location and verify it against the backup's manifest.
    Restore {
        /// The table's backup location (as `meander backup` prints it)
        backup: String,
        /// Where to recreate the table (must hold no Delta log)
        target: String,
        /// The backed-up version to restore (default: the latest backup)
        #[arg(long = "version", value_name = "N")]
        at_version: Option<u64>,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// Turn a folder (or s3://bucket/prefix) of Parquet files into a Delta table, or add the new files.
    Convert {
        /// A local folder (relative paths work) or s3://bucket/prefix
        location: String,
    },
    /// Run the fleet on generated data in DIR (default ./meander-demo), on local files.
    Demo { dir: Option<PathBuf> },
    /// Run a function's handler in-process with an event file and print its response.
    Invoke {
        /// Function name: oxbow, group-events, sqs-ingest, dynamo-cdc, dms-merge, glue-sync, table-backup
        function: String,
        /// The event JSON file (an SQS batch, an S3 notification, ...)
        #[arg(long)]
        event: PathBuf,
        /// Environment for the function, KEY=VALUE (repeatable), over the process environment.
        #[arg(long = "env", value_name = "KEY=VALUE")]
        env: Vec<String>,
    },
    /// Inspect or replay a dead-letter queue.
    Dlq {
        #[command(subcommand)]
        command: DlqCommand,
    },
    /// Describe a Delta table: version, files, size, schema, partitions, properties, last commits.
    Info {
        /// Table location: a local path, file://, or s3:// URI
        table: String,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// List the data files a table's current version does not reference (orphans); never deletes.
    Vacuum {
        /// Table location: a local path, file://, or s3:// URI
        table: String,
        /// List only (required: this command never deletes)
        #[arg(long)]
        dry_run: bool,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum DlqCommand {
    /// List the messages of a DLQ, grouped by why they failed, without deleting them.
    Inspect {
        /// The DLQ's URL
        dlq_url: String,
        /// A log export of the function (e.g. `aws logs filter-log-events` output) to take reasons from
        #[arg(long)]
        logs: Option<PathBuf>,
        /// Seconds the messages stay hidden while being read
        #[arg(long, default_value_t = 30)]
        hide: i32,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// Move messages back to the source queue (send first, delete after).
    Replay {
        /// The DLQ's URL
        dlq_url: String,
        /// The source queue URL (default: the only source of the DLQ's redrive allow policy)
        #[arg(long)]
        to: Option<String>,
        /// Move at most N messages
        #[arg(long)]
        max: Option<usize>,
        /// Move only messages whose body contains this text
        #[arg(long)]
        filter: Option<String>,
        /// Seconds a message being moved stays hidden in the DLQ (if the
        /// replay dies, it reappears after this)
        #[arg(long, default_value_t = 60)]
        hide: i32,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    meander_lambda::logging::init(&meander_lambda::Env::from_pairs([(
        "RUST_LOG",
        std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
    )]));
    meander::tables::register_handlers();
    let result = match cli.command {
        Command::Convert { location } => convert::run(&location).await,
        Command::Demo { dir } => {
            demo::run(dir.unwrap_or_else(|| PathBuf::from("meander-demo"))).await
        }
        Command::Invoke {
            function,
            event,
            env,
        } => invoke::run(&function, &event, &env).await,
        Command::Info { table, json } => info::run(&table, json).await,
        Command::Vacuum {
            table,
            dry_run,
            json,
        } => vacuum::run(&table, dry_run, json).await,
        Command::Backup {
            table,
            backup,
            at_version,
            json,
        } => backup::run_backup(&table, &backup, at_version, json).await,
        Command::Restore {
            backup,
            target,
            at_version,
            json,
        } => backup::run_restore(&backup, &target, at_version, json).await,
        Command::Dlq { command } => match command {
            DlqCommand::Inspect {
                dlq_url,
                logs,
                hide,
                json,
            } => dlq::run_inspect(&dlq_url, logs.as_deref(), json, hide).await,
            DlqCommand::Replay {
                dlq_url,
                to,
                max,
                filter,
                hide,
            } => dlq::run_replay(&dlq_url, to.as_deref(), max, filter.as_deref(), hide).await,
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Errors the CLI prints as one line.
pub type CliError = Box<dyn std::error::Error + Send + Sync>;
