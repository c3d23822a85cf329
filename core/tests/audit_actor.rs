//! Proven versus claimed actors: a record says whether its actor proved
//! possession of its key, so nobody can be framed by a refusal that only
//! names them.

use std::sync::Arc;

use charter_core::audit::{AuditLog, AuditOptions, Decision, Query, Record, Recorder, Scope};
use charter_core::capability::{Authority, AuthorityOptions, Grant, KeyPair, ManualClock, Token};
use charter_core::ErrorKind;

fn with_actor(unproven: bool) -> Record {
    Record {
        actor: Some(KeyPair::generate().unwrap().principal()),
        actor_unproven: unproven,
        ..Record::new(5, "open_session", "r", Decision::Deny)
    }
}

#[test]
fn a_claimed_actor_is_flag_2_and_round_trips() {
    let proven = with_actor(false);
    let claimed = Record { actor_unproven: true, ..proven.clone() };
    let (p, c) = (proven.encode(3).unwrap(), claimed.encode(3).unwrap());
    // Byte 22 is the actor flag; nothing else differs.
    assert_eq!((p[22], c[22]), (1, 2));
    assert_eq!((&p[..22], &p[23..]), (&c[..22], &c[23..]));
    assert_eq!(Record::decode(&c).unwrap(), (3, claimed));
    assert_eq!(Record::decode(&p).unwrap(), (3, proven));
}

#[test]
fn records_written_before_the_flag_decode_as_proven() {
    // Record 1 of vectors/audit.json as committed before claimed actors
    // existed: version 1, actor flag 1.
    let old = "010000000000000001000001a3185c53e801fffffff601fe812c12f3ab4ce6ac5db69ac352f906cb1b11ef43fb33e252ef7ff552263889000973756273637269626500106f72646572732e312e63726561746564000764657461696c20";
    let bytes: Vec<u8> =
        (0..old.len()).step_by(2).map(|i| u8::from_str_radix(&old[i..i + 2], 16).unwrap()).collect();
    let (index, record) = Record::decode(&bytes).unwrap();
    assert_eq!((index, record.actor.is_some(), record.actor_unproven), (1, true, false));
    assert_eq!(record.encode(index).unwrap(), bytes, "and encode exactly as before");
}

#[test]
fn only_an_actor_can_be_unproven() {
    let nobody = Record { actor_unproven: true, ..Record::new(1, "a", "", Decision::Deny) };
    let e = nobody.encode(0).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.message().contains("unproven"), "{e}");
    let log = AuditLog::in_memory(AuditOptions::default()).unwrap();
    assert_eq!(log.append(&nobody).unwrap_err().kind(), ErrorKind::InvalidArgument);
    assert_eq!(log.len(), 0);
    // Flag 2 without the 32 actor bytes, and flag 3, are malformed.
    let mut leaf = Record::new(1, "a", "", Decision::Deny).encode(0).unwrap();
    leaf[22] = 2;
    assert_eq!(Record::decode(&leaf).unwrap_err().kind(), ErrorKind::Malformed);
    leaf[22] = 3;
    assert!(Record::decode(&leaf).unwrap_err().message().contains("expected 0, 1 or 2"));
}

struct Setup {
    log: AuditLog,
    authority: Authority,
    token: Token,
    holder: KeyPair,
}

fn setup(scope: Scope) -> Setup {
    let log = AuditLog::in_memory(AuditOptions::default()).unwrap();
    let root = KeyPair::generate().unwrap();
    let holder = KeyPair::generate().unwrap();
    let options = AuthorityOptions {
        clock: Arc::new(ManualClock::new(1_000)),
        recorder: Some(Recorder::new(log.clone(), scope)),
        ..AuthorityOptions::default()
    };
    let authority = Authority::new([root.public_key()], options);
    let token = Token::mint(&root, &holder.public_key(), &[Grant::parse("publish a").unwrap()], 1_000, 2_000)
        .unwrap();
    Setup { log, authority, token, holder }
}

#[test]
fn a_session_refused_for_want_of_proof_records_its_subject_as_unproven() {
    let s = setup(Scope::All);
    // Someone who has the token (anyone who saw it) but not the holder's
    // key tries to open a session as them.
    let challenge = s.authority.challenge().unwrap();
    let forged = [7u8; 64];
    let e = s.authority.open_session(&s.token, &challenge, &forged).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BadSignature);
    // A replayed or unknown challenge is refused before any proof, too.
    let e = s.authority.open_session(&s.token, &challenge, &forged).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Denied);
    // The holder then opens a session for real.
    let challenge = s.authority.challenge().unwrap();
    let proof = s.token.prove(&s.holder, &challenge).unwrap();
    s.authority.open_session(&s.token, &challenge, &proof).unwrap();

    let records: Vec<Record> = s.log.records(Query::all()).map(|r| r.unwrap().1).collect();
    let seen: Vec<(Decision, bool)> = records.iter().map(|r| (r.decision, r.actor_unproven)).collect();
    assert_eq!(seen, vec![(Decision::Deny, true), (Decision::Deny, true), (Decision::Allow, false)]);
    assert!(records.iter().all(|r| r.actor == Some(s.holder.principal())));
    // A query by principal finds both; the flag is what tells them apart.
    assert_eq!(s.log.records(Query::all().actor(s.holder.principal())).count(), 3);
}

#[test]
fn denials_only_scope_marks_refusals_unproven_too() {
    let s = setup(Scope::Denials);
    let challenge = s.authority.challenge().unwrap();
    let e = s.authority.open_session(&s.token, &challenge, &[0u8; 64]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BadSignature);
    let r = s.log.get(0).unwrap();
    assert_eq!((r.actor, r.actor_unproven, r.reason), (Some(s.holder.principal()), true, e.kind().code()));
    assert_eq!(s.log.len(), 1);
}
