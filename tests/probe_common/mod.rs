//! Scripted in-process servers for the probe tests (hostile behaviour no
//! real server produces: echoing credentials back, counting every login
//! attempt on every connection). Everything stays on loopback.

#![allow(dead_code)]

use smtp_doctor::probe::{self, Outcome};
use smtp_doctor::settings::{Security, Settings};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

pub const T: u64 = 2;

/// Serves every connection of `listener` with `script`.
pub fn serve_on<F, Fut>(listener: TcpListener, script: F)
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let script = Arc::new(script);
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            let script = script.clone();
            tokio::spawn(async move { script(s).await });
        }
    });
}

/// Serves on a fresh loopback port; returns the port.
pub async fn serve<F, Fut>(script: F) -> u16
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    serve_on(listener, script);
    port
}

/// A DNS server on loopback that refuses every query at once, so the
/// domain checks end quickly and nothing leaves the machine.
pub fn refusing_dns() -> &'static str {
    static ADDR: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ADDR.get_or_init(|| {
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = sock.local_addr().unwrap().to_string();
        std::thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while let Ok((n, peer)) = sock.recv_from(&mut buf) {
                let refused = smtp_doctor::dnsmsg::respond(&buf[..n], |_, _| {
                    smtp_doctor::dnsmsg::Answer::Refused
                });
                if let Some(reply) = refused {
                    let _ = sock.send_to(&reply, peer);
                }
            }
        });
        addr
    })
}

/// Settings that keep every lookup on loopback.
pub fn settings(server: &str, port: u16) -> Settings {
    Settings {
        dns: Some(refusing_dns().into()),
        echo_dns: Some(refusing_dns().into()),
        public_ip: Some("127.0.0.1".parse().unwrap()),
        account: "alice@example.test".into(),
        server: server.into(),
        port,
        security: Security::None,
        auth: true,
        allow_plaintext_auth: true,
        recipient: "bob@example.net".into(),
        timeout_secs: T,
        ..Settings::default()
    }
}

/// Runs all checks; fails the test if the run does not end in time.
pub async fn run(s: Settings) -> (Vec<Outcome>, Vec<String>) {
    let mut events = Vec::new();
    let bound = Duration::from_secs(T * 8 + 4);
    let out = tokio::time::timeout(bound, probe::run(s, |e| events.push(format!("{e:?}"))))
        .await
        .expect("the run must end within its timeouts");
    (out, events)
}

pub fn get(out: &[Outcome], id: probe::CheckId) -> &Outcome {
    out.iter().find(|o| o.id == id).unwrap()
}

/// Reads one line (without its end); `None` when the peer closed.
pub async fn read_line<R: tokio::io::AsyncBufRead + Unpin>(r: &mut R) -> Option<Vec<u8>> {
    let mut line = Vec::new();
    match r.read_until(b'\n', &mut line).await {
        Ok(0) | Err(_) => None,
        Ok(_) => {
            while matches!(line.last(), Some(b'\n' | b'\r')) {
                line.pop();
            }
            Some(line)
        }
    }
}

/// What a scripted SMTP server does: the capabilities it announces, how
/// it answers AUTH, and what it adds to every reply.
pub struct Smtp {
    /// The AUTH line of EHLO, e.g. "AUTH PLAIN LOGIN".
    pub auth_line: &'static str,
    pub starttls: bool,
    /// The reply to STARTTLS (the handshake is never done: a 220 is
    /// followed by garbage).
    pub starttls_reply: &'static str,
    /// The final reply to a login.
    pub auth_reply: &'static str,
    /// Lines added to every reply (and the greeting).
    pub extra: Vec<Vec<u8>>,
    /// Echo every line received, and its base64 decoding, in the reply.
    pub echo: bool,
    /// Every AUTH command received, on every connection.
    pub auths: std::sync::Mutex<Vec<String>>,
    /// The decoded initial response a login must carry to succeed.
    pub expect_payload: Option<String>,
    /// After a 334 challenge to AUTH: the reply to the client's answer.
    pub after_challenge: &'static str,
    /// How long to wait before every reply.
    pub delay: Duration,
}

