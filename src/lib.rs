//! smtp-doctor: finds out why mail cannot be sent, and says what to change.
//!
//! The engine is a library; the TUI and the CLI are two consumers of one
//! event stream and one diagnosis.

#![forbid(unsafe_code)]

pub mod catalog;
pub mod cause;
pub mod classify;
pub mod cli;
pub mod clientconf;
pub mod demo;
pub mod diagnose;
pub mod dnsmsg;
pub mod exit;
pub mod explain;
pub mod fsread;
pub mod logscan;
pub mod printable;
pub mod probe;
pub mod profile;
pub mod reply;
pub mod report;
pub mod settings;
pub mod spf;
pub mod tui;
