//! Saved profiles: one JSON file per profile in the configuration directory.
//!
//! A profile is the [`Settings`] of one check under a name the user chose.
//! The store is deliberately boring, because users lose trust in a tool that
//! loses their settings:
//!
//! - **One file per profile**, `<config>/profiles/<name>.json`, with a
//!   `"schema"` version. The config dir comes from `directories` (XDG on
//!   Linux: `~/.config/smtp-doctor`), or from `SMTP_DOCTOR_CONFIG_DIR`.
//! - **Atomic writes**: a temporary file in the same directory, fsync,
//!   rename over the target, fsync of the directory. A crash leaves either
//!   the old file or the new one, never half of each. Files are 0600 and the
//!   directory 0700.
//! - **No password** on disk unless the user opts in; then it is kept in
//!   plain text in that 0600 file, and the TUI says so before saving.
//! - **A damaged file is reported, never overwritten**: the error names the
//!   file, the line and the column, and saving over it is refused.
//! - **A name is never a path**: names with separators, a leading dot or
//!   control characters are refused before any file is touched.
//! - **Only regular files are read**: a FIFO, socket, device or directory
//!   named `*.json` is opened without blocking, recognised from the opened
//!   file's own metadata (no window between a check and the open), and
//!   reported as damaged; reads are bounded.
//! - **One save at a time**: saves of one profile take an exclusive lock on
//!   `.<name>.lock` in the directory, so two processes saving the same
//!   profile queue up instead of racing.
//! - **No stale copies of a password**: the temporary file of a save that
//!   crashed (`.<name>.json.<pid>.<n>.tmp`) is removed by the next listing,
//!   save or delete once its process is gone or it is over a minute old.

use crate::settings::{Incoming, Password, Security, Settings};
use serde::{Deserialize, Serialize};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

/// The version of the profile file format this build writes and reads.
pub const SCHEMA: u32 = 1;

/// Environment variable that overrides the configuration directory.
pub const CONFIG_DIR_ENV: &str = "SMTP_DOCTOR_CONFIG_DIR";

/// Profile files larger than this are not read (a profile is a few hundred bytes).
const MAX_FILE: u64 = 256 * 1024;

/// A temporary file older than this is left over from a save, whatever its
/// process id says (ids are reused).
const STALE_TMP: Duration = Duration::from_secs(60);

/// How long a save waits for another process's save of the same profile.
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// A saved profile: a name and the settings of one check.
#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    pub name: String,
    /// The settings; `settings.password` is empty unless it was saved.
    pub settings: Settings,
    /// Whether the password is (to be) kept in the file.
    pub save_password: bool,
}

/// The file format, schema 1. Kept apart from [`Settings`] so that a change
/// of the engine's struct never silently changes what is on disk.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Disk {
    schema: u32,
    account: String,
    server: String,
    port: u16,
    security: Security,
    auth: bool,
    #[serde(default)]
    login: String,
    #[serde(default)]
    allow_plaintext_auth: bool,
    #[serde(default)]
    sender: String,
    #[serde(default)]
    recipient: String,
    #[serde(default)]
    helo: String,
    #[serde(default = "default_timeout")]
    timeout_secs: u64,
    #[serde(default)]
    dns: Option<String>,
    #[serde(default)]
    ca_file: Option<PathBuf>,
    #[serde(default)]
    public_ip: Option<IpAddr>,
    #[serde(default)]
    internal_network: bool,
    #[serde(default)]
    dnsbl: bool,
    #[serde(default)]
    incoming: Option<Incoming>,
    /// Only present when the user chose to save it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    password: Option<String>,
}

fn default_timeout() -> u64 {
    Settings::default().timeout_secs
}

impl Disk {
    fn from_profile(p: &Profile) -> Disk {
        let s = &p.settings;
        Disk {
            schema: SCHEMA,
            account: s.account.clone(),
            server: s.server.clone(),
            port: s.port,
            security: s.security,
            auth: s.auth,
            login: s.login.clone(),
            allow_plaintext_auth: false,
            sender: s.sender.clone(),
            recipient: s.recipient.clone(),
            helo: s.helo.clone(),
            timeout_secs: s.timeout_secs,
            dns: s.dns.clone(),
            ca_file: s.ca_file.clone(),
            public_ip: s.public_ip,
            internal_network: s.internal_network,
            dnsbl: s.dnsbl,
            incoming: s.incoming.clone(),
            password: (p.save_password && !s.password.is_empty())
                .then(|| s.password.expose().to_string()),
        }
    }