impl Smtp {
    pub fn new(auth_line: &'static str) -> Smtp {
        Smtp {
            auth_line,
            starttls: false,
            starttls_reply: "454 4.7.0 TLS not available",
            auth_reply: "235 2.7.0 ok",
            extra: Vec::new(),
            echo: false,
            auths: Default::default(),
            expect_payload: None,
            after_challenge: "535 5.7.8 refused",
            delay: Duration::ZERO,
        }
    }

    pub fn auth_count(&self) -> usize {
        self.auths.lock().unwrap().len()
    }
}

fn decoded(line: &[u8]) -> Vec<Vec<u8>> {
    use base64::Engine;
    String::from_utf8_lossy(line)
        .split_whitespace()
        .filter_map(|w| base64::engine::general_purpose::STANDARD.decode(w).ok())
        .map(|mut d| {
            d.retain(|&b| b != b'\r' && b != b'\n');
            d
        })
        .collect()
}

/// A reply: `code-` lines for the extras (and the echo), then `code text`.
fn reply(code: &str, first: &[&[u8]], extra: &[Vec<u8>], last: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for l in first.iter().copied().chain(extra.iter().map(Vec::as_slice)) {
        out.extend_from_slice(code.as_bytes());
        out.push(b'-');
        out.extend_from_slice(l);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("{code} {last}\r\n").as_bytes());
    out
}

