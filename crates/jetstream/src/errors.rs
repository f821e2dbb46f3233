//! JetStream API errors as they go on the wire: `{"code":…,"err_code":…,"description":…}`.

use crate::ErrorKind;
use serde::{Deserialize, Serialize};
use std::fmt;

/// An API error, the `error` member of every failed JetStream response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// The HTTP-like status.
    pub code: u16,
    /// The JetStream error code; 0 (omitted) for plain status errors.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub err_code: u16,
    /// What went wrong.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}

fn is_zero(v: &u16) -> bool {
    *v == 0
}

impl ApiError {
    /// The error of `kind` with its description as is.
    pub fn new(kind: ErrorKind) -> Self {
        ApiError {
            code: kind.code(),
            err_code: kind.err_code(),
            description: kind.template().to_string(),
        }
    }

    /// The error of `kind` with `{name}` placeholders filled from `args`.
    pub fn with(kind: ErrorKind, args: &[(&str, &dyn fmt::Display)]) -> Self {
        let mut description = kind.template().to_string();
        for (name, value) in args {
            description = description.replace(&format!("{{{name}}}"), &value.to_string());
        }
        ApiError {
            code: kind.code(),
            err_code: kind.err_code(),
            description,
        }
    }

    /// The error of `kind` whose only placeholder is `{err}`.
    pub fn err(kind: ErrorKind, err: impl fmt::Display) -> Self {
        ApiError::with(kind, &[("err", &err)])
    }

    /// Whether this is the error of `kind`.
    pub fn is(&self, kind: ErrorKind) -> bool {
        self.err_code == kind.err_code()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.description, self.err_code)
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_facts_and_wire_form() {
        assert_eq!(ErrorKind::ALL.len(), 201);
        let e = ApiError::new(ErrorKind::StreamNotFound);
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"code":404,"err_code":10059,"description":"stream not found"}"#
        );
        let e = ApiError::err(ErrorKind::InvalidJSON, "unexpected end of JSON input");
        assert_eq!(e.description, "invalid JSON: unexpected end of JSON input");
        assert_eq!((e.code, e.err_code), (400, 10025));
        let e = ApiError::with(ErrorKind::StreamWrongLastSequence, &[("seq", &7)]);
        assert_eq!(e.description, "wrong last sequence: 7");
        assert_eq!(ErrorKind::InsufficientResources.err_code(), 10023);
        assert_eq!(ErrorKind::NotEnabled.template(), "JetStream not enabled");
        let mut codes: Vec<u16> = ErrorKind::ALL.iter().map(|k| k.err_code()).collect();
        codes.dedup();
        assert_eq!(codes.len(), 201, "err_codes are unique and sorted");
    }
}
