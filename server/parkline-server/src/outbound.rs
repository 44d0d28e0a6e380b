//! Where the server's own requests (webhook deliveries) may go: public addresses only, unless the
//! settings list a private range (a partner on the operator's own network). A partner's URL must never
//! reach the database, the cloud's metadata service or anything else beside the server.
//!
//! Checked twice: when an endpoint is registered, and at every send, where the HTTP client resolves
//! names through [`Outbound`] itself, so a name that later resolves elsewhere (DNS rebinding) is
//! refused at the moment of connecting. Address spellings (`2130706433`, `0x7f000001`, `127.1`) are
//! normalised by the URL parser before any check.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;

/// How long a registration waits for a name to resolve.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(3);

/// The address policy for outgoing requests.
#[derive(Debug, Clone, Default)]
pub struct Outbound {
    /// Private ranges the settings allow besides the public internet.
    allowed: Vec<IpNet>,
}

impl Outbound {
    /// The policy from `webhook_allow_private` (`CIDR[,CIDR...]`; empty: public addresses only).
    pub fn parse(list: Option<&str>) -> anyhow::Result<Outbound> {
        let allowed = list
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse().map_err(|_| anyhow::anyhow!("webhook_allow_private: {s:?} is not a CIDR range"))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Outbound { allowed })
    }

    /// Whether a request may go to `ip`.
    pub fn permits(&self, ip: IpAddr) -> bool {
        is_public(ip) || self.allowed.iter().any(|net| net.contains(&ip))
    }

    /// Why `url` may not be sent to, if it may not: an address literal is checked as it is, a name by
    /// every address it resolves to. A name that does not resolve now is let through; every send checks
    /// again.
    pub async fn refuses(&self, url: &reqwest::Url) -> Option<String> {
        let port = url.port_or_known_default().unwrap_or(443);
        let addrs: Vec<IpAddr> = match url.host()? {
            url::Host::Ipv4(ip) => vec![ip.into()],
            url::Host::Ipv6(ip) => vec![ip.into()],
            url::Host::Domain(name) => {
                match tokio::time::timeout(LOOKUP_TIMEOUT, tokio::net::lookup_host((name, port))).await {
                    Ok(Ok(found)) => found.map(|a| a.ip()).collect(),
                    _ => return None,
                }
            }
        };
        let refused = addrs.into_iter().find(|ip| !self.permits(*ip))?;
        Some(format!("{refused} is not a public address"))
    }
}

/// Name resolution for the webhook client: only permitted addresses are returned, so the connection
/// goes nowhere else whatever the name resolves to by then.
impl reqwest::dns::Resolve for Outbound {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.clone();
        Box::pin(async move {
            let found = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let permitted: Vec<SocketAddr> = found.filter(|a| policy.permits(a.ip())).collect();
            if permitted.is_empty() {
                return Err(format!("{} resolves to no public address", name.as_str()).into());
            }
            Ok(Box::new(permitted.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

impl Outbound {
    /// An HTTP client that connects only where this policy permits, and never through a proxy (a proxy
    /// would resolve names itself).
    pub fn client(&self, timeout: Duration) -> reqwest::Client {
        crate::http_client()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(self.clone()))
            .build()
            .expect("an HTTP client")
    }
}

/// Whether `ip` is on the public internet: not loopback, private, link-local, shared (carrier NAT),
/// documentation, benchmarking, multicast, broadcast or reserved; IPv4 inside IPv6 as its IPv4.
fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(v4.is_unspecified()
                || v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && c == 0)
                || (a == 198 && (18..20).contains(&b))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4() {
                return is_public(v4.into());
            }
            let s = v6.segments();
            !(v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] == 0x2001 && s[1] == 0x0db8)
                || (s[0] == 0x64 && s[1] == 0xff9b))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(url: &str) -> IpAddr {
        match reqwest::Url::parse(url).unwrap().host().unwrap() {
            url::Host::Ipv4(ip) => ip.into(),
            url::Host::Ipv6(ip) => ip.into(),
            url::Host::Domain(d) => panic!("{url} parsed as the name {d}"),
        }
    }

    #[test]
    fn internal_addresses_in_any_spelling_are_not_public() {
        for url in [
            "http://127.0.0.1:5432/",
            "http://169.254.169.254/latest/meta-data",
            "http://10.0.0.1/",
            "http://172.16.5.4/",
            "http://192.168.1.1/",
            "http://100.64.0.1/",
            "http://0.0.0.0/",
            "http://[::1]/",
            "http://[fd00::1]/",
            "http://[fe80::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://2130706433/",
            "http://0x7f000001/",
            "http://127.1/",
            "http://0177.0.0.1/",
        ] {
            assert!(!is_public(host(url)), "{url} counts as public");
        }
        for url in ["http://93.184.215.14/", "http://[2606:4700::1111]/", "http://8.8.8.8/"] {
            assert!(is_public(host(url)), "{url} counts as internal");
        }
    }

    #[test]
    fn a_listed_private_range_is_permitted_and_nothing_else() {
        let policy = Outbound::parse(Some("10.20.0.0/16, fd00::/8")).unwrap();
        assert!(policy.permits("10.20.3.4".parse().unwrap()));
        assert!(policy.permits("fd00::7".parse().unwrap()));
        assert!(!policy.permits("10.21.0.1".parse().unwrap()));
        assert!(!policy.permits("127.0.0.1".parse().unwrap()));
        assert!(Outbound::parse(Some("10.0.0.0/33")).is_err());
        assert!(Outbound::parse(Some("intranet")).is_err());
    }
}
