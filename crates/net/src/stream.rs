//! One task per TCP or TLS connection: it reads, frames messages by `Content-Length`
//! (RFC 3261 §18.3), answers CRLF keep-alive pings (RFC 5626 §3.5.1), writes what the driver
//! queues, and closes the connection when it idles, after a framing error, or on shutdown.

use crate::driver::Inbound;
use crate::metric_names::FRAMING_ERRORS;
use crate::shutdown::{Shutdown, TaskToken};
use bytes::Bytes;
use parley_sip::{ConnectionId, Frame, Limits, Peer, StreamFramer, Transport};
use rustls::pki_types::ServerName;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::{timeout, Instant};
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// Octets asked of the socket per read.
const READ_CHUNK: usize = 16 * 1024;
/// How long a connection stays open after the peer stopped sending (end of stream or a
/// framing error), so that answers already on their way still reach it.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// What the driver queues for a connection's task.
#[derive(Debug)]
pub(crate) enum Outbound {
    /// Bytes to write.
    Data(Bytes),
    /// Close after writing what was queued before (used after a framing error's answer).
    Close,
}

/// How a connection comes to be.
pub(crate) enum Opening {
    /// Accepted by a listener; TLS listeners hand their acceptor.
    Accepted {
        stream: TcpStream,
        tls: Option<TlsAcceptor>,
    },
    /// Opened by us towards `StreamTask::remote`.
    Connect {
        tls: Option<(TlsConnector, ServerName<'static>)>,
    },
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct StreamTimeouts {
    pub(crate) idle: Duration,
    pub(crate) handshake: Duration,
    pub(crate) write: Duration,
}

/// Why a connection ended (for the debug log).
#[derive(Debug, Clone, Copy)]
enum CloseReason {
    Idle,
    PeerClosed,
    Requested,
    Shutdown,
    DriverGone,
}

pub(crate) struct StreamTask {
    pub(crate) id: ConnectionId,
    pub(crate) transport: Transport,
    pub(crate) remote: SocketAddr,
    pub(crate) local: SocketAddr,
    pub(crate) inbound: mpsc::Sender<Inbound>,
    pub(crate) outbound: mpsc::Receiver<Outbound>,
    pub(crate) limits: Limits,
    pub(crate) timeouts: StreamTimeouts,
    pub(crate) shutdown: Shutdown,
    pub(crate) token: TaskToken,
}

/// The byte streams a connection can run over.
enum Io {
    Plain(TcpStream),
    ServerTls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
    ClientTls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl StreamTask {
    /// Runs the connection to its end, then tells the driver it is gone.
    pub(crate) async fn run(mut self, opening: Opening) {
        let outcome = self.open_and_serve(opening).await;
        match outcome {
            Ok(reason) => {
                tracing::debug!(id = self.id.0, remote = %self.remote, ?reason, "connection closed")
            }
            Err(e) => {
                tracing::debug!(id = self.id.0, remote = %self.remote, error = %e, "connection failed")
            }
        }
        let _ = self.inbound.send(Inbound::Closed { id: self.id }).await;
        drop(self.token);
    }

    async fn open_and_serve(&mut self, opening: Opening) -> io::Result<CloseReason> {
        let mut shutdown = self.shutdown.clone();
        let opened = tokio::select! {
            io = open(opening, self.remote, self.timeouts.handshake) => io?,
            () = shutdown.wait() => return Ok(CloseReason::Shutdown),
        };
        match opened {
            Io::Plain(s) => {
                self.local = s.local_addr()?;
                self.serve(s).await
            }
            Io::ServerTls(s) => {
                self.local = s.get_ref().0.local_addr()?;
                self.serve(s).await
            }
            Io::ClientTls(s) => {
                self.local = s.get_ref().0.local_addr()?;
                self.serve(s).await
            }
        }
    }

    async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        mut io: S,
    ) -> io::Result<CloseReason> {
        let peer = Peer {
            transport: self.transport,
            remote: self.remote,
            local: self.local,
            connection: Some(self.id),
        };
        let idle = self.timeouts.idle;
        let mut framer = StreamFramer::new(self.limits);
        let mut reading = true;
        let mut deadline = Instant::now() + idle;
        let reason = loop {
            if reading {
                framer.buffer_mut().reserve(READ_CHUNK);
            }
            tokio::select! {
                out = self.outbound.recv() => match out {
                    Some(Outbound::Data(data)) => {
                        write(&mut io, &data, self.timeouts.write).await?;
                        if reading {
                            deadline = Instant::now() + idle;
                        }
                    }
                    Some(Outbound::Close) => break CloseReason::Requested,
                    None => break CloseReason::DriverGone,
                },
                read = io.read_buf(framer.buffer_mut()), if reading => {
                    if read? == 0 {
                        reading = false;
                        deadline = Instant::now() + CLOSE_GRACE;
                        // The peer is done with the connection: requests must not be sent
                        // over it any more, even while late answers may still be written.
                        let _ = self.inbound.send(Inbound::PeerFinished { id: self.id }).await;
                        continue;
                    }
                    deadline = Instant::now() + idle;
                    match self.deliver_frames(&mut framer, &mut io, peer).await? {
                        Delivery::Continue => {}
                        Delivery::FramingFailed => {
                            reading = false;
                            deadline = Instant::now() + CLOSE_GRACE;
                        }
                        Delivery::DriverGone => break CloseReason::DriverGone,
                    }
                },
                () = tokio::time::sleep_until(deadline) => {
                    break if reading { CloseReason::Idle } else { CloseReason::PeerClosed };
                },
                () = self.shutdown.wait() => break CloseReason::Shutdown,
            }
        };
        let _ = timeout(CLOSE_GRACE, io.shutdown()).await;
        Ok(reason)
    }

    /// Hands every complete message in the framer to the driver and answers pings.
    async fn deliver_frames<S: AsyncWrite + Unpin>(
        &mut self,
        framer: &mut StreamFramer,
        io: &mut S,
        peer: Peer,
    ) -> io::Result<Delivery> {
        loop {
            let input = match framer.next_frame() {
                Ok(None) => return Ok(Delivery::Continue),
                // RFC 5626 §4.4.1: the pong is a single CRLF.
                Ok(Some(Frame::Ping)) => {
                    write(io, b"\r\n", self.timeouts.write).await?;
                    continue;
                }
                Ok(Some(Frame::Message(data))) => Inbound::Message { peer, data },
                Err(error) => {
                    metrics::counter!(FRAMING_ERRORS).increment(1);
                    Inbound::FramingError { peer, error }
                }
            };
            let failed = matches!(input, Inbound::FramingError { .. });
            if self.inbound.send(input).await.is_err() {
                return Ok(Delivery::DriverGone);
            }
            if failed {
                // The stream cannot be delimited any more: read no further. The driver
                // queues the answer and then `Outbound::Close`.
                return Ok(Delivery::FramingFailed);
            }
        }
    }
}

enum Delivery {
    Continue,
    FramingFailed,
    DriverGone,
}

async fn open(opening: Opening, remote: SocketAddr, limit: Duration) -> io::Result<Io> {
    let timed_out = |_| io::Error::new(io::ErrorKind::TimedOut, "handshake timed out");
    match opening {
        Opening::Accepted { stream, tls: None } => Ok(Io::Plain(stream)),
        Opening::Accepted {
            stream,
            tls: Some(acceptor),
        } => {
            let tls = timeout(limit, acceptor.accept(stream))
                .await
                .map_err(timed_out)??;
            Ok(Io::ServerTls(Box::new(tls)))
        }
        Opening::Connect { tls } => {
            let stream = timeout(limit, TcpStream::connect(remote))
                .await
                .map_err(timed_out)??;
            stream.set_nodelay(true)?;
            match tls {
                None => Ok(Io::Plain(stream)),
                Some((connector, name)) => {
                    let tls = timeout(limit, connector.connect(name, stream))
                        .await
                        .map_err(timed_out)??;
                    Ok(Io::ClientTls(Box::new(tls)))
                }
            }
        }
    }
}

async fn write<S: AsyncWrite + Unpin>(io: &mut S, data: &[u8], limit: Duration) -> io::Result<()> {
    timeout(limit, async {
        io.write_all(data).await?;
        io.flush().await
    })
    .await
    .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "peer does not read"))?
}
