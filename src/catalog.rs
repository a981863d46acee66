//! The cause catalog and the provider table.
//!
//! Both live as JSON in `assets/` and are embedded at build time, so support
//! engineers can read and extend them without reading Rust, and the binary
//! needs no files beside it. This module parses them once, checks them (every
//! cause has generic fixes, fix text uses only known placeholders, provider
//! patterns compile...) and answers the questions the diagnosis and the
//! wizard ask: what does this cause mean and how is it fixed for this
//! provider, which provider is this server, which preset fits this address.
//!
//! A malformed asset is a build-time mistake: [`load`] reports it as an
//! error and the unit tests call it, so it fails `cargo test` instead of
//! surfacing at some random point at run time.

use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::sync::OnceLock;

const CAUSES_JSON: &str = include_str!("../assets/causes.json");
const PROVIDERS_JSON: &str = include_str!("../assets/providers.json");

/// The only schema version of both asset files this build understands.
pub const SCHEMA: u32 = 1;

/// The fix-list key every cause must have; used when no provider variant fits.
pub const GENERIC: &str = "generic";

/// Placeholders that fix text may contain, written `{name}`; the diagnosis
/// fills them in from the settings and what the checks saw.
pub const PLACEHOLDERS: &[&str] = &[
    "server",
    "port",
    "security",
    "login",
    "sender",
    "recipient",
    "ip",
    "suggested_port",
    "suggested_security",
    "spf_record",
    "cert_names",
    "mx_addresses",
    "working_settings",
    "working_source",
];

/// The `security` values a preset may name: implicit TLS (port 465),
/// STARTTLS, or no encryption.
pub const SECURITY_VALUES: &[&str] = &["tls", "starttls", "none"];

/// One thing that can stop mail from being sent, in words a novice
/// understands, with the steps that fix it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cause {
    /// Stable id (see DESIGN.md); scripts and reports depend on it.
    pub id: String,
    pub title: String,
    pub explanation: String,
    /// Fix steps keyed by provider id, plus [`GENERIC`].
    pub fixes: BTreeMap<String, Vec<Fix>>,
    /// Where the facts behind the fixes come from (providers' docs, RFCs).
    #[serde(default)]
    pub sources: Vec<String>,
}

impl Cause {
    /// Provider variant when present, else generic.
    pub fn fixes_for(&self, provider: Option<&str>) -> &[Fix] {
        provider
            .and_then(|p| self.fixes.get(p))
            .or_else(|| self.fixes.get(GENERIC))
            .map_or(&[], Vec::as_slice)
    }
}

/// What the diagnosis knows about a run that decides whether a fix step
/// applies: no step tells a user to do what they already did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fact {
    /// The settings do not log in.
    AuthOff,
    /// The settings log in.
    AuthOn,
    /// The login was tried and accepted.
    AuthPassed,
    /// The settings use no encryption.
    Unencrypted,
    /// The settings use STARTTLS or SSL/TLS.
    Encrypted,
    /// The settings use port 25.
    Port25,
    /// The port survey found another port that works with a login.
    OtherPortWorks,
    /// Discovery found settings, other than the user's, that work.
    WorkingSettingsFound,
}

/// One fix step: its text, when it applies, and whether it is for whoever
/// runs the server rather than for the user. In the asset a step is a plain
/// string, or `{"text": …, "when": [facts], "unless": [facts], "admin": true}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fix {
    pub text: String,
    /// Shown only when every one of these holds.
    pub when: Vec<Fact>,
    /// Not shown when any of these holds.
    pub unless: Vec<Fact>,
    /// A step for the server's administrator, shown after the user's own.
    pub admin: bool,
}

impl Fact {
    /// Facts only a run can establish; without one (`explain`) a step that
    /// needs them is left out, while steps for a kind of settings stay.
    pub fn needs_run(self) -> bool {
        matches!(
            self,
            Fact::AuthPassed | Fact::OtherPortWorks | Fact::WorkingSettingsFound
        )
    }
}

impl Fix {
    /// Whether the step applies to a run with these facts.
    pub fn applies(&self, facts: &HashSet<Fact>) -> bool {
        self.when.iter().all(|f| facts.contains(f))
            && !self.unless.iter().any(|f| facts.contains(f))
    }
}

impl std::ops::Deref for Fix {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
}

