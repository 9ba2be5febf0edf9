//! Timings of the Pool: appends (single and batched), get by sequence, cursor reads, wake-up
//! latency across processes and contended writer processes. Prints a table of medians; never
//! asserts (benchmarks measure, tests assert).
//!
//! Targets on a 2-core VM where `flock` lock+unlock alone costs ~1 µs: single append ≤ 2 µs,
//! batch append ≥ 2 M msgs/s, get ≤ 300 ns indexed, cursor read ≥ 5 M msgs/s, parked wake p50
//! ≤ 60 µs, spinning wake ≤ 5 µs.
//!
//! Child processes are this binary run again with `PLASMITE_BENCH_CHILD` set.
//! Run: `cargo bench -p plasmite-os --bench pool [-- FILTER]` (about half a minute).

use plasmite_os::{CreateOptions, Durability, Event, FollowOptions, Follower, Pool, Start, now_ns};
use std::hint::black_box;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SAMPLES: usize = 21;
const CHILD: &str = "PLASMITE_BENCH_CHILD";

fn main() {
    if let Ok(role) = std::env::var(CHILD) {
        child(&role);
        return;
    }
    let filter = std::env::args().skip(1).find(|a| !a.starts_with("--"));
    let want = |name: &str| filter.as_deref().is_none_or(|f| name.contains(f));
    let dir = std::env::temp_dir().join(format!("plasmite-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    println!(
        "{:<40} {:>12} {:>14}  target",
        "case", "median ns/op", "msgs/s"
    );

    if want("flock") {
        use rustix::fs::{FlockOperation, flock};
        let pool = fresh(&dir, "flock", 1 << 20, None);
        let file = std::fs::File::open(pool.path()).expect("open");
        let ns = median_ns(10_000, || {
            flock(&file, FlockOperation::LockExclusive).expect("lock");
            flock(&file, FlockOperation::Unlock).expect("unlock");
        });
        row("flock_lock_unlock (baseline)", ns, "—");
    }

    for size in [256, 1024] {
        let name = format!("append_{size}B_fast");
        if want(&name) {
            let pool = fresh(&dir, &name, 64 << 20, None);
            // Steady state: the ring has wrapped, every append evicts, no page is new.
            fill(&pool, size);
            let p = payload(size);
            let ns = median_ns(1_000, || {
                black_box(pool.append(&p, Durability::Fast).expect("append"));
            });
            row(&name, ns, "≤ 2000 ns");
        }
    }

    // The bindings' append: JSON text encoded, appended, its envelope printed back — on a new
    // pool (every page touched for the first time) and on a wrapped one.
    for steady in [false, true] {
        let name = if steady {
            "append_json_envelope_wrapped"
        } else {
            "append_json_envelope_new_pool"
        };
        if want(name) {
            let pool = fresh(&dir, name, 64 << 20, None);
            if steady {
                fill(&pool, 256);
            }
            let text = r#"{"kind":"signup","user":"alice","id":12345,"tags":["a","b"],"ok":true}"#;
            let (mut stored, mut data, mut out) = (Vec::new(), Vec::new(), Vec::new());
            let mut scratch = plasmite_os::message::JsonScratch::default();
            let ns = median_ns(5_000, || {
                stored.clear();
                data.clear();
                plasmite_os::message::encode_json_printing(
                    &mut scratch,
                    &mut stored,
                    text,
                    &[],
                    pool.max_payload_len(),
                    &mut data,
                )
                .expect("encode");
                let a = pool.append(&stored, Durability::Fast).expect("append");
                out.clear();
                plasmite_os::message::print_seq_first_parts(
                    &mut out,
                    a.seq,
                    a.timestamp_ns,
                    &[],
                    &data,
                );
                black_box(&out);
            });
            row(name, ns, "—");
        }
    }

    if want("append_batch_256B_x1000") {
        let pool = fresh(&dir, "batch", 64 << 20, None);
        let batch: Vec<Vec<u8>> = (0..1000).map(|_| payload(256)).collect();
        let mut out = Vec::with_capacity(1000);
        let ns = median_ns(10, || {
            out.clear();
            pool.append_batch(&batch, Durability::Fast, &mut out)
                .expect("batch");
        }) / 1000.0;
        row("append_batch_256B_x1000 (per msg)", ns, "≥ 2 M msgs/s");
    }

    if want("append_256B_flush") {
        let pool = fresh(&dir, "flush", 1 << 20, None);
        let p = payload(256);
        let ns = median_ns(20, || {
            black_box(pool.append(&p, Durability::Flush).expect("append"));
        });
        row("append_256B_flush", ns, "—");
    }

    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    if want("get_indexed") {
        let pool = fresh(&dir, "get", 64 << 20, None);
        fill(&pool, 256);
        let state = pool.state().expect("state");
        // The index holds the newest `index_capacity` sequences.
        let cap = u64::from(pool.geometry().index_capacity);
        let lo = state.newest - cap.min(state.count()) + 1;
        let ns = median_ns(10_000, || {
            let seq = lo + next(&mut rng) % (state.newest - lo + 1);
            black_box(pool.get(seq).expect("get"));
        });
        row("get_indexed_256B_64MiB_pool (random)", ns, "≤ 300 ns");
    }
    if want("get_indexed") {
        // The same on a 1 MiB pool, whose frames and index stay in the CPU caches.
        let pool = fresh(&dir, "gethot", 1 << 20, None);
        fill(&pool, 256);
        let state = pool.state().expect("state");
        let ns = median_ns(10_000, || {
            let seq = state.oldest + next(&mut rng) % state.count();
            black_box(pool.get(seq).expect("get"));
        });
        row("get_indexed_256B_1MiB_pool (cached)", ns, "≤ 300 ns");
    }
    if want("get_scan") {
        let scan = fresh(&dir, "scan", 1 << 20, Some(0));
        fill(&scan, 256);
        let st = scan.state().expect("state");
        let ns = median_ns(200, || {
            let seq = st.oldest + next(&mut rng) % st.count();
            black_box(scan.get(seq).expect("get"));
        });
        row(
            &format!("get_scan_only_256B ({} msgs)", st.count()),
            ns,
            "—",
        );
    }

    if want("cursor") {
        let pool = fresh(&dir, "cursor", 64 << 20, None);
        fill(&pool, 256);
        let count = pool.state().expect("state").count();
        let ns = median_ns(1, || {
            let mut f = Follower::new(
                &pool,
                FollowOptions {
                    start: Start::Oldest,
                    ..FollowOptions::default()
                },
            )
            .expect("follower");
            let mut n = 0u64;
            while let Some(ev) = f.poll().expect("poll") {
                if let Event::Message(m) = ev {
                    n += m.payload.len() as u64 / 256;
                }
            }
            black_box(n);
        }) / count as f64;
        row(
            &format!("cursor_read_full_64MiB ({count} msgs)"),
            ns,
            "≥ 5 M msgs/s",
        );
    }

    if want("wake") {
        let path = fresh_path(&dir, "wake");
        drop(fresh(&dir, "wake", 1 << 20, None));
        for (mode, gap, samples) in [
            ("parked", Duration::from_millis(3), 300),
            ("spinning", Duration::from_micros(20), 3_000),
        ] {
            let lat = wake_latency(&path, mode, gap, samples);
            let p = |q: f64| lat[((lat.len() - 1) as f64 * q) as usize];
            println!(
                "{:<40} {:>12} {:>14}  {}",
                format!("wake_{mode} p50 / p99"),
                format!("{:.0} / {:.0}", p(0.5), p(0.99)),
                "",
                if mode == "parked" {
                    "p50 ≤ 60000 ns"
                } else {
                    "≤ 5000 ns"
                }
            );
        }
    }

    if want("contended") {
        let path = fresh_path(&dir, "contended");
        drop(fresh(&dir, "contended", 64 << 20, None));
        let each = 50_000u64;
        let mut kids: Vec<Child> = (0..4)
            .map(|_| spawn(&format!("writer\n{}\n{each}", path.display())))
            .collect();
        let mut outs: Vec<_> = kids
            .iter_mut()
            .map(|k| BufReader::new(k.stdout.take().expect("stdout")))
            .collect();
        for o in &mut outs {
            expect(o, "READY");
        }
        let t0 = Instant::now();
        for k in &mut kids {
            let stdin = k.stdin.as_mut().expect("stdin");
            let _ = writeln!(stdin, "GO");
            let _ = stdin.flush();
        }
        for o in &mut outs {
            expect(o, "DONE");
        }
        let ns = t0.elapsed().as_nanos() as f64 / (4 * each) as f64;
        for mut k in kids {
            let _ = k.wait();
        }
        row("append_256B_4_writer_processes (per msg)", ns, "—");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn row(name: &str, ns: f64, target: &str) {
    println!(
        "{name:<40} {ns:>12.0} {:>14.0}  {target}",
        1e9 / ns.max(f64::MIN_POSITIVE)
    );
}

/// Median over [`SAMPLES`] runs of `iters` calls, in ns per call.
fn median_ns(iters: u32, mut f: impl FnMut()) -> f64 {
    f();
    let mut v: Vec<f64> = (0..SAMPLES)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..iters {
                f();
            }
            t.elapsed().as_nanos() as f64 / f64::from(iters)
        })
        .collect();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn fresh_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.plasmite"))
}

fn fresh(dir: &Path, name: &str, size: u64, index_capacity: Option<u64>) -> Pool {
    let path = fresh_path(dir, name);
    let _ = std::fs::remove_file(&path);
    Pool::create(
        &path,
        CreateOptions {
            size,
            index_capacity,
        },
    )
    .expect("create")
}

/// A pre-encoded payload of about `size` bytes (`{"pad": "xxx…"}` tagged `bench`).
fn payload(size: usize) -> Vec<u8> {
    let mut pad = size.saturating_sub(200);
    loop {
        let p = plasmite_os::message::encode(
            &serde_json::json!({ "pad": "x".repeat(pad) }),
            &["bench"],
            1 << 20,
        )
        .expect("encode");
        if p.len() >= size {
            return p;
        }
        pad += 1;
    }
}

/// Appends until the ring has wrapped (full, evicting).
fn fill(pool: &Pool, size: usize) {
    let p = payload(size);
    let batch: Vec<&[u8]> = (0..1000).map(|_| p.as_slice()).collect();
    let mut out = Vec::new();
    let ring = pool.geometry().ring_size;
    let per = (size as u64 + 72).max(1);
    for _ in 0..(ring / per / 1000 + 2) {
        out.clear();
        pool.append_batch(&batch, Durability::Fast, &mut out)
            .expect("fill");
    }
}

fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn spawn(args: &str) -> Child {
    Command::new(std::env::current_exe().expect("exe"))
        .env(CHILD, args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn child")
}

fn expect(out: &mut impl BufRead, want: &str) {
    let mut line = String::new();
    out.read_line(&mut line).expect("child output");
    assert_eq!(line.trim_end(), want, "child protocol");
}

/// Latencies (ns, sorted) from a writer's append to a follower process receiving it; the
/// follower spins for 5 ms after each message in `spinning` mode and parks at once otherwise.
fn wake_latency(path: &Path, mode: &str, gap: Duration, samples: usize) -> Vec<f64> {
    let mut kid = spawn(&format!("follower\n{}\n{mode}\n{samples}", path.display()));
    let mut out = BufReader::new(kid.stdout.take().expect("stdout"));
    expect(&mut out, "READY");
    let pool = Pool::open(path).expect("open");
    let p = payload(64);
    for _ in 0..samples {
        let until = Instant::now() + gap;
        if mode == "spinning" {
            while Instant::now() < until {
                std::hint::spin_loop();
            }
        } else {
            std::thread::sleep(gap);
        }
        pool.append(&p, Durability::Fast).expect("append");
    }
    let mut lat: Vec<f64> = out
        .lines()
        .map_while(Result::ok)
        .filter_map(|l| l.parse::<f64>().ok())
        .collect();
    let _ = kid.wait();
    lat.sort_by(f64::total_cmp);
    if lat.is_empty() {
        lat.push(f64::NAN);
    }
    lat
}

fn child(role: &str) {
    let args: Vec<&str> = role.split('\n').collect();
    let pool = Pool::open(Path::new(args[1])).expect("open");
    let mut stdout = std::io::stdout().lock();
    match args[0] {
        "writer" => {
            let each: u64 = args[2].parse().expect("count");
            let p = payload(256);
            let _ = writeln!(stdout, "READY");
            let _ = stdout.flush();
            let mut go = String::new();
            let _ = std::io::stdin().read_line(&mut go);
            for _ in 0..each {
                pool.append(&p, Durability::Fast).expect("append");
            }
            let _ = writeln!(stdout, "DONE");
        }
        "follower" => {
            let spin = if args[2] == "spinning" {
                Duration::from_millis(5)
            } else {
                Duration::ZERO
            };
            let samples: usize = args[3].parse().expect("samples");
            let mut f = Follower::new(
                &pool,
                FollowOptions {
                    spin,
                    ..FollowOptions::default()
                },
            )
            .expect("follower");
            let _ = writeln!(stdout, "READY");
            let _ = stdout.flush();
            let mut lat = Vec::with_capacity(samples);
            while lat.len() < samples {
                match f.next(Some(Duration::from_secs(10))).expect("next") {
                    Some(Event::Message(m)) => {
                        lat.push(now_ns().saturating_sub(m.timestamp_ns));
                    }
                    Some(Event::Gap { .. } | Event::Damaged { .. }) => {}
                    None => break,
                }
            }
            for l in lat {
                let _ = writeln!(stdout, "{l}");
            }
        }
        other => panic!("unknown child role {other}"),
    }
}
