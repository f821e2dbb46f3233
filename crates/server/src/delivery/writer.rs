//! Getting a client's outbound bytes onto its socket.
//!
//! Whoever holds the `writing` role writes: a publisher that has just
//! filled receivers' buffers flushes them in place with non-blocking writes
//! (no task wake-up, no context switch), and hands over to the receiver's
//! writer task only when the socket would block. The writer task waits for
//! the socket to become writable, enforces `write_deadline`, and performs
//! the final flush and shutdown when the connection closes. The role holder
//! always rechecks the buffer before giving the role up, so bytes appended
//! while it was writing are never stranded.

use crate::delivery::closed::ClosedReason;
use crate::delivery::outbound::ClientShared;
use std::io::ErrorKind;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Duration;

/// Rounds of in-place writing per receiver before handing over.
const IN_PLACE_ROUNDS: usize = 2;

/// What one write attempt left behind.
enum Wrote {
    /// Everything taken was written.
    All,
    /// The socket would block; bytes remain.
    WouldBlock,
    /// The socket failed.
    Failed,
}

/// Takes the writing role and the next bytes to write. `None` when the role
/// is taken, the connection is closed without pending bytes to flush, or
/// nothing is queued.
fn take(c: &ClientShared, flush_on_close: bool) -> Option<(Vec<u8>, usize)> {
    let mut out = c.out.lock();
    if out.writing || out.discarded || (out.closed.is_some() && !flush_on_close) {
        return None;
    }
    if out.wpos >= out.wbuf.len() {
        let tls = c.tls.get();
        if out.buf.is_empty() && out.ctrl.is_empty() && !tls.is_some_and(|t| t.wants_write()) {
            out.signaled = false;
            return None;
        }
        let out = &mut *out;
        out.wbuf.clear();
        if let Some(t) = tls {
            // TLS: encrypt the protocol bytes (and any handshake records);
            // websocket over TLS: frame first, then encrypt.
            match c.ws_compress {
                Some(compress) => {
                    let mut framed = std::mem::take(&mut out.ctrl);
                    if !out.buf.is_empty() {
                        crate::transport::ws::encode_binary(&mut framed, &out.buf, compress);
                    }
                    t.encrypt(&framed, &mut out.wbuf);
                }
                None => t.encrypt(&out.buf, &mut out.wbuf),
            }
            clear_keeping_if_busy(&mut out.buf);
            out.wpos = 0;
            out.signaled = false;
            out.writing = true;
            let w = std::mem::take(&mut out.wbuf);
            out.inflight = w.len();
            return Some((w, 0));
        }
        match c.ws_compress {
            // Websocket: control frames first, then the protocol bytes as
            // one binary frame.
            Some(compress) => {
                out.wbuf.extend_from_slice(&out.ctrl);
                out.ctrl.clear();
                if !out.buf.is_empty() {
                    crate::transport::ws::encode_binary(&mut out.wbuf, &out.buf, compress);
                    clear_keeping_if_busy(&mut out.buf);
                }
            }
            None => std::mem::swap(&mut out.buf, &mut out.wbuf),
        }
        out.wpos = 0;
    }
    out.signaled = false;
    out.writing = true;
    let w = std::mem::take(&mut out.wbuf);
    out.inflight = w.len() - out.wpos.min(w.len());
    Some((w, out.wpos))
}

/// Empties a buffer whose bytes were taken (TLS and websocket copy them
/// out): a large one is kept while it was mostly used, given back otherwise.
fn clear_keeping_if_busy(v: &mut Vec<u8>) {
    let used = v.len();
    v.clear();
    if v.capacity() > 1 << 20 && used < v.capacity() / 4 {
        *v = Vec::new();
    }
}

/// Gives the role back with what is left of `w`.
fn put_back(c: &ClientShared, mut w: Vec<u8>, pos: usize) {
    let mut out = c.out.lock();
    out.writing = false;
    out.inflight = 0;
    if out.discarded {
        // Dropped while we wrote (slow consumer): nothing more goes out.
        out.wpos = 0;
        return;
    }
    if pos >= w.len() {
        let written = w.len();
        w.clear();
        // A large buffer is kept while writes stay large (big payloads, a
        // busy receiver) and given back after a small one.
        if w.capacity() > 1 << 20 && written < w.capacity() / 4 {
            w = Vec::new();
        }
        out.wbuf = w;
        out.wpos = 0;
    } else {
        out.wbuf = w;
        out.wpos = pos;
    }
}

/// Writes `w[*pos..]` until done or the socket would block, then tells
/// paused publishers how far it got.
fn write_nonblocking(c: &ClientShared, w: &[u8], pos: &mut usize) -> Wrote {
    let start = *pos;
    let r = loop {
        if *pos >= w.len() {
            break Wrote::All;
        }
        let Some(sock) = &c.sock else {
            break Wrote::Failed;
        };
        match sock.try_write(&w[*pos..]) {
            Ok(0) => break Wrote::Failed,
            Ok(n) => *pos += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => break Wrote::WouldBlock,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => break Wrote::Failed,
        }
    };
    crate::delivery::outbound::progressed(c, *pos - start, w.len() - *pos);
    r
}

