//! Rules on holder profiles that the holder routes and a request's draft share.

use crate::problem::ApiError;
use titolare_domain::ports::HolderSearch;
use titolare_domain::search::FiscalIdentity;
use titolare_domain::{AccountId, Holder, PageRequest};

/// Refuses a new holder that is the same person or company as one the account already
/// has, unless the caller says it is intended. A read before the insert, not a lock: it
/// guards against a profile typed twice, not against two racing creations.
pub(crate) async fn refuse_duplicate<S: HolderSearch + ?Sized>(
    store: &S,
    account: &AccountId,
    holder: &Holder,
    allow_duplicate: bool,
    within: Option<&'static str>,
) -> Result<(), ApiError> {
    let Some(identity) = FiscalIdentity::of(holder).filter(|_| !allow_duplicate) else {
        return Ok(());
    };
    let page = PageRequest {
        size: PageRequest::MAX_SIZE,
        cursor: None,
    };
    let found = store
        .search_holders(account, &identity.query(), &page)
        .await?;
    match found.items.iter().find(|h| identity.matches(h)) {
        Some(existing) => Err(ApiError::DuplicateHolder {
            existing: existing.id.clone(),
            natural_person: holder.tipo.is_natural_person(),
            within,
        }),
        None => Ok(()),
    }
}
