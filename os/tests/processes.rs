//! Many processes on one pool: concurrent writer and follower processes, writers killed with
//! SIGKILL at random moments (acknowledged appends survive; the page cache outlives the
//! process, so this proves the store protocol, not msync), a killed lock holder, and an idle
//! follower's CPU use.
//!
//! Child processes are this test binary run again with `PLASMITE_TEST_CHILD` set: the test
//! `child_process_entry` then plays the requested role and exits.

#[path = "../../core/tests/support/mod.rs"]
mod support;

mod common;
use common::create;

fn scratch(name: &str) -> std::path::PathBuf {
    common::scratch("proc", name)
}

use plasmite_core::lite3::envelope;
use plasmite_core::lite3::read::ValueRef;
use plasmite_os::message::encode;
use plasmite_os::{Durability, Event, FollowOptions, Follower, Pool, Start};
use serde_json::json;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const ROLE: &str = "PLASMITE_TEST_CHILD";

fn payload(w: u64, i: u64) -> Vec<u8> {
    encode(&json!({ "w": w, "i": i }), &["t"], 1 << 20).unwrap()
}

/// `(w, i)` from a payload made by [`payload`].
fn decode(p: &[u8]) -> Option<(u64, u64)> {
    let get = |k| match envelope::field(p, k) {
        Ok(Some(ValueRef::I64(v))) => u64::try_from(v).ok(),
        _ => None,
    };
    Some((get("w")?, get("i")?))
}

/// A child process that is killed if the test fails before waiting for it.
struct Kid(Child);

impl Drop for Kid {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl std::ops::Deref for Kid {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Kid {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

/// Starts this test binary as a child playing `role` with `args`.
fn spawn(role: &str, args: &[String]) -> Kid {
    Kid(Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_process_entry",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ROLE, role)
        .env("PLASMITE_TEST_ARGS", args.join("\n"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap())
}

/// The child's protocol lines (`@@ ...`), sent as they arrive.
fn lines(child: &mut Kid) -> mpsc::Receiver<String> {
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            // libtest may print "test child_process_entry ... " before the first line.
            if let Some((_, rest)) = line.split_once("@@ ")
                && tx.send(rest.to_owned()).is_err()
            {
                break;
            }
        }
    });
    rx
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "@@ {line}");
    let _ = out.flush();
}

fn expect_line(rx: &mpsc::Receiver<String>, want: &str) {
    let got = rx.recv_timeout(Duration::from_secs(60)).unwrap();
    assert_eq!(got, want);
}

/// The child side: plays the role named in the environment, then exits the process.
#[test]
fn child_process_entry() {
    let Ok(role) = std::env::var(ROLE) else {
        return;
    };
    let args: Vec<String> = std::env::var("PLASMITE_TEST_ARGS")
        .unwrap_or_default()
        .split('\n')
        .map(str::to_owned)
        .collect();
    let path = PathBuf::from(&args[0]);
    let num = |i: usize| args[i].parse::<u64>().unwrap();
    match role.as_str() {
        "writer" => {
            let pool = Pool::open(&path).unwrap();
            let w = num(1);
            say("READY");
            for i in 0..num(2) {
                pool.append(&payload(w, i), Durability::Fast).unwrap();
            }
            say("DONE");
        }
        "follower" => say(&follow_all(&path, num(1), num(2))),
        "killable" => {
            let pool = Pool::open(&path).unwrap();
            let w = num(1);
            for i in 0.. {
                let a = pool.append(&payload(w, i), Durability::Flush).unwrap();
                say(&format!("ACK {} {i}", a.seq));
            }
        }
        "holder" => {
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)
                .unwrap();
            rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive).unwrap();
            say("LOCKED");
            std::thread::sleep(Duration::from_secs(600));
        }
        "idle" => {
            let pool = Pool::open(&path).unwrap();
            let mut f = Follower::new(&pool, FollowOptions::default()).unwrap();
            say("READY");
            match f.next(None).unwrap() {
                Some(Event::Message(m)) => say(&format!("GOT {}", m.seq)),
                other => say(&format!("UNEXPECTED {other:?}")),
            }
        }
        other => panic!("unknown role {other}"),
    }
    std::process::exit(0);
}

/// Follows from the start until `total` messages from `writers` writers arrived; checks every
/// sequence exactly once in order and each writer's messages complete and in its order.
fn follow_all(path: &Path, writers: u64, total: u64) -> String {
    let pool = Pool::open(path).unwrap();
    let mut f = Follower::new(
        &pool,
        FollowOptions {
            start: Start::Oldest,
            ..FollowOptions::default()
        },
    )
    .unwrap();
    say("READY");
    let mut next_of = vec![0u64; writers as usize];
    let mut expect_seq = 1;
    let deadline = Instant::now() + Duration::from_secs(120);
    while expect_seq <= total {
        let left = deadline.saturating_duration_since(Instant::now());
        match f.next(Some(left)) {
            Ok(Some(Event::Message(m))) => {
                if m.seq != expect_seq {
                    return format!("FAIL seq {} expected {expect_seq}", m.seq);
                }
                let Some((w, i)) = decode(m.payload) else {
                    return format!("FAIL payload of seq {}", m.seq);
                };
                if next_of.get(w as usize) != Some(&i) {
                    return format!("FAIL writer {w} message {i} out of order");
                }
                next_of[w as usize] += 1;
                expect_seq += 1;
            }
            Ok(Some(Event::Gap { first_missing, .. })) => {
                return format!("FAIL gap at {first_missing}");
            }
            Ok(Some(Event::Damaged { seq, .. })) => {
                return format!("FAIL damaged payload at {seq}");
            }
            Ok(None) => return format!("FAIL timed out at seq {expect_seq}"),
            Err(e) => return format!("FAIL {e}"),
        }
    }
    format!("OK {}", expect_seq - 1)
}

