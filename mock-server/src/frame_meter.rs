//! The frames a widget sends, counted on the raw stream under the
//! WebSocket layer. tungstenite bounds the bytes of a message but not the
//! number of fragments that carry it: a client sending empty continuation
//! frames for ever would hold its channel, and a core, without reaching
//! any size bound. The meter reads only frame headers as the bytes go by
//! (it never buffers nor changes them) and fails the stream once a message
//! has more fragments than its bound.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Fragments one message may arrive in by default: browsers send a text
/// message as one frame; a few hundred is generous for any client that
/// splits.
pub const DEFAULT_MAX_FRAGMENTS: usize = 256;

/// A message arrived in more fragments than the bound; the channel closes
/// with 1009 (message too big).
#[derive(Debug, thiserror::Error)]
#[error("a message arrived in more than {0} fragments")]
pub struct TooManyFragments(pub usize);

/// Longest frame header: 2 bytes, an 8-byte length, a 4-byte mask.
const MAX_HEADER: usize = 14;

/// Where the meter is in the client's stream of frames.
#[derive(Debug)]
struct Frames {
    header: [u8; MAX_HEADER],
    /// Header bytes read so far.
    have: usize,
    /// Payload bytes of the current frame still to go by.
    payload_left: u64,
    /// Fragments of the message under way (0 between messages).
    fragments: usize,
    max_fragments: usize,
}

impl Frames {
    fn new(max_fragments: usize) -> Self {
        Self {
            header: [0; MAX_HEADER],
            have: 0,
            payload_left: 0,
            fragments: 0,
            max_fragments,
        }
    }

    /// Follows `bytes`, the next bytes of the client's stream.
    fn feed(&mut self, mut bytes: &[u8]) -> Result<(), TooManyFragments> {
        while !bytes.is_empty() {
            if self.payload_left > 0 {
                let skip = usize::try_from(self.payload_left)
                    .unwrap_or(usize::MAX)
                    .min(bytes.len());
                bytes = &bytes[skip..];
                self.payload_left -= skip as u64;
                continue;
            }
            self.header[self.have] = bytes[0];
            self.have += 1;
            bytes = &bytes[1..];
            if self.have >= 2 && self.have == self.header_len() {
                self.frame()?;
            }
        }
        Ok(())
    }

