//! The scripted mail server behind `smtp-doctor demo`.
//!
//! It reproduces the most common real failure: a client configured without
//! authentication on a server that only relays for users who log in. The
//! server speaks like Postfix — it offers STARTTLS and `AUTH PLAIN LOGIN`
//! in its EHLO reply, takes `MAIL FROM`, and refuses the outside recipient
//! with Postfix's own text, `554 5.7.1 <rcpt>: Relay access denied` — so
//! the diagnosis the user sees is the one a real server would produce:
//! turn on "My outgoing server requires authentication".
//!
//! It listens on 127.0.0.1 on a random port, in process, and never relays
//! anything. A small DNS responder beside it answers the lookups of the
//! other checks (the public-IP echo names, reverse DNS, the sender
//! domain's SPF and DMARC) from a fixed zone, so the demo asks nothing of
//! the real DNS and needs no Internet. The recipient's domain is refused
//! (REFUSED): looking up its mail servers would need the Internet. With the demo account ([`DEMO_LOGIN`], [`DEMO_PASSWORD`]) the
//! login succeeds and the recipient is accepted, so a user who follows the
//! fix sees the checks pass. It has no TLS: STARTTLS is refused with
//! Postfix's reply for a server without certificates.

use crate::dnsmsg::{self, Answer};
use crate::settings::{Security, Settings};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hickory_resolver::proto::rr::RecordType;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::JoinHandle;

pub const DEMO_LOGIN: &str = "demo@example.com";
pub const DEMO_PASSWORD: &str = "demo-password";
const HOST: &str = "mail.example.com";

/// Longest command line read (RFC 5321 allows 512 octets).
const MAX_LINE: u64 = 2048;
/// Commands per connection before the server hangs up.
const MAX_COMMANDS: usize = 100;
/// Idle time before the server hangs up.
const IDLE: Duration = Duration::from_secs(30);

/// A running demo server; dropping it stops it.
pub struct DemoServer {
    addr: SocketAddr,
    dns: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
}

impl DemoServer {
    /// Starts the mail server and the DNS responder on 127.0.0.1, each on
    /// a free port.
    pub async fn start() -> io::Result<DemoServer> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let smtp = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                tokio::spawn(async move {
                    let _ = session(stream).await;
                });
            }
        });
        let udp = UdpSocket::bind("127.0.0.1:0").await?;
        let dns = udp.local_addr()?;
        let resolver = tokio::spawn(async move {
            let mut buf = [0u8; 1500];
            while let Ok((n, peer)) = udp.recv_from(&mut buf).await {
                if let Some(answer) = dns_answer(&buf[..n]) {
                    let _ = udp.send_to(&answer, peer).await;
                }
            }
        });
        Ok(DemoServer {
            addr,
            dns,
            tasks: vec![smtp, resolver],
        })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The demo's settings: a mail client with authentication switched off.
    pub fn settings(&self) -> Settings {
        Settings {
            account: DEMO_LOGIN.into(),
            server: "127.0.0.1".into(),
            port: self.port(),
            security: Security::None,
            auth: false,
            recipient: "friend@example.net".into(),
            timeout_secs: 5,
            dns: Some(self.dns.to_string()),
            echo_dns: Some(self.dns.to_string()),
            ..Settings::default()
        }
    }
}

impl Drop for DemoServer {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

// ------------------------------------------------------------------- DNS

/// The demo zone: the records for a name and type.
fn zone(name: &str, qtype: RecordType) -> Answer {
    let loopback = dnsmsg::a(Ipv4Addr::LOCALHOST);
    let records = match (name, qtype) {
        ("myip.opendns.com" | "whoami.akamai.net" | "mail.example.com", RecordType::A) => {
            vec![loopback]
        }
        ("o-o.myaddr.l.google.com", RecordType::TXT) => vec![dnsmsg::txt("127.0.0.1")],
        ("1.0.0.127.in-addr.arpa", RecordType::PTR) => {
            dnsmsg::ptr("mail.example.com").into_iter().collect()
        }
        ("example.com", RecordType::TXT) => vec![dnsmsg::txt("v=spf1 ip4:127.0.0.0/8 -all")],
        ("example.com", RecordType::MX) => dnsmsg::mx(10, "mail.example.com").into_iter().collect(),
        ("_dmarc.example.com", RecordType::TXT) => vec![dnsmsg::txt(
            "v=DMARC1; p=quarantine; rua=mailto:postmaster@example.com",
        )],
        (n, _) if n == "example.net" || n.ends_with(".example.net") => return Answer::Refused,
        (
            "myip.opendns.com"
            | "whoami.akamai.net"
            | "mail.example.com"
            | "o-o.myaddr.l.google.com"
            | "1.0.0.127.in-addr.arpa"
            | "example.com"
            | "_dmarc.example.com",
            _,
        ) => Vec::new(),
        _ => return Answer::NxDomain,
    };
    Answer::Records(records)
}

/// The answer to one DNS query, or `None` for something that is not one.
fn dns_answer(query: &[u8]) -> Option<Vec<u8>> {
    dnsmsg::respond(query, zone)
}

/// Sends one reply in one write (two small writes would meet Nagle's
/// algorithm and the peer's delayed ACK: 40 ms per reply).
async fn reply(w: &mut (impl AsyncWriteExt + Unpin), text: &str) -> io::Result<()> {
    w.write_all(format!("{text}\r\n").as_bytes()).await?;
    w.flush().await
}

/// Reads one line (without CRLF); `None` at the end of the connection.
async fn read_line(r: &mut (impl AsyncBufReadExt + Unpin)) -> io::Result<Option<String>> {
    let mut buf = Vec::new();
    let n = tokio::time::timeout(IDLE, r.take(MAX_LINE).read_until(b'\n', &mut buf))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "idle"))??;
    if n == 0 {
        return Ok(None);
    }
    let line = String::from_utf8_lossy(&buf);
    Ok(Some(line.trim_end_matches(['\r', '\n']).to_string()))
}

