//! An exhaustive, explicit-state model check of the HandleGuard protocol
//! (`capi/src/handle/mod.rs`): every interleaving of the protocol's atomic
//! steps, for small sets of threads that race `with` and `free` on one
//! handle, is explored and checked.
//!
//! What is modelled, step by step, against the real code:
//!
//! * `with`: (1) read the slot and, if it holds the object, take a
//!   reference on it in the same atomic step (the compare-and-swap that
//!   adds a borrow unless FREED is set), else stop with `HANDLE_FREED`;
//!   (2, 3) use the object over two separate steps, so frees land in the
//!   middle of an operation; a thread may also free the handle from inside
//!   its own operation between them (a callback freeing its parent); (5)
//!   give the reference back: decrement the count and drop the object if
//!   it reached zero.
//! * `free`: (1) empty the slot, taking its reference, and stop with
//!   `ALREADY_FREED` if the slot was already empty (FREED already set);
//!   (2) drop the reference, dropping the object if the count reached
//!   zero.
//!
//! The real code keeps no `Arc`: a handle's state word holds a FREED bit
//! and a count of borrows (`capi/src/handle/mod.rs`). The model's terms
//! map onto it exactly: the slot holds the object while FREED is clear;
//! the object's strong count is the borrows plus one while FREED is
//! clear; `with`'s load is the compare-and-swap that adds a borrow unless
//! FREED is set; its release is the subtraction that drops the object when
//! it leaves FREED with no borrow; `free`'s swap and release are one
//! `fetch_or` of FREED that drops the object when no borrow was held. That
//! one step is the model's free with its steps (1) and (2) run back to back,
//! one of the schedules the model explores, so the real protocol's
//! behaviours are a subset of those checked here.
//!
//! The model is sequentially consistent (interleavings, no weak-memory
//! reorderings) and treats the load, the swap and the decrement-and-test
//! as atomic steps, as the state word's single atomic instructions are.
//! The mutation tests at the end run the same checker on deliberately
//! broken protocols and require it to find each bug, so a pass is not
//! vacuous.

use std::collections::{BTreeMap, HashMap};

/// A status a modelled call returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Status {
    Ok,
    HandleFreed,
    AlreadyFreed,
}

/// Which protocol is checked: the real one has every flag set; each
/// mutation test clears one.
#[derive(Clone, Copy)]
struct Protocol {
    /// `with` holds a counted reference (a borrow in the count) rather than a bare
    /// borrow of the slot.
    op_takes_reference: bool,
    /// `free` empties the slot with one swap rather than a load followed by
    /// a store.
    free_is_rmw: bool,
    /// `free` empties the slot rather than taking its reference and
    /// leaving the pointer there.
    free_empties_slot: bool,
}

const REAL: Protocol = Protocol { op_takes_reference: true, free_is_rmw: true, free_empties_slot: true };

/// The handle's shared state: the shell and the inner object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Shared {
    /// Whether some free has taken the slot's reference (an observation of
    /// the model, not state of the protocol).
    freed: bool,
    /// Whether the slot still holds the object (FREED is clear).
    slot: bool,
    /// The object's strong count.
    strong: u8,
    /// How many times the object's destructor ran.
    drops: u8,
    /// Whether the last drop happened in an operation's guard release (an
    /// in-flight operation outlived the free and let go last).
    dropped_by_operation: bool,
    /// Whether some free has returned OK.
    free_returned: bool,
}

/// One `free` call's progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct FreeCall {
    pc: u8,
    /// Whether this call holds the reference it swapped out of the slot.
    taken: bool,
    result: Option<Status>,
}

const FREE_START: FreeCall = FreeCall { pc: 0, taken: false, result: None };

/// One `with` call's progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct OpCall {
    pc: u8,
    holds: bool,
    acquired: bool,
    started_after_free: bool,
    /// A free won while this operation was using the object.
    free_won_during_use: bool,
    /// The free this operation runs from inside itself, if it does.
    inner_free: Option<FreeCall>,
    result: Option<Status>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Thread {
    Op(OpCall),
    Free(FreeCall),
}

impl Thread {
    fn op() -> Thread {
        Thread::Op(OpCall {
            pc: 0,
            holds: false,
            acquired: false,
            started_after_free: false,
            free_won_during_use: false,
            inner_free: None,
            result: None,
        })
    }

    fn op_that_frees_inside() -> Thread {
        match Thread::op() {
            Thread::Op(call) => Thread::Op(OpCall { inner_free: Some(FREE_START), ..call }),
            free => free,
        }
    }