    fn into_profile(self, name: &str) -> Profile {
        let save_password = self.password.is_some();
        Profile {
            name: name.to_string(),
            settings: Settings {
                account: self.account,
                login: self.login,
                password: Password::new(self.password.unwrap_or_default()),
                server: self.server,
                port: self.port,
                security: self.security,
                auth: self.auth,
                // Consent to a clear-text login is per run: an old profile that
                // saved it does not give it.
                allow_plaintext_auth: false,
                sender: self.sender,
                recipient: self.recipient,
                helo: self.helo,
                timeout_secs: self.timeout_secs,
                dns: self.dns,
                ca_file: self.ca_file,
                public_ip: self.public_ip,
                internal_network: self.internal_network,
                dnsbl: self.dnsbl,
                incoming: self.incoming,
                // Per-run choices (a real test message, the echo DNS of the
                // test bed) are not kept in a profile.
                ..Settings::default()
            },
            save_password,
        }
    }
}

/// Why a profile could not be read, written or found.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("{0}")]
    BadName(String),
    #[error("There is no profile named \"{name}\" in {}", dir.display())]
    NotFound { name: String, dir: PathBuf },
    #[error("A profile named \"{0}\" already exists; choose another name")]
    Exists(String),
    #[error(
        "The profile file {} is damaged at line {line}, column {column}: {message}. It was left as it is: fix it in an editor or delete it.",
        path.display()
    )]
    Corrupt {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "The profile file {} was written by a newer smtp-doctor (schema {found}); this version reads schema {SCHEMA}. It was left as it is.",
        path.display()
    )]
    NewerSchema { path: PathBuf, found: u64 },
    #[error(
        "{} is {what}, not a profile file. It was left as it is: move it out of the profile folder or delete it.",
        path.display()
    )]
    NotAFile { path: PathBuf, what: &'static str },
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error(
        "Cannot find a configuration directory (no home directory?). Set {CONFIG_DIR_ENV} to a directory for smtp-doctor's profiles."
    )]
    NoConfigDir,
}

impl ProfileError {
    fn io(path: &Path, source: io::Error) -> ProfileError {
        ProfileError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// Whether the file exists but cannot be used as it is.
    pub fn is_damaged(&self) -> bool {
        matches!(
            self,
            ProfileError::Corrupt { .. }
                | ProfileError::NewerSchema { .. }
                | ProfileError::NotAFile { .. }
        )
    }
}

/// Checks a profile name. A name becomes `<name>.json` in the profile
/// directory, so it must never be able to point anywhere else.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("Enter a name for the profile, for example \"office\".".into());
    }
    if name.trim() != name {
        return Err("A profile name cannot start or end with a space.".into());
    }
    if name.starts_with('.') {
        return Err("A profile name cannot start with a dot.".into());
    }
    if name.chars().count() > 64 {
        return Err("Keep the profile name to 64 characters or fewer.".into());
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_alphanumeric() || " ._-@+()".contains(*c)))
    {
        return Err(format!(
            "A profile name can hold letters, digits, spaces and . _ - @ + ( ) only, not \"{}\".",
            c.escape_default()
        ));
    }
    Ok(())
}

/// A profile as listed: either readable, or the reason it is not.
#[derive(Debug)]
pub struct Entry {
    pub name: String,
    pub path: PathBuf,
    pub profile: Result<Profile, ProfileError>,
}

/// The profile directory.
#[derive(Clone, Debug)]
pub struct Store {
    dir: PathBuf,
}

static TMP_COUNTER: AtomicU32 = AtomicU32::new(0);

impl Store {
    /// The store in `dir` (the directory that holds the `.json` files).
    pub fn at(dir: impl Into<PathBuf>) -> Store {
        Store { dir: dir.into() }
    }

