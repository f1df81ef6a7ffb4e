//! An in-process CMC responder for the client tests: the engine's
//! `handle_full` (or a fixed answer) behind a minimal HTTP/1.1 listener on
//! loopback, so the tests do not depend on the `cmc-server` binary.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

use cmc_ca::{Engine, EngineConfig, SystemClock};
use proto_cmc::{CmcFrontDoor, Transport};

use super::Env;

/// Starts a responder for the CAs in `env`'s store; returns `http://127.0.0.1:PORT`.
pub fn start_server(env: &Env) -> String {
    start_server_with(env, |_, _, der| der)
}

/// What a test responder does to each answer before sending it: given the
/// engine, the CA name and the answer's DER, returns the bytes to send.
pub type AnswerHook = fn(&Engine, &str, Vec<u8>) -> Vec<u8>;

/// [`start_server`] whose successful answers pass through `hook` (a test
/// that tampers with answers on the wire).
pub fn start_server_with(env: &Env, hook: AnswerHook) -> String {
    let config = cmc_ca::config::Config::load(&env.config).unwrap();
    let engine = Arc::new(
        Engine::open(
            &config.store_url(),
            Arc::new(SystemClock),
            EngineConfig::from_config(&config).unwrap(),
        )
        .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let engine = Arc::clone(&engine);
            std::thread::spawn(move || {
                serve(stream, |ca, body| {
                    match engine.handle_full(ca, body, &Transport::default()) {
                        Ok(reply) => (
                            200,
                            reply.content_type.to_owned(),
                            hook(&engine, ca, reply.der),
                        ),
                        Err(e) => (
                            e.http_status(),
                            "text/plain".to_owned(),
                            e.reason().into_bytes(),
                        ),
                    }
                });
            });
        }
    });
    format!("http://{addr}")
}

/// Starts a responder that answers every request with `body` (HTTP 200).
pub fn start_fixed_server(body: Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let body = body.clone();
            std::thread::spawn(move || {
                serve(stream, |_, _| {
                    (
                        200,
                        "application/pkcs7-mime; smime-type=CMC-response".to_owned(),
                        body,
                    )
                });
            });
        }
    });
    format!("http://{addr}")
}

/// Reads one request from `stream` and writes what `respond(ca, body)`
/// answers: (status, content type, body).
pub fn serve(mut stream: TcpStream, respond: impl FnOnce(&str, &[u8]) -> (u16, String, Vec<u8>)) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = stream.read(&mut chunk).unwrap();
        assert!(n > 0, "client closed before the head");
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(buf[..head_end].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap().to_owned();
    let mut length = 0;
    for line in lines {
        let (name, value) = line.split_once(':').unwrap();
        if name.eq_ignore_ascii_case("content-length") {
            length = value.trim().parse().unwrap();
        }
        if name.eq_ignore_ascii_case("content-type") {
            assert_eq!(
                value.trim(),
                "application/pkcs7-mime; smime-type=CMC-request"
            );
        }
    }
    let mut body = buf.split_off(head_end + 4);
    while body.len() < length {
        let n = stream.read(&mut chunk).unwrap();
        assert!(n > 0, "client closed before the body");
        body.extend_from_slice(&chunk[..n]);
    }
    let path = request_line.split(' ').nth(1).unwrap();
    let ca = path.strip_prefix("/cmc/").unwrap_or("");
    let (status, ctype, bytes) = respond(ca, &body);
    let head = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        bytes.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&bytes).unwrap();
}
