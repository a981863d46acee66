//! Being written (cause catalog): placeholder with the agreed API so the
//! crate builds meanwhile. Replaced by the real module.
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize)]
pub struct Cause {
    pub id: String,
    pub title: String,
    pub explanation: String,
    pub fixes: BTreeMap<String, Vec<String>>,
}
impl Cause {
    pub fn fixes_for(&self, _provider: Option<&str>) -> &[String] {
        &[]
    }
}
#[derive(Debug, Clone, Serialize)]
pub struct Preset {
    pub server: String,
    pub port: u16,
    pub security: String,
}
#[derive(Debug, Clone, Serialize)]
pub struct Provider {
    pub id: String,
    pub name: String,
    pub server_suffixes: Vec<String>,
    pub mx_suffixes: Vec<String>,
    pub domains: Vec<String>,
    pub preset: Option<Preset>,
}
#[derive(Default)]
pub struct ProviderEvidence<'a> {
    pub server: Option<&'a str>,
    pub banner: Option<&'a str>,
    pub ehlo_lines: &'a [String],
    pub sender_domain: Option<&'a str>,
    pub mx_hosts: &'a [String],
}
pub struct Catalog {
    causes: Vec<Cause>,
    providers: Vec<Provider>,
}
pub fn catalog() -> &'static Catalog {
    static C: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();
    C.get_or_init(|| Catalog {
        causes: vec![],
        providers: vec![],
    })
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
    pub fn detect_provider(&self, _ev: &ProviderEvidence<'_>) -> Option<&Provider> {
        None
    }
    pub fn preset_for_domain(&self, _domain: &str) -> Option<(&Provider, &Preset)> {
        None
    }
    pub fn provider_for_mx(&self, _mx_hosts: &[String]) -> Option<&Provider> {
        None
    }
}
