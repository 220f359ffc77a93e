//! The stdio transport, with a gate in front of tower-lsp.
//!
//! tower-lsp-server stops reading after a frame it cannot decode (a body that is not JSON), and
//! the session ends. One bad message must not end a session, so every frame is read here
//! first. Frames that are not JSON-RPC objects are answered with a JSON-RPC error and dropped;
//! the rest go to tower-lsp unchanged. Output from tower-lsp and from this gate share one writer
//! task, so frames never interleave on stdout.

use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, DuplexStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Bodies above this size are not a message anyone meant to send; the input is abandoned.
const MAX_BODY: usize = 1 << 30;

/// What a frame must at least look like to be handed to tower-lsp. Unknown fields, including
/// a large `params`, are skipped without being copied.
#[derive(Deserialize)]
struct Probe {
    #[serde(rename = "jsonrpc")]
    _jsonrpc: String,
}

/// Streams for tower-lsp (read, write) and the task that owns stdout (await it at exit so the
/// last responses are flushed).
pub struct Stdio {
    pub input: DuplexStream,
    pub output: DuplexStream,
    pub writer: JoinHandle<()>,
}

pub fn stdio() -> Stdio {
    gate(tokio::io::stdin(), tokio::io::stdout())
}

/// Wires `source` → gate → tower-lsp → `sink`.
pub fn gate<R, W>(source: R, sink: W) -> Stdio
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (input, to_server) = tokio::io::duplex(1 << 16);
    let (output, from_server) = tokio::io::duplex(1 << 16);
    let (frames, outgoing) = mpsc::unbounded_channel::<Vec<u8>>();
    tokio::spawn(read_client(source, to_server, frames.clone()));
    tokio::spawn(read_server(from_server, frames));
    let writer = tokio::spawn(write_frames(outgoing, sink));
    Stdio { input, output, writer }
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut framed = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    framed.extend_from_slice(body);
    framed
}

fn error_frame(code: i64, message: &str) -> Vec<u8> {
    let body = serde_json::json!({ "jsonrpc": "2.0", "id": null, "error": { "code": code, "message": message } });
    frame(body.to_string().as_bytes())
}

/// Reads one frame's headers; `Ok(None)` at end of input. Header lines without a usable
/// `Content-Length` are skipped.
async fn read_headers<R: AsyncRead + Unpin>(reader: &mut BufReader<R>) -> std::io::Result<Option<usize>> {
    let mut content_length = None;
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Ok(None);
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim();
        if text.is_empty() {
            if content_length.is_some() {
                return Ok(content_length);
            }
            continue;
        }
        if let Some((name, value)) = text.split_once(':') {
            if name.trim().eq_ignore_ascii_case("content-length") {
                match value.trim().parse::<usize>() {
                    Ok(length) => content_length = Some(length),
                    Err(_) => tracing::warn!("ignoring a bad Content-Length header: {text}"),
                }
            }
        }
    }
}

async fn read_client<R: AsyncRead + Unpin>(
    source: R,
    mut to_server: DuplexStream,
    frames: mpsc::UnboundedSender<Vec<u8>>,
) {
    let mut reader = BufReader::new(source);
    loop {
        let length = match read_headers(&mut reader).await {
            Ok(Some(length)) => length,
            Ok(None) => break,
            Err(error) => {
                tracing::error!("cannot read from the client: {error}");
                break;
            }
        };
        if length > MAX_BODY {
            tracing::error!("a message of {length} bytes is beyond any reasonable size; closing the input");
            break;
        }
        let mut body = vec![0; length];
        if let Err(error) = reader.read_exact(&mut body).await {
            tracing::error!("the client's input ended inside a message: {error}");
            break;
        }
        if let Err(error) = serde_json::from_slice::<Probe>(&body) {
            let (code, kind) = if error.is_data() { (-32600, "invalid request") } else { (-32700, "parse error") };
            tracing::warn!("dropping a message that is not JSON-RPC ({kind}): {error}");
            let _ = frames.send(error_frame(code, &format!("{kind}: {error}")));
            continue;
        }
        if to_server.write_all(&frame(&body)).await.is_err() {
            break;
        }
    }
    // Dropping `to_server` ends tower-lsp's input: the session ends as on a closed pipe.
}

async fn read_server(from_server: DuplexStream, frames: mpsc::UnboundedSender<Vec<u8>>) {
    let mut reader = BufReader::new(from_server);
    loop {
        let Ok(Some(length)) = read_headers(&mut reader).await else { break };
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).await.is_err() {
            break;
        }
        if frames.send(frame(&body)).is_err() {
            break;
        }
    }
}

async fn write_frames<W: AsyncWrite + Unpin>(mut outgoing: mpsc::UnboundedReceiver<Vec<u8>>, mut sink: W) {
    while let Some(frame) = outgoing.recv().await {
        if sink.write_all(&frame).await.is_err() || sink.flush().await.is_err() {
            tracing::error!("cannot write to the client; stopping output");
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn roundtrip(bytes: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let (mut client_side, gate_input) = tokio::io::duplex(1 << 16);
        let (gate_output, mut client_reader) = tokio::io::duplex(1 << 16);
        let Stdio { mut input, output, writer } = gate(gate_input, gate_output);
        client_side.write_all(bytes).await.expect("write");
        drop(client_side);
        let mut to_server = Vec::new();
        input.read_to_end(&mut to_server).await.expect("read");
        drop(output);
        let _ = writer.await;
        let mut to_client = Vec::new();
        client_reader.read_to_end(&mut to_client).await.expect("read");
        (to_server, to_client)
    }

    #[tokio::test]
    async fn valid_frames_pass_and_bad_ones_get_errors() {
        let good = br#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#;
        let mut input = frame(b"{not json");
        input.extend(frame(b"[1, 2]"));
        input.extend(b"X-Junk: 1\r\n".iter());
        input.extend(frame(good));
        let (to_server, to_client) = roundtrip(&input).await;
        assert_eq!(to_server, frame(good));
        let to_client = String::from_utf8(to_client).expect("utf-8");
        assert!(to_client.contains("-32700"), "{to_client}");
        assert!(to_client.contains("-32600"), "{to_client}");
    }
}
