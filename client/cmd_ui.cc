// `mnr-client ui`: the local web app. A small HTTP server (cpp-httplib, Debian's libcpp-httplib-dev:
// a well-kept header-only library, so no hand-written HTTP parser) bound to 127.0.0.1 only, serving
// assets compiled into the binary (client/ui/) and a JSON API over the same store functions and remote
// operations the other subcommands use. Nothing leaves the machine except what `sync`, `bundle` and the
// coordinators' remote operations already send over mutual TLS.
//
// Who may talk to it: a browser holding this run's random token (in the printed URL; kept as an
// HttpOnly SameSite=Strict cookie after the first request, and sent as X-MNR-Token by the page), with
// a Host header naming this loopback address (DNS rebinding gets 403), and for writes only from the
// page itself (Origin and Sec-Fetch-Site checked, and the token header required: a cookie alone, which
// a cross-site form could carry, is not enough).
//
// Attachments (mnr/attachment.h): the page posts a file's bytes as they are and reads the store's
// answer; an attached file is served back with the type sniffed from its bytes, as a sandboxed document
// of no origin, so that a hostile PDF or image can never script this app.
#include <openssl/crypto.h>
#include <spawn.h>
#include <sys/wait.h>

#include <httplib.h>

#include <atomic>
#include <charconv>
#include <ctime>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "client/client_store.h"
#include "client/cmd_common.h"
#include "client/commands.h"
#include "client/field_conflicts.h"
#include "client/file_transfer.h"
#include "client/json_fields.h"
#include "client/receipts.h"
#include "client/release_sync.h"
#include "client/server_link.h"
#include "mnr/audit_format.h"
#include "mnr/crypto.h"
#include "mnr/csv.h"
#include "mnr/describe.h"
#include "mnr/limits.h"
#include "mnr/media_type.h"
#include "mnr/wall_clock.h"

extern char** environ;

namespace mnr::embedded {
std::string_view ui_index_html();
std::string_view ui_app_js();
std::string_view ui_app_css();
std::string_view ui_i18n_json();
}  // namespace mnr::embedded

