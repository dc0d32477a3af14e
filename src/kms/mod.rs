//! The AWS KMS service (`TrentService`): state and one handler per operation, behind the AWS JSON 1.1 layer.

use std::sync::Arc;

use serde_json::{json, Value};

use crate::aws::{model, AwsError, AwsJsonService, RequestContext};
use crate::clock::Clock;
use crate::http::control::Control;

/// The KMS service of one server: every account and region lives in here.
pub struct Kms {
    #[allow(dead_code)] // read by the operations as they land
    clock: Clock,
}

impl Kms {
    pub fn new(clock: Clock) -> Arc<Self> {
        Arc::new(Kms { clock })
    }
}

impl AwsJsonService for Kms {
    fn model(&self) -> &'static model::Model {
        model::kms()
    }

    async fn call(&self, _ctx: RequestContext, operation: &str, _input: Value) -> Result<Value, AwsError> {
        Err(AwsError::new(
            "UnsupportedOperationException",
            format!("{operation} is not supported by trent yet"),
        ))
    }
}

impl Control for Kms {
    fn health(&self) -> Value {
        json!({ "status": "ok", "service": "kms" })
    }

    fn reset(&self) {}

    fn dump(&self) -> Value {
        json!({ "service": "kms" })
    }
}
