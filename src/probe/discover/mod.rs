//! `discover`: finding the settings that work, from an email address alone.
//!
//! Sources, each result tagged with where it came from:
//! - the provider database shipped in `assets/ispdb.json` (Thunderbird
//!   ISPDB facts) and the presets of `assets/providers.json`;
//! - RFC 6186 SRV records (`_submissions._tcp`, `_submission._tcp`, and
//!   `_imaps._tcp`, `_imap._tcp`, `_pop3s._tcp` for incoming mail);
//! - autoconfig files over HTTPS ([`autoconfig`], [`http`]);
//! - the provider behind the domain's MX hosts;
//! - port guessing (465 SSL/TLS, 587 STARTTLS, 2525, 25) on the hosts the
//!   other sources named, or on the MX and `smtp.`/`mail.` hosts.
//!
//! Every candidate is then probed without logging in ([`candidates`]), up to
//! [`MAX_CANDIDATES`] at once, each within one timeout, and ranked: a valid
//! certificate, AUTH offered and a submission port first. [`login_once`]
//! makes the single login a run may make, on the best candidate.

pub mod autoconfig;
mod candidates;
pub mod http;
pub mod ispdb;

use super::autodetect;
use super::lookup;
use super::model::{CheckId, Outcome, Status, TranscriptLine};
use super::smtp::Tape;
use super::tls::TlsSetup;
use crate::settings::{Password, Security, Settings};
use base64::Engine;
use hickory_resolver::TokioResolver;
use serde::Serialize;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// At most this many candidates are probed (all at once).
pub const MAX_CANDIDATES: usize = 8;

/// Where a suggestion came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// `https://autoconfig.<domain>/mail/config-v1.1.xml`
    Autoconfig,
    /// `https://<domain>/.well-known/autoconfig/mail/config-v1.1.xml`
    WellKnown,
    /// The shipped provider database (Thunderbird ISPDB facts).
    Ispdb,
    /// A preset of smtp-doctor's own provider list.
    Preset,
    /// RFC 6186 SRV records.
    Srv,
    /// The provider behind the domain's MX hosts.
    Mx,
    /// A usual port tried on a known host.
    Guess,
}

impl SourceKind {
    pub fn label(self) -> &'static str {
        match self {
            SourceKind::Autoconfig => "autoconfig",
            SourceKind::WellKnown => "well-known autoconfig",
            SourceKind::Ispdb => "provider database",
            SourceKind::Preset => "provider preset",
            SourceKind::Srv => "SRV",
            SourceKind::Mx => "MX",
            SourceKind::Guess => "port guess",
        }
    }
}

/// One source's word for a suggestion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Source {
    pub kind: SourceKind,
    /// What exactly: the URL, the record name, the provider.
    pub detail: String,
}

/// A server setting some source declared (outgoing: smtp; incoming: imap
/// or pop3), with the username already filled in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Declared {
    pub kind: String,
    pub host: String,
    pub port: u16,
    pub security: Security,
    /// Authentication methods the source lists (`password-cleartext`,
    /// `OAuth2`, …); empty when it says nothing.
    pub auth: Vec<String>,
    pub username_pattern: String,
    pub username: String,
}

/// A setting to try, before it is probed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Suggestion {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: String,
    /// `full address`, `local part` or `other`.
    pub username_form: String,
    /// Methods the sources list (empty when none said).
    pub declared_auth: Vec<String>,
    pub sources: Vec<Source>,
}

/// What probing a candidate found (no login).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Probe {
    /// connected, refused, timed-out, unreachable, error, no-address
    pub state: String,
    pub address: Option<String>,
    pub greeting: Option<String>,
    pub encrypted: bool,
    pub tls_version: Option<String>,
    /// The certificate is valid for the candidate's name (None: no TLS).
    pub cert_ok: Option<bool>,
    pub cert_problem: Option<String>,
    pub cert_names: Vec<String>,
    /// AUTH mechanisms offered (after TLS).
    pub auth: Vec<String>,
    pub note: Option<String>,
    pub ms: u64,
}

/// A probed candidate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Candidate {
    #[serde(flatten)]
    pub setting: Suggestion,
    pub probe: Probe,
    /// Greets, encrypts with a valid certificate and offers AUTH.
    pub works: bool,
}

