//! Event counters and `coverage/show`, as OVS's `lib/coverage.c` prints them.
//!
//! A [`Coverage`] registry hands out [`Counter`]s by name; a counter is a cheap handle (an
//! `Arc` of an atomic) that any thread may increment. The main loop calls [`Coverage::run`],
//! which every 5 seconds records how much each counter moved, so `coverage/show` can print
//! the average rate over the last 5 seconds, minute and hour next to the total:
//!
//! ```text
//! Event coverage, avg rate over last: 5 seconds, last minute, last hour,  hash=1b2e4c9a:
//! unixctl_received           0.2/sec     0.017/sec        0.0003/sec   total: 1
//! 3 events never hit
//! ```
//!
//! There is no global registry: whoever needs counters gets the `Coverage` handle.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// How often the rates are sampled.
pub const INTERVAL: Duration = Duration::from_secs(5);
/// Samples per minute.
const MIN_SLOTS: usize = 12;
/// Minutes per hour.
const HR_SLOTS: usize = 60;

/// One event counter. Cloning gives another handle to the same count.
#[derive(Clone, Debug, Default)]
pub struct Counter(Arc<AtomicU64>);

impl Counter {
    /// Counts one event.
    pub fn inc(&self) {
        self.add(1);
    }

    /// Counts `n` events.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// The total so far.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

#[derive(Debug)]
struct Entry {
    name: String,
    counter: Counter,
    /// The total at the last sample.
    last: u64,
    /// Events per 5-second interval over the last minute (ring).
    min: [u64; MIN_SLOTS],
    /// Events per minute over the last hour (ring).
    hr: [u64; HR_SLOTS],
}

#[derive(Debug)]
struct Inner {
    entries: Vec<Entry>,
    /// Index of the next `min` slot to fill.
    min_idx: usize,
    /// Index of the next `hr` slot to fill.
    hr_idx: usize,
    next_sample: Option<Instant>,
}

/// A registry of named counters with OVS's rate bookkeeping. Cloning gives another handle to
/// the same registry.
#[derive(Clone, Debug)]
pub struct Coverage(Arc<Mutex<Inner>>);

impl Default for Coverage {
    fn default() -> Self {
        Coverage::new()
    }
}

impl Coverage {
    /// An empty registry.
    pub fn new() -> Coverage {
        Coverage(Arc::new(Mutex::new(Inner {
            entries: Vec::new(),
            min_idx: 0,
            hr_idx: 0,
            next_sample: None,
        })))
    }

    /// The counter called `name`, made on first use. Names are listed by `coverage/show` in
    /// the order they were first asked for.
    pub fn counter(&self, name: &str) -> Counter {
        let mut inner = self.0.lock();
        if let Some(e) = inner.entries.iter().find(|e| e.name == name) {
            return e.counter.clone();
        }
        let counter = Counter::default();
        inner.entries.push(Entry {
            name: name.to_owned(),
            counter: counter.clone(),
            last: 0,
            min: [0; MIN_SLOTS],
            hr: [0; HR_SLOTS],
        });
        counter
    }

    /// The total of counter `name`, if it exists (`coverage/read-counter`).
    pub fn read(&self, name: &str) -> Option<u64> {
        let inner = self.0.lock();
        inner
            .entries
            .iter()
            .find(|e| e.name == name)
            .map(|e| e.counter.get())
    }

    /// Samples the counters if a sampling interval has passed since the last sample.
    pub fn run(&self, now: Instant) {
        let mut inner = self.0.lock();
        match inner.next_sample {
            None => inner.next_sample = Some(now + INTERVAL),
            Some(t) if now >= t => {
                inner.sample();
                // Skip intervals missed while the loop was busy rather than bursting.
                let mut next = t + INTERVAL;
                if next <= now {
                    next = now + INTERVAL;
                }
                inner.next_sample = Some(next);
            }
            Some(_) => {}
        }
    }

    /// The deadline of the next sample, for the poll loop.
    pub fn next_sample(&self) -> Option<Instant> {
        self.0.lock().next_sample
    }

    /// Takes one 5-second sample now (for tests and for `run`).
    pub fn sample(&self) {
        self.0.lock().sample();
    }

