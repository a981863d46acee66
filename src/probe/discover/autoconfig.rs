//! Autoconfig files (the `config-v1.1.xml` format mail programs read from
//! `https://autoconfig.<domain>/mail/config-v1.1.xml` and
//! `https://<domain>/.well-known/autoconfig/mail/config-v1.1.xml`): the
//! fetch and a bounded parse.
//!
//! The parse accepts at most [`super::http::MAX_BODY`] bytes, [`MAX_DEPTH`]
//! levels and [`MAX_EVENTS`] XML events; a DTD is refused (so no entity can
//! be declared, let alone expanded), and only the five predefined entities
//! and character references are read. A server entry with a wrong type (a
//! port that is not a number, an unknown socket type) or an unknown
//! placeholder is left out with the reason; the rest of the file still
//! counts.

use super::Declared;
use crate::settings::Security;
use quick_xml::Reader;
use quick_xml::events::{BytesRef, BytesStart, Event};

pub const MAX_DEPTH: usize = 16;
pub const MAX_EVENTS: usize = 5000;
/// At most this many server entries are read from one file.
pub const MAX_SERVERS: usize = 32;

/// What one file said.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigFile {
    pub provider_id: Option<String>,
    pub display_name: Option<String>,
    /// The mail domains the file says it is for.
    pub domains: Vec<String>,
    pub outgoing: Vec<Declared>,
    pub incoming: Vec<Declared>,
    pub docs: Vec<String>,
    /// Entries left out, each with the reason.
    pub refused: Vec<String>,
}

