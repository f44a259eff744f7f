//! Who owns a session or handle, and per-owner counting for limits (and
//! which limit refused, [`LimitScope`]) — shared by the session manager
//! and the handle store.

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

/// Which of the two limits refused an admission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitScope {
    /// The limit on all open items together.
    Total,
    /// The limit on one user's (tenant and subject) open items.
    PerUser,
}

impl std::fmt::Display for LimitScope {
    /// "in total" or "per user", as in "(100 allowed per user)".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Total => "in total",
            Self::PerUser => "per user",
        })
    }
}

/// Which limit refused an admission: the limit and its scope.
pub(super) type Refusal = (usize, LimitScope);

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
            return Err((max_total, LimitScope::Total));
        }
        let count = self.per_owner.entry(owner.clone()).or_default();
        if *count >= max_per_owner {
            return Err((max_per_owner, LimitScope::PerUser));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scope_of_a_refusal_reads_as_before() {
        assert_eq!(LimitScope::Total.to_string(), "in total");
        assert_eq!(LimitScope::PerUser.to_string(), "per user");
        let mut counts = OwnerCounts::default();
        let owner = Owner::of(&Principal::anonymous());
        assert_eq!(counts.admit(&owner, 0, 5, 1), Ok(()));
        assert_eq!(counts.admit(&owner, 1, 5, 1), Err((1, LimitScope::PerUser)));
        assert_eq!(counts.admit(&owner, 5, 5, 9), Err((5, LimitScope::Total)));
    }
}