impl Candidate {
    fn new(setting: Suggestion, probe: Probe) -> Candidate {
        let works = probe.greeting.is_some()
            && probe.note.is_none()
            && setting.security != Security::None
            && probe.encrypted
            && probe.cert_ok == Some(true)
            && !probe.auth.is_empty();
        Candidate {
            setting,
            probe,
            works,
        }
    }

    /// The sources, as "SRV, MX".
    pub fn source_labels(&self) -> String {
        let mut v: Vec<&str> = Vec::new();
        for s in &self.setting.sources {
            if !v.contains(&s.kind.label()) {
                v.push(s.kind.label());
            }
        }
        v.join(", ")
    }

    /// These settings, written into `settings` (server, port, encryption,
    /// login); everything else is kept.
    pub fn apply_to(&self, settings: &mut Settings) {
        settings.server = self.setting.host.clone();
        settings.port = self.setting.port;
        settings.security = self.setting.security;
        settings.login = if self.setting.username == settings.account.trim() {
            String::new()
        } else {
            self.setting.username.clone()
        };
    }

    fn rank_key(&self) -> (bool, bool, bool, u8, SourceKind) {
        let port_rank = match self.setting.port {
            465 | 587 => 0,
            25 => 2,
            _ => 1,
        };
        let best_source = self
            .setting
            .sources
            .iter()
            .map(|s| s.kind)
            .min()
            .unwrap_or(SourceKind::Guess);
        (
            !self.works,
            self.probe.cert_ok != Some(true),
            self.probe.auth.is_empty(),
            port_rank,
            best_source,
        )
    }
}

/// A provider that accepts only OAuth2 on SMTP.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OauthOnly {
    pub provider: String,
    pub docs: Vec<String>,
    /// How the provider was found (the address's domain, or its MX).
    pub via: String,
}

/// How one source went.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SourceReport {
    pub source: SourceKind,
    /// found, none, error, refused
    pub result: String,
    pub detail: String,
}

/// Everything discovery found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Discovery {
    pub email: String,
    pub domain: String,
    /// The provider named by the database, a preset or the MX.
    pub provider: Option<String>,
    pub oauth_only: Option<OauthOnly>,
    pub mx_hosts: Vec<String>,
    /// Ranked, best first.
    pub candidates: Vec<Candidate>,
    /// Incoming servers the sources named (not probed).
    pub incoming: Vec<Declared>,
    pub sources: Vec<SourceReport>,
    pub warnings: Vec<String>,
    /// Suggestions over the limit, not probed.
    pub not_probed: usize,
    #[serde(skip)]
    pub transcript: Vec<TranscriptLine>,
}

impl Discovery {
    /// The best working candidate.
    pub fn best(&self) -> Option<&Candidate> {
        self.candidates.first().filter(|c| c.works)
    }

    pub fn working(&self) -> impl Iterator<Item = &Candidate> {
        self.candidates.iter().filter(|c| c.works)
    }
}

/// The probe settings of a discovery.
#[derive(Clone, Debug)]
pub struct Options {
    /// Ports tried on every candidate host, with their security.
    pub guess_ports: Vec<(u16, Security)>,
    pub max_candidates: usize,
    /// The port autoconfig files are fetched from (443; tests use others).
    pub https_port: u16,
    /// Fetch autoconfig files at all.
    pub autoconfig: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            guess_ports: vec![
                (465, Security::Tls),
                (587, Security::Starttls),
                (2525, Security::Starttls),
                (25, Security::Starttls),
            ],
            max_candidates: MAX_CANDIDATES,
            https_port: 443,
            autoconfig: true,
        }
    }
}

/// Splits an address into local part and domain, or says why not.
pub fn split_address(email: &str) -> Result<(String, String), String> {
    let e = email.trim();
    let Some((local, domain)) = e.rsplit_once('@') else {
        return Err("an email address needs an @ and a domain".into());
    };
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    if local.is_empty() || local.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("the part before the @ is empty or has spaces".into());
    }
    if !autoconfig::valid_host(&domain) || !domain.contains('.') {
        return Err(format!(
            "\"{}\" is not a mail domain",
            autoconfig::printable(&domain)
        ));
    }
    Ok((local.to_string(), domain))
}