/// Replaces the placeholders of a hostname or username. Unknown or
/// unclosed placeholders are refused: a guess would be a wrong setting.
pub fn fill(pattern: &str, email: &str) -> Result<String, String> {
    let (local, domain) = email.rsplit_once('@').unwrap_or((email, ""));
    let mut out = String::new();
    let mut rest = pattern;
    while let Some(start) = rest.find('%') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let Some(end) = after.find('%') else {
            return Err(format!(
                "an unclosed placeholder in \"{}\"",
                printable(pattern)
            ));
        };
        match &after[..end] {
            "EMAILADDRESS" => out.push_str(email),
            "EMAILLOCALPART" => out.push_str(local),
            "EMAILDOMAIN" => out.push_str(domain),
            other => {
                return Err(format!(
                    "an unknown placeholder %{}% (only %EMAILADDRESS%, %EMAILLOCALPART% and %EMAILDOMAIN% are known)",
                    printable(other)
                ));
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A host name a setting may hold: letters, digits, hyphens and dots,
/// at most 253 characters, labels of 1–63.
pub fn valid_host(h: &str) -> bool {
    let h = h.trim_end_matches('.');
    !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                && !l.starts_with('-')
        })
}

pub(super) fn printable(s: &str) -> String {
    let cut: String = s.chars().take(80).collect();
    crate::printable::printable(&cut).into_owned()
}

pub(super) fn socket_security(s: &str) -> Option<Security> {
    match s.trim() {
        "SSL" => Some(Security::Tls),
        "STARTTLS" => Some(Security::Starttls),
        "plain" => Some(Security::None),
        _ => None,
    }
}

#[derive(Default)]
struct Entry {
    kind: String,
    host: Option<String>,
    port: Option<String>,
    socket: Option<String>,
    username: Option<String>,
    auth: Vec<String>,
    outgoing: bool,
}

impl Entry {
    /// One field of a server entry (unknown ones are passed over).
    fn set(&mut self, field: &str, value: String) {
        match field {
            "hostname" => self.host = Some(value),
            "port" => self.port = Some(value),
            "socketType" => self.socket = Some(value),
            "username" => self.username = Some(value),
            "authentication" if self.auth.len() < 8 && !value.is_empty() => {
                self.auth.push(printable(&value))
            }
            _ => {}
        }
    }

    fn finish(self, email: &str) -> Result<Declared, String> {
        let what = if self.outgoing {
            "outgoing server".to_string()
        } else {
            format!("incoming {} server", printable(&self.kind))
        };
        let host = self.host.ok_or(format!("an {what} without a hostname"))?;
        let host = fill(host.trim(), email).map_err(|e| format!("{what}: hostname has {e}"))?;
        let host = host.to_ascii_lowercase();
        if !valid_host(&host) {
            return Err(format!(
                "{what}: \"{}\" is not a host name",
                printable(&host)
            ));
        }
        let port_text = self.port.ok_or(format!("{what} {host}: no port"))?;
        let port = port_text
            .trim()
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or(format!(
                "{what} {host}: port \"{}\" is not a number from 1 to 65535",
                printable(port_text.trim())
            ))?;
        let socket = self.socket.unwrap_or_default();
        let security = socket_security(&socket).ok_or(format!(
            "{what} {host}: socket type \"{}\" is not SSL, STARTTLS or plain",
            printable(socket.trim())
        ))?;
        let pattern = self.username.unwrap_or_default().trim().to_string();
        let username =
            fill(&pattern, email).map_err(|e| format!("{what} {host}: username has {e}"))?;
        Ok(Declared {
            kind: if self.outgoing {
                "smtp".into()
            } else {
                self.kind
            },
            host,
            port,
            security,
            auth: self.auth,
            username_pattern: pattern,
            username,
        })
    }
}

/// Parses a config-v1.1 file for `email`.
pub fn parse(xml: &[u8], email: &str) -> Result<ConfigFile, String> {
    if xml.len() > super::http::MAX_BODY {
        return Err(format!(
            "the file is larger than {} KiB",
            super::http::MAX_BODY / 1024
        ));
    }
    let text = std::str::from_utf8(xml).map_err(|_| "the file is not UTF-8 text".to_string())?;
    let mut reader = Reader::from_str(text);
    let cfg = reader.config_mut();
    cfg.trim_text(false);
    cfg.check_end_names = true;
    let mut parser = Parser::new(email);
    let mut events = 0usize;
    loop {
        events += 1;
        if events > MAX_EVENTS {
            return Err(format!("the file has more than {MAX_EVENTS} XML items"));
        }
        let ev = reader
            .read_event()
            .map_err(|e| format!("not well-formed XML: {}", printable(&e.to_string())))?;
        if !parser.event(ev)? {
            break;
        }
    }
    parser.finish()
}

/// The state of one parse: where in the tree it is, the server entry being
/// read and the text of the current element. Only the elements of the
/// format are looked at; anything else is passed over.
struct Parser<'a> {
    email: &'a str,
    stack: Vec<String>,
    file: ConfigFile,
    entry: Option<Entry>,
    text: String,
    /// Server entries seen, read or not (beyond [`MAX_SERVERS`]).
    servers: usize,
    saw_root: bool,
}

