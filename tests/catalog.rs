//! The cause catalog as a contract: every cause id of DESIGN.md has a title,
//! an explanation and generic fixes; fix text uses only placeholders the
//! diagnosis fills; provider variants name known providers.

use smtp_doctor::catalog::{GENERIC, PLACEHOLDERS, SECURITY_VALUES, catalog, placeholders};
use std::collections::HashSet;

use smtp_doctor::cause::CauseId;

#[test]
fn the_catalog_describes_exactly_the_cause_ids() {
    for c in catalog().causes() {
        assert!(
            CauseId::parse(&c.id).is_some(),
            "{} is in the catalog but not a CauseId",
            c.id
        );
    }
    for id in smtp_doctor::catalog::CAUSE_IDS {
        assert!(
            CauseId::parse(id).is_some(),
            "{id} from DESIGN.md is not a CauseId"
        );
    }
}

/// The provider ids fixes may be keyed by (besides `generic`).
const PROVIDER_IDS: &[&str] = &[
    "microsoft365",
    "exchange",
    "google",
    "outlook_com",
    "yahoo",
    "icloud",
    "zoho",
    "cpanel",
    "postfix",
    "amazon_ses",
    "sendgrid",
    "mailgun",
];

#[test]
fn every_design_cause_is_present_and_complete() {
    let mut problems = Vec::new();
    for id in CauseId::ALL.iter().map(|c| c.as_str()) {
        match catalog().cause(id) {
            None => problems.push(format!("{id}: missing")),
            Some(c) => {
                if c.title.trim().is_empty() || c.explanation.trim().is_empty() {
                    problems.push(format!("{id}: empty title or explanation"));
                }
                if c.fixes.get(GENERIC).is_none_or(|f| f.is_empty()) {
                    problems.push(format!("{id}: no generic fixes"));
                }
            }
        }
    }
    for p in &problems {
        eprintln!("{p}");
    }
    assert!(problems.is_empty(), "{} problems", problems.len());
}

#[test]
fn cause_ids_are_unique() {
    let mut seen = HashSet::new();
    for c in catalog().causes() {
        assert!(seen.insert(c.id.as_str()), "{} twice", c.id);
    }
}

#[test]
fn fix_text_uses_only_known_placeholders() {
    let mut problems = Vec::new();
    for c in catalog().causes() {
        for (key, steps) in &c.fixes {
            for step in steps {
                for name in placeholders(step) {
                    if !PLACEHOLDERS.contains(&name) {
                        problems.push(format!("{} / {key}: {{{name}}} in {step:?}", c.id));
                    }
                }
                if step.trim().is_empty() {
                    problems.push(format!("{} / {key}: empty step", c.id));
                }
            }
        }
    }
    for p in &problems {
        eprintln!("{p}");
    }
    assert!(problems.is_empty(), "{} problems", problems.len());
}

#[test]
fn fix_keys_are_known_providers() {
    let known: HashSet<&str> = catalog()
        .providers()
        .iter()
        .map(|p| p.id.as_str())
        .collect();
    for id in PROVIDER_IDS {
        assert!(
            known.contains(id),
            "provider {id} missing from providers.json"
        );
    }
    for c in catalog().causes() {
        for key in c.fixes.keys() {
            assert!(
                key == GENERIC || known.contains(key.as_str()),
                "{}: fixes for unknown provider {key}",
                c.id
            );
        }
    }
}

#[test]
fn provider_variants_replace_generic_fixes() {
    let c = catalog();
    let cause = c.cause("auth-disabled").expect("auth-disabled");
    let m365 = cause.fixes_for(Some("microsoft365"));
    assert_ne!(m365, cause.fixes_for(None));
    assert!(m365.iter().any(|f| f.contains("SMTP AUTH")));
    assert_eq!(
        cause.fixes_for(Some("postfix-not-a-provider")),
        cause.fixes_for(None)
    );
    let apikey = c
        .cause("auth-failed")
        .expect("auth-failed")
        .fixes_for(Some("sendgrid"));
    assert!(apikey.iter().any(|f| f.contains("apikey")));
}

#[test]
fn presets_are_usable() {
    for p in catalog().providers() {
        assert!(!p.name.trim().is_empty(), "{}: no name", p.id);
        if let Some(preset) = &p.preset {
            assert!(
                SECURITY_VALUES.contains(&preset.security.as_str()),
                "{}",
                p.id
            );
            assert!(preset.port > 0 && !preset.server.is_empty(), "{}", p.id);
            let implicit = preset.security == "tls";
            assert_eq!(
                implicit,
                preset.port == 465,
                "{}: port and security disagree",
                p.id
            );
        }
    }
}

#[test]
fn catalog_serializes_for_reports() {
    let c = catalog().cause("relay-denied").expect("relay-denied");
    let json = serde_json::to_value(c).expect("serializes");
    assert_eq!(json["id"], "relay-denied");
    let p = catalog().provider("google").expect("google");
    let json = serde_json::to_value(p).expect("serializes");
    assert_eq!(json["preset"]["server"], "smtp.gmail.com");
}
