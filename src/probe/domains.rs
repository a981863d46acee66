//! The checks outside the mail server's settings: the recipient domain's
//! MX (`recipient.mx`), the sender domain's DMARC (`sender.dmarc`), the
//! public IP (`net.public_ip`), its reverse DNS (`net.ptr`) and, when asked,
//! DNS blocklists (`net.dnsbl`).

use super::Ctx;
use super::details as view;
use super::dns::LookupFailure;
use super::lookup::{self, is_reserved};
use super::model::{CheckId, Outcome, Status};
use super::smtp::{self, Session, Tape};
use hickory_resolver::TokioResolver;
use serde::Serialize;
use serde_json::json;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// The domain part of an address (lowercase, no trailing dot).
pub fn domain_of(addr: &str) -> Option<String> {
    let (_, d) = addr.trim().rsplit_once('@')?;
    let d = d.trim().trim_end_matches('.').to_ascii_lowercase();
    (!d.is_empty() && !d.starts_with('[')).then_some(d)
}

/// One MX host as the check saw it (port25: connected, refused,
/// timed-out, unreachable or not-probed).
pub type MxHost = view::MxRow;

fn mx_view(domain: &str) -> view::RecipientMx {
    view::RecipientMx {
        domain: Some(domain.to_string()),
        ..Default::default()
    }
}

fn mx_failure(failure: &str, error: Option<String>) -> view::RecipientMx {
    view::RecipientMx {
        failure: Some(failure.to_string()),
        error,
        ..Default::default()
    }
}

pub(super) async fn recipient_mx(ctx: &Ctx) -> Outcome {
    let id = CheckId::RecipientMx;
    let Some(domain) = domain_of(&ctx.settings.recipient) else {
        return Outcome::skip(id, "No recipient domain to check");
    };
    let r = match ctx.resolver() {
        Ok(r) => r,
        Err(e) => return Outcome::new(id, Status::Error, e),
    };
    let base =
        |status, summary: String| Outcome::new(id, status, summary).with_view(mx_view(&domain));
    let (records, implicit) = match mx_records(r, &domain, &base).await {
        Ok(v) => v,
        Err(o) => return *o,
    };
    if records.iter().any(|(_, h)| h == "." || h.is_empty()) && records.len() == 1 {
        return base(
            Status::Fail,
            format!("{domain} publishes a null MX (RFC 7505): it accepts no mail at all"),
        )
        .with_view(view::RecipientMx {
            null_mx: Some(true),
            ..Default::default()
        });
    }
    let wanted: Vec<(u16, String)> = records
        .into_iter()
        .filter(|(_, h)| h != ".")
        .take(5)
        .collect();
    let lookups = wanted
        .iter()
        .map(|(_, host)| lookup::ips(r, host))
        .collect();
    let found = super::join_all(lookups).await;
    let mut hosts: Vec<MxHost> = wanted
        .into_iter()
        .zip(found)
        .map(|((pref, host), addrs)| {
            let addrs = addrs.unwrap_or_default();
            MxHost {
                preference: pref,
                host,
                resolves: !addrs.is_empty(),
                reserved: !addrs.is_empty() && addrs.iter().all(|a| is_reserved(*a)),
                addresses: addrs.iter().map(ToString::to_string).collect(),
                port25: "not-probed".into(),
                greeting: None,
            }
        })
        .collect();
    probe_port25(ctx, &mut hosts).await;
    mx_outcome(ctx, &domain, hosts, implicit)
}

