//! Who owns a session or handle, and per-owner counting for limits —
//! shared by the session manager and the handle store.

use crate::auth::{Principal, TenantId};
use std::collections::HashMap;
use std::sync::Arc;

/// The owner of a session or handle: tenant and subject.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct Owner {
    pub(super) tenant: TenantId,
    pub(super) subject: Arc<str>,
}

impl Owner {
    pub(super) fn of(p: &Principal) -> Self {
        Self {
            tenant: p.tenant.clone(),
            subject: p.subject.clone(),
        }
    }
}

/// Which limit refused an admission: the limit and "in total" or
/// "per user".
pub(super) type Refusal = (usize, &'static str);

/// Counts of open items per owner, enforcing a total and a per-owner limit.
#[derive(Default)]
pub(super) struct OwnerCounts {
    per_owner: HashMap<Owner, usize>,
}

impl OwnerCounts {
    /// Counts one more item for `owner` if `open` (items open now) and the
    /// owner's count stay within the limits.
    pub(super) fn admit(
        &mut self,
        owner: &Owner,
        open: usize,
        max_total: usize,
        max_per_owner: usize,
    ) -> Result<(), Refusal> {
        if open >= max_total {
            return Err((max_total, "in total"));
        }
        let count = self.per_owner.entry(owner.clone()).or_default();
        if *count >= max_per_owner {
            return Err((max_per_owner, "per user"));
        }
        *count += 1;
        Ok(())
    }

    /// Counts one item of `owner` fewer.
    pub(super) fn release(&mut self, owner: &Owner) {
        if let Some(n) = self.per_owner.get_mut(owner) {
            *n -= 1;
            if *n == 0 {
                self.per_owner.remove(owner);
            }
        }
    }
}
