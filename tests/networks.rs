//! Calls across real networks, in the network lab (`tests/support/lab.rs`): two machines on one
//! LAN, one home behind a NAT, two homes behind symmetric NATs with and without TURN, loss, a
//! narrow uplink, outages, a new public address, a restarted signaling server, a group call of
//! three across a symmetric NAT with an outage, and "Check this machine" behind a symmetric NAT
//! with and without TURN, each scenario
//! (`tests/support/network.rs`) a test, with Chromium and Firefox on both sides across them.
//!
//! The lab needs root and network namespaces. Where it cannot be built, one line says why and
//! every scenario is reported as ignored, never as passed.

#[cfg(not(target_arch = "wasm32"))]
mod support;

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    scenarios::main()
}

// The browser suite (`wasm-pack test`) builds every test target for wasm32 too.
#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
mod scenarios {
    use super::support::lab::{Lab, Nat};
    use super::support::network::*;
    use super::support::Engine;
    use libtest_mimic::{Arguments, Trial};
    use std::future::Future;
    use std::time::Duration;

    pub fn main() -> std::process::ExitCode {
        let mut args = Arguments::from_args();
        // Two browsers, a server and coturn per scenario: one at a time on two cores.
        args.test_threads = Some(1);
        let unavailable = Lab::unavailable();
        if let Some(why) = &unavailable {
            println!("network lab skipped: {why}; its scenarios are reported as ignored");
        }
        let trial = |name: &str, test: fn() -> Result<(), libtest_mimic::Failed>| {
            Trial::test(name, test).with_ignored_flag(unavailable.is_some())
        };
        let trials = vec![
            trial("lan_firefox_to_firefox_direct_host_pair", || {
                run(lan(Engine::Firefox, Engine::Firefox))
            }),
            trial("lan_chromium_to_chromium_direct_host_pair", || {
                run(lan(Engine::Chromium, Engine::Chromium))
            }),
            trial("one_home_behind_a_nat_chromium_to_firefox_direct", || {
                run(one_home_behind_a_nat(Engine::Chromium, Engine::Firefox))
            }),
            trial("symmetric_nats_chromium_to_chromium_through_turn", || {
                run(symmetric_nats_through_turn(
                    Engine::Chromium,
                    Engine::Chromium,
                ))
            }),
            trial("symmetric_nats_firefox_to_chromium_through_turn", || {
                run(symmetric_nats_through_turn(
                    Engine::Firefox,
                    Engine::Chromium,
                ))
            }),
            trial(
                "symmetric_nats_without_turn_firefox_to_firefox_gives_up",
                || {
                    run(symmetric_nats_without_turn(
                        Engine::Firefox,
                        Engine::Firefox,
                    ))
                },
            ),
            trial("loss_5_percent_firefox_to_chromium_keeps_playing", || {
                run(loss(Engine::Firefox, Engine::Chromium))
            }),
            trial("narrow_uplink_chromium_to_firefox_adapts", || {
                run(narrow_uplink(Engine::Chromium, Engine::Firefox))
            }),
            trial("uplink_cut_10_s_firefox_to_chromium_comes_back", || {
                run(uplink_cut(
                    Engine::Firefox,
                    Engine::Chromium,
                    Duration::from_secs(10),
                ))
            }),
            trial(
                "uplink_cut_past_the_idle_timeout_chromium_to_chromium_resumes",
                || {
                    run(uplink_cut(
                        Engine::Chromium,
                        Engine::Chromium,
                        Duration::from_secs(25),
                    ))
                },
            ),
            trial("new_public_address_chromium_to_firefox_comes_back", || {
                run(new_public_address(Engine::Chromium, Engine::Firefox))
            }),
            trial("server_restart_firefox_to_chromium_keeps_the_call", || {
                run(server_restart(Engine::Firefox, Engine::Chromium))
            }),
            trial(
                "group_of_three_one_behind_a_symmetric_nat_relayed_and_an_outage_of_another",
                || {
                    run(group_of_three([
                        Engine::Firefox,
                        Engine::Chromium,
                        Engine::Chromium,
                    ]))
                },
            ),
            trial(
                "check_behind_a_symmetric_nat_without_turn_in_chromium",
                || run(check_behind_a_nat(Engine::Chromium, Nat::Symmetric, false)),
            ),
            trial(
                "check_behind_a_symmetric_nat_without_turn_in_firefox",
                || run(check_behind_a_nat(Engine::Firefox, Nat::Symmetric, false)),
            ),
            trial("check_behind_a_symmetric_nat_with_turn_in_chromium", || {
                run(check_behind_a_nat(Engine::Chromium, Nat::Symmetric, true))
            }),
            trial("check_behind_a_symmetric_nat_with_turn_in_firefox", || {
                run(check_behind_a_nat(Engine::Firefox, Nat::Symmetric, true))
            }),
            trial(
                "check_behind_a_home_router_without_turn_in_chromium",
                || {
                    run(check_behind_a_nat(
                        Engine::Chromium,
                        Nat::PortPreserving,
                        false,
                    ))
                },
            ),
            trial("check_behind_a_home_router_without_turn_in_firefox", || {
                run(check_behind_a_nat(
                    Engine::Firefox,
                    Nat::PortPreserving,
                    false,
                ))
            }),
        ];
        libtest_mimic::run(&args, trials).exit_code()
    }

    /// Runs one scenario on a runtime of its own; a panic is the test's failure.
    fn run<T>(scenario: impl Future<Output = T>) -> Result<(), libtest_mimic::Failed> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("a runtime: {e}"))?
            .block_on(scenario);
        Ok(())
    }
}