/// The MX records of `domain`, or the A/AAAA fallback (RFC 5321 §5.1:
/// `true` then); the outcome when the domain cannot receive mail.
async fn mx_records(
    r: &hickory_resolver::TokioResolver,
    domain: &str,
    base: &impl Fn(Status, String) -> Outcome,
) -> Result<(Vec<(u16, String)>, bool), Box<Outcome>> {
    Ok(match lookup::mx(r, domain).await {
        Ok(v) if !v.is_empty() => (v, false),
        Ok(_) | Err((LookupFailure::NoRecords, _)) => match lookup::ips(r, domain).await {
            Ok(a) if !a.is_empty() => (vec![(0, domain.to_string())], true),
            Err((LookupFailure::NoSuchName, _)) => {
                return Err(Box::new(
                    base(
                        Status::Fail,
                        format!("The recipient domain {domain} does not exist in DNS"),
                    )
                    .with_view(mx_failure("nxdomain", None)),
                ));
            }
            _ => {
                return Err(Box::new(
                    base(
                        Status::Fail,
                        format!("{domain} has no MX record and no address: it cannot receive mail"),
                    )
                    .with_view(mx_failure("no-mx-no-address", None)),
                ));
            }
        },
        Err((LookupFailure::NoSuchName, e)) => {
            return Err(Box::new(
                base(
                    Status::Fail,
                    format!("The recipient domain {domain} does not exist in DNS"),
                )
                .with_view(mx_failure("nxdomain", Some(e))),
            ));
        }
        Err((f, e)) => {
            return Err(Box::new(
                base(
                    Status::Error,
                    format!("Could not look up the MX of {domain}: {e}"),
                )
                .with_view(mx_failure(f.as_str(), None)),
            ));
        }
    })
}

/// Connects to port 25 of the first three usable MX hosts in parallel.
async fn probe_port25(ctx: &Ctx, hosts: &mut [MxHost]) {
    let internal = ctx.settings.internal_network;
    let timeout = ctx.timeout();
    let jobs = hosts
        .iter_mut()
        .filter(|h| h.resolves && (internal || !h.reserved))
        .take(3)
        .map(|h| async move {
            let Some(ip) = h.addresses.first().and_then(|a| a.parse::<IpAddr>().ok()) else {
                return;
            };
            match smtp::connect(SocketAddr::new(ip, 25), timeout).await {
                Err((k, _)) => h.port25 = k.as_str().into(),
                Ok(tcp) => {
                    h.port25 = "connected".into();
                    let tape = Tape::new(Instant::now(), None, CheckId::RecipientMx);
                    if let Ok(mut s) = Session::new(tcp, tape, timeout)
                        && let Ok(g) = s.read_reply().await
                    {
                        h.greeting = Some(g.summary());
                        s.quit().await;
                    }
                }
            }
        });
    super::join_all(jobs.collect()).await;
}

