//! What one log line says, for the log formats `logscan` knows: the
//! rejected, bounced or deferred delivery or the failed login in it, with
//! the reply or reason text and whatever the format records beside it
//! (time, client IP, SASL user, sender, recipient).
//!
//! Recognition goes by the shape of the message, not the program name, so
//! a second Postfix instance (`postfix-out/smtpd`), syslog, a plain
//! maillog_file and `journalctl` output all read the same.

use serde::Serialize;

/// Which software wrote a finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Postfix,
    Exim,
    Sendmail,
    /// A Microsoft 365 (Exchange Online) message trace export.
    M365,
}

/// What happened to the mail or the login.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Refused while the client talked to this server.
    Rejected,
    /// A delivery that failed for good.
    Bounced,
    /// A delivery that failed for now and will be retried.
    Deferred,
    /// A failed SMTP login.
    AuthFailed,
}

/// One rejection, bounce, deferral or failed login found in a line.
#[derive(Debug, PartialEq)]
pub struct Event<'a> {
    pub source: Source,
    pub kind: Kind,
    pub time: &'a str,
    pub client_ip: Option<&'a str>,
    pub user: Option<&'a str>,
    pub sender: Option<&'a str>,
    pub recipient: Option<&'a str>,
    /// The reply or reason the log gives; what gets classified.
    pub reason: &'a str,
    /// The reply the server sends for this kind of line when its log does
    /// not quote it (Postfix logs a failed SASL login without the `535`
    /// it answers): tried only when `reason` alone matches nothing.
    pub implied_reply: Option<&'static str>,
}

/// Bytes any line that can hold a finding contains; lines without any of
/// them are passed over without further work.
pub const KEYS: [&str; 9] = [
    "reject",
    "status=bounced",
    "status=deferred",
    "authentication failed",
    "authenticator failed",
    " ** ",
    " == ",
    "stat=",
    "AUTH failure",
];

/// The reply Postfix's smtpd sends after a failed SASL exchange, before
/// the reason; the log line of that failure does not quote it.
const POSTFIX_SASL_REPLY: &str = "535 5.7.8 Error: authentication failed: ";

/// Splits off the time stamp and the syslog tag. Returns (time, message).
pub fn split_prefix(line: &str) -> (&str, &str) {
    let b = line.as_bytes();
    // Exim's own log: "2026-11-30 08:58:51[.123][ +0000][ [pid]] ..."
    if b.len() > 19 && is_date(b) && b[10] == b' ' && is_clock(&b[11..19]) {
        let mut end = 19;
        if b.get(end) == Some(&b'.') {
            end += 1;
            while b.get(end).is_some_and(u8::is_ascii_digit) {
                end += 1;
            }
        }
        let time = &line[..end];
        let mut rest = line[end..].trim_start();
        if let Some(zone) = rest.get(..5)
            && (zone.starts_with('+') || zone.starts_with('-'))
            && zone[1..].bytes().all(|c| c.is_ascii_digit())
        {
            rest = rest[5..].trim_start();
        }
        if rest.starts_with('[')
            && let Some(close) = find(rest, "] ")
            && rest[1..close].bytes().all(|c| c.is_ascii_digit())
        {
            rest = &rest[close + 2..];
        }
        return (time, rest);
    }
    // syslog / journalctl: "Nov 30 08:58:51[.123456] host tag[pid]: message"
    let time_end = if b.len() > 16
        && b[0].is_ascii_uppercase()
        && b[3] == b' '
        && (b[4] == b' ' || b[4].is_ascii_digit())
        && b[5].is_ascii_digit()
        && b[6] == b' '
        && is_clock(&b[7..15])
    {
        let mut end = 15;
        if b.get(end) == Some(&b'.') {
            end += 1;
            while b.get(end).is_some_and(u8::is_ascii_digit) {
                end += 1;
            }
        }
        Some(end)
    } else if b.len() > 20 && is_date(b) && b[10] == b'T' {
        // RFC 3339 (rsyslog, journalctl -o short-iso)
        line.find(' ')
    } else {
        None
    };
    let Some(time_end) = time_end else {
        return ("", line);
    };
    let time = &line[..time_end];
    let rest = line[time_end..].trim_start();
    // host, then the tag up to ": "
    let Some(host_end) = rest.find(' ') else {
        return (time, rest);
    };
    let after_host = &rest[host_end + 1..];
    match find(after_host, ": ") {
        Some(i) if !after_host[..i].contains(' ') => (time, &after_host[i + 2..]),
        _ => (time, after_host),
    }
}

