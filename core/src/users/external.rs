//! Moving users out of an artifact: the same artifact with every per-user tensor emptied and
//! `users = external` in its metadata, plus one [`UserRecord`] per user for a key-value store.

use std::collections::HashMap;

use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

use crate::format::USERS_EXTERNAL;
use crate::format::write;
use crate::users::record::UserRecord;
use crate::{Error, Model, Result, names};

/// The per-user tensors; `true` marks row-pointer tensors (`[U + 1]`), which become `[0]`, while
/// the others lose all their rows.
const PER_USER: [(&str, bool); 13] = [
    (names::USER_FACTORS, false),
    (names::USER_BIAS, false),
    (names::USER_IDS_BYTES, false),
    (names::USER_IDS_OFFSETS, true),
    (names::SEEN_INDPTR, true),
    (names::SEEN_INDICES, false),
    (names::SEEN_VALUES, false),
    (names::RECENT_INDPTR, true),
    (names::RECENT_INDICES, false),
    (names::RATING_USER_FACTORS, false),
    (names::RATING_USER_BIAS, false),
    (names::SEQ_HISTORY_INDPTR, true),
    (names::SEQ_HISTORY_INDICES, false),
];

/// Each user's ID with their record, in ID order.
pub type UserRecords = Vec<(String, UserRecord)>;

/// A validated artifact split in two: the artifact without its users, and each user's ID with
/// their record, in ID order.
pub fn split_users(bytes: &[u8]) -> Result<(Vec<u8>, UserRecords)> {
    let model = Model::from_bytes(bytes)?;
    let records = (0..model.num_users())
        .map(|u| {
            let record =
                model.user_record(u).ok_or_else(|| Error::Invalid(format!("user {u} is incomplete")))?;
            Ok((model.user_id(u).to_owned(), record))
        })
        .collect::<Result<Vec<_>>>()?;
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| Error::Format(e.to_string()))?;
    let mut metadata: HashMap<String, String> = header.metadata().clone().unwrap_or_default();
    metadata.insert(names::META_USERS.to_owned(), USERS_EXTERNAL.to_owned());
    let st = SafeTensors::deserialize(bytes).map_err(|e| Error::Format(e.to_string()))?;
    // One zero u32 backs every emptied pointer tensor (`[1]`: a CSR over no rows).
    let zero = [0u8; 4];
    let mut views = Vec::new();
    for (name, view) in st.tensors() {
        let emptied = PER_USER.iter().find(|(n, _)| *n == name);
        let view = match emptied {
            None => Ok(view),
            Some((_, true)) => TensorView::new(Dtype::U32, vec![1], &zero),
            Some((_, false)) => {
                let mut shape = view.shape().to_vec();
                if let Some(rows) = shape.first_mut() {
                    *rows = 0;
                }
                TensorView::new(view.dtype(), shape, &[])
            }
        }
        .map_err(|e| Error::Invalid(format!("{name}: {e}")))?;
        views.push((name, view));
    }
    let out = write::serialize(views, metadata).map_err(Error::Invalid)?;
    Ok((out, records))
}

impl Model<'_> {
    /// Whether this artifact's users live outside it (`users = external`): a user it does not
    /// know may then have a [`UserRecord`] elsewhere, for [`Model::recommend_record`].
    pub fn users_external(&self) -> bool {
        self.metadata(names::META_USERS) == Some(USERS_EXTERNAL)
    }
}