fn mx_outcome(ctx: &Ctx, domain: &str, hosts: Vec<MxHost>, implicit: bool) -> Outcome {
    let id = CheckId::RecipientMx;
    let internal = ctx.settings.internal_network;
    let usable: Vec<&MxHost> = hosts
        .iter()
        .filter(|h| h.resolves && (internal || !h.reserved))
        .collect();
    let greeted = hosts
        .iter()
        .filter(|h| h.greeting.as_deref().is_some_and(|g| g.starts_with("220")))
        .count();
    let probed: Vec<&MxHost> = hosts.iter().filter(|h| h.port25 != "not-probed").collect();
    let names = hosts
        .iter()
        .map(|h| h.host.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let (status, summary) = if hosts.iter().all(|h| !h.resolves) {
        (
            Status::Fail,
            format!("The MX hosts of {domain} ({names}) do not resolve to any address"),
        )
    } else if usable.is_empty() {
        (
            Status::Fail,
            format!(
                "The MX hosts of {domain} ({names}) point only to private or reserved addresses, unreachable from the Internet"
            ),
        )
    } else if greeted > 0 {
        (
            Status::Pass,
            format!("{domain} receives mail at {names}; port 25 answers"),
        )
    } else if probed.iter().all(|h| h.port25 == "refused") && !probed.is_empty() {
        (
            Status::Warn,
            format!("The MX hosts of {domain} refuse connections on port 25"),
        )
    } else if probed.iter().any(|h| h.port25 == "timed-out") {
        (
            Status::Warn,
            format!(
                "{domain} has MX hosts ({names}), but port 25 did not answer from here (this network may block outgoing port 25)"
            ),
        )
    } else {
        (Status::Pass, format!("{domain} receives mail at {names}"))
    };
    let port25_problem = (greeted == 0 && !probed.is_empty() && !usable.is_empty()).then(|| {
        if probed.iter().all(|h| h.port25 == "refused") {
            "refused"
        } else {
            "timed-out"
        }
    });
    let mut o = Outcome::new(id, status, summary).with_view(view::RecipientMx {
        port25_problem: Some(port25_problem.map(str::to_string)),
        implicit_mx: Some(implicit),
        mx: Some(hosts),
        ..mx_view(domain)
    });
    if implicit {
        o.summary
            .push_str(" (no MX record: its own address is used)");
    }
    o
}

/// `sender.dmarc`: the `_dmarc` record of the sender's domain (or of its
/// parent domains, as an approximation of the organizational domain).
pub(super) async fn sender_dmarc(ctx: &Ctx) -> Outcome {
    let id = CheckId::SenderDmarc;
    let Some(domain) = domain_of(ctx.settings.effective_sender()) else {
        return Outcome::skip(id, "No sender domain to check");
    };
    let r = match ctx.resolver() {
        Ok(r) => r,
        Err(e) => return Outcome::new(id, Status::Error, e),
    };
    let mut candidates = vec![domain.clone()];
    let labels: Vec<&str> = domain.split('.').collect();
    for i in 1..labels.len().saturating_sub(1) {
        candidates.push(labels[i..].join("."));
    }
    for (i, d) in candidates.iter().enumerate() {
        let name = format!("_dmarc.{d}");
        match lookup::txt(r, &name).await {
            Ok(txts) => {
                let recs: Vec<&String> = txts
                    .iter()
                    .filter(|t| t.trim_start().to_ascii_lowercase().starts_with("v=dmarc1"))
                    .collect();
                if recs.len() > 1 {
                    return Outcome::new(
                        id,
                        Status::Warn,
                        format!(
                            "{name} has {} DMARC records; receivers ignore them all",
                            recs.len()
                        ),
                    )
                    .with_view(view::Dmarc {
                        domain: Some(domain.clone()),
                        records: Some(recs.into_iter().cloned().collect()),
                        ..Default::default()
                    });
                }
                if let Some(rec) = recs.first() {
                    return dmarc_outcome(&domain, d, rec, i > 0);
                }
            }
            Err((LookupFailure::Timeout | LookupFailure::ResolverFailed, e)) => {
                return Outcome::new(id, Status::Error, format!("Could not look up {name}: {e}"))
                    .with_view(view::Dmarc {
                        domain: Some(domain.clone()),
                        ..Default::default()
                    });
            }
            Err(_) => {}
        }
    }
    Outcome::new(
        id,
        Status::Warn,
        format!("{domain} publishes no DMARC policy"),
    )
    .with_view(view::Dmarc {
        domain: Some(domain.clone()),
        policy: Some("none-published".into()),
        ..Default::default()
    })
}

/// The tags of a DMARC record.
pub fn dmarc_tags(rec: &str) -> Vec<(String, String)> {
    rec.split(';')
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            Some((k.trim().to_ascii_lowercase(), v.trim().to_string()))
        })
        .collect()
}

fn dmarc_outcome(domain: &str, at: &str, rec: &str, inherited: bool) -> Outcome {
    let tags = dmarc_tags(rec);
    let get = |k: &str| tags.iter().find(|(t, _)| t == k).map(|(_, v)| v.as_str());
    let policy = if inherited {
        get("sp").or(get("p"))
    } else {
        get("p")
    }
    .unwrap_or("none")
    .to_ascii_lowercase();
    let aspf = get("aspf").unwrap_or("r");
    let adkim = get("adkim").unwrap_or("r");
    let meaning = match policy.as_str() {
        "reject" => "messages that fail SPF and DKIM alignment are rejected",
        "quarantine" => "messages that fail SPF and DKIM alignment go to spam",
        _ => "receivers only report failures (p=none)",
    };
    let where_ = if inherited {
        format!(" (inherited from {at})")
    } else {
        String::new()
    };
    Outcome::new(
        CheckId::SenderDmarc,
        Status::Pass,
        format!("{domain}: DMARC policy {policy}{where_}: {meaning}"),
    )
    .with_view(view::Dmarc {
        domain: Some(domain.to_string()),
        record: Some(rec.to_string()),
        found_at: Some(at.to_string()),
        spf_alignment: Some(alignment(aspf).into()),
        dkim_alignment: Some(alignment(adkim).into()),
        pct: Some(get("pct").and_then(|p| p.parse::<u8>().ok()).unwrap_or(100)),
        policy: Some(policy),
        ..Default::default()
    })
}

