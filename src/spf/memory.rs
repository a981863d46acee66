//! A scripted in-memory zone for SPF evaluation: tests build one record by
//! record and get answers shaped like a real server's (NXDOMAIN for a name
//! without records, "no records" for a name that has other types, and
//! scripted failures standing for timeouts and SERVFAIL).

use super::{DnsFail, SpfDns};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Rtype {
    Txt,
    A,
    Aaaa,
    Mx,
    Ptr,
}

#[derive(Debug, Clone, Default)]
pub struct MemoryDns {
    txt: BTreeMap<String, Vec<String>>,
    a: BTreeMap<String, Vec<IpAddr>>,
    aaaa: BTreeMap<String, Vec<IpAddr>>,
    mx: BTreeMap<String, Vec<(u16, String)>>,
    ptr: BTreeMap<String, Vec<String>>,
    /// Names that answer with a failure, for one type or (None) all.
    failing: BTreeMap<String, (Option<Rtype>, String)>,
    /// Zones below which every name fails.
    failing_zones: BTreeSet<String>,
}

fn key(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

fn rtype(name: &str) -> Option<Rtype> {
    match name.to_ascii_uppercase().as_str() {
        "TXT" => Some(Rtype::Txt),
        "A" => Some(Rtype::A),
        "AAAA" => Some(Rtype::Aaaa),
        "MX" => Some(Rtype::Mx),
        "PTR" => Some(Rtype::Ptr),
        _ => None,
    }
}

impl MemoryDns {
    pub fn new() -> MemoryDns {
        MemoryDns::default()
    }

    /// Adds a TXT record made of `strings` (joined without spaces when read,
    /// as RFC 7208 section 3.3 says).
    pub fn with_txt_strings(mut self, name: &str, strings: &[&str]) -> MemoryDns {
        self.txt
            .entry(key(name))
            .or_default()
            .push(strings.concat());
        self
    }

    /// Adds a TXT record of one string.
    pub fn with_txt(self, name: &str, text: &str) -> MemoryDns {
        self.with_txt_strings(name, &[text])
    }

    /// Adds an A or AAAA record, by the address's family.
    pub fn with_addr(mut self, name: &str, ip: IpAddr) -> MemoryDns {
        let map = if ip.is_ipv4() {
            &mut self.a
        } else {
            &mut self.aaaa
        };
        map.entry(key(name)).or_default().push(ip);
        self
    }

    /// Adds an address record and the matching PTR record.
    pub fn with_host(self, name: &str, ip: IpAddr) -> MemoryDns {
        self.with_addr(name, ip).with_ptr(ip, name)
    }

    pub fn with_mx(mut self, name: &str, preference: u16, host: &str) -> MemoryDns {
        self.mx
            .entry(key(name))
            .or_default()
            .push((preference, host.to_string()));
        self
    }

    pub fn with_ptr(mut self, ip: IpAddr, name: &str) -> MemoryDns {
        self.ptr
            .entry(ip.to_canonical().to_string())
            .or_default()
            .push(name.to_string());
        self
    }

    /// Makes lookups of `name` fail with `why` (a timeout, SERVFAIL…), for
    /// one record type ("TXT", "A", "AAAA", "MX", "PTR" with `name` the
    /// address) or, with "*", for all.
    ///
    /// # Panics
    /// On any other record type: a scripted zone with a typo would test
    /// something else than meant.
    pub fn with_failure(mut self, name: &str, record_type: &str, why: &str) -> MemoryDns {
        let only = match record_type {
            "*" => None,
            t => Some(rtype(t).unwrap_or_else(|| panic!("unknown record type {t:?}"))),
        };
        self.failing.insert(key(name), (only, why.to_string()));
        self
    }

    /// Makes every lookup at or below `zone` fail, as a zone whose servers
    /// do not answer.
    pub fn with_failing_zone(mut self, zone: &str) -> MemoryDns {
        self.failing_zones.insert(key(zone));
        self
    }

    fn exists(&self, k: &str) -> bool {
        self.txt.contains_key(k)
            || self.a.contains_key(k)
            || self.aaaa.contains_key(k)
            || self.mx.contains_key(k)
    }

    fn failure(&self, k: &str, t: Rtype) -> Option<DnsFail> {
        if let Some((only, why)) = self.failing.get(k)
            && only.is_none_or(|o| o == t)
        {
            return Some(DnsFail::Temp(why.clone()));
        }
        self.failing_zones
            .iter()
            .find(|z| k == z.as_str() || k.ends_with(&format!(".{z}")))
            .map(|z| DnsFail::Temp(format!("SERVFAIL (the servers of {z} do not answer)")))
    }

    fn answer<T: Clone>(
        &self,
        map: &BTreeMap<String, Vec<T>>,
        name: &str,
        t: Rtype,
    ) -> Result<Vec<T>, DnsFail> {
        let k = key(name);
        if let Some(fail) = self.failure(&k, t) {
            return Err(fail);
        }
        match map.get(&k) {
            Some(v) => Ok(v.clone()),
            None if self.exists(&k) => Err(DnsFail::NoRecords),
            None => Err(DnsFail::NxDomain),
        }
    }

    pub fn lookup_txt(&self, name: &str) -> Result<Vec<String>, DnsFail> {
        self.answer(&self.txt, name, Rtype::Txt)
    }

    pub fn lookup_a(&self, name: &str) -> Result<Vec<IpAddr>, DnsFail> {
        self.answer(&self.a, name, Rtype::A)
    }

    pub fn lookup_aaaa(&self, name: &str) -> Result<Vec<IpAddr>, DnsFail> {
        self.answer(&self.aaaa, name, Rtype::Aaaa)
    }

    pub fn lookup_mx(&self, name: &str) -> Result<Vec<(u16, String)>, DnsFail> {
        self.answer(&self.mx, name, Rtype::Mx)
    }

    pub fn lookup_ptr(&self, ip: IpAddr) -> Result<Vec<String>, DnsFail> {
        let k = ip.to_canonical().to_string();
        if let Some(fail) = self.failure(&k, Rtype::Ptr) {
            return Err(fail);
        }
        self.ptr.get(&k).cloned().ok_or(DnsFail::NxDomain)
    }
}

impl SpfDns for MemoryDns {
    async fn txt(&self, name: &str) -> Result<Vec<String>, DnsFail> {
        self.lookup_txt(name)
    }
    async fn a(&self, name: &str) -> Result<Vec<IpAddr>, DnsFail> {
        self.lookup_a(name)
    }
    async fn aaaa(&self, name: &str) -> Result<Vec<IpAddr>, DnsFail> {
        self.lookup_aaaa(name)
    }
    async fn mx(&self, name: &str) -> Result<Vec<(u16, String)>, DnsFail> {
        self.lookup_mx(name)
    }
    async fn ptr(&self, ip: IpAddr) -> Result<Vec<String>, DnsFail> {
        self.lookup_ptr(ip)
    }
}
