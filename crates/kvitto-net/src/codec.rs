//! The request-response codec: one frame each way, a 4-byte big-endian length then the bytes.
//!
//! A reader checks the length against the limit ([`REQUEST_SIZE_MAX`] or [`RESPONSE_SIZE_MAX`])
//! before allocating, and fails the stream with a [`FrameTooLarge`] error otherwise. A writer
//! never sends an oversized body: it writes only the length prefix and fails, so that the remote
//! learns why the exchange failed without receiving the body.

use std::io;

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::request_response;
use libp2p::StreamProtocol;

use crate::limits::{REQUEST_SIZE_MAX, RESPONSE_SIZE_MAX};

/// A length prefix above the limit: the `io::Error` inside a request-response failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind} of {length} bytes is larger than {max} bytes")]
pub struct FrameTooLarge {
    pub kind: FrameKind,
    pub length: u64,
    pub max: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameKind {
    Request,
    Response,
}

impl std::fmt::Display for FrameKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FrameKind::Request => "request",
            FrameKind::Response => "response",
        })
    }
}

/// The [`FrameTooLarge`] inside `error`, if that is what it is.
pub fn frame_too_large(error: &io::Error) -> Option<FrameTooLarge> {
    error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<FrameTooLarge>())
        .copied()
}

fn too_large(kind: FrameKind, length: u64, max: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        FrameTooLarge { kind, length, max },
    )
}

pub(crate) async fn read_frame<T>(io: &mut T, kind: FrameKind, max: usize) -> io::Result<Vec<u8>>
where
    T: AsyncRead + Unpin + Send,
{
    let mut prefix = [0u8; 4];
    io.read_exact(&mut prefix).await?;
    let length = u32::from_be_bytes(prefix);
    let length_usize = usize::try_from(length).map_err(|_| too_large(kind, length.into(), max))?;
    if length_usize > max {
        return Err(too_large(kind, length.into(), max));
    }
    let mut body = vec![0u8; length_usize];
    io.read_exact(&mut body).await?;
    Ok(body)
}

pub(crate) async fn write_frame<T>(
    io: &mut T,
    kind: FrameKind,
    max: usize,
    body: &[u8],
) -> io::Result<()>
where
    T: AsyncWrite + Unpin + Send,
{
    let length = u32::try_from(body.len()).unwrap_or(u32::MAX);
    io.write_all(&length.to_be_bytes()).await?;
    if body.len() > max {
        // The prefix alone tells the reader why; the body is never sent.
        io.flush().await?;
        return Err(too_large(kind, body.len() as u64, max));
    }
    io.write_all(body).await?;
    io.flush().await?;
    io.close().await
}

/// Requests and responses are opaque bytes; the application gives them meaning.
#[derive(Clone, Copy, Debug, Default)]
pub struct BytesCodec;

impl request_response::Codec for BytesCodec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_frame(io, FrameKind::Request, REQUEST_SIZE_MAX).await
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_frame(io, FrameKind::Response, RESPONSE_SIZE_MAX).await
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        request: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, FrameKind::Request, REQUEST_SIZE_MAX, &request).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        response: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, FrameKind::Response, RESPONSE_SIZE_MAX, &response).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;
    use futures::io::Cursor;

    fn encode(body: &[u8]) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        block_on(write_frame(&mut out, FrameKind::Request, 100, body)).expect("write");
        out.into_inner()
    }

    #[test]
    fn frames_round_trip() {
        for body in [&b""[..], b"x", &[7u8; 100]] {
            let bytes = encode(body);
            assert_eq!(bytes.len(), 4 + body.len());
            let read = block_on(read_frame(&mut Cursor::new(bytes), FrameKind::Request, 100))
                .expect("read");
            assert_eq!(read, body);
        }
    }

    #[test]
    fn reader_rejects_a_large_prefix_before_reading_the_body() {
        // Only the prefix is there: a reader that allocated and read would fail with EOF instead.
        let prefix = u32::MAX.to_be_bytes().to_vec();
        let error = block_on(read_frame(
            &mut Cursor::new(prefix),
            FrameKind::Response,
            RESPONSE_SIZE_MAX,
        ))
        .expect_err("too large");
        assert_eq!(
            frame_too_large(&error),
            Some(FrameTooLarge {
                kind: FrameKind::Response,
                length: u64::from(u32::MAX),
                max: RESPONSE_SIZE_MAX
            })
        );
        let mut one_over = Vec::from((REQUEST_SIZE_MAX as u32 + 1).to_be_bytes());
        one_over.extend(vec![0; REQUEST_SIZE_MAX + 1]);
        let error = block_on(read_frame(
            &mut Cursor::new(one_over),
            FrameKind::Request,
            REQUEST_SIZE_MAX,
        ))
        .expect_err("too large");
        assert_eq!(
            error.to_string(),
            "request of 16385 bytes is larger than 16384 bytes"
        );
    }

    #[test]
    fn reader_rejects_a_truncated_frame() {
        let mut bytes = encode(b"hello");
        bytes.pop();
        let error = block_on(read_frame(&mut Cursor::new(bytes), FrameKind::Request, 100))
            .expect_err("truncated");
        assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(frame_too_large(&error), None);
    }

    #[test]
    fn writer_sends_only_the_prefix_of_a_large_body() {
        let mut out = Cursor::new(Vec::new());
        let error = block_on(write_frame(&mut out, FrameKind::Request, 10, &[1; 11]))
            .expect_err("too large");
        assert!(frame_too_large(&error).is_some());
        assert_eq!(out.into_inner(), 11u32.to_be_bytes());
    }
}