fn alignment(tag: &str) -> &'static str {
    if tag.eq_ignore_ascii_case("s") {
        "strict"
    } else {
        "relaxed"
    }
}

/// A DNS echo service that tells the client its own address.
#[derive(Debug, Clone, Copy)]
pub struct EchoSource {
    pub label: &'static str,
    pub name: &'static str,
    pub txt: bool,
    /// Ask for AAAA over IPv6, to learn the IPv6 address the world sees.
    pub v6: bool,
    /// The service's own name server (asked directly, so it sees our address).
    pub server: &'static str,
}

/// The echo services, in order of preference. Asked directly of their own
/// name servers: a recursive resolver would hide our address behind its own.
pub const ECHO_SOURCES: [EchoSource; 4] = [
    EchoSource {
        label: "OpenDNS (myip.opendns.com)",
        name: "myip.opendns.com",
        txt: false,
        v6: false,
        server: "208.67.222.222",
    },
    EchoSource {
        label: "Google (o-o.myaddr.l.google.com)",
        name: "o-o.myaddr.l.google.com",
        txt: true,
        v6: false,
        server: "216.239.32.10",
    },
    EchoSource {
        label: "Akamai (whoami.akamai.net)",
        name: "whoami.akamai.net",
        txt: false,
        v6: false,
        server: "193.108.88.1",
    },
    EchoSource {
        label: "OpenDNS over IPv6 (myip.opendns.com AAAA)",
        name: "myip.opendns.com",
        txt: false,
        v6: true,
        server: "2620:119:35::35",
    },
];

/// One answer of a public-IP source.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct IpSighting {
    pub source: String,
    pub ip: Option<String>,
    pub error: Option<String>,
}

/// Picks the public IP: the user's override, else the server's EHLO echo
/// (the address the mail server itself sees), else the first echo service
/// that answered. Returns the choice and its source.
pub fn choose_public_ip(
    user: Option<IpAddr>,
    ehlo_echo: Option<IpAddr>,
    sightings: &[IpSighting],
) -> Option<(IpAddr, String)> {
    if let Some(ip) = user {
        return Some((ip, "settings (--public-ip)".into()));
    }
    if let Some(ip) = ehlo_echo.filter(|ip| !is_reserved(*ip)) {
        return Some((ip, "the mail server's EHLO reply".into()));
    }
    let answered = |v6: bool| {
        sightings.iter().find_map(|s| {
            let ip: IpAddr = s.ip.as_deref()?.parse().ok()?;
            (ip.is_ipv6() == v6).then(|| (ip, s.source.clone()))
        })
    };
    answered(false)
        .or_else(|| answered(true))
        .or_else(|| ehlo_echo.map(|ip| (ip, "the mail server's EHLO reply".into())))
}

/// Asks every echo service at once.
pub(super) async fn echo_sightings(ctx: &Ctx) -> Vec<IpSighting> {
    let timeout = ctx.timeout().min(Duration::from_secs(5));
    let over = ctx
        .settings
        .echo_dns
        .as_deref()
        .and_then(|s| crate::settings::parse_dns_server(s).ok());
    let jobs = ECHO_SOURCES.iter().map(|src| async move {
        let server = over.unwrap_or_else(|| {
            SocketAddr::new(src.server.parse().expect("echo server literal"), 53)
        });
        let res = match echo_resolver(server, timeout) {
            Ok(r) => ask_echo(&r, src).await,
            Err(e) => Err(e),
        };
        match res {
            Ok(ip) => IpSighting {
                source: src.label.into(),
                ip: Some(ip.to_string()),
                error: None,
            },
            Err(e) => IpSighting {
                source: src.label.into(),
                ip: None,
                error: Some(e),
            },
        }
    });
    super::join_all(jobs.collect()).await
}

fn echo_resolver(server: SocketAddr, timeout: Duration) -> Result<TokioResolver, String> {
    let mut b = super::dns::builder_at(server);
    b.options_mut().timeout = timeout;
    b.options_mut().attempts = 1;
    b.options_mut().cache_size = 0;
    b.build().map_err(|e| e.to_string())
}

