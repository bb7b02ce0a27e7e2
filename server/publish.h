// `mnr-server publish`: the report of one release as a static site that opens from file:// with no
// network and no external asset (styles, chart and script are inline): an overview chart of the
// capabilities in place per domain (SVG), every indicator with its bar, "n of N" and income-group
// comparison, the good-practice entries by capability with an in-page search, the release's hashes,
// and the CSV, JSON and signed manifest as downloads; the evidence files the manifest lists, under
// their indicator or entry (by title, or as links to copies of the files). English or French.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mnr/status.h"
#include "mnr/survey_schema.h"
#include "server/dataset.h"
#include "server/release.h"
#include "server/server_store.h"

namespace mnr::server {

// "en" or "fr"; anything else is InvalidArgument.
Status CheckReportLanguage(std::string_view lang);

// The same survey in the previous round, as the report compares with it: the newest release of the
// round before the release's own (LatestReleaseOfRound), its dataset and its small-group rule.
struct PreviousRound {
  std::string round;
  std::string label;
  Dataset dataset;
  int min_group = 0;
};
// The PreviousRound of `release`, if the schema has a round before the release's and a release of it
// was made before this one.
Result<std::optional<PreviousRound>> FindPreviousRound(ServerStore& store, const Release& release);

// The page (index.html) for `release`, whose dataset and practices are given parsed. With `previous`,
// every indicator and group that both rounds show says how its share of yes changed since then
// (ChangeInPoints; class "change", data-change and data-previous-pct). Every number
// shown is carried by data attributes too (data-yes, data-responding) so a test can compare the page
// with the CSV. Pure: the same arguments give the same bytes.
//
// The attachments of the release's manifest are listed under their indicator or good-practice entry
// (class "attachment", data-field, data-sha256). With `attachment_links` (sha256 -> the file's path in
// the site, "attachments/<sha256>.pdf"), each title links to its file, with its type and size; without,
// the titles are listed alone and the page says the files are not published (id "attachments-note").
using AttachmentLinks = std::map<std::string, std::string>;
std::string RenderReport(const SurveySchema& schema, const Dataset& dataset, const nlohmann::json& practices,
                         const Release& release, std::string_view lang, const PreviousRound* previous = nullptr,
                         const AttachmentLinks* attachment_links = nullptr);

struct PublishOutcome {
  std::vector<std::pair<std::string, std::string>> files;  // name, hex SHA-256, in write order
  std::string output_sha256;  // over "name  sha256\n" of every file (what the audit entry records)
  std::uint64_t audit_index = 0;
};

// Writes the site of `release` into `out_dir` and logs the publication (kPublish) in the audit log.
// `out_dir` must not exist, be empty, or hold an earlier publication (it is then replaced whole).
// The site is built beside it and moved into place in the transaction that logs it, so the log
// names exactly what was published.
//
// `with_attachments` copies every file the manifest lists into attachments/<sha256>.<extension> (the
// extension of its sniffed type), each checked against the manifest's size, SHA-256 and media type
// while it is copied: a file that differs refuses the publication (Corruption naming the attachment
// field and the file's path) and nothing is published. The copies are in the logged file list.
Result<PublishOutcome> Publish(ServerStore& store, const Release& release, std::string_view lang, const std::string& out_dir,
                               const std::string& actor, bool with_attachments = false);

}  // namespace mnr::server