fn username_form(username: &str, email: &str, local: &str) -> String {
    if username.eq_ignore_ascii_case(email) {
        "full address"
    } else if username == local {
        "local part"
    } else {
        "other"
    }
    .into()
}

/// Collects suggestions, merging the sources of the same setting.
struct Collector {
    email: String,
    local: String,
    list: Vec<Suggestion>,
}

impl Collector {
    fn add(&mut self, d: &Declared, source: Source) {
        if let Some(s) = self
            .list
            .iter_mut()
            .find(|s| s.host == d.host && s.port == d.port && s.security == d.security)
        {
            if !s.sources.contains(&source) {
                s.sources.push(source);
            }
            for a in &d.auth {
                if !s.declared_auth.contains(a) {
                    s.declared_auth.push(a.clone());
                }
            }
            return;
        }
        let username = if d.username.is_empty() {
            self.email.clone()
        } else {
            d.username.clone()
        };
        self.list.push(Suggestion {
            username_form: username_form(&username, &self.email, &self.local),
            username,
            host: d.host.clone(),
            port: d.port,
            security: d.security,
            declared_auth: d.auth.clone(),
            sources: vec![source],
        });
    }
}

fn db_declared(s: &ispdb::DbServer, email: &str) -> Result<Declared, String> {
    let security = autoconfig::socket_security(&s.socket)
        .ok_or_else(|| format!("unknown socket type {}", s.socket))?;
    let host = autoconfig::fill(&s.host, email)?.to_ascii_lowercase();
    if !autoconfig::valid_host(&host) {
        return Err(format!("\"{host}\" is not a host name"));
    }
    Ok(Declared {
        kind: s.kind.clone().unwrap_or_else(|| "smtp".into()),
        host,
        port: s.port,
        security,
        auth: s.auth.clone(),
        username_pattern: s.username.clone(),
        username: autoconfig::fill(&s.username, email)?,
    })
}

/// Fetches one autoconfig URL and parses it. Returns the file or a report.
async fn fetch_config(
    r: &TokioResolver,
    setup: &TlsSetup,
    timeout: Duration,
    host: &str,
    path: &str,
    port: u16,
    email: &str,
) -> Result<autoconfig::ConfigFile, (String, String)> {
    let ip = candidates::address(Some(r), host)
        .await
        .map_err(|e| ("none".to_string(), e))?;
    let got = http::get(SocketAddr::new(ip, port), host, path, setup, timeout)
        .await
        .map_err(|e| ("error".to_string(), e))?;
    if (300..400).contains(&got.status) {
        return Err((
            "refused".into(),
            format!(
                "redirects to {} (redirects are not followed: check that address yourself)",
                got.location.as_deref().unwrap_or("nowhere")
            ),
        ));
    }
    if got.status != 200 {
        return Err(("none".into(), format!("HTTP status {}", got.status)));
    }
    autoconfig::parse(&got.body, email).map_err(|e| ("refused".to_string(), e))
}