async fn ask_echo(r: &TokioResolver, src: &EchoSource) -> Result<IpAddr, String> {
    if src.txt {
        let txts = lookup::txt(r, src.name).await.map_err(|e| e.1)?;
        txts.iter()
            .flat_map(|t| t.split_whitespace())
            .find_map(|w| w.trim_matches('"').parse::<IpAddr>().ok())
            .ok_or_else(|| "no address in the answer".to_string())
    } else {
        let v = lookup::addrs(r, src.name, src.v6).await.map_err(|e| e.1)?;
        v.first()
            .copied()
            .ok_or_else(|| "no address in the answer".to_string())
    }
}

/// `net.public_ip` from the override, the EHLO echo and the echo services.
pub(super) fn public_ip(
    ctx: &Ctx,
    ehlo_echo: Option<IpAddr>,
    local: Option<IpAddr>,
    sightings: Vec<IpSighting>,
) -> (Outcome, Option<IpAddr>) {
    let id = CheckId::NetPublicIp;
    let chosen = choose_public_ip(ctx.settings.public_ip, ehlo_echo, &sightings);
    let ipv6 = sightings
        .iter()
        .filter_map(|s| s.ip.as_deref()?.parse::<IpAddr>().ok())
        .find(IpAddr::is_ipv6);
    // Disagreement is between answers of the same family.
    let mut seen: Vec<String> = sightings
        .iter()
        .filter_map(|s| s.ip.clone())
        .filter(|a| a.contains(':') == chosen.as_ref().is_some_and(|c| c.0.is_ipv6()))
        .collect();
    if let Some(e) =
        ehlo_echo.filter(|e| e.is_ipv6() == chosen.as_ref().is_some_and(|c| c.0.is_ipv6()))
    {
        seen.push(e.to_string());
    }
    seen.sort();
    seen.dedup();
    let Some((ip, source)) = chosen else {
        let o = Outcome::new(
            id,
            Status::Warn,
            "Could not find out the public IP address (no echo service answered)",
        )
        .with_view(view::PublicIp {
            sources: Some(view::values(&sightings)),
            ..Default::default()
        });
        return (o, None);
    };
    let mut summary = format!("The world sees this machine as {ip} (from {source})");
    let mut status = Status::Pass;
    if seen.len() > 1 {
        summary.push_str(&format!(
            "; sources disagree: {} (NAT, a proxy or several exits)",
            seen.join(", ")
        ));
        status = Status::Warn;
    }
    let behind_nat = local.is_some_and(|l| is_reserved(l) && l != ip);
    if is_reserved(ip) {
        summary
            .push_str("; this is a private address, so the server is on the same private network");
    } else if behind_nat {
        summary.push_str(&format!(
            "; this machine itself has the private address {}, behind NAT",
            local.map(|l| l.to_string()).unwrap_or_default()
        ));
    }
    if let Some(v6) = ipv6.filter(|v6| *v6 != ip) {
        summary.push_str(&format!("; over IPv6 it is {v6}"));
    }
    let o = Outcome::new(id, status, summary).with_view(view::PublicIp {
        ip: Some(ip.to_string()),
        ipv6: Some(ipv6.map(|a| a.to_string())),
        source: Some(source.to_string()),
        version: Some(if ip.is_ipv6() { 6 } else { 4 }),
        sources: Some(view::values(&sightings)),
        ehlo_echo: Some(ehlo_echo.map(|e| e.to_string())),
        local_address: Some(local.map(|l| l.to_string())),
        behind_nat: Some(behind_nat),
        private: Some(is_reserved(ip)),
        ..Default::default()
    });
    (o, Some(ip))
}

fn ptr_view(ip: IpAddr, names: Vec<String>, forward_confirmed: bool) -> view::Ptr {
    view::Ptr {
        ip: Some(ip.to_string()),
        names: Some(names),
        forward_confirmed: Some(forward_confirmed),
        ..Default::default()
    }
}

