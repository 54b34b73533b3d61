//! The rooms shared through Redis, against a real `redis-server` each test starts on a free port
//! of 127.0.0.1 (`scripts/dev test` installs Debian's): seats never overfill a room whatever the
//! instances do at once, roles always differ, dead instances' seats free themselves, and the
//! store survives its connections killed and Redis stopped and started again.

mod support {
    pub mod redis;
}

use loopback_server::shared::{Joined, SharedRooms, StoreError};
use loopback_signal::RoomName;
use std::collections::HashSet;
use std::time::{Duration, Instant};
use support::redis::Redis;

fn room(name: &str) -> RoomName {
    RoomName::try_from(name.to_owned()).unwrap()
}

/// A seat for connection 0 of `store`, with no name and a token of its own.
async fn join(
    store: &SharedRooms,
    room: &RoomName,
    wish: Option<bool>,
) -> Result<Joined, StoreError> {
    static TOKENS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let token = TOKENS
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        .to_string();
    store.join(room, 0, "", wish, &token).await
}

async fn instance(redis: &Redis, name: &str, size: usize, ttl: Duration) -> SharedRooms {
    SharedRooms::connect(&redis.url(), name.to_owned(), size, ttl)
        .await
        .unwrap()
}

/// Retries `step` until it stops failing as unreachable, for at most `within`.
async fn once_back<T, F, Fut>(within: Duration, mut step: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    let deadline = Instant::now() + within;
    loop {
        match step().await {
            Ok(value) => return value,
            Err(StoreError::Unreachable(e)) if Instant::now() < deadline => {
                eprintln!("not back yet: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("{e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn six_racing_into_a_room_of_four_across_three_instances_never_overfill_it() {
    let redis = Redis::start();
    let ttl = Duration::from_secs(30);
    let mut instances = Vec::new();
    for n in 0..3 {
        instances.push(instance(&redis, &format!("i{n}"), 4, ttl).await);
    }
    for round in 0..100 {
        let name = room(&format!("race-{round}"));
        let joins: Vec<_> = (0..6)
            .map(|client| {
                let store = instances[client % 3].clone();
                let name = name.clone();
                tokio::spawn(async move { join(&store, &name, None).await })
            })
            .collect();
        let mut seated = Vec::new();
        let mut full = 0;
        for join in joins {
            match join.await.unwrap().unwrap() {
                Joined::Seated { me, others, gone } => {
                    assert!(gone.is_empty());
                    seated.push((me, others));
                }
                Joined::Full { .. } => full += 1,
            }
        }
        assert_eq!((seated.len(), full), (4, 2), "round {round}");
        let ids: HashSet<_> = seated.iter().map(|(me, _)| me.peer).collect();
        let ranks: HashSet<_> = seated.iter().map(|(me, _)| me.rank).collect();
        assert_eq!(
            (ids.len(), ranks.len()),
            (4, 4),
            "round {round}: {seated:?}"
        );
        assert_eq!(ids, (1..=4).collect(), "peer ids in join order from 1");
        for (me, others) in &seated {
            for other in others {
                let other = &other.member;
                // The newcomer is polite toward everyone already there, who is its opposite.
                let polite = loopback_signal::polite(me.rank, other.rank);
                assert!(polite, "round {round}: {me:?} toward {other:?}");
                assert!(other.peer < me.peer && other.rank < me.rank);
                let theirs = seated.iter().find(|(m, _)| m.peer == other.peer).unwrap();
                assert_eq!(theirs.0, *other);
                assert_ne!(
                    loopback_signal::polite(me.rank, other.rank),
                    loopback_signal::polite(other.rank, me.rank)
                );
            }
            // Everyone already there when it joined: each earlier seat, no later one.
            assert_eq!(
                others.len(),
                seated.iter().filter(|(m, _)| m.peer < me.peer).count()
            );
        }
        let swept = instances[0].sweep(&name).await.unwrap();
        assert_eq!(swept.live.len(), 4);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_seats_wish_sets_the_roles_of_those_who_come() {
    let redis = Redis::start();
    let store = instance(&redis, "i", 6, Duration::from_secs(30)).await;
    let r = room("wish");
    let Joined::Seated { me: first, .. } = join(&store, &r, Some(true)).await.unwrap() else {
        panic!("a seat in an empty room");
    };
    // The first wished to be polite toward whoever comes: they come in below it, impolite.
    for _ in 0..2 {
        let Joined::Seated { me, others, .. } = join(&store, &r, Some(true)).await.unwrap() else {
            panic!("a later seat");
        };
        assert_eq!(others[0].member, first);
        assert!(!loopback_signal::polite(me.rank, first.rank));
        assert!(loopback_signal::polite(first.rank, me.rank));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_renewal_keeps_the_seats_of_many_rooms_and_only_its_own() {
    let redis = Redis::start();
    let ttl = Duration::from_millis(600);
    let here = instance(&redis, "here", 2, ttl).await;
    let there = instance(&redis, "there", 2, ttl).await;
    let (a, b) = (room("batch-a"), room("batch-b"));
    let mut seats = Vec::new();
    for r in [&a, &b, &a] {
        let Joined::Seated { me, .. } = join(&here, r, None).await.unwrap() else {
            panic!("a seat");
        };
        seats.push((r.clone(), me.peer, 0));
    }
    let Joined::Seated { me: theirs, .. } = join(&there, &b, None).await.unwrap() else {
        panic!("a seat of the other instance");
    };
    // Another instance's seat, and one under another connection, are not kept by this one.
    seats.push((b.clone(), theirs.peer, 0));
    seats.push((a.clone(), seats[0].1, 7));
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let kept = here.renew_many(&seats).await.unwrap();
        assert_eq!(kept, [true, true, true, false, false]);
        assert!(there.renew(&b, theirs.peer, 0).await.unwrap());
    }
    // Past the expiry, every seat renewed in the batch is still there.
    let live = |swept: loopback_server::shared::Swept| -> Vec<u64> {
        swept.live.iter().map(|m| m.peer).collect()
    };
    assert_eq!(live(here.sweep(&a).await.unwrap()).len(), 2);
    assert_eq!(live(here.sweep(&b).await.unwrap()).len(), 2);
    assert!(here.renew_many(&[]).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_instances_seats_free_themselves_within_their_expiry() {
    let redis = Redis::start();
    let ttl = Duration::from_millis(600);
    let dying = instance(&redis, "dying", 2, ttl).await;
    let other = instance(&redis, "other", 2, ttl).await;
    let r = room("expiry");
    let Joined::Seated { me, .. } = join(&dying, &r, None).await.unwrap() else {
        panic!("a seat");
    };
    let Joined::Seated { me: mine, .. } = join(&other, &r, None).await.unwrap() else {
        panic!("a second seat");
    };
    // Renewed, the seats stay past their expiry, and only its own instance renews each.
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(dying.renew(&r, me.peer, 0).await.unwrap());
        assert!(other.renew(&r, mine.peer, 0).await.unwrap());
    }
    assert!(!other.renew(&r, me.peer, 0).await.unwrap());
    assert!(!other.leave(&r, me.peer, 0).await.unwrap());
    assert!(matches!(
        join(&other, &r, None).await.unwrap(),
        Joined::Full { .. }
    ));
    // It stops renewing (as an instance killed with -9 would): within the expiry the seat is
    // gone (taken out by the other instance's sweep, or by the sweep each renewal makes).
    let stopped = Instant::now();
    loop {
        let swept = other.sweep(&r).await.unwrap();
        if swept.live == [mine] {
            break;
        }
        assert!(stopped.elapsed() < ttl + Duration::from_millis(400));
        assert!(other.renew(&r, mine.peer, 0).await.unwrap());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(stopped.elapsed() >= ttl - Duration::from_millis(250));
    assert!(other.sweep(&r).await.unwrap().gone.is_empty());
    assert!(!dying.renew(&r, me.peer, 0).await.unwrap());
    let Joined::Seated { me: newcomer, .. } = join(&other, &r, None).await.unwrap() else {
        panic!("the freed seat is taken");
    };
    assert_eq!(
        newcomer.peer, 3,
        "peer ids are never given twice while the room lives"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_left_empty_starts_again() {
    let redis = Redis::start();
    let store = instance(&redis, "i", 2, Duration::from_secs(30)).await;
    let r = room("again");
    for _ in 0..3 {
        let Joined::Seated { me, .. } = join(&store, &r, None).await.unwrap() else {
            panic!("a seat");
        };
        assert_eq!(me.peer, 1);
        assert!(store.leave(&r, me.peer, 0).await.unwrap());
        assert!(!store.leave(&r, me.peer, 0).await.unwrap(), "left once");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_killed_by_redis_lose_no_seat() {
    let redis = Redis::start();
    let store = instance(&redis, "i", 2, Duration::from_secs(30)).await;
    let r = room("killed");
    let Joined::Seated { me, .. } = join(&store, &r, None).await.unwrap() else {
        panic!("a seat");
    };
    for _ in 0..3 {
        let killed: i64 = redis::cmd("CLIENT")
            .arg(&["KILL", "TYPE", "normal", "SKIPME", "yes"])
            .query(&mut redis.admin())
            .unwrap();
        assert!(killed >= 1, "the store's connection was killed");
        let kept = once_back(Duration::from_secs(5), || store.renew(&r, me.peer, 0)).await;
        assert!(kept, "the seat outlived its instance's connection");
    }
    assert!(matches!(
        once_back(Duration::from_secs(5), || join(&store, &r, None)).await,
        Joined::Seated { .. }
    ));
    assert!(matches!(
        join(&store, &r, None).await.unwrap(),
        Joined::Full { .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_stopped_refuses_joins_in_words_and_started_again_serves_them() {
    let mut redis = Redis::start();
    let store = instance(&redis, "i", 2, Duration::from_secs(30)).await;
    let r = room("outage");
    assert!(store.reachable().await);
    redis.stop();
    let asked = Instant::now();
    match join(&store, &r, None).await {
        Err(e @ StoreError::Unreachable(_)) => {
            assert!(e.to_string().contains("no one can join until it is back"));
        }
        other => panic!("a join while Redis is stopped: {other:?}"),
    }
    assert!(
        asked.elapsed() < Duration::from_secs(10),
        "refused in {:?}",
        asked.elapsed()
    );
    assert!(!store.reachable().await);
    redis.run();
    assert!(matches!(
        once_back(Duration::from_secs(10), || join(&store, &r, None)).await,
        Joined::Seated { .. }
    ));
    assert!(store.reachable().await);
}