fn is_date(b: &[u8]) -> bool {
    b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
}

fn is_clock(b: &[u8]) -> bool {
    b.len() == 8
        && b[0].is_ascii_digit()
        && b[1].is_ascii_digit()
        && b[2] == b':'
        && b[3].is_ascii_digit()
        && b[4].is_ascii_digit()
        && b[5] == b':'
        && b[6].is_ascii_digit()
        && b[7].is_ascii_digit()
}

/// The finding in one line of a text log, if the line holds one.
pub fn parse_line(line: &str) -> Option<Event<'_>> {
    let (time, msg) = split_prefix(line);
    postfix(time, msg)
        .or_else(|| sendmail(time, msg))
        .or_else(|| exim(time, msg))
}

fn postfix<'a>(time: &'a str, msg: &'a str) -> Option<Event<'a>> {
    if let Some(at) = find(msg, "reject: ") {
        return postfix_reject(time, &msg[at + "reject: ".len()..]);
    }
    for (word, kind) in [
        ("status=bounced (", Kind::Bounced),
        ("status=deferred (", Kind::Deferred),
    ] {
        if let Some(at) = find(msg, word) {
            let inner = &msg[at + word.len()..];
            let inner = inner.strip_suffix(')').unwrap_or(inner);
            let reason = match find(inner, " said: ") {
                Some(i) => &inner[i + " said: ".len()..],
                None => inner,
            };
            let reason = match rfind(reason, " (in reply to ") {
                Some(i) => &reason[..i],
                None => reason,
            };
            return Some(Event {
                source: Source::Postfix,
                kind,
                time,
                client_ip: None,
                user: None,
                sender: None,
                recipient: angle_field(msg, "to=<"),
                reason,
                implied_reply: None,
            });
        }
    }
    // warning: host[ip]: SASL PLAIN authentication failed: reason, sasl_username=u
    if let Some(at) = find(msg, " authentication failed")
        && let Some(sasl) = rfind(&msg[..at], ": SASL ")
    {
        let client = &msg[..sasl];
        let after = &msg[at + " authentication failed".len()..];
        let after = after.strip_prefix(':').unwrap_or(after).trim_start();
        let (reason, user) = match find(after, ", sasl_username=") {
            Some(i) => (&after[..i], Some(&after[i + ", sasl_username=".len()..])),
            None => (after, None),
        };
        return Some(Event {
            source: Source::Postfix,
            kind: Kind::AuthFailed,
            time,
            client_ip: bracketed(client),
            user: user.map(str::trim).filter(|u| !u.is_empty()),
            sender: None,
            recipient: None,
            reason,
            implied_reply: Some(POSTFIX_SASL_REPLY),
        });
    }
    None
}

/// After "reject: ": "RCPT from host[ip]: 554 5.7.1 <r>: text; from=<s>
/// to=<r> proto=ESMTP helo=<h>" (smtpd), or "header Subject: x from
/// host[ip]; from=<s> to=<r> proto=ESMTP helo=<h>: 5.7.1 text" (cleanup).
fn postfix_reject<'a>(time: &'a str, rest: &'a str) -> Option<Event<'a>> {
    let (client, reason) = if let Some(from) = find(rest, " from ")
        && let Some(colon) = find(&rest[from..], "]: ")
        && !rest[..from].contains("; from=<")
    {
        let client = &rest[from + " from ".len()..from + colon + 1];
        let reply = &rest[from + colon + "]: ".len()..];
        let reply = match find(reply, "; from=<") {
            Some(i) => &reply[..i],
            None => reply,
        };
        (client, reply)
    } else if let Some(fields) = find(rest, "; from=<") {
        // header/body checks: the reason follows the helo field
        let client = rest[..fields].rsplit(" from ").next().unwrap_or("");
        let tail = &rest[fields..];
        let reason = match find(tail, ">: ") {
            Some(i) => &tail[i + ">: ".len()..],
            None => "",
        };
        (client, reason)
    } else {
        return None;
    };
    Some(Event {
        source: Source::Postfix,
        kind: Kind::Rejected,
        time,
        client_ip: bracketed(client),
        user: None,
        sender: angle_field(rest, "from=<"),
        recipient: angle_field(rest, " to=<"),
        reason: reason.trim(),
        implied_reply: None,
    })
}

