//! A closed charging session as the meter saw it.
//!
//! The caller gives a [`SessionInput`] (plug-in, plug-out, the meter register samples, the
//! location's time zone and an optional reservation) and calls [`SessionInput::validate`], which
//! returns a [`ClosedSession`]: the only thing the pricing functions accept, so they never see an
//! unordered or decreasing register.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;

use crate::limits::{MAX_RESERVATION_MS, MAX_SAMPLES, MAX_SESSION_ENERGY_WH, MAX_SESSION_MS};

/// One reading of the meter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeterSample {
    /// When the reading was taken (millisecond resolution).
    pub time: DateTime<Utc>,
    /// The cumulative energy register, in Wh.
    pub energy_wh: u64,
    /// The charging current summed over all phases at `time`, in A, if the meter reports it.
    /// It holds until the next sample (zero-order hold).
    pub current_a: Option<Decimal>,
}

/// A reservation that preceded the session (or expired instead of one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reservation {
    /// When the reservation was made.
    pub start: DateTime<Utc>,
    /// When it ended: the driver started charging, or it expired.
    pub end: DateTime<Utc>,
    /// True when it expired without a charging session.
    pub expired: bool,
}

/// A closed session before validation.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionInput {
    /// Plug-in (session start).
    pub start: DateTime<Utc>,
    /// Plug-out (session end).
    pub end: DateTime<Utc>,
    /// Meter samples in time order, all within `start..=end`.
    pub samples: Vec<MeterSample>,
    /// The location's IANA time zone; restrictions on time of day and date use it.
    pub time_zone: Tz,
    /// The reservation before the session, if any.
    pub reservation: Option<Reservation>,
}

/// Why a session was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// The session does not end after it starts.
    #[error("session end {end} is not after its start {start}")]
    EndNotAfterStart {
        /// Start.
        start: DateTime<Utc>,
        /// End.
        end: DateTime<Utc>,
    },
    /// The session is longer than the limit.
    #[error("session lasts {duration_ms} ms, more than the limit of {max_ms} ms")]
    TooLong {
        /// Duration.
        duration_ms: i64,
        /// Limit.
        max_ms: i64,
    },
    /// Too many samples.
    #[error("session has {count} samples, more than the limit of {max}")]
    TooManySamples {
        /// Count.
        count: usize,
        /// Limit.
        max: usize,
    },
    /// A timestamp has sub-millisecond digits.
    #[error("{what} has a resolution finer than a millisecond")]
    SubMillisecond {
        /// Which timestamp.
        what: String,
    },
    /// A sample is not after the previous one.
    #[error("samples[{index}] at {time} is not after the previous sample")]
    SamplesNotOrdered {
        /// Index of the offending sample.
        index: usize,
        /// Its time.
        time: DateTime<Utc>,
    },
    /// A sample lies outside the session.
    #[error("samples[{index}] at {time} lies outside the session")]
    SampleOutsideSession {
        /// Index of the offending sample.
        index: usize,
        /// Its time.
        time: DateTime<Utc>,
    },
    /// The register went down.
    #[error(
        "samples[{index}] register {energy_wh} Wh is below the previous sample's {previous_wh} Wh"
    )]
    RegisterDecreased {
        /// Index of the offending sample.
        index: usize,
        /// Its register.
        energy_wh: u64,
        /// The previous register.
        previous_wh: u64,
    },
    /// More energy than the limit.
    #[error("session energy {energy_wh} Wh exceeds the limit of {max_wh} Wh")]
    TooMuchEnergy {
        /// Energy.
        energy_wh: u64,
        /// Limit.
        max_wh: u64,
    },
    /// A negative current.
    #[error("samples[{index}] has a negative current")]
    NegativeCurrent {
        /// Index of the offending sample.
        index: usize,
    },
    /// The reservation does not end after it starts, or ends after the session starts, or is too
    /// long.
    #[error("reservation {start}..{end} must be non-empty, at most {max_ms} ms, and end by the session start")]
    InvalidReservation {
        /// Reservation start.
        start: DateTime<Utc>,
        /// Reservation end.
        end: DateTime<Utc>,
        /// Longest reservation.
        max_ms: i64,
    },
    /// An expired reservation must not be followed by a session.
    #[error("an expired reservation has no session: samples must be empty and start = end = the reservation's end")]
    ExpiredReservationWithSession,
}

/// A validated closed session; see [`SessionInput::validate`].
#[derive(Debug, Clone, PartialEq)]
pub struct ClosedSession {
    input: SessionInput,
}

