//! The API's one error type and its JSON body, `{"error":{"code":"...","message":"..."}}`.

use serde::Serialize;

/// An error answer: an HTTP status, a stable machine-readable code and a human message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
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
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into() }
    }

    /// 400 for a well-formed request whose values are wrong or out of range.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(400, "invalid_request", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, "not_found", message)
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(503, "model_unavailable", message)
    }

    /// The JSON body.
    pub fn body(&self) -> String {
        let body = Body { error: Inner { code: self.code, message: &self.message } };
        serde_json::to_string(&body).unwrap_or_else(|_| {
            r#"{"error":{"code":"internal","message":"cannot encode the error"}}"#.to_owned()
        })
    }
}

impl From<edgerec_core::Error> for ApiError {
    fn from(e: edgerec_core::Error) -> Self {
        use edgerec_core::Error as E;
        match e {
            E::UnknownItem { .. } => Self::new(404, "unknown_item", e.to_string()),
            E::UnknownUser { .. } => Self::new(404, "unknown_user", e.to_string()),
            E::UnknownCategory { .. } => Self::new(400, "unknown_category", e.to_string()),
            E::InvalidArgument(_) => Self::new(400, "invalid_request", e.to_string()),
            other => Self::new(500, "internal", other.to_string()),
        }
    }
}

/// A body that serde_json rejected: broken JSON is `invalid_json`, the wrong shape or types
/// `invalid_request`; both are 400.
pub fn from_json_error(e: &serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            ApiError::new(400, "invalid_json", format!("the body is not valid JSON: {e}"))
        }
        Category::Data => ApiError::invalid(format!("the body does not match the schema: {e}")),
    }
}
