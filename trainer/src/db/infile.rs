//! `LOAD DATA LOCAL INFILE` bodies streamed from memory, for the generator's bulk load and
//! ingest's pages alike.

use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use bytes::Bytes;
use mysql_async::Conn;

/// How much a body's fill function is asked for at a time.
pub(crate) const CHUNK: usize = 256 * 1024;

/// A `LOAD DATA LOCAL INFILE` body generated on demand, 256 KiB at a time.
struct InfileStream<F> {
    fill: F,
    done: bool,
}

impl<F: FnMut(&mut Vec<u8>) + Unpin> futures_core::Stream for InfileStream<F> {
    type Item = std::io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, _cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        let mut buf = Vec::with_capacity(CHUNK + 512);
        (this.fill)(&mut buf);
        if buf.is_empty() {
            this.done = true;
            return Poll::Ready(None);
        }
        Poll::Ready(Some(Ok(Bytes::from(buf))))
    }
}

/// Streams `fill`'s output as the body of the next `LOAD DATA LOCAL INFILE` on `conn`.
pub(crate) fn set_infile<F>(conn: &mut Conn, fill: F)
where
    F: FnMut(&mut Vec<u8>) + Unpin + Send + Sync + 'static,
{
    let stream = InfileStream { fill, done: false };
    conn.set_infile_handler(async move { Ok(Box::pin(stream) as mysql_async::InfileData) });
}
