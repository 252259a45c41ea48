//! `parley presence …`: publish our presence (RFC 3903), watch others' (RFC 3856), see who
//! watches us (RFC 3857), and the end-to-end model where this agent answers SUBSCRIBEs for its
//! own presence itself (RFC 3856 §3.3).

use crate::cli_client::{self, CliError, ClientArgs};
use crate::cli_register::{exit, registered_line, stay_registered};
use clap::{Args, Subcommand};
use parley_client::presence::agent::{PresenceAgent, PresenceEvent};
use parley_client::presence::publisher::{PresencePublisher, PublishEvent};
use parley_client::presence::{parse_basic, PresenceState};
use parley_client::Aor;
use std::io::Write;
use std::process::ExitCode;
use tokio::io::AsyncBufReadExt;

/// `parley presence …`.
#[derive(Debug, Args)]
pub struct PresenceArgs {
    #[command(subcommand)]
    command: PresenceCommand,
}

#[derive(Debug, Subcommand)]
enum PresenceCommand {
    /// Publish our presence; refreshed while running, removed on exit.
    Publish(PublishArgs),
    /// Print each change of the presence of one or more users until interrupted.
    Watch(WatchArgs),
    /// Print who watches our presence (watcher info) until interrupted.
    Watchers(WatchersArgs),
    /// Answer a watcher who waits for our decision (or change our mind): allow by default,
    /// or --block, --polite-block, --forget. Uses the server's HTTP API.
    Authorize(AuthorizeArgs),
    /// Register and answer SUBSCRIBEs for our own presence ourselves (no presence server);
    /// new states can be given on standard input, one per line (`status=closed note="gone"`).
    ServeSelf(ServeSelfArgs),
}

/// The state flags shared by `publish` and `serve-self`.
#[derive(Debug, Args)]
struct StateArgs {
    /// Basic status: open or closed.
    #[arg(long, value_name = "open|closed", default_value = "open")]
    status: String,
    /// An RPID activity (away, busy, on-the-phone, meal, meeting, vacation, ...); repeatable.
    #[arg(long, value_name = "ACTIVITY")]
    activity: Vec<String>,
    /// A free-text note.
    #[arg(long, value_name = "TEXT")]
    note: Option<String>,
    /// An RPID mood (happy, sad, bored, ...); repeatable.
    #[arg(long, value_name = "MOOD")]
    mood: Vec<String>,
}

#[derive(Debug, Args)]
struct PublishArgs {
    #[command(flatten)]
    client: ClientArgs,
    #[command(flatten)]
    state: StateArgs,
    /// Seconds each publication lasts; refreshed before it ends.
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    expires: u32,
}

#[derive(Debug, Args)]
struct WatchArgs {
    #[command(flatten)]
    client: ClientArgs,
    /// The users to watch, user@domain.
    #[arg(value_name = "USER@DOMAIN", required = true)]
    targets: Vec<String>,
}

#[derive(Debug, Args)]
struct WatchersArgs {
    #[command(flatten)]
    client: ClientArgs,
}

#[derive(Debug, Args)]
struct AuthorizeArgs {
    #[command(flatten)]
    client: ClientArgs,
    /// The watcher, user@domain.
    #[arg(value_name = "WATCHER")]
    watcher: String,
    /// Refuse the watcher's subscriptions (they end with reason=rejected).
    #[arg(long, group = "decision")]
    block: bool,
    /// Accept the watcher but show them only a closed document.
    #[arg(long, group = "decision")]
    polite_block: bool,
    /// Forget the decision about the watcher (the server's policy applies again).
    #[arg(long, group = "decision")]
    forget: bool,
    /// The server's HTTP API [default: http://<server host>:8080].
    #[arg(long, value_name = "URL")]
    http: Option<String>,
}

#[derive(Debug, Args)]
struct ServeSelfArgs {
    #[command(flatten)]
    client: ClientArgs,
    #[command(flatten)]
    state: StateArgs,
    /// Seconds each registration should last; refreshed before it ends.
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    expires: u32,
}

