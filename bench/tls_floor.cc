#include "bench/tls_floor.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include "bench/relay.h"

namespace mnr::bench {

namespace {

bool ReadAll(SSL* ssl, std::size_t n) {
  char buf[16384];
  while (n > 0) {
    const int r = SSL_read(ssl, buf, static_cast<int>(std::min(n, sizeof buf)));
    if (r <= 0) return false;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

bool WriteAll(SSL* ssl, std::size_t n) {
  static const std::string block(16384, 'x');
  while (n > 0) {
    const int w = SSL_write(ssl, block.data(), static_cast<int>(std::min(n, block.size())));
    if (w <= 0) return false;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

}  // namespace

struct TlsFloorServer::Impl {
  SSL_CTX* server_ctx = nullptr;
  SSL_CTX* client_ctx = nullptr;
  int listen_fd = -1;
  int port = 0;
  std::atomic<std::size_t> payload{1};
  std::thread thread;

  void Serve() {
    for (;;) {
      const int fd = ::accept(listen_fd, nullptr, nullptr);
      if (fd < 0) return;
      NoDelay(fd);
      SSL* ssl = SSL_new(server_ctx);
      SSL_set_fd(ssl, fd);
      if (SSL_accept(ssl) == 1 && ReadAll(ssl, payload)) (void)WriteAll(ssl, 1);
      SSL_shutdown(ssl);
      SSL_free(ssl);
      ::close(fd);
    }
  }
};

namespace {

void Fail(const char* what) {
  ERR_print_errors_fp(stderr);
  throw std::runtime_error(std::string("tls floor: ") + what);
}

template <class Use>
void WithPem(const std::string& pem, Use use) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  use(bio);
  BIO_free(bio);
}

}  // namespace

TlsFloorServer::TlsFloorServer(const TlsFloorKeys& keys) : impl_(new Impl) {
  auto& s = *impl_;
  s.server_ctx = SSL_CTX_new(TLS_server_method());
  SSL_CTX_set_min_proto_version(s.server_ctx, TLS1_3_VERSION);
  if (SSL_CTX_use_certificate_chain_file(s.server_ctx, keys.server_cert_file.c_str()) != 1) Fail("server certificate");
  if (SSL_CTX_use_PrivateKey_file(s.server_ctx, keys.server_key_file.c_str(), SSL_FILETYPE_PEM) != 1) Fail("server key");
  if (SSL_CTX_load_verify_locations(s.server_ctx, keys.ca_file.c_str(), nullptr) != 1) Fail("server CA");
  SSL_CTX_set_verify(s.server_ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  // The floor is a bare mutual-auth handshake: no session tickets (OpenSSL sends two by default, about
  // 1.3 KB that no floor connection would use).
  SSL_CTX_set_num_tickets(s.server_ctx, 0);

  s.client_ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_min_proto_version(s.client_ctx, TLS1_3_VERSION);
  WithPem(keys.client_cert_pem, [&](BIO* b) {
    X509* x = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
    if (!x || SSL_CTX_use_certificate(s.client_ctx, x) != 1) Fail("client certificate");
    X509_free(x);
  });
  WithPem(keys.client_key_pem, [&](BIO* b) {
    EVP_PKEY* k = PEM_read_bio_PrivateKey(b, nullptr, nullptr, nullptr);
    if (!k || SSL_CTX_use_PrivateKey(s.client_ctx, k) != 1) Fail("client key");
    EVP_PKEY_free(k);
  });
  WithPem(keys.client_ca_pem, [&](BIO* b) {
    X509* x = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
    if (!x || X509_STORE_add_cert(SSL_CTX_get_cert_store(s.client_ctx), x) != 1) Fail("client CA");
    X509_free(x);
  });
  SSL_CTX_set_verify(s.client_ctx, SSL_VERIFY_PEER, nullptr);

  s.listen_fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (s.listen_fd < 0 || ::bind(s.listen_fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(s.listen_fd, 16) != 0 ||
      ::getsockname(s.listen_fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    Fail("listen");
  }
  s.port = ntohs(a.sin_port);
  s.thread = std::thread([&s] { s.Serve(); });
}

TlsFloorServer::~TlsFloorServer() {
  ::shutdown(impl_->listen_fd, SHUT_RDWR);
  impl_->thread.join();
  ::close(impl_->listen_fd);
  SSL_CTX_free(impl_->server_ctx);
  SSL_CTX_free(impl_->client_ctx);
  delete impl_;
}

int TlsFloorServer::port() const { return impl_->port; }

double TlsFloorServer::Exchange(int port, std::size_t payload) {
  payload = std::max<std::size_t>(payload, 1);
  impl_->payload = payload;
  const auto start = std::chrono::steady_clock::now();
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    if (fd >= 0) ::close(fd);
    return -1;
  }
  NoDelay(fd);
  SSL* ssl = SSL_new(impl_->client_ctx);
  SSL_set_fd(ssl, fd);
  bool ok = SSL_connect(ssl) == 1 && WriteAll(ssl, payload) && ReadAll(ssl, 1);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  SSL_shutdown(ssl);
  SSL_free(ssl);
  ::close(fd);
  return ok ? seconds : -1;
}

}  // namespace mnr::bench
