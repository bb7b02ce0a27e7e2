// Releases: the dataset frozen under a label (`mnr-server release`), so a published figure can always
// be traced to exact bytes. A release holds the canonical CSV (DatasetCsv) and its SHA-256, the
// good-practice entries and the countries behind each count at that moment, and a manifest signed
// with the server key that states the content hash, the audit log's tree head when it was made (the
// inputs it was computed from), the store and survey schema versions and the software version.
// Releases never change and are never deleted (the table refuses both); making one is logged in the
// audit log in the same transaction.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mnr/status.h"
#include "server/aggregate.h"
#include "server/attachments.h"
#include "server/remote_ops.h"
#include "server/server_store.h"

namespace mnr::server {

struct Release {
  std::int64_t id = 0;
  std::string label;
  std::string release_id;      // hex SHA-256 of manifest
  std::string content_sha256;  // hex SHA-256 of csv
  std::string csv;
  std::string practices;  // JSON array (PracticeEntries)
  std::string members;    // JSON (DatasetMembers); coordinators only
  std::string manifest;   // canonical JSON, the signed bytes
  std::string signature;  // raw Ed25519 signature of manifest by server.key
  std::int64_t created_at = 0;
};

// OK if `label` can name a release: 1-100 bytes of UTF-8 without control characters.
Status CheckReleaseLabel(std::string_view label);

// Freezes the current dataset of survey round `round` as release `label` (AlreadyExists if the label is taken). `actor` is
// recorded in the audit entry (OperatorActor() on the server host). `provisional`, when not null, is
// what the release gate let through (server/review.h ReleaseGate): it is written into the signed
// manifest as "provisional", and the published report marks those countries' data as provisional.
// Before it signs, the maintained counts are compared with a recount of the merged answers and the
// register (CheckDatasetAgainstRecount); a difference refuses the release (Corruption naming the
// first differing indicator/group and both values) and changes nothing.
//
// The manifest also lists the evidence files of what it releases (ReleaseAttachmentsOf): under
// "attachments" those the server holds whole, under "attachments_pending" the fields of files not yet
// received, so nothing is silently left out. A held file that no longer hashes to its name refuses the
// release (Corruption naming the attachment field and the path).
//
// `round` empty means the schema's current round (SurveySchema::round(), or kFirstRound when it names
// none); a round the schema does not list is refused. The manifest also signs what the public copies
// rest on: "round" (the survey round, SDMX TIME_PERIOD), "small_groups": {"min_countries": min_group} (groups smaller than
// that are shown without figures in everything public) and "public_csv_sha256": {"en": ..., "fr": ...},
// the hashes of the report's dataset.csv in each language (DatasetLabelledCsv under that rule).
Result<Release> CreateRelease(ServerStore& store, const std::string& label, const std::string& actor, std::int64_t now,
                              const nlohmann::json& provisional = nullptr, int min_group = kDefaultMinGroup,
                              std::string_view round = {});

// The attachments a release covers, from the live attachment fields `refs`: those of an indicator of
// `schema` of a registered country (`countries`), and those of a good-practice entry the release lists
// (`practices`, PracticeEntries). JSON array sorted by field: [{field, country, indicator | practice,
// sha256, size, media_type, title}]. Pure: the audit replay gives it the merged state it rebuilt.
nlohmann::json ReleaseAttachmentsOf(const std::vector<AttachmentRef>& refs, const std::vector<Country>& countries,
                                    const SurveySchema& schema, const nlohmann::json& practices);
// The manifest's "attachments" (files held whole when the release was made); empty for a release made
// before attachments existed.
nlohmann::json ManifestAttachments(const nlohmann::json& manifest);

// The survey round a release was made for: its manifest's "round", or kFirstRound for a release made
// before rounds were recorded.
std::string ReleaseRound(const Release& r);
// The newest release of `round` made before release `before` (by creation order), if any: what the
// report and `releases diff` compare a release with.
Result<std::optional<Release>> LatestReleaseOfRound(Db& db, std::string_view round, std::int64_t before_id);

// Every release, oldest first.
Result<std::vector<Release>> ListReleases(Db& db);
// The release named `label`, or the latest when nullopt. NotFound names what exists.
Result<Release> FindRelease(Db& db, const std::optional<std::string>& label);

// Checks a release as any recipient can: the manifest names this label and content hash, the CSV
// hashes to it, the release id is the manifest's hash, and the signature verifies against
// `server_certificate_pem`. Corruption says which check failed.
Status VerifyRelease(const Release& r, std::string_view server_certificate_pem);

// VerifyRelease with the store's server certificate, plus what only the server can check: the
// manifest states the stored CSV's size and the stored good-practice entries' hash, and the audit
// log holds the manifest, byte for byte, in a release entry (so a manifest re-signed after the fact
// is caught too), and every attachment the manifest lists is still held under DIR/blobs with the size
// and SHA-256 it states (Corruption naming the attachment field and the file's path). `aggregate
// --release`, `releases show` and `publish` run it before they print.
Status CheckStoredRelease(ServerStore& store, const Release& r);

// The remote operation "release.latest" (every role): arguments {have: release id or absent}. Result:
// {release: null} when none exists, {unchanged: true} when `have` is the latest, else {release:
// {label, release_id, content_sha256, csv, manifest, signature (base64), server_certificate},
// scope: [{code, name, income_group, region}] for the caller's countries}. Never the members.
Result<nlohmann::json> ReleaseLatestOperation(const RemoteCall& call);

}  // namespace mnr::server
