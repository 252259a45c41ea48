//! Starting user agents against a fake server with short timers.

use parley_client::{Aor, UserAgent, UserAgentConfig};
use parley_net::resolve::ServerTarget;
use parley_sip::{TimerConfig, Transport};
use std::net::SocketAddr;
use std::time::Duration;

/// Timers a hundred times faster than RFC 3261's, so that timeouts take milliseconds.
pub fn fast_timers() -> TimerConfig {
    TimerConfig {
        t1: Duration::from_millis(20),
        t2: Duration::from_millis(80),
        t4: Duration::from_millis(100),
    }
}

pub fn udp(addr: SocketAddr) -> ServerTarget {
    ServerTarget {
        transport: Transport::Udp,
        addr,
    }
}

pub fn config(account: &str, password: &str, servers: Vec<ServerTarget>) -> UserAgentConfig {
    let mut config = UserAgentConfig::new(Aor::parse(account).unwrap(), password, servers);
    config.timers = fast_timers();
    config.response_timeout = config.timers.t1 * 64;
    config
}

pub async fn agent(account: &str, password: &str, server: SocketAddr) -> UserAgent {
    UserAgent::start(config(account, password, vec![udp(server)]))
        .await
        .unwrap()
}
