//! `parley register`: register the account (RFC 3261 §10.2) and stay registered, refreshing
//! before expiry, until interrupted; then unregister. `--once` registers, prints and exits.

use crate::cli_client::{self, CliError, ClientArgs};
use clap::Args;
use parley_client::{Registration, RegistrationEvent, RegistrationKeeper, UserAgent};
use std::process::ExitCode;

/// `parley register`.
#[derive(Debug, Args)]
pub struct RegisterArgs {
    #[command(flatten)]
    client: ClientArgs,
    /// Register, print the result and exit; the binding stays until it expires.
    #[arg(long)]
    once: bool,
    /// Seconds the binding should last (the registrar may grant less).
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    expires: u32,
}

pub fn run(args: RegisterArgs) -> ExitCode {
    exit(execute(args))
}

/// Prints a client error as one line and turns the result into an exit code.
pub fn exit(result: Result<(), CliError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("parley: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn execute(args: RegisterArgs) -> Result<(), CliError> {
    cli_client::init_logging(args.client.log_level())?;
    let settings = args.client.settings()?;
    cli_client::runtime()?.block_on(async {
        let ua = cli_client::start_agent(&settings).await?;
        let registration = match ua.register(args.expires).await {
            Ok(r) => r,
            Err(e) => {
                ua.shutdown().await;
                return Err(e.into());
            }
        };
        println!("{}", registered_line(&ua, &registration));
        if args.once {
            ua.shutdown().await;
            return Ok(());
        }
        stay_registered(&ua, &registration, args.expires).await;
        cli_client::leave(&ua).await;
        println!("unregistered {}", ua.account());
        Ok(())
    })
}

/// `registered alice@example.test at sip:alice@192.0.2.5:40000 via UDP 192.0.2.1:5060 for 300 s`.
pub fn registered_line(ua: &UserAgent, r: &Registration) -> String {
    format!(
        "registered {} at {} via {} for {} s",
        ua.account(),
        r.contact,
        r.server,
        r.expires
    )
}

/// Refreshes until interrupted, reporting failures on stderr.
pub async fn stay_registered(ua: &UserAgent, first: &Registration, expires: u32) {
    let mut keeper = RegistrationKeeper::start(ua, first, expires);
    let interrupted = cli_client::interrupted();
    tokio::pin!(interrupted);
    loop {
        tokio::select! {
            () = &mut interrupted => break,
            Some(event) = keeper.next_event() => report(&event),
        }
    }
    keeper.stop();
}

fn report(event: &RegistrationEvent) {
    match event {
        RegistrationEvent::Refreshed(r) => {
            tracing::info!(expires = r.expires, "registration refreshed")
        }
        RegistrationEvent::Failed { error, retry_in } => eprintln!(
            "parley: warning: refreshing the registration failed: {error}; retrying in {} s",
            retry_in.as_secs()
        ),
    }
}
