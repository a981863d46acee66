//! Reading a password typed at a terminal without showing it.
//!
//! While the prompt waits, the terminal is in raw mode (no echo). Every way
//! out gives the terminal back: Enter, end of input, Ctrl-C (a byte in raw
//! mode: ends the program with 130), and SIGINT, SIGTERM or SIGHUP sent
//! from outside (the binary's signal watcher calls [`restore_terminal`]
//! before it ends the program with 128 + the signal number).

use crate::exit::EXIT_SIGINT;
use std::io::{IsTerminal, Read, Write};
use std::sync::Mutex;

/// Whether the prompt has the terminal in raw mode now. A mutex rather
/// than a flag, so a signal's restore and the prompt's own never interleave.
static RAW: Mutex<bool> = Mutex::new(false);

/// Gives the terminal back its echo and line editing if the prompt took
/// them, and ends the prompt's line. Safe to call at any time, from any
/// thread, any number of times.
pub fn restore_terminal() {
    let mut raw = RAW.lock().unwrap_or_else(|e| e.into_inner());
    if *raw {
        let _ = crossterm::terminal::disable_raw_mode();
        *raw = false;
        let _ = writeln!(std::io::stderr());
    }
}

fn enter_raw() -> std::io::Result<()> {
    let mut raw = RAW.lock().unwrap_or_else(|e| e.into_inner());
    crossterm::terminal::enable_raw_mode()?;
    *raw = true;
    Ok(())
}

/// The first line of standard input. On a terminal it asks for it and does
/// not echo what is typed; from a pipe it reads one line, not to the end.
pub fn read_password_line(stdin: &mut dyn Read) -> std::io::Result<String> {
    let tty = std::io::stdin().is_terminal();
    if tty {
        let _ = write!(std::io::stderr(), "Password: ");
        enter_raw()?;
    }
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    let result = loop {
        match stdin.read(&mut byte) {
            Ok(0) => break Ok(()),
            Ok(_) => match byte[0] {
                b'\n' | b'\r' => break Ok(()),
                // Ctrl-C in raw mode arrives as a byte: it ends the program
                // as the signal would have.
                3 if tty => {
                    line.fill(0);
                    restore_terminal();
                    std::process::exit(i32::from(EXIT_SIGINT));
                }
                127 | 8 if tty => {
                    line.pop();
                }
                b => line.push(b),
            },
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => break Err(e),
        }
        if line.len() > 64 * 1024 {
            break Err(std::io::Error::other("the password line is too long"));
        }
    };
    if tty {
        restore_terminal();
    }
    result.map(|()| String::from_utf8_lossy(&line).into_owned())
}