    /// The user's store: `$SMTP_DOCTOR_CONFIG_DIR/profiles` when set,
    /// otherwise `profiles` in the platform's config dir for smtp-doctor.
    pub fn open_default() -> Result<Store, ProfileError> {
        let base = match std::env::var_os(CONFIG_DIR_ENV).filter(|v| !v.is_empty()) {
            Some(dir) => PathBuf::from(dir),
            None => directories::ProjectDirs::from("", "", "smtp-doctor")
                .ok_or(ProfileError::NoConfigDir)?
                .config_dir()
                .to_path_buf(),
        };
        Ok(Store::at(base.join("profiles")))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file a profile of this name lives in (the name must be valid).
    pub fn path_of(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.json"))
    }

    fn checked_path(&self, name: &str) -> Result<PathBuf, ProfileError> {
        check_name(name).map_err(ProfileError::BadName)?;
        Ok(self.path_of(name))
    }

    /// Every profile file, sorted by name; damaged ones with their error.
    /// A missing directory is an empty list.
    pub fn list(&self) -> Result<Vec<Entry>, ProfileError> {
        let rd = match fs::read_dir(&self.dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(ProfileError::io(&self.dir, e)),
        };
        let mut out = Vec::new();
        for ent in rd {
            let ent = ent.map_err(|e| ProfileError::io(&self.dir, e))?;
            let file_name = ent.file_name();
            let Some(file_name) = file_name.to_str() else {
                continue;
            };
            if tmp_owner(file_name).is_some() {
                remove_if_stale(&ent.path(), file_name);
                continue;
            }
            let Some(name) = file_name.strip_suffix(".json") else {
                continue;
            };
            if name.starts_with('.') {
                continue;
            }
            let path = ent.path();
            let profile = match check_name(name) {
                Ok(()) => read(&path, name),
                Err(e) => Err(ProfileError::BadName(format!(
                    "{}: not usable as a profile name: {e}",
                    path.display()
                ))),
            };
            out.push(Entry {
                name: name.to_string(),
                path,
                profile,
            });
        }
        out.sort_by_key(|e| e.name.to_lowercase());
        Ok(out)
    }

    /// Whether something (a profile, or anything else) has this name.
    pub fn exists(&self, name: &str) -> bool {
        check_name(name).is_ok() && fs::symlink_metadata(self.path_of(name)).is_ok()
    }

    pub fn load(&self, name: &str) -> Result<Profile, ProfileError> {
        let path = self.checked_path(name)?;
        if fs::symlink_metadata(&path).is_err() {
            return Err(ProfileError::NotFound {
                name: name.to_string(),
                dir: self.dir.clone(),
            });
        }
        read(&path, name)
    }

    /// Saves a profile atomically. An existing file of that name is replaced
    /// only with `overwrite`, and never when it is damaged.
    /// Two processes saving one profile take turns (a lock on
    /// `.<name>.lock`).
    pub fn save(&self, profile: &Profile, overwrite: bool) -> Result<PathBuf, ProfileError> {
        let path = self.checked_path(&profile.name)?;
        self.ensure_dir()?;
        let _lock = self.lock(&profile.name)?;
        self.remove_stale_tmps(&profile.name);
        if fs::symlink_metadata(&path).is_ok() {
            if !overwrite {
                return Err(ProfileError::Exists(profile.name.clone()));
            }
            if let Err(e) = read(&path, &profile.name)
                && (e.is_damaged() || matches!(e, ProfileError::Io { .. }))
            {
                return Err(e);
            }
        }
        let mut text = serde_json::to_string_pretty(&Disk::from_profile(profile))
            .map_err(|e| ProfileError::io(&path, io::Error::other(e)))?;
        text.push('\n');
        write_atomic(&self.dir, &path, text.as_bytes())?;
        Ok(path)
    }

    /// Deletes a profile file, damaged or not, and what crashed saves of
    /// it left behind.
    pub fn delete(&self, name: &str) -> Result<PathBuf, ProfileError> {
        let path = self.checked_path(name)?;
        self.remove_stale_tmps(name);
        match fs::remove_file(&path) {
            Ok(()) => {
                sync_dir(&self.dir)?;
                Ok(path)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(ProfileError::NotFound {
                name: name.to_string(),
                dir: self.dir.clone(),
            }),
            Err(e) => Err(ProfileError::io(&path, e)),
        }
    }

    /// Renames a profile without ever replacing another one: a hard link
    /// to the new name (which fails if it exists), then the old name goes.
    pub fn rename(&self, old: &str, new: &str) -> Result<PathBuf, ProfileError> {
        let from = self.checked_path(old)?;
        let to = self.checked_path(new)?;
        self.load(old)?;
        if old == new {
            return Ok(to);
        }
        match fs::hard_link(&from, &to) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(ProfileError::Exists(new.to_string()));
            }
            Err(e) => return Err(ProfileError::io(&to, e)),
        }
        fs::remove_file(&from).map_err(|e| ProfileError::io(&from, e))?;
        sync_dir(&self.dir)?;
        Ok(to)
    }

