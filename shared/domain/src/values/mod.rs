//! Parsed values: each type can only hold valid, normalised data.

mod codice_fiscale;
mod contact;
mod italian_phone;
mod partita_iva;
mod place;
#[cfg(test)]
pub(crate) mod strategies;
mod text_field;

pub use codice_fiscale::{CodiceFiscale, CodiceFiscaleError, PersonCodes};
pub use contact::{EmailAddress, EmailError, MobileNumber, PhoneError, PhoneNumber};
pub use partita_iva::{
    CodiceFiscaleAzienda, CodiceFiscaleAziendaError, PartitaIva, PartitaIvaError,
};
pub use place::{Cap, CapError, Comune, Nazione, PlaceError, Provincia};
pub use text_field::{PersonName, TextError, TextField};