fn sendmail<'a>(time: &'a str, msg: &'a str) -> Option<Event<'a>> {
    if let Some(at) = find(msg, "reject=") {
        let reason = msg[at + "reject=".len()..].trim();
        // arg1 is the address, with or without <>
        let arg = angle_field(msg, "arg1=<").or_else(|| value_field(msg, "arg1="));
        let (sender, recipient) = match value_field(msg, "ruleset=") {
            Some("check_mail") => (arg, None),
            Some("check_rcpt") => (None, arg),
            _ => (None, None),
        };
        return Some(Event {
            source: Source::Sendmail,
            kind: Kind::Rejected,
            time,
            client_ip: value_field_from(msg, "relay=").and_then(bracketed_in),
            user: None,
            sender,
            recipient,
            reason,
            implied_reply: None,
        });
    }
    if let Some(at) = find(msg, "stat=")
        && let Some(dsn) = value_field(msg, "dsn=")
    {
        let kind = match dsn.as_bytes().first() {
            Some(b'5') => Kind::Bounced,
            Some(b'4') => Kind::Deferred,
            _ => return None,
        };
        return Some(Event {
            source: Source::Sendmail,
            kind,
            time,
            client_ip: None,
            user: None,
            sender: None,
            recipient: angle_field(msg, "to=<").or_else(|| value_field(msg, "to=")),
            reason: msg[at + "stat=".len()..].trim(),
            implied_reply: None,
        });
    }
    if let Some(at) = find(msg, "AUTH failure (") {
        let rest = &msg[at..];
        let reason = match find(rest, "): ") {
            Some(i) => &rest[i + 3..],
            None => rest,
        };
        let reason = match find(reason, ", relay=") {
            Some(i) => &reason[..i],
            None => reason,
        };
        return Some(Event {
            source: Source::Sendmail,
            kind: Kind::AuthFailed,
            time,
            client_ip: value_field_from(msg, "relay=").and_then(bracketed_in),
            user: value_field(msg, "user="),
            sender: None,
            recipient: None,
            reason,
            implied_reply: None,
        });
    }
    None
}

fn exim<'a>(time: &'a str, msg: &'a str) -> Option<Event<'a>> {
    // "H=(helo) [ip] F=<s> rejected RCPT <r>: reason"
    if let Some(at) = find(msg, " rejected ") {
        let head = &msg[..at];
        let rest = &msg[at + " rejected ".len()..];
        let (what, reason) = match find(rest, ": ") {
            Some(i) => (&rest[..i], &rest[i + 2..]),
            None => (rest, ""),
        };
        if !head.contains("H=") && !head.contains("U=") {
            return None;
        }
        return Some(Event {
            source: Source::Exim,
            kind: Kind::Rejected,
            time,
            client_ip: exim_ip(head),
            user: exim_auth_user(head),
            // "rejected MAIL <s>" names the sender itself
            sender: angle_field(head, "F=<").or_else(|| {
                what.strip_prefix("MAIL ")
                    .map(|r| r.trim_matches(['<', '>']))
                    .filter(|r| !r.is_empty())
            }),
            recipient: what
                .strip_prefix("RCPT ")
                .map(|r| r.trim_matches(['<', '>'])),
            reason,
            implied_reply: None,
        });
    }
    // "plain authenticator failed for (helo) [ip]: 535 Incorrect
    // authentication data (set_id=user)"
    if let Some(at) = find(msg, " authenticator failed for ") {
        let rest = &msg[at..];
        let reason = match find(rest, "]: ") {
            Some(i) => &rest[i + 3..],
            None => match find(rest, ": ") {
                Some(i) => &rest[i + 2..],
                None => "",
            },
        };
        let user = reason
            .find("(set_id=")
            .map(|i| &reason[i + "(set_id=".len()..])
            .and_then(|u| u.split(')').next());
        return Some(Event {
            source: Source::Exim,
            kind: Kind::AuthFailed,
            time,
            client_ip: bracketed(&rest[..find(rest, "]: ").map_or(rest.len(), |i| i + 1)]),
            user,
            sender: None,
            recipient: None,
            reason,
            implied_reply: None,
        });
    }
    // "<id> ** rcpt [<orig>] [R=.. T=..]: reason" and "== " for deferrals
    for (mark, kind) in [(" ** ", Kind::Bounced), (" == ", Kind::Deferred)] {
        if let Some(at) = find(msg, mark)
            && is_exim_id(msg[..at].trim())
        {
            let rest = &msg[at + mark.len()..];
            let recipient = rest.split([' ', ':']).next().filter(|r| r.contains('@'));
            let reason = match find(rest, ": ") {
                Some(i) => &rest[i + 2..],
                None => match find(rest, " defer (") {
                    Some(i) => &rest[i + 1..],
                    None => "",
                },
            };
            return Some(Event {
                source: Source::Exim,
                kind,
                time,
                client_ip: None,
                user: None,
                sender: None,
                recipient,
                reason,
                implied_reply: None,
            });
        }
    }
    None
}

