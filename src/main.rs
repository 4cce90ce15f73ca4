//! The `fasttrack` command. Multi-threaded tokio, so API and workers use every core.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match fasttrack::cli::run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fasttrack: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