/// Flushes `c` from the calling task without blocking; wakes its writer
/// task if the socket would block.
pub fn flush_in_place(c: &ClientShared) {
    if c.sock.is_none() {
        // An internal client: its task hands the messages to handlers.
        if c.out.lock().pending() > 0 {
            c.wake.notify_one();
        }
        return;
    }
    for _ in 0..IN_PLACE_ROUNDS {
        let Some((w, mut pos)) = take(c, false) else {
            return;
        };
        let r = write_nonblocking(c, &w, &mut pos);
        put_back(c, w, pos);
        match r {
            Wrote::All => {}
            Wrote::WouldBlock => {
                c.wake.notify_one();
                return;
            }
            Wrote::Failed => {
                c.mark_closed(ClosedReason::WriteError, true);
                return;
            }
        }
    }
    // Out of rounds with more queued: let the writer task continue.
    if c.out.lock().pending() > 0 {
        c.wake.notify_one();
    }
}

/// Flushes every receiver collected during a batch.
pub fn flush_all(flush: &mut Vec<Arc<ClientShared>>) {
    for c in flush.drain(..) {
        flush_in_place(&c);
    }
}

/// The writer task of one connection: writes what in-place flushes could
/// not, enforces `write_deadline`, and flushes and shuts the socket down
/// when the connection closes.
pub async fn writer(c: Arc<ClientShared>, write_deadline: Duration) {
    loop {
        let closing = c.out.lock().closed.is_some();
        match take(&c, true) {
            Some((w, mut pos)) => {
                let deadline = tokio::time::Instant::now()
                    + if closing {
                        write_deadline.min(Duration::from_secs(1))
                    } else {
                        write_deadline
                    };
                let r = loop {
                    match write_nonblocking(&c, &w, &mut pos) {
                        Wrote::WouldBlock => {}
                        other => break other,
                    }
                    let ready = tokio::select! {
                        r = tokio::time::timeout_at(deadline, writable(&c)) => r,
                        _ = c.close.cancelled(), if !closing => Ok(Ok(())),
                    };
                    match ready {
                        Ok(Ok(())) => {
                            if !closing && c.close.is_cancelled() {
                                // Closed while blocked: stop writing.
                                break Wrote::Failed;
                            }
                        }
                        Ok(Err(_)) => break Wrote::Failed,
                        Err(_) => {
                            c.mark_closed(ClosedReason::SlowConsumerWriteDeadline, true);
                            break Wrote::Failed;
                        }
                    }
                };
                put_back(&c, w, pos);
                match r {
                    Wrote::All => continue,
                    _ => {
                        c.mark_closed(ClosedReason::WriteError, true);
                        break;
                    }
                }
            }
            None => {
                if closing && !c.out.lock().writing {
                    break;
                }
                tokio::select! {
                    _ = c.wake.notified() => {}
                    _ = c.close.cancelled(), if !closing => {}
                    _ = tokio::time::sleep(Duration::from_millis(50)), if closing => {}
                }
            }
        }
    }
    close_notify(&c);
    shutdown(&c);
}

/// A TLS connection's last record: its close_notify, after everything
/// queued was flushed (best effort: the socket may be gone).
fn close_notify(c: &ClientShared) {
    let Some(t) = c.tls.get() else {
        return;
    };
    let mut rec = Vec::new();
    t.close_notify(&mut rec);
    let mut pos = 0;
    let _ = write_nonblocking(c, &rec, &mut pos);
}

/// Bytes written to the socket that its peer has not taken yet (the
/// kernel's send queue); 0 where that is not known.
pub fn unsent(c: &ClientShared) -> u64 {
    #[cfg(target_os = "linux")]
    {
        let mut n: libc::c_int = 0;
        // SAFETY: TIOCOUTQ (SIOCOUTQ) writes one int for a live socket.
        let Some(sock) = &c.sock else {
            return 0;
        };
        let r = unsafe { libc::ioctl(sock.as_raw_fd(), libc::TIOCOUTQ, &mut n) };
        if r == 0 && n > 0 {
            return n as u64;
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = c;
    0
}

/// Shuts the socket down in both directions (the file descriptor closes
/// when the last reference goes).
fn shutdown(c: &ClientShared) {
    let Some(sock) = &c.sock else {
        return;
    };
    // SAFETY: shutdown(2) on a descriptor owned by a live TcpStream.
    unsafe {
        libc::shutdown(sock.as_raw_fd(), libc::SHUT_RDWR);
    }
}

/// Waits until the socket can take bytes (never, for an internal client).
async fn writable(c: &ClientShared) -> std::io::Result<()> {
    match &c.sock {
        Some(s) => s.writable().await,
        None => std::future::pending().await,
    }
}
