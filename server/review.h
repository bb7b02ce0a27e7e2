// The coordinator's side of the review loop (mnr/review.h) and overview: which countries have
// submitted, what each office still owes, and whether the dataset may be released. Used by
// `mnr-server review | status | release` on the server host and, through the remote operations
// below, by `mnr-client review | status --all` from a coordinator's or auditor's machine.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "mnr/review.h"
#include "server/remote_ops.h"
#include "server/server_store.h"

namespace mnr::server {

// Everything about one registered country that the overview shows (JSON keys in docs/protocol.md,
// "status.overview").
struct CountryOverview {
  std::string country, name, income_group;
  int answered = 0;  // indicators with an answer (unknown counts as answered)
  int indicators = 0;
  int practices = 0;  // entries not removed
  int open_conflicts = 0;
  CountryReview review;
  struct Device {
    std::string id, name, credential, credential_name;
    std::optional<std::int64_t> last_sync_at;       // last completed online sync
    std::optional<std::int64_t> last_changeset_at;  // last change-set received, online or by bundle
  };
  std::vector<Device> devices;
  std::vector<std::string> unanswered;  // indicator ids, questionnaire order
};

Result<std::vector<CountryOverview>> Overview(ServerStore& store);
nlohmann::json OverviewToJson(const std::vector<CountryOverview>& rows, bool with_unanswered);
// The text table of `status`, with totals at the bottom; `ids` shows device and credential ids.
std::string OverviewText(const std::vector<CountryOverview>& rows, bool ids);
// `review show`: one country's state, decision, queries and replies, and what is unanswered.
std::string ReviewText(const CountryOverview& row);

// "coordinator:Ada (cred-1f…)" -> "Ada"; anything else as is.
std::string PersonName(std::string_view author);

// Approves a submitted country, or returns a submitted or approved one with queries: one per entry of
// `queries` (its own text, or `comment` when the text is empty), or one about the whole submission
// when there is none. InvalidArgument, saying why, when the state does not allow it (approving a
// draft, say), a country or indicator is unknown, or an indicator is named twice.
// Returns the new query ids.
Result<std::vector<std::string>> Approve(ServerStore& store, const std::string& country, const std::string& comment,
                                         const std::string& who);
Result<std::vector<std::string>> Return(ServerStore& store, const std::string& country, const std::string& comment,
                                        const std::vector<QueryQuestion>& queries, const std::string& who);

// What stands in the way of a release: open conflicts and registered countries not approved.
struct ReleaseGate {
  std::vector<std::pair<std::int64_t, std::string>> open_conflicts;  // id, field
  std::vector<std::pair<std::string, std::string>> unapproved;       // country, state
};
Result<ReleaseGate> CheckReleaseGate(ServerStore& store);

// Remote operations (registered in remote_ops.cc): review.list, review.show {country},
// review.approve {country, comment}, review.return {country, comment, indicators, comments}, status.overview.
Result<nlohmann::json> ReviewListOperation(const RemoteCall& call);
Result<nlohmann::json> ReviewShowOperation(const RemoteCall& call);
Result<nlohmann::json> ReviewApproveOperation(const RemoteCall& call);
Result<nlohmann::json> ReviewReturnOperation(const RemoteCall& call);
Result<nlohmann::json> StatusOverviewOperation(const RemoteCall& call);

}  // namespace mnr::server
