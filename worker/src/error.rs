//! The API's one error type and its JSON body, `{"error":{"code":"...","message":"..."}}`.

use serde::Serialize;

/// Declares [`ErrorCode`] from one table: each variant with its wire name and HTTP status.
macro_rules! error_codes {
    ($($variant:ident = $code:literal, $status:literal;)*) => {
        /// Every error code the API sends, each with its one HTTP status. The OpenAPI document's
        /// enum of codes is checked against this table by a test, so the two cannot drift apart.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ErrorCode {
            $(
                #[doc = concat!("`", $code, "`, HTTP ", stringify!($status), ".")]
                $variant,
            )*
        }

        impl ErrorCode {
            /// Every code, in the table's order.
            #[cfg(test)]
            pub const ALL: &[Self] = &[$(Self::$variant),*];

            /// The code as sent in the body.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $code,)*
                }
            }

            /// The HTTP status an error with this code is sent with.
            pub fn status(self) -> u16 {
                match self {
                    $(Self::$variant => $status,)*
                }
            }
        }
    };
}

error_codes! {
    InvalidJson = "invalid_json", 400;
    InvalidRequest = "invalid_request", 400;
    InvalidBody = "invalid_body", 400;
    UnknownCategory = "unknown_category", 400;
    OffsetPastEnd = "offset_past_end", 400;
    Unauthorized = "unauthorized", 401;
    OriginNotAllowed = "origin_not_allowed", 403;
    NotFound = "not_found", 404;
    UnknownItem = "unknown_item", 404;
    UnknownUser = "unknown_user", 404;
    MethodNotAllowed = "method_not_allowed", 405;
    Conflict = "conflict", 409;
    PayloadTooLarge = "payload_too_large", 413;
    UnsupportedMediaType = "unsupported_media_type", 415;
    InvalidModel = "invalid_model", 422;
    Internal = "internal", 500;
    CorruptUserRecord = "corrupt_user_record", 500;
    ModelUnavailable = "model_unavailable", 503;
    StorageUnavailable = "storage_unavailable", 503;
    QueueUnavailable = "queue_unavailable", 503;
    UsersUnavailable = "users_unavailable", 503;
}

/// An error answer: a stable machine-readable code (which decides the HTTP status) and a human
/// message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message: &'a str,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }

    /// The HTTP status the answer is sent with: its code's.
    pub fn status(&self) -> u16 {
        self.code.status()
    }

    /// 400 for a well-formed request whose values are wrong or out of range.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ModelUnavailable, message)
    }

    /// The JSON body.
    pub fn body(&self) -> String {
        let body = Body { error: Inner { code: self.code.as_str(), message: &self.message } };
        serde_json::to_string(&body).unwrap_or_else(|_| {
            r#"{"error":{"code":"internal","message":"cannot encode the error"}}"#.to_owned()
        })
    }
}

impl From<edgerec_core::Error> for ApiError {
    fn from(e: edgerec_core::Error) -> Self {
        use edgerec_core::Error as E;
        match e {
            E::UnknownItem { .. } => Self::new(ErrorCode::UnknownItem, e.to_string()),
            E::UnknownUser { .. } => Self::new(ErrorCode::UnknownUser, e.to_string()),
            E::UnknownCategory { .. } => Self::new(ErrorCode::UnknownCategory, e.to_string()),
            E::InvalidArgument(_) => Self::new(ErrorCode::InvalidRequest, e.to_string()),
            E::OffsetPastEnd { .. } => Self::new(ErrorCode::OffsetPastEnd, e.to_string()),
            other => Self::new(ErrorCode::Internal, other.to_string()),
        }
    }
}

/// A body that serde_json rejected: broken JSON is `invalid_json`, the wrong shape or types
/// `invalid_request`; both are 400.
pub fn from_json_error(e: &serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            ApiError::new(ErrorCode::InvalidJson, format!("the body is not valid JSON: {e}"))
        }
        Category::Data => ApiError::invalid(format!("the body does not match the schema: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::{ApiError, ErrorCode};

    #[test]
    fn the_openapi_enum_lists_every_code_the_worker_sends_in_order() {
        let spec: serde_json::Value = serde_json::from_str(include_str!("openapi.json")).unwrap_or_default();
        let listed =
            &spec["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"];
        let ours: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(listed, &serde_json::json!(ours));
    }

    #[test]
    fn codes_are_distinct_and_carry_error_statuses() {
        for (i, a) in ErrorCode::ALL.iter().enumerate() {
            assert!((400..600).contains(&a.status()), "{a:?}");
            assert!(ErrorCode::ALL[i + 1..].iter().all(|b| b.as_str() != a.as_str()), "{a:?}");
            let e = ApiError::new(*a, "m");
            assert!(e.body().contains(&format!(r#""code":"{}""#, a.as_str())));
        }
    }
}
