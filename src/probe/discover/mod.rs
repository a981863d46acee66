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
use super::details as view;
use super::lookup;
use super::model::{CheckId, Outcome, Status, TranscriptLine};
use super::session::Caps;
use super::smtp::{Session, Tape};
use super::tls::TlsSetup;
use crate::settings::{Password, Security, Settings};
use hickory_resolver::TokioResolver;
use serde::Serialize;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedSender;

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

    /// The kind as a report's details name it (`"srv"`, `"well-known"`…),
    /// so that a front end reading an outcome can label its sources.
    pub fn from_name(name: &str) -> Option<SourceKind> {
        Some(match name {
            "autoconfig" => SourceKind::Autoconfig,
            "well-known" => SourceKind::WellKnown,
            "ispdb" => SourceKind::Ispdb,
            "preset" => SourceKind::Preset,
            "srv" => SourceKind::Srv,
            "mx" => SourceKind::Mx,
            "guess" => SourceKind::Guess,
            _ => return None,
        })
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
    /// Told "works: host:port security (source)" the moment each working
    /// candidate has answered, so a screen can show it before the rest.
    pub found: Option<UnboundedSender<String>>,
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
            found: None,
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

/// What one discovery run works with: the address and the network set-up,
/// made once and shared by every step.
struct Run<'a> {
    opts: &'a Options,
    email: String,
    domain: String,
    helo: String,
    timeout: Duration,
    resolver: Option<TokioResolver>,
    setup: Option<TlsSetup>,
    /// When the run began: transcript times count from here.
    start: Instant,
}

/// The RFC 6186 names asked for: the service label, the security the
/// service implies and the kind of server it names.
const SRV_NAMES: [(&str, Security, &str); 5] = [
    ("_submissions._tcp", Security::Tls, "smtp"),
    ("_submission._tcp", Security::Starttls, "smtp"),
    ("_imaps._tcp", Security::Tls, "imap"),
    ("_imap._tcp", Security::Starttls, "imap"),
    ("_pop3s._tcp", Security::Tls, "pop3"),
];

/// One SRV lookup: the record name asked and its answer.
type SrvAnswer = (String, Result<Vec<autodetect::SrvTarget>, String>);

/// One autoconfig fetch: which source, its URL and the file or a report.
type ConfigAnswer = (
    SourceKind,
    String,
    Result<autoconfig::ConfigFile, (String, String)>,
);

/// What the DNS and HTTPS sources answered, before any is merged.
struct NetAnswers {
    mx: lookup::Lookup<Vec<(u16, String)>>,
    srv: Vec<(SrvAnswer, (&'static str, Security, &'static str))>,
    configs: Vec<ConfigAnswer>,
}

/// Fetches one autoconfig URL and parses it. Returns the file or a report.
async fn fetch_config(
    run: &Run<'_>,
    r: &TokioResolver,
    setup: &TlsSetup,
    host: &str,
    path: &str,
) -> Result<autoconfig::ConfigFile, (String, String)> {
    let ip = candidates::address(Some(r), host)
        .await
        .map_err(|e| ("none".to_string(), e))?;
    let addr = SocketAddr::new(ip, run.opts.https_port);
    let got = http::get(addr, host, path, setup, run.timeout)
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
    autoconfig::parse(&got.body, &run.email).map_err(|e| ("refused".to_string(), e))
}

/// Runs discovery for `settings.account` with the resolver, CA file and
/// timeout of `settings`. Never logs in.
///
/// The steps run in a fixed order so that the sources' reports, the
/// warnings and the suggestions always come out in the same order: the
/// shipped database, the autoconfig files, SRV, MX, port guesses; then
/// every suggestion is probed and the candidates are ranked.
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
    let run = prepare(settings, opts, email, domain, start, &mut out.warnings);
    let mut col = Collector {
        email: run.email.clone(),
        local,
        list: Vec::new(),
    };
    from_database(&run, &mut col, &mut out);
    let answers = network_sources(&run).await;
    merge_configs(&run, &mut col, &mut out, answers.configs);
    let srv_not_offered = merge_srv(&run, &mut col, &mut out, answers.srv);
    merge_mx(&run, &mut col, &mut out, answers.mx);
    add_guesses(&run, &mut col, &mut out, srv_not_offered).await;
    probe_and_rank(&run, col.list, &mut out).await;
    out
}

