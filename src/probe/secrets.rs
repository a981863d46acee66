//! Every form in which a credential leaves this program: the password as
//! typed, quoted for IMAP, and in the SASL encodings of AUTH PLAIN, AUTH
//! LOGIN, XOAUTH2 and OAUTHBEARER. Each connection's [`Tape`] gets all of
//! them, so a server that echoes any of them back — in a banner, a reply
//! or an error — never puts it into a transcript, report or log.
//!
//! [`Tape`]: super::smtp::Tape

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

/// The AUTH PLAIN initial response (RFC 4616): no authorization identity.
pub fn plain(login: &str, password: &str) -> String {
    B64.encode(format!("\0{login}\0{password}"))
}

/// The XOAUTH2 initial response (Google's and Microsoft's SASL mechanism).
pub fn xoauth2(login: &str, token: &str) -> String {
    B64.encode(format!("user={login}\x01auth=Bearer {token}\x01\x01"))
}

/// The OAUTHBEARER initial response (RFC 7628 §3.1).
pub fn oauthbearer(login: &str, token: &str) -> String {
    B64.encode(format!(
        "n,a={},\x01auth=Bearer {token}\x01\x01",
        gs2_name(login)
    ))
}

/// A GS2 authzid: `=` and `,` escaped (RFC 5801 §4).
fn gs2_name(login: &str) -> String {
    login.replace('=', "=3D").replace(',', "=2C")
}

/// An IMAP quoted string (RFC 3501 §4.3), or `None` for a value that
/// cannot be quoted (a line break or NUL in it).
pub fn imap_quote(s: &str) -> Option<String> {
    if s.contains(['\r', '\n', '\0']) {
        return None;
    }
    Some(format!(
        "\"{}\"",
        s.replace('\\', "\\\\").replace('"', "\\\"")
    ))
}

/// Every encoding of the password and of the token that any connection of
/// a run may send.
pub fn all(login: &str, password: &str, token: &str) -> Vec<Vec<u8>> {
    let mut out: Vec<String> = Vec::new();
    if !password.is_empty() {
        out.push(password.to_string());
        out.push(B64.encode(password));
        out.push(plain(login, password));
        // The same with the login as authorization identity, as some
        // clients send it.
        out.push(B64.encode(format!("{login}\0{login}\0{password}")));
        if let Some(q) = imap_quote(password) {
            out.push(q[1..q.len() - 1].to_string());
        }
        // AUTH LOGIN sends the user name in base64 before the password.
        if !login.is_empty() {
            out.push(B64.encode(login));
        }
    }
    if !token.is_empty() {
        out.push(token.to_string());
        out.push(B64.encode(token));
        out.push(xoauth2(login, token));
        out.push(oauthbearer(login, token));
    }
    out.into_iter()
        .filter(|s| !s.is_empty())
        .map(String::into_bytes)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sasl_payloads_decode_to_their_rfc_forms() {
        let d = |s: String| String::from_utf8(B64.decode(s).unwrap()).unwrap();
        assert_eq!(d(plain("u", "p")), "\0u\0p");
        assert_eq!(d(xoauth2("u@x", "T")), "user=u@x\x01auth=Bearer T\x01\x01");
        assert_eq!(
            d(oauthbearer("a,b=c", "T")),
            "n,a=a=2Cb=3Dc,\x01auth=Bearer T\x01\x01"
        );
    }

    #[test]
    fn every_form_is_listed() {
        let all = all("alice", "p\"w", "tok");
        let has = |s: &str| all.iter().any(|x| x == s.as_bytes());
        assert!(has("p\"w") && has("p\\\"w") && has(&B64.encode("p\"w")));
        assert!(has(&plain("alice", "p\"w")) && has(&B64.encode("alice")));
        assert!(has("tok") && has(&xoauth2("alice", "tok")));
    }
}
