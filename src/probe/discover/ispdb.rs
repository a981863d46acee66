//! The provider database shipped in `assets/ispdb.json` (generated from the
//! Thunderbird ISPDB by `assets/ispdb/generate.py`; MPL-2.0, file-level),
//! merged at load time with the presets of `assets/providers.json`.
//!
//! Lookups are by the exact mail domain (case-insensitive): a domain the
//! user did not type never matches by accident (`notoutlook.com` and
//! `outlook.com.evil.test` are not `outlook.com`). The MX path looks up the
//! MX host's parent domains, and says so in the source.

use crate::catalog::catalog;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::OnceLock;

const ISPDB_JSON: &str = include_str!("../../../assets/ispdb.json");

/// One server as the database lists it.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct DbServer {
    /// imap or pop3 for incoming servers; absent (smtp) for outgoing.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    pub host: String,
    pub port: u16,
    /// `SSL` (TLS from the first byte), `STARTTLS` or `plain`.
    pub socket: String,
    #[serde(default)]
    pub auth: Vec<String>,
    /// `%EMAILADDRESS%`, `%EMAILLOCALPART%`, … or empty.
    #[serde(default)]
    pub username: String,
}

/// One provider.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct DbProvider {
    pub id: String,
    pub name: String,
    pub domains: Vec<String>,
    pub smtp: Vec<DbServer>,
    #[serde(default)]
    pub incoming: Vec<DbServer>,
    #[serde(default)]
    pub docs: Vec<String>,
}

impl DbProvider {
    /// The provider accepts only OAuth2 on SMTP: every outgoing server
    /// lists OAuth2 and nothing else, so a password cannot work.
    pub fn oauth_only(&self) -> bool {
        !self.smtp.is_empty()
            && self.smtp.iter().all(|s| {
                !s.auth.is_empty() && s.auth.iter().all(|a| a.eq_ignore_ascii_case("OAuth2"))
            })
    }
}

#[derive(Deserialize)]
struct DbFile {
    origin: String,
    licence: String,
    providers: Vec<DbProvider>,
}

/// The loaded database with its domain index.
pub struct Ispdb {
    pub origin: String,
    pub licence: String,
    providers: Vec<DbProvider>,
    by_domain: HashMap<String, usize>,
}

impl Ispdb {
    /// Parses a database file (the shipped one, or one a test gives).
    pub fn from_json(text: &str) -> Result<Ispdb, String> {
        let f: DbFile = serde_json::from_str(text).map_err(|e| format!("ispdb.json: {e}"))?;
        let mut by_domain = HashMap::new();
        for (i, p) in f.providers.iter().enumerate() {
            for d in &p.domains {
                by_domain.entry(d.to_ascii_lowercase()).or_insert(i);
            }
        }
        Ok(Ispdb {
            origin: f.origin,
            licence: f.licence,
            providers: f.providers,
            by_domain,
        })
    }

    pub fn providers(&self) -> &[DbProvider] {
        &self.providers
    }

    /// The provider serving exactly this mail domain.
    pub fn for_domain(&self, domain: &str) -> Option<&DbProvider> {
        let d = domain.trim().trim_end_matches('.').to_ascii_lowercase();
        self.by_domain.get(&d).map(|&i| &self.providers[i])
    }

    /// The provider whose listed domain is a parent of this MX host (a
    /// whole-label match: `x.mail.protection.outlook.com` matches
    /// `mail.protection.outlook.com`, `evil-outlook.com` matches nothing).
    /// Returns the provider and the domain that matched.
    pub fn for_mx_host(&self, host: &str) -> Option<(&DbProvider, String)> {
        let h = host.trim().trim_end_matches('.').to_ascii_lowercase();
        let mut rest = h.as_str();
        // The host's parents, longest first, but never a bare top-level
        // label: "com" is nobody's mail domain.
        while let Some((_, parent)) = rest.split_once('.') {
            if parent.contains('.')
                && let Some(&i) = self.by_domain.get(parent)
            {
                return Some((&self.providers[i], parent.to_string()));
            }
            rest = parent;
        }
        None
    }
}

/// The shipped database. A broken asset is a build defect that a unit test
/// catches; at run time it gives an empty database rather than a crash.
pub fn ispdb() -> &'static Ispdb {
    static DB: OnceLock<Ispdb> = OnceLock::new();
    DB.get_or_init(|| {
        Ispdb::from_json(ISPDB_JSON).unwrap_or_else(|_| Ispdb {
            origin: String::new(),
            licence: String::new(),
            providers: Vec::new(),
            by_domain: HashMap::new(),
        })
    })
}

/// A preset of `assets/providers.json` for this mail domain, as the same
/// shape as a database server (the merge at load time: presets count as
/// one more database entry, tagged as such).
pub fn preset_for_domain(domain: &str) -> Option<(String, DbServer, Vec<String>)> {
    let (p, preset) = catalog().preset_for_domain(domain)?;
    Some((p.name.clone(), preset_server(preset), p.docs.clone()))
}

/// The preset of the catalog provider behind these MX hosts.
pub fn preset_for_mx(mx_hosts: &[String]) -> Option<(String, DbServer, Vec<String>)> {
    let p = catalog().provider_for_mx(mx_hosts)?;
    let preset = p.preset.as_ref()?;
    Some((p.name.clone(), preset_server(preset), p.docs.clone()))
}

fn preset_server(p: &crate::catalog::Preset) -> DbServer {
    let socket = match p.security.as_str() {
        "tls" => "SSL",
        "none" => "plain",
        _ => "STARTTLS",
    };
    DbServer {
        kind: None,
        host: p.server.clone(),
        port: p.port,
        socket: socket.into(),
        auth: Vec::new(),
        username: "%EMAILADDRESS%".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_database_loads_with_its_origin() {
        let db = Ispdb::from_json(ISPDB_JSON).expect("assets/ispdb.json must parse");
        assert!(db.providers().len() >= 150, "{}", db.providers().len());
        assert!(db.origin.contains("c6ad79659b5f"));
        assert_eq!(db.licence, "MPL-2.0");
        assert!(ISPDB_JSON.lines().next().unwrap().contains("\"origin\""));
    }

    #[test]
    fn exact_domains_only() {
        let db = ispdb();
        let p = db.for_domain("Outlook.com").expect("outlook.com is listed");
        assert!(p.oauth_only(), "{p:?}");
        assert!(db.for_domain("notoutlook.com").is_none());
        assert!(db.for_domain("outlook.com.evil.test").is_none());
        assert!(db.for_domain("com").is_none());
    }

    #[test]
    fn mx_parents_match_whole_labels() {
        let db = ispdb();
        let (p, d) = db
            .for_mx_host("contoso-com.mail.protection.outlook.com.")
            .expect("Microsoft 365 MX");
        assert_eq!(d, "mail.protection.outlook.com");
        assert!(p.oauth_only());
        assert!(db.for_mx_host("mx.evil-outlook.com").is_none());
    }
}
