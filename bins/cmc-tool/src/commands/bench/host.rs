//! What this host's cores did over the timed phase, from the `cpu` lines
//! of `/proc/stat`: how much of their time was busy, and how much of that
//! was not the server's (the load generator itself, the kernel's work for
//! both ends of the loopback connections, anything else running). The
//! bench only sends to this host, so the server shares these cores: a
//! run whose cores were partly idle was limited by waiting (for the disk,
//! for the requests in flight), not by CPU.

use serde::Serialize;

/// The cores' time over the timed phase, as shares of all of it (0-1).
#[derive(Debug, PartialEq, Serialize)]
pub(super) struct HostFigures {
    /// The cores `/proc/stat` lists.
    pub(super) cores: usize,
    /// Busy: neither idle nor waiting for I/O.
    pub(super) busy: f64,
    /// The server's CPU time (its `process_cpu_seconds_total`), if reported.
    pub(super) server: Option<f64>,
    /// Busy, but not the server (when the server's CPU is reported).
    pub(super) other: Option<f64>,
}

/// The host's CPU clock ticks: busy, and all (summed over the cores), and
/// how many cores.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Ticks {
    busy: u64,
    all: u64,
    cores: usize,
}

/// Clock ticks per second in `/proc/stat` (USER_HZ, 100 on every
/// architecture Linux supports).
const USER_HZ: f64 = 100.0;

/// The ticks now; `None` where there is no `/proc/stat` (not Linux).
pub(super) fn sample() -> Option<Ticks> {
    parse(&std::fs::read_to_string("/proc/stat").ok()?)
}

/// The ticks of the text of `/proc/stat`. Its `cpu` line sums the cores:
/// user, nice, system, idle, iowait, irq, softirq, steal, then guest and
/// guest_nice (already counted in user and nice, so left out); idle and
/// iowait are the time not busy.
fn parse(text: &str) -> Option<Ticks> {
    let mut lines = text.lines();
    let total = lines.next()?.strip_prefix("cpu ")?;
    let fields: Vec<u64> = total
        .split_whitespace()
        .take(8)
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    let [user, nice, system, idle, iowait, irq, softirq, steal] = fields[..] else {
        return None;
    };
    let cores = lines
        .take_while(|l| l.starts_with("cpu"))
        .filter(|l| l[3..].starts_with(|c: char| c.is_ascii_digit()))
        .count();
    Some(Ticks {
        busy: user + nice + system + irq + softirq + steal,
        all: user + nice + system + idle + iowait + irq + softirq + steal,
        cores,
    })
}

/// The shares between `before` and `after`, with the server's CPU seconds
/// over the same phase; `None` if either sample is missing or no tick
/// passed.
pub(super) fn figures(
    before: Option<Ticks>,
    after: Option<Ticks>,
    server_cpu_seconds: Option<f64>,
) -> Option<HostFigures> {
    let (before, after) = (before?, after?);
    let all = after.all.checked_sub(before.all).filter(|&t| t > 0)? as f64;
    let busy = after.busy.saturating_sub(before.busy) as f64 / all;
    let server = server_cpu_seconds.map(|s| s * USER_HZ / all);
    Some(HostFigures {
        cores: after.cores,
        busy,
        server,
        other: server.map(|s| (busy - s).max(0.0)),
    })
}

/// The figures as one line of the text report.
pub(super) fn describe(f: &HostFigures) -> String {
    let pct = |share: f64| share * 100.0;
    let split = match (f.server, f.other) {
        (Some(s), Some(o)) => format!(
            " (the server {:.0} %, the load generator and the rest {:.0} %)",
            pct(s),
            pct(o)
        ),
        _ => String::new(),
    };
    format!(
        "cores busy: {:.0} % of {}{split}, idle {:.0} %",
        pct(f.busy),
        f.cores,
        pct(1.0 - f.busy)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEFORE: &str = "cpu  1000 10 300 5000 100 20 30 0 0 0\n\
                          cpu0 500 5 150 2500 50 10 15 0 0 0\n\
                          cpu1 500 5 150 2500 50 10 15 0 0 0\n\
                          intr 123 4 5\n\
                          ctxt 999\n";

    #[test]
    fn ticks_are_read_from_the_cpu_line() {
        let t = parse(BEFORE).unwrap();
        assert_eq!(t.busy, 1000 + 10 + 300 + 20 + 30);
        assert_eq!(t.all, t.busy + 5000 + 100);
        assert_eq!(t.cores, 2);
        // Guest time is inside user time: not counted twice.
        let guest = parse("cpu  10 0 0 10 0 0 0 0 7 7\ncpu0 10 0 0 10 0 0 0 0 7 7\n").unwrap();
        assert_eq!((guest.busy, guest.all, guest.cores), (10, 20, 1));
        assert_eq!(parse("intr 1\n"), None);
        assert_eq!(parse("cpu  1 2 x 4 5 6 7 8\n"), None);
        assert_eq!(parse("cpu  1 2 3\n"), None);
    }

    #[test]
    fn shares_split_the_busy_time() {
        let before = parse(BEFORE);
        // 400 ticks pass on two cores: 340 busy, 60 idle or waiting.
        let after = parse(
            "cpu  1300 10 330 5050 110 20 40 0 0 0\n\
             cpu0 650 5 165 2525 55 10 20 0 0 0\n\
             cpu1 650 5 165 2525 55 10 20 0 0 0\n",
        );
        let f = figures(before, after, Some(3.0)).unwrap();
        assert_eq!(f.cores, 2);
        assert!((f.busy - 340.0 / 400.0).abs() < 1e-9, "{f:?}");
        assert!((f.server.unwrap() - 0.75).abs() < 1e-9, "{f:?}");
        assert!((f.other.unwrap() - 0.10).abs() < 1e-9, "{f:?}");
        assert_eq!(
            describe(&f),
            "cores busy: 85 % of 2 (the server 75 %, the load generator and the rest 10 %), idle 15 %"
        );
        let f = figures(before, after, None).unwrap();
        assert_eq!((f.server, f.other), (None, None));
        assert_eq!(describe(&f), "cores busy: 85 % of 2, idle 15 %");
        // Nothing to compare, or no time passed.
        assert_eq!(figures(None, after, Some(1.0)), None);
        assert_eq!(figures(before, before, Some(1.0)), None);
    }
}