impl<'a> Parser<'a> {
    fn new(email: &'a str) -> Parser<'a> {
        Parser {
            email,
            stack: Vec::new(),
            file: ConfigFile::default(),
            entry: None,
            text: String::new(),
            servers: 0,
            saw_root: false,
        }
    }

    /// Takes one XML event. Returns false at the end of the file.
    fn event(&mut self, ev: Event<'_>) -> Result<bool, String> {
        match ev {
            Event::DocType(_) => {
                return Err("the file declares a DTD; entity declarations are not accepted".into());
            }
            Event::Start(e) => self.open(&e, false)?,
            Event::Empty(e) => self.open(&e, true)?,
            Event::End(_) => self.close(),
            Event::Text(t) => {
                let s = t.decode().map_err(|e| format!("bad text: {e}"))?;
                self.push_text(&s)?;
            }
            Event::CData(t) => self.push_text(&String::from_utf8_lossy(&t))?,
            Event::GeneralRef(r) => self.reference(&r)?,
            Event::Eof => return Ok(false),
            _ => {}
        }
        Ok(true)
    }

    /// The end of the file: an empty one is an error, and entries over the
    /// limit are named so nobody wonders where they went.
    fn finish(mut self) -> Result<ConfigFile, String> {
        if !self.saw_root {
            return Err("an empty file".into());
        }
        if self.servers > MAX_SERVERS {
            self.file.refused.push(format!(
                "{} server entries beyond the first {MAX_SERVERS} were not read",
                self.servers - MAX_SERVERS
            ));
        }
        Ok(self.file)
    }

    /// A start tag (or an empty element, which closes at once). The root
    /// must be `<clientConfig>`: anything else is some other file.
    fn open(&mut self, e: &BytesStart<'_>, empty: bool) -> Result<(), String> {
        let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
        if self.stack.is_empty() {
            if name != "clientConfig" {
                return Err(format!(
                    "not an autoconfig file (its root is <{}>, not <clientConfig>)",
                    printable(&name)
                ));
            }
            self.saw_root = true;
        }
        let parent = self.stack.last().cloned();
        match (parent.as_deref(), name.as_str()) {
            (Some("clientConfig"), "emailProvider") => {
                self.file.provider_id = attr(e, "id")?.map(|v| printable(&v));
            }
            (Some("emailProvider"), "incomingServer" | "outgoingServer") => {
                self.open_server(e, &name)?;
            }
            (Some("emailProvider"), "documentation") => self.documentation(e)?,
            _ => {}
        }
        self.text.clear();
        self.stack.push(name);
        if self.stack.len() > MAX_DEPTH {
            return Err(format!("the file nests deeper than {MAX_DEPTH} levels"));
        }
        if empty {
            self.close();
        }
        Ok(())
    }

    /// A server entry starts; those beyond [`MAX_SERVERS`] are only counted.
    fn open_server(&mut self, e: &BytesStart<'_>, name: &str) -> Result<(), String> {
        self.servers += 1;
        if self.servers <= MAX_SERVERS {
            self.entry = Some(Entry {
                kind: attr(e, "type")?.unwrap_or_default().to_ascii_lowercase(),
                outgoing: name == "outgoingServer",
                ..Entry::default()
            });
        }
        Ok(())
    }

    /// A documentation link: kept only when it is HTTPS (it is shown to the
    /// user as a place to read more), at most 8.
    fn documentation(&mut self, e: &BytesStart<'_>) -> Result<(), String> {
        if let Some(url) = attr(e, "url")?
            && url.starts_with("https://")
            && self.file.docs.len() < 8
        {
            self.file.docs.push(printable(&url));
        }
        Ok(())
    }

    /// Text of the current element, bounded: no value of the format is
    /// anywhere near 4096 characters.
    fn push_text(&mut self, s: &str) -> Result<(), String> {
        if self.text.len() + s.len() > 4096 {
            return Err("a text value longer than 4096 characters".into());
        }
        self.text.push_str(s);
        Ok(())
    }

    /// A character reference or one of the five predefined entities; any
    /// other entity is refused, never expanded.
    fn reference(&mut self, r: &BytesRef<'_>) -> Result<(), String> {
        if let Some(c) = r
            .resolve_char_ref()
            .map_err(|e| format!("a bad character reference: {e}"))?
        {
            self.text.push(c);
            return Ok(());
        }
        let name = String::from_utf8_lossy(r).into_owned();
        let c = match name.as_str() {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            other => {
                return Err(format!(
                    "an unknown entity &{}; (entities are not expanded)",
                    printable(other)
                ));
            }
        };
        self.text.push(c);
        Ok(())
    }

    /// Ends the innermost element: a value goes to its entry, an entry to
    /// the file (or to the refused list, with the reason).
    fn close(&mut self) {
        let Some(name) = self.stack.pop() else { return };
        let value = std::mem::take(&mut self.text).trim().to_string();
        let parent = self.stack.last().map(String::as_str);
        match (parent, name.as_str()) {
            (Some("incomingServer" | "outgoingServer"), field) => {
                if let Some(en) = self.entry.as_mut() {
                    en.set(field, value);
                }
            }
            (Some("emailProvider"), "incomingServer" | "outgoingServer") => self.close_server(),
            (Some("emailProvider"), "domain") => {
                let d = value.to_ascii_lowercase();
                if valid_host(&d) && self.file.domains.len() < 64 {
                    self.file.domains.push(d);
                }
            }
            (Some("emailProvider"), "displayName") => {
                self.file.display_name = Some(printable(&value));
            }
            _ => {}
        }
    }

    /// A server entry ends: an outgoing smtp or incoming imap/pop3 server
    /// is checked and kept; other kinds are left out (outgoing ones with a
    /// reason, since a mail program would not use them for SMTP either).
    fn close_server(&mut self) {
        let Some(en) = self.entry.take() else { return };
        let outgoing = en.outgoing;
        if !outgoing && en.kind != "imap" && en.kind != "pop3" {
            // Exchange, EWS and the like: not ours to check.
            return;
        }
        if outgoing && en.kind != "smtp" {
            self.file.refused.push(format!(
                "an outgoing server of type \"{}\" (only smtp is used)",
                printable(&en.kind)
            ));
            return;
        }
        match en.finish(self.email) {
            Ok(d) if outgoing => self.file.outgoing.push(d),
            Ok(d) => self.file.incoming.push(d),
            Err(e) => self.file.refused.push(e),
        }
    }
}

/// An attribute's value; an entity in it is refused (attributes are not
/// unescaped, so one would be read literally and wrongly).
fn attr(e: &BytesStart<'_>, key: &str) -> Result<Option<String>, String> {
    match e.try_get_attribute(key) {
        Ok(Some(a)) => {
            let v = String::from_utf8_lossy(&a.value).into_owned();
            if v.contains('&') {
                return Err("an entity in an attribute".into());
            }
            Ok(Some(v))
        }
        Ok(None) => Ok(None),
        Err(e) => Err(format!("a malformed attribute: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"<?xml version="1.0"?>
<clientConfig version="1.1">
  <emailProvider id="example.test">
    <domain>example.test</domain>
    <displayName>Example &amp; Co</displayName>
    <incomingServer type="imap">
      <hostname>imap.%EMAILDOMAIN%</hostname><port>993</port><socketType>SSL</socketType>
      <username>%EMAILADDRESS%</username><authentication>password-cleartext</authentication>
    </incomingServer>
    <outgoingServer type="smtp">
      <hostname>smtp.example.test</hostname><port>587</port><socketType>STARTTLS</socketType>
      <username>%EMAILLOCALPART%</username><authentication>password-cleartext</authentication>
    </outgoingServer>
    <outgoingServer type="smtp">
      <hostname>smtp.example.test</hostname><port>five</port><socketType>SSL</socketType>
    </outgoingServer>
    <documentation url="https://example.test/help"/>
  </emailProvider>
</clientConfig>"#;

    #[test]
    fn reads_servers_and_refuses_wrong_types() {
        let f = parse(GOOD.as_bytes(), "alice@example.test").unwrap();
        assert_eq!(f.domains, ["example.test"]);
        assert_eq!(f.display_name.as_deref(), Some("Example & Co"));
        assert_eq!(f.outgoing.len(), 1);
        let o = &f.outgoing[0];
        assert_eq!(
            (o.host.as_str(), o.port, o.security),
            ("smtp.example.test", 587, Security::Starttls)
        );
        assert_eq!(o.username, "alice");
        assert_eq!(f.incoming[0].host, "imap.example.test");
        assert_eq!(f.refused.len(), 1, "{:?}", f.refused);
        assert!(f.refused[0].contains("\"five\""), "{:?}", f.refused);
        assert_eq!(f.docs, ["https://example.test/help"]);
    }

    #[test]
    fn placeholders() {
        assert_eq!(
            fill("%EMAILLOCALPART%.%EMAILDOMAIN%", "a@b.test").unwrap(),
            "a.b.test"
        );
        assert!(
            fill("%EMAILADDRESS", "a@b.test")
                .unwrap_err()
                .contains("unclosed")
        );
        assert!(
            fill("%PASSWORD%", "a@b.test")
                .unwrap_err()
                .contains("unknown placeholder")
        );
    }
}
