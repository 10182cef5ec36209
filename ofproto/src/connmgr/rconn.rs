//! Timers of a connection to a controller (OVS's `rconn`): reconnect backoff and the
//! inactivity probe, as pure state driven by the caller's clock.
//!
//! * Backoff: after a failed or lost connection, wait 1 s before the next attempt, doubling
//!   each time up to [`MAX_BACKOFF_MS`] (8 s); a connection that stayed up at least as long
//!   as the current backoff resets it.
//! * Probe: a connection with nothing received for [`PROBE_INTERVAL_MS`] (5 s) gets an
//!   ECHO_REQUEST; with nothing received for another interval it is dropped.

/// The first reconnect delay.
pub const MIN_BACKOFF_MS: u64 = 1000;
/// The longest reconnect delay (OVS's `Controller.max_backoff` default).
pub const MAX_BACKOFF_MS: u64 = 8000;
/// Idle time before an echo request (OVS's `Controller.inactivity_probe` default).
pub const PROBE_INTERVAL_MS: u64 = 5000;
/// Most time a connect attempt may take.
pub const CONNECT_TIMEOUT_MS: u64 = 8000;

/// Reconnect backoff.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The current delay; 0 before the first failure.
    delay_ms: u64,
    /// When the next attempt may start.
    next_ms: u64,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new()
    }
}

impl Backoff {
    /// No delay yet: the first attempt starts at once.
    pub fn new() -> Backoff {
        Backoff {
            delay_ms: 0,
            next_ms: 0,
        }
    }

    /// Whether an attempt may start at `now_ms`.
    pub fn ready(&self, now_ms: u64) -> bool {
        now_ms >= self.next_ms
    }

    /// When the next attempt may start.
    pub fn next_ms(&self) -> u64 {
        self.next_ms
    }

    /// The current delay.
    pub fn delay_ms(&self) -> u64 {
        self.delay_ms
    }

    /// An attempt failed, or a connection was lost at `now_ms` after being up since
    /// `connected_ms` (if it ever was): schedules the next attempt.
    pub fn failed(&mut self, now_ms: u64, connected_ms: Option<u64>) {
        let stayed_up = connected_ms
            .is_some_and(|c| now_ms.saturating_sub(c) >= self.delay_ms.max(MIN_BACKOFF_MS));
        self.delay_ms = if stayed_up || self.delay_ms == 0 {
            MIN_BACKOFF_MS
        } else {
            (self.delay_ms * 2).min(MAX_BACKOFF_MS)
        };
        self.next_ms = now_ms.saturating_add(self.delay_ms);
    }
}

/// What the inactivity probe asks for at a given time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeAction {
    /// Nothing to do.
    None,
    /// Send an ECHO_REQUEST.
    SendEcho,
    /// No reply to the echo: disconnect.
    Disconnect,
}

/// The inactivity probe of one connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probe {
    interval_ms: u64,
    last_rx_ms: u64,
    echo_sent_ms: Option<u64>,
}

impl Probe {
    /// A probe with `interval_ms` (0 = never probe) on a connection that came up at `now_ms`.
    pub fn new(interval_ms: u64, now_ms: u64) -> Probe {
        Probe {
            interval_ms,
            last_rx_ms: now_ms,
            echo_sent_ms: None,
        }
    }

    /// Something arrived at `now_ms`.
    pub fn received(&mut self, now_ms: u64) {
        self.last_rx_ms = now_ms;
        self.echo_sent_ms = None;
    }

    /// What to do at `now_ms`. After [`ProbeAction::SendEcho`] the caller sends the echo;
    /// the probe remembers it was sent.
    pub fn check(&mut self, now_ms: u64) -> ProbeAction {
        if self.interval_ms == 0 {
            return ProbeAction::None;
        }
        match self.echo_sent_ms {
            None if now_ms.saturating_sub(self.last_rx_ms) >= self.interval_ms => {
                self.echo_sent_ms = Some(now_ms);
                ProbeAction::SendEcho
            }
            Some(sent) if now_ms.saturating_sub(sent) >= self.interval_ms => {
                ProbeAction::Disconnect
            }
            _ => ProbeAction::None,
        }
    }

    /// When [`Probe::check`] next has something to do, if ever.
    pub fn deadline_ms(&self) -> Option<u64> {
        if self.interval_ms == 0 {
            return None;
        }
        Some(match self.echo_sent_ms {
            None => self.last_rx_ms.saturating_add(self.interval_ms),
            Some(sent) => sent.saturating_add(self.interval_ms),
        })
    }

    /// Seconds since the last message arrived.
    pub fn idle_ms(&self, now_ms: u64) -> u64 {
        now_ms.saturating_sub(self.last_rx_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_8s_and_resets_after_a_good_connection() {
        let mut b = Backoff::new();
        assert!(b.ready(0));
        let mut now = 100;
        let mut delays = Vec::new();
        for _ in 0..6 {
            b.failed(now, None);
            delays.push(b.delay_ms());
            assert!(!b.ready(now + b.delay_ms() - 1));
            now += b.delay_ms();
            assert!(b.ready(now));
        }
        assert_eq!(delays, [1000, 2000, 4000, 8000, 8000, 8000]);
        // Lost after staying up longer than the delay: back to 1 s.
        b.failed(now + 20_000, Some(now));
        assert_eq!(b.delay_ms(), 1000);
        // Lost right after connecting: keeps doubling.
        b.failed(now + 21_000, Some(now + 20_999));
        assert_eq!(b.delay_ms(), 2000);
    }

    #[test]
    fn probe_echoes_after_5s_idle_then_disconnects_after_5_more() {
        let mut p = Probe::new(PROBE_INTERVAL_MS, 0);
        assert_eq!(p.check(4999), ProbeAction::None);
        assert_eq!(p.deadline_ms(), Some(5000));
        assert_eq!(p.check(5000), ProbeAction::SendEcho);
        assert_eq!(p.check(6000), ProbeAction::None);
        assert_eq!(p.deadline_ms(), Some(10_000));
        // A reply (anything) resets it.
        p.received(7000);
        assert_eq!(p.check(11_999), ProbeAction::None);
        assert_eq!(p.check(12_000), ProbeAction::SendEcho);
        assert_eq!(p.check(16_999), ProbeAction::None);
        assert_eq!(p.check(17_000), ProbeAction::Disconnect);
        assert_eq!(Probe::new(0, 0).check(1 << 40), ProbeAction::None);
    }
}
