// The Merkle tree of the audit log against the Certificate Transparency reference vectors (RFC 6962
// test data) and against a literal transcription of the RFC's recursive definitions.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "mnr/crypto.h"
#include "mnr/merkle.h"

using namespace mnr;
using namespace mnr::merkle;

namespace {

std::string Hex(const std::string& raw) { return crypto::HexEncode(raw); }

std::string Unhex(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

const std::vector<std::string> kLeafData = {"", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                            "606162636465666768696a6b6c6d6e6f"};
const std::vector<std::string> kRoots = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

Tree ReferenceTree(std::size_t n) {
  Tree t;
  for (std::size_t i = 0; i < n; ++i) t.Append(LeafHash(Unhex(kLeafData[i])));
  return t;
}

std::vector<std::string> Hexes(const std::vector<std::string>& raw) {
  std::vector<std::string> out;
  for (const auto& r : raw) out.push_back(Hex(r));
  return out;
}

// RFC 6962 §2.1 written out literally, over leaf hashes, with no caching.
std::uint64_t K(std::uint64_t n) {
  std::uint64_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}
std::string Mth(const std::vector<std::string>& d) {
  if (d.empty()) return crypto::Sha256("");
  if (d.size() == 1) return d[0];
  const auto k = K(d.size());
  return NodeHash(Mth({d.begin(), d.begin() + k}), Mth({d.begin() + k, d.end()}));
}
std::vector<std::string> RefPath(std::uint64_t m, const std::vector<std::string>& d) {
  if (d.size() <= 1) return {};
  const auto k = K(d.size());
  std::vector<std::string> out;
  if (m < k) {
    out = RefPath(m, {d.begin(), d.begin() + k});
    out.push_back(Mth({d.begin() + k, d.end()}));
  } else {
    out = RefPath(m - k, {d.begin() + k, d.end()});
    out.push_back(Mth({d.begin(), d.begin() + k}));
  }
  return out;
}
std::vector<std::string> RefSubproof(std::uint64_t m, const std::vector<std::string>& d, bool b) {
  if (m == d.size()) return b ? std::vector<std::string>{} : std::vector<std::string>{Mth(d)};
  const auto k = K(d.size());
  std::vector<std::string> out;
  if (m <= k) {
    out = RefSubproof(m, {d.begin(), d.begin() + k}, b);
    out.push_back(Mth({d.begin() + k, d.end()}));
  } else {
    out = RefSubproof(m - k, {d.begin() + k, d.end()}, false);
    out.push_back(Mth({d.begin(), d.begin() + k}));
  }
  return out;
}

}  // namespace

TEST_CASE("Merkle tree heads match the RFC 6962 reference roots for sizes 0 to 8") {
  Tree t = ReferenceTree(8);
  for (std::size_t n = 0; n <= 8; ++n) CHECK(Hex(t.Root(n)) == kRoots[n]);
  CHECK(Hex(EmptyRoot()) == kRoots[0]);
  CHECK(Hex(LeafHash(Unhex("00"))) == "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7");
}

TEST_CASE("Inclusion proofs match the RFC 6962 reference paths and verify") {
  struct Vector {
    std::uint64_t index, size;
    std::vector<std::string> path;
  };
  const std::vector<Vector> vectors = {
      {0, 1, {}},
      {0, 8,
       {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
      {5, 8,
       {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
      {2, 3, {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
      {1, 5,
       {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
  };
  Tree t = ReferenceTree(8);
  for (const auto& v : vectors) {
    INFO("leaf " << v.index << " of " << v.size);
    auto proof = t.InclusionProof(v.index, v.size);
    REQUIRE(proof.ok());
    CHECK(Hexes(*proof) == v.path);
    CHECK(VerifyInclusion(t.leaf(v.index), v.index, v.size, *proof, t.Root(v.size)).ok());
  }
  auto proof = t.InclusionProof(5, 8);
  REQUIRE(proof.ok());
  CHECK_FALSE(VerifyInclusion(t.leaf(5), 4, 8, *proof, t.Root(8)).ok());   // right leaf, wrong index
  CHECK_FALSE(VerifyInclusion(t.leaf(4), 5, 8, *proof, t.Root(8)).ok());   // wrong leaf
  CHECK_FALSE(VerifyInclusion(t.leaf(5), 5, 8, *proof, t.Root(7)).ok());   // wrong root
  CHECK_FALSE(VerifyInclusion(t.leaf(5), 8, 8, *proof, t.Root(8)).ok());   // outside the tree
  auto shorter = *proof;
  shorter.pop_back();
  CHECK_FALSE(VerifyInclusion(t.leaf(5), 5, 8, shorter, t.Root(8)).ok());
  auto longer = *proof;
  longer.push_back(t.Root(1));
  CHECK_FALSE(VerifyInclusion(t.leaf(5), 5, 8, longer, t.Root(8)).ok());
  CHECK_FALSE(t.InclusionProof(8, 8).ok());
  CHECK_FALSE(t.InclusionProof(0, 9).ok());
}

TEST_CASE("Consistency proofs match the RFC 6962 reference proofs and verify") {
  struct Vector {
    std::uint64_t from, to;
    std::vector<std::string> path;
  };
  const std::vector<Vector> vectors = {
      {1, 1, {}},
      {1, 8,
       {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
      {6, 8,
       {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
      {2, 5,
       {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
  };
  Tree t = ReferenceTree(8);
  for (const auto& v : vectors) {
    INFO(v.from << " -> " << v.to);
    auto proof = t.ConsistencyProof(v.from, v.to);
    REQUIRE(proof.ok());
    CHECK(Hexes(*proof) == v.path);
    CHECK(VerifyConsistency(v.from, v.to, t.Root(v.from), t.Root(v.to), *proof).ok());
  }
  auto proof = t.ConsistencyProof(6, 8);
  REQUIRE(proof.ok());
  CHECK_FALSE(VerifyConsistency(6, 8, t.Root(5), t.Root(8), *proof).ok());
  CHECK_FALSE(VerifyConsistency(6, 8, t.Root(6), t.Root(7), *proof).ok());
  CHECK_FALSE(VerifyConsistency(5, 8, t.Root(6), t.Root(8), *proof).ok());
  CHECK_FALSE(VerifyConsistency(8, 6, t.Root(8), t.Root(6), {}).ok());  // a log never shrinks
  CHECK(VerifyConsistency(0, 8, EmptyRoot(), t.Root(8), {}).ok());
  CHECK_FALSE(VerifyConsistency(0, 8, t.Root(1), t.Root(8), {}).ok());
  CHECK_FALSE(VerifyConsistency(8, 8, t.Root(7), t.Root(8), {}).ok());
}

TEST_CASE("Every root and proof of trees up to 70 leaves equals the RFC's recursive definition") {
  std::vector<std::string> leaves;
  Tree t;
  for (int i = 0; i < 70; ++i) {
    leaves.push_back(LeafHash("entry " + std::to_string(i)));
    t.Append(leaves.back());
  }
  for (std::uint64_t n = 1; n <= 70; ++n) {
    const std::vector<std::string> d(leaves.begin(), leaves.begin() + static_cast<long>(n));
    const std::string root = Mth(d);
    REQUIRE(t.Root(n) == root);
    for (std::uint64_t m = 0; m < n; ++m) {
      auto path = t.InclusionProof(m, n);
      REQUIRE(path.ok());
      REQUIRE(*path == RefPath(m, d));
      REQUIRE(VerifyInclusion(leaves[m], m, n, *path, root).ok());
      if (!path->empty()) {
        auto bad = *path;
        bad[m % bad.size()][7] ^= 0x20;
        REQUIRE_FALSE(VerifyInclusion(leaves[m], m, n, bad, root).ok());
      }
    }
    for (std::uint64_t m = 1; m <= n; ++m) {
      auto proof = t.ConsistencyProof(m, n);
      REQUIRE(proof.ok());
      REQUIRE(*proof == RefSubproof(m, d, true));
      REQUIRE(VerifyConsistency(m, n, t.Root(m), root, *proof).ok());
      if (!proof->empty()) {
        auto bad = *proof;
        bad.back()[0] ^= 0x01;
        REQUIRE_FALSE(VerifyConsistency(m, n, t.Root(m), root, bad).ok());
      }
    }
  }
}
