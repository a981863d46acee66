//! Reading a password typed at a terminal without showing it.

use std::io::{IsTerminal, Read};

/// The first line of standard input. On a terminal it asks for it and does
/// not echo what is typed; from a pipe it reads one line, not to the end.
pub fn read_password_line(stdin: &mut dyn Read) -> std::io::Result<String> {
    let tty = std::io::stdin().is_terminal();
    if tty {
        eprint!("Password: ");
        crossterm::terminal::enable_raw_mode()?;
    }
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    let result = loop {
        match stdin.read(&mut byte) {
            Ok(0) => break Ok(()),
            Ok(_) => match byte[0] {
                b'\n' | b'\r' => break Ok(()),
                // Ctrl-C in raw mode arrives as a byte.
                3 if tty => break Err(std::io::Error::other("cancelled")),
                127 | 8 if tty => {
                    line.pop();
                }
                b => line.push(b),
            },
            Err(e) => break Err(e),
        }
        if line.len() > 64 * 1024 {
            break Err(std::io::Error::other("the password line is too long"));
        }
    };
    if tty {
        let _ = crossterm::terminal::disable_raw_mode();
        eprintln!();
    }
    result.map(|()| String::from_utf8_lossy(&line).into_owned())
}
