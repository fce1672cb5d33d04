//! How the adapter reads DynamoDB's refusals of a transaction, with the SDK's own mocking
//! (`aws-smithy-mocks`): which one is a failed condition (and of which write), which a
//! conflict to read again and retry, and which an outage.

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::CancellationReason;
use aws_sdk_dynamodb::types::error::{
    TransactionCanceledException, TransactionInProgressException,
};
use aws_smithy_mocks::{mock, mock_client};
use titolare_store::{BackendError, Condition, Item, ItemBackend, Write};
use titolare_store_dynamodb::DynamoBackend;

fn canceled(codes: &[&str]) -> TransactWriteItemsError {
    let mut e = TransactionCanceledException::builder().message("Transaction cancelled");
    for code in codes {
        e = e.cancellation_reasons(CancellationReason::builder().code(*code).build());
    }
    TransactWriteItemsError::TransactionCanceledException(e.build())
}

/// What the backend answers when DynamoDB refuses a two-write transaction with the error
/// `error` makes.
async fn answer_to(
    error: impl Fn() -> TransactWriteItemsError + Send + Sync + 'static,
) -> Result<(), BackendError> {
    let rule = mock!(aws_sdk_dynamodb::Client::transact_write_items).then_error(error);
    let client = mock_client!(aws_sdk_dynamodb, [&rule]);
    let backend = DynamoBackend::new(client, "titolare");
    let write = |sk: &str| {
        Write::put(
            Item::new("pk", sk, "probe", serde_json::json!({"n": 1})),
            Condition::Absent,
        )
    };
    backend.transact(&[write("a"), write("b")], 0).await
}

#[tokio::test]
async fn a_failed_condition_names_its_write() {
    assert_eq!(
        answer_to(|| canceled(&["None", "ConditionalCheckFailed"])).await,
        Err(BackendError::ConditionFailed { index: 1 })
    );
    // A failed condition wins over a conflict on another write: the data changed.
    assert_eq!(
        answer_to(|| canceled(&["TransactionConflict", "ConditionalCheckFailed"])).await,
        Err(BackendError::ConditionFailed { index: 1 })
    );
}

#[tokio::test]
async fn a_conflict_or_a_transaction_in_progress_is_read_again() {
    assert_eq!(
        answer_to(|| canceled(&["TransactionConflict", "None"])).await,
        Err(BackendError::Conflict)
    );
    let in_progress = || {
        TransactWriteItemsError::TransactionInProgressException(
            TransactionInProgressException::builder()
                .message("in progress")
                .build(),
        )
    };
    assert_eq!(answer_to(in_progress).await, Err(BackendError::Conflict));
}

#[tokio::test]
async fn anything_else_is_an_outage() {
    for codes in [
        &["ThrottlingError", "None"][..],
        &["ValidationError"][..],
        &[][..],
    ] {
        assert!(
            matches!(
                answer_to(move || canceled(codes)).await,
                Err(BackendError::Unavailable(_))
            ),
            "{codes:?}"
        );
    }
}
