//! loa-health-probe [PATH] — GET http://127.0.0.1:$PORT/PATH (default /health, port 18789) and exit
//! 0 on a 2xx answer within 3 seconds, 1 otherwise. Statically linked so the HEALTHCHECK needs
//! neither curl nor a shell; std only, so it builds with Debian's rustc and no crates.io.
use std::env;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::exit;
use std::time::Duration;

fn main() {
    let port: u16 = env::var("PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(18789);
    let path = env::args().nth(1).unwrap_or_else(|| "/health".to_string());
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let timeout = Duration::from_secs(3);
    let mut stream = match TcpStream::connect_timeout(&addr, timeout) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("loa-health-probe: cannot connect to {}: {}", addr, e);
            exit(1);
        }
    };
    let _ = stream.set_read_timeout(Some(timeout));
    let _ = stream.set_write_timeout(Some(timeout));
    let request = format!("GET {} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
    if let Err(e) = stream.write_all(request.as_bytes()) {
        eprintln!("loa-health-probe: write failed: {}", e);
        exit(1);
    }
    let mut head = [0u8; 64];
    let n = stream.read(&mut head).unwrap_or(0);
    let line = String::from_utf8_lossy(&head[..n]);
    let code: u16 = line.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    if (200..300).contains(&code) {
        println!("loa-health-probe: {} answered {}", path, code);
        exit(0);
    }
    eprintln!("loa-health-probe: {} answered {:?}", path, line.lines().next().unwrap_or(""));
    exit(1);
}