/// `net.ptr`: reverse DNS of the public IP, forward-confirmed.
pub(super) async fn ptr(ctx: &Ctx, ip: IpAddr) -> Outcome {
    let id = CheckId::NetPtr;
    let r = match ctx.resolver() {
        Ok(r) => r,
        Err(e) => return Outcome::new(id, Status::Error, e),
    };
    match lookup::ptr(r, ip).await {
        Ok(names) if !names.is_empty() => {
            let mut confirmed = Vec::new();
            for n in names.iter().take(5) {
                if lookup::ips(r, n).await.unwrap_or_default().contains(&ip) {
                    confirmed.push(n.clone());
                }
            }
            if confirmed.is_empty() {
                Outcome::new(
                    id,
                    Status::Warn,
                    format!(
                        "{ip} has reverse DNS ({}) but the name does not point back to it",
                        names.join(", ")
                    ),
                )
                .with_view(ptr_view(ip, names, false))
            } else {
                Outcome::new(
                    id,
                    Status::Pass,
                    format!(
                        "{ip} has forward-confirmed reverse DNS: {}",
                        confirmed.join(", ")
                    ),
                )
                .with_view(ptr_view(ip, names, true))
            }
        }
        Ok(_) | Err((LookupFailure::NoSuchName | LookupFailure::NoRecords, _)) => Outcome::new(
            id,
            Status::Warn,
            format!(
                "{ip} has no reverse DNS (PTR) name; some receivers reject mail from such addresses"
            ),
        )
        .with_view(ptr_view(ip, Vec::new(), false)),
        Err((f, e)) => Outcome::new(
            id,
            Status::Error,
            format!("Could not look up the reverse DNS of {ip}: {e}"),
        )
        .with_view(view::Ptr {
            ip: Some(ip.to_string()),
            failure: Some(f.as_str().into()),
            ..Default::default()
        }),
    }
}

/// DNS blocklists queried when the user asks.
pub const DNSBLS: [&str; 3] = [
    "zen.spamhaus.org",
    "bl.spamcop.net",
    "b.barracudacentral.org",
];

/// What a blocklist's answer code means (each list documents its own).
pub fn dnsbl_meaning(list: &str, answer: std::net::Ipv4Addr) -> (&'static str, bool) {
    let o = answer.octets();
    if o[0] != 127 {
        return (
            "unexpected answer (not 127.0.0.x): the list may be misbehaving",
            false,
        );
    }
    if list.ends_with("spamhaus.org") {
        return match o[3] {
            2 | 3 => ("listed in the Spamhaus SBL (spam source)", true),
            4..=7 => (
                "listed in the Spamhaus XBL (compromised or exploited host)",
                true,
            ),
            9 => ("listed in the Spamhaus DROP list", true),
            10 | 11 => (
                "listed in the Spamhaus PBL (a dynamic or end-user range that should send through its provider's server)",
                true,
            ),
            254 | 255 => (
                "query refused: Spamhaus does not answer queries from public or open resolvers; this is not a listing",
                false,
            ),
            _ => ("listed (unknown Spamhaus code)", true),
        };
    }
    ("listed", true)
}

