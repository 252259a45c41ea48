//! `parley message send` (RFC 3428 §4) and `parley message listen` (RFC 3428 §7).

use crate::cli_client::{self, CliError, ClientArgs};
use crate::cli_register::{exit, registered_line, stay_registered};
use clap::{Args, Subcommand};
use parley_client::{Aor, IncomingMessage};
use std::io::{Read, Write};
use std::process::ExitCode;

/// The largest message read from standard input. Servers refuse much less (`513`); this
/// only bounds what a mistaken pipe can make us hold.
const MAX_STDIN: u64 = 1 << 20;

/// `parley message …`.
#[derive(Debug, Args)]
pub struct MessageArgs {
    #[command(subcommand)]
    command: MessageCommand,
}

#[derive(Debug, Subcommand)]
enum MessageCommand {
    /// Send an instant message; prints whether it was delivered or stored for later.
    Send(SendArgs),
    /// Register, then print each incoming message (time, sender, text) until interrupted.
    Listen(ListenArgs),
}

#[derive(Debug, Args)]
struct SendArgs {
    #[command(flatten)]
    client: ClientArgs,
    /// The recipient, user@domain.
    #[arg(long, value_name = "USER@DOMAIN")]
    to: String,
    /// The body's media type.
    #[arg(long, value_name = "TYPE", default_value = "text/plain;charset=UTF-8")]
    content_type: String,
    /// The text (several words are joined by spaces); read from standard input when absent
    /// or `-`.
    text: Vec<String>,
}

#[derive(Debug, Args)]
struct ListenArgs {
    #[command(flatten)]
    client: ClientArgs,
    /// Seconds each registration should last; refreshed before it ends.
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    expires: u32,
}

pub fn run(args: MessageArgs) -> ExitCode {
    exit(match args.command {
        MessageCommand::Send(args) => send(args),
        MessageCommand::Listen(args) => listen(args),
    })
}

fn send(args: SendArgs) -> Result<(), CliError> {
    cli_client::init_logging(args.client.log_level())?;
    let settings = args.client.settings()?;
    let to = Aor::parse(&args.to)?;
    let body = match args.text.as_slice() {
        [] => read_stdin()?,
        [dash] if dash == "-" => read_stdin()?,
        words => words.join(" "),
    };
    cli_client::runtime()?.block_on(async {
        let ua = cli_client::start_agent(&settings).await?;
        let result = ua.send_message(&to, &args.content_type, body).await;
        ua.shutdown().await;
        let delivery = result?;
        if delivery.delivered() {
            println!("delivered to {to} ({} {})", delivery.code, delivery.reason);
        } else {
            println!(
                "stored for later delivery to {to} ({} {})",
                delivery.code, delivery.reason
            );
        }
        Ok(())
    })
}

/// Standard input as the message text, without the newline that ends the last line.
fn read_stdin() -> Result<String, CliError> {
    let mut text = String::new();
    std::io::stdin()
        .lock()
        .take(MAX_STDIN + 1)
        .read_to_string(&mut text)
        .map_err(CliError::Stdin)?;
    if text.len() as u64 > MAX_STDIN {
        return Err(CliError::Usage(format!(
            "the message is longer than {MAX_STDIN} bytes"
        )));
    }
    Ok(strip_final_newline(text))
}

fn strip_final_newline(mut text: String) -> String {
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    text
}

fn listen(args: ListenArgs) -> Result<(), CliError> {
    cli_client::init_logging(args.client.log_level())?;
    let settings = args.client.settings()?;
    cli_client::runtime()?.block_on(async {
        let ua = cli_client::start_agent(&settings).await?;
        let Some(mut incoming) = ua.take_incoming() else {
            return Err(CliError::Usage("no message queue".to_owned()));
        };
        let registration = match ua.register(args.expires).await {
            Ok(r) => r,
            Err(e) => {
                ua.shutdown().await;
                return Err(e.into());
            }
        };
        eprintln!("{}", registered_line(&ua, &registration));
        let printing = async {
            while let Some(message) = incoming.recv().await {
                print_message(&message);
            }
        };
        tokio::select! {
            () = stay_registered(&ua, &registration, args.expires) => {}
            () = printing => {}
        }
        cli_client::leave(&ua).await;
        eprintln!("unregistered {}", ua.account());
        Ok(())
    })
}

/// One message, flushed at once so that a script reading the pipe sees it.
fn print_message(message: &IncomingMessage) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", message.display_line());
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_final_newline_is_dropped() {
        assert_eq!(strip_final_newline("hi\n".into()), "hi");
        assert_eq!(strip_final_newline("hi\r\n".into()), "hi");
        assert_eq!(strip_final_newline("a\n\nb\n\n".into()), "a\n\nb\n");
        assert_eq!(strip_final_newline("x".into()), "x");
    }
}
