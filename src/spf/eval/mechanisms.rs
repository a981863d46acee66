//! The mechanisms of RFC 7208 section 5 that need DNS, and the `exp=`
//! explanation of section 6.2: each says whether it matches, with one line
//! for the trace saying why.

use super::{Answer, At, Engine, Stop, clip, domain_problem, in_network, join_clipped};
use crate::spf::macros::{Context, MacroString};
use crate::spf::parse::{Mechanism, Record, Term};
use crate::spf::{MAX_MX_NAMES, SpfDns, SpfResult, Step};
use std::net::IpAddr;

impl<D: SpfDns> Engine<'_, D> {
    /// Does the mechanism match? With a line for the trace.
    pub(super) async fn mechanism(
        &mut self,
        at: &At,
        term: &Term,
        mechanism: &Mechanism,
    ) -> Result<(bool, String), Stop> {
        let ip = self.facts.ip;
        match mechanism {
            Mechanism::All => Ok((true, "all always matches".to_string())),
            Mechanism::Ip4(net, len) => Ok(match ip {
                IpAddr::V4(_) => {
                    let hit = in_network(ip, IpAddr::V4(*net), *len);
                    let is = if hit { "is" } else { "is not" };
                    (hit, format!("{ip} {is} in {net}/{len}"))
                }
                IpAddr::V6(_) => (false, format!("{ip} is IPv6; ip4 never matches it")),
            }),
            Mechanism::Ip6(net, len) => Ok(match ip {
                IpAddr::V6(_) => {
                    let hit = in_network(ip, IpAddr::V6(*net), *len);
                    let is = if hit { "is" } else { "is not" };
                    (hit, format!("{ip} {is} in {net}/{len}"))
                }
                IpAddr::V4(_) => (false, format!("{ip} is IPv4; ip6 never matches it")),
            }),
            Mechanism::A {
                domain,
                cidr4,
                cidr6,
            } => {
                let target = self.target(at, term, domain.as_ref()).await?;
                let len = if ip.is_ipv4() { *cidr4 } else { *cidr6 };
                self.a_mechanism(at, term, &target, len).await
            }
            Mechanism::Mx {
                domain,
                cidr4,
                cidr6,
            } => {
                let target = self.target(at, term, domain.as_ref()).await?;
                let len = if ip.is_ipv4() { *cidr4 } else { *cidr6 };
                self.mx_mechanism(at, term, &target, len).await
            }
            Mechanism::Ptr(domain) => {
                let target = self.target(at, term, domain.as_ref()).await?;
                self.ptr_mechanism(at, term, &target).await
            }
            Mechanism::Exists(spec) => {
                let target = self.target(at, term, Some(spec)).await?;
                match self.a_only(at, &target).await? {
                    Answer::Data(v) => Ok((true, format!("{target} exists (A {})", v[0]))),
                    Answer::Void { .. } => {
                        self.mark_void();
                        self.count_void(at, term)?;
                        Ok((false, format!("{target} has no A record")))
                    }
                    Answer::Failed(why) => Err(Stop::temp(format!(
                        "'{}': the DNS lookup of {target} failed: {why}",
                        term.text
                    ))),
                }
            }
            Mechanism::Include(spec) => {
                let target = self.target(at, term, Some(spec)).await?;
                let verdict = self
                    .check_host(target.clone(), at.depth + 1, term.text.clone())
                    .await?;
                match verdict.result {
                    SpfResult::Pass => Ok((true, format!("{target} gives pass"))),
                    SpfResult::None => Err(Stop::perm(format!(
                        "'{}' in the record of {}: {target} has no SPF record",
                        term.text, at.domain
                    ))),
                    other => Ok((false, format!("{target} gives {other}, which is no match"))),
                }
            }
        }
    }

    async fn a_mechanism(
        &mut self,
        at: &At,
        term: &Term,
        target: &str,
        len: u8,
    ) -> Result<(bool, String), Stop> {
        let ip = self.facts.ip;
        let rtype = if ip.is_ipv4() { "A" } else { "AAAA" };
        match self.addresses(at, target).await? {
            Answer::Data(addrs) => {
                let shown: Vec<String> = addrs.iter().map(ToString::to_string).collect();
                Ok(match addrs.iter().find(|a| in_network(ip, **a, len)) {
                    Some(hit) => (true, describe_hit(ip, *hit, len, target)),
                    None => (
                        false,
                        format!(
                            "{ip} is not {} {target} ({})",
                            within_phrase(ip, len),
                            join_clipped(&shown)
                        ),
                    ),
                })
            }
            Answer::Void { nx } => {
                self.mark_void();
                self.count_void(at, term)?;
                let why = if nx { "does not exist" } else { "has no" };
                let what = if nx {
                    String::new()
                } else {
                    format!(" {rtype} record")
                };
                Ok((false, format!("{target} {why}{what}")))
            }
            Answer::Failed(why) => Err(Stop::temp(format!(
                "'{}': the DNS lookup of {target} failed: {why}",
                term.text
            ))),
        }
    }

    async fn mx_mechanism(
        &mut self,
        at: &At,
        term: &Term,
        target: &str,
        len: u8,
    ) -> Result<(bool, String), Stop> {
        let ip = self.facts.ip;
        let mut mxs = match self.mx(at, target).await? {
            Answer::Data(v) => v,
            Answer::Void { nx } => {
                self.mark_void();
                self.count_void(at, term)?;
                let why = if nx {
                    "does not exist"
                } else {
                    "has no MX record"
                };
                return Ok((false, format!("{target} {why}")));
            }
            Answer::Failed(why) => {
                return Err(Stop::temp(format!(
                    "'{}': the MX lookup of {target} failed: {why}",
                    term.text
                )));
            }
        };
        if mxs.len() > MAX_MX_NAMES {
            return Err(Stop::perm(format!(
                "'{}' in the record of {}: {target} has {} MX records; an mx mechanism may look \
                 at {MAX_MX_NAMES} at most",
                term.text,
                at.domain,
                mxs.len()
            )));
        }
        mxs.sort_by_key(|(pref, _)| *pref);
        for (pref, host) in &mxs {
            // A null MX (".") names no host.
            if host.is_empty() || domain_problem(host, false).is_some() {
                continue;
            }
            match self.addresses(at, host).await? {
                Answer::Data(addrs) => {
                    if let Some(hit) = addrs.iter().find(|a| in_network(ip, **a, len)) {
                        return Ok((
                            true,
                            format!(
                                "{} (MX {pref} of {target})",
                                describe_hit(ip, *hit, len, host)
                            ),
                        ));
                    }
                }
                Answer::Void { .. } => {}
                Answer::Failed(why) => {
                    return Err(Stop::temp(format!(
                        "'{}': the address lookup of {host}, MX of {target}, failed: {why}",
                        term.text
                    )));
                }
            }
        }
        let hosts: Vec<String> = mxs.iter().map(|(_, h)| h.clone()).collect();
        Ok((
            false,
            format!(
                "{ip} is not {} any MX host of {target} ({})",
                within_phrase(ip, len),
                join_clipped(&hosts)
            ),
        ))
    }

    async fn ptr_mechanism(
        &mut self,
        at: &At,
        term: &Term,
        target: &str,
    ) -> Result<(bool, String), Stop> {
        let ip = self.facts.ip;
        let (validated, void, seen) = self.validated_names(at, Some(target)).await?;
        if void {
            self.mark_void();
            self.count_void(at, term)?;
            return Ok((false, format!("{ip} has no PTR record")));
        }
        Ok(match validated.first() {
            Some(name) => (
                true,
                format!(
                    "{ip} has the name {name}, which resolves back to it and is within {target}"
                ),
            ),
            None if seen.is_empty() => (
                false,
                format!("the PTR lookup of {ip} gave no usable answer"),
            ),
            None => (
                false,
                format!(
                    "no name of {ip} ({}) is both within {target} and resolves back to it",
                    join_clipped(&seen)
                ),
            ),
        })
    }

    /// The `exp=` explanation (RFC 7208 section 6.2); any problem means no
    /// explanation, never a different result.
    pub(super) async fn explain(&mut self, at: &At, record: &Record) -> Option<String> {
        let (term, spec) = record.exp()?;
        let note = |this: &mut Self, detail: String| {
            this.push(
                at,
                Step::Modifier {
                    term: term.text.clone(),
                    position: term.pos,
                    detail,
                },
                false,
            );
        };
        let Ok(target) = self.target(at, term, Some(spec)).await else {
            note(self, "ignored: its domain is not usable".to_string());
            return None;
        };
        let texts = match self.txt(at, &target).await {
            Ok(Answer::Data(v)) => v,
            _ => {
                note(self, format!("ignored: no explanation found at {target}"));
                return None;
            }
        };
        let [text] = texts.as_slice() else {
            note(
                self,
                format!("ignored: {target} has {} TXT records, not one", texts.len()),
            );
            return None;
        };
        let parsed = match MacroString::parse(text, 0, Context::Explain) {
            Ok(ms) => ms,
            Err(e) => {
                note(self, format!("ignored: the explanation has an error: {e}"));
                return None;
            }
        };
        let Ok(expanded) = self.expand(at, &parsed).await else {
            note(
                self,
                "ignored: the explanation could not be expanded".to_string(),
            );
            return None;
        };
        let expanded = clip(&expanded, 1000);
        note(self, format!("explanation: {expanded}"));
        Some(expanded)
    }
}

fn within_phrase(ip: IpAddr, len: u8) -> String {
    let full = if ip.is_ipv4() { 32 } else { 128 };
    if len == full {
        "an address of".to_string()
    } else {
        format!("within /{len} of an address of")
    }
}

fn describe_hit(ip: IpAddr, hit: IpAddr, len: u8, host: &str) -> String {
    let full = if ip.is_ipv4() { 32 } else { 128 };
    if len == full {
        format!("{ip} is an address of {host}")
    } else {
        format!("{ip} is in {hit}/{len}, an address of {host}")
    }
}