/// `net.dnsbl`: the public IP against a few well-known lists.
pub(super) async fn dnsbl(ctx: &Ctx, ip: IpAddr) -> Outcome {
    let id = CheckId::NetDnsbl;
    let IpAddr::V4(v4) = ip else {
        return Outcome::skip(id, "Blocklists are checked for IPv4 addresses only");
    };
    let r = match ctx.resolver() {
        Ok(r) => r,
        Err(e) => return Outcome::new(id, Status::Error, e),
    };
    let o = v4.octets();
    let mut rows = Vec::new();
    let mut listed = Vec::new();
    for list in DNSBLS {
        let name = format!("{}.{}.{}.{}.{list}", o[3], o[2], o[1], o[0]);
        let row = match lookup::addrs(r, &name, false).await {
            Ok(a) if !a.is_empty() => {
                let IpAddr::V4(ans) = a[0] else { continue };
                let (meaning, is_listed) = dnsbl_meaning(list, ans);
                if is_listed {
                    listed.push(format!("{list} ({meaning})"));
                }
                json!({"list": list, "answer": ans.to_string(), "meaning": meaning, "listed": is_listed})
            }
            Ok(_) | Err((LookupFailure::NoSuchName | LookupFailure::NoRecords, _)) => {
                json!({"list": list, "listed": false, "meaning": "not listed"})
            }
            Err((_, e)) => {
                json!({"list": list, "listed": false, "error": e, "meaning": "no answer: an error is not a listing"})
            }
        };
        rows.push(row);
    }
    let (status, summary) = if listed.is_empty() {
        (
            Status::Pass,
            format!("{ip} is not listed on {}", DNSBLS.join(", ")),
        )
    } else {
        (
            Status::Warn,
            format!("{ip} is listed: {}", listed.join("; ")),
        )
    };
    Outcome::new(id, status, summary).with_view(view::Dnsbl {
        ip: Some(ip.to_string()),
        lists: Some(rows),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(source: &str, ip: Option<&str>) -> IpSighting {
        IpSighting {
            source: source.into(),
            ip: ip.map(str::to_string),
            error: ip.is_none().then(|| "timeout".into()),
        }
    }

    #[test]
    fn public_ip_fallback_order() {
        // Public addresses as data only; nothing connects to them.
        let user: IpAddr = "100.128.0.9".parse().unwrap();
        let echo: IpAddr = "100.128.0.7".parse().unwrap();
        let s = [
            seen("OpenDNS", None),
            seen("Google", Some("100.128.0.8")),
            seen("Akamai", Some("100.128.0.9")),
        ];
        // The user's word wins.
        assert_eq!(
            choose_public_ip(Some(user), Some(echo), &s).unwrap().0,
            user
        );
        // Then the address the mail server itself saw.
        assert_eq!(choose_public_ip(None, Some(echo), &s).unwrap().0, echo);
        // Then the first echo service that answered, in order.
        let (ip, src) = choose_public_ip(None, None, &s).unwrap();
        assert_eq!(ip.to_string(), "100.128.0.8");
        assert_eq!(src, "Google");
        // A private EHLO echo (same LAN) loses to a public echo service…
        let lan: IpAddr = "192.168.1.20".parse().unwrap();
        assert_eq!(
            choose_public_ip(None, Some(lan), &s).unwrap().0.to_string(),
            "100.128.0.8"
        );
        // …but is still an answer when nothing else is.
        assert_eq!(
            choose_public_ip(None, Some(lan), &[seen("OpenDNS", None)])
                .unwrap()
                .0,
            lan
        );
        assert!(choose_public_ip(None, None, &[seen("OpenDNS", None)]).is_none());
        // IPv4 is the address mail is usually sent from; IPv6 is reported beside it.
        let both = [
            seen("OpenDNS over IPv6", Some("2001:db8::9")),
            seen("Akamai", Some("100.128.0.9")),
        ];
        assert_eq!(
            choose_public_ip(None, None, &both).unwrap().0.to_string(),
            "100.128.0.9"
        );
        let only6 = [seen("OpenDNS over IPv6", Some("2001:db8::9"))];
        assert_eq!(
            choose_public_ip(None, None, &only6).unwrap().0.to_string(),
            "2001:db8::9"
        );
    }

    #[test]
    fn dmarc_tags_parse() {
        let t = dmarc_tags("v=DMARC1; p=reject; sp=none; aspf=s; rua=mailto:d@example.com");
        assert!(t.contains(&("p".into(), "reject".into())));
        assert!(t.contains(&("aspf".into(), "s".into())));
        let o = dmarc_outcome(
            "example.com",
            "example.com",
            "v=DMARC1; p=reject; aspf=s",
            false,
        );
        assert_eq!(o.detail_str("policy"), Some("reject"));
        assert_eq!(o.detail_str("spf_alignment"), Some("strict"));
        let o = dmarc_outcome(
            "a.example.com",
            "example.com",
            "v=DMARC1; p=reject; sp=quarantine",
            true,
        );
        assert_eq!(o.detail_str("policy"), Some("quarantine"));
    }

    #[test]
    fn spamhaus_codes() {
        let c = |d| dnsbl_meaning("zen.spamhaus.org", std::net::Ipv4Addr::new(127, 0, 0, d));
        assert!(c(2).1 && c(4).1 && c(10).1);
        assert!(!c(254).1, "a refused query is not a listing");
        assert!(!c(255).1);
    }

    #[test]
    fn domain_of_addresses() {
        assert_eq!(domain_of("Bob@Example.NET").as_deref(), Some("example.net"));
        assert_eq!(domain_of("bob@[192.0.2.1]"), None);
        assert_eq!(domain_of("bob"), None);
    }
}
