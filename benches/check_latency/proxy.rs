//! The network the benchmark puts between smtp-doctor and the test bed: a
//! loopback TCP proxy that holds back every chunk the server sends by a
//! fixed delay (one round trip of a slow link), listeners that stay silent
//! or drop every connection attempt, and a small DNS responder that sends
//! the mail server's name to the proxy.
//!
//! Everything runs on a runtime of its own, so the proxy's timers are not
//! held up by the TLS work of the engine under test.

use hickory_resolver::proto::rr::RecordType;
use smtp_doctor::dnsmsg::{self, Answer};
use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream, UdpSocket};
use tokio::runtime::Runtime;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// No proxied connection lives longer than this.
const CONN_LIMIT: Duration = Duration::from_secs(60);
/// How many connections the black hole's backlog is filled with at most.
const FILL_LIMIT: usize = 8;

/// What a listener does with a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Forwards to the same port of the upstream address, the server's
    /// chunks delayed.
    Forward,
    /// Accepts and never says a word.
    Silent,
    /// Never accepts: its backlog is full, so connection attempts (SYNs)
    /// are dropped and the client waits for its timeout.
    BlackHole,
}

impl Mode {
    pub fn label(self) -> &'static str {
        match self {
            Mode::Forward => "delayed proxy",
            Mode::Silent => "silent (accepts, never answers)",
            Mode::BlackHole => "black hole (drops every SYN)",
        }
    }
}

/// The proxy's runtime with its listeners; dropping it stops them all.
pub struct Net {
    /// The delay of every server chunk, in microseconds; read per chunk.
    delay_us: Arc<AtomicU64>,
    /// Where the DNS responder sends the mail server's name.
    target: Arc<AtomicU32>,
    tasks: Vec<JoinHandle<()>>,
    /// Connections that fill the black holes' backlogs.
    fillers: Vec<std::net::TcpStream>,
    /// Black-hole sockets, kept open and never accepted on.
    holes: Vec<TcpListener>,
    /// Last, so that everything above is gone before the runtime.
    rt: Runtime,
}

