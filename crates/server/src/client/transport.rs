//! Transport input of a client connection: TLS records decrypted and
//! websocket frames decoded into protocol bytes, websocket control frames.

use super::*;

impl Conn {
    /// Turns transport bytes (`raw`) into protocol bytes (`buf`): TLS
    /// records are decrypted, websocket frames decoded (both for `wss`, the
    /// frames passing through `mid`). Returns the bytes the next websocket
    /// frame still needs.
    pub(super) fn transport_input(
        &mut self,
        decoder: Option<&mut crate::transport::ws::Decoder>,
        tls: bool,
        raw: &mut Vec<u8>,
        mid: &mut Vec<u8>,
        buf: &mut Vec<u8>,
    ) -> Result<usize, ClosedReason> {
        match decoder {
            Some(dec) if tls => {
                self.tls_input(raw, mid)?;
                self.ws_input(dec, mid, buf)
            }
            Some(dec) => self.ws_input(dec, raw, buf),
            None if tls => self.tls_input(raw, buf).map(|()| 0),
            None => Ok(0),
        }
    }

    /// Decodes websocket frames from `raw` into `buf` and answers control
    /// frames. Returns the bytes the next frame still needs.
    pub(super) fn ws_input(
        &mut self,
        dec: &mut crate::transport::ws::Decoder,
        raw: &mut Vec<u8>,
        buf: &mut Vec<u8>,
    ) -> Result<usize, ClosedReason> {
        let mut events = Vec::new();
        let res = dec.decode(raw, buf, &mut events);
        for ev in events {
            match ev {
                crate::transport::ws::Control::Ping(p) => {
                    self.ws_ctrl(|o| crate::transport::ws::encode_pong(o, &p));
                }
                crate::transport::ws::Control::Close(code) => {
                    let code = if code == 1005 {
                        crate::transport::ws::CLOSE_NORMAL
                    } else {
                        code
                    };
                    self.ws_ctrl(|o| crate::transport::ws::encode_close(o, code, ""));
                    return Err(ClosedReason::ClientClosed);
                }
            }
        }
        match res {
            Ok(need) => Ok(need),
            Err(e) => {
                crate::error!(
                    "{} - websocket protocol error: {}",
                    self.shared.log_prefix,
                    e.reason
                );
                self.ws_ctrl(|o| crate::transport::ws::encode_close(o, e.code, &e.reason));
                Err(ClosedReason::ProtocolViolation)
            }
        }
    }

    pub(super) fn tls_established(&self) -> bool {
        self.shared.tls.get().is_none_or(|t| t.established())
    }

    /// Decrypts TLS records from `raw` into `buf`, and sends what the
    /// handshake needs sent.
    pub(super) fn tls_input(
        &mut self,
        raw: &mut Vec<u8>,
        buf: &mut Vec<u8>,
    ) -> Result<(), ClosedReason> {
        let Some(t) = self.shared.tls.get() else {
            return Ok(());
        };
        let res = t.decrypt(raw, buf);
        if t.wants_write() {
            writer::flush_in_place(&self.shared);
        }
        if res.is_ok() && !self.pin_checked && t.established() {
            self.pin_checked = true;
            let pinned = self.opts.tls.as_ref().map(|o| o.pinned_certs.as_slice());
            if let Err(id) = t.check_pinned(pinned.unwrap_or_default()) {
                crate::error!(
                    "{} - TLS handshake error: certificate not pinned: {id}",
                    self.shared.log_prefix
                );
                return Err(ClosedReason::TlsHandshakeError);
            }
        }
        res.map_err(|e| {
            crate::error!("{} - TLS handshake error: {e}", self.shared.log_prefix);
            ClosedReason::TlsHandshakeError
        })
    }

    /// Queues a websocket control frame and flushes it.
    pub(super) fn ws_ctrl(&mut self, frame: impl FnOnce(&mut Vec<u8>)) {
        {
            let mut out = self.shared.out.lock();
            if out.closed.is_some() {
                return;
            }
            frame(&mut out.ctrl);
        }
        writer::flush_in_place(&self.shared);
    }
}
