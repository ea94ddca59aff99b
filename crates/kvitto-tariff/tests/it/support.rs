//! Shared fixtures: conformance files read in place, a session builder, and the `check` helper.

use std::path::PathBuf;

use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use kvitto_tariff::{
    explain, parse_tariff, price_cdr_periods, AuthMethod, Breakdown, BreakdownLine, Cdr,
    CdrContext, CdrLocation, CdrPricing, CdrToken, ClosedSession, GeoLocation, LineDimension,
    MeterSample, Reservation, RoundingRule, SessionInput, SignedData, SignedValue, Tariff,
    TokenType,
};
use rust_decimal::Decimal;

pub const BERLIN: Tz = chrono_tz::Europe::Berlin;

pub fn conformance_dir() -> PathBuf {
    // Read at run time (cargo sets it): a test binary built in another checkout sharing the
    // target directory still finds this checkout's files.
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .join("../../../shared/conformance/ocpi-2.2.1")
}

pub fn read(name: &str) -> String {
    let path = conformance_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn tariff(name: &str) -> Tariff {
    parse_tariff(&read(name))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .value
}

/// A local wall-clock time in `tz`, e.g. `"2019-02-04 09:30"`; must be unambiguous.
pub fn local(tz: Tz, text: &str) -> DateTime<Utc> {
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S"))
        .unwrap();
    tz.from_local_datetime(&naive)
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

pub fn utc(text: &str) -> DateTime<Utc> {
    local(Tz::UTC, text)
}

/// Builds a session step by step: charging stretches add a meter sample at their end, parking
/// stretches add a sample with an unchanged register.
#[derive(Debug, Clone)]
pub struct Plan {
    tz: Tz,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
    register_wh: u64,
    current_a: Option<Decimal>,
    samples: Vec<MeterSample>,
    reservation: Option<Reservation>,
}

impl Plan {
    /// A session plugged in at `start` (local time in Berlin).
    pub fn at(start: &str) -> Plan {
        Plan::in_zone(BERLIN, start)
    }

    pub fn in_zone(tz: Tz, start: &str) -> Plan {
        Plan::from_utc(tz, local(tz, start))
    }

    pub fn from_utc(tz: Tz, start: DateTime<Utc>) -> Plan {
        // A register that does not start at zero, as real meters do.
        let register_wh = 1_234_567;
        Plan {
            tz,
            start,
            now: start,
            register_wh,
            current_a: None,
            samples: vec![MeterSample {
                time: start,
                energy_wh: register_wh,
                current_a: None,
            }],
            reservation: None,
        }
    }

    /// The current reported from now on (it applies to the interval starting at the last sample).
    pub fn current(mut self, amps: i64) -> Plan {
        self.current_a = Some(Decimal::from(amps));
        if let Some(last) = self.samples.last_mut() {
            last.current_a = self.current_a;
        }
        self
    }

    /// Charge `wh` over `duration`.
    pub fn charge(mut self, duration: Duration, wh: u64) -> Plan {
        self.now += duration;
        self.register_wh += wh;
        self.samples.push(MeterSample {
            time: self.now,
            energy_wh: self.register_wh,
            current_a: self.current_a,
        });
        self
    }

    /// Stay plugged in without energy for `duration`.
    pub fn park(mut self, duration: Duration) -> Plan {
        self.now += duration;
        self.samples.push(MeterSample {
            time: self.now,
            energy_wh: self.register_wh,
            current_a: Some(Decimal::ZERO),
        });
        self
    }

    /// A reservation of `duration` that ended when the session started.
    pub fn reserved_for(mut self, duration: Duration) -> Plan {
        self.reservation = Some(Reservation {
            start: self.start - duration,
            end: self.start,
            expired: false,
        });
        self
    }

    pub fn input(self) -> SessionInput {
        SessionInput {
            start: self.start,
            end: self.now,
            samples: self.samples,
            time_zone: self.tz,
            reservation: self.reservation,
        }
    }

    pub fn session(self) -> ClosedSession {
        self.input().validate().unwrap()
    }
}

/// A reservation made at `start` (Berlin) that expired after `duration` without a session.
pub fn expired_reservation(start: &str, duration: Duration) -> ClosedSession {
    let start = local(BERLIN, start);
    let end = start + duration;
    SessionInput {
        start: end,
        end,
        samples: Vec::new(),
        time_zone: BERLIN,
        reservation: Some(Reservation {
            start,
            end,
            expired: true,
        }),
    }
    .validate()
    .unwrap()
}

pub fn minutes(m: i64) -> Duration {
    Duration::minutes(m)
}

pub fn context(id: &str, last_updated: DateTime<Utc>) -> CdrContext {
    CdrContext {
        country_code: "DE".to_owned(),
        party_id: "KVI".to_owned(),
        id: id.to_owned(),
        session_id: Some(format!("S-{id}")),
        cdr_token: CdrToken {
            country_code: "NL".to_owned(),
            party_id: "TNM".to_owned(),
            uid: "012345678".to_owned(),
            token_type: TokenType::Rfid,
            contract_id: "NL-TNM-C12345678-X".to_owned(),
        },
        auth_method: AuthMethod::Whitelist,
        authorization_reference: None,
        cdr_location: CdrLocation {
            id: "LOC1".to_owned(),
            name: Some("Kvitto Hof".to_owned()),
            address: "Hauptstrasse 1".to_owned(),
            city: "Berlin".to_owned(),
            postal_code: Some("10115".to_owned()),
            state: None,
            country: "DEU".to_owned(),
            coordinates: GeoLocation {
                latitude: "52.520008".to_owned(),
                longitude: "13.404954".to_owned(),
            },
            evse_uid: "3256".to_owned(),
            evse_id: "DE*KVI*E3256".to_owned(),
            connector_id: "1".to_owned(),
            connector_standard: "IEC_62196_T2".to_owned(),
            connector_format: "SOCKET".to_owned(),
            connector_power_type: "AC_3_PHASE".to_owned(),
        },
        meter_id: Some("M-1".to_owned()),
        signed_data: Some(SignedData {
            encoding_method: "OCMF".to_owned(),
            encoding_method_version: Some(1),
            public_key: None,
            signed_values: vec![SignedValue {
                nature: "Start".to_owned(),
                plain_data: "OCMF|{}".to_owned(),
                signed_data: "c2lnbmVk".to_owned(),
            }],
            url: None,
        }),
        remark: None,
        invoice_reference_id: None,
        home_charging_compensation: None,
        last_updated,
    }
}

/// One worked example: a tariff file, a session, and the expected totals (excl. and, if the
/// specification states it, incl. VAT), after default rounding.
pub struct Case<'a> {
    pub name: &'a str,
    pub tariff: &'a str,
    pub session: ClosedSession,
    pub excl: &'a str,
    pub incl: Option<&'a str>,
}

/// Prices the case, compares the totals, and checks that the CDR built from the session prices
/// back to exactly the same totals. Returns the breakdown for further assertions.
pub fn check(case: Case<'_>) -> Breakdown {
    let tariff = tariff(case.tariff);
    let rounding = RoundingRule::for_currency(tariff.currency()).unwrap();
    let breakdown =
        explain(&tariff, &case.session, &rounding).unwrap_or_else(|e| panic!("{}: {e}", case.name));
    let totals = &breakdown.totals;
    assert_eq!(
        totals.total_cost.excl_vat.to_string(),
        case.excl,
        "{} excl. VAT\n{breakdown}",
        case.name
    );
    if let Some(incl) = case.incl {
        assert_eq!(
            totals.total_cost.incl_vat.unwrap().to_string(),
            incl,
            "{} incl. VAT\n{breakdown}",
            case.name
        );
    }
    let cents: i64 = case.excl.replace('.', "").parse().unwrap();
    assert_eq!(totals.total_excl_vat_minor, cents, "{}", case.name);

    let cdr = Cdr::from_session(
        &tariff,
        &case.session,
        context("CDR-1", utc("2020-01-01 00:00")),
        &rounding,
    )
    .unwrap_or_else(|e| panic!("{}: {e}", case.name));
    assert_eq!(cdr.total_cost(), totals.total_cost, "{}", case.name);
    let options = CdrPricing {
        time_zone: case.session.time_zone(),
        rounding: None,
    };
    let repriced =
        price_cdr_periods(None, &cdr, &options).unwrap_or_else(|e| panic!("{}: {e}", case.name));
    assert_eq!(
        &repriced,
        totals,
        "{}: re-pricing the built CDR\n{}",
        case.name,
        cdr.to_json_pretty()
    );
    breakdown
}

/// The lines of `breakdown` that price `dimension`, in period order.
pub fn lines(breakdown: &Breakdown, dimension: LineDimension) -> Vec<&BreakdownLine> {
    breakdown
        .lines
        .iter()
        .filter(|l| l.dimension == dimension)
        .collect()
}

/// The first line of `breakdown` that prices `dimension`.
pub fn line(breakdown: &Breakdown, dimension: LineDimension) -> &BreakdownLine {
    breakdown
        .lines
        .iter()
        .find(|l| l.dimension == dimension)
        .unwrap_or_else(|| panic!("no {dimension:?} line\n{breakdown}"))
}

pub fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}
