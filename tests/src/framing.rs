//! JSON-RPC message framing for LSP over stdio: a `Content-Length` header
//! block, an empty line, then exactly that many bytes of UTF-8 JSON.

use std::io::{self, BufRead, Write};

use serde_json::Value;

/// Writes `message` as one framed LSP message and flushes `out`.
pub fn write_message(out: &mut impl Write, message: &Value) -> io::Result<()> {
    let body = serde_json::to_vec(message).map_err(io::Error::other)?;
    write_frame(out, &body)
}

/// Writes `body` (which should be JSON, but is not checked) as one framed
/// message and flushes `out`.
pub fn write_frame(out: &mut impl Write, body: &[u8]) -> io::Result<()> {
    let mut frame = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    frame.extend_from_slice(body);
    out.write_all(&frame)?;
    out.flush()
}

/// Reads one framed message body.
///
/// Returns `Ok(None)` on a clean end of stream (before any header byte).
/// Header names are matched case-insensitively; headers other than
/// `Content-Length` (such as `Content-Type`) are ignored. A missing or invalid
/// `Content-Length`, or the stream ending inside a message, is an error.
pub fn read_frame(input: &mut impl BufRead) -> io::Result<Option<Vec<u8>>> {
    let mut content_length = None;
    let mut line = Vec::new();
    let mut first = true;
    loop {
        line.clear();
        let read = input.read_until(b'\n', &mut line)?;
        if read == 0 {
            if first {
                return Ok(None);
            }
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "stream ended inside a message header"));
        }
        first = false;
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            break;
        }
        let Some((name, value)) = text.split_once(':') else {
            return Err(invalid(format!("malformed header line {text:?}")));
        };
        if name.trim().eq_ignore_ascii_case("content-length") {
            let length =
                value.trim().parse::<usize>().map_err(|e| invalid(format!("bad Content-Length {value:?}: {e}")))?;
            content_length = Some(length);
        }
    }
    let length = content_length.ok_or_else(|| invalid("header block without Content-Length"))?;
    let mut body = vec![0; length];
    input.read_exact(&mut body)?;
    Ok(Some(body))
}

/// Reads one framed message and parses it as JSON.
///
/// Returns `Ok(None)` on a clean end of stream; a body that is not JSON is an
/// [`io::ErrorKind::InvalidData`] error (the stream stays usable).
pub fn read_message(input: &mut impl BufRead) -> io::Result<Option<Value>> {
    match read_frame(input)? {
        None => Ok(None),
        Some(body) => {
            serde_json::from_slice(&body).map(Some).map_err(|e| invalid(format!("message body is not JSON: {e}")))
        }
    }
}

fn invalid(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trip_with_multibyte_body() {
        let message = json!({"jsonrpc": "2.0", "method": "x", "params": {"s": "🧪漢"}});
        let mut wire = Vec::new();
        write_message(&mut wire, &message).expect("write");
        write_message(&mut wire, &json!(1)).expect("write");
        let header_len = serde_json::to_vec(&message).expect("json").len();
        assert!(wire.starts_with(format!("Content-Length: {header_len}\r\n\r\n").as_bytes()));
        let mut input = io::Cursor::new(wire);
        assert_eq!(read_message(&mut input).expect("read"), Some(message));
        assert_eq!(read_message(&mut input).expect("read"), Some(json!(1)));
        assert_eq!(read_message(&mut input).expect("eof"), None);
    }

    #[test]
    fn headers_are_case_insensitive_and_extra_headers_ignored() {
        let wire = b"content-length: 2\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n{}";
        let mut input = io::Cursor::new(&wire[..]);
        assert_eq!(read_message(&mut input).expect("read"), Some(json!({})));
    }

    #[test]
    fn malformed_frames_are_errors() {
        let mut missing = io::Cursor::new(&b"Content-Type: x\r\n\r\n{}"[..]);
        assert!(read_frame(&mut missing).is_err());
        let mut truncated = io::Cursor::new(&b"Content-Length: 10\r\n\r\n{}"[..]);
        assert!(read_frame(&mut truncated).is_err());
        let mut not_json = io::Cursor::new(&b"Content-Length: 3\r\n\r\nabc"[..]);
        assert_eq!(read_message(&mut not_json).expect_err("not json").kind(), io::ErrorKind::InvalidData);
    }
}
