//! Users kept outside the artifact: the binary record of one user, and splitting an artifact
//! into a user-less artifact plus one record per user. The top layer beside the builder: it
//! reads the format and the model and answers through the queries, and nothing imports it.

mod external;
pub(crate) mod record;

pub use external::{UserRecords, split_users};
pub use record::{USER_RECORD_MAGIC, USER_RECORD_VERSION, UserRecord, user_record_key};
