// End to end: evidence files attached offline travel to the real server over a link that is cut
// again and again, by USB in parts, once per file, and are refused when they break a limit.
#include <catch2/catch.hpp>

#include <filesystem>
#include <random>
#include <regex>
#include <thread>

#include "mnr/crypto.h"
#include "tests/e2e/cut_proxy.h"
#include "tests/e2e/sync_harness.h"

using namespace mnr::test;

namespace {

// A PDF the sniffer accepts, of `size` bytes, whose body is random (so zstd cannot shrink it).
std::string MakePdf(std::size_t size, unsigned seed) {
  std::mt19937 random(seed);
  std::string pdf = "%PDF-1.4\n";
  const std::string tail = "\n%%EOF\n";
  while (pdf.size() + tail.size() < size) pdf += static_cast<char>(random() & 0xff);
  return pdf + tail;
}

// Sum of "KEY=N" over the server's log lines.
long LoggedSum(const std::string& log, const std::string& key) {
  std::regex re(" " + key + "=([0-9]+)");
  long total = 0;
  for (auto it = std::sregex_iterator(log.begin(), log.end(), re); it != std::sregex_iterator(); ++it) total += std::stol((*it)[1]);
  return total;
}

std::string BlobPath(const SyncHarness& h, const std::string& hash) { return h.data() + "/blobs/" + hash.substr(0, 2) + "/" + hash; }

std::string Line(const std::string& out) { return out.substr(0, out.find('\n')); }

}  // namespace

