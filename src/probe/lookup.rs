//! Typed DNS lookups over hickory for the checks: TXT, MX, A/AAAA and PTR,
//! with failures told apart (no such name, no records, timeout, resolver
//! error) because each means something different to a user.

use super::dns::LookupFailure;
use super::model::{CheckId, Event};
use hickory_resolver::TokioResolver;
use hickory_resolver::proto::rr::{Name, RData, RecordType};
use std::net::IpAddr;
use tokio::sync::mpsc::UnboundedSender;

tokio::task_local! {
    /// The check whose lookups run in this task and where their questions
    /// and answers go as [`Event::Log`]; unset (nothing reported) outside a
    /// run, e.g. in the wizard's provider lookup.
    static LOG: (CheckId, UnboundedSender<Event>);
}

/// Runs `f` with its lookups reported as log lines of check `id`.
pub(crate) async fn logged<F: std::future::Future>(
    ctx: &super::Ctx,
    id: CheckId,
    f: F,
) -> F::Output {
    LOG.scope((id, ctx.tx.clone()), f).await
}

/// The records of an answer, one zone-file line each.
trait Answers {
    fn lines(&self) -> Vec<String>;
}

impl Answers for hickory_resolver::lookup::Lookup {
    fn lines(&self) -> Vec<String> {
        self.answers().iter().map(ToString::to_string).collect()
    }
}

impl Answers for hickory_resolver::lookup_ip::LookupIp {
    fn lines(&self) -> Vec<String> {
        self.as_lookup().lines()
    }
}

pub type Lookup<T> = Result<T, (LookupFailure, String)>;

fn fail(e: hickory_resolver::net::NetError) -> (LookupFailure, String) {
    (LookupFailure::of(&e), e.to_string())
}

/// Bounds one lookup (all its attempts over UDP and TCP) by the resolver's
/// per-attempt timeout plus a little: a dead DNS server costs one timeout,
/// not attempts × transports × timeouts.
async fn bounded<T: Answers>(
    r: &TokioResolver,
    question: String,
    f: impl std::future::Future<Output = Result<T, hickory_resolver::net::NetError>>,
) -> Lookup<T> {
    let limit = r.options().timeout + std::time::Duration::from_millis(500);
    let asked = std::time::Instant::now();
    let out = match tokio::time::timeout(limit, f).await {
        Ok(v) => v.map_err(fail),
        Err(_) => Err((
            LookupFailure::Timeout,
            format!("no answer from the DNS server within {} s", limit.as_secs()),
        )),
    };
    let _ = LOG.try_with(|(id, tx)| {
        let answer = match &out {
            Ok(a) => Some(a.lines().join(" | "))
                .filter(|l| !l.is_empty())
                .unwrap_or_else(|| "no records".into()),
            Err((kind, e)) => format!("{} ({e})", kind.as_str()),
        };
        let ms = asked.elapsed().as_millis();
        tx.send(Event::Log(
            *id,
            format!("DNS {question}? {answer} [{ms} ms]"),
        ))
    });
    out
}

/// The TXT strings of `name`, each record's strings joined (RFC 7208 §3.3),
/// with control characters escaped: the text ends up on a terminal.
pub async fn txt(r: &TokioResolver, name: &str) -> Lookup<Vec<String>> {
    let lookup = bounded(
        r,
        format!("TXT {}", fqdn(name)),
        r.lookup(qname(name)?, RecordType::TXT),
    )
    .await?;
    Ok(lookup
        .answers()
        .iter()
        .filter_map(|rec| match &rec.data {
            RData::TXT(t) => Some(
                t.txt_data
                    .iter()
                    .map(|part| super::smtp::printable(part))
                    .collect::<String>(),
            ),
            _ => None,
        })
        .collect())
}

