// Misbehaving peers against the real server: they are refused or dropped, and honest clients keep
// syncing meanwhile. The hostile side is written with raw Asio and OpenSSL so it can send what the
// real client never would.
#include <poll.h>

#include <catch2/catch.hpp>

#include <asio.hpp>
#include <asio/ssl.hpp>
#include <optional>

#include "mnr/credential.h"
#include "mnr/messages.h"
#include "tests/e2e/sync_harness.h"

using namespace mnr;
using namespace mnr::test;

namespace {

struct RawTls {
  asio::io_context io;
  asio::ssl::context ctx{asio::ssl::context::tls_client};
  std::optional<asio::ssl::stream<asio::ip::tcp::socket>> stream_;  // made after ctx is configured

  RawTls(const Credential& c, int port) {
    ctx.add_certificate_authority(asio::buffer(c.ca_certificate_pem));
    ctx.use_certificate_chain(asio::buffer(c.certificate_pem));
    ctx.use_private_key(asio::buffer(c.private_key_pem), asio::ssl::context::pem);
    ctx.set_verify_mode(asio::ssl::verify_peer);
    stream_.emplace(io, ctx);
    auto& stream = *stream_;
    stream.lowest_layer().connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
    stream.handshake(asio::ssl::stream_base::client);
  }
  void Send(const std::string& bytes) { asio::write(*stream_, asio::buffer(bytes)); }
  // Reads one frame; returns its type and payload, or type 0 if the server closed.
  std::pair<int, std::string> Read() {
    std::array<unsigned char, kFrameHeaderBytes> h{};
    asio::error_code ec;
    asio::read(*stream_, asio::buffer(h), ec);
    if (ec) return {0, ""};
    const std::uint32_t len = (std::uint32_t{h[1]} << 24) | (std::uint32_t{h[2]} << 16) | (std::uint32_t{h[3]} << 8) | h[4];
    std::string payload(len, '\0');
    asio::read(*stream_, asio::buffer(payload), ec);
    if (ec) return {0, ""};
    return {h[0], payload};
  }
  std::uint16_t ReadRefusalCode() {
    auto [type, payload] = Read();
    REQUIRE(type == static_cast<int>(MessageType::kRefused));
    auto r = DecodeMessage<Refused>(payload);
    REQUIRE(r.ok());
    return r->code;
  }
  bool ClosedByServer() { return Read().first == 0; }
};

Credential IssueRaw(SyncHarness& h, const std::string& name) {
  h.NewFieldStore(name, {"Q02"});
  auto c = LoadCredential(h.CredentialPath(name));
  REQUIRE(c.ok());
  return *c;
}

}  // namespace

TEST_CASE("Oversized and malformed frames are refused while an honest client keeps syncing") {
  SyncHarness h({"--timeout", "2"});
  const std::string honest = h.NewFieldStore("honest", {"Q01"});
  const Credential attacker = IssueRaw(h, "attacker");

  // A silent TCP connection holds a slot but must not block anyone; it is dropped at the deadline.
  asio::io_context io;
  asio::ip::tcp::socket silent(io);
  silent.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(h.port())});

  {
    RawTls t(attacker, h.port());
    // A header announcing 2 GiB: refused before a byte of payload is read.
    t.Send(std::string("\x01\x7f\xff\xff\xff", 5));
    CHECK(t.ReadRefusalCode() == static_cast<std::uint16_t>(RefusalCode::kProtocol));
    CHECK(t.ClosedByServer());
  }
  {
    RawTls t(attacker, h.port());
    // Anything but Hello first.
    t.Send(EncodeMessage(Pull{}));
    CHECK(t.ReadRefusalCode() == static_cast<std::uint16_t>(RefusalCode::kProtocol));
  }
  {
    RawTls t(attacker, h.port());
    Hello hello;
    hello.device_id = "raw-device";
    t.Send(EncodeMessage(hello));
    auto [type, payload] = t.Read();
    REQUIRE(type == static_cast<int>(MessageType::kWelcome));
    // A push whose sealed bytes are garbage: refused, and the session stays usable.
    t.Send(EncodeMessage(Push{"not a sealed change-set"}));
    CHECK(t.ReadRefusalCode() == static_cast<std::uint16_t>(RefusalCode::kBadChangeSet));
    // A Pull whose store id claims a length far beyond the frame.
    t.Send(EncodeFrame(MessageType::kPull, std::string("\x01\xff\xff\xff\xff\xff\xff\xff\x0f", 9)));
    CHECK(t.ReadRefusalCode() == static_cast<std::uint16_t>(RefusalCode::kProtocol));
  }
  {
    // Not TLS at all.
    asio::ip::tcp::socket junk(io);
    junk.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(h.port())});
    asio::write(junk, asio::buffer(std::string("GET / HTTP/1.1\r\nHost: x\r\n\r\n")));
    char buf[64];
    asio::error_code ec;
    junk.read_some(asio::buffer(buf), ec);
    CHECK(ec);  // closed: the server does not speak HTTP
  }

  REQUIRE(h.Client({"answer", "--db", honest, "Q01", "c11_child_helpline", "yes"}).exit_code == 0);
  auto s = h.Sync(honest);
  INFO(s.err);
  CHECK(s.exit_code == 0);
  CHECK(s.out.find("pushed 1 change-set") != std::string::npos);

  // The silent connection is closed at its deadline, 2 s after it connected: wait for that (at most
  // 10 s) rather than sleep past it.
  pollfd closed{silent.native_handle(), POLLIN, 0};
  REQUIRE(::poll(&closed, 1, 10'000) == 1);
  char byte;
  asio::error_code ec;
  silent.read_some(asio::buffer(&byte, 1), ec);
  CHECK(ec);
  CHECK(Contains(h.LogOnce("handshake-failed"), "handshake-failed"));
}
