//! `parley user add|passwd|remove|list`: the user accounts in the data directory's store.
//!
//! Passwords are never stored: `add` and `passwd` keep the digest `HA1` values, MD5 and
//! SHA-256 (RFC 7616 §3.4.2, RFC 8760), of `user:realm:password` with the user part of the
//! address as user name and its domain as realm — what the server challenges with.

use crate::config::{ConfigError, FileConfig};
use clap::{Args, Subcommand};
use parley_sip::auth::Ha1s;
use parley_store::{Address, AddressError, Ha1Set, SqliteStore, StoreError, User, UserStore};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `parley user …`.
#[derive(Debug, Args)]
pub struct UserArgs {
    #[command(subcommand)]
    command: UserCommand,
    /// Data directory [default: the config file's `data`, else ./parley-data].
    #[arg(long, value_name = "DIR", global = true)]
    data: Option<PathBuf>,
    /// Server configuration file (TOML): only its data directory is used here.
    #[arg(long, value_name = "FILE", global = true)]
    config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Add a user with a password.
    Add {
        /// The user's address, user@domain (the domain is the digest realm).
        address: String,
        #[command(flatten)]
        password: PasswordArg,
    },
    /// Change a user's password.
    Passwd {
        address: String,
        #[command(flatten)]
        password: PasswordArg,
    },
    /// Remove a user, with their registrations and stored messages.
    Remove { address: String },
    /// List the users, one address per line.
    List,
}

#[derive(Debug, Args)]
struct PasswordArg {
    /// The password (or set PARLEY_PASSWORD, which keeps it out of the process list).
    #[arg(long, env = "PARLEY_PASSWORD", hide_env_values = true)]
    password: Option<String>,
}

/// Why a user command failed. Each says what to fix; nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("bad address {text:?}: {source}")]
    Address { text: String, source: AddressError },
    #[error("no password: give --password or set PARLEY_PASSWORD")]
    NoPassword,
    #[error("the password is empty")]
    EmptyPassword,
    #[error("user {0} does not exist")]
    NotFound(String),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("cannot write the list: {0}")]
    Output(std::io::Error),
}

