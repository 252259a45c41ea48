//! The event packages the server serves are advertised (`Allow-Events: presence,
//! presence.winfo` on the 200 to OPTIONS), and a SUBSCRIBE or PUBLISH addressed to the server
//! itself, which serves no package of its own, gets `489 Bad Event` with `Allow-Events`.

use crate::harness::{request, Setup, TestServer, UdpClient};
use crate::presence_util::header;
use parley_sip::HeaderName;

#[tokio::test]
async fn packages_are_advertised_and_others_refused() {
    let server = TestServer::start(Setup::with_users("example.com", &[])).await;
    let client = UdpClient::bind(server.udp()).await;

    let text = request("OPTIONS", &server.uri(), "UDP", client.addr(), "");
    let ok = client.request(&text).await.expect("an answer");
    assert_eq!(ok.status(), Some(200));
    assert_eq!(
        header(&ok, HeaderName::AllowEvents).as_deref(),
        Some("presence, presence.winfo")
    );

    for method in ["SUBSCRIBE", "PUBLISH"] {
        let extra = "Event: dialog\r\nContact: <sip:tester@127.0.0.1>\r\n";
        let text = request(method, &server.uri(), "UDP", client.addr(), extra);
        let refused = client.request(&text).await.expect("an answer");
        assert_eq!(refused.status(), Some(489), "{method}");
        assert_eq!(
            header(&refused, HeaderName::AllowEvents).as_deref(),
            Some("presence, presence.winfo")
        );
    }
}