    /// The `coverage/show` text.
    pub fn show(&self) -> String {
        let inner = self.0.lock();
        let mut hit = Vec::new();
        let mut never = 0usize;
        for e in &inner.entries {
            let total = e.counter.get();
            if total == 0 {
                never += 1;
            } else {
                hit.push((e, total));
            }
        }
        let mut hash: u32 = 0x811c_9dc5;
        for (e, _) in &hit {
            for b in e.name.bytes().chain(std::iter::once(0)) {
                hash = (hash ^ u32::from(b)).wrapping_mul(0x0100_0193);
            }
        }
        let mut out = format!(
            "Event coverage, avg rate over last: 5 seconds, last minute, last hour,  \
             hash={hash:08x}:\n"
        );
        let last_slot = (inner.min_idx + MIN_SLOTS - 1) % MIN_SLOTS;
        for (e, total) in hit {
            let last5 = e.min[last_slot];
            let minute: u64 = e.min.iter().sum();
            let partial: u64 = e.min[..inner.min_idx].iter().sum();
            let hour = e.hr.iter().sum::<u64>() + partial;
            out.push_str(&format!(
                "{:<24} {:5.1}/sec {:9.3}/sec {:13.4}/sec   total: {total}\n",
                e.name,
                rate(last5, 5),
                rate(minute, 60),
                rate(hour, 3600),
            ));
        }
        out.push_str(&format!("{never} events never hit\n"));
        out
    }
}

fn rate(events: u64, secs: u32) -> f64 {
    // Counts beyond 2^53 lose precision, which does not matter for a printed rate.
    events as f64 / f64::from(secs)
}

impl Inner {
    fn sample(&mut self) {
        let idx = self.min_idx;
        for e in &mut self.entries {
            let total = e.counter.get();
            e.min[idx] = total.wrapping_sub(e.last);
            e.last = total;
        }
        self.min_idx = (idx + 1) % MIN_SLOTS;
        if self.min_idx == 0 {
            let h = self.hr_idx;
            for e in &mut self.entries {
                e.hr[h] = e.min.iter().sum();
            }
            self.hr_idx = (h + 1) % HR_SLOTS;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_matches_ovs() {
        let cov = Coverage::new();
        let a = cov.counter("bridge_reconfigure");
        let _never = cov.counter("never_hit");
        let b = cov.counter("datapath_drop_userspace_action_error");
        a.add(5);
        b.add(5);
        cov.sample();
        let text = cov.show();
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with(
                "Event coverage, avg rate over last: 5 seconds, last minute, last hour,  hash="
            ),
            "{text}"
        );
        assert!(lines[0].ends_with(':'));
        // Column layout as in a real ovs-vswitchd's output.
        assert_eq!(
            lines[1],
            "bridge_reconfigure         1.0/sec     0.083/sec        0.0014/sec   total: 5"
        );
        assert_eq!(
            lines[2],
            "datapath_drop_userspace_action_error   1.0/sec     0.083/sec        0.0014/sec   total: 5"
        );
        assert_eq!(lines[3], "1 events never hit");
        assert_eq!(lines.len(), 4);
    }

    #[test]
    fn rates_age_out() {
        let cov = Coverage::new();
        let c = cov.counter("x");
        assert_eq!(cov.counter("x").get(), 0);
        c.add(60);
        cov.sample();
        for _ in 0..11 {
            cov.sample();
        }
        // A minute later: nothing in the last 5 s, 60 in the last minute, and the hour
        // holds the full minute.
        let line = cov.show().lines().nth(1).unwrap().to_owned();
        assert_eq!(
            line,
            "x                          0.0/sec     1.000/sec        0.0167/sec   total: 60"
        );
        cov.sample();
        let line = cov.show().lines().nth(1).unwrap().to_owned();
        assert!(line.contains("0.000/sec"), "{line}");
        assert!(line.contains("0.0167/sec"), "{line}");
        assert_eq!(cov.read("x"), Some(60));
        assert_eq!(cov.read("y"), None);
    }

    #[test]
    fn run_samples_every_interval() {
        let cov = Coverage::new();
        let c = cov.counter("x");
        let t0 = Instant::now();
        cov.run(t0);
        assert_eq!(cov.next_sample(), Some(t0 + INTERVAL));
        c.inc();
        cov.run(t0 + Duration::from_secs(1));
        assert!(cov.show().contains("  0.0/sec"));
        cov.run(t0 + INTERVAL);
        assert!(cov.show().contains("  0.2/sec"), "{}", cov.show());
    }

    #[test]
    fn empty_registry() {
        let text = Coverage::new().show();
        assert!(text.ends_with(":\n0 events never hit\n"), "{text}");
    }
}