impl Net {
    pub fn new() -> io::Result<Net> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("bench-net")
            .enable_all()
            .build()?;
        Ok(Net {
            delay_us: Arc::new(AtomicU64::new(0)),
            target: Arc::new(AtomicU32::new(u32::from(Ipv4Addr::LOCALHOST))),
            tasks: Vec::new(),
            fillers: Vec::new(),
            holes: Vec::new(),
            rt,
        })
    }

    pub fn set_delay(&self, d: Duration) {
        self.delay_us.store(d.as_micros() as u64, Ordering::Relaxed);
    }

    /// The address the DNS responder gives for the mail server's name.
    pub fn set_target(&self, ip: Ipv4Addr) {
        self.target.store(u32::from(ip), Ordering::Relaxed);
    }

    /// Opens one listener on `addr`; `Forward` goes to `upstream`.
    pub fn listen(
        &mut self,
        addr: SocketAddrV4,
        mode: Mode,
        upstream: SocketAddr,
    ) -> io::Result<()> {
        let _guard = self.rt.enter();
        let sock = TcpSocket::new_v4()?;
        sock.set_reuseaddr(true)?;
        sock.bind(SocketAddr::V4(addr))?;
        match mode {
            Mode::BlackHole => {
                let l = sock.listen(0)?;
                self.fill(addr)?;
                self.holes.push(l);
            }
            Mode::Silent => {
                let l = sock.listen(64)?;
                self.tasks.push(self.rt.spawn(silent(l)));
            }
            Mode::Forward => {
                let l = sock.listen(64)?;
                let delay = self.delay_us.clone();
                self.tasks.push(self.rt.spawn(forward(l, upstream, delay)));
            }
        }
        Ok(())
    }

    /// Fills a black hole's accept queue until a connection attempt goes
    /// unanswered.
    fn fill(&mut self, addr: SocketAddrV4) -> io::Result<()> {
        let sa = SocketAddr::V4(addr);
        for _ in 0..FILL_LIMIT {
            match std::net::TcpStream::connect_timeout(&sa, Duration::from_millis(300)) {
                Ok(s) => self.fillers.push(s),
                Err(e) if e.kind() == io::ErrorKind::TimedOut => return Ok(()),
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::other(format!(
            "{addr} still accepts after {FILL_LIMIT} connections"
        )))
    }

    /// Starts the DNS responder on `addr` (UDP): `name` A is answered
    /// with the current target, everything else is asked of `upstream`.
    pub fn dns(&mut self, addr: SocketAddrV4, name: &str, upstream: SocketAddr) -> io::Result<()> {
        let sock = self.rt.block_on(UdpSocket::bind(SocketAddr::V4(addr)))?;
        let target = self.target.clone();
        let name = name.to_ascii_lowercase();
        self.tasks.push(
            self.rt
                .spawn(dns_loop(Arc::new(sock), name, target, upstream)),
        );
        Ok(())
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

async fn forward(l: TcpListener, upstream: SocketAddr, delay: Arc<AtomicU64>) {
    while let Ok((client, _)) = l.accept().await {
        let port = match client.local_addr() {
            Ok(a) => a.port(),
            Err(_) => continue,
        };
        let up = SocketAddr::new(upstream.ip(), port);
        let delay = delay.clone();
        tokio::spawn(async move {
            let _ = tokio::time::timeout(CONN_LIMIT, relay(client, up, delay)).await;
        });
    }
}

/// One proxied connection: the client's bytes go on at once, the server's
/// bytes each leave `delay` after they arrived (order and spacing kept).
async fn relay(client: TcpStream, upstream: SocketAddr, delay: Arc<AtomicU64>) {
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let up = async move {
        let _ = tokio::io::copy(&mut cr, &mut sw).await;
        let _ = sw.shutdown().await;
    };
    let (tx, mut rx) = mpsc::unbounded_channel::<(Instant, Option<Vec<u8>>)>();
    let read = async move {
        loop {
            let mut buf = vec![0u8; 16 * 1024];
            let got = sr.read(&mut buf).await;
            let due = Instant::now() + Duration::from_micros(delay.load(Ordering::Relaxed));
            match got {
                Ok(n) if n > 0 => {
                    buf.truncate(n);
                    if tx.send((due, Some(buf))).is_err() {
                        return;
                    }
                }
                _ => {
                    let _ = tx.send((due, None));
                    return;
                }
            }
        }
    };
    let write = async move {
        while let Some((due, chunk)) = rx.recv().await {
            tokio::time::sleep_until(due).await;
            match chunk {
                Some(c) => {
                    if cw.write_all(&c).await.is_err() {
                        return;
                    }
                }
                None => {
                    let _ = cw.shutdown().await;
                    return;
                }
            }
        }
    };
    tokio::join!(up, read, write);
}

async fn silent(l: TcpListener) {
    while let Ok((mut s, _)) = l.accept().await {
        tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            let drain = async {
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                }
            };
            let _ = tokio::time::timeout(CONN_LIMIT, drain).await;
        });
    }
}

async fn dns_loop(
    sock: Arc<UdpSocket>,
    name: String,
    target: Arc<AtomicU32>,
    upstream: SocketAddr,
) {
    let mut buf = [0u8; 1500];
    while let Ok((n, peer)) = sock.recv_from(&mut buf).await {
        let query = buf[..n].to_vec();
        let ip = Ipv4Addr::from(target.load(Ordering::Relaxed));
        if let Some(answer) = local_answer(&query, &name, ip) {
            let _ = sock.send_to(&answer, peer).await;
            continue;
        }
        let sock = sock.clone();
        tokio::spawn(async move {
            let ask = async {
                let up = UdpSocket::bind("127.0.0.1:0").await.ok()?;
                up.send_to(&query, upstream).await.ok()?;
                let mut rbuf = [0u8; 4096];
                let (m, _) = up.recv_from(&mut rbuf).await.ok()?;
                Some(rbuf[..m].to_vec())
            };
            if let Ok(Some(reply)) = tokio::time::timeout(Duration::from_secs(3), ask).await {
                let _ = sock.send_to(&reply, peer).await;
            }
        });
    }
}

/// The answer to `name` A, or `None` for any other question.
fn local_answer(query: &[u8], name: &str, ip: Ipv4Addr) -> Option<Vec<u8>> {
    let (qname, qtype) = dnsmsg::question(query)?;
    if qname != name || qtype != RecordType::A {
        return None;
    }
    dnsmsg::respond(query, |_, _| Answer::Records(vec![dnsmsg::a(ip)]))
}