impl<'de> Deserialize<'de> for Fix {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Fix, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Full {
            text: String,
            #[serde(default)]
            when: Vec<Fact>,
            #[serde(default)]
            unless: Vec<Fact>,
            #[serde(default)]
            admin: bool,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Text(String),
            Full(Full),
        }
        Ok(match Form::deserialize(d)? {
            Form::Text(text) => Fix {
                text,
                when: Vec::new(),
                unless: Vec::new(),
                admin: false,
            },
            Form::Full(f) => Fix {
                text: f.text,
                when: f.when,
                unless: f.unless,
                admin: f.admin,
            },
        })
    }
}

/// Settings the wizard can fill in for a provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preset {
    pub server: String,
    pub port: u16,
    /// One of [`SECURITY_VALUES`].
    pub security: String,
}

/// A mail provider or server software whose fixes differ from the generic ones.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provider {
    pub id: String,
    pub name: String,
    /// Server software (Postfix, Exim, Exchange) rather than a provider:
    /// its fixes are hints for whoever runs it, added after the generic
    /// steps instead of replacing them.
    #[serde(default)]
    pub software: bool,
    /// Host names (and their subdomains) of the provider's SMTP servers.
    #[serde(default)]
    pub server_suffixes: Vec<String>,
    /// Host names (and their subdomains) of the provider's inbound MX hosts.
    #[serde(default)]
    pub mx_suffixes: Vec<String>,
    #[serde(default)]
    banner_patterns: Vec<String>,
    #[serde(default)]
    ehlo_patterns: Vec<String>,
    /// Consumer mail domains the provider hosts (gmail.com, me.com...).
    #[serde(default)]
    pub domains: Vec<String>,
    pub preset: Option<Preset>,
    /// The provider's own setup documentation.
    #[serde(default)]
    pub docs: Vec<String>,
    #[serde(skip)]
    banner: Vec<Regex>,
    #[serde(skip)]
    ehlo: Vec<Regex>,
}

/// What a run saw that can tell which provider is behind a server.
#[derive(Debug, Default, Clone, Copy)]
pub struct ProviderEvidence<'a> {
    /// The server name the user entered.
    pub server: Option<&'a str>,
    /// The greeting text (220 line).
    pub banner: Option<&'a str>,
    /// The EHLO reply lines, without the `250-` prefixes.
    pub ehlo_lines: &'a [String],
    /// The domain of the sender address.
    pub sender_domain: Option<&'a str>,
    /// MX hosts of the sender domain, if they were looked up.
    pub mx_hosts: &'a [String],
}

/// The parsed and checked assets.
#[derive(Debug)]
pub struct Catalog {
    causes: Vec<Cause>,
    providers: Vec<Provider>,
}

/// Why an asset could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("{file}: not valid JSON for this schema: {source}")]
    Json {
        file: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("{file}: {message}")]
    Invalid { file: &'static str, message: String },
}

const CAUSES_FILE: &str = "assets/causes.json";
const PROVIDERS_FILE: &str = "assets/providers.json";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CausesFile {
    schema: u32,
    #[serde(default)]
    #[allow(dead_code)]
    about: String,
    causes: Vec<Cause>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProvidersFile {
    schema: u32,
    #[serde(default)]
    #[allow(dead_code)]
    about: String,
    providers: Vec<Provider>,
}

/// The cause ids DESIGN.md's contract first listed; [`crate::cause::CauseId`]
/// has every id, these and the ones added since.
pub const CAUSE_IDS: [&str; 26] = [
    "dns-server-not-found",
    "server-unreachable",
    "port-blocked",
    "wrong-port",
    "not-smtp",
    "wrong-security",
    "tls-required",
    "tls-certificate",
    "auth-not-offered",
    "auth-required",
    "auth-failed",
    "auth-disabled",
    "app-password-required",
    "auth-mechanism-unsupported",
    "relay-denied",
    "ip-not-allowed",
    "sender-not-permitted",
    "spf-not-authorized",
    "reverse-dns-missing",
    "ip-blocklisted",
    "rate-limited",
    "greylisted",
    "recipient-domain-invalid",
    "recipient-rejected",
    "mailbox-full",
    "message-too-large",
];

/// The catalog parsed from the embedded assets.
///
/// # Panics
/// When an embedded asset is malformed; the unit tests load them, so that
/// cannot ship.
pub fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| load().expect("embedded catalog assets are checked by the unit tests"))
}

/// Parses and checks the embedded assets.
pub fn load() -> Result<Catalog, CatalogError> {
    from_json(CAUSES_JSON, PROVIDERS_JSON)
}