/// Runs discovery for `settings.account` with the resolver, CA file and
/// timeout of `settings`. Never logs in.
pub async fn discover(settings: &Settings, opts: &Options) -> Discovery {
    let start = Instant::now();
    let email = settings.account.trim().to_string();
    let mut out = Discovery {
        email: email.clone(),
        ..Discovery::default()
    };
    let (local, domain) = match split_address(&email) {
        Ok(x) => x,
        Err(e) => {
            out.warnings.push(e);
            return out;
        }
    };
    out.domain = domain.clone();
    let timeout = settings.timeout();
    let resolver = match super::dns::resolver(settings) {
        Ok((r, _)) => Some(r),
        Err(e) => {
            out.warnings.push(format!("no DNS lookups: {e}"));
            None
        }
    };
    let setup = match TlsSetup::load(settings.ca_file.as_deref()) {
        Ok(s) => Some(s),
        Err(e) => {
            out.warnings.push(format!("no TLS: {e}"));
            None
        }
    };
    let mut col = Collector {
        email: email.clone(),
        local,
        list: Vec::new(),
    };

    // The database and the presets need no network.
    let db = ispdb::ispdb();
    let mut oauth: Option<OauthOnly> = None;
    if let Some(p) = db.for_domain(&domain) {
        out.provider = Some(p.name.clone());
        add_db(
            &mut col,
            &mut out,
            p,
            &email,
            &format!("{} ({domain})", p.name),
        );
        if p.oauth_only() {
            oauth = Some(OauthOnly {
                provider: p.name.clone(),
                docs: p.docs.clone(),
                via: format!("the provider database lists {domain}"),
            });
        }
    } else {
        out.sources.push(report(
            SourceKind::Ispdb,
            "none",
            format!("{domain} is not listed"),
        ));
    }
    if let Some((name, server, _)) = ispdb::preset_for_domain(&domain)
        && let Ok(d) = db_declared(&server, &email)
    {
        out.provider.get_or_insert(name.clone());
        col.add(
            &d,
            Source {
                kind: SourceKind::Preset,
                detail: name.clone(),
            },
        );
        out.sources.push(report(SourceKind::Preset, "found", name));
    }

    // DNS and HTTPS sources, all at once.
    let (mx, srvs, configs) = match (&resolver, &setup) {
        (Some(r), _) => {
            let srv_names = [
                ("_submissions._tcp", Security::Tls, "smtp"),
                ("_submission._tcp", Security::Starttls, "smtp"),
                ("_imaps._tcp", Security::Tls, "imap"),
                ("_imap._tcp", Security::Starttls, "imap"),
                ("_pop3s._tcp", Security::Tls, "pop3"),
            ];
            let srv_futs: Vec<_> = srv_names
                .iter()
                .map(|(svc, _, _)| {
                    let name = format!("{svc}.{domain}");
                    async move { (name.clone(), autodetect::srv(r, &name).await) }
                })
                .collect();
            let ac_host = format!("autoconfig.{domain}");
            let ac_path = format!("/mail/config-v1.1.xml?emailaddress={}", url_encode(&email));
            let wk_path = "/.well-known/autoconfig/mail/config-v1.1.xml".to_string();
            let configs = async {
                match (&setup, opts.autoconfig) {
                    (Some(setup), true) => {
                        let (a, b) = tokio::join!(
                            fetch_config(
                                r,
                                setup,
                                timeout,
                                &ac_host,
                                &ac_path,
                                opts.https_port,
                                &email
                            ),
                            fetch_config(
                                r,
                                setup,
                                timeout,
                                &domain,
                                &wk_path,
                                opts.https_port,
                                &email
                            ),
                        );
                        vec![
                            (
                                SourceKind::Autoconfig,
                                format!("https://{ac_host}{ac_path}"),
                                a,
                            ),
                            (
                                SourceKind::WellKnown,
                                format!("https://{domain}{wk_path}"),
                                b,
                            ),
                        ]
                    }
                    _ => Vec::new(),
                }
            };
            let (mx, srvs, configs) =
                tokio::join!(lookup::mx(r, &domain), super::join_all(srv_futs), configs);
            (
                mx,
                srvs.into_iter().zip(srv_names).collect::<Vec<_>>(),
                configs,
            )
        }
        (None, _) => (Ok(Vec::new()), Vec::new(), Vec::new()),
    };

    for (kind, url, res) in configs {
        match res {
            Ok(file) => {
                let for_us = file.domains.is_empty() || file.domains.contains(&domain);
                if !for_us {
                    out.sources.push(report(
                        kind,
                        "refused",
                        format!(
                            "{url} describes {} , not {domain}: not used",
                            file.domains.join(", ")
                        ),
                    ));
                    out.warnings.push(format!(
                        "The autoconfig file at {url} is for {}, not for {domain}; it was not used.",
                        file.domains.join(", ")
                    ));
                    continue;
                }
                for d in &file.outgoing {
                    col.add(
                        d,
                        Source {
                            kind,
                            detail: url.clone(),
                        },
                    );
                }
                for d in &file.incoming {
                    add_incoming(&mut out.incoming, d.clone());
                }
                for r in &file.refused {
                    out.warnings.push(format!("{url}: left out {r}"));
                }
                if let Some(n) = &file.display_name {
                    out.provider.get_or_insert(n.clone());
                }
                out.sources.push(report(
                    kind,
                    if file.outgoing.is_empty() {
                        "none"
                    } else {
                        "found"
                    },
                    format!("{url}: {} outgoing server(s)", file.outgoing.len()),
                ));
            }
            Err((result, why)) => {
                if result == "refused" {
                    out.warnings.push(format!("{url}: {why}"));
                }
                out.sources
                    .push(report(kind, &result, format!("{url}: {why}")));
            }
        }
    }

    let mut srv_not_offered = false;
    for ((name, res), (_, security, kind)) in srvs {
        match res {
            Ok(list) if list.is_empty() => {
                out.sources.push(report(
                    SourceKind::Srv,
                    "none",
                    format!("{name}: no record"),
                ));
            }
            Ok(list) => {
                if list.iter().all(|t| t.not_offered()) {
                    srv_not_offered |= kind == "smtp";
                    out.sources.push(report(
                        SourceKind::Srv,
                        "found",
                        format!(
                            "{name}: target \".\" — the domain says this service is not offered"
                        ),
                    ));
                    continue;
                }
                for t in list.iter().filter(|t| !t.not_offered()).take(4) {
                    if !autoconfig::valid_host(&t.host) {
                        continue;
                    }
                    let d = Declared {
                        kind: kind.to_string(),
                        host: t.host.clone(),
                        port: t.port,
                        security,
                        auth: Vec::new(),
                        username_pattern: String::new(),
                        username: email.clone(),
                    };
                    if kind == "smtp" {
                        col.add(
                            &d,
                            Source {
                                kind: SourceKind::Srv,
                                detail: name.clone(),
                            },
                        );
                    } else {
                        add_incoming(&mut out.incoming, d);
                    }
                }
                out.sources.push(report(
                    SourceKind::Srv,
                    "found",
                    format!(
                        "{name}: {}",
                        list.iter()
                            .map(|t| if t.not_offered() {
                                ".".to_string()
                            } else {
                                format!("{}:{}", t.host, t.port)
                            })
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
            Err(e) => out.sources.push(report(SourceKind::Srv, "error", e)),
        }
    }

    match mx {
        Ok(list) => {
            out.mx_hosts = list
                .into_iter()
                .map(|(_, h)| h.trim_end_matches('.').to_ascii_lowercase())
                .filter(|h| !h.is_empty() && h != ".")
                .take(8)
                .collect();
            let mut named = false;
            if let Some((p, matched)) = out.mx_hosts.iter().find_map(|h| db.for_mx_host(h)) {
                named = true;
                out.provider.get_or_insert(p.name.clone());
                let detail = format!("MX under {matched}: {}", p.name);
                for s in &p.smtp {
                    if let Ok(d) = db_declared(s, &email) {
                        col.add(
                            &d,
                            Source {
                                kind: SourceKind::Mx,
                                detail: detail.clone(),
                            },
                        );
                    }
                }
                if oauth.is_none() && p.oauth_only() {
                    oauth = Some(OauthOnly {
                        provider: p.name.clone(),
                        docs: p.docs.clone(),
                        via: format!("the domain's mail (MX) is handled by {}", p.name),
                    });
                }
                out.sources.push(report(SourceKind::Mx, "found", detail));
            }
            if let Some((name, server, _)) = ispdb::preset_for_mx(&out.mx_hosts)
                && let Ok(d) = db_declared(&server, &email)
            {
                named = true;
                out.provider.get_or_insert(name.clone());
                col.add(
                    &d,
                    Source {
                        kind: SourceKind::Mx,
                        detail: format!("MX: {name}"),
                    },
                );
                out.sources
                    .push(report(SourceKind::Mx, "found", format!("MX: {name}")));
            }
            if !named {
                out.sources.push(report(
                    SourceKind::Mx,
                    if out.mx_hosts.is_empty() {
                        "none"
                    } else {
                        "found"
                    },
                    if out.mx_hosts.is_empty() {
                        "no MX hosts".to_string()
                    } else {
                        format!("MX {} (no known provider)", out.mx_hosts.join(", "))
                    },
                ));
            }
        }
        Err((kind, _)) => out.sources.push(report(
            SourceKind::Mx,
            if matches!(
                kind,
                super::dns::LookupFailure::NoSuchName | super::dns::LookupFailure::NoRecords
            ) {
                "none"
            } else {
                "error"
            },
            format!("MX {domain}: {}", kind.as_str()),
        )),
    }

    // Port guessing on the hosts named so far, or the usual ones; not when
    // the domain's SRV records say it offers no submission at all.
    let mut hosts: Vec<(String, String)> = Vec::new();
    for s in &col.list {
        if !hosts.iter().any(|(h, _)| *h == s.host) {
            hosts.push((s.host.clone(), s.username.clone()));
        }
    }
    if hosts.is_empty() && srv_not_offered {
        out.warnings.push(format!(
            "{domain} publishes SRV records saying it offers no mail submission (target \".\"); no port was guessed"
        ));
    } else if hosts.is_empty() {
        let mut guess_hosts: Vec<String> = Vec::new();
        guess_hosts.extend(out.mx_hosts.iter().take(2).cloned());
        for h in [format!("smtp.{domain}"), format!("mail.{domain}")] {
            if !guess_hosts.contains(&h) {
                guess_hosts.push(h);
            }
        }
        // Only hosts that exist are guessed on.
        let found = super::join_all(
            guess_hosts
                .iter()
                .map(|h| candidates::address(resolver.as_ref(), h))
                .collect(),
        )
        .await;
        for (h, a) in guess_hosts.into_iter().zip(found) {
            match a {
                Ok(_) => hosts.push((h, email.clone())),
                Err(e) => out.sources.push(report(SourceKind::Guess, "none", e)),
            }
        }
    }
    for (h, username) in hosts.iter().take(4) {
        for &(port, security) in &opts.guess_ports {
            let d = Declared {
                kind: "smtp".into(),
                host: h.clone(),
                port,
                security,
                auth: Vec::new(),
                username_pattern: String::new(),
                username: username.clone(),
            };
            if !col
                .list
                .iter()
                .any(|s| s.host == d.host && s.port == d.port)
            {
                col.add(
                    &d,
                    Source {
                        kind: SourceKind::Guess,
                        detail: format!("{h}:{port}"),
                    },
                );
            }
        }
    }

    // The declared settings first, then the guesses; at most the limit.
    let mut list = col.list;
    list.sort_by_key(|s| s.sources.iter().map(|x| x.kind).min());
    if list.len() > opts.max_candidates {
        out.not_probed = list.len() - opts.max_candidates;
        list.truncate(opts.max_candidates);
    }
    let helo = settings.helo.clone();
    let futs: Vec<_> = list
        .into_iter()
        .map(|s| candidates::probe(s, resolver.as_ref(), setup.as_ref(), timeout, &helo, start))
        .collect();
    let probed = super::join_all(futs).await;
    let mut cands: Vec<Candidate> = Vec::new();
    for (c, lines) in probed {
        out.transcript.extend(lines);
        cands.push(c);
    }
    cands.sort_by_key(Candidate::rank_key);
    out.candidates = cands;
    out.oauth_only = oauth;
    out
}

fn add_db(
    col: &mut Collector,
    out: &mut Discovery,
    p: &ispdb::DbProvider,
    email: &str,
    detail: &str,
) {
    let mut n = 0;
    for s in &p.smtp {
        match db_declared(s, email) {
            Ok(d) => {
                col.add(
                    &d,
                    Source {
                        kind: SourceKind::Ispdb,
                        detail: detail.to_string(),
                    },
                );
                n += 1;
            }
            Err(e) => out
                .warnings
                .push(format!("provider database, {}: left out {e}", p.name)),
        }
    }
    for s in &p.incoming {
        if let Ok(d) = db_declared(s, email) {
            add_incoming(&mut out.incoming, d);
        }
    }
    out.sources.push(report(
        SourceKind::Ispdb,
        "found",
        format!("{detail}: {n} outgoing server(s)"),
    ));
}

fn add_incoming(list: &mut Vec<Declared>, d: Declared) {
    if list.len() < 16
        && !list
            .iter()
            .any(|x| x.host == d.host && x.port == d.port && x.kind == d.kind)
    {
        list.push(d);
    }
}

fn report(source: SourceKind, result: &str, detail: impl Into<String>) -> SourceReport {
    SourceReport {
        source,
        result: result.into(),
        detail: detail.into(),
    }
}

fn url_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// How the one login went.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LoginResult {
    /// A password was sent (at most once per run).
    pub attempted: bool,
    pub ok: bool,
    pub host: String,
    pub port: u16,
    pub mechanism: Option<String>,
    /// The server's answer (redacted, printable).
    pub reply: Option<String>,
    pub note: String,
}

/// Makes the single login of a run on this candidate: one AUTH with
/// PLAIN (or LOGIN when PLAIN is not offered), never retried. Refuses
/// without sending anything when the provider accepts only OAuth2, the
/// connection is not encrypted with a valid certificate, or no password
/// mechanism is offered.
pub async fn login_once(
    settings: &Settings,
    cand: &Candidate,
    password: &Password,
    discovery: &Discovery,
) -> (LoginResult, Vec<TranscriptLine>) {
    let mut res = LoginResult {
        attempted: false,
        ok: false,
        host: cand.setting.host.clone(),
        port: cand.setting.port,
        mechanism: None,
        reply: None,
        note: String::new(),
    };
    if let Some(o) = &discovery.oauth_only {
        res.note = format!(
            "{} accepts only OAuth2 (modern sign-in) on SMTP: no password was tried",
            o.provider
        );
        return (res, Vec::new());
    }
    if password.is_empty() {
        res.note = "no password given".into();
        return (res, Vec::new());
    }
    let resolver = super::dns::resolver(settings).ok().map(|(r, _)| r);
    let setup = TlsSetup::load(settings.ca_file.as_deref()).ok();
    let timeout = settings.timeout();
    let (probe, sess) = candidates::open(
        &cand.setting,
        resolver.as_ref(),
        setup.as_ref(),
        timeout,
        &settings.helo,
        Instant::now(),
    )
    .await;
    let Some((mut sess, caps)) = sess else {
        res.note = format!(
            "could not reach the login step: {}",
            probe.note.unwrap_or_else(|| probe.state.clone())
        );
        return (res, Vec::new());
    };
    if !(probe.encrypted && probe.cert_ok == Some(true)) {
        res.note =
            "the connection is not encrypted with a valid certificate: no password was sent".into();
        sess.quit_nowait().await;
        return (res, sess.tape.take());
    }
    let mech = if caps.auth.iter().any(|m| m == "PLAIN") {
        "PLAIN"
    } else if caps.auth.iter().any(|m| m == "LOGIN") {
        "LOGIN"
    } else {
        res.note = format!(
            "the server offers no password login (AUTH {})",
            caps.auth.join(" ")
        );
        sess.quit_nowait().await;
        return (res, sess.tape.take());
    };
    let login = cand.setting.username.clone();
    let pw = password.expose();
    sess.tape.add_secret(pw);
    let b64 = |t: &str| base64::engine::general_purpose::STANDARD.encode(t);
    sess.tape.add_secret(&b64(pw));
    res.mechanism = Some(mech.to_string());
    res.attempted = true;
    let answer = async {
        if mech == "PLAIN" {
            let payload = b64(&format!("\0{login}\0{pw}"));
            sess.tape.add_secret(&payload);
            sess.send_secret(&format!("AUTH PLAIN {payload}"), "AUTH PLAIN [redacted]")
                .await?;
            let r = sess.read_reply().await?;
            if r.code == 334 {
                // Never send the secret twice: cancel.
                sess.send("*").await?;
                return sess.read_reply().await;
            }
            Ok(r)
        } else {
            let r = sess.command("AUTH LOGIN").await?;
            if r.code != 334 {
                return Ok(r);
            }
            sess.send_secret(&b64(&login), "[redacted]").await?;
            let r = sess.read_reply().await?;
            if r.code != 334 {
                return Ok(r);
            }
            sess.send_secret(&b64(pw), "[redacted]").await?;
            sess.read_reply().await
        }
    }
    .await;
    match answer {
        Ok(r) => {
            res.ok = r.code == 235;
            res.reply = Some(r.summary());
            res.note = if res.ok {
                "the login worked".into()
            } else {
                "the server refused the login".into()
            };
        }
        Err(e) => res.note = format!("the login did not complete: {e}"),
    }
    sess.quit().await;
    (res, sess.tape.take())
}

/// A redaction tape for callers that print a login's lines.
pub fn tape_for(password: &Password) -> Tape {
    let mut t = Tape::new(Instant::now(), None, CheckId::Discover);
    t.add_secret(password.expose());
    t
}

/// The `discover` check of a run: never logs in.
pub(super) async fn check(ctx: &super::Ctx) -> Outcome {
    if split_address(&ctx.settings.account).is_err() {
        return Outcome::skip(CheckId::Discover, "Skipped: no email address to start from");
    }
    ctx.progress(CheckId::Discover, "looking up the address's domain");
    let d = discover(&ctx.settings, &Options::default()).await;
    let mut o = outcome(&d, &ctx.settings);
    o.transcript = d.transcript.clone();
    o
}

/// The outcome of a discovery, with the working candidates in its details.
pub fn outcome(d: &Discovery, settings: &Settings) -> Outcome {
    let working: Vec<&Candidate> = d.working().collect();
    let (status, summary) = if let Some(o) = &d.oauth_only {
        (
            Status::Warn,
            format!(
                "{} accepts only OAuth2 (modern sign-in) on SMTP: a password cannot work",
                o.provider
            ),
        )
    } else if let Some(b) = working.first() {
        let more = working.len() - 1;
        (
            Status::Pass,
            format!(
                "Works: {}:{} {} (from {}){}",
                b.setting.host,
                b.setting.port,
                b.setting.security.label(),
                b.source_labels(),
                if more > 0 {
                    format!(", and {more} more")
                } else {
                    String::new()
                }
            ),
        )
    } else if d.candidates.is_empty() {
        (
            Status::Warn,
            "No settings found for this address".to_string(),
        )
    } else {
        (
            Status::Warn,
            format!(
                "None of the {} settings tried greets with a valid certificate and offers login",
                d.candidates.len()
            ),
        )
    };
    let matches = d.best().is_some_and(|b| {
        b.setting.host.eq_ignore_ascii_case(settings.server_name())
            && b.setting.port == settings.port
            && b.setting.security == settings.security
    });
    let mut o = Outcome::new(CheckId::Discover, status, summary)
        .with("email", &d.email)
        .with("domain", &d.domain)
        .with("provider", &d.provider)
        .with("oauth_only", d.oauth_only.is_some())
        .with("candidates", &d.candidates)
        .with("working", working.len())
        .with("matches_settings", matches)
        .with("sources", &d.sources)
        .with("incoming", &d.incoming)
        .with("mx_hosts", &d.mx_hosts)
        .with("warnings", &d.warnings);
    if let Some(oa) = &d.oauth_only {
        o.set("oauth_provider", &oa.provider);
        o.set("oauth_docs", &oa.docs);
        o.set("oauth_via", &oa.via);
    }
    if d.not_probed > 0 {
        o.set("not_probed", d.not_probed);
    }
    o
}

/// Probes given suggestions (no login) and ranks them, as discovery does
/// after collecting them: at most [`MAX_CANDIDATES`], all at once.
pub async fn probe_suggestions(settings: &Settings, list: Vec<Suggestion>) -> Vec<Candidate> {
    let resolver = super::dns::resolver(settings).ok().map(|(r, _)| r);
    let setup = TlsSetup::load(settings.ca_file.as_deref()).ok();
    let timeout = settings.timeout();
    let start = Instant::now();
    let futs: Vec<_> = list
        .into_iter()
        .take(MAX_CANDIDATES)
        .map(|s| {
            candidates::probe(
                s,
                resolver.as_ref(),
                setup.as_ref(),
                timeout,
                &settings.helo,
                start,
            )
        })
        .collect();
    let mut out: Vec<Candidate> = super::join_all(futs)
        .await
        .into_iter()
        .map(|(c, _)| c)
        .collect();
    out.sort_by_key(Candidate::rank_key);
    out
}
