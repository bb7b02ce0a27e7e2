#include "server/merge.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <random>

#include "mnr/changeset.h"

namespace mnr::server::merge {
namespace {

Op MakeOp(HlcTime hlc, const std::string& author, std::optional<std::string> value, std::vector<std::string> parents = {}) {
  Op op;
  op.hlc = hlc;
  op.author = author;
  op.value = std::move(value);
  op.version = OperationVersion(hlc, author);
  op.parents = std::move(parents);
  return op;
}

std::vector<std::string> Versions(const std::vector<Op>& ops, const std::vector<std::size_t>& idx) {
  std::vector<std::string> out;
  for (auto i : idx) out.push_back(ops[i].version);
  return out;
}

}  // namespace

TEST_CASE("merge: the last writer by hybrid clock wins, ties broken by author then value") {
  std::vector<Op> ops = {MakeOp(100, "dev-b", "no"), MakeOp(300, "dev-a", "yes"), MakeOp(200, "dev-c", "partial")};
  CHECK(ops[MergeField(ops).winner].value == "yes");

  // Same timestamp: the greater author wins, whatever the input order.
  std::vector<Op> tie = {MakeOp(500, "dev-b", "no"), MakeOp(500, "dev-a", "yes")};
  CHECK(tie[MergeField(tie).winner].author == "dev-b");
  std::swap(tie[0], tie[1]);
  CHECK(tie[MergeField(tie).winner].author == "dev-b");

  // RanksBelow: a cleared value ranks below any text at the same (hlc, author).
  Op cleared = MakeOp(7, "x", std::nullopt), empty = MakeOp(7, "x", ""), text = MakeOp(7, "x", "a");
  CHECK(RanksBelow(cleared, empty));
  CHECK(RanksBelow(empty, text));
  CHECK_FALSE(RanksBelow(text, cleared));
  CHECK_FALSE(RanksBelow(text, text));
}

TEST_CASE("merge: an edit made on top of another supersedes it even with a slower clock") {
  Op base = MakeOp(1000, "dev-a", "yes");
  Op child = MakeOp(900, "dev-b", "no", {base.version});  // dev-b's clock runs behind, but it saw base
  std::vector<Op> ops = {base, child};
  FieldMerge m = MergeField(ops);
  CHECK(ops[m.winner].value == "no");
  CHECK(m.conflicts.empty());
}

TEST_CASE("merge: concurrent edits with different values are an open conflict, sequential ones are not") {
  Op a = MakeOp(100, "dev-a", "yes");
  Op b = MakeOp(200, "dev-b", "no");
  std::vector<Op> concurrent = {a, b};
  FieldMerge m = MergeField(concurrent);
  CHECK(concurrent[m.winner].value == "no");
  REQUIRE(m.conflicts.size() == 1);
  CHECK_FALSE(m.conflicts[0].resolved_by.has_value());
  CHECK(Versions(concurrent, m.conflicts[0].candidates) == std::vector<std::string>{a.version, b.version});

  std::vector<Op> sequential = {a, MakeOp(200, "dev-b", "no", {a.version})};
  CHECK(MergeField(sequential).conflicts.empty());

  std::vector<Op> same_value = {a, MakeOp(200, "dev-b", "yes")};
  CHECK(MergeField(same_value).conflicts.empty());

  // A device always knows its own earlier edits: no conflict with itself even without parents.
  std::vector<Op> own = {a, MakeOp(150, "dev-a", "no")};
  CHECK(MergeField(own).conflicts.empty());
}

TEST_CASE("merge: a resolution that descends from every candidate wins and settles the conflict") {
  Op a = MakeOp(100, "dev-a", "yes");
  Op b = MakeOp(200, "dev-b", "no");
  Op r = MakeOp(300, "coordinator:alice", "partial", {a.version, b.version});
  std::vector<Op> ops = {a, b, r};
  FieldMerge m = MergeField(ops);
  CHECK(ops[m.winner].version == r.version);
  REQUIRE(m.conflicts.size() == 1);
  REQUIRE(m.conflicts[0].resolved_by.has_value());
  CHECK(ops[*m.conflicts[0].resolved_by].version == r.version);
  CHECK(Versions(ops, m.conflicts[0].candidates) == std::vector<std::string>{a.version, b.version});

  // A device that had not seen the resolution edits again: the old conflict stays resolved, a new one
  // opens between that edit, the resolution and the other side.
  Op late = MakeOp(400, "dev-b", "unknown", {b.version});
  ops.push_back(late);
  m = MergeField(ops);
  CHECK(ops[m.winner].version == late.version);
  REQUIRE(m.conflicts.size() == 2);
  CHECK(m.conflicts[0].resolved_by.has_value());
  CHECK_FALSE(m.conflicts[1].resolved_by.has_value());
  CHECK(Versions(ops, m.conflicts[1].candidates) == std::vector<std::string>{a.version, r.version, late.version});
}

TEST_CASE("merge: the result depends only on the set of ops, not their order") {
  std::vector<Op> ops = {MakeOp(100, "dev-a", "yes"),
                         MakeOp(150, "dev-b", "no"),
                         MakeOp(160, "dev-c", std::nullopt),
                         MakeOp(200, "dev-a", "partial", {OperationVersion(100, "dev-a")}),
                         MakeOp(250, "dev-c", "no", {OperationVersion(150, "dev-b")}),
                         MakeOp(300, "coordinator:bob", "yes", {OperationVersion(150, "dev-b"), OperationVersion(100, "dev-a")})};
  auto describe = [](const std::vector<Op>& in) {
    FieldMerge m = MergeField(in);
    std::string s = in[m.winner].version;
    for (const auto& c : m.conflicts) {
      s += "|" + CandidateKey(Versions(in, c.candidates)) + (c.resolved_by ? "@" + in[*c.resolved_by].version : "");
    }
    return s;
  };
  const std::string expected = describe(ops);
  CHECK(expected.find('|') != std::string::npos);  // the set really has conflicts
  std::mt19937 rng(7);
  for (int i = 0; i < 50; ++i) {
    std::vector<Op> shuffled = ops;
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    CHECK(describe(shuffled) == expected);
  }
}

TEST_CASE("merge: parents that form a cycle or name unknown versions do not break the merge") {
  Op a = MakeOp(100, "dev-a", "yes", {OperationVersion(200, "dev-b"), "0000000000000001@nobody"});
  Op b = MakeOp(200, "dev-b", "no", {a.version});
  std::vector<Op> ops = {a, b};
  FieldMerge m = MergeField(ops);
  CHECK(ops[m.winner].version == b.version);
  CHECK(m.conflicts.empty());  // mutual ancestors are not concurrent
}

}  // namespace mnr::server::merge