/// Parses and checks a causes file and a providers file.
pub fn from_json(causes: &str, providers: &str) -> Result<Catalog, CatalogError> {
    let providers = parse_providers(providers)?;
    let ids: HashSet<&str> = providers.iter().map(|p| p.id.as_str()).collect();
    let causes = parse_causes(causes, &ids)?;
    Ok(Catalog { causes, providers })
}

fn invalid(file: &'static str, message: String) -> CatalogError {
    CatalogError::Invalid { file, message }
}

fn check_schema(file: &'static str, schema: u32) -> Result<(), CatalogError> {
    if schema == SCHEMA {
        Ok(())
    } else {
        Err(invalid(
            file,
            format!("schema {schema} is not supported (expected {SCHEMA})"),
        ))
    }
}

/// True for a stable id: lowercase letters, digits, `-` and `_`.
fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

fn parse_causes(json: &str, providers: &HashSet<&str>) -> Result<Vec<Cause>, CatalogError> {
    let file: CausesFile = serde_json::from_str(json).map_err(|source| CatalogError::Json {
        file: CAUSES_FILE,
        source,
    })?;
    check_schema(CAUSES_FILE, file.schema)?;
    let mut seen = HashSet::new();
    for cause in &file.causes {
        if !seen.insert(cause.id.as_str()) {
            return Err(invalid(CAUSES_FILE, format!("cause {} twice", cause.id)));
        }
        check_cause(cause, providers).map_err(|m| invalid(CAUSES_FILE, m))?;
    }
    Ok(file.causes)
}

fn check_cause(cause: &Cause, providers: &HashSet<&str>) -> Result<(), String> {
    let id = &cause.id;
    if !valid_id(id) {
        return Err(format!("cause id {id:?} is not lowercase-kebab"));
    }
    if cause.title.trim().is_empty() || cause.explanation.trim().is_empty() {
        return Err(format!("cause {id}: empty title or explanation"));
    }
    if !cause.fixes.contains_key(GENERIC) {
        return Err(format!("cause {id}: no generic fixes"));
    }
    for (key, steps) in &cause.fixes {
        if key != GENERIC && !providers.contains(key.as_str()) {
            return Err(format!("cause {id}: fixes for unknown provider {key}"));
        }
        if steps.is_empty() || steps.iter().any(|s| s.trim().is_empty()) {
            return Err(format!("cause {id}: empty fix list or step for {key}"));
        }
        for step in steps {
            check_placeholders(step).map_err(|m| format!("cause {id}, {key}: {m}"))?;
        }
    }
    Ok(())
}

/// The `{name}` placeholders in a fix step, in order.
pub fn placeholders(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                out.push(&after[..close]);
                rest = &after[close + 1..];
            }
            None => break,
        }
    }
    out
}

/// Fails on an unknown placeholder or a stray brace.
fn check_placeholders(text: &str) -> Result<(), String> {
    let opens = text.matches('{').count();
    let closes = text.matches('}').count();
    let names = placeholders(text);
    if opens != closes || names.len() != opens {
        return Err(format!("unbalanced braces in {text:?}"));
    }
    match names.iter().find(|n| !PLACEHOLDERS.contains(n)) {
        Some(n) => Err(format!("unknown placeholder {{{n}}} in {text:?}")),
        None => Ok(()),
    }
}

fn parse_providers(json: &str) -> Result<Vec<Provider>, CatalogError> {
    let file: ProvidersFile = serde_json::from_str(json).map_err(|source| CatalogError::Json {
        file: PROVIDERS_FILE,
        source,
    })?;
    check_schema(PROVIDERS_FILE, file.schema)?;
    let mut seen = HashSet::new();
    let mut providers = file.providers;
    for p in &mut providers {
        if !seen.insert(p.id.clone()) {
            return Err(invalid(PROVIDERS_FILE, format!("provider {} twice", p.id)));
        }
        prepare_provider(p).map_err(|m| invalid(PROVIDERS_FILE, format!("{}: {m}", p.id)))?;
    }
    Ok(providers)
}

/// Checks one provider, normalises its host names and compiles its patterns.
fn prepare_provider(p: &mut Provider) -> Result<(), String> {
    if !valid_id(&p.id) || p.id == GENERIC {
        return Err("id is not a usable provider id".into());
    }
    if p.name.trim().is_empty() {
        return Err("empty name".into());
    }
    for list in [&mut p.server_suffixes, &mut p.mx_suffixes, &mut p.domains] {
        for host in list.iter_mut() {
            *host = normalize_host(host);
            if host.is_empty() || host.contains(|c: char| c.is_whitespace() || c == '@') {
                return Err(format!("{host:?} is not a host name"));
            }
        }
    }
    if let Some(preset) = &p.preset {
        check_preset(preset)?;
    }
    p.banner = compile_all(&p.banner_patterns)?;
    p.ehlo = compile_all(&p.ehlo_patterns)?;
    Ok(())
}