pub fn run(args: PresenceArgs) -> ExitCode {
    exit(match args.command {
        PresenceCommand::Publish(args) => publish(args),
        PresenceCommand::Watch(args) => watch(args),
        PresenceCommand::Watchers(args) => watchers(args),
        PresenceCommand::Authorize(args) => authorize(args),
        PresenceCommand::ServeSelf(args) => serve_self(args),
    })
}

impl StateArgs {
    fn state(&self) -> Result<PresenceState, CliError> {
        let status = parse_basic(&self.status).ok_or_else(|| {
            CliError::Usage(format!("--status {:?}: use open or closed", self.status))
        })?;
        let mut activities = Vec::new();
        for a in &self.activity {
            activities.push(a.parse().map_err(|()| {
                CliError::Usage(format!("--activity {a:?}: not an RPID activity"))
            })?);
        }
        let mut mood = Vec::new();
        for m in &self.mood {
            mood.push(
                m.parse()
                    .map_err(|()| CliError::Usage(format!("--mood {m:?}: not an RPID mood")))?,
            );
        }
        Ok(PresenceState {
            status,
            activities,
            note: self.note.clone(),
            mood,
        })
    }
}

/// One line on standard output, flushed at once so that a script reading the pipe sees it.
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn publish(args: PublishArgs) -> Result<(), CliError> {
    cli_client::init_logging(args.client.log_level())?;
    let settings = args.client.settings()?;
    let state = args.state.state()?;
    cli_client::runtime()?.block_on(async {
        let ua = cli_client::start_agent(&settings).await?;
        let mut publisher = PresencePublisher::start(&ua, state, args.expires);
        let interrupted = cli_client::interrupted();
        tokio::pin!(interrupted);
        let outcome = loop {
            tokio::select! {
                () = &mut interrupted => break Ok(()),
                event = publisher.next_event() => match event {
                    Some(PublishEvent::Published { etag, expires }) => {
                        say(&format!("published {} (etag {etag}, {expires} s)", ua.account()));
                    }
                    Some(PublishEvent::Republished) => say("published again (the server had lost it)"),
                    Some(PublishEvent::Removed) => break Ok(()),
                    Some(PublishEvent::Failed(e)) => break Err(CliError::from(e)),
                    None => break Ok(()),
                },
            }
        };
        publisher.stop().await;
        ua.shutdown().await;
        if outcome.is_ok() {
            eprintln!("removed the publication of {}", ua.account());
        }
        outcome
    })
}

/// Prints presence events until interrupted or until every watch has ended.
async fn print_events(agent: &mut PresenceAgent, mut watches: usize) {
    let interrupted = cli_client::interrupted();
    tokio::pin!(interrupted);
    loop {
        tokio::select! {
            () = &mut interrupted => return,
            event = agent.next_event() => match event {
                Some(PresenceEvent::Presence { who, summary }) => say(&summary.display_line(&who)),
                Some(PresenceEvent::Watchers { lines, pending }) => {
                    for line in lines {
                        say(&line);
                    }
                    for who in pending {
                        say(&format!(
                            "{who} waits for your answer: parley presence authorize {who} \
                             [--block | --polite-block]"
                        ));
                    }
                }
                Some(PresenceEvent::WatchEnded { who, reason }) => {
                    say(&format!("{who} watch ended ({reason})"));
                    watches = watches.saturating_sub(1);
                    if watches == 0 {
                        return;
                    }
                }
                Some(PresenceEvent::Subscribed { watcher }) => say(&format!("{watcher} subscribed")),
                Some(PresenceEvent::Unsubscribed { watcher }) => say(&format!("{watcher} unsubscribed")),
                None => return,
            },
        }
    }
}