/// Byte search (SIMD) for a literal; `str::find` is slower on short lines.
fn find(haystack: &str, needle: &str) -> Option<usize> {
    memchr::memmem::find(haystack.as_bytes(), needle.as_bytes())
}

fn rfind(haystack: &str, needle: &str) -> Option<usize> {
    memchr::memmem::rfind(haystack.as_bytes(), needle.as_bytes())
}

/// Exim message ids: "1abcDE-000123-AB" (old) and "1abcDE-0000aB-1234" (4.97+).
fn is_exim_id(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 3
        && parts[0].len() == 6
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_alphanumeric()))
}

fn exim_ip(head: &str) -> Option<&str> {
    let h = find(head, "H=")?;
    bracketed_in(&head[h..])
}

fn exim_auth_user(head: &str) -> Option<&str> {
    let a = find(head, " A=")?;
    let v = head[a + 3..].split(' ').next()?;
    // "A=plain:alice" or "A=dovecot_plain:alice@example.com"
    v.split_once(':').map(|(_, u)| u).filter(|u| !u.is_empty())
}

/// The text inside the last `[...]` of `s` when it looks like an IP address.
fn bracketed(s: &str) -> Option<&str> {
    let open = s.rfind('[')?;
    let close = open + s[open..].find(']')?;
    ip_like(&s[open + 1..close])
}

/// The text inside the first `[...]` of `s` when it looks like an IP address.
fn bracketed_in(s: &str) -> Option<&str> {
    let open = s.find('[')?;
    let close = open + s[open..].find(']')?;
    ip_like(&s[open + 1..close])
}

fn ip_like(s: &str) -> Option<&str> {
    let s = s.strip_prefix("IPv6:").unwrap_or(s);
    (!s.is_empty()
        && s.len() <= 45
        && s.bytes()
            .all(|c| c.is_ascii_hexdigit() || c == b'.' || c == b':')
        && s.bytes().any(|c| c == b'.' || c == b':'))
    .then_some(s)
}

/// The address in `key...>` (key ends with `<`).
fn angle_field<'a>(s: &'a str, key: &str) -> Option<&'a str> {
    let at = find(s, key)? + key.len();
    let end = s[at..].find('>')?;
    let v = &s[at..at + end];
    (!v.is_empty()).then_some(v)
}

/// The value after `key` up to a comma or space.
fn value_field<'a>(s: &'a str, key: &str) -> Option<&'a str> {
    let at = find(s, key)? + key.len();
    let v = s[at..].split([',', ' ']).next()?;
    (!v.is_empty()).then_some(v)
}

/// Everything after `key` up to the next ", ".
fn value_field_from<'a>(s: &'a str, key: &str) -> Option<&'a str> {
    let at = find(s, key)? + key.len();
    Some(s[at..].split(", ").next().unwrap_or(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        assert_eq!(
            split_prefix("Nov 30 08:58:51 mail postfix/smtpd[1]: NOQUEUE: x"),
            ("Nov 30 08:58:51", "NOQUEUE: x")
        );
        assert_eq!(
            split_prefix("Nov  3 08:58:51.123456 mail postfix/smtpd[1]: x"),
            ("Nov  3 08:58:51.123456", "x")
        );
        assert_eq!(
            split_prefix("2026-11-30T08:58:51+0000 mail postfix/smtpd[1]: x"),
            ("2026-11-30T08:58:51+0000", "x")
        );
        assert_eq!(
            split_prefix("2026-11-30 08:58:51.123 +0100 [77] H=a rejected"),
            ("2026-11-30 08:58:51.123", "H=a rejected")
        );
        assert_eq!(split_prefix("no prefix at all"), ("", "no prefix at all"));
    }

    #[test]
    fn ips() {
        assert_eq!(bracketed("unknown[127.0.0.1]"), Some("127.0.0.1"));
        assert_eq!(bracketed("x[IPv6:2001:db8::1]"), Some("2001:db8::1"));
        assert_eq!(bracketed("x[BL23]"), None);
        assert!(is_exim_id("1abcDE-000123-AB"));
        assert!(!is_exim_id("H=(x)"));
    }
}