namespace mnr::client {
namespace {

constexpr const char* kUiProgram = "mnr-client ui";
constexpr std::size_t kMaxRequestBytes = 256 * 1024;  // a practice text is at most 16 KiB; JSON around it
// The bytes of one attachment, and nothing else: the store's own limit (the server's, as last heard)
// is checked on Content-Length before the body is read; this bounds a body sent without one.
constexpr std::size_t kMaxUploadBytes = limits::kAttachmentBytes + kMaxRequestBytes;
constexpr std::uint64_t kDefaultUploadLimit = 20ull << 20;  // the store's limit before any sync
constexpr std::size_t kMaxFileNameBytes = 255;
constexpr std::chrono::seconds kFetchTimeout{30};
// An attachment is shown as a sandboxed document: no script, no origin, nothing loaded from elsewhere.
constexpr const char* kAttachmentPolicy = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'";
constexpr int kMaxAuditPages = 20;
using json = nlohmann::json;

bool SameSecret(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string CookieValue(const std::string& header, const std::string& name) {
  std::size_t pos = 0;
  while (pos < header.size()) {
    std::size_t end = header.find(';', pos);
    if (end == std::string::npos) end = header.size();
    std::string part = header.substr(pos, end - pos);
    const auto first = part.find_first_not_of(' ');
    part = first == std::string::npos ? "" : part.substr(first);
    if (part.rfind(name + "=", 0) == 0) return part.substr(name.size() + 1);
    pos = end + 1;
  }
  return "";
}

int HttpStatusOf(const Status& s) {
  switch (s.code()) {
    case Status::Code::kInvalidArgument:
    case Status::Code::kNotFound:
    case Status::Code::kAlreadyExists:
      return 400;
    case Status::Code::kRefused:
    case Status::Code::kPermissionDenied:
      return 409;
    case Status::Code::kUnavailable:
      return 502;
    default:
      return 500;
  }
}

void SendJson(httplib::Response& res, const json& j, int status = 200) {
  res.status = status;
  res.set_content(j.dump(-1, ' ', false, json::error_handler_t::replace), "application/json; charset=utf-8");
}

void SendError(httplib::Response& res, const Status& s) {
  SendJson(res, {{"error", s.message()}}, HttpStatusOf(s));
}

void Forbid(httplib::Response& res, const std::string& why) {
  res.status = 403;
  res.set_content("403 forbidden: " + why + "\n", "text/plain; charset=utf-8");
}

// The body of a write as a JSON object, or InvalidArgument.
Result<json> Body(const httplib::Request& req) {
  if (req.body.size() > kMaxRequestBytes) return Status::InvalidArgument("the request body is larger than " + std::to_string(kMaxRequestBytes) + " bytes");
  json j = json::parse(req.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::InvalidArgument("the request body is not a JSON object");
  return j;
}

json LabelJson(const Label& l) { return {{"en", l.en}, {"fr", l.fr}}; }

json SchemaJson(const SurveySchema& s) {
  json out = {{"version", s.version()}, {"domains", json::array()}, {"capabilities", json::array()}, {"indicators", json::array()}};
  for (const auto& d : s.domains()) out["domains"].push_back({{"id", d.id}, {"label", LabelJson(d.label)}});
  for (const auto& c : s.capabilities()) {
    out["capabilities"].push_back({{"id", c.id}, {"domain", c.domain}, {"label", LabelJson(c.label)}, {"guidance", LabelJson(c.guidance)}});
  }
  for (const auto& i : s.indicators()) {
    out["indicators"].push_back({{"id", i.id}, {"capability", i.capability}, {"label", LabelJson(i.label)}, {"guidance", LabelJson(i.guidance)}});
  }
  return out;
}

std::optional<std::string> OptString(const json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? std::optional<std::string>(j[key].get<std::string>()) : std::nullopt;
}

// Adds "shown" to each candidate of conflict `c`: its value as `conflicts show` words it, in full.
void DescribeCandidates(json& c) {
  const std::string field = StringField(c, "field");
  if (!c.contains("candidates") || !c["candidates"].is_array()) return;
  for (auto& cand : c["candidates"]) cand["shown"] = DescribeValue(field, OptString(cand, "value"), 0);
}

// The conflicts this store keeps (field_conflicts.h), each with whether this device's edit lost and
// the sentence `status` prints for it.
Result<json> StoredConflictsJson(ClientStore& store) {
  json out = json::array();
  auto st = store.db().Prepare("SELECT body FROM conflicts ORDER BY id");
  if (!st.ok()) return st.status();
  for (;;) {
    auto row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    json c = json::parse(st->Text(0), nullptr, false);
    if (c.is_discarded() || !c.is_object()) continue;
    bool lost = false;
    auto line = DescribeConflictFor(c, store.identity().device_id, &lost);
    c["mine"] = line.has_value();
    c["lost"] = lost;
    c["line"] = line.value_or("");
    DescribeCandidates(c);
    out.push_back(std::move(c));
  }
  return out;
}

// The latest release's rows (indicator, group, counts) and the register rows of this store's
// countries, for the page's charts.
Result<json> ReleaseJson(ClientStore& store) {
  auto release = FindStoredRelease(store, std::nullopt);
  if (!release.ok()) return release.status();
  if (!*release) return json(nullptr);
  auto records = ParseCsv((*release)->csv, "release " + (*release)->label);
  if (!records.ok()) return records.status();
  json rows = json::array();
  if (!records->empty()) {
    const auto& header = records->front().fields;
    for (std::size_t i = 1; i < records->size(); ++i) {
      json row = json::object();
      const auto& f = (*records)[i].fields;
      for (std::size_t c = 0; c < header.size() && c < f.size(); ++c) row[header[c]] = f[c];
      rows.push_back(std::move(row));
    }
  }
  json groups = json::object();
  auto st = store.db().Prepare("SELECT code, income_group FROM release_scope ORDER BY code");
  if (st.ok()) {
    for (;;) {
      auto row = st->Step();
      if (!row.ok() || !*row) break;
      groups[st->Text(0)] = st->Text(1);
    }
  }
  return json{{"label", (*release)->label}, {"received_at", (*release)->received_at}, {"rows", rows}, {"income_groups", groups}};
}

// Where an attachment's file is (app.js words it): arriving or only on the server (opening it fetches
// it), or whole here and then refused by the server, on the server too, or waiting for the next sync.
const char* UiFileWhere(const AttachmentRow& a) {
  if (a.held < a.value.size) return a.held == 0 ? "server_only" : "arriving";
  if (!a.refusal.empty()) return "refused";
  return a.uploaded ? "both" : "waiting";
}

json UiAttachmentJson(const AttachmentRow& a) {
  return {{"field", a.field}, {"country", a.country}, {"target", a.target}, {"target_id", a.target_id},
          {"hash", a.hash}, {"title", a.value.title}, {"media_type", a.value.media_type}, {"size", a.value.size},
          {"held", a.held}, {"where", UiFileWhere(a)}, {"refusal", a.refusal}, {"file_name", a.file_name}};
}

// The largest file ClientStore::Attach takes now (ClientStore::AttachmentLimit), never above
// limits::kAttachmentBytes.
std::uint64_t UiUploadLimit(ClientStore& s) {
  auto limit = s.AttachmentLimit();
  return std::min<std::uint64_t>(limit.ok() ? *limit : kDefaultUploadLimit, limits::kAttachmentBytes);
}

std::string UiMiB(std::uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return text;
}

// `inline`, named after the file it was attached from (or its title) with the extension of its type:
// an ASCII name for old browsers and the exact one as RFC 5987 UTF-8.
std::string UiContentDisposition(const AttachmentRow& a, const MediaType& type) {
  std::string name = a.file_name.empty() ? a.value.title : a.file_name;
  const std::string ext = "." + type.extension;
  std::string lower = name;
  for (char& c : lower) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  if (lower.size() < ext.size() || lower.compare(lower.size() - ext.size(), ext.size(), ext) != 0) name += ext;
  std::string ascii, encoded;
  for (const unsigned char c : name) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
    ascii += plain || c == ' ' ? static_cast<char>(c) : '_';
    if (plain) {
      encoded += static_cast<char>(c);
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", c);
      encoded += hex;
    }
  }
  return "inline; filename=\"" + ascii + "\"; filename*=UTF-8''" + encoded;
}

// An attachment's row and its whole file.
struct UiFile {
  AttachmentRow row;
  std::string bytes;
};

// What a sync run in the background last did, for the page to poll.
struct SyncRun {
  bool running = false;
  bool done = false;
  int exit_code = 0;
  std::string result;               // the sentence `status` shows (ClientStore::RecordSync)
  std::vector<std::string> news;    // conflict news, as `sync` prints it
  int lost = 0;                     // of those, this device's edits that lost
  std::int64_t finished_at = 0;
};

class UiServer {
 public:
  UiServer(std::string db, std::string token) : db_(std::move(db)), token_(std::move(token)) {}
  ~UiServer() {
    if (sync_thread_.joinable()) sync_thread_.join();
  }

  Status Start(int port) {
    server_.set_payload_max_length(kMaxUploadBytes);
    server_.set_read_timeout(10, 0);
    server_.set_write_timeout(10, 0);
    server_.set_keep_alive_max_count(100);
    server_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) { return Guard(req, res); });
    server_.set_post_routing_handler([](const httplib::Request&, httplib::Response& res) {
      // An attachment carries its own policy, a sandbox (kAttachmentPolicy).
      if (!res.has_header("Content-Security-Policy")) {
        res.set_header("Content-Security-Policy",
                       "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
                       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
      }
      res.set_header("X-Content-Type-Options", "nosniff");
      res.set_header("Referrer-Policy", "no-referrer");
      res.set_header("Cache-Control", "no-store");
    });
    Routes();
    if (port == 0) {
      port_ = server_.bind_to_any_port("127.0.0.1");
      if (port_ < 0) return Status::Unavailable("could not listen on 127.0.0.1");
    } else {
      if (!server_.bind_to_port("127.0.0.1", port)) {
        return Status::Unavailable("could not listen on 127.0.0.1:" + std::to_string(port) + " (in use? try another --port)");
      }
      port_ = port;
    }
    return Status::OK();
  }
  int port() const { return port_; }
  bool Listen() { return server_.listen_after_bind(); }

 private:
  std::string Origin(const std::string& host) const { return "http://" + host + ":" + std::to_string(port_); }

  // Refuses before routing: wrong Host, no token, or a write from anywhere but the page.
  httplib::Server::HandlerResponse Guard(const httplib::Request& req, httplib::Response& res) {
    using R = httplib::Server::HandlerResponse;
    const std::string host = req.get_header_value("Host");
    if (host != "127.0.0.1:" + std::to_string(port_) && host != "localhost:" + std::to_string(port_)) {
      Forbid(res, "this server answers only to 127.0.0.1:" + std::to_string(port_));
      return R::Handled;
    }
    const std::string header = req.get_header_value("X-MNR-Token");
    const bool by_header = SameSecret(header, token_);
    const bool by_query = req.has_param("token") && SameSecret(req.get_param_value("token"), token_);
    const bool by_cookie = SameSecret(CookieValue(req.get_header_value("Cookie"), "mnr_ui"), token_);
    if (!by_header && !by_query && !by_cookie) {
      Forbid(res, "open the address `mnr-client ui` printed (it carries this run's token)");
      return R::Handled;
    }
    if (req.method != "GET" && req.method != "HEAD") {
      const std::string origin = req.get_header_value("Origin");
      const std::string site = req.get_header_value("Sec-Fetch-Site");
      if (!by_header || (!origin.empty() && origin != Origin("127.0.0.1") && origin != Origin("localhost")) ||
          (!site.empty() && site != "same-origin")) {
        Forbid(res, "writes are accepted only from this app's own page");
        return R::Handled;
      }
      // A body larger than the route takes is refused before it is read; the connection is closed
      // rather than drained.
      const std::string length_text = req.get_header_value("Content-Length");
      std::uint64_t length = 0;
      (void)std::from_chars(length_text.data(), length_text.data() + length_text.size(), length);
      const bool upload = req.path == "/api/attach";
      const std::uint64_t cap = upload ? UploadLimit() : kMaxRequestBytes;
      if (length > cap) {
        res.set_header("Connection", "close");
        SendJson(res, {{"error", upload ? "the file is " + UiMiB(length) + "; the server takes attachments of at most " + UiMiB(cap)
                                        : "the request body is larger than " + std::to_string(kMaxRequestBytes) + " bytes"}},
                 413);
        return R::Handled;
      }
    }
    return R::Unhandled;
  }

  std::uint64_t UploadLimit() {
    std::lock_guard<std::mutex> lock(store_mu_);
    auto store = ClientStore::Open(db_);
    return store.ok() ? UiUploadLimit(**store) : kDefaultUploadLimit;
  }

  // Attachment `ref` (its field) and its whole file, fetched from the server first when this store does
  // not hold it yet, as `attachments get` does. The link is not opened under store_mu_.
  Result<UiFile> AttachmentFile(const std::string& ref) {
    AttachmentRow row;
    {
      std::lock_guard<std::mutex> lock(store_mu_);
      auto store = ClientStore::Open(db_);
      if (!store.ok()) return store.status();
      auto a = (*store)->FindAttachment(ref);
      if (!a.ok()) return a.status();
      row = std::move(a).value();
      if (row.held < row.value.size && !(*store)->identity().credential) {
        return Status::NotFound("the file is not in this store, and the store has no credential to fetch it with");
      }
    }
    if (row.held < row.value.size) {
      auto store = ClientStore::Open(db_);
      if (!store.ok()) return store.status();
      if (Status s = FetchFileNow(**store, row, kFetchTimeout); !s.ok()) {
        return s.With("fetching \"" + row.value.title + "\" from the server");
      }
    }
    std::lock_guard<std::mutex> lock(store_mu_);
    auto store = ClientStore::Open(db_);
    if (!store.ok()) return store.status();
    auto a = (*store)->FindAttachment(row.field);
    if (!a.ok()) return a.status();
    auto bytes = (*store)->ReadAttachmentFile(a->hash);
    if (!bytes.ok()) return bytes.status();
    return UiFile{std::move(a).value(), std::move(bytes).value()};
  }

  // Runs `fn(store)` on a freshly opened store; local reads and writes are serialized here.
  template <typename Fn>
  void WithStore(httplib::Response& res, Fn fn) {
    std::lock_guard<std::mutex> lock(store_mu_);
    auto store = ClientStore::Open(db_);
    if (!store.ok()) return SendError(res, store.status());
    fn(**store);
  }

  // One remote operation (server/remote_ops.h) through this store's credential, like the CLI's
  // coordinator and auditor commands. Not under store_mu_: it may wait on the network.
  Result<json> Remote(const std::string& operation, const json& args) {
    auto store = ClientStore::Open(db_);
    if (!store.ok()) return store.status();
    auto link = LinkOptionsFor(**store, std::nullopt, std::chrono::seconds(30));
    if (!link.ok()) return link.status();
    return CallServer(**store, *link, operation, args);
  }

  void RemoteRoute(httplib::Response& res, const std::string& operation, const json& args) {
    auto out = Remote(operation, args);
    if (!out.ok()) return SendError(res, out.status());
    SendJson(res, *out);
  }

  json StateJson(ClientStore& s, Status& error) {
    const Identity& id = s.identity();
    json out;
    out["role"] = id.credential ? std::string(RoleName(id.credential->role)) : "none";
    out["device_name"] = id.device_name;
    out["credential_name"] = id.credential ? id.credential->name : "";
    out["server"] = id.credential ? id.credential->server_address : "";
    out["store"] = db_;
    out["schema"] = SchemaJson(s.schema());
    json countries = json::array();
    auto reg = s.Countries();
    if (!reg.ok()) {
      error = reg.status();
      return {};
    }
    for (const auto& code : id.countries) {
      json c = {{"code", code}, {"name", code}, {"income_group", ""}};
      for (const auto& r : *reg) {
        if (r.code == code) c = {{"code", code}, {"name", r.name}, {"income_group", r.income_group}};
      }
      countries.push_back(c);
    }
    out["countries"] = countries;
    json answers = json::object(), unanswered = json::object();
    for (const auto& code : id.countries) {
      answers[code] = json::object();
      auto un = s.Unanswered(code);
      if (!un.ok()) {
        error = un.status();
        return {};
      }
      unanswered[code] = *un;
    }
    auto rows = s.Answers();
    if (!rows.ok()) {
      error = rows.status();
      return {};
    }
    for (const auto& a : *rows) {
      answers[a.country][a.indicator] = {{"answer", AnswerName(a.value.answer)}, {"note", a.value.note}};
    }
    out["answers"] = answers;
    out["unanswered"] = unanswered;
    json practices = json::array();
    auto ps = s.Practices();
    if (!ps.ok()) {
      error = ps.status();
      return {};
    }
    for (const auto& p : *ps) {
      practices.push_back({{"id", p.id}, {"country", p.country}, {"capability", p.capability}, {"kind", p.kind},
                           {"title", p.title}, {"text", p.text}, {"lang", p.lang}});
    }
    out["practices"] = practices;
    json attachments = json::array();
    auto files = s.Attachments();
    if (!files.ok()) {
      error = files.status();
      return {};
    }
    for (const auto& a : *files) attachments.push_back(UiAttachmentJson(a));
    out["attachments"] = attachments;
    out["attachment_limit"] = UiUploadLimit(s);
    json reviews = json::object();
    auto book = s.Reviews();
    if (!book.ok()) {
      error = book.status();
      return {};
    }
    for (const auto& [country, r] : book->countries()) {
      json queries = json::array();
      for (const auto& [qid, q] : r.queries) {
        queries.push_back({{"id", qid}, {"indicator", q.question.indicator}, {"text", q.question.text},
                           {"reply", q.reply ? json(*q.reply) : json(nullptr)}, {"open", q.open()}});
      }
      json rj = {{"state", ReviewStateName(r.state())}, {"queries", queries}};
      if (r.decision) rj["comment"] = r.decision->comment;
      reviews[country] = rj;
    }
    out["reviews"] = reviews;
    auto conflicts = StoredConflictsJson(s);
    if (!conflicts.ok()) {
      error = conflicts.status();
      return {};
    }
    out["conflicts"] = *conflicts;
    auto state = s.State();
    if (!state.ok()) {
      error = state.status();
      return {};
    }
    out["sync"] = {{"unsynced", state->unsynced_edits}, {"outbox_unacked", state->outbox_unacked},
                   {"last_sync_at", state->last_sync_at ? json(*state->last_sync_at) : json(nullptr)},
                   {"last_sync_result", state->last_sync_result}};
    auto release = ReleaseJson(s);
    out["release"] = release.ok() ? *release : json(nullptr);
    return out;
  }

  void Routes() {
    server_.Get("/", [this](const httplib::Request& req, httplib::Response& res) {
      if (req.has_param("token")) {
        // Keep the token out of the address bar and history from here on.
        res.set_header("Set-Cookie", "mnr_ui=" + token_ + "; Path=/; HttpOnly; SameSite=Strict");
        res.set_redirect("/", 303);
        return;
      }
      std::string page(embedded::ui_index_html());
      const std::string mark = "@TOKEN@";
      if (auto at = page.find(mark); at != std::string::npos) page.replace(at, mark.size(), token_);
      res.set_content(page, "text/html; charset=utf-8");
    });
    server_.Get("/app.js", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(embedded::ui_app_js()), "text/javascript; charset=utf-8");
    });
    server_.Get("/app.css", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(embedded::ui_app_css()), "text/css; charset=utf-8");
    });
    server_.Get("/i18n.json", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(embedded::ui_i18n_json()), "application/json; charset=utf-8");
    });

    server_.Get("/api/state", [this](const httplib::Request&, httplib::Response& res) {
      WithStore(res, [&](ClientStore& s) {
        Status error = Status::OK();
        json out = StateJson(s, error);
        if (!error.ok()) return SendError(res, error);
        std::lock_guard<std::mutex> lock(sync_mu_);
        out["sync"]["running"] = sync_.running;
        SendJson(res, out);
      });
    });

    server_.Post("/api/answer", [this](const httplib::Request& req, httplib::Response& res) {
      auto body = Body(req);
      if (!body.ok()) return SendError(res, body.status());
      AnswerEdit edit{StringField(*body, "country"), StringField(*body, "indicator"), std::nullopt};
      const std::string word = StringField(*body, "answer");
      if (!word.empty()) {
        auto a = ParseAnswer(word);
        if (!a) return SendError(res, Status::InvalidArgument("answer \"" + OneLine(word, 20) + "\" is not one of yes, partial, no, unknown"));
        edit.value = AnswerValue{*a, StringField(*body, "note")};
      }
      WithStore(res, [&](ClientStore& s) {
        // As `mnr-client answer`: answering is an assertion now, recorded even when unchanged.
        auto n = s.ReaffirmAnswers({edit});
        if (!n.ok()) return SendError(res, n.status());
        auto un = s.Unanswered(edit.country);
        if (!un.ok()) return SendError(res, un.status());
        SendJson(res, {{"recorded", *n}, {"unanswered", *un}});
      });
    });

    server_.Post("/api/practice", [this](const httplib::Request& req, httplib::Response& res) {
      auto body = Body(req);
      if (!body.ok()) return SendError(res, body.status());
      const std::string action = StringField(*body, "action");
      WithStore(res, [&](ClientStore& s) {
        if (action == "add") {
          PracticeEntry e;
          e.country = StringField(*body, "country");
          e.capability = body->value("capability", 0);
          e.kind = StringField(*body, "kind");
          e.title = StringField(*body, "title");
          e.text = StringField(*body, "text");
          e.lang = StringField(*body, "lang");
          auto id = s.AddPractice(e);
          if (!id.ok()) return SendError(res, id.status());
          return SendJson(res, {{"id", *id}});
        }
        if (action == "edit") {
          std::map<std::string, std::string> attrs;
          for (const char* a : {"kind", "title", "text", "lang"}) {
            if (body->contains(a)) attrs[a] = StringField(*body, a);
          }
          if (body->contains("capability")) attrs["capability"] = std::to_string(body->value("capability", 0));
          Status st = s.EditPractice(StringField(*body, "id"), attrs);
          if (!st.ok()) return SendError(res, st);
          return SendJson(res, {{"id", StringField(*body, "id")}});
        }
        if (action == "remove") {
          Status st = s.RemovePractice(StringField(*body, "id"));
          if (!st.ok()) return SendError(res, st);
          return SendJson(res, {{"removed", StringField(*body, "id")}});
        }
        SendError(res, Status::InvalidArgument("action must be add, edit or remove"));
      });
    });

    // Attaches a file: its bytes are the body, as they are; where it goes is in the query: country,
    // target (indicator, the default, or practice), id, name (the file's own name: its extension must
    // not lie about its type) and title (empty: the name).
    server_.Post("/api/attach", [this](const httplib::Request& req, httplib::Response& res) {
      if (req.get_header_value("Content-Type") != "application/octet-stream") {
        return SendError(res, Status::InvalidArgument("send the file's bytes as application/octet-stream"));
      }
      const std::string name = req.get_param_value("name");
      if (name.empty()) return SendError(res, Status::InvalidArgument("choose a file to attach"));
      if (name.size() > kMaxFileNameBytes) {
        return SendError(res, Status::InvalidArgument("the file's name is longer than " + std::to_string(kMaxFileNameBytes) + " bytes"));
      }
      const std::string target = req.has_param("target") ? req.get_param_value("target") : "indicator";
      WithStore(res, [&](ClientStore& s) {
        auto a = s.Attach(req.get_param_value("country"), target, req.get_param_value("id"), req.body, name,
                          req.get_param_value("title"));
        if (!a.ok()) return SendError(res, a.status());
        SendJson(res, {{"attachment", UiAttachmentJson(*a)}});
      });
    });
    // remove: a tombstone, as `attachments rm`; fetch: brings the file from the server now, so that the
    // page can say why when it cannot.
    server_.Post("/api/attachments", [this](const httplib::Request& req, httplib::Response& res) {
      auto body = Body(req);
      if (!body.ok()) return SendError(res, body.status());
      const std::string action = StringField(*body, "action");
      const std::string field = StringField(*body, "field");
      if (action == "fetch") {
        auto file = AttachmentFile(field);
        if (!file.ok()) return SendError(res, file.status());
        return SendJson(res, {{"attachment", UiAttachmentJson(file->row)}});
      }
      if (action != "remove") return SendError(res, Status::InvalidArgument("action must be remove or fetch"));
      WithStore(res, [&](ClientStore& s) {
        auto a = s.FindAttachment(field);
        if (!a.ok()) return SendError(res, a.status());
        Status st = s.RemoveAttachment(a->field);
        if (!st.ok()) return SendError(res, st);
        SendJson(res, {{"removed", a->field}});
      });
    });
    // The file itself, typed by its bytes (never by its name), as a sandboxed document: a hostile one
    // runs no script and has no origin, so it cannot reach this app or its token.
    server_.Get("/api/attachment", [this](const httplib::Request& req, httplib::Response& res) {
      auto file = AttachmentFile(req.get_param_value("field"));
      if (!file.ok()) return SendError(res, file.status());
      auto type = SniffMediaType(file->bytes, "");
      if (!type.ok()) return SendError(res, type.status().With("the stored file " + file->row.hash.substr(0, 12)));
      res.set_header("Content-Disposition", UiContentDisposition(file->row, *type));
      res.set_header("Content-Security-Policy", kAttachmentPolicy);
      res.set_header("Cross-Origin-Resource-Policy", "same-origin");
      res.set_content(file->bytes, type->mime == "text/plain" ? "text/plain; charset=utf-8" : type->mime);
    });

    server_.Post("/api/submit", [this](const httplib::Request& req, httplib::Response& res) {
      auto body = Body(req);
      if (!body.ok()) return SendError(res, body.status());
      WithStore(res, [&](ClientStore& s) {
        Status st = s.Submit(StringField(*body, "country"));
        if (!st.ok()) return SendError(res, st);
        SendJson(res, {{"submitted", StringField(*body, "country")}});
      });
    });

    server_.Post("/api/reply", [this](const httplib::Request& req, httplib::Response& res) {
      auto body = Body(req);
      if (!body.ok()) return SendError(res, body.status());
      WithStore(res, [&](ClientStore& s) {
        Status st = s.Reply(StringField(*body, "query"), StringField(*body, "text"));
        if (!st.ok()) return SendError(res, st);
        SendJson(res, {{"replied", StringField(*body, "query")}});
      });
    });

    server_.Post("/api/sync", [this](const httplib::Request&, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(sync_mu_);
      if (sync_.running) return SendJson(res, {{"running", true}});
      if (sync_thread_.joinable()) sync_thread_.join();
      sync_ = SyncRun{};
      sync_.running = true;
      sync_thread_ = std::thread([this] { RunSync(); });
      SendJson(res, {{"running", true}});
    });
    server_.Get("/api/sync", [this](const httplib::Request&, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(sync_mu_);
      SendJson(res, {{"running", sync_.running}, {"done", sync_.done}, {"exit", sync_.exit_code}, {"result", sync_.result},
                     {"news", sync_.news}, {"lost", sync_.lost}, {"finished_at", sync_.finished_at}});
    });

    server_.Post("/api/bundle", [this](const httplib::Request& req, httplib::Response& res) {
      auto body = Body(req);
      if (!body.ok()) return SendError(res, body.status());
      const std::string out = StringField(*body, "path");
      if (out.empty()) return SendError(res, Status::InvalidArgument("give the file to write the bundle to"));
      std::lock_guard<std::mutex> lock(store_mu_);
      // The same command as `mnr-client bundle`; what it would print is the page's answer.
      std::ostringstream said;
      std::lock_guard<std::mutex> io(io_mu_);
      auto* old_out = std::cout.rdbuf(said.rdbuf());
      auto* old_err = std::cerr.rdbuf(said.rdbuf());
      const int rc = BundleCommand({"--db", db_, "--out", out});
      std::cout.rdbuf(old_out);
      std::cerr.rdbuf(old_err);
      SendJson(res, {{"ok", rc == 0}, {"message", said.str()}}, rc == 0 ? 200 : 400);
    });

    // Coordinators and auditors: the server's views, through the remote operations.
    server_.Get("/api/overview", [this](const httplib::Request&, httplib::Response& res) {
      RemoteRoute(res, "status.overview", json::object());
    });
    server_.Get("/api/conflicts", [this](const httplib::Request& req, httplib::Response& res) {
      auto out = Remote("conflicts.list", {{"all", req.has_param("all")}});
      if (!out.ok()) return SendError(res, out.status());
      if (out->is_array()) {
        for (auto& c : *out) DescribeCandidates(c);
      }
      SendJson(res, *out);
    });
    server_.Post("/api/resolve", [this](const httplib::Request& req, httplib::Response& res) {
      auto body = Body(req);
      if (!body.ok()) return SendError(res, body.status());
      json call = {{"id", body->value("id", std::int64_t{0})}, {"reason", StringField(*body, "reason")}};
      if (body->contains("pick")) {
        call["pick"] = body->value("pick", std::int64_t{0});
      } else if (body->contains("value")) {
        call["value"] = (*body)["value"];
        if (body->contains("note")) call["note"] = StringField(*body, "note");
      } else {
        return SendError(res, Status::InvalidArgument("pick a candidate or give a new value"));
      }
      if (StringField(*body, "reason").empty()) return SendError(res, Status::InvalidArgument("give the reason for the resolution"));
      RemoteRoute(res, "conflicts.resolve", call);
    });
    server_.Post("/api/review", [this](const httplib::Request& req, httplib::Response& res) {
      auto body = Body(req);
      if (!body.ok()) return SendError(res, body.status());
      const std::string action = StringField(*body, "action");
      if (action != "approve" && action != "return") return SendError(res, Status::InvalidArgument("action must be approve or return"));
      json call = {{"country", StringField(*body, "country")}, {"comment", StringField(*body, "comment")}};
      if (action == "return") {
        call["indicators"] = body->contains("indicators") ? (*body)["indicators"] : json::array();
        if (body->contains("comments")) call["comments"] = (*body)["comments"];
      }
      RemoteRoute(res, action == "approve" ? "review.approve" : "review.return", call);
    });
    // The receipts this store holds, each checked here (CheckReceipt) against the store's own CA.
    server_.Get("/api/receipts", [this](const httplib::Request&, httplib::Response& res) {
      WithStore(res, [&](ClientStore& s) {
        auto receipts = LoadReceipts(s);
        if (!receipts.ok()) return SendError(res, receipts.status());
        const auto& credential = s.identity().credential;
        json failed = json::array();
        std::size_t verified = 0;
        json newest = nullptr;
        for (const auto& r : *receipts) {
          Status ok = credential ? CheckReceipt(r, credential->ca_certificate_pem)
                                 : Status::InvalidArgument("this store is not bound to a credential, so it has no CA to check receipts with");
          if (ok.ok()) {
            ++verified;
          } else {
            failed.push_back({{"outbox_seq", r.outbox_seq}, {"error", ok.message()}});
          }
          if (newest.is_null() || r.tree_size > newest["tree_size"].get<std::uint64_t>()) {
            newest = {{"tree_size", r.tree_size}, {"signed_at", r.signed_at}};
          }
        }
        SendJson(res, {{"count", receipts->size()}, {"verified", verified}, {"failed", failed}, {"newest", newest}});
      });
    });
    // One entry's proof, checked here against the CA of this store's credential (audit::CheckEntryProof):
    // the page shows what this process verified, not what the server claims.
    server_.Get("/api/audit/proof", [this](const httplib::Request& req, httplib::Response& res) {
      const std::string text = req.has_param("index") ? req.get_param_value("index") : "";
      std::uint64_t index = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), index);
      if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
        return SendError(res, Status::InvalidArgument("index must be an entry number"));
      }
      std::string ca;
      {
        std::lock_guard<std::mutex> lock(store_mu_);
        auto store = ClientStore::Open(db_);
        if (!store.ok()) return SendError(res, store.status());
        if (!(*store)->identity().credential) return SendError(res, Status::InvalidArgument("this store is not bound to a credential"));
        ca = (*store)->identity().credential->ca_certificate_pem;
      }
      auto answer = Remote("audit.proof", {{"index", index}});
      if (!answer.ok()) return SendError(res, answer.status());
      auto proved = audit::CheckEntryProof(*answer, ca);
      if (!proved.ok()) return SendJson(res, {{"index", index}, {"proved", false}, {"error", proved.status().message()}});
      SendJson(res, {{"index", index},
                     {"proved", true},
                     {"tree_size", proved->tree_size},
                     {"root", proved->root},
                     {"head_signed_at", proved->head_timestamp}});
    });
    server_.Get("/api/audit", [this](const httplib::Request& req, httplib::Response& res) {
      json args = json::object();
      for (const char* key : {"country", "indicator", "device"}) {
        if (req.has_param(key) && !req.get_param_value(key).empty()) args[key] = req.get_param_value(key);
      }
      json records = json::array();
      std::uint64_t from = 0;
      bool more = false;
      for (int page = 0; page < kMaxAuditPages; ++page) {
        json call = args;
        call["from"] = from;
        auto answer = Remote("audit.log", call);
        if (!answer.ok()) return SendError(res, answer.status());
        if (answer->contains("records") && (*answer)["records"].is_array()) {
          for (auto& r : (*answer)["records"]) {
            if (r.contains("field") && (r.contains("old_value") || r.contains("new_value"))) {
              r["change"] = DescribeChange(StringField(r, "field"), OptString(r, "old_value"), OptString(r, "new_value"));
            }
            r["line"] = DescribeHistoryRecord(r, false);
            records.push_back(r);
          }
        }
        if (!answer->contains("next") || !(*answer)["next"].is_number_unsigned()) break;
        const auto next = (*answer)["next"].get<std::uint64_t>();
        if (next <= from) break;
        from = next;
        more = page + 1 == kMaxAuditPages;
      }
      SendJson(res, {{"records", records}, {"truncated", more}});
    });
  }

  // `mnr-client sync --quiet`, off the HTTP threads; then what it recorded, and the conflict news it
  // would have printed (marked as told, as `sync` does).
  void RunSync() {
    const int rc = SyncCommand({"--db", db_, "--quiet", "--retries", "1", "--retry-delay", "1", "--timeout", "20"});
    SyncRun run;
    run.exit_code = rc;
    {
      std::lock_guard<std::mutex> lock(store_mu_);
      auto store = ClientStore::Open(db_);
      if (store.ok()) {
        if (auto state = (*store)->State(); state.ok()) run.result = state->last_sync_result;
        if (auto news = PendingConflictNews(**store); news.ok()) {
          for (const auto& n : *news) run.news.push_back(n.line);
          (void)MarkConflictsReported(**store, *news);
        }
        if (auto all = StoredConflictsJson(**store); all.ok()) {
          for (const auto& c : *all) run.lost += c.value("lost", false) && c.value("status", "") == "open" ? 1 : 0;
        }
      } else {
        run.result = "failed: " + store.status().message();
      }
    }
    std::lock_guard<std::mutex> lock(sync_mu_);
    sync_ = std::move(run);
    sync_.done = true;
    sync_.finished_at = UnixNow();
  }

  std::string db_;
  std::string token_;
  int port_ = 0;
  httplib::Server server_;
  std::mutex store_mu_;
  std::mutex io_mu_;
  std::mutex sync_mu_;
  SyncRun sync_;
  std::thread sync_thread_;
};