fn watch(args: WatchArgs) -> Result<(), CliError> {
    cli_client::init_logging(args.client.log_level())?;
    let settings = args.client.settings()?;
    let targets = args
        .targets
        .iter()
        .map(|t| Aor::parse(t))
        .collect::<Result<Vec<_>, _>>()?;
    cli_client::runtime()?.block_on(async {
        let ua = cli_client::start_agent(&settings).await?;
        let mut agent = PresenceAgent::start(&ua, None);
        for target in &targets {
            if let Err(e) = agent.watch(target.clone()).await {
                agent.stop().await;
                ua.shutdown().await;
                return Err(e.into());
            }
        }
        print_events(&mut agent, targets.len()).await;
        agent.stop().await;
        ua.shutdown().await;
        Ok(())
    })
}

fn watchers(args: WatchersArgs) -> Result<(), CliError> {
    cli_client::init_logging(args.client.log_level())?;
    let settings = args.client.settings()?;
    cli_client::runtime()?.block_on(async {
        let ua = cli_client::start_agent(&settings).await?;
        let mut agent = PresenceAgent::start(&ua, None);
        if let Err(e) = agent.watch_watchers(ua.account().clone()).await {
            agent.stop().await;
            ua.shutdown().await;
            return Err(e.into());
        }
        print_events(&mut agent, 1).await;
        agent.stop().await;
        ua.shutdown().await;
        Ok(())
    })
}

/// The HTTP API base: `--http`, else port 8080 on the host of `--server` (or the account's
/// domain).
fn http_base(explicit: Option<&str>, settings: &cli_client::Settings) -> String {
    if let Some(url) = explicit {
        return url.to_owned();
    }
    let server = settings
        .server
        .clone()
        .unwrap_or_else(|| settings.account.domain().to_owned());
    let host = match server.rsplit_once(':') {
        // A bracketed IPv6 literal keeps its brackets; a bare one has no port.
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) && !h.is_empty() => {
            if h.contains(':') && !h.starts_with('[') {
                server.as_str()
            } else {
                h
            }
        }
        _ => server.as_str(),
    };
    format!("http://{host}:8080")
}

fn authorize(args: AuthorizeArgs) -> Result<(), CliError> {
    use parley_client::presence::decisions::{Decision, WatcherApi};
    cli_client::init_logging(args.client.log_level())?;
    let settings = args.client.settings()?;
    let watcher = Aor::parse(args.watcher.trim_start_matches("sip:"))?;
    let decision = match (args.block, args.polite_block, args.forget) {
        (true, _, _) => Some(Decision::Block),
        (_, true, _) => Some(Decision::PoliteBlock),
        (_, _, true) => None,
        _ => Some(Decision::Allow),
    };
    let base = http_base(args.http.as_deref(), &settings);
    let api = WatcherApi::new(
        &base,
        settings.account.clone(),
        &settings.password,
        settings.timeout,
    )?;
    cli_client::runtime()?.block_on(async {
        let line = api.decide(&watcher.to_string(), decision).await?;
        say(&line);
        Ok(())
    })
}