    fn done(&self) -> bool {
        match self {
            Thread::Op(call) => call.result.is_some(),
            Thread::Free(call) => call.result.is_some(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct State {
    shared: Shared,
    threads: Vec<Thread>,
}

/// Releases one reference; drops the object when it was the last.
fn release(shared: &mut Shared, by_operation: bool) -> Result<(), &'static str> {
    if shared.strong == 0 {
        return Err("a reference was released on an object with no references");
    }
    shared.strong -= 1;
    if shared.strong == 0 {
        shared.drops += 1;
        shared.dropped_by_operation = by_operation;
        if shared.drops > 1 {
            return Err("the inner object was dropped twice");
        }
    }
    Ok(())
}

/// Runs one atomic step of a free call.
fn step_free(p: Protocol, shared: &mut Shared, call: &mut FreeCall) -> Result<(), &'static str> {
    match call.pc {
        0 if p.free_is_rmw => {
            call.taken = shared.slot;
            if p.free_empties_slot {
                shared.slot = false;
            }
            if call.taken {
                shared.freed = true;
                call.pc = 2;
            } else {
                call.result = Some(Status::AlreadyFreed);
            }
        }
        0 => {
            if shared.slot {
                call.pc = 1;
            } else {
                call.result = Some(Status::AlreadyFreed);
            }
        }
        1 => {
            call.taken = true;
            if p.free_empties_slot {
                shared.slot = false;
            }
            shared.freed = true;
            call.pc = 2;
        }
        _ => {
            if call.taken {
                release(shared, false)?;
            }
            shared.free_returned = true;
            call.result = Some(Status::Ok);
        }
    }
    Ok(())
}

/// Runs one atomic step of an operation.
fn step_op(p: Protocol, shared: &mut Shared, call: &mut OpCall) -> Result<(), &'static str> {
    match call.pc {
        0 => {
            call.started_after_free = shared.free_returned;
            if !shared.slot {
                call.result = Some(Status::HandleFreed);
                return Ok(());
            }
            if shared.drops > 0 {
                return Err("an operation loaded an object that had been dropped");
            }
            if p.op_takes_reference {
                shared.strong += 1;
                call.holds = true;
            }
            call.acquired = true;
            call.pc = 1;
        }
        1 | 2 => {
            if shared.drops > 0 {
                return Err("an operation observed a dropped inner object");
            }
            call.free_won_during_use |= shared.freed;
            if call.pc == 1 {
                if let Some(inner) = call.inner_free.as_mut().filter(|inner| inner.result.is_none()) {
                    return step_free(p, shared, inner);
                }
            }
            call.pc += 1;
        }
        _ => {
            if call.holds {
                release(shared, true)?;
                call.holds = false;
            }
            call.result = Some(Status::Ok);
        }
    }
    Ok(())
}

fn step(p: Protocol, state: &State, thread: usize) -> Result<State, &'static str> {
    let mut next = state.clone();
    match &mut next.threads[thread] {
        Thread::Op(call) => step_op(p, &mut next.shared, call)?,
        Thread::Free(call) => step_free(p, &mut next.shared, call)?,
    }
    Ok(next)
}

/// The properties of a finished run.
fn check_final(state: &State) -> Result<(), &'static str> {
    let mut wins = 0;
    for thread in &state.threads {
        let frees = match thread {
            Thread::Free(call) => vec![call.result],
            Thread::Op(call) => {
                if call.acquired && call.result != Some(Status::Ok) {
                    return Err("an operation that entered did not complete with OK");
                }
                if call.started_after_free && call.result != Some(Status::HandleFreed) {
                    return Err("an operation that started after a free returned did not get HANDLE_FREED");
                }
                match call.inner_free {
                    Some(inner) if call.acquired => vec![inner.result],
                    _ => Vec::new(),
                }
            }
        };
        for result in frees {
            match result {
                Some(Status::Ok) => wins += 1,
                Some(Status::AlreadyFreed) => {}
                _ => return Err("a free returned something other than OK or ALREADY_FREED"),
            }
        }
    }
    if wins != 1 {
        return Err("not exactly one free won");
    }
    if state.shared.drops != 1 {
        return Err("the inner object was not dropped exactly once");
    }
    if state.shared.strong != 0 || state.shared.slot {
        return Err("a reference to the inner object outlived every call");
    }
    Ok(())
}

/// What an exhaustive exploration found.
#[derive(Debug, Default)]
struct Report {
    /// Distinct states reached.
    states: usize,
    /// Complete schedules (interleavings from start to finish).
    schedules: u128,
    /// Schedules in which a free won while an operation was using the object.
    free_during_use: u128,
    /// Schedules in which that operation, not the free, dropped the object.
    dropped_by_operation: u128,
}

struct Explorer {
    protocol: Protocol,
    /// For each state: the complete schedules from it, and of those, how
    /// many saw a free during use and how many ended dropped by an operation.
    memo: HashMap<State, (u128, u128, u128)>,
    path: Vec<usize>,
    /// Every distinct property broken, with the first schedule that broke it.
    violations: BTreeMap<&'static str, Vec<usize>>,
}

impl Explorer {
    fn violated(&mut self, what: &'static str) {
        self.violations.entry(what).or_insert_with(|| self.path.clone());
    }