/// The resolver and TLS set-up of a run. What cannot be set up becomes a
/// warning and the sources that need it are skipped: the others still
/// count.
fn prepare<'a>(
    settings: &Settings,
    opts: &'a Options,
    email: String,
    domain: String,
    start: Instant,
    warnings: &mut Vec<String>,
) -> Run<'a> {
    let resolver = match super::dns::resolver(settings) {
        Ok((r, _)) => Some(r),
        Err(e) => {
            warnings.push(format!("no DNS lookups: {e}"));
            None
        }
    };
    let setup = match TlsSetup::load(settings.ca_file.as_deref()) {
        Ok(s) => Some(s),
        Err(e) => {
            warnings.push(format!("no TLS: {e}"));
            None
        }
    };
    Run {
        opts,
        email,
        domain,
        helo: settings.helo.clone(),
        timeout: settings.timeout(),
        resolver,
        setup,
        start,
    }
}

/// The shipped provider database and the presets: they need no network,
/// so they name the provider (and whether it takes only OAuth2) first.
fn from_database(run: &Run<'_>, col: &mut Collector, out: &mut Discovery) {
    let domain = &run.domain;
    if let Some(p) = ispdb::ispdb().for_domain(domain) {
        out.provider = Some(p.name.clone());
        add_db(col, out, p, &run.email, &format!("{} ({domain})", p.name));
        if p.oauth_only() {
            out.oauth_only = Some(OauthOnly {
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
    if let Some((name, server, _)) = ispdb::preset_for_domain(domain)
        && let Ok(d) = db_declared(&server, &run.email)
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
}

/// Asks the DNS and HTTPS sources all at once (MX, the SRV names, both
/// autoconfig locations), so that the slowest one bounds the wait rather
/// than their sum. Without a resolver none of them can be asked.
async fn network_sources(run: &Run<'_>) -> NetAnswers {
    let Some(r) = &run.resolver else {
        return NetAnswers {
            mx: Ok(Vec::new()),
            srv: Vec::new(),
            configs: Vec::new(),
        };
    };
    let (mx, srv, configs) = tokio::join!(
        lookup::mx(r, &run.domain),
        srv_lookups(r, &run.domain),
        fetch_configs(run, r)
    );
    NetAnswers {
        mx,
        srv: srv.into_iter().zip(SRV_NAMES).collect(),
        configs,
    }
}

/// The records of every name in [`SRV_NAMES`], in that order.
async fn srv_lookups(r: &TokioResolver, domain: &str) -> Vec<SrvAnswer> {
    let futs: Vec<_> = SRV_NAMES
        .iter()
        .map(|(svc, _, _)| {
            let name = format!("{svc}.{domain}");
            async move {
                let found = autodetect::srv(r, &name).await;
                (name, found)
            }
        })
        .collect();
    super::join_all(futs).await
}

/// Both autoconfig files for the address, fetched at once; none when TLS
/// cannot be set up (the files are only trusted over HTTPS) or the caller
/// turned autoconfig off.
async fn fetch_configs(run: &Run<'_>, r: &TokioResolver) -> Vec<ConfigAnswer> {
    let (Some(setup), true) = (&run.setup, run.opts.autoconfig) else {
        return Vec::new();
    };
    let domain = &run.domain;
    let ac_host = format!("autoconfig.{domain}");
    let ac_path = format!(
        "/mail/config-v1.1.xml?emailaddress={}",
        url_encode(&run.email)
    );
    let wk_path = "/.well-known/autoconfig/mail/config-v1.1.xml";
    let (a, b) = tokio::join!(
        fetch_config(run, r, setup, &ac_host, &ac_path),
        fetch_config(run, r, setup, domain, wk_path),
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

/// Merges what the autoconfig fetches brought; a failed or refused fetch
/// is reported (and a refusal warned about: someone serves a file that
/// mail programs would misread).
fn merge_configs(
    run: &Run<'_>,
    col: &mut Collector,
    out: &mut Discovery,
    configs: Vec<ConfigAnswer>,
) {
    for (kind, url, res) in configs {
        match res {
            Ok(file) => merge_config_file(run, col, out, kind, &url, &file),
            Err((result, why)) => {
                if result == "refused" {
                    out.warnings.push(format!("{url}: {why}"));
                }
                out.sources
                    .push(report(kind, &result, format!("{url}: {why}")));
            }
        }
    }
}

/// Adds one autoconfig file's servers, unless the file says it is for
/// other domains: then it is a wrong file and only reported.
fn merge_config_file(
    run: &Run<'_>,
    col: &mut Collector,
    out: &mut Discovery,
    kind: SourceKind,
    url: &str,
    file: &autoconfig::ConfigFile,
) {
    let domain = &run.domain;
    if !(file.domains.is_empty() || file.domains.contains(domain)) {
        let others = file.domains.join(", ");
        out.sources.push(report(
            kind,
            "refused",
            format!("{url} describes {others} , not {domain}: not used"),
        ));
        out.warnings.push(format!(
            "The autoconfig file at {url} is for {others}, not for {domain}; it was not used."
        ));
        return;
    }
    for d in &file.outgoing {
        let detail = url.to_string();
        col.add(d, Source { kind, detail });
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
    let result = if file.outgoing.is_empty() {
        "none"
    } else {
        "found"
    };
    let detail = format!("{url}: {} outgoing server(s)", file.outgoing.len());
    out.sources.push(report(kind, result, detail));
}

/// Merges the SRV answers. Returns whether the domain says (target ".")
/// that it offers no mail submission, so that no port is guessed.
fn merge_srv(
    run: &Run<'_>,
    col: &mut Collector,
    out: &mut Discovery,
    srv: Vec<(SrvAnswer, (&'static str, Security, &'static str))>,
) -> bool {
    let mut not_offered = false;
    for ((name, res), (_, security, kind)) in srv {
        match res {
            Ok(list) if list.is_empty() => out.sources.push(report(
                SourceKind::Srv,
                "none",
                format!("{name}: no record"),
            )),
            Ok(list) if list.iter().all(|t| t.not_offered()) => {
                not_offered |= kind == "smtp";
                out.sources.push(report(
                    SourceKind::Srv,
                    "found",
                    format!("{name}: target \".\" — the domain says this service is not offered"),
                ));
            }
            Ok(list) => merge_srv_targets(run, col, out, &name, &list, (security, kind)),
            Err(e) => out.sources.push(report(SourceKind::Srv, "error", e)),
        }
    }
    not_offered
}

/// Adds the targets of one SRV name (at most 4, host names only):
/// submission targets become suggestions, mail-reading ones are listed as
/// incoming servers.
fn merge_srv_targets(
    run: &Run<'_>,
    col: &mut Collector,
    out: &mut Discovery,
    name: &str,
    list: &[autodetect::SrvTarget],
    (security, kind): (Security, &str),
) {
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
            username: run.email.clone(),
        };
        if kind == "smtp" {
            let detail = name.to_string();
            col.add(
                &d,
                Source {
                    kind: SourceKind::Srv,
                    detail,
                },
            );
        } else {
            add_incoming(&mut out.incoming, d);
        }
    }
    let targets: Vec<String> = list
        .iter()
        .map(|t| {
            if t.not_offered() {
                ".".to_string()
            } else {
                format!("{}:{}", t.host, t.port)
            }
        })
        .collect();
    let detail = format!("{name}: {}", targets.join(", "));
    out.sources.push(report(SourceKind::Srv, "found", detail));
}

/// Records the MX hosts and adds the provider behind them (the database's
/// settings, then a preset's). A failed lookup is only reported: the MX is
/// a hint, not a requirement.
fn merge_mx(
    run: &Run<'_>,
    col: &mut Collector,
    out: &mut Discovery,
    mx: lookup::Lookup<Vec<(u16, String)>>,
) {
    let list = match mx {
        Ok(list) => list,
        Err((kind, _)) => {
            let result = match kind {
                super::dns::LookupFailure::NoSuchName | super::dns::LookupFailure::NoRecords => {
                    "none"
                }
                _ => "error",
            };
            let detail = format!("MX {}: {}", run.domain, kind.as_str());
            out.sources.push(report(SourceKind::Mx, result, detail));
            return;
        }
    };
    out.mx_hosts = list
        .into_iter()
        .map(|(_, h)| h.trim_end_matches('.').to_ascii_lowercase())
        .filter(|h| !h.is_empty() && h != ".")
        .take(8)
        .collect();
    // Both are asked: the database and a preset may each add settings.
    let by_database = mx_database(run, col, out);
    let by_preset = mx_preset(run, col, out);
    if by_database || by_preset {
        return;
    }
    let (result, detail) = if out.mx_hosts.is_empty() {
        ("none", "no MX hosts".to_string())
    } else {
        let hosts = out.mx_hosts.join(", ");
        ("found", format!("MX {hosts} (no known provider)"))
    };
    out.sources.push(report(SourceKind::Mx, result, detail));
}

/// The database's provider for the MX hosts, if any: its servers are
/// added, and an OAuth2-only provider is noted unless the domain itself
/// already named one. Returns whether a provider was found.
fn mx_database(run: &Run<'_>, col: &mut Collector, out: &mut Discovery) -> bool {
    let db = ispdb::ispdb();
    let Some((p, matched)) = out.mx_hosts.iter().find_map(|h| db.for_mx_host(h)) else {
        return false;
    };
    out.provider.get_or_insert(p.name.clone());
    let detail = format!("MX under {matched}: {}", p.name);
    for s in &p.smtp {
        if let Ok(d) = db_declared(s, &run.email) {
            let detail = detail.clone();
            col.add(
                &d,
                Source {
                    kind: SourceKind::Mx,
                    detail,
                },
            );
        }
    }
    if out.oauth_only.is_none() && p.oauth_only() {
        out.oauth_only = Some(OauthOnly {
            provider: p.name.clone(),
            docs: p.docs.clone(),
            via: format!("the domain's mail (MX) is handled by {}", p.name),
        });
    }
    out.sources.push(report(SourceKind::Mx, "found", detail));
    true
}

/// A preset whose provider handles the MX hosts, if any. Returns whether
/// one was found.
fn mx_preset(run: &Run<'_>, col: &mut Collector, out: &mut Discovery) -> bool {
    let Some((name, server, _)) = ispdb::preset_for_mx(&out.mx_hosts) else {
        return false;
    };
    let Ok(d) = db_declared(&server, &run.email) else {
        return false;
    };
    out.provider.get_or_insert(name.clone());
    let detail = format!("MX: {name}");
    col.add(
        &d,
        Source {
            kind: SourceKind::Mx,
            detail: detail.clone(),
        },
    );
    out.sources.push(report(SourceKind::Mx, "found", detail));
    true
}

/// Port guessing on the hosts named so far, or on the MX and the usual
/// `smtp.`/`mail.` hosts when no source named one; not when the domain's
/// SRV records say it offers no submission at all (a guess would contradict
/// what the domain publishes).
async fn add_guesses(
    run: &Run<'_>,
    col: &mut Collector,
    out: &mut Discovery,
    srv_not_offered: bool,
) {
    let mut hosts: Vec<(String, String)> = Vec::new();
    for s in &col.list {
        if !hosts.iter().any(|(h, _)| *h == s.host) {
            hosts.push((s.host.clone(), s.username.clone()));
        }
    }
    if hosts.is_empty() && srv_not_offered {
        out.warnings.push(format!(
            "{} publishes SRV records saying it offers no mail submission (target \".\"); no port was guessed",
            run.domain
        ));
    } else if hosts.is_empty() {
        hosts = usual_hosts(run, out).await;
    }
    for (h, username) in hosts.iter().take(4) {
        guess_ports(run.opts, col, h, username);
    }
}

/// The first two MX hosts and `smtp.`/`mail.` under the domain, those that
/// exist in DNS (a host without an address is reported, not guessed on),
/// each with the full address as the username.
async fn usual_hosts(run: &Run<'_>, out: &mut Discovery) -> Vec<(String, String)> {
    let domain = &run.domain;
    let mut guess_hosts: Vec<String> = Vec::new();
    guess_hosts.extend(out.mx_hosts.iter().take(2).cloned());
    for h in [format!("smtp.{domain}"), format!("mail.{domain}")] {
        if !guess_hosts.contains(&h) {
            guess_hosts.push(h);
        }
    }
    let found = super::join_all(
        guess_hosts
            .iter()
            .map(|h| candidates::address(run.resolver.as_ref(), h))
            .collect(),
    )
    .await;
    let mut hosts = Vec::new();
    for (h, a) in guess_hosts.into_iter().zip(found) {
        match a {
            Ok(_) => hosts.push((h, run.email.clone())),
            Err(e) => out.sources.push(report(SourceKind::Guess, "none", e)),
        }
    }
    hosts
}

/// Adds the usual ports of one host as guesses, skipping a port some source
/// already declared (whatever its security: the source knows better).
fn guess_ports(opts: &Options, col: &mut Collector, host: &str, username: &str) {
    for &(port, security) in &opts.guess_ports {
        if col.list.iter().any(|s| s.host == host && s.port == port) {
            continue;
        }
        let d = Declared {
            kind: "smtp".into(),
            host: host.to_string(),
            port,
            security,
            auth: Vec::new(),
            username_pattern: String::new(),
            username: username.to_string(),
        };
        let detail = format!("{host}:{port}");
        col.add(
            &d,
            Source {
                kind: SourceKind::Guess,
                detail,
            },
        );
    }
}

/// Probes the suggestions without logging in, all at once, and ranks them
/// best first. The declared settings go before the guesses, so that when
/// there are more than the limit it is guesses that are left unprobed.
async fn probe_and_rank(run: &Run<'_>, mut list: Vec<Suggestion>, out: &mut Discovery) {
    list.sort_by_key(|s| s.sources.iter().map(|x| x.kind).min());
    if list.len() > run.opts.max_candidates {
        out.not_probed = list.len() - run.opts.max_candidates;
        list.truncate(run.opts.max_candidates);
    }
    let futs: Vec<_> = list
        .into_iter()
        .map(|s| async {
            let (c, lines) = candidates::probe(
                s,
                run.resolver.as_ref(),
                run.setup.as_ref(),
                run.timeout,
                &run.helo,
                run.start,
            )
            .await;
            if c.works
                && let Some(tx) = &run.opts.found
            {
                let _ = tx.send(format!(
                    "works: {}:{} {} ({})",
                    c.setting.host,
                    c.setting.port,
                    c.setting.security.label(),
                    c.source_labels()
                ));
            }
            (c, lines)
        })
        .collect();
    let mut cands: Vec<Candidate> = Vec::new();
    for (c, lines) in super::join_all(futs).await {
        out.transcript.extend(lines);
        cands.push(c);
    }
    cands.sort_by_key(Candidate::rank_key);
    out.candidates = cands;
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
    if let Some(why) = no_login_reason(discovery, password) {
        res.note = why;
        return (res, Vec::new());
    }
    let (mut sess, caps) = match open_for_login(settings, cand).await {
        Ok(x) => x,
        Err((why, lines)) => {
            res.note = why;
            return (res, lines);
        }
    };
    let Some(mech) = password_mechanism(&caps.auth) else {
        res.note = format!(
            "the server offers no password login (AUTH {})",
            caps.auth.join(" ")
        );
        sess.quit_nowait().await;
        return (res, sess.tape.take());
    };
    let login = cand.setting.username.as_str();
    let pw = password.expose();
    for secret in crate::probe::secrets::all(login, pw, "") {
        sess.tape.add_secret_bytes(&secret);
    }
    res.mechanism = Some(mech.to_string());
    res.attempted = true;
    let answer = super::session::password_exchange(&mut sess, mech, login, pw).await;
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

/// Why no password may be sent at all, before connecting: a provider that
/// takes only OAuth2 would count a password try against the account.
fn no_login_reason(discovery: &Discovery, password: &Password) -> Option<String> {
    if let Some(o) = &discovery.oauth_only {
        return Some(format!(
            "{} accepts only OAuth2 (modern sign-in) on SMTP: no password was tried",
            o.provider
        ));
    }
    if password.is_empty() {
        return Some("no password given".into());
    }
    None
}

/// Opens the candidate up to the login step. Refuses (quitting, with the
/// lines so far) when the connection is not encrypted with a valid
/// certificate: a password must never cross a connection anyone could read
/// or intercept.
async fn open_for_login(
    settings: &Settings,
    cand: &Candidate,
) -> Result<(Session, Caps), (String, Vec<TranscriptLine>)> {
    let resolver = super::dns::resolver(settings).ok().map(|(r, _)| r);
    let setup = TlsSetup::load(settings.ca_file.as_deref()).ok();
    let (probe, sess) = candidates::open(
        &cand.setting,
        resolver.as_ref(),
        setup.as_ref(),
        settings.timeout(),
        &settings.helo,
        Instant::now(),
    )
    .await;
    let Some((mut sess, caps)) = sess else {
        let why = probe.note.unwrap_or_else(|| probe.state.clone());
        return Err((format!("could not reach the login step: {why}"), Vec::new()));
    };
    if !(probe.encrypted && probe.cert_ok == Some(true)) {
        sess.quit_nowait().await;
        return Err((
            "the connection is not encrypted with a valid certificate: no password was sent".into(),
            sess.tape.take(),
        ));
    }
    Ok((sess, caps))
}

/// PLAIN when offered (one round trip), else LOGIN; None when the server
/// offers neither password mechanism.
fn password_mechanism(offered: &[String]) -> Option<&'static str> {
    ["PLAIN", "LOGIN"]
        .into_iter()
        .find(|m| offered.iter().any(|o| o == m))
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
    // Each working candidate is shown as it answers; the channel closes
    // when the discovery (and the options holding its sender) are done.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let run = async move {
        let opts = Options {
            found: Some(tx),
            ..Options::default()
        };
        discover(&ctx.settings, &opts).await
    };
    let show = async {
        while let Some(line) = rx.recv().await {
            ctx.progress(CheckId::Discover, line);
        }
    };
    let (d, ()) = tokio::join!(run, show);
    let mut o = outcome(&d, &ctx.settings);
    o.transcript = d.transcript.clone();
    o
}

/// The status and one-line summary: OAuth2-only first (a password cannot
/// work whatever the settings), then the best working candidate.
fn summary(d: &Discovery, working: &[&Candidate]) -> (Status, String) {
    if let Some(o) = &d.oauth_only {
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
    }
}

/// The outcome of a discovery, with the working candidates in its details.
pub fn outcome(d: &Discovery, settings: &Settings) -> Outcome {
    let working: Vec<&Candidate> = d.working().collect();
    let (status, summary) = summary(d, &working);
    let matches = d.best().is_some_and(|b| {
        b.setting.host.eq_ignore_ascii_case(settings.server_name())
            && b.setting.port == settings.port
            && b.setting.security == settings.security
    });
    let oauth = d.oauth_only.as_ref();
    Outcome::new(CheckId::Discover, status, summary).with_view(view::Discover {
        email: Some(d.email.clone()),
        domain: Some(d.domain.clone()),
        provider: Some(d.provider.clone()),
        oauth_only: Some(oauth.is_some()),
        oauth_provider: oauth.map(|oa| oa.provider.clone()),
        oauth_docs: oauth.map(|oa| oa.docs.clone()),
        oauth_via: oauth.map(|oa| oa.via.clone()),
        candidates: Some(d.candidates.iter().map(view::CandidateRow::from).collect()),
        working: Some(working.len() as u64),
        matches_settings: Some(matches),
        sources: Some(view::values(&d.sources)),
        incoming: Some(view::values(&d.incoming)),
        mx_hosts: Some(d.mx_hosts.clone()),
        warnings: Some(d.warnings.clone()),
        not_probed: (d.not_probed > 0).then_some(d.not_probed as u64),
        ..Default::default()
    })
}

fn json<T: Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or_default()
}

impl From<&Candidate> for view::CandidateRow {
    fn from(c: &Candidate) -> view::CandidateRow {
        let Suggestion {
            host,
            port,
            security,
            username,
            username_form,
            declared_auth,
            sources,
        } = c.setting.clone();
        view::CandidateRow {
            host,
            port,
            security: json(&security).as_str().unwrap_or_default().to_string(),
            username: Some(username),
            username_form: Some(username_form),
            declared_auth,
            sources: view::values(&sources),
            probe: json(&c.probe),
            works: c.works,
        }
    }
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
