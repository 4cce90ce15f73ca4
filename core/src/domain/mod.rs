//! The pure core: values that cannot exist invalid, and the rules between them.
//! Nothing here touches a database, the network, the clock or randomness.

pub mod allocation;
pub mod application;
pub mod assessment;
pub mod auth;
pub mod centres;
pub mod decisions;
pub mod disclosure;
pub mod email;
pub mod equality;
pub mod ids;
pub mod mail;
pub mod matching;
pub mod metrics;
pub mod outcomes;
pub mod reports;
pub mod retention;
pub mod scheme;
pub mod scoring;
pub mod sift;
pub mod staff;
pub mod stats;
pub mod status;
pub mod survey;
pub mod vacancies;
pub mod validation;

pub use application::ApplicationForm;
pub use auth::{Caller, Role};
pub use email::Email;
pub use ids::{ApplicationId, NotificationId, SchemeId, StreamId, TokenId};
pub use status::Status;
pub use validation::{FieldError, FieldErrors};