/// Whether an `AUTH PLAIN` payload holds the demo account.
fn plain_ok(b64: &str) -> bool {
    let Ok(raw) = B64.decode(b64.trim()) else {
        return false;
    };
    let parts: Vec<&[u8]> = raw.split(|b| *b == 0).collect();
    parts.len() == 3 && parts[1] == DEMO_LOGIN.as_bytes() && parts[2] == DEMO_PASSWORD.as_bytes()
}

fn decoded(b64: &str) -> String {
    B64.decode(b64.trim())
        .map(|v| String::from_utf8_lossy(&v).into_owned())
        .unwrap_or_default()
}

const AUTH_OK: &str = "235 2.7.0 Authentication successful";
const AUTH_FAILED: &str = "535 5.7.8 Error: authentication failed: authentication failure";

/// One SMTP session.
async fn session(stream: TcpStream) -> io::Result<()> {
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::new(r);
    reply(
        &mut w,
        &format!("220 {HOST} ESMTP Postfix (smtp-doctor demo)"),
    )
    .await?;
    let mut authed = false;
    let mut mail = false;
    let mut rcpts = 0;
    for _ in 0..MAX_COMMANDS {
        let Some(line) = read_line(&mut r).await? else {
            return Ok(());
        };
        let upper = line.to_ascii_uppercase();
        let verb = upper.split_whitespace().next().unwrap_or("");
        match verb {
            "EHLO" => {
                reply(
                    &mut w,
                    &format!(
                        "250-{HOST}\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250 SMTPUTF8"
                    ),
                )
                .await?
            }
            "HELO" => reply(&mut w, &format!("250 {HOST}")).await?,
            "STARTTLS" => {
                reply(&mut w, "454 4.7.0 TLS not available due to local problem").await?
            }
            "AUTH" if authed => {
                reply(&mut w, "503 5.5.1 Error: already authenticated").await?
            }
            "AUTH" => {
                let words: Vec<&str> = line.split_whitespace().collect();
                let mech = words.get(1).map(|m| m.to_ascii_uppercase());
                let ok = match mech.as_deref() {
                    Some("PLAIN") => {
                        let payload = match words.get(2) {
                            Some(p) => p.to_string(),
                            None => {
                                reply(&mut w, "334 ").await?;
                                read_line(&mut r).await?.unwrap_or_default()
                            }
                        };
                        if payload == "*" {
                            reply(&mut w, "501 5.7.0 Authentication aborted").await?;
                            continue;
                        }
                        plain_ok(&payload)
                    }
                    Some("LOGIN") => {
                        reply(&mut w, "334 VXNlcm5hbWU6").await?;
                        let user = decoded(&read_line(&mut r).await?.unwrap_or_default());
                        reply(&mut w, "334 UGFzc3dvcmQ6").await?;
                        let pass = decoded(&read_line(&mut r).await?.unwrap_or_default());
                        user == DEMO_LOGIN && pass == DEMO_PASSWORD
                    }
                    _ => {
                        reply(
                            &mut w,
                            "535 5.7.8 Error: authentication failed: Invalid authentication mechanism",
                        )
                        .await?;
                        continue;
                    }
                };
                authed = ok;
                reply(&mut w, if ok { AUTH_OK } else { AUTH_FAILED }).await?;
            }
            "MAIL" => {
                mail = true;
                reply(&mut w, "250 2.1.0 Ok").await?;
            }
            "RCPT" if !mail => reply(&mut w, "503 5.5.1 Error: need MAIL command").await?,
            "RCPT" => {
                let rcpt = line
                    .find('<')
                    .and_then(|a| line[a..].find('>').map(|b| &line[a..=a + b]))
                    .unwrap_or("<>")
                    .to_string();
                if authed {
                    rcpts += 1;
                    reply(&mut w, "250 2.1.5 Ok").await?;
                } else {
                    reply(&mut w, &format!("554 5.7.1 {rcpt}: Relay access denied")).await?;
                }
            }
            "DATA" if rcpts == 0 => {
                reply(&mut w, "554 5.5.1 Error: no valid recipients").await?
            }
            "DATA" => {
                reply(
                    &mut w,
                    "451 4.3.0 The smtp-doctor demo server does not take messages",
                )
                .await?
            }
            "RSET" => {
                mail = false;
                rcpts = 0;
                reply(&mut w, "250 2.0.0 Ok").await?;
            }
            "NOOP" => reply(&mut w, "250 2.0.0 Ok").await?,
            "QUIT" => {
                reply(&mut w, "221 2.0.0 Bye").await?;
                return Ok(());
            }
            _ => reply(&mut w, "502 5.5.2 Error: command not recognized").await?,
        }
    }
    reply(&mut w, "421 4.7.0 Too many commands").await
}
