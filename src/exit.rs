//! How the program ends: the exit codes both front ends document, and the
//! error that carries one. Kept apart from the command line so the screen
//! and the command line share them without depending on each other.

/// Nothing wrong was found.
pub const EXIT_OK: u8 = 0;
/// A problem was found (a check failed, or `explain` matched nothing).
pub const EXIT_PROBLEM: u8 = 1;
/// Bad usage or invalid settings.
pub const EXIT_USAGE: u8 = 2;
/// An internal error.
pub const EXIT_INTERNAL: u8 = 3;

/// An error that ends the program with a code and a message.
#[derive(Debug)]
pub struct Exit(pub u8, pub String);
/// Ended by SIGHUP (128 + 1): the terminal went away.
pub const EXIT_SIGHUP: u8 = 129;
/// Ended by Ctrl-C or SIGINT (128 + 2).
pub const EXIT_SIGINT: u8 = 130;
/// Ended by SIGTERM (128 + 15).
pub const EXIT_SIGTERM: u8 = 143;