    fn explore(&mut self, state: &State) -> (u128, u128, u128) {
        if let Some(&counts) = self.memo.get(state) {
            return counts;
        }
        let mut counts = (0, 0, 0);
        let mut any = false;
        for thread in 0..state.threads.len() {
            if state.threads[thread].done() {
                continue;
            }
            any = true;
            self.path.push(thread);
            match step(self.protocol, state, thread) {
                Ok(next) => {
                    let (all, during, by_op) = self.explore(&next);
                    counts = (counts.0 + all, counts.1 + during, counts.2 + by_op);
                }
                Err(what) => self.violated(what),
            }
            self.path.pop();
        }
        if !any {
            if let Err(what) = check_final(state) {
                self.violated(what);
            }
            let during = state.threads.iter().any(|t| matches!(t, Thread::Op(c) if c.free_won_during_use));
            counts = (1, u128::from(during), u128::from(during && state.shared.dropped_by_operation));
        }
        self.memo.insert(state.clone(), counts);
        counts
    }
}

/// Explores every schedule of `threads` under `protocol`: the report, or
/// every distinct property broken with the first schedule that broke it.
fn check(protocol: Protocol, threads: Vec<Thread>) -> Result<Report, BTreeMap<&'static str, Vec<usize>>> {
    let start = State {
        shared: Shared {
            freed: false,
            slot: true,
            strong: 1,
            drops: 0,
            dropped_by_operation: false,
            free_returned: false,
        },
        threads,
    };
    let mut explorer =
        Explorer { protocol, memo: HashMap::new(), path: Vec::new(), violations: BTreeMap::new() };
    let (schedules, free_during_use, dropped_by_operation) = explorer.explore(&start);
    if !explorer.violations.is_empty() {
        return Err(explorer.violations);
    }
    Ok(Report { states: explorer.memo.len(), schedules, free_during_use, dropped_by_operation })
}

fn frees(n: usize) -> impl Iterator<Item = Thread> {
    std::iter::repeat_n(Thread::Free(FREE_START), n)
}

fn ops(n: usize) -> impl Iterator<Item = Thread> {
    std::iter::repeat_n(Thread::op(), n)
}

/// Checks the real protocol and prints the figures docs/SECURITY.md quotes.
fn proves(name: &str, threads: Vec<Thread>) -> Report {
    let report = check(REAL, threads).unwrap_or_else(|broken| panic!("{name}: {broken:#?}"));
    println!(
        "{name}: {} states, {} schedules, {} with a free during use, {} of them dropped by the operation",
        report.states, report.schedules, report.free_during_use, report.dropped_by_operation
    );
    assert!(report.free_during_use > 0, "{name}: no schedule frees during an operation");
    assert!(report.dropped_by_operation > 0, "{name}: no schedule lets an operation drop last");
    report
}

#[test]
fn two_operations_and_two_frees() {
    proves("2 ops + 2 frees", ops(2).chain(frees(2)).collect());
}

#[test]
fn three_operations_and_two_frees() {
    proves("3 ops + 2 frees", ops(3).chain(frees(2)).collect());
}

#[test]
fn two_operations_and_three_frees() {
    proves("2 ops + 3 frees", ops(2).chain(frees(3)).collect());
}

#[test]
fn an_operation_that_frees_its_own_handle_races_an_operation_and_a_free() {
    let threads = vec![Thread::op_that_frees_inside(), Thread::op(), Thread::Free(FREE_START)];
    proves("1 op freeing inside + 1 op + 1 free", threads);
}

#[test]
fn two_operations_that_free_inside_race_each_other_and_a_free() {
    let threads =
        vec![Thread::op_that_frees_inside(), Thread::op_that_frees_inside(), Thread::Free(FREE_START)];
    proves("2 ops freeing inside + 1 free", threads);
}

/// The checker finds each of `expected` (and maybe more) in `protocol`.
fn finds(protocol: Protocol, expected: &[&str]) {
    let broken = check(protocol, ops(2).chain(frees(2)).collect())
        .expect_err("the checker must find the bug planted in this protocol");
    for what in expected {
        assert!(broken.contains_key(what), "{what:?} not among {broken:#?}");
    }
}

#[test]
fn mutation_a_bare_borrow_instead_of_a_guard_is_caught() {
    finds(Protocol { op_takes_reference: false, ..REAL }, &["an operation observed a dropped inner object"]);
}

#[test]
fn mutation_a_free_that_loads_then_empties_the_slot_is_caught() {
    // Two frees both find the object and both release the slot's one
    // reference: two frees win.
    finds(
        Protocol { free_is_rmw: false, ..REAL },
        &["a reference was released on an object with no references"],
    );
}

#[test]
fn mutation_a_free_that_leaves_the_slot_set_is_caught() {
    finds(
        Protocol { free_empties_slot: false, ..REAL },
        &[
            "an operation loaded an object that had been dropped",
            "a reference was released on an object with no references",
        ],
    );
}