TEST_CASE("A 10 MiB PDF attached offline arrives once and whole through a link cut many times, and a second device sends none of it") {
  SyncHarness h;
  const std::string a = h.NewFieldStore("office-a", {"Q01"});
#ifdef MNR_SANITIZED
  // Every sanitized sealing and opening of a chunk is slow; the release build moves the full 10 MiB.
  const std::string pdf = MakePdf(3u << 20, 14);
  std::uniform_int_distribution<std::size_t> cut_at(150 * 1024, 800 * 1024);
#else
  const std::string pdf = MakePdf(10u << 20, 14);
  std::uniform_int_distribution<std::size_t> cut_at(300 * 1024, 2500 * 1024);
#endif
  const std::string hash = mnr::crypto::Sha256Hex(pdf);
  WriteText(h.dir() / "national-strategy.pdf", pdf);
  auto attached = Ok(h.Client({"attach", "--db", a, "--country", "Q01", "--indicator", "c01_national_strategy",
                               h.dir() / "national-strategy.pdf", "--title", "National strategy 2024-2030"}));
  CHECK(Line(attached.out) == hash);
  CHECK(Contains(Ok(h.Client({"attachments", "list", "--db", a})).out, "waiting to be sent"));

  // Each attempt goes through a proxy that cuts the link after a random number of bytes from the client.
  std::mt19937 random(20261201);
  std::size_t sent = 0;
  int cuts = 0;
  bool done = false;
  for (int attempt = 0; attempt < 40 && !done; ++attempt) {
    CutProxy proxy(h.port(), cut_at(random));
    auto r = h.Client({"sync", "--db", a, "--server", "127.0.0.1:" + std::to_string(proxy.port()), "--retries", "0", "--timeout", "5"});
    sent += proxy.forwarded();
    INFO(r.err);
    if (proxy.cut()) {
      ++cuts;
      CHECK(r.exit_code == 3);
    } else {
      REQUIRE(r.exit_code == 0);
      done = true;
    }
  }
  REQUIRE(done);
  CHECK(cuts >= 4);
  // Every byte the client sent in all attempts, TLS and change-sets included, against the file.
  INFO("sent " << sent << " bytes in " << (cuts + 1) << " attempts for a file of " << pdf.size());
  CHECK(static_cast<double>(sent) <= 1.2 * static_cast<double>(pdf.size()));
  CHECK(ReadText(BlobPath(h, hash)) == pdf);
  CHECK_FALSE(std::filesystem::exists(h.data() + "/blobs/partial/" + hash));
  CHECK(Contains(Ok(h.Client({"attachments", "list", "--db", a})).out, "here and on the server"));

  // Another office device attaches the same file (from another copy) to another indicator: the server
  // already holds it, so no chunk is sent.
  const std::string b = h.NewFieldStore("office-b", {"Q01"});
  WriteText(h.dir() / "copy.pdf", pdf);
  Ok(h.Client({"attach", "--db", b, "--country", "Q01", "--indicator", "c01_governance_mechanism", h.dir() / "copy.pdf"}));
  const long chunks_before = LoggedSum(h.log(), "chunks");
  auto second = Ok(h.Sync(b));
  CHECK(Contains(second.out, "sent 1 file(s) (0 KiB)"));
  for (int i = 0; i < 100 && LoggedSum(h.log(), "pushed") < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(LoggedSum(h.log(), "chunks") == chunks_before);

  // A third device lists both attachments after a plain sync, with the files on the server only, and
  // brings them with --with-attachments; `attachments get` writes the same bytes.
  const std::string c = h.NewFieldStore("office-c", {"Q01"});
  Ok(h.Sync(c));
  auto listed = Ok(h.Client({"attachments", "list", "--db", c})).out;
  CHECK(Contains(listed, "on the server only"));
  CHECK(Contains(listed, "National strategy 2024-2030"));
  CHECK(Contains(listed, "copy.pdf"));
  auto brought = Ok(h.Client({"sync", "--db", c, "--server", h.address(), "--retries", "0", "--with-attachments"}));
  CHECK(Contains(brought.out, "received 1 file(s) (" + std::to_string(pdf.size() >> 10) + " KiB)"));
  auto not_hex = h.Client({"attachments", "get", "--db", c, hash.substr(0, 12) + "x", "--out", h.dir() / "bad.pdf"});
  CHECK(not_hex.exit_code == 1);
  CHECK(Contains(not_hex.err, "at least 8 hex digits"));
  auto ambiguous = h.Client({"attachments", "get", "--db", c, hash.substr(0, 12), "--out", h.dir() / "out.pdf"});
  CHECK(ambiguous.exit_code == 1);
  CHECK(Contains(ambiguous.err, "attached at 2 places"));
  Ok(h.Client({"attachments", "get", "--db", c, "attachment/Q01/indicator/c01_national_strategy/" + hash, "--out", h.dir() / "out.pdf"}));
  CHECK(ReadText(h.dir() / "out.pdf") == pdf);
}

TEST_CASE("Files over the server's size limit or a device's quota are refused with the reason, stay listed, and none is kept") {
  TempDir config_dir;
  WriteText(config_dir / "server.toml", "attachment_max_mib = 1\nattachment_device_quota_mib = 2\n");
  SyncHarness h({"--config", config_dir / "server.toml"});
  const std::string a = h.NewFieldStore("office-a", {"Q01"});

  // Refused on the device, before anything is recorded: a name that lies about the bytes, an unknown
  // indicator, a country outside the credential.
  WriteText(h.dir() / "scan.pdf", std::string("\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\0\x10\0\0\0\x10\x08\x02\0\0\0\x90\x91\x68\x36", 33) +
                                      std::string(64, 'x'));
  auto lying = h.Client({"attach", "--db", a, "--country", "Q01", "--indicator", "c11_child_helpline", h.dir() / "scan.pdf"});
  CHECK(lying.exit_code == 1);
  CHECK(Contains(lying.err, "scan.pdf"));
  CHECK(Contains(lying.err, "the name says PDF"));
  WriteText(h.dir() / "law.pdf", MakePdf(900 * 1024, 1));
  auto unknown = h.Client({"attach", "--db", a, "--country", "Q01", "--indicator", "c99_nothing", h.dir() / "law.pdf"});
  CHECK(unknown.exit_code == 1);
  CHECK(Contains(unknown.err, "no indicator 'c99_nothing'"));
  auto foreign = h.Client({"attach", "--db", a, "--country", "Q02", "--indicator", "c11_child_helpline", h.dir() / "law.pdf"});
  CHECK(foreign.exit_code == 1);
  CHECK(Contains(foreign.err, "outside this device's scope"));
  CHECK(Contains(h.Client({"attachments", "list", "--db", a}).err, "no attachments"));

  // Over the server's limit of 1 MiB: the edit is stored, the file is refused and waits on the device.
  const std::string big = MakePdf(1536 * 1024, 2);
  WriteText(h.dir() / "big.pdf", big);
  Ok(h.Client({"attach", "--db", a, "--country", "Q01", "--indicator", "c11_child_helpline", h.dir() / "big.pdf"}));
  auto refused = h.Sync(a);
  CHECK(refused.exit_code == 4);
  CHECK(Contains(refused.err, "this server takes attachments of at most 1.0 MiB"));
  CHECK(Contains(Ok(h.Client({"attachments", "list", "--db", a})).out, "refused by the server"));
  const std::string big_hash = mnr::crypto::Sha256Hex(big);
  CHECK_FALSE(std::filesystem::exists(BlobPath(h, big_hash)));
  CHECK(Contains(Ok(h.Client({"attachments", "show", "--db", a, big_hash.substr(0, 10)})).out, "at most 1.0 MiB"));
  Ok(h.Client({"attachments", "rm", "--db", a, big_hash.substr(0, 10)}));

  // The device quota of 2 MiB takes two files of 900 KiB, not a third.
  Ok(h.Client({"attach", "--db", a, "--country", "Q01", "--indicator", "c11_child_helpline", h.dir() / "law.pdf"}));
  CHECK(Contains(Ok(h.Sync(a)).out, "sent 1 file(s) (900 KiB)"));
  WriteText(h.dir() / "decree.pdf", MakePdf(900 * 1024, 3));
  Ok(h.Client({"attach", "--db", a, "--country", "Q01", "--indicator", "c12_reporting_hotline", h.dir() / "decree.pdf"}));
  Ok(h.Sync(a));
  const std::string third = MakePdf(900 * 1024, 4);
  WriteText(h.dir() / "report.pdf", third);
  Ok(h.Client({"attach", "--db", a, "--country", "Q01", "--indicator", "c01_national_strategy", h.dir() / "report.pdf"}));
  auto over = h.Sync(a);
  CHECK(over.exit_code == 4);
  CHECK(Contains(over.err, "past its attachment quota: it has sent 1.8 MiB of 2.0 MiB"));
  CHECK_FALSE(std::filesystem::exists(BlobPath(h, mnr::crypto::Sha256Hex(third))));
}

TEST_CASE("Attachments travel by USB in parts applied in any order, a removal merges, and a later sync sends nothing again") {
  SyncHarness h;
  const std::string a = h.NewFieldStore("office-a", {"Q01"});
  const std::string pdf = MakePdf(2560 * 1024, 7);
  const std::string hash = mnr::crypto::Sha256Hex(pdf);
  WriteText(h.dir() / "law.pdf", pdf);
  Ok(h.Client({"attach", "--db", a, "--country", "Q01", "--indicator", "c11_child_helpline", h.dir() / "law.pdf", "--title", "Helpline act"}));
  auto bundled = Ok(h.Client({"bundle", "--db", a, "--out", h.dir() / "stick.mnrb", "--max-size", "1M"}));
  CHECK(Contains(bundled.out, "in 3 part(s)"));
  for (const char* part : {"stick.mnrb", "stick-2.mnrb", "stick-3.mnrb"}) {
    INFO(part);
    CHECK(std::filesystem::file_size(h.dir() / part) <= 1u << 20);
  }
  CHECK_FALSE(std::filesystem::exists(h.dir() / "stick-4.mnrb"));

  // The last stick first: its chunks wait for the others.
  auto third = Ok(h.Server({"import-bundle", "--data", h.data(), h.dir() / "stick-3.mnrb"}));
  CHECK(Contains(third.out, "0 file(s) complete, 1 waiting"));
  auto first = Ok(h.Server({"import-bundle", "--data", h.data(), h.dir() / "stick.mnrb"}));
  CHECK(Contains(first.out, "already present"));
  CHECK(Contains(first.out, "0 file(s) complete, 1 waiting"));
  CHECK_FALSE(std::filesystem::exists(BlobPath(h, hash)));
  auto second = Ok(h.Server({"import-bundle", "--data", h.data(), h.dir() / "stick-2.mnrb"}));
  CHECK(Contains(second.out, "1 file(s) complete, 0 waiting"));
  CHECK(ReadText(BlobPath(h, hash)) == pdf);
  // The same stick again changes nothing.
  CHECK(Contains(Ok(h.Server({"import-bundle", "--data", h.data(), h.dir() / "stick-2.mnrb"})).out, "1 file(s) complete"));

  // Online later: the server holds the file, so the sync confirms it without sending a chunk.
  const long chunks_before = LoggedSum(h.log(), "chunks");
  auto synced = Ok(h.Sync(a));
  CHECK(Contains(synced.out, "(0 KiB)"));
  CHECK(Contains(Ok(h.Client({"attachments", "list", "--db", a})).out, "here and on the server"));
  CHECK(LoggedSum(h.log(), "chunks") == chunks_before);

  // An office that is never online gets the file in a return bundle, and opens it without a link.
  const std::string d = h.NewFieldStore("office-d", {"Q01"});
  auto returned = Ok(h.Server({"bundle", "--data", h.data(), "--country", "Q01", "--out", h.dir() / "back.mnrr", "--with-attachments"}));
  CHECK(Contains(returned.out, "1 file(s)"));
  auto imported = Ok(h.Client({"import-bundle", "--db", d, h.dir() / "back.mnrr"}));
  CHECK(Contains(imported.out, "1 attachment file(s)"));
  CHECK(Contains(Ok(h.Client({"attachments", "list", "--db", d})).out, "here and on the server"));
  Ok(h.Client({"attachments", "get", "--db", d, hash.substr(0, 8), "--out", h.dir() / "offline.pdf"}));
  CHECK(ReadText(h.dir() / "offline.pdf") == pdf);

  // A removal is an edit like any other: another device of the office no longer lists it.
  const std::string b = h.NewFieldStore("office-b", {"Q01"});
  Ok(h.Sync(b));
  CHECK(Contains(Ok(h.Client({"attachments", "list", "--db", b})).out, "Helpline act"));
  Ok(h.Client({"attachments", "rm", "--db", a, hash.substr(0, 8)}));
  Ok(h.Sync(a));
  Ok(h.Sync(b));
  CHECK(Contains(h.Client({"attachments", "list", "--db", b}).err, "no attachments"));
  auto log = Ok(h.Client({"log", "--db", b})).out;
  CHECK(Contains(log, "attachment/Q01/indicator/c11_child_helpline/" + hash));
}
