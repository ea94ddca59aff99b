//! Per-counterparty tariff variants: one tariff id, a different price for a named eMSP.

use std::collections::BTreeMap;
use std::fmt;

use crate::tariff::Tariff;

/// An OCPI party: ISO 3166 alpha-2 country code and a three-character party id.
///
/// Both are OCPI `CiString`s, so they are stored upper-case: `nl/tnm` and `NL/TNM` are one party.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PartyId {
    country_code: String,
    party_id: String,
}

/// A party id that is not two letters plus three alphanumerics.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{country_code}/{party_id} is not an OCPI party (two letters, three letters or digits)")]
pub struct InvalidPartyId {
    /// The country code given.
    pub country_code: String,
    /// The party id given.
    pub party_id: String,
}

impl PartyId {
    /// `country_code` (two letters) and `party_id` (three letters or digits).
    pub fn new(country_code: &str, party_id: &str) -> Result<PartyId, InvalidPartyId> {
        let ok = country_code.len() == 2
            && country_code.bytes().all(|b| b.is_ascii_alphabetic())
            && party_id.len() == 3
            && party_id.bytes().all(|b| b.is_ascii_alphanumeric());
        if !ok {
            return Err(InvalidPartyId {
                country_code: country_code.to_owned(),
                party_id: party_id.to_owned(),
            });
        }
        Ok(PartyId {
            country_code: country_code.to_ascii_uppercase(),
            party_id: party_id.to_ascii_uppercase(),
        })
    }

    /// Country code, upper-case.
    pub fn country_code(&self) -> &str {
        &self.country_code
    }

    /// Party id, upper-case.
    pub fn party_id(&self) -> &str {
        &self.party_id
    }
}

impl fmt::Display for PartyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.country_code, self.party_id)
    }
}

/// Why a tariff set was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TariffSetError {
    /// A variant is not the same tariff (id, owner or currency differ).
    #[error("the variant for {party} must have the default's id, owner and currency ({expected}), found {found}")]
    VariantMismatch {
        /// The counterparty.
        party: PartyId,
        /// `country_code/party_id/id currency` of the default.
        expected: String,
        /// The same of the variant.
        found: String,
    },
}

/// One tariff id with a default price and per-eMSP variants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TariffSet {
    default: Tariff,
    variants: BTreeMap<PartyId, Tariff>,
}

fn identity(t: &Tariff) -> String {
    format!(
        "{}/{}/{} {}",
        t.country_code.to_ascii_uppercase(),
        t.party_id.to_ascii_uppercase(),
        t.id.to_ascii_uppercase(),
        t.currency
    )
}

impl TariffSet {
    /// A set whose variants all share the default's id, owning CPO and currency.
    pub fn new(
        default: Tariff,
        variants: BTreeMap<PartyId, Tariff>,
    ) -> Result<TariffSet, TariffSetError> {
        let expected = identity(&default);
        for (party, variant) in &variants {
            let found = identity(variant);
            if found != expected {
                return Err(TariffSetError::VariantMismatch {
                    party: party.clone(),
                    expected,
                    found,
                });
            }
        }
        Ok(TariffSet { default, variants })
    }

    /// The tariff that applies to sessions billed to `party`: its variant, or the default.
    pub fn for_counterparty(&self, party: &PartyId) -> &Tariff {
        self.variants.get(party).unwrap_or(&self.default)
    }

    /// The default tariff.
    pub fn default_tariff(&self) -> &Tariff {
        &self.default
    }

    /// The variants by counterparty.
    pub fn variants(&self) -> &BTreeMap<PartyId, Tariff> {
        &self.variants
    }
}
