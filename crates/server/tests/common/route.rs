//! A raw route connection standing for another server, for byte-exact
//! route protocol tests.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// A raw connection to a route port standing for another server.
pub struct FakeRoute {
    pub r: BufReader<TcpStream>,
    pub w: TcpStream,
    /// The server's first INFO line.
    pub info: String,
}

impl FakeRoute {
    /// Connects to route port `port` and reads the server's INFO.
    pub fn connect(port: u16) -> FakeRoute {
        // nats-server opens its route listener just after "Server is ready".
        let start = Instant::now();
        let s = loop {
            match TcpStream::connect(("127.0.0.1", port)) {
                Ok(s) => break s,
                Err(e) if start.elapsed() > Duration::from_secs(5) => panic!("{port}: {e}"),
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        };
        s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        let mut f = FakeRoute {
            r: BufReader::new(s.try_clone().unwrap()),
            w: s,
            info: String::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let mut line = String::new();
            if f.r.read_line(&mut line).is_ok() && line.starts_with("INFO ") {
                f.info = line;
                break;
            }
            assert!(Instant::now() < deadline, "no route INFO");
        }
        f
    }

    /// Writes `b`.
    pub fn send(&mut self, b: &[u8]) {
        self.w.write_all(b).unwrap();
    }

    /// Lines received until `quiet` passes without any; PINGs are answered
    /// and left out, as is the system account's interest.
    pub fn lines(&mut self, quiet: Duration) -> Vec<String> {
        let mut out = Vec::new();
        let mut last = Instant::now();
        let mut pending = String::new();
        while last.elapsed() < quiet {
            let mut line = String::new();
            match self.r.read_line(&mut line) {
                Ok(0) => break,
                Ok(_) => {
                    pending.push_str(&line);
                    if !pending.ends_with('\n') {
                        continue;
                    }
                    let l = std::mem::take(&mut pending);
                    last = Instant::now();
                    let l = l.trim_end().to_string();
                    if l == "PING" {
                        self.send(b"PONG\r\n");
                        continue;
                    }
                    if l.starts_with("RS+ $SYS ") || l.starts_with("RS- $SYS ") || l == "PONG" {
                        continue;
                    }
                    out.push(l);
                }
                Err(_) => {}
            }
        }
        out
    }

    /// True once the server closed the connection (within 2 s).
    pub fn closed(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(2);
        let mut b = [0u8; 512];
        while Instant::now() < deadline {
            match self.r.get_mut().read(&mut b) {
                Ok(0) => return true,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(_) => return true,
            }
        }
        false
    }
}
