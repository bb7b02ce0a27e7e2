// Merkle trees as in RFC 6962 (Certificate Transparency) §2.1: the audit log's tree hash, audit paths
// (inclusion proofs) and consistency proofs, and their verification by the algorithms of RFC 9162
// §2.1.3.2 and §2.1.4.2. Both the server and the offline verifier (mnr-audit) use this one code.
// Hashes are raw 32-byte SHA-256 strings.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mnr/status.h"

namespace mnr::merkle {

inline constexpr std::size_t kHashBytes = 32;

// MTH({}) = SHA-256 of the empty string.
std::string EmptyRoot();
// SHA-256(0x00 || entry): the hash of one leaf.
std::string LeafHash(std::string_view entry);
// SHA-256(0x01 || left || right): the hash of an interior node.
std::string NodeHash(std::string_view left, std::string_view right);

// The tree over a sequence of leaf hashes, appended in order. Keeps every complete subtree, so the
// root of any prefix and any proof cost O(log^2 n) hashes. Memory: about two hashes per leaf.
class Tree {
 public:
  Tree() = default;
  explicit Tree(const std::vector<std::string>& leaf_hashes);

  void Append(std::string leaf_hash);
  std::uint64_t size() const { return levels_.empty() ? 0 : levels_[0].size(); }
  const std::string& leaf(std::uint64_t i) const { return levels_[0][i]; }

  // MTH(D[0:n]); n <= size().
  std::string Root(std::uint64_t n) const;
  // PATH(m, D[0:n]) of RFC 6962 §2.1.1; needs m < n <= size().
  Result<std::vector<std::string>> InclusionProof(std::uint64_t m, std::uint64_t n) const;
  // PROOF(m, D[0:n]) of RFC 6962 §2.1.2; needs m <= n <= size(). Empty when m == n or m == 0.
  Result<std::vector<std::string>> ConsistencyProof(std::uint64_t m, std::uint64_t n) const;

 private:
  // MTH(D[begin:end]), begin < end <= size().
  std::string Range(std::uint64_t begin, std::uint64_t end) const;
  void Path(std::uint64_t m, std::uint64_t begin, std::uint64_t end, std::vector<std::string>& out) const;
  void SubProof(std::uint64_t m, std::uint64_t begin, std::uint64_t end, bool complete,
                std::vector<std::string>& out) const;

  // levels_[k][i] = MTH of leaves [i * 2^k, (i + 1) * 2^k); levels_[0] are the leaf hashes.
  std::vector<std::vector<std::string>> levels_;
};

// OK if `proof` shows that the leaf with hash `leaf_hash` is at `index` in the tree of `size` leaves
// whose root is `root` (RFC 9162 §2.1.3.2). Take `size` and `root` from a signed tree head: the
// algorithm does not authenticate the size on its own.
Status VerifyInclusion(std::string_view leaf_hash, std::uint64_t index, std::uint64_t size,
                       const std::vector<std::string>& proof, std::string_view root);

// OK if `proof` shows that the tree of `old_size` leaves with root `old_root` is a prefix of the tree
// of `new_size` leaves with root `new_root` (RFC 9162 §2.1.4.2): nothing in it was changed or removed.
Status VerifyConsistency(std::uint64_t old_size, std::uint64_t new_size, std::string_view old_root,
                         std::string_view new_root, const std::vector<std::string>& proof);

}  // namespace mnr::merkle
