//! Fair admission of plugin calls.
//!
//! At most `max_concurrent_calls` calls run at once. When none is free, a
//! call waits in its caller's queue, and places are handed out round-robin:
//! one turn per tenant with waiting calls, and within a tenant one turn per
//! caller (subject). A caller with a thousand calls queued therefore
//! delays another caller by at most one call per turn, not by its whole
//! backlog. Each caller may have at most `max_calls_per_user` calls running
//! or waiting; more are refused at once ([`Busy`]).
//!
//! The common case (a place is free) takes one short lock and no
//! allocation; queues are allocated only while calls wait. Owns only
//! counts and queues: it must not import the protocol, session or
//! transport layers.

use crate::auth::{Principal, TenantId};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::oneshot;

/// Idle callers are forgotten once this many are known (and the number
/// doubles with the callers still busy), so bookkeeping stays bounded
/// without freeing and reallocating an entry on every call.
const PRUNE_AT: usize = 1024;

/// Who a call is counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Caller {
    tenant: TenantId,
    subject: Arc<str>,
}

/// One caller's calls.
#[derive(Default)]
struct Account {
    /// Running or waiting.
    active: usize,
    /// Waiting, oldest first.
    waiting: VecDeque<Waiter>,
    /// In its tenant's turn order.
    queued: bool,
}

struct Waiter {
    ticket: u64,
    grant: oneshot::Sender<()>,
}

/// A tenant's callers with waiting calls, in turn order.
#[derive(Default)]
struct Turns {
    subjects: VecDeque<Arc<str>>,
    /// In the ring of tenants.
    queued: bool,
}

struct State {
    free: usize,
    running: usize,
    waiting: usize,
    accounts: HashMap<Caller, Account>,
    tenants: HashMap<TenantId, Turns>,
    /// Tenants with waiting calls, in turn order.
    ring: VecDeque<TenantId>,
    next_ticket: u64,
    prune_at: usize,
}

impl State {
    /// Hands free places to waiting calls, one turn at a time.
    fn grant(&mut self) {
        let Self {
            free,
            running,
            waiting,
            accounts,
            tenants,
            ring,
            ..
        } = self;
        while *free > 0 {
            let Some(tenant) = ring.pop_front() else {
                return;
            };
            let Some(turns) = tenants.get_mut(&tenant) else {
                continue;
            };
            turns.queued = false;
            // Callers whose waiting calls were all given up are skipped.
            while let Some(subject) = turns.subjects.pop_front() {
                let caller = Caller {
                    tenant: tenant.clone(),
                    subject,
                };
                let Some(account) = accounts.get_mut(&caller) else {
                    continue;
                };
                account.queued = false;
                let Some(waiter) = account.waiting.pop_front() else {
                    continue;
                };
                if !account.waiting.is_empty() {
                    account.queued = true;
                    turns.subjects.push_back(caller.subject);
                }
                *free -= 1;
                *waiting -= 1;
                *running += 1;
                // A waiter that is being given up returns the place itself
                // (see `Wait::drop`).
                let _ = waiter.grant.send(());
                break;
            }
            if !turns.subjects.is_empty() {
                turns.queued = true;
                ring.push_back(tenant);
            }
        }
    }

    fn prune(&mut self) {
        self.accounts.retain(|_, a| a.active > 0 || a.queued);
        self.tenants.retain(|_, t| t.queued);
        self.prune_at = (self.accounts.len() * 2).max(PRUNE_AT);
    }
}

/// A caller has as many calls running and waiting as it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Busy {
    /// The per-caller limit.
    pub(crate) limit: usize,
}

/// Counts for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AdmissionSnapshot {
    /// Calls admitted and not yet finished.
    pub running: usize,
    /// Calls waiting for a place.
    pub waiting: usize,
}

/// The places for running calls, and the calls waiting for one.
pub(crate) struct Admission {
    state: Mutex<State>,
    per_caller: usize,
    /// Told whenever a call starts waiting for a place.
    pressure: tokio::sync::Notify,
}

impl Admission {
    /// `places` calls may run at once; each caller may have `per_caller`
    /// running or waiting.
    pub(crate) fn new(places: usize, per_caller: usize) -> Self {
        Self {
            state: Mutex::new(State {
                free: places,
                running: 0,
                waiting: 0,
                accounts: HashMap::new(),
                tenants: HashMap::new(),
                ring: VecDeque::new(),
                next_ticket: 0,
                prune_at: PRUNE_AT,
            }),
            per_caller: per_caller.max(1),
            pressure: tokio::sync::Notify::new(),
        }
    }