    /// Copies a profile under a new name.
    pub fn duplicate(&self, name: &str, new: &str) -> Result<PathBuf, ProfileError> {
        let mut p = self.load(name)?;
        p.name = new.to_string();
        self.save(&p, false)
    }

    /// A name not taken yet: `base`, else `base 2`, `base 3`…
    pub fn free_name(&self, base: &str) -> String {
        if !self.exists(base) {
            return base.to_string();
        }
        (2..)
            .map(|n| format!("{base} {n}"))
            .find(|n| !self.exists(n))
            .unwrap_or_else(|| base.to_string())
    }

    /// Takes the save lock of one profile, waiting up to [`LOCK_WAIT`] for
    /// another process. The lock file is removed again when the lock is
    /// released; a process that locked a file someone removed meanwhile
    /// sees that (the path no longer names the file it holds) and tries
    /// again, so two processes never both hold "the" lock.
    fn lock(&self, name: &str) -> Result<SaveLock, ProfileError> {
        let path = self.dir.join(format!(".{name}.lock"));
        let start = std::time::Instant::now();
        loop {
            let mut opts = OpenOptions::new();
            opts.read(true).write(true).create(true).truncate(false);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            let file = opts.open(&path).map_err(|e| ProfileError::io(&path, e))?;
            match file.try_lock() {
                Ok(()) => {
                    if same_file(&file, &path) {
                        return Ok(SaveLock { path, file });
                    }
                    continue;
                }
                Err(fs::TryLockError::WouldBlock) if start.elapsed() < LOCK_WAIT => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(fs::TryLockError::WouldBlock) => {
                    return Err(ProfileError::io(
                        &path,
                        io::Error::other(format!(
                            "another smtp-doctor has been saving profile \"{name}\" for {} s; try again",
                            LOCK_WAIT.as_secs()
                        )),
                    ));
                }
                Err(fs::TryLockError::Error(e)) => return Err(ProfileError::io(&path, e)),
            }
        }
    }

    /// Removes the temporary files crashed saves of `name` left behind.
    fn remove_stale_tmps(&self, name: &str) {
        let Ok(rd) = fs::read_dir(&self.dir) else {
            return;
        };
        for ent in rd.flatten() {
            let file_name = ent.file_name();
            if let Some(file_name) = file_name.to_str()
                && tmp_owner(file_name).is_some_and(|(n, _)| n == name)
            {
                remove_if_stale(&ent.path(), file_name);
            }
        }
    }

    fn ensure_dir(&self) -> Result<(), ProfileError> {
        if self.dir.is_dir() {
            return Ok(());
        }
        fs::create_dir_all(&self.dir).map_err(|e| ProfileError::io(&self.dir, e))?;
        set_mode(&self.dir, 0o700).map_err(|e| ProfileError::io(&self.dir, e))
    }
}

/// A held save lock; dropping it removes the lock file, then unlocks.
struct SaveLock {
    path: PathBuf,
    file: File,
}

impl Drop for SaveLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
        let _ = self.file.unlock();
    }
}

/// Whether `path` still names the open `file`.
fn same_file(file: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), fs::symlink_metadata(path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (file, path);
        true
    }
}

/// The profile name and process id in the name of a save's temporary
/// file, `.<name>.json.<pid>.<n>.tmp`; `None` for any other name.
fn tmp_owner(file_name: &str) -> Option<(&str, u32)> {
    let rest = file_name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let (rest, n) = rest.rsplit_once('.')?;
    let (rest, pid) = rest.rsplit_once('.')?;
    let name = rest.strip_suffix(".json")?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let pid = pid.parse().ok()?;
    check_name(name).ok()?;
    Some((name, pid))
}

