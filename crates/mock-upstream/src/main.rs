//! `mock-upstream` binary: serves the default OpenAI-compatible reply forever (every other mock route too, the
//! midjourney-proxy `/mj/…` API included), unless a test scripts other answers through the control endpoints
//! (`/__mock/script`, `/__mock/requests`; see the library's `control` module).

use std::io::Write as _;
use std::net::SocketAddr;

use clap::Parser;
use mock_upstream::{Behavior, DEFAULT_TEXT, MockUpstream, Reply};

/// Mock LLM upstream (OpenAI, Anthropic, Gemini, Azure, midjourney-proxy) for benchmarks and end-to-end tests.
#[derive(Debug, Parser)]
#[command(name = "mock-upstream", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Pause between streamed events, in milliseconds.
    #[arg(long, default_value_t = 0)]
    chunk_delay_ms: u64,
    /// Accept only this upstream key (repeatable), each provider in its own header (`Authorization: Bearer`,
    /// `x-api-key`, `x-goog-api-key`, `api-key`, `mj-api-secret`; Bedrock: `AK|SK|REGION`, whose secret checks the
    /// SigV4 signature); any key when none is given.
    #[arg(long = "accept-key", value_name = "KEY")]
    accept_keys: Vec<String>,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let mock = MockUpstream::start_on(args.listen).await?;
    mock.set_default(Behavior::Reply(
        Reply::text(DEFAULT_TEXT).delay_ms(args.chunk_delay_ms),
    ));
    if !args.accept_keys.is_empty() {
        mock.set_accepted_keys(Some(args.accept_keys));
    }
    announce(&mock)?;
    tokio::signal::ctrl_c().await?;
    mock.shutdown();
    Ok(())
}

#[expect(
    clippy::print_stdout,
    reason = "the listening line is the binary's interface"
)]
fn announce(mock: &MockUpstream) -> std::io::Result<()> {
    println!("listening on {}", mock.base_url());
    std::io::stdout().flush()
}
