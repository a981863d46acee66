//! Reading files the user names (a CA bundle, a profile, a log) without
//! letting an odd one hang or flood the program: only regular files are
//! read, the open never waits (a FIFO), the type checked is that of the
//! file actually opened, and reads are bounded.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::path::Path;

/// Why a file was not opened.
#[derive(Debug)]
pub enum OpenError {
    /// The path names a FIFO, socket, device or directory (said in words).
    NotAFile(&'static str),
    Io(io::Error),
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenError::NotAFile(what) => write!(f, "it is {what}, not a regular file"),
            OpenError::Io(e) => write!(f, "{e}"),
        }
    }
}

/// What a file that is not a regular file is, in words.
pub fn kind_of(ft: fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if ft.is_socket() {
            return "a socket";
        }
        if ft.is_block_device() || ft.is_char_device() {
            return "a device";
        }
    }
    if ft.is_dir() {
        "a directory"
    } else if ft.is_symlink() {
        "a symbolic link"
    } else {
        "not a regular file"
    }
}

/// Opens a file for reading only if it is a regular file: the open never
/// waits (a FIFO), and the type is that of the opened file.
pub fn open_regular(path: &Path) -> Result<File, OpenError> {
    let not_a_file = |ft: fs::FileType| OpenError::NotAFile(kind_of(ft));
    let mut opts = OpenOptions::new();
    opts.read(true);
    // O_NONBLOCK: opening a FIFO does not wait for a writer. Elsewhere the
    // type is checked before the open as well.
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NONBLOCK);
    }
    #[cfg(not(unix))]
    {
        let meta = fs::metadata(path).map_err(OpenError::Io)?;
        if !meta.is_file() {
            return Err(not_a_file(meta.file_type()));
        }
    }
    let file = opts.open(path).map_err(|e| {
        // A socket cannot be opened at all: say what it is.
        match fs::metadata(path) {
            Ok(m) if !m.is_file() => not_a_file(m.file_type()),
            _ => OpenError::Io(e),
        }
    })?;
    let meta = file.metadata().map_err(OpenError::Io)?;
    if !meta.is_file() {
        return Err(not_a_file(meta.file_type()));
    }
    Ok(file)
}

/// The whole of a regular file of at most `max` bytes.
pub fn read_regular(path: &Path, max: u64) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    open_regular(path)
        .map_err(|e| e.to_string())?
        .take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > max {
        return Err(format!("it is larger than {} MiB", max / (1024 * 1024)));
    }
    Ok(bytes)
}