/// Removes a save's temporary file (it may hold a password) when the
/// process that wrote it is gone or it is older than [`STALE_TMP`]. Only
/// regular files are touched, never what a symbolic link points to.
fn remove_if_stale(path: &Path, file_name: &str) {
    let Some((_, pid)) = tmp_owner(file_name) else {
        return;
    };
    let Ok(meta) = fs::symlink_metadata(path) else {
        return;
    };
    if !meta.file_type().is_file() {
        return;
    }
    let old = meta
        .modified()
        .ok()
        .and_then(|m| SystemTime::now().duration_since(m).ok())
        .is_some_and(|age| age > STALE_TMP);
    if old || !process_alive(pid) {
        let _ = fs::remove_file(path);
    }
}

/// Whether a process with this id runs. Where that cannot be told, it is
/// taken as running (the age rule still removes the file).
fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    if cfg!(target_os = "linux") {
        Path::new("/proc").join(pid.to_string()).exists()
    } else {
        true
    }
}

/// Opens a profile file for reading only if it is a regular file.
fn open_regular(path: &Path) -> Result<File, ProfileError> {
    crate::fsread::open_regular(path).map_err(|e| match e {
        crate::fsread::OpenError::NotAFile(what) => ProfileError::NotAFile {
            path: path.to_path_buf(),
            what,
        },
        crate::fsread::OpenError::Io(e) => ProfileError::io(path, e),
    })
}

/// Reads and parses one profile file.
fn read(path: &Path, name: &str) -> Result<Profile, ProfileError> {
    let mut bytes = Vec::new();
    open_regular(path)?
        .take(MAX_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| ProfileError::io(path, e))?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(ProfileError::Corrupt {
            path: path.to_path_buf(),
            line: 1,
            column: 1,
            message: format!("the file is larger than {} KiB", MAX_FILE / 1024),
        });
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = good.iter().filter(|&&b| b == b'\n').count() + 1;
        let column = good.len() - good.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1) + 1;
        ProfileError::Corrupt {
            path: path.to_path_buf(),
            line,
            column,
            message: "the file is not UTF-8 text".into(),
        }
    })?;
    parse(&text, path, name)
}

/// Parses a profile file's text; errors carry the file and position.
pub fn parse(text: &str, path: &Path, name: &str) -> Result<Profile, ProfileError> {
    let corrupt = |e: serde_json::Error| {
        let full = e.to_string();
        let message = match full.rfind(" at line ") {
            Some(i) => full[..i].to_string(),
            None => full,
        };
        ProfileError::Corrupt {
            path: path.to_path_buf(),
            line: e.line(),
            column: e.column(),
            message,
        }
    };
    // The schema first, so a newer file is named as such rather than as damaged.
    let value: serde_json::Value = serde_json::from_str(text).map_err(corrupt)?;
    match value.get("schema").and_then(serde_json::Value::as_u64) {
        Some(n) if n > u64::from(SCHEMA) => {
            return Err(ProfileError::NewerSchema {
                path: path.to_path_buf(),
                found: n,
            });
        }
        _ => {}
    }
    let disk: Disk = serde_json::from_str(text).map_err(corrupt)?;
    if disk.schema != SCHEMA {
        return Err(ProfileError::Corrupt {
            path: path.to_path_buf(),
            line: 1,
            column: 1,
            message: format!("unknown schema {} (expected {SCHEMA})", disk.schema),
        });
    }
    Ok(disk.into_profile(name))
}

/// Writes `bytes` to `target` through a temporary file in `dir`.
fn write_atomic(dir: &Path, target: &Path, bytes: &[u8]) -> Result<(), ProfileError> {
    let base = target
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("profile");
    let tmp = dir.join(format!(
        ".{base}.{}.{}.tmp",
        std::process::id(),
        TMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| -> io::Result<()> {
        let mut opts = OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp)?;
        set_mode(&tmp, 0o600)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, target)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(ProfileError::io(target, e));
    }
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> Result<(), ProfileError> {
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| ProfileError::io(dir, e))?;
    Ok(())
}

fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
        Ok(())
    }
}