fn check_preset(preset: &Preset) -> Result<(), String> {
    if !SECURITY_VALUES.contains(&preset.security.as_str()) {
        return Err(format!("preset security {:?} is unknown", preset.security));
    }
    if preset.port == 0 || preset.server.trim().is_empty() {
        return Err("preset needs a server and a port".into());
    }
    Ok(())
}

fn compile_all(patterns: &[String]) -> Result<Vec<Regex>, String> {
    patterns
        .iter()
        .map(|p| {
            RegexBuilder::new(p)
                .case_insensitive(true)
                .build()
                .map_err(|e| format!("pattern {p:?}: {e}"))
        })
        .collect()
}

/// Lowercase, without surrounding spaces or leading/trailing dots.
fn normalize_host(host: &str) -> String {
    host.trim().trim_matches('.').to_ascii_lowercase()
}

/// True when `host` is `suffix` or a subdomain of it. `host` must already be
/// normalised; `suffix` is normalised at load time. Label boundaries count:
/// `evil-office365.com` is not under `office365.com`.
fn under(host: &str, suffix: &str) -> bool {
    match host.strip_suffix(suffix) {
        Some("") => true,
        Some(rest) => rest.ends_with('.'),
        None => false,
    }
}

fn any_under(host: &str, suffixes: &[String]) -> bool {
    !host.is_empty() && suffixes.iter().any(|s| under(host, s))
}

/// The domain part of an address, or the text itself when it has no `@`.
fn domain_of(text: &str) -> String {
    let domain = text.rsplit_once('@').map_or(text, |(_, d)| d);
    normalize_host(domain)
}

/// Points for each kind of evidence; a server name the user typed is the
/// strongest hint, EHLO keywords the weakest.
const SERVER_POINTS: u32 = 5;
const MX_POINTS: u32 = 3;
const DOMAIN_POINTS: u32 = 3;
const BANNER_POINTS: u32 = 2;
const EHLO_POINTS: u32 = 1;
const MAX_PATTERN_HITS: u32 = 2;

impl Provider {
    /// How strongly the evidence points at this provider; 0 for not at all.
    fn score(&self, ev: &ProviderEvidence<'_>) -> u32 {
        let mut score = 0;
        if ev
            .server
            .is_some_and(|s| any_under(&normalize_host(s), &self.server_suffixes))
        {
            score += SERVER_POINTS;
        }
        if self.matches_mx(ev.mx_hosts) {
            score += MX_POINTS;
        }
        if ev.sender_domain.is_some_and(|d| self.hosts_domain(d)) {
            score += DOMAIN_POINTS;
        }
        let banner = ev.banner.map_or(0, |b| hits(&self.banner, &[b]));
        let ehlo = hits(&self.ehlo, ev.ehlo_lines);
        score + BANNER_POINTS * banner + EHLO_POINTS * ehlo
    }

    fn matches_mx(&self, mx_hosts: &[String]) -> bool {
        mx_hosts
            .iter()
            .any(|h| any_under(&normalize_host(h), &self.mx_suffixes))
    }

    /// True when `domain` (or an address in it) is one of the consumer
    /// domains this provider hosts.
    pub fn hosts_domain(&self, domain: &str) -> bool {
        let domain = domain_of(domain);
        self.domains.contains(&domain)
    }
}

/// How many of `patterns` match at least one of `lines`, capped so a long
/// EHLO list cannot outweigh a server name.
fn hits<S: AsRef<str>>(patterns: &[Regex], lines: &[S]) -> u32 {
    let n = patterns
        .iter()
        .filter(|re| lines.iter().any(|l| re.is_match(l.as_ref())))
        .count();
    u32::try_from(n).unwrap_or(u32::MAX).min(MAX_PATTERN_HITS)
}

impl Catalog {
    pub fn cause(&self, id: &str) -> Option<&Cause> {
        self.causes.iter().find(|c| c.id == id)
    }

    pub fn causes(&self) -> &[Cause] {
        &self.causes
    }

    pub fn providers(&self) -> &[Provider] {
        &self.providers
    }

