//! The server secret that signs digest nonces, kept in the data directory.
//!
//! Nonces are stateless (an HMAC over issue time and realm), so whoever holds the secret can
//! verify them. Keeping it in a file means a restart does not invalidate the nonces clients
//! hold (they would all be challenged again at once), and nodes of a cluster sharing a data
//! directory or a copy of the file accept each other's nonces. The file is created with
//! owner-only permissions on first start; delete it to rotate the secret.

use rand::RngCore;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The file name inside the data directory.
pub const SECRET_FILE: &str = "nonce-secret";
/// Random bytes in a new secret.
const SECRET_LEN: usize = 32;

/// Why the secret could not be read or created.
#[derive(Debug, thiserror::Error)]
#[error("nonce secret {path}: {source}")]
pub struct SecretError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

/// Reads the secret from `data_dir`, creating it (random) if there is none. A file that is
/// not hex, or too short, is an error rather than silently replaced: it may have been placed
/// there on purpose.
pub fn load_or_create(data_dir: &Path) -> Result<Vec<u8>, SecretError> {
    let path = data_dir.join(SECRET_FILE);
    let error = |source| SecretError {
        path: path.clone(),
        source,
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => decode(text.trim()).ok_or_else(|| {
            error(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "expected at least 32 hex digits",
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut secret = vec![0u8; SECRET_LEN];
            rand::rngs::OsRng.fill_bytes(&mut secret);
            write_private(&path, &encode(&secret)).map_err(error)?;
            Ok(secret)
        }
        Err(e) => Err(error(e)),
    }
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

fn encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn decode(text: &str) -> Option<Vec<u8>> {
    if text.len() < 32 || !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_then_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create(dir.path()).unwrap();
        assert_eq!(first.len(), SECRET_LEN);
        assert_eq!(load_or_create(dir.path()).unwrap(), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(SECRET_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0);
        }
    }

    #[test]
    fn a_bad_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(SECRET_FILE), "not hex").unwrap();
        assert!(load_or_create(dir.path()).is_err());
    }
}