    /// Resolves when calls are waiting for a place (at once if some are).
    pub(crate) async fn contended(&self) {
        loop {
            let notified = self.pressure.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            if self.lock().waiting > 0 {
                return;
            }
            notified.await;
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for a place for a call of `who`. Cancel-safe: a call given up
    /// while waiting leaves its queue (and a place granted to it in the
    /// meantime goes to the next caller).
    ///
    /// # Errors
    /// [`Busy`] when `who` already has as many calls running and waiting
    /// as it may.
    pub(crate) async fn admit(&self, who: &Principal) -> Result<Ticket<'_>, Busy> {
        let caller = Caller {
            tenant: who.tenant.clone(),
            subject: who.subject.clone(),
        };
        let (ticket, granted) = {
            let mut guard = self.lock();
            let state = &mut *guard;
            if state.accounts.len() >= state.prune_at {
                state.prune();
            }
            let account = state.accounts.entry(caller.clone()).or_default();
            if account.active >= self.per_caller {
                return Err(Busy {
                    limit: self.per_caller,
                });
            }
            account.active += 1;
            if state.free > 0 {
                // Nobody waits while a place is free: `grant` runs whenever
                // one frees up.
                state.free -= 1;
                state.running += 1;
                return Ok(Ticket::new(self, caller));
            }
            let ticket = state.next_ticket;
            state.next_ticket += 1;
            let (grant, granted) = oneshot::channel();
            account.waiting.push_back(Waiter { ticket, grant });
            state.waiting += 1;
            if !account.queued {
                account.queued = true;
                let turns = state.tenants.entry(caller.tenant.clone()).or_default();
                turns.subjects.push_back(caller.subject.clone());
                if !turns.queued {
                    turns.queued = true;
                    state.ring.push_back(caller.tenant.clone());
                }
            }
            (ticket, granted)
        };
        self.pressure.notify_waiters();
        let mut wait = Wait {
            admission: self,
            caller: Some(caller),
            ticket,
        };
        // The sender lives in the queue until it grants or the wait is
        // given up, so an error cannot happen; treat it as a refusal.
        granted.await.map_err(|_| Busy {
            limit: self.per_caller,
        })?;
        let caller = wait.caller.take().ok_or(Busy {
            limit: self.per_caller,
        })?;
        Ok(Ticket::new(self, caller))
    }

    /// Returns `n` places kept by finished calls (see
    /// [`Ticket::keep_place`]) and admits waiting calls.
    pub(crate) fn release(&self, n: usize) {
        let mut state = self.lock();
        state.free += n;
        state.grant();
    }

    /// Calls running and waiting.
    pub(crate) fn snapshot(&self) -> AdmissionSnapshot {
        let state = self.lock();
        AdmissionSnapshot {
            running: state.running,
            waiting: state.waiting,
        }
    }

    #[cfg(test)]
    pub(crate) fn free(&self) -> usize {
        self.lock().free
    }
}

/// A call waiting for a place; dropping it gives up the wait.
struct Wait<'a> {
    admission: &'a Admission,
    /// `None` once the place is taken.
    caller: Option<Caller>,
    ticket: u64,
}

impl Drop for Wait<'_> {
    fn drop(&mut self) {
        let Some(caller) = self.caller.take() else {
            return;
        };
        let mut guard = self.admission.lock();
        let state = &mut *guard;
        let account = state.accounts.get_mut(&caller);
        let position = account
            .as_ref()
            .and_then(|a| a.waiting.iter().position(|w| w.ticket == self.ticket));
        if let Some(account) = account {
            account.active = account.active.saturating_sub(1);
            if let Some(i) = position {
                account.waiting.remove(i);
                state.waiting -= 1;
                return;
            }
        }
        // Granted just before being given up: pass the place on.
        state.running = state.running.saturating_sub(1);
        state.free += 1;
        state.grant();
    }
}

/// A place for one running call; dropping it frees the place.
pub(crate) struct Ticket<'a> {
    admission: &'a Admission,
    caller: Caller,
    keep_place: bool,
}

impl<'a> Ticket<'a> {
    fn new(admission: &'a Admission, caller: Caller) -> Self {
        Self {
            admission,
            caller,
            keep_place: false,
        }
    }

    /// Ends the call but keeps its place taken, to be returned later with
    /// [`Admission::release`] (the call's store is dropped in a batch).
    /// The caller's count drops now.
    pub(crate) fn keep_place(mut self) {
        self.keep_place = true;
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        let mut state = self.admission.lock();
        if let Some(account) = state.accounts.get_mut(&self.caller) {
            account.active = account.active.saturating_sub(1);
        }
        state.running = state.running.saturating_sub(1);
        if !self.keep_place {
            state.free += 1;
            state.grant();
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use futures_util::FutureExt;
    use std::future::Future;
    use std::pin::Pin;

    fn who(tenant: &str, subject: &str) -> Principal {
        Principal {
            subject: Arc::from(subject),
            tenant: TenantId::new(tenant),
            scopes: Arc::from(Vec::new()),
        }
    }

    type Pending<'a> = Pin<Box<dyn Future<Output = Result<Ticket<'a>, Busy>> + 'a>>;

    /// Starts an admission and polls it once (joining its queue).
    fn start<'a>(a: &'a Admission, p: &'a Principal) -> Pending<'a> {
        let mut f: Pending<'a> = Box::pin(a.admit(p));
        assert!(f.as_mut().now_or_never().is_none(), "expected to wait");
        f
    }

    fn ready<'a>(f: &mut Pending<'a>) -> Option<Ticket<'a>> {
        f.as_mut().now_or_never().map(|r| r.unwrap())
    }