    /// Length of the header under way, known once its second byte is in.
    fn header_len(&self) -> usize {
        let second = self.header[1];
        let extended = match second & 0x7f {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        2 + extended + if second & 0x80 != 0 { 4 } else { 0 }
    }

    /// A whole header has been read.
    fn frame(&mut self) -> Result<(), TooManyFragments> {
        let (first, second) = (self.header[0], self.header[1]);
        self.payload_left = match second & 0x7f {
            126 => u64::from(u16::from_be_bytes([self.header[2], self.header[3]])),
            127 => {
                let mut len = [0; 8];
                len.copy_from_slice(&self.header[2..10]);
                u64::from_be_bytes(len)
            }
            short => u64::from(short),
        };
        self.have = 0;
        let fin = first & 0x80 != 0;
        match first & 0x0f {
            // Control frames sit between fragments without counting.
            opcode if opcode & 0x08 != 0 => return Ok(()),
            0 => {
                self.fragments = self.fragments.saturating_add(1);
                if self.fragments > self.max_fragments {
                    return Err(TooManyFragments(self.max_fragments));
                }
            }
            _ => self.fragments = 1,
        }
        if fin {
            self.fragments = 0;
        }
        Ok(())
    }
}

/// A stream whose incoming WebSocket frames are metered; writes pass
/// through untouched.
#[derive(Debug)]
pub struct FrameMeter<S> {
    inner: S,
    frames: Frames,
    /// The bound was passed: every later read fails too.
    failed: bool,
}

impl<S> FrameMeter<S> {
    /// Meters `inner`, which must be at the start of the client's frames
    /// (just after the upgrade).
    pub fn new(inner: S, max_fragments: usize) -> Self {
        Self {
            inner,
            frames: Frames::new(max_fragments),
            failed: false,
        }
    }
}

impl<S> FrameMeter<S> {
    /// The stream beneath, unmetered: to drain what a client that broke
    /// the protocol still sends, once the WebSocket layer reads no more.
    pub fn raw(&mut self) -> &mut S {
        &mut self.inner
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for FrameMeter<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.failed {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::InvalidData,
                TooManyFragments(this.frames.max_fragments),
            )));
        }
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        if let Err(e) = this.frames.feed(&buf.filled()[before..]) {
            this.failed = true;
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, e)));
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for FrameMeter<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A client frame: FIN bit, opcode, masked payload of `len` bytes.
    fn frame(fin: bool, opcode: u8, len: usize) -> Vec<u8> {
        let mut out = vec![u8::from(fin) << 7 | opcode];
        match len {
            0..=125 => out.push(0x80 | len as u8),
            126..=0xffff => {
                out.push(0x80 | 126);
                out.extend((len as u16).to_be_bytes());
            }
            _ => {
                out.push(0x80 | 127);
                out.extend((len as u64).to_be_bytes());
            }
        }
        out.extend([1, 2, 3, 4]);
        out.extend(std::iter::repeat_n(b'x', len));
        out
    }

    fn message(fragments: usize, len: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for i in 0..fragments {
            let opcode = if i == 0 { 1 } else { 0 };
            out.extend(frame(i + 1 == fragments, opcode, len));
            // A ping between fragments is allowed and not counted.
            out.extend(frame(true, 9, 3));
        }
        out
    }

    #[test]
    fn a_message_within_the_bound_passes_and_one_fragment_more_fails() {
        let mut frames = Frames::new(4);
        frames.feed(&message(4, 200)).unwrap();
        frames.feed(&message(1, 70_000)).unwrap();
        assert_eq!(frames.fragments, 0);
        let err = frames.feed(&message(5, 0)).unwrap_err();
        assert_eq!(err.0, 4);
    }

    #[test]
    fn endless_empty_continuations_are_caught_without_a_final_frame() {
        let mut frames = Frames::new(DEFAULT_MAX_FRAGMENTS);
        frames.feed(&frame(false, 1, 0)).unwrap();
        let empty = frame(false, 0, 0);
        let mut sent = 1;
        let result = loop {
            sent += 1;
            if let Err(e) = frames.feed(&empty) {
                break e;
            }
            assert!(sent < 10_000, "never failed");
        };
        assert_eq!(sent, DEFAULT_MAX_FRAGMENTS + 1);
        assert_eq!(result.0, DEFAULT_MAX_FRAGMENTS);
    }

    proptest! {
        /// Wherever the stream is cut into reads, the meter sees the same
        /// frames: the count after a stream of whole messages is zero.
        #[test]
        fn any_split_of_the_stream_reads_the_same(
            lens in proptest::collection::vec((1usize..6, 0usize..300), 1..8),
            cuts in proptest::collection::vec(1usize..97, 1..40),
        ) {
            let mut stream = Vec::new();
            for (fragments, len) in lens {
                stream.extend(message(fragments, len));
            }
            let mut frames = Frames::new(5);
            let mut rest = &stream[..];
            for cut in cuts.iter().cycle() {
                if rest.is_empty() {
                    break;
                }
                let n = (*cut).min(rest.len());
                frames.feed(&rest[..n]).unwrap();
                rest = &rest[n..];
            }
            prop_assert_eq!(frames.fragments, 0);
            prop_assert_eq!(frames.have, 0);
            prop_assert_eq!(frames.payload_left, 0);
        }

        /// Random bytes never panic the meter.
        #[test]
        fn random_bytes_do_not_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
            let _ = Frames::new(3).feed(&bytes);
        }
    }
}
