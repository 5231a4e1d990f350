//! `meander`: run the fleet's functions locally, inspect tables, try a demo.

mod convert;
mod demo;
mod info;
mod invoke;

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
    /// Turn a folder (or s3://bucket/prefix) of Parquet files into a Delta table, or add the new files.
    Convert {
        /// A local folder (relative paths work) or s3://bucket/prefix
        location: String,
    },
    /// Run the fleet on generated data in DIR (default ./meander-demo), on local files.
    Demo { dir: Option<PathBuf> },
    /// Run a function's handler in-process with an event file and print its response.
    Invoke {
        /// Function name: oxbow
        function: String,
        /// The event JSON file (an SQS batch, an S3 notification, ...)
        #[arg(long)]
        event: PathBuf,
        /// Environment for the function, KEY=VALUE (repeatable), over the process environment.
        #[arg(long = "env", value_name = "KEY=VALUE")]
        env: Vec<String>,
    },
    /// Describe a Delta table: version, files, size, schema, partitions, properties, last commits.
    Info {
        /// Table location: a local path, file://, or s3:// URI
        table: String,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
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