/// One SMTP connection with `cfg`.
pub async fn smtp_session<S>(s: S, cfg: Arc<Smtp>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin,
{
    let (r, mut w) = tokio::io::split(s);
    let mut r = BufReader::new(r);
    let greet = reply("220", &[b"echo.example.test ESMTP"], &cfg.extra, "ready");
    tokio::time::sleep(cfg.delay).await;
    if w.write_all(&greet).await.is_err() {
        return;
    }
    let mut login_step = 0;
    let mut challenged = false;
    let mut in_data = false;
    while let Some(line) = read_line(&mut r).await {
        let mut extra = cfg.extra.clone();
        if cfg.echo {
            extra.push(line.clone());
            extra.extend(decoded(&line));
        }
        let text = String::from_utf8_lossy(&line).to_string();
        let word = text
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        let out = if in_data {
            if line != b"." {
                continue;
            }
            in_data = false;
            reply("250", &[], &extra, "2.0.0 Ok: queued as ECHO1")
        } else if challenged {
            challenged = false;
            reply(
                &cfg.after_challenge[..3],
                &[],
                &extra,
                &cfg.after_challenge[4..],
            )
        } else if login_step > 0 {
            login_step += 1;
            if login_step == 2 {
                reply("334", &[], &extra, "UGFzc3dvcmQ6")
            } else {
                login_step = 0;
                reply(&cfg.auth_reply[..3], &[], &extra, &cfg.auth_reply[4..])
            }
        } else {
            match word.as_str() {
                "EHLO" => {
                    let mut caps: Vec<&[u8]> = vec![b"echo.example.test", b"PIPELINING"];
                    if cfg.starttls {
                        caps.push(b"STARTTLS");
                    }
                    let mut out = reply("250", &caps, &extra, "");
                    out.truncate(out.len() - 6);
                    let last = if cfg.auth_line.is_empty() {
                        "HELP"
                    } else {
                        cfg.auth_line
                    };
                    out.extend_from_slice(format!("250 {last}\r\n").as_bytes());
                    out
                }
                "AUTH" => {
                    cfg.auths.lock().unwrap().push(text.clone());
                    if text.to_ascii_uppercase().starts_with("AUTH LOGIN") {
                        login_step = 1;
                        reply("334", &[], &extra, "VXNlcm5hbWU6")
                    } else {
                        auth_reply(&cfg, &text, &extra, &mut challenged)
                    }
                }
                "STARTTLS" => {
                    let out = format!("{}\r\n", cfg.starttls_reply);
                    let _ = w.write_all(out.as_bytes()).await;
                    if cfg.starttls_reply.starts_with("220") {
                        // No handshake: garbage instead of a ServerHello.
                        let _ = w.write_all(b"this is not TLS\r\n").await;
                        return;
                    }
                    continue;
                }
                "DATA" => {
                    in_data = true;
                    reply("354", &[], &extra, "go ahead")
                }
                "QUIT" => {
                    let _ = w.write_all(&reply("221", &[], &extra, "bye")).await;
                    return;
                }
                _ => reply("250", &[], &extra, "2.0.0 ok"),
            }
        };
        tokio::time::sleep(cfg.delay).await;
        if w.write_all(&out).await.is_err() {
            return;
        }
    }
}

/// The reply to an AUTH with an initial response: refused when the payload
/// is not the expected one.
fn auth_reply(cfg: &Smtp, text: &str, extra: &[Vec<u8>], challenged: &mut bool) -> Vec<u8> {
    use base64::Engine;
    if let Some(want) = &cfg.expect_payload {
        let got = text
            .split_whitespace()
            .nth(2)
            .and_then(|p| base64::engine::general_purpose::STANDARD.decode(p).ok())
            .map(|d| String::from_utf8_lossy(&d).into_owned());
        if got.as_deref() != Some(want.as_str()) {
            return reply("535", &[], extra, "5.7.8 not the expected payload");
        }
    }
    *challenged = cfg.auth_reply.starts_with("334");
    reply(&cfg.auth_reply[..3], &[], extra, &cfg.auth_reply[4..])
}

/// What a scripted IMAP server does.
pub struct Imap {
    /// Whether LOGIN succeeds.
    pub accept: bool,
    pub extra: Vec<Vec<u8>>,
    pub echo: bool,
    /// Every LOGIN received.
    pub logins: std::sync::Mutex<usize>,
}

impl Imap {
    pub fn new(accept: bool) -> Imap {
        Imap {
            accept,
            extra: Vec::new(),
            echo: false,
            logins: Default::default(),
        }
    }

    pub fn login_count(&self) -> usize {
        *self.logins.lock().unwrap()
    }
}

pub async fn imap_session(s: TcpStream, cfg: Arc<Imap>) {
    let (r, mut w) = s.into_split();
    let mut r = BufReader::new(r);
    let untagged = |lines: &[Vec<u8>]| {
        let mut out = Vec::new();
        for l in lines {
            out.extend_from_slice(b"* ");
            out.extend_from_slice(l);
            out.extend_from_slice(b"\r\n");
        }
        out
    };
    let mut greet = b"* OK [CAPABILITY IMAP4rev1] echo ready\r\n".to_vec();
    greet.extend(untagged(&cfg.extra));
    if w.write_all(&greet).await.is_err() {
        return;
    }
    while let Some(line) = read_line(&mut r).await {
        let text = String::from_utf8_lossy(&line).to_string();
        let mut words = text.split_whitespace();
        let tag = words.next().unwrap_or("*").to_string();
        let cmd = words.next().unwrap_or("").to_ascii_uppercase();
        let mut extra = cfg.extra.clone();
        if cfg.echo {
            extra.push(line.clone());
        }
        let mut out = untagged(&extra);
        let done = match cmd.as_str() {
            "LOGIN" => {
                *cfg.logins.lock().unwrap() += 1;
                let verdict = if cfg.accept {
                    "OK logged in"
                } else {
                    "NO [AUTHENTICATIONFAILED] Authentication failed."
                };
                out.extend_from_slice(format!("{tag} {verdict}\r\n").as_bytes());
                false
            }
            "LOGOUT" => {
                out.extend_from_slice(format!("* BYE\r\n{tag} OK bye\r\n").as_bytes());
                true
            }
            _ => {
                out.extend_from_slice(format!("{tag} BAD not here\r\n").as_bytes());
                false
            }
        };
        if w.write_all(&out).await.is_err() || done {
            return;
        }
    }
}

/// Starts a scripted SMTP server on a fresh loopback port.
pub async fn smtp_server(cfg: Arc<Smtp>) -> u16 {
    serve(move |s| smtp_session(s, cfg.clone())).await
}

/// Starts a scripted IMAP server on a fresh loopback port.
pub async fn imap_server(cfg: Arc<Imap>) -> u16 {
    serve(move |s| imap_session(s, cfg.clone())).await
}
