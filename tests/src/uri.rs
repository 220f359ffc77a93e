//! `file://` URIs for filesystem paths, percent-encoded the way LSP clients
//! send them.

use std::fmt::Write as _;
use std::path::Path;

/// The `file://` URI of an absolute `path`.
///
/// Every byte other than an ASCII letter, digit, `-`, `.`, `_`, `~` or `/` is
/// percent-encoded (so spaces become `%20` and each byte of a non-ASCII
/// character becomes `%XX`). A relative path is used as given; make it
/// absolute first (see [`crate::TestServer::uri_for`]).
pub fn file_uri(path: &Path) -> String {
    let bytes = path_bytes(path);
    let mut uri = String::with_capacity(bytes.len() + 8);
    uri.push_str("file://");
    if bytes.first() != Some(&b'/') {
        // Windows drive paths (`C:/x`) still need the empty authority.
        uri.push('/');
    }
    for byte in bytes {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'/') {
            uri.push(char::from(byte));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(uri, "%{byte:02X}");
        }
    }
    uri
}

#[cfg(unix)]
fn path_bytes(path: &Path) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt as _;
    path.as_os_str().as_bytes().to_vec()
}

#[cfg(not(unix))]
fn path_bytes(path: &Path) -> Vec<u8> {
    path.to_string_lossy().replace('\\', "/").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_path() {
        assert_eq!(file_uri(Path::new("/tmp/app/db.py")), "file:///tmp/app/db.py");
    }

    #[test]
    fn spaces_and_non_ascii_are_percent_encoded() {
        assert_eq!(file_uri(Path::new("/tmp/my project/漢.py")), "file:///tmp/my%20project/%E6%BC%A2.py");
        assert_eq!(file_uri(Path::new("/a/🧪#1?.py")), "file:///a/%F0%9F%A7%AA%231%3F.py");
    }
}
