//! `smtp-doctor completions SHELL` and `smtp-doctor man`: the shell
//! completions and manual pages the Debian package installs, generated from
//! the same clap definitions, for people who build from source.

use super::{Cli, EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, Exit};
use clap::{Args, CommandFactory};
use clap_complete::Shell;
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Args, Debug)]
pub struct ManArgs {
    /// Print the page of this command (e.g. check) instead of the main page.
    pub command: Option<String>,
    /// Write every page (smtp-doctor.1, smtp-doctor-check.1, …) into this
    /// directory instead of printing one.
    #[arg(long, value_name = "DIR", conflicts_with = "command")]
    pub out_dir: Option<PathBuf>,
}

const BIN: &str = "smtp-doctor";

/// The completion script for one shell.
pub fn completion_script(shell: Shell) -> Vec<u8> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, BIN, &mut out);
    if shell == Shell::Bash {
        out = fix_bash_states(&String::from_utf8_lossy(&out)).into_bytes();
    }
    out
}

/// clap_complete's bash script names the state "inside a subcommand" one
/// way where it walks the words (`smtp__doctor__subcmd__check`) and another
/// in the branches that offer the options (`smtp__subcmd__doctor__subcmd__check`)
/// when the program's name has a hyphen, so no option of any subcommand
/// would ever complete (clap-rs/clap issue 6421, open for clap_complete
/// 4.6). The branches are renamed to the spelling the walk produces.
fn fix_bash_states(script: &str) -> String {
    let sep = "__subcmd__";
    let wrong = format!("{}{sep}", BIN.replace('-', sep));
    let right = format!("{}{sep}", BIN.replace('-', "__"));
    script.replace(&wrong, &right)
}

pub fn completions(args: CompletionsArgs) -> Result<u8, Exit> {
    super::emit(&String::from_utf8_lossy(&completion_script(args.shell)));
    Ok(EXIT_OK)
}

/// The clap command as the pages describe it: built, so that subcommands
/// know their full names (`smtp-doctor-check`), and without the `help`
/// subcommand, which has no page of its own.
fn command() -> clap::Command {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

fn page(cmd: clap::Command) -> clap_mangen::Man {
    let source = format!("smtp-doctor {}", env!("CARGO_PKG_VERSION"));
    clap_mangen::Man::new(cmd)
        .manual("User Commands")
        .source(source)
}

/// Every page as (file name, roff text): the main page first, then one per
/// subcommand.
pub fn man_pages() -> Result<Vec<(String, Vec<u8>)>, std::io::Error> {
    let cmd = command();
    let mut pages = Vec::new();
    let mut render = |man: clap_mangen::Man| -> Result<(), std::io::Error> {
        let mut text = Vec::new();
        man.render(&mut text)?;
        pages.push((man.get_filename(), text));
        Ok(())
    };
    render(page(cmd.clone()))?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        render(page(sub.clone()))?;
    }
    Ok(pages)
}

pub fn man(args: ManArgs) -> Result<u8, Exit> {
    let internal =
        |e: std::io::Error| Exit(EXIT_INTERNAL, format!("cannot render the manual: {e}"));
    let pages = man_pages().map_err(internal)?;
    if let Some(dir) = &args.out_dir {
        return write_pages(dir, &pages).map(|()| EXIT_OK);
    }
    let wanted = match &args.command {
        None => BIN.to_string(),
        Some(sub) => format!("{BIN}-{sub}"),
    };
    match pages
        .iter()
        .find(|(name, _)| name.strip_suffix(".1") == Some(wanted.as_str()))
    {
        Some((_, text)) => {
            super::emit(&String::from_utf8_lossy(text));
            Ok(EXIT_OK)
        }
        None => {
            let cmd = command();
            let known: Vec<&str> = cmd.get_subcommands().map(|s| s.get_name()).collect();
            // Debug formatting escapes whatever the argument holds.
            Err(Exit(
                EXIT_USAGE,
                format!(
                    "There is no manual page for {:?}; commands: {}",
                    args.command.unwrap_or_default(),
                    known.join(", ")
                ),
            ))
        }
    }
}

fn write_pages(dir: &Path, pages: &[(String, Vec<u8>)]) -> Result<(), Exit> {
    for (name, text) in pages {
        let path = dir.join(name);
        std::fs::write(&path, text)
            .map_err(|e| Exit(EXIT_USAGE, format!("Cannot write {}: {e}", path.display())))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shell_gets_a_script_naming_the_commands() {
        for shell in [
            Shell::Bash,
            Shell::Zsh,
            Shell::Fish,
            Shell::Elvish,
            Shell::PowerShell,
        ] {
            let text = String::from_utf8(completion_script(shell)).unwrap();
            for word in [
                "check",
                "explain",
                "profiles",
                "completions",
                "password-env",
            ] {
                assert!(text.contains(word), "{shell:?} lacks {word}");
            }
        }
    }

    /// Every state the bash script's word walk can reach (`cmd="…"`) has a
    /// branch (`…)`), so the options of every subcommand complete.
    #[test]
    fn bash_script_has_a_branch_for_every_state_it_reaches() {
        let text = String::from_utf8(completion_script(Shell::Bash)).unwrap();
        let states: Vec<&str> = text
            .lines()
            .filter_map(|l| l.trim().strip_prefix("cmd=\""))
            .filter_map(|l| l.strip_suffix('"'))
            .filter(|s| !s.is_empty())
            .collect();
        assert!(
            states.contains(&"smtp__doctor__subcmd__check"),
            "{states:?}"
        );
        for state in states {
            let branch = format!("\n        {state})\n");
            assert!(text.contains(&branch), "no branch for {state}");
        }
    }

    #[test]
    fn pages_for_the_program_and_each_command() {
        let pages = man_pages().unwrap();
        let names: Vec<&str> = pages.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names[0], "smtp-doctor.1");
        assert!(names.contains(&"smtp-doctor-check.1"), "{names:?}");
        assert!(!names.contains(&"smtp-doctor-help.1"), "{names:?}");
        let check = String::from_utf8(
            pages[1..]
                .iter()
                .find(|(n, _)| n == "smtp-doctor-check.1")
                .unwrap()
                .1
                .clone(),
        )
        .unwrap();
        assert!(check.contains("\n.TH smtp-doctor-check 1 "), "{check}");
        assert!(check.contains("password\\-env"), "{check}");
        let main = String::from_utf8(pages[0].1.clone()).unwrap();
        assert!(main.contains("smtp\\-doctor\\-check(1)"), "{main}");
    }
}
