//! Encrypted CMC requests on the wire: `openssl cms -encrypt` around a
//! request, a raw POST to `/cmc/root`, and `cmc-tool show` of the answer.

use std::io::{Read, Write};
use std::net::TcpStream;

use super::{Env, openssl};

/// POSTs `body` to /cmc/root and returns the (200) answer.
pub fn post(url: &str, body: &[u8]) -> Vec<u8> {
    let addr = url.strip_prefix("http://").unwrap();
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST /cmc/root HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/pkcs7-mime; smime-type=CMC-request\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    s.write_all(body).unwrap();
    let mut all = Vec::new();
    s.read_to_end(&mut all).unwrap();
    let i = all.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    assert!(
        all.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&all)
    );
    all.split_off(i + 4)
}

/// `openssl cms -encrypt` of the file `input` to `to`, with `opts`.
pub fn encrypt(input: &str, to: &str, opts: &[&str]) -> Vec<u8> {
    let out = format!("{input}.env");
    let mut args = vec![
        "cms", "-encrypt", "-binary", "-in", input, "-outform", "DER", "-out", &out, "-recip", to,
    ];
    args.extend_from_slice(opts);
    openssl(&args);
    std::fs::read(out).unwrap()
}

/// `cmc-tool show` of an answer: its text.
pub fn show(env: &Env, name: &str, answer: &[u8]) -> String {
    let path = env.p(&format!("{name}.resp"));
    std::fs::write(&path, answer).unwrap();
    env.ok(&["show", &path]).stdout
}
