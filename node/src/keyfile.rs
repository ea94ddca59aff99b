//! Key files: created with mode 0600, refused when others can read them, never logged.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use anyhow::{bail, Context, Result};
use zeroize::Zeroizing;

/// Writes a new secret file with mode 0600. Refuses to overwrite an existing one.
pub fn write_secret(path: &Path, contents: &str) -> Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| {
            format!(
                "creating key file {} (it must not exist yet)",
                path.display()
            )
        })?;
    file.write_all(contents.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    Ok(())
}

/// Writes a private file (mode 0600), replacing an older one: for data the owner may fetch again,
/// such as receipts.
pub fn write_private(path: &Path, contents: &[u8]) -> Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    // An existing file keeps its mode on open; set it.
    file.set_permissions(fs::Permissions::from_mode(0o600))?;
    file.write_all(contents)?;
    file.sync_all()?;
    Ok(())
}

/// Reads a secret file, refusing it if its mode lets anyone but the owner read it.
pub fn read_secret(path: &Path) -> Result<Zeroizing<String>> {
    let meta =
        fs::metadata(path).with_context(|| format!("reading key file {}", path.display()))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        bail!(
            "key file {} has mode {mode:o}; it must be 0600 (run: chmod 600 {})",
            path.display(),
            path.display()
        );
    }
    let text = Zeroizing::new(
        fs::read_to_string(path).with_context(|| format!("reading key file {}", path.display()))?,
    );
    Ok(Zeroizing::new(text.trim().to_string()))
}

/// A fresh 32-byte secret as hex.
pub fn random_hex32() -> Zeroizing<String> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, bytes.as_mut());
    Zeroizing::new(hex::encode(bytes.as_ref()))
}

/// Decodes a 32-byte hex seed.
pub fn seed_from_hex(text: &str) -> Result<Zeroizing<[u8; 32]>> {
    let mut seed = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(text, seed.as_mut()).context("a seed key file holds 64 hex characters")?;
    Ok(seed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_0600_and_loose_modes_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        write_secret(&path, "abc").unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(read_secret(&path).unwrap().as_str(), "abc");
        assert!(
            write_secret(&path, "again").is_err(),
            "never overwrites a key"
        );
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(read_secret(&path).unwrap_err().to_string().contains("0600"));
    }
}
