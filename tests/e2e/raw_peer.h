// A protocol peer written with raw Asio and OpenSSL for the audit and role tests: it speaks to the
// real server with any credential, and can send what the real client never would (a push from a
// coordinator, the same change-set twice). Header-only; used by audit_test.cc and roles_test.cc.
#pragma once

#include <catch2/catch.hpp>

#include <asio.hpp>
#include <asio/ssl.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "mnr/changeset.h"
#include "mnr/credential.h"
#include "mnr/envelope.h"
#include "mnr/field.h"
#include "mnr/hlc.h"
#include "mnr/messages.h"

namespace mnr::test {

class RawPeer {
 public:
  // Connects and completes the TLS handshake; `handshake_ok()` says whether the server accepted it.
  RawPeer(const Credential& c, int port) {
    ctx_.add_certificate_authority(asio::buffer(c.ca_certificate_pem));
    ctx_.use_certificate_chain(asio::buffer(c.certificate_pem));
    ctx_.use_private_key(asio::buffer(c.private_key_pem), asio::ssl::context::pem);
    ctx_.set_verify_mode(asio::ssl::verify_peer);
    stream_.emplace(io_, ctx_);
    asio::error_code ec;
    stream_->lowest_layer().connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)}, ec);
    if (!ec) stream_->handshake(asio::ssl::stream_base::client, ec);
    handshake_ok_ = !ec;
  }
  bool handshake_ok() const { return handshake_ok_; }

  void Send(const std::string& frame) {
    asio::error_code ec;
    asio::write(*stream_, asio::buffer(frame), ec);
  }
  // The next frame: its type and payload, or type 0 if the server closed (or TLS 1.3 refused the
  // certificate after the handshake, which the client only sees on its first read).
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

  // Hello as device `device_id`; the Welcome, or nullopt if refused or closed.
  std::optional<Welcome> Hello(const std::string& device_id) {
    mnr::Hello hello;
    hello.schema_version = 1;
    hello.device_id = device_id;
    Send(EncodeMessage(hello));
    auto [type, payload] = Read();
    if (type != static_cast<int>(MessageType::kWelcome)) return std::nullopt;
    auto w = DecodeMessage<Welcome>(payload);
    REQUIRE(w.ok());
    return *w;
  }

  // What one exchange came back as: a message type, and for a refusal its code and reason.
  struct Reply {
    int type = 0;
    std::uint16_t code = 0;
    std::string reason;
    std::string payload;
    bool refused(RefusalCode c) const { return type == static_cast<int>(MessageType::kRefused) && code == static_cast<std::uint16_t>(c); }
  };
  Reply Next() {
    Reply r;
    std::tie(r.type, r.payload) = Read();
    if (r.type == static_cast<int>(MessageType::kRefused)) {
      auto refused = DecodeMessage<Refused>(r.payload);
      REQUIRE(refused.ok());
      r.code = refused->code;
      r.reason = refused->reason;
    }
    return r;
  }
  Reply Push(const std::string& sealed) {
    Send(EncodeMessage(mnr::Push{sealed}));
    return Next();
  }
  // Pull from 0: the first reply (a chunk, the end, or a refusal).
  Reply Pull() {
    Send(EncodeMessage(mnr::Pull{"", 0}));
    return Next();
  }
  Reply Request(const std::string& operation, const nlohmann::json& args) {
    Send(EncodeMessage(mnr::Request{operation, args.dump()}));
    return Next();
  }

 private:
  asio::io_context io_;
  asio::ssl::context ctx_{asio::ssl::context::tls_client};
  std::optional<asio::ssl::stream<asio::ip::tcp::socket>> stream_;
  bool handshake_ok_ = false;
};

// A change-set of one answer, signed with `signer`'s key and sealed to the server, as a device does.
inline std::string SealedAnswer(const Credential& names, const Credential& signer, const std::string& device, std::uint64_t seq,
                                const std::string& country, const std::string& indicator, const std::string& answer,
                                std::uint64_t hlc_millis) {
  ChangeSet cs;
  cs.schema_version = 1;
  cs.device_id = device;
  cs.credential_id = names.id;
  cs.seq = seq;
  cs.created = HybridClock::Make(hlc_millis, 0);
  Operation op;
  op.field = AnswerField(country, indicator);
  op.new_value = answer;
  op.hlc = cs.created;
  op.author = device;
  cs.ops.push_back(op);
  auto sealed = SealChangeSet(SerializeChangeSet(cs), signer.private_key_pem, signer.sealing_public_key);
  REQUIRE(sealed.ok());
  return *sealed;
}

}  // namespace mnr::test
