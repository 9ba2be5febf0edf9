//! Tail fan-out load for `pls serve`: many JSON Lines tails of one pool while a writer appends
//! at a fixed rate; prints how many messages each tail got, the delivery latency (append to
//! receipt) percentiles, and the server's peak memory and wake-hub threads.
//!
//! ```text
//! serve_fanout ADDR POOL_FILE [TAILS] [RATE_PER_S] [SECONDS] [SERVER_PID]
//! ```
//!
//! The writer appends `{"t": <unix ns>}` straight to the pool file (as any local writer
//! would); each tail is an HTTP/1.0 request (a close-delimited body: every byte read is a JSON
//! line) that starts at the live edge (`last=0`). Latency is measured on this machine's clock
//! at both ends. Used by `ci/bench-serve`.

use plasmite::{Durability, Pool};
use std::io::Read as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Latency histogram buckets of 100 µs, up to 2 s (the last bucket holds the rest).
const BUCKETS: usize = 20_001;
const BUCKET_NS: u64 = 100_000;

fn now_ns() -> u64 {
    plasmite::now_ns()
}

/// What one tail saw (updated as it reads; merged at the end).
struct Seen {
    hist: Vec<u64>,
    count: u64,
    seq_errors: u64,
}

#[derive(Default)]
struct Tally {
    tails: Vec<Arc<Mutex<Seen>>>,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        eprintln!("usage: serve_fanout ADDR POOL_FILE [TAILS] [RATE] [SECONDS] [SERVER_PID]");
        std::process::exit(2);
    }
    let addr = args[0].clone();
    let pool_file = PathBuf::from(&args[1]);
    let arg = |i: usize, d: u64| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(d);
    let tails = arg(2, 1000) as usize;
    let rate = arg(3, 10_000);
    let seconds = arg(4, 10);
    let server_pid = args.get(5).cloned();
    let pool_name = pool_file
        .file_stem()
        .and_then(|s| s.to_str())
        .expect("pool file name")
        .to_owned();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let tally = Arc::new(Mutex::new(Tally::default()));
    let connected = Arc::new(AtomicU64::new(0));
    let timeout_ms = (seconds + 30) * 1000;
    let path = format!("/v0/pools/{pool_name}/tail?last=0&timeout_ms={timeout_ms}");
    let stop = Arc::new(AtomicBool::new(false));
    let mut handles = Vec::new();
    for _ in 0..tails {
        let (addr, path, tally, connected, stop) = (
            addr.clone(),
            path.clone(),
            Arc::clone(&tally),
            Arc::clone(&connected),
            Arc::clone(&stop),
        );
        handles.push(rt.spawn(async move { tail(&addr, &path, &tally, &connected, &stop).await }));
    }
    // Wait until every tail has its response head (it is then at the live edge).
    let t0 = Instant::now();
    while (connected.load(Ordering::SeqCst) as usize) < tails {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "only {} of {tails} tails connected",
            connected.load(Ordering::SeqCst)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    let peak_rss = Arc::new(AtomicU64::new(0));
    let hub_threads = Arc::new(AtomicU64::new(0));
    let sampler = server_pid.map(|pid| {
        let (peak, hubs, stop) = (
            Arc::clone(&peak_rss),
            Arc::clone(&hub_threads),
            Arc::clone(&stop),
        );
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                if let Some(kb) = rss_kb(&pid) {
                    peak.fetch_max(kb, Ordering::SeqCst);
                }
                hubs.fetch_max(count_threads(&pid, "plasmite-hub"), Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    });
    // The writer: `rate` messages per second in 1 ms steps.
    let pool = Pool::open(&pool_file).expect("open pool");
    let total = rate * seconds;
    let started = Instant::now();
    let mut sent = 0u64;
    while sent < total {
        let due = (started.elapsed().as_nanos() as u64).saturating_mul(rate) / 1_000_000_000;
        while sent < due.min(total) {
            let data = serde_json::json!({ "t": now_ns() });
            let payload =
                plasmite::message::encode(&data, &[], pool.max_payload_len()).expect("encode");
            pool.append(&payload, Durability::Fast).expect("append");
            sent += 1;
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    let write_s = started.elapsed().as_secs_f64();
    // Let the tails drain, then stop them.
    let drain = Instant::now();
    loop {
        if min_count(&tally) >= total || drain.elapsed() > Duration::from_secs(10) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::SeqCst);
    for h in handles {
        h.abort();
        let _ = rt.block_on(h);
    }
    if let Some(s) = sampler {
        let _ = s.join();
    }
    let mut hist = vec![0u64; BUCKETS];
    let (mut got_all, mut seq_errors) = (0, 0);
    for seen in &tally.lock().expect("tally").tails {
        let seen = seen.lock().expect("seen");
        got_all += usize::from(seen.count >= total);
        seq_errors += seen.seq_errors;
        for (a, b) in hist.iter_mut().zip(&seen.hist) {
            *a += b;
        }
    }
    let n: u64 = hist.iter().sum();
    let pct = |p: f64| -> f64 {
        let want = ((n as f64) * p).ceil() as u64;
        let mut acc = 0;
        for (i, c) in hist.iter().enumerate() {
            acc += c;
            if acc >= want.max(1) {
                return (i as f64 + 1.0) * BUCKET_NS as f64 / 1e6;
            }
        }
        f64::NAN
    };
    println!(
        "fan-out: {tails} JSONL tails, writer {} msgs/s for {write_s:.1} s ({total} messages)",
        rate
    );
    println!(
        "  tails with every message: {got_all}/{tails}   deliveries: {n}   seq errors: {seq_errors}"
    );
    println!(
        "  delivery latency (each read's oldest message bounds the read): p50 ≤ {:.1} ms  p99 ≤ {:.1} ms  p99.9 ≤ {:.1} ms",
        pct(0.50),
        pct(0.99),
        pct(0.999)
    );
    println!(
        "  server peak RSS: {:.1} MiB   wake-hub threads: {}",
        peak_rss.load(Ordering::SeqCst) as f64 / 1024.0,
        hub_threads.load(Ordering::SeqCst)
    );
}

fn min_count(tally: &Mutex<Tally>) -> u64 {
    let t = tally.lock().expect("tally");
    t.tails
        .iter()
        .map(|s| s.lock().expect("seen").count)
        .min()
        .unwrap_or(0)
}

/// One tail: reads lines until stopped, recording each message's latency.
async fn tail(
    addr: &str,
    path: &str,
    tally: &Mutex<Tally>,
    connected: &AtomicU64,
    stop: &AtomicBool,
) {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let req = format!("GET {path} HTTP/1.0\r\nhost: {addr}\r\n\r\n");
    s.write_all(req.as_bytes()).await.expect("request");
    let mut buf = vec![0u8; 64 * 1024];
    let mut pending: Vec<u8> = Vec::new();
    let mut head_done = false;
    let seen = Arc::new(Mutex::new(Seen {
        hist: vec![0; BUCKETS],
        count: 0,
        seq_errors: 0,
    }));
    tally.lock().expect("tally").tails.push(Arc::clone(&seen));
    let mut last_seq = 0u64;
    loop {
        let n = match s.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let now = now_ns();
        if std::env::var_os("FANOUT_DEBUG").is_some() {
            eprintln!(
                "read {n}: {:?}",
                String::from_utf8_lossy(&buf[..n.min(120)])
            );
        }
        pending.extend_from_slice(&buf[..n]);
        if !head_done {
            let Some(end) = find(&pending, b"\r\n\r\n") else {
                continue;
            };
            pending.drain(..end + 4);
            head_done = true;
            connected.fetch_add(1, Ordering::SeqCst);
        }
        // Only whole lines count; the rest waits for the next read.
        let Some(end) = pending.iter().rposition(|&b| b == b'\n').map(|i| i + 1) else {
            continue;
        };
        let whole = &pending[..end];
        // Counting newlines vectorizes; parsing every line would make this driver, not the
        // server, the bottleneck. The first line of a read is its oldest message, so its
        // latency bounds every line of the read from above: each is counted at it.
        let lines = whole.iter().filter(|&&b| b == b'\n').count() as u64;
        let first_end = whole.iter().position(|&b| b == b'\n').unwrap_or(0);
        let first = &whole[..first_end];
        let last_start = whole[..end - 1]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let last = &whole[last_start..end - 1];
        let mut s = seen.lock().expect("seen");
        if let (Some(t), Some(first_seq), Some(last_seq_now)) =
            (sent_at(first), seq_of(first), seq_of(last))
        {
            let lat = now.saturating_sub(t) / BUCKET_NS;
            s.hist[(lat as usize).min(BUCKETS - 1)] += lines;
            let contiguous = last_seq_now.checked_sub(first_seq) == Some(lines - 1)
                && (last_seq == 0 || first_seq == last_seq + 1);
            if !contiguous {
                s.seq_errors += 1;
            }
            last_seq = last_seq_now;
            s.count += lines;
        }
        drop(s);
        let start = end;
        pending.drain(..start);
        if stop.load(Ordering::Relaxed) {
            break;
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The digits at the start of `bytes`, as a number.
fn number(bytes: &[u8]) -> Option<u64> {
    let mut n: u64 = 0;
    let mut any = false;
    for &b in bytes.iter().take_while(|b| b.is_ascii_digit()) {
        n = n.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
        any = true;
    }
    any.then_some(n)
}

/// `t` of a line `{"data":{"t":N},…` (keys are sorted, so `data` comes first).
fn sent_at(line: &[u8]) -> Option<u64> {
    number(line.strip_prefix(b"{\"data\":{\"t\":")?)
}

/// `seq` of an envelope line: `…,"seq":N,"time":"…"}` (searched from the end).
fn seq_of(line: &[u8]) -> Option<u64> {
    const KEY: &[u8] = b"\"seq\":";
    let at = (0..line.len().checked_sub(KEY.len())?)
        .rev()
        .find(|&i| &line[i..i + KEY.len()] == KEY)?;
    number(&line[at + KEY.len()..])
}

fn rss_kb(pid: &str) -> Option<u64> {
    let mut s = String::new();
    std::fs::File::open(format!("/proc/{pid}/status"))
        .ok()?
        .read_to_string(&mut s)
        .ok()?;
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn count_threads(pid: &str, name: &str) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(Result::ok)
        .filter(|t| std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == name))
        .count() as u64
}