#[test]
fn four_writer_processes_and_two_followers_agree_on_every_message() {
    const WRITERS: u64 = 4;
    const EACH: u64 = 25_000;
    let dir = scratch("multi");
    let path = dir.join("p.plasmite");
    create(&path, 64 << 20);
    let p = path.display().to_string();
    let total = WRITERS * EACH;
    let mut followers: Vec<_> = (0..2)
        .map(|_| {
            let mut c = spawn(
                "follower",
                &[p.clone(), WRITERS.to_string(), total.to_string()],
            );
            let rx = lines(&mut c);
            expect_line(&rx, "READY");
            (c, rx)
        })
        .collect();
    let mut writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let mut c = spawn("writer", &[p.clone(), w.to_string(), EACH.to_string()]);
            let rx = lines(&mut c);
            (c, rx)
        })
        .collect();
    for (c, rx) in &mut writers {
        expect_line(rx, "READY");
        expect_line(rx, "DONE");
        assert!(c.wait().unwrap().success());
    }
    for (c, rx) in &mut followers {
        let verdict = rx.recv_timeout(Duration::from_secs(120)).unwrap();
        assert_eq!(verdict, format!("OK {total}"));
        assert!(c.wait().unwrap().success());
    }
    let pool = Pool::open(&path).unwrap();
    let state = pool.state().unwrap();
    assert_eq!((state.oldest, state.newest), (1, total), "final bounds");
    let report = plasmite_core::validate(&pool.view());
    assert!(report.is_ok(), "{:?}", report.issue);
}

#[test]
fn a_writer_killed_at_random_moments_never_damages_the_pool_or_loses_an_acknowledged_append() {
    let dir = scratch("kill");
    let path = dir.join("p.plasmite");
    let pool = create(&path, 256 * 1024);
    drop(pool);
    let p = path.display().to_string();
    let mut rng = support::model::Rng::new(0x5eed_4b1d);
    let mut acked: Vec<(u64, u64, u64)> = Vec::new(); // (seq, writer, i)
    for round in 0..200u64 {
        let mut child = spawn("killable", &[p.clone(), round.to_string()]);
        let rx = lines(&mut child);
        // Wait for the first acknowledgement, then kill somewhere in the next few ms.
        let first = rx.recv_timeout(Duration::from_secs(60)).unwrap();
        std::thread::sleep(Duration::from_micros(rng.range(0, 8_000)));
        child.kill().unwrap();
        child.wait().unwrap();
        for line in std::iter::once(first).chain(rx.try_iter()) {
            let mut it = line.split(' ').skip(1).map(|n| n.parse::<u64>().unwrap());
            let (seq, i) = (it.next().unwrap(), it.next().unwrap());
            acked.push((seq, round, i));
        }
        let pool = Pool::open(&path).unwrap();
        let report = plasmite_core::validate(&pool.view());
        assert!(report.is_ok(), "round {round}: {:?}", report.issue);
        let state = pool.state().unwrap();
        let &(last, _, _) = acked.last().unwrap();
        assert!(
            state.newest >= last,
            "round {round}: acknowledged {last} is published"
        );
        for &(seq, w, i) in acked.iter().rev().take_while(|a| a.0 >= state.oldest) {
            let m = pool.get(seq).unwrap();
            assert_eq!(decode(&m.payload), Some((w, i)), "round {round} seq {seq}");
        }
        let next = pool.append(&payload(999, round), Durability::Fast).unwrap();
        assert_eq!(
            next.seq,
            state.newest + 1,
            "round {round}: the next append succeeds"
        );
    }
    assert!(acked.len() >= 200, "every round acknowledged appends");
}

#[test]
fn a_killed_lock_holder_leaves_the_pool_unlocked() {
    use rustix::fs::{FlockOperation, flock};
    let dir = scratch("holder");
    let path = dir.join("p.plasmite");
    create(&path, 64 * 1024);
    let mut child = spawn("holder", &[path.display().to_string()]);
    let rx = lines(&mut child);
    expect_line(&rx, "LOCKED");
    let probe = std::fs::File::open(&path).unwrap();
    assert!(
        flock(&probe, FlockOperation::NonBlockingLockExclusive).is_err(),
        "the child holds the writer lock"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    flock(&probe, FlockOperation::NonBlockingLockExclusive).expect("the lock died with its holder");
    flock(&probe, FlockOperation::Unlock).unwrap();
    let pool = Pool::open(&path).unwrap();
    assert_eq!(
        pool.append(&payload(0, 0), Durability::Fast).unwrap().seq,
        1
    );
}

/// User plus system CPU time of a process, in clock ticks (`/proc/PID/stat` fields 14, 15).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The command name (field 2) may contain spaces; count fields after its closing paren.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

#[test]
fn an_idle_follower_uses_no_cpu_and_wakes_on_an_append() {
    let dir = scratch("idle");
    let path = dir.join("p.plasmite");
    let pool = create(&path, 64 * 1024);
    let mut child = spawn("idle", &[path.display().to_string()]);
    let rx = lines(&mut child);
    expect_line(&rx, "READY");
    std::thread::sleep(Duration::from_millis(100));
    let before = cpu_ticks(child.id());
    std::thread::sleep(Duration::from_secs(2));
    let used = cpu_ticks(child.id()) - before;
    // One tick is 10 ms; waking every 50 ms to re-check costs microseconds.
    assert!(used <= 2, "idle follower used {used} ticks of CPU in 2 s");
    let seq = pool.append(&payload(0, 0), Durability::Fast).unwrap().seq;
    expect_line(&rx, &format!("GOT {seq}"));
    assert!(child.wait().unwrap().success());
}