    #[test]
    fn waiting_calls_take_turns_across_callers_not_first_come_first_served() {
        let a = Admission::new(1, 100);
        let (alice, bob) = (who("t", "alice"), who("t", "bob"));
        let first = a.admit(&alice).now_or_never().unwrap().unwrap();
        let mut alices: Vec<_> = (0..3).map(|_| start(&a, &alice)).collect();
        let mut bobs = start(&a, &bob);
        assert_eq!(
            a.snapshot(),
            AdmissionSnapshot {
                running: 1,
                waiting: 4
            }
        );
        drop(first);
        let t = ready(&mut alices[0]).unwrap();
        assert!(ready(&mut bobs).is_none());
        drop(t);
        // Bob's one call goes before Alice's other two.
        let t = ready(&mut bobs).unwrap();
        assert!(ready(&mut alices[1]).is_none());
        drop(t);
        let t = ready(&mut alices[1]).unwrap();
        drop(t);
        let t = ready(&mut alices[2]).unwrap();
        drop(t);
        assert_eq!(a.snapshot(), AdmissionSnapshot::default());
        assert_eq!(a.free(), 1);
    }

    #[test]
    fn tenants_take_turns_before_their_callers_do() {
        let a = Admission::new(1, 100);
        let ps = [
            who("big", "a"),
            who("big", "b"),
            who("big", "c"),
            who("small", "d"),
        ];
        let first = a.admit(&ps[0]).now_or_never().unwrap().unwrap();
        let mut waiting: Vec<_> = ps.iter().map(|p| Some(start(&a, p))).collect();
        drop(first);
        let mut order = Vec::new();
        for _ in 0..4 {
            let i = (0..4)
                .find(|&i| {
                    let Some(f) = waiting[i].as_mut() else {
                        return false;
                    };
                    let t = ready(f);
                    t.is_some()
                })
                .unwrap();
            // Its ticket was dropped above, which admitted the next one.
            waiting[i] = None;
            order.push(&*ps[i].subject);
        }
        assert_eq!(order, ["a", "d", "b", "c"]);
    }

    #[test]
    fn a_caller_over_its_limit_is_refused_and_giving_up_a_wait_frees_its_count() {
        let a = Admission::new(1, 2);
        let (alice, bob) = (who("t", "alice"), who("t", "bob"));
        let running = a.admit(&alice).now_or_never().unwrap().unwrap();
        let queued = start(&a, &alice);
        assert_eq!(
            a.admit(&alice).now_or_never().unwrap().err(),
            Some(Busy { limit: 2 })
        );
        // Someone else is not affected by Alice's limit.
        let mut bob = start(&a, &bob);
        drop(queued);
        assert_eq!(a.snapshot().waiting, 1);
        // Alice may wait again; she keeps her place in the turn order,
        // which came before Bob's.
        let mut again = start(&a, &alice);
        drop(running);
        let t = ready(&mut again).unwrap();
        assert!(ready(&mut bob).is_none());
        drop(t);
        drop(ready(&mut bob).unwrap());
        assert_eq!(a.free(), 1);
        assert_eq!(a.snapshot(), AdmissionSnapshot::default());
    }

    #[test]
    fn a_place_granted_to_a_call_given_up_goes_to_the_next() {
        let a = Admission::new(1, 10);
        let (alice, bob) = (who("t", "alice"), who("t", "bob"));
        let running = a.admit(&alice).now_or_never().unwrap().unwrap();
        let gone = start(&a, &alice);
        let mut next = start(&a, &bob);
        drop(running);
        // Alice's waiter was granted the place but is dropped unpolled.
        drop(gone);
        drop(ready(&mut next).unwrap());
        assert_eq!(a.free(), 1);
        assert_eq!(a.snapshot(), AdmissionSnapshot::default());
    }

    #[test]
    fn a_kept_place_frees_the_caller_at_once_and_the_place_on_release() {
        let a = Admission::new(1, 1);
        let alice = who("t", "alice");
        a.admit(&alice)
            .now_or_never()
            .unwrap()
            .unwrap()
            .keep_place();
        // Alice may call again; the call waits for the kept place.
        let mut again = start(&a, &alice);
        a.release(1);
        drop(ready(&mut again).unwrap());
        assert_eq!(a.free(), 1);
    }

    #[test]
    fn idle_callers_are_forgotten() {
        let a = Admission::new(4, 10);
        for i in 0..(PRUNE_AT * 3) {
            drop(
                a.admit(&who("t", &i.to_string()))
                    .now_or_never()
                    .unwrap()
                    .unwrap(),
            );
        }
        assert!(a.lock().accounts.len() <= PRUNE_AT);
    }
}