/// Runs a `user` subcommand; the exit code and a one-line error on stderr.
pub fn run(args: UserArgs) -> ExitCode {
    match execute(args, &mut std::io::stdout().lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("parley: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn execute(args: UserArgs, out: &mut impl Write) -> Result<(), UserError> {
    let data = data_dir(args.data, args.config.as_deref())?;
    match args.command {
        UserCommand::Add { address, password } => {
            let address = parse_address(&address)?;
            let ha1 = ha1_set(&address, password)?;
            let store = SqliteStore::open(&data)?;
            store.add_user(&User {
                address: address.clone(),
                ha1,
            })?;
            writeln!(out, "added {address}").map_err(UserError::Output)
        }
        UserCommand::Passwd { address, password } => {
            let address = parse_address(&address)?;
            let ha1 = ha1_set(&address, password)?;
            let store = existing_store(&data, &address)?;
            store.set_ha1(&address, &ha1).map_err(not_found)?;
            writeln!(out, "changed the password of {address}").map_err(UserError::Output)
        }
        UserCommand::Remove { address } => {
            let address = parse_address(&address)?;
            let store = existing_store(&data, &address)?;
            store.remove_user(&address).map_err(not_found)?;
            writeln!(out, "removed {address}").map_err(UserError::Output)
        }
        UserCommand::List => {
            // No database yet: no users, and nothing is created by looking.
            if !data.join(parley_store::sqlite::DATABASE_FILE).exists() {
                return Ok(());
            }
            for user in SqliteStore::open(&data)?.list_users()? {
                writeln!(out, "{}", user.address).map_err(UserError::Output)?;
            }
            Ok(())
        }
    }
}

/// The data directory: `--data`, else the config file's `data`, else the default.
pub fn data_dir(flag: Option<PathBuf>, config: Option<&Path>) -> Result<PathBuf, ConfigError> {
    if let Some(dir) = flag {
        return Ok(dir);
    }
    Ok(match config {
        Some(path) => FileConfig::load(path)?.data,
        None => FileConfig::default().data,
    })
}

fn parse_address(text: &str) -> Result<Address, UserError> {
    Address::parse(text).map_err(|source| UserError::Address {
        text: text.to_owned(),
        source,
    })
}

/// The `HA1`s of `address` for its domain as realm.
fn ha1_set(address: &Address, password: PasswordArg) -> Result<Ha1Set, UserError> {
    let password = password.password.ok_or(UserError::NoPassword)?;
    if password.is_empty() {
        return Err(UserError::EmptyPassword);
    }
    let realm = address.domain();
    let Ha1s { md5, sha256 } = Ha1s::compute(address.user(), realm, &password);
    Ok(Ha1Set {
        realm: realm.to_owned(),
        md5,
        sha256,
    })
}

/// The store, when it exists: changing a user of an empty data directory finds no user.
fn existing_store(data: &Path, address: &Address) -> Result<SqliteStore, UserError> {
    if !data.join(parley_store::sqlite::DATABASE_FILE).exists() {
        return Err(UserError::NotFound(address.to_string()));
    }
    Ok(SqliteStore::open(data)?)
}

fn not_found(e: StoreError) -> UserError {
    match e {
        StoreError::UserNotFound(a) => UserError::NotFound(a.to_string()),
        other => UserError::Store(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        user: UserArgs,
    }

    fn run_in(dir: &Path, args: &[&str]) -> Result<String, UserError> {
        let mut argv = vec!["user"];
        argv.extend_from_slice(args);
        let data = dir.to_str().unwrap();
        argv.extend_from_slice(&["--data", data]);
        let cli = Cli::try_parse_from(argv).unwrap();
        let mut out = Vec::new();
        execute(cli.user, &mut out).map(|()| String::from_utf8(out).unwrap())
    }

    #[test]
    fn stores_the_ha1s_of_user_part_and_domain() {
        let dir = tempfile::tempdir().unwrap();
        run_in(
            dir.path(),
            &["add", "alice@Example.TEST", "--password", "secret"],
        )
        .unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let user = store
            .user(&Address::parse("alice@example.test").unwrap())
            .unwrap()
            .unwrap();
        let expected = Ha1s::compute("alice", "example.test", "secret");
        assert_eq!(user.ha1.realm, "example.test");
        assert_eq!(user.ha1.md5, expected.md5);
        assert_eq!(user.ha1.sha256, expected.sha256);
    }

    #[test]
    fn refusals_change_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let err = run_in(dir.path(), &["add", "nobody", "--password", "x"]).unwrap_err();
        assert!(matches!(err, UserError::Address { .. }));
        let err = run_in(dir.path(), &["add", "a@example.test", "--password", ""]).unwrap_err();
        assert!(matches!(err, UserError::EmptyPassword));
        assert!(!dir
            .path()
            .join(parley_store::sqlite::DATABASE_FILE)
            .exists());
        let err = run_in(dir.path(), &["remove", "a@example.test"]).unwrap_err();
        assert!(matches!(err, UserError::NotFound(_)));
        assert_eq!(run_in(dir.path(), &["list"]).unwrap(), "");
    }

    #[test]
    fn the_data_dir_comes_from_flag_then_config_then_default() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("parley.toml");
        std::fs::write(&config, "data = \"/srv/parley\"\n").unwrap();
        assert_eq!(
            data_dir(None, Some(&config)).unwrap(),
            PathBuf::from("/srv/parley")
        );
        assert_eq!(
            data_dir(Some("d".into()), Some(&config)).unwrap(),
            PathBuf::from("d")
        );
        assert_eq!(data_dir(None, None).unwrap(), FileConfig::default().data);
        std::fs::write(&config, "dat = 1\n").unwrap();
        assert!(data_dir(None, Some(&config)).is_err());
    }
}
