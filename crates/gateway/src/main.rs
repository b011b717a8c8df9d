//! `tollgate`: parse the command line, load settings, run the command.

use clap::Parser;
use gateway::config::{self, Cli, Command, ImportSource, LogFormat};
use std::process::ExitCode;

/// mimalloc instead of glibc's allocator: a relayed request allocates and frees hyper's 8 KiB read buffers and
/// many small objects across two threads, where glibc spent ~19 % of the gateway's CPU (consolidating free
/// chunks); see docs/performance.md.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TOLLGATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            #[expect(
                clippy::print_stderr,
                reason = "fatal start-up errors must reach the operator even without logging"
            )]
            {
                eprintln!("error: {e:#}");
            }
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => {
            let (settings, declared) = config::load::load(&args)?;
            init_tracing(settings.log_format);
            let running =
                gateway::startup::start(settings, declared, gateway::startup::shutdown_signal())
                    .await?;
            running.done.await?
        }
        Command::Migrate(args) => {
            let (settings, _) = config::load::load(&args)?;
            init_tracing(settings.log_format);
            gateway::startup::open_store(&settings).await?.close().await;
            let database = gateway::observe::redact::url(&settings.database_url);
            tracing::info!(%database, "migrations applied");
            Ok(())
        }
        Command::Import(ImportSource::NewApi(args)) => {
            init_tracing(LogFormat::Text);
            gateway::import::run(args).await
        }
        Command::CheckConfig(args) => {
            let (settings, declared) = config::load::load(&args)?;
            declared.validate()?;
            #[expect(clippy::print_stdout, reason = "check-config reports to the console")]
            {
                println!("configuration OK\n{settings:#?}");
                println!(
                    "declared: {} channels, {} users, {} keys, {} prices, {} groups",
                    declared.channels.len(),
                    declared.users.len(),
                    declared.keys.len(),
                    declared.prices.len(),
                    declared.groups.len()
                );
            }
            Ok(())
        }
    }
}
