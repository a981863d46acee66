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