/// MX records as (preference, host without the trailing dot; "." for a
/// null MX).
pub async fn mx(r: &TokioResolver, name: &str) -> Lookup<Vec<(u16, String)>> {
    let lookup = bounded(
        r,
        format!("MX {}", fqdn(name)),
        r.lookup(qname(name)?, RecordType::MX),
    )
    .await?;
    let mut out: Vec<(u16, String)> = lookup
        .answers()
        .iter()
        .filter_map(|rec| match &rec.data {
            RData::MX(m) => {
                let host = m.exchange.to_ascii();
                let host = if host == "." {
                    host
                } else {
                    host.trim_end_matches('.').to_string()
                };
                Some((m.preference, host))
            }
            _ => None,
        })
        .collect();
    out.sort();
    Ok(out)
}

/// IPv4 and IPv6 addresses of `name`, IPv4 first.
pub async fn ips(r: &TokioResolver, name: &str) -> Lookup<Vec<IpAddr>> {
    let lookup = bounded(
        r,
        format!("A+AAAA {}", fqdn(name)),
        r.lookup_ip(qname(name)?),
    )
    .await?;
    let mut v: Vec<IpAddr> = lookup.iter().collect();
    v.sort_by_key(|a| a.is_ipv6());
    v.dedup();
    Ok(v)
}

/// One address type only.
pub async fn addrs(r: &TokioResolver, name: &str, v6: bool) -> Lookup<Vec<IpAddr>> {
    let t = if v6 { RecordType::AAAA } else { RecordType::A };
    let lookup = bounded(r, format!("{t} {}", fqdn(name)), r.lookup(qname(name)?, t)).await?;
    Ok(lookup
        .answers()
        .iter()
        .filter_map(|rec| match &rec.data {
            RData::A(a) => Some(IpAddr::V4(a.0)),
            RData::AAAA(a) => Some(IpAddr::V6(a.0)),
            _ => None,
        })
        .collect())
}

/// The PTR names of an address.
pub async fn ptr(r: &TokioResolver, ip: IpAddr) -> Lookup<Vec<String>> {
    let name = hickory_resolver::proto::rr::Name::from(ip);
    let lookup = bounded(r, format!("PTR {name}"), r.lookup(name, RecordType::PTR)).await?;
    Ok(lookup
        .answers()
        .iter()
        .filter_map(|rec| match &rec.data {
            RData::PTR(p) => Some(p.0.to_ascii().trim_end_matches('.').to_string()),
            _ => None,
        })
        .collect())
}

/// The question's name: absolute (never tried with a search domain);
/// ASCII names exactly as given (SPF macros can put "_" anywhere in a
/// label), others through IDNA. A name that cannot be put in a query cannot
/// exist either: NXDOMAIN, without asking.
pub fn qname(name: &str) -> Lookup<Name> {
    let fqdn = fqdn(name);
    let parsed = if fqdn.is_ascii() {
        Name::from_ascii(&fqdn)
    } else {
        Name::from_utf8(&fqdn)
    };
    parsed.map_err(|e| (LookupFailure::NoSuchName, format!("not a domain name: {e}")))
}

/// The name as a fully qualified one, so no search domain is appended.
pub fn fqdn(name: &str) -> String {
    let n = name.trim();
    if n.ends_with('.') {
        n.to_string()
    } else {
        format!("{n}.")
    }
}

/// Addresses that the public Internet cannot reach: private, loopback,
/// link-local, shared (CGNAT), documentation, unspecified, multicast.
pub fn is_reserved(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || o[0] == 0
                || o[0] >= 240
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_reserved(IpAddr::V4(v4));
            }
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] == 0x2001 && s[1] == 0x0db8)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_ranges() {
        for r in [
            "10.1.2.3",
            "192.168.0.1",
            "172.16.5.4",
            "127.0.0.2",
            "169.254.1.1",
            "100.64.0.1",
            "192.0.2.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "2001:db8::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_reserved(r.parse().unwrap()), "{r}");
        }
        for p in ["198.51.99.1", "2a00:1450:4001::1", "100.128.0.1"] {
            assert!(!is_reserved(p.parse().unwrap()), "{p}");
        }
    }

    #[test]
    fn fqdn_adds_one_dot() {
        assert_eq!(fqdn("example.com"), "example.com.");
        assert_eq!(fqdn("example.com."), "example.com.");
    }
}