void OpenBrowser(const std::string& url) {
  const char* argv[] = {"xdg-open", url.c_str(), nullptr};
  pid_t pid = 0;
  if (posix_spawnp(&pid, "xdg-open", nullptr, nullptr, const_cast<char* const*>(argv), environ) != 0) {
    std::cerr << kUiProgram << ": could not start xdg-open; open the address above in a browser\n";
    return;
  }
  std::thread([pid] { waitpid(pid, nullptr, 0); }).detach();
}

}  // namespace

int UiCommand(const std::vector<std::string>& argv) {
  cli::Parser p("mnr-client ui --db PATH [--port P] [--no-browser]",
                "Serves the questionnaire, good-practice entries, sync and review (field offices), the country\n"
                "overview, conflicts and review (coordinators) or the audit log (auditors) as a web app on\n"
                "127.0.0.1 only, in English and French. Prints the address, which carries a secret made for this\n"
                "run, and opens it in the default browser. Works offline; stop it with Ctrl-C.");
  p.Option("db", "PATH", "the client store", true)
      .Option("port", "P", "loopback port to listen on (default: any free port)")
      .Flag("no-browser", "only print the address");
  cli::Args args;
  if (auto code = cli::ParseOrExit(p, argv, kUiProgram, args)) return *code;
  int port = 0;
  if (auto v = args.Get("port")) {
    try {
      std::size_t used = 0;
      port = std::stoi(*v, &used);
      if (used != v->size() || port < 1 || port > 65535) throw std::out_of_range(*v);
    } catch (const std::exception&) {
      return UsageError("--port needs a port number 1-65535");
    }
  }
  const std::string db = *args.Get("db");
  {
    auto store = ClientStore::Open(db);  // fail now, not on the first page
    if (!store.ok()) return Fail(store.status());
  }
  const std::string token = crypto::HexEncode(crypto::RandomBytes(24));
  UiServer server(db, token);
  if (Status s = server.Start(port); !s.ok()) return Fail(s);
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/?token=" + token;
  // The address is the key to this store for as long as the command runs: it goes to this terminal
  // (and the browser) only.
  std::cout << "mnr-client ui: serving " << db << " (Ctrl-C to stop); open\n" << url << std::endl;
  if (!args.Has("no-browser")) OpenBrowser(url);
  if (!server.Listen()) return Fail(Status::Unavailable("the web server stopped unexpectedly"));
  return cli::kExitOk;
}

}  // namespace mnr::client