fn serve_self(args: ServeSelfArgs) -> Result<(), CliError> {
    cli_client::init_logging(args.client.log_level())?;
    let settings = args.client.settings()?;
    let mut state = args.state.state()?;
    cli_client::runtime()?.block_on(async {
        let ua = cli_client::start_agent(&settings).await?;
        let registration = match ua.register(args.expires).await {
            Ok(r) => r,
            Err(e) => {
                ua.shutdown().await;
                return Err(e.into());
            }
        };
        eprintln!("{}", registered_line(&ua, &registration));
        say(&format!("serving the presence of {} at {}", ua.account(), ua.contact()));
        let mut agent = PresenceAgent::start(&ua, Some(state.clone()));
        let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
        let mut stdin_open = true;
        let registered = stay_registered(&ua, &registration, args.expires);
        tokio::pin!(registered);
        loop {
            tokio::select! {
                () = &mut registered => break,
                line = lines.next_line(), if stdin_open => match line {
                    Ok(Some(line)) if line.trim().is_empty() => {}
                    Ok(Some(line)) => match state.apply_line(&line) {
                        Ok(()) => {
                            if let Err(e) = agent.set_state(state.clone()).await {
                                eprintln!("parley: warning: {e}");
                            }
                        }
                        Err(e) => eprintln!("parley: ignored {line:?}: {e}"),
                    },
                    Ok(None) | Err(_) => stdin_open = false,
                },
                event = agent.next_event() => match event {
                    Some(PresenceEvent::Subscribed { watcher }) => say(&format!("{watcher} subscribed")),
                    Some(PresenceEvent::Unsubscribed { watcher }) => say(&format!("{watcher} unsubscribed")),
                    Some(_) => {}
                    None => break,
                },
            }
        }
        agent.stop().await;
        cli_client::leave(&ua).await;
        eprintln!("unregistered {}", ua.account());
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(subcommand)]
        command: PresenceCommand,
    }

    #[test]
    fn publish_flags_build_the_state() {
        let cli = Cli::try_parse_from([
            "presence",
            "publish",
            "--status",
            "closed",
            "--activity",
            "away",
            "--activity",
            "meal",
            "--note",
            "back at two",
            "--mood",
            "happy",
        ])
        .unwrap();
        let PresenceCommand::Publish(args) = cli.command else {
            panic!("expected publish")
        };
        let state = args.state.state().unwrap();
        assert_eq!(state.status, parse_basic("closed").unwrap());
        assert_eq!(state.activities.len(), 2);
        assert_eq!(state.note.as_deref(), Some("back at two"));
        assert_eq!(state.mood.len(), 1);
    }

    #[test]
    fn bad_values_are_usage_errors() {
        let cli = Cli::try_parse_from(["presence", "publish", "--status", "maybe"]).unwrap();
        let PresenceCommand::Publish(args) = cli.command else {
            panic!("expected publish")
        };
        assert!(
            matches!(args.state.state(), Err(CliError::Usage(m)) if m.contains("open or closed"))
        );
        let cli = Cli::try_parse_from([
            "presence",
            "serve-self",
            "--activity",
            "dancing-on-the-moon",
        ])
        .unwrap();
        let PresenceCommand::ServeSelf(args) = cli.command else {
            panic!("expected serve-self")
        };
        assert!(args.state.state().is_err());
    }

    #[test]
    fn watch_needs_a_target() {
        assert!(Cli::try_parse_from(["presence", "watch"]).is_err());
        let cli = Cli::try_parse_from([
            "presence",
            "watch",
            "bob@example.test",
            "carol@example.test",
        ])
        .unwrap();
        let PresenceCommand::Watch(args) = cli.command else {
            panic!("expected watch")
        };
        assert_eq!(args.targets.len(), 2);
    }

    #[test]
    fn the_http_api_defaults_to_port_8080_of_the_server_host() {
        let settings = |server: Option<&str>| cli_client::Settings {
            account: Aor::parse("alice@example.test").unwrap(),
            password: "pw".to_owned(),
            server: server.map(str::to_owned),
            transport: None,
            timeout: std::time::Duration::from_secs(1),
        };
        assert_eq!(http_base(None, &settings(None)), "http://example.test:8080");
        assert_eq!(
            http_base(None, &settings(Some("10.0.0.1:5070"))),
            "http://10.0.0.1:8080"
        );
        assert_eq!(
            http_base(None, &settings(Some("sip.example.test"))),
            "http://sip.example.test:8080"
        );
        assert_eq!(
            http_base(None, &settings(Some("[::1]:5060"))),
            "http://[::1]:8080"
        );
        assert_eq!(
            http_base(Some("http://h:1"), &settings(Some("x:2"))),
            "http://h:1"
        );
    }

    #[test]
    fn one_decision_at_a_time() {
        let cli = Cli::try_parse_from(["presence", "authorize", "bob@example.test"]).unwrap();
        let PresenceCommand::Authorize(args) = cli.command else {
            panic!("expected authorize")
        };
        assert!(!args.block && !args.polite_block && !args.forget);
        assert!(Cli::try_parse_from([
            "presence",
            "authorize",
            "bob@example.test",
            "--block",
            "--polite-block"
        ])
        .is_err());
        assert!(Cli::try_parse_from(["presence", "authorize"]).is_err());
    }
}