impl ClosedSession {
    /// Plug-in.
    pub fn start(&self) -> DateTime<Utc> {
        self.input.start
    }
    /// Plug-out.
    pub fn end(&self) -> DateTime<Utc> {
        self.input.end
    }
    /// Samples, ordered, registers non-decreasing.
    pub fn samples(&self) -> &[MeterSample] {
        &self.input.samples
    }
    /// Location time zone.
    pub fn time_zone(&self) -> Tz {
        self.input.time_zone
    }
    /// The reservation, if any.
    pub fn reservation(&self) -> Option<Reservation> {
        self.input.reservation
    }
    /// True when this is only an expired reservation, without a charging session.
    pub fn is_expired_reservation(&self) -> bool {
        self.input.reservation.is_some_and(|r| r.expired)
    }
    /// Energy between the first and the last sample, in Wh.
    pub fn energy_wh(&self) -> u64 {
        match (self.input.samples.first(), self.input.samples.last()) {
            (Some(first), Some(last)) => last.energy_wh - first.energy_wh,
            _ => 0,
        }
    }
    /// The earliest instant the CDR covers: the reservation start, or plug-in.
    pub fn cdr_start(&self) -> DateTime<Utc> {
        self.input.reservation.map_or(self.input.start, |r| r.start)
    }
}

fn whole_ms(t: DateTime<Utc>, what: impl FnOnce() -> String) -> Result<(), SessionError> {
    if t.timestamp_subsec_nanos().is_multiple_of(1_000_000) {
        Ok(())
    } else {
        Err(SessionError::SubMillisecond { what: what() })
    }
}

impl SessionInput {
    /// Checks the session and returns it as a [`ClosedSession`].
    ///
    /// Rules: timestamps have millisecond resolution; `start < end` (for an expired reservation
    /// instead `start == end ==` the reservation's end and no samples); the session is at most
    /// [`MAX_SESSION_MS`] long with at most [`MAX_SAMPLES`] samples; sample times strictly increase
    /// and lie within `start..=end`; registers never decrease; currents are not negative; a
    /// reservation is non-empty, at most [`MAX_RESERVATION_MS`] long and ends by the session start.
    pub fn validate(self) -> Result<ClosedSession, SessionError> {
        whole_ms(self.start, || "start".to_owned())?;
        whole_ms(self.end, || "end".to_owned())?;
        if let Some(r) = self.reservation {
            whole_ms(r.start, || "reservation start".to_owned())?;
            whole_ms(r.end, || "reservation end".to_owned())?;
            let length_ms = (r.end - r.start).num_milliseconds();
            if length_ms <= 0 || length_ms > MAX_RESERVATION_MS || r.end > self.start {
                return Err(SessionError::InvalidReservation {
                    start: r.start,
                    end: r.end,
                    max_ms: MAX_RESERVATION_MS,
                });
            }
            if r.expired {
                if !self.samples.is_empty() || self.start != r.end || self.end != r.end {
                    return Err(SessionError::ExpiredReservationWithSession);
                }
                return Ok(ClosedSession { input: self });
            }
        }
        if self.end <= self.start {
            return Err(SessionError::EndNotAfterStart {
                start: self.start,
                end: self.end,
            });
        }
        let duration_ms = (self.end - self.start).num_milliseconds();
        if duration_ms > MAX_SESSION_MS {
            return Err(SessionError::TooLong {
                duration_ms,
                max_ms: MAX_SESSION_MS,
            });
        }
        if self.samples.len() > MAX_SAMPLES {
            return Err(SessionError::TooManySamples {
                count: self.samples.len(),
                max: MAX_SAMPLES,
            });
        }
        for (index, sample) in self.samples.iter().enumerate() {
            whole_ms(sample.time, || format!("samples[{index}].time"))?;
            if sample.time < self.start || sample.time > self.end {
                return Err(SessionError::SampleOutsideSession {
                    index,
                    time: sample.time,
                });
            }
            if sample
                .current_a
                .is_some_and(|a| a.is_sign_negative() && !a.is_zero())
            {
                return Err(SessionError::NegativeCurrent { index });
            }
            let Some(previous) = index.checked_sub(1).map(|i| &self.samples[i]) else {
                continue;
            };
            if sample.time <= previous.time {
                return Err(SessionError::SamplesNotOrdered {
                    index,
                    time: sample.time,
                });
            }
            if sample.energy_wh < previous.energy_wh {
                return Err(SessionError::RegisterDecreased {
                    index,
                    energy_wh: sample.energy_wh,
                    previous_wh: previous.energy_wh,
                });
            }
        }
        let session = ClosedSession { input: self };
        if session.energy_wh() > MAX_SESSION_ENERGY_WH {
            return Err(SessionError::TooMuchEnergy {
                energy_wh: session.energy_wh(),
                max_wh: MAX_SESSION_ENERGY_WH,
            });
        }
        Ok(session)
    }
}
