// The floor under every sync: a bare TLS 1.3 mutual-auth handshake with the same certificates as the
// real client and server, then the payload one way and one byte back. No application protocol, no
// store, no process start (the bench adds a measured process start of its own).
#pragma once

#include <cstddef>
#include <string>

namespace mnr::bench {

struct TlsFloorKeys {
  std::string server_cert_file, server_key_file, ca_file;          // the server's data directory
  std::string client_cert_pem, client_key_pem, client_ca_pem;      // a field credential
};

class TlsFloorServer {
 public:
  // Listens on a free loopback port; each connection: handshake, read `payload` bytes, write one.
  explicit TlsFloorServer(const TlsFloorKeys& keys);
  ~TlsFloorServer();
  TlsFloorServer(const TlsFloorServer&) = delete;
  TlsFloorServer& operator=(const TlsFloorServer&) = delete;
  int port() const;
  // Connects to 127.0.0.1:port (this server, or a relay in front of it), does the handshake, sends
  // `payload` bytes (at least one) and waits for the reply byte. Returns the seconds taken, or a
  // negative number on failure.
  double Exchange(int port, std::size_t payload);

  struct Impl;

 private:
  Impl* impl_;
};

}  // namespace mnr::bench