    pub fn provider(&self, id: &str) -> Option<&Provider> {
        self.providers.iter().find(|p| p.id == id)
    }

    /// Detects the provider from what a check saw: server name suffix, MX
    /// suffix, sender domain, banner and EHLO patterns. The best score wins
    /// (ties go to the provider listed first); `None` when nothing matches.
    pub fn detect_provider(&self, ev: &ProviderEvidence<'_>) -> Option<&Provider> {
        let mut best: Option<(&Provider, u32)> = None;
        for p in &self.providers {
            let score = p.score(ev);
            if score > 0 && best.is_none_or(|(_, b)| score > b) {
                best = Some((p, score));
            }
        }
        best.map(|(p, _)| p)
    }

    /// Preset for an email address's domain (consumer domains list),
    /// case-insensitive. Accepts a whole address too.
    pub fn preset_for_domain(&self, domain: &str) -> Option<(&Provider, &Preset)> {
        let domain = domain_of(domain);
        self.providers
            .iter()
            .filter(|p| p.domains.contains(&domain))
            .find_map(|p| p.preset.as_ref().map(|preset| (p, preset)))
    }

    /// Provider whose mx_suffixes match one of these MX hosts (for
    /// auto-detection from a custom domain's MX). Hosts are tried in the
    /// order given, so pass them by MX preference.
    pub fn provider_for_mx(&self, mx_hosts: &[String]) -> Option<&Provider> {
        mx_hosts.iter().find_map(|h| {
            let host = normalize_host(h);
            self.providers
                .iter()
                .find(|p| any_under(&host, &p.mx_suffixes))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_assets_load() {
        let c = load().expect("assets must be valid");
        assert!(!c.causes().is_empty());
        assert!(!c.providers().is_empty());
    }

    #[test]
    fn suffixes_match_on_label_boundaries() {
        assert!(under("smtp.office365.com", "office365.com"));
        assert!(under("office365.com", "office365.com"));
        assert!(!under("evil-office365.com", "office365.com"));
        assert!(!under("office365.com.evil.net", "office365.com"));
        assert_eq!(normalize_host(" SMTP.Gmail.COM. "), "smtp.gmail.com");
    }

    #[test]
    fn placeholders_are_found_and_checked() {
        assert_eq!(placeholders("use {server}:{port}"), ["server", "port"]);
        assert!(check_placeholders("use {server}").is_ok());
        assert!(check_placeholders("use {host}").is_err());
        assert!(check_placeholders("use {server").is_err());
        assert!(check_placeholders("use server}").is_err());
    }

    #[test]
    fn fixes_fall_back_to_generic() {
        let cause = catalog().cause("auth-failed").expect("auth-failed");
        assert_eq!(cause.fixes_for(None), cause.fixes_for(Some("no-such")));
        assert!(!cause.fixes_for(None).is_empty());
    }

    const ONE_PROVIDER: &str = r#"{"schema":1,"providers":[{"id":"p","name":"P",
        "server_suffixes":["smtp.p.example"],"preset":null}]}"#;

    fn causes_json(fixes: &str) -> String {
        format!(
            r#"{{"schema":1,"causes":[{{"id":"c","title":"T","explanation":"E","fixes":{fixes}}}]}}"#
        )
    }

    #[test]
    fn bad_assets_are_errors_not_panics() {
        let ok = causes_json(r#"{"generic":["do {server}"],"p":["x"]}"#);
        assert!(from_json(&ok, ONE_PROVIDER).is_ok());
        for fixes in [
            r#"{"p":["x"]}"#,
            r#"{"generic":[]}"#,
            r#"{"generic":["x"],"nobody":["y"]}"#,
            r#"{"generic":["use {hostname}"]}"#,
        ] {
            assert!(
                from_json(&causes_json(fixes), ONE_PROVIDER).is_err(),
                "{fixes}"
            );
        }
        let bad_regex = ONE_PROVIDER.replace(r#""preset""#, r#""banner_patterns":["("],"preset""#);
        assert!(from_json(&ok, &bad_regex).is_err());
        let bad_security = ONE_PROVIDER.replace(
            "null",
            r#"{"server":"smtp.p.example","port":465,"security":"ssl"}"#,
        );
        assert!(from_json(&ok, &bad_security).is_err());
        assert!(from_json("{", ONE_PROVIDER).is_err());
        assert!(from_json(&ok.replace("\"schema\":1", "\"schema\":2"), ONE_PROVIDER).is_err());
    }
}
